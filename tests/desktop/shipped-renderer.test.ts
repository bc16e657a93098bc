import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/main/core/logger.js'
import { APP_ENTRY_URL, RENDERER_CSP, serveAppRequest } from '../../src/main/desktop/app-protocol.js'
import { allowedSenderFor, registerIpcDoor, type IpcDoor } from '../../src/main/ipc/index.js'
import type { IpcEventLike, WebContentsLike } from '../../src/main/ipc/types.js'
import { IPC_CHANNELS } from '../../src/shared/ipc.js'
import { startService, type TestService } from '../helpers/service.js'
import { FakeIpcMain } from '../ipc/fake-electron.js'
import { buildShipped, type ShippedBuild } from './shipped-build.js'

/*
 * The renderer that ships (out/renderer from `electron-vite build`) in real Chromium, served by the
 * app protocol's own logic (serveAppRequest, the function protocol.handle runs) and talking to a
 * real engine through the shipped preload (out/preload/index.cjs) and the real IPC door with the
 * production sender check (only app://crawldeck).
 *
 * Why over http: Chromium driven by playwright cannot be given a custom scheme (page.route does not
 * see app:// requests), so a tiny server on 127.0.0.1 answers every request with what the handler
 * answers for the same path under app://crawldeck/: same bytes, status and headers, CSP header
 * included, so the policy is enforced by Chromium as in the app. The one difference is the origin:
 * Electron would report the frame as app://crawldeck/..., so the frame URL is translated back
 * (only this server's origin is) before the door's check sees it. Any other frame keeps its URL
 * and is refused.
 */

let build: ShippedBuild
let service: TestService
let browser: Browser
let server: Server
let origin: string
let door: IpcDoor
const served: Array<{ path: string; status: number }> = []
const testid = (id: string) => `[data-testid="${id}"]`

/** The URL Electron would give for a frame of this page: this server's origin is app://crawldeck. */
function asAppUrl(frameUrl: string): string {
  return frameUrl.startsWith(`${origin}/`) ? `${APP_ENTRY_URL}${frameUrl.slice(origin.length + 1)}` : frameUrl
}

/**
 * The shipped preload, run in the page before its scripts the way Electron runs it: its own
 * `require` giving 'electron' (a contextBridge that defines the global, and an ipcRenderer whose
 * calls reach the door in this process through exposed bindings).
 */
function preloadInitScript(preloadSource: string): string {
  return `;(() => {
  const listeners = new Map()
  const ipcRenderer = {
    invoke: (channel, ...args) => window.__ipcInvoke(channel, args),
    send: (channel, ...args) => { window.__ipcSend(channel, args).catch(() => {}) },
    on(channel, fn) { if (!listeners.has(channel)) listeners.set(channel, new Set()); listeners.get(channel).add(fn); return ipcRenderer },
    removeListener(channel, fn) { listeners.get(channel)?.delete(fn); return ipcRenderer },
  }
  Object.defineProperty(window, '__ipcDeliver', { value: (channel, payload) => { for (const fn of [...(listeners.get(channel) || [])]) fn({}, payload) } })
  const contextBridge = { exposeInMainWorld: (key, api) => Object.defineProperty(window, key, { value: api, enumerable: true }) }
  const require = (name) => { if (name === 'electron') return { contextBridge, ipcRenderer }; throw new Error('module not found: ' + name) }
  const module = { exports: {} }
  ;(function (exports, require, module) {
${preloadSource}
  })(module.exports, require, module)
})()`
}

function pageWindow(page: Page): WebContentsLike {
  let chain: Promise<unknown> = Promise.resolve()
  return {
    id: 1,
    send(channel: string, payload: unknown) {
      chain = chain
        .then(() =>
          page.evaluate(([c, p]) => (window as unknown as { __ipcDeliver(c: string, p: unknown): void }).__ipcDeliver(c, p), [channel, payload] as const),
        )
        .catch(() => undefined)
    },
    isDestroyed: () => page.isClosed(),
    once: (_event: 'destroyed', listener: () => void) => void page.once('close', listener),
    removeListener: (_event: 'destroyed', listener: () => void) => void page.off('close', listener),
  }
}

