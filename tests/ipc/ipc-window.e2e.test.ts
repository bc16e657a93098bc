import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { buildSync } from 'esbuild'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallContext, OperationName, ServiceImpl } from '../../src/shared/contract.js'
import { IPC_CHANNELS, type IpcResult } from '../../src/shared/ipc.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { allowedSenderFor, registerIpcDoor, type IpcDoor } from '../../src/main/ipc/index.js'
import type { IpcEventLike, WebContentsLike } from '../../src/main/ipc/types.js'
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { ensureRendererBuild } from '../helpers/renderer-build.js'
import { startService, waitFor, type TestService } from '../helpers/service.js'
import { FakeIpcMain } from './fake-electron.js'

/**
 * The control center over IPC, in real Chromium: the real preload bridge (src/preload/bridge.ts,
 * bundled by esbuild) is installed as window.crawldeck before any page script runs, over an
 * ipcRenderer whose invoke/send reach the real IPC door in this process and whose pushes are
 * delivered with page.evaluate — the path Electron would take, minus Electron. The page must
 * work without a single HTTP call to the API.
 */

const repo = resolve(import.meta.dirname, '../..')
const artifacts = join(repo, 'test-artifacts')
const testid = (id: string) => `[data-testid="${id}"]`

let fixture: FixtureServer
let service: TestService
let browser: Browser
let context: BrowserContext
let preloadScript: string
const doors: IpcDoor[] = []

/** The real bridge module as a script, plus the fake ipcRenderer it is created over. */
function buildPreloadScript(): string {
  const bundle = buildSync({
    entryPoints: [join(repo, 'src/preload/bridge.ts')],
    bundle: true,
    format: 'iife',
    globalName: '__crawldeckPreload',
    platform: 'browser',
    target: 'chrome120',
    write: false,
  }).outputFiles[0]!.text
  return `${bundle}
;(() => {
  const listeners = new Map()
  const ipcRenderer = {
    invoke: (channel, ...args) => window.__crawldeckIpcInvoke(channel, args),
    send: (channel, ...args) => { window.__crawldeckIpcSend(channel, args).catch(() => {}) },
    on(channel, fn) {
      if (!listeners.has(channel)) listeners.set(channel, new Set())
      listeners.get(channel).add(fn)
      return ipcRenderer
    },
    removeListener(channel, fn) {
      listeners.get(channel)?.delete(fn)
      return ipcRenderer
    },
  }
  // What Electron hands listeners: it leads to ipcRenderer, so the bridge must never pass it on.
  const event = { sender: ipcRenderer, senderId: 0 }
  const counts = { live: 0, liveTypes: [] }
  Object.defineProperty(window, '__crawldeckIpcDeliver', {
    value: (channel, payload) => {
      if (channel === ${JSON.stringify(IPC_CHANNELS.live)}) {
        counts.live++
        counts.liveTypes.push(payload.type)
      }
      for (const fn of [...(listeners.get(channel) || [])]) fn(event, payload)
    },
  })
  Object.defineProperty(window, '__crawldeckIpcCounts', { value: counts })
  Object.defineProperty(window, ${JSON.stringify('crawldeck')}, { value: __crawldeckPreload.createBridge(ipcRenderer), enumerable: true })
})()
`
}

/** The page as Electron's webContents: pushes are delivered in order with page.evaluate. */
function pageWindow(page: Page, id: number): WebContentsLike & { pushed: Array<{ channel: string; payload: any }> } {
  let chain: Promise<unknown> = Promise.resolve()
  const pushed: Array<{ channel: string; payload: any }> = []
  return {
    id,
    pushed,
    send(channel: string, payload: unknown) {
      pushed.push({ channel, payload })
      chain = chain
        .then(() =>
          page.evaluate(([c, p]) => (window as unknown as { __crawldeckIpcDeliver(c: string, p: unknown): void }).__crawldeckIpcDeliver(c, p), [
            channel,
            payload,
          ] as const),
        )
        .catch(() => undefined)
    },
    isDestroyed: () => page.isClosed(),
    once(_event: 'destroyed', listener: () => void) {
      page.once('close', listener)
    },
    removeListener(_event: 'destroyed', listener: () => void) {
      page.off('close', listener)
    },
  }
}

interface Connected {
  page: Page
  window: ReturnType<typeof pageWindow>
  reached: Array<{ name: string; ctx: CallContext }>
  requests: string[]
  problems: string[]
}

let nextWindowId = 1

/** A page whose window.crawldeck talks to its own IPC door over the real service. */
async function openConnected(isAllowedSender: (url: string) => boolean): Promise<Connected> {
  const page = await context.newPage()
  await page.setViewportSize({ width: 1440, height: 900 })
  const win = pageWindow(page, nextWindowId++)
  const reached: Connected['reached'] = []
  const real = service.runtime.service
  const recording: Record<string, unknown> = {}
  for (const name of Object.keys(real) as OperationName[]) {
    recording[name] = (input: unknown, ctx: CallContext) => {
      reached.push({ name, ctx })
      return (real[name] as (i: unknown, c: CallContext) => Promise<unknown>)(input, ctx)
    }
  }
  const ipc = new FakeIpcMain()
  doors.push(
    registerIpcDoor({
      ipcMain: ipc,
      service: recording as ServiceImpl,
      live: service.runtime.live,
      isAllowedSender,
      appInfo: () => ({ version: service.runtime.version, http_url: service.url, platform: process.platform }),
      logger: silentLogger(),
    }),
  )
  // Electron fills senderFrame from the frame that sent the message: here, the real frame's URL.
  const eventFor = (frameUrl: string): IpcEventLike => ({ sender: win, senderFrame: { url: frameUrl } })
  await page.exposeBinding('__crawldeckIpcInvoke', (source, channel: string, args: unknown[]) => ipc.invoke(eventFor(source.frame.url()), channel, ...args))
  await page.exposeBinding('__crawldeckIpcSend', (source, channel: string, args: unknown[]) => {
    ipc.send(eventFor(source.frame.url()), channel, ...args)
  })
  await page.addInitScript({ content: preloadScript })
  const requests: string[] = []
  const problems: string[] = []
  page.on('request', (r) => requests.push(r.url()))
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`)
  })
  return { page, window: win, reached, requests, problems }
}

/** Requests that went to the API instead of IPC: anything but the dashboard's own files. */
function apiRequests(c: Connected): string[] {
  return c.requests.filter((u) => {
    if (!u.startsWith(service.url)) return !u.startsWith('data:')
    const path = new URL(u).pathname
    return !path.startsWith('/dashboard/')
  })
}

beforeAll(async () => {
  ensureRendererBuild()
  mkdirSync(artifacts, { recursive: true })
  preloadScript = buildPreloadScript()
  fixture = await startFixtureServer()
  service = await startService()
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  })
  context = await browser.newContext()
}, 240_000)

afterAll(async () => {
  for (const d of doors) d.dispose()
  await browser?.close()
  await service?.close()
  await fixture?.close()
})

describe('the control center over IPC in Chromium', () => {
  it('shows live data, runs a Playground crawl that shows up in Requests, and never calls the API over HTTP', async () => {
    const c = await openConnected(allowedSenderFor({ rendererUrl: service.url }))
    const { page } = c
    await page.goto(`${service.url}/dashboard/`)

    // The bridge the page sees is the preload's: frozen, functions only.
    expect(
      await page.evaluate(() => {
        const b = (window as unknown as { crawldeck: Record<string, unknown> }).crawldeck
        return { frozen: Object.isFrozen(b), kinds: [...new Set(Object.values(b).map((v) => typeof v))] }
      }),
    ).toEqual({ frozen: true, kinds: ['function'] })

    await page.locator(testid('connection-state'), { hasText: 'live' }).waitFor()
    await page.locator(testid('pool-permanent'), { hasText: '1' }).waitFor()
    await page.locator(testid('health-memory'), { hasText: '%' }).waitFor()

    await page.goto(`${service.url}/dashboard/#/playground`)
    await page.locator(testid('playground-view')).waitFor()
    const url = fixture.url('/about')
    await page.fill(testid('pg-urls'), url)
    await page.click(testid('pg-run'))
    await page.locator(testid('pg-result-url'), { hasText: url }).waitFor({ timeout: 60_000 })
    expect(c.reached.some((r) => r.name === 'crawl' && r.ctx.transport === 'ipc')).toBe(true)

    await page.click(testid('back-to-monitor'))
    await page.locator(testid('completed-row'), { hasText: url }).first().waitFor({ timeout: 60_000 })

    // The crawl's own live messages reached the page over the one live channel.
    await waitFor(
      async () =>
        (await page.evaluate(() => (window as unknown as { __crawldeckIpcCounts: { liveTypes: string[] } }).__crawldeckIpcCounts.liveTypes)).includes(
          'request_finished',
        ),
      30_000,
      'request_finished delivered to the page',
    )
    const finished = c.window.pushed.filter((p) => p.channel === IPC_CHANNELS.live && p.payload.type === 'request_finished')
    expect(finished.some((p) => p.payload.data.url === url)).toBe(true)
    await page.screenshot({ path: join(artifacts, 'ipc-window.png') })

    expect(apiRequests(c)).toEqual([])
    expect(c.requests.some((u) => u.startsWith(`${service.url}/dashboard/`))).toBe(true)
    expect(c.problems).toEqual([])
    await page.close()
  })

  it('a crawl started through the bridge shows up in Requests, and the live subscription ends with the page', async () => {
    const c = await openConnected(allowedSenderFor({ rendererUrl: service.url }))
    const { page } = c
    await page.goto(`${service.url}/dashboard/`)
    await page.locator(testid('connection-state'), { hasText: 'live' }).waitFor()
    const url = fixture.url('/')
    const result = await page.evaluate(async (u) => {
      const bridge = (window as unknown as { crawldeck: { call(op: string, input: unknown): Promise<IpcResult> } }).crawldeck
      return bridge.call('markdown', { url: u })
    }, url)
    expect(result).toMatchObject({ ok: true, value: { url, success: true } })
    await page.locator(testid('completed-row'), { hasText: url }).first().waitFor({ timeout: 60_000 })
    expect(apiRequests(c)).toEqual([])

    const clients = service.runtime.live.clientCount
    await page.close()
    await waitFor(() => service.runtime.live.clientCount === clients - 1, 20_000, 'the closed page to leave the live feed')
  })

  it('shows where the HTTP server listens, and follows the commands main sends (tray, menu): navigate, pause, resume', async () => {
    const c = await openConnected(allowedSenderFor({ rendererUrl: service.url }))
    const { page } = c
    await page.goto(`${service.url}/dashboard/`)
    await page.locator(testid('connection-state'), { hasText: 'live' }).waitFor()
    // appInfo over IPC: the Koa server's address, for remote access and scripts.
    await page.locator(testid('http-address'), { hasText: service.url }).waitFor()

    c.window.send(IPC_CHANNELS.appCommand, { type: 'navigate', view: 'playground' })
    await page.waitForFunction(() => window.location.hash === '#/playground')
    await page.locator(testid('nav-playground') + '.on').waitFor()
    c.window.send(IPC_CHANNELS.appCommand, { type: 'navigate', view: 'monitor' })
    await page.waitForFunction(() => window.location.hash === '#/monitor')

    c.window.send(IPC_CHANNELS.appCommand, { type: 'set-live-paused', paused: true })
    await page.locator(testid('pause-toggle'), { hasText: 'resume' }).waitFor()
    await page.locator(testid('connection-state'), { hasText: 'paused' }).waitFor()
    c.window.send(IPC_CHANNELS.appCommand, { type: 'toggle-live-paused' })
    await page.locator(testid('pause-toggle'), { hasText: 'pause' }).waitFor()
    await page.locator(testid('connection-state'), { hasText: 'live' }).waitFor()
    expect(apiRequests(c)).toEqual([])
    expect(c.problems).toEqual([])
    await page.close()
  })

  it('refuses a sender frame that is not the app: nothing reaches the engine', async () => {
    // The production check (only app://crawldeck) against the same renderer served over http.
    const c = await openConnected(allowedSenderFor({ appOrigin: 'app://crawldeck' }))
    const { page } = c
    const clients = service.runtime.live.clientCount
    await page.goto(`${service.url}/dashboard/`)
    const result = await page.evaluate(() =>
      (window as unknown as { crawldeck: { call(op: string, input: unknown): Promise<IpcResult> } }).crawldeck.call('monitorHealth', {}),
    )
    expect(result).toEqual({ ok: false, error: { status: 403, code: 'forbidden_sender', message: 'this frame may not talk to crawldeck' } })
    await page.locator(testid('connection-state')).waitFor()
    expect(await page.locator(testid('connection-state')).textContent()).not.toContain('live')
    expect(c.reached).toEqual([])
    expect(c.window.pushed).toEqual([])
    expect(service.runtime.live.clientCount).toBe(clients)
    expect(apiRequests(c)).toEqual([])
    await page.close()
  })
})