beforeAll(async () => {
  build = await buildShipped('crawldeck-shipped-renderer-')
  const root = join(build.out, 'renderer')
  server = createServer((req, res) => {
    // Every path answered by the protocol's logic for the same app:// URL.
    const url = `${APP_ENTRY_URL}${(req.url ?? '/').replace(/^\//, '')}`
    serveAppRequest(root, { url, method: req.method ?? 'GET' }).then(
      (r) => {
        served.push({ path: req.url ?? '', status: r.status })
        res.writeHead(r.status, r.headers)
        res.end(r.body)
      },
      () => {
        res.writeHead(500)
        res.end()
      },
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  service = await startService()
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  })
}, 240_000)

afterAll(async () => {
  door?.dispose()
  await browser?.close()
  await service?.close()
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  build?.remove()
})

describe('the shipped renderer through the app protocol handler, in Chromium', () => {
  it('renders the monitor over IPC with the CSP header enforced, and nothing but the app may use the door', async () => {
    const page = await browser.newPage()
    await page.setViewportSize({ width: 1280, height: 800 })
    const ipc = new FakeIpcMain()
    const senders: string[] = []
    door = registerIpcDoor({
      ipcMain: ipc,
      service: service.runtime.service,
      live: service.runtime.live,
      isAllowedSender: allowedSenderFor({ appOrigin: 'app://crawldeck' }),
      appInfo: () => ({ version: service.runtime.version, http_url: null, platform: process.platform }),
      logger: silentLogger(),
    })
    const win = pageWindow(page)
    const eventFor = (frameUrl: string): IpcEventLike => {
      senders.push(asAppUrl(frameUrl))
      return { sender: win, senderFrame: { url: asAppUrl(frameUrl) } }
    }
    await page.exposeBinding('__ipcInvoke', (source, channel: string, args: unknown[]) => ipc.invoke(eventFor(source.frame.url()), channel, ...args))
    await page.exposeBinding('__ipcSend', (source, channel: string, args: unknown[]) => void ipc.send(eventFor(source.frame.url()), channel, ...args))
    await page.addInitScript({ content: preloadInitScript(readFileSync(join(build.out, 'preload/index.cjs'), 'utf8')) })
    const problems: string[] = []
    const requests: string[] = []
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`)
    })
    page.on('request', (r) => requests.push(r.url()))

    const response = await page.goto(`${origin}/`)
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-security-policy']).toBe(RENDERER_CSP)
    await page.locator(testid('monitor-view')).waitFor()
    await page.locator(testid('connection-state'), { hasText: 'live' }).waitFor()
    await page.locator(testid('pool-permanent'), { hasText: '1' }).waitFor({ timeout: 60_000 })
    await page.locator(testid('health-memory'), { hasText: '%' }).waitFor()
    // Every frame that talked was the app, as Electron would name it.
    expect(senders.length).toBeGreaterThan(0)
    expect(senders.filter((u) => !u.startsWith(APP_ENTRY_URL))).toEqual([])
    // Only the app's own files were fetched (the IPC door, not HTTP, carries the data), all found.
    expect(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'))).toEqual([])
    expect(served.filter((s) => s.status !== 200)).toEqual([])
    expect(problems).toEqual([])

    // The CSP header bites: an inline script is refused by the policy the handler sent.
    const blocked = page.waitForEvent('console', (m) => /Content Security Policy/i.test(m.text()))
    await page.evaluate(() => {
      const s = document.createElement('script')
      s.textContent = 'window.__inlineRan = true'
      document.head.append(s)
    })
    await blocked
    expect(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan === true)).toBe(false)

    // A frame that is not the app (here: about:blank, as an injected iframe would be) is refused by the door.
    const refused = await page.evaluate(async (channel) => {
      const frame = document.createElement('iframe')
      document.body.append(frame)
      const w = frame.contentWindow as unknown as { __ipcInvoke(c: string, a: unknown[]): Promise<unknown> }
      return w.__ipcInvoke(channel, [{ op: 'monitorHealth', input: {} }])
    }, IPC_CHANNELS.call)
    expect(refused).toMatchObject({ ok: false, error: { status: 403, code: 'forbidden_sender' } })
    expect(senders.at(-1)).toBe('about:blank')
    await page.close()
  }, 180_000)

  it('answers paths outside the renderer with refusals, through the same handler', async () => {
    for (const path of ['/%2e%2e/main/index.js', '/..%2fmain%2findex.js', '/assets/nope.js']) {
      const r = await fetch(`${origin}${path}`)
      expect([400, 403, 404], path).toContain(r.status)
      expect(await r.text(), path).not.toMatch(/import|startDesktop/)
    }
  })
})
