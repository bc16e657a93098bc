import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { contract, type CallContext, type OperationName, type ServiceImpl } from '../../src/shared/contract.js'
import { IPC_CHANNELS, type IpcResult, type IpcStreamOutcome } from '../../src/shared/ipc.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { Authenticator } from '../../src/main/http/auth.js'
import { contractRouter } from '../../src/main/http/routes.js'
import { allowedSenderFor, ipcRoutes, registerIpcDoor, type IpcDoor } from '../../src/main/ipc/index.js'
import type { LiveSource } from '../../src/main/ipc/types.js'
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { TestScope, waitFor, type TestService } from '../helpers/service.js'
import { FakeIpcMain, FakeWindow } from './fake-electron.js'

/**
 * The IPC door against the real engine: every contract operation reaches the real service
 * through it (and has its Koa route), failures read exactly as the HTTP door's, and a call's
 * signal aborts on cancel or when its window goes.
 */

const APP_URL = 'app://crawldeck/#/monitor'

let fixture: FixtureServer
const scope = new TestScope(() => fixture)
let service: TestService
let ipc: FakeIpcMain
let door: IpcDoor
/** Every call that reached the real service, with the context the door gave it. */
const reached: Array<{ name: string; ctx: CallContext }> = []
let liveSubscribes = 0

/** The real service, recording each call before passing it on. */
function recording(real: ServiceImpl): ServiceImpl {
  const out: Record<string, unknown> = {}
  for (const name of Object.keys(real) as OperationName[]) {
    const impl = real[name] as (input: unknown, ctx: CallContext) => Promise<unknown>
    out[name] = (input: unknown, ctx: CallContext) => {
      reached.push({ name, ctx })
      return impl(input, ctx)
    }
  }
  return out as ServiceImpl
}

function call(win: FakeWindow, op: string, input: unknown, id?: string): Promise<IpcResult> {
  return ipc.invoke(win.event(), IPC_CHANNELS.call, id === undefined ? { op, input } : { op, input, id })
}

function lastReached(name: string): CallContext {
  const hit = [...reached].reverse().find((r) => r.name === name)
  if (!hit) throw new Error(`${name} never reached the service`)
  return hit.ctx
}

beforeAll(async () => {
  fixture = await startFixtureServer()
  // One page slot and no queue: a held crawl makes the next one a 429 on both doors.
  service = await scope.serve({ max_pages: 1, queue_size: 0 })
  ipc = new FakeIpcMain()
  const live: LiveSource = {
    subscribe: () => {
      liveSubscribes++
      return service.runtime.live.subscribe()
    },
  }
  door = registerIpcDoor({
    ipcMain: ipc,
    service: recording(service.runtime.service),
    live,
    isAllowedSender: allowedSenderFor({ appOrigin: 'app://crawldeck' }),
    appInfo: () => ({ version: service.runtime.version, http_url: service.url, platform: process.platform }),
    logger: silentLogger(),
  })
}, 120_000)

afterEach(async () => {
  scope.releaseGates()
  // One page slot: the next test starts once a held or aborted crawl has given it back.
  await waitFor(() => service.runtime.admission.activeCount === 0, 30_000, 'the page slot to be free')
})

afterAll(async () => {
  door?.dispose()
  await scope.closeAll()
  await fixture?.close()
})

/** An input each operation accepts; a new operation without one fails the coverage test below. */
function sampleInputs(): Record<OperationName, unknown> {
  const page = fixture.url('/about')
  return {
    crawl: { urls: [page] },
    crawlStream: { urls: [page, fixture.url('/')] },
    markdown: { url: page },
    html: { url: page },
    screenshot: { url: page },
    pdf: { url: page },
    // Reaches the service, which answers 403: this server runs without --allow-js-code.
    executeJs: { url: page, scripts: ['1'] },
    health: {},
    monitorHealth: {},
    monitorRequests: { status: 'all', limit: 5 },
    monitorBrowsers: {},
    monitorEndpointStats: {},
    monitorTimeline: { metric: 'cpu', window: '1m' },
    monitorHistoryEndpoints: { from: '0', to: '3600' },
    monitorJanitorLog: { limit: 5 },
    monitorErrors: { limit: 5 },
    monitorCleanup: {},
    // Reaches the service, which answers 404: no browser has this signature.
    monitorKillBrowser: { sig: 'ffff0000' },
    monitorRestartBrowser: { sig: 'ffff0000' },
    monitorResetStats: {},
    monitorCacheClear: {},
    monitorSessions: {},
    // Reaches the service, which answers 404: no session has this id.
    monitorCloseSession: { session_id: 'no-such-session' },
    monitorStream: {},
    metrics: {},
    settings: {},
    updateSettings: {},
    configSchema: {},
    configDump: { type: 'CrawlerRunConfig', params: { check_robots_txt: true } },
    crawlJob: { urls: [page] },
    // Reach the service, which answers 404: no job has this id.
    crawlJobStatus: { task_id: 'crawl_00000000' },
    cancelJob: { task_id: 'crawl_00000000' },
    crawlJobs: { status: 'all' },
    monitorWebhooks: { limit: 10 },
    monitorFleet: {},
    monitorAlerts: {},
  } as Record<OperationName, unknown>
}

describe('every contract operation has both doors', () => {
  it('has a Koa route for its method and path, and the IPC door dispatches it to the real service', async () => {
    const router = contractRouter(service.runtime.service, silentLogger(), {
      auth: new Authenticator({ admin: [], crawl: [], read: [] }),
      bodyLimitBytes: 1024,
    })
    const samples = sampleInputs()
    const routes = ipcRoutes()
    const win = new FakeWindow(APP_URL)
    const missing: string[] = []
    for (const name of Object.keys(contract) as OperationName[]) {
      const op = contract[name]
      if (!router.stack.some((layer) => layer.path === op.path && layer.methods.includes(op.method)))
        missing.push(`${name}: no Koa route ${op.method} ${op.path}`)
      if (!(name in samples)) {
        missing.push(`${name}: add a sample input to this test`)
        continue
      }
      const before = reached.length
      if (routes[name] === 'call') {
        const result = await call(win, name, samples[name])
        if (!result.ok && result.error.status >= 500) missing.push(`${name}: ${result.error.message}`)
        if (!reached.slice(before).some((r) => r.name === name && r.ctx.transport === 'ipc')) missing.push(`${name}: never reached the service over IPC`)
      } else if (routes[name] === 'stream') {
        const id = `cover-${name}`
        const outcome: IpcStreamOutcome = await ipc.invoke(win.event(), IPC_CHANNELS.stream, { id, op: name, input: samples[name] })
        expect(outcome, name).toMatchObject({ ok: true })
        const lines = win.pushed(IPC_CHANNELS.streamLine).filter((l) => l.id === id)
        expect(lines.length, name).toBe(outcome.lines)
        expect(lines.length, name).toBeGreaterThan(0)
        if (!reached.slice(before).some((r) => r.name === name && r.ctx.transport === 'ipc')) missing.push(`${name}: never reached the service over IPC`)
      } else {
        const subscribesBefore = liveSubscribes
        ipc.send(win.event(), IPC_CHANNELS.liveStart)
        await waitFor(() => win.pushed(IPC_CHANNELS.live).some((m) => m.type === 'snapshot'), 20_000, `${name} snapshot`)
        ipc.send(win.event(), IPC_CHANNELS.liveStop)
        if (liveSubscribes !== subscribesBefore + 1) missing.push(`${name}: the live feed was not subscribed`)
      }
    }
    expect(missing).toEqual([])
  })

  it('streams crawl results line by line, ending with the completed line', async () => {
    const win = new FakeWindow(APP_URL)
    const urls = [fixture.url('/'), fixture.url('/about')]
    const outcome: IpcStreamOutcome = await ipc.invoke(win.event(), IPC_CHANNELS.stream, { id: 's1', op: 'crawlStream', input: { urls } })
    expect(outcome).toEqual({ ok: true, value: null, lines: 3 })
    const lines = win.pushed(IPC_CHANNELS.streamLine)
    expect(lines.map((l) => l.id)).toEqual(['s1', 's1', 's1'])
    expect(
      lines
        .slice(0, 2)
        .map((l) => l.line.url)
        .sort(),
    ).toEqual([...urls].sort())
    expect(lines[2].line).toEqual({ status: 'completed' })
  })

  it('answers a crawl batch in one piece: every result in URL order, and the same answer as over HTTP', async () => {
    const urls = [fixture.url('/about'), fixture.url('/status/404'), fixture.url('/')]
    const result = await call(new FakeWindow(APP_URL), 'crawl', { urls })
    expect(result.ok).toBe(true)
    const value = (result as { value: { success: boolean; results: Array<{ url: string; success: boolean; markdown: object }> } }).value
    expect(value.success).toBe(false)
    expect(value.results.map((r) => r.url)).toEqual(urls)
    expect(value.results.map((r) => r.success)).toEqual([true, false, true])
    const http = await service.postJson('/crawl', { urls })
    expect(Object.keys(http.body).sort()).toEqual(Object.keys(value).sort())
    expect(http.body.success).toBe(false)
    expect(http.body.results.map((r: { url: string }) => r.url)).toEqual(urls)
    expect(http.body.results[2].markdown).toEqual(value.results[2]!.markdown)
  })

  it('answers appInfo to the app window only', async () => {
    const win = new FakeWindow(APP_URL)
    expect(await ipc.invoke(win.event(), IPC_CHANNELS.appInfo)).toEqual({
      ok: true,
      value: { version: service.runtime.version, http_url: service.url, platform: process.platform },
    })
    expect(await ipc.invoke(win.event('https://evil.example/'), IPC_CHANNELS.appInfo)).toMatchObject({
      ok: false,
      error: { status: 403, code: 'forbidden_sender' },
    })
  })
})

describe('failures read the same through both doors', () => {
  async function both(op: OperationName, input: unknown, httpPath?: string) {
    const win = new FakeWindow(APP_URL)
    const ipcResult = await call(win, op, input)
    const res = httpPath ? await service.get(httpPath) : await service.postJson(contract[op].path, input)
    expect(ipcResult.ok).toBe(false)
    if (ipcResult.ok) return
    const expected: Record<string, unknown> = { status: res.status, code: res.body.code, message: res.body.error }
    if (res.body.details !== undefined) expected.details = res.body.details
    expect(ipcResult.error).toEqual(expected)
    return ipcResult.error
  }

  it('400: an invalid crawl body gives the same status, code, message and details', async () => {
    const error = await both('crawl', { urls: ['ftp://example.com/', 'not a url'], crawler_config: { page_timeout: -1 } })
    expect(error).toMatchObject({ status: 400, code: 'invalid_input' })
    expect(error!.message).toContain('only http: and https: URLs can be crawled')
  })

  it('400: an invalid query of a GET operation is refused with the same message', async () => {
    const error = await both('monitorRequests', { limit: 0 }, '/monitor/requests?limit=0')
    expect(error).toMatchObject({ status: 400, code: 'invalid_input' })
  })

  it('400: a limit the engine enforces (js_code disabled) reads the same', async () => {
    await both('crawl', { urls: [fixture.url('/')], crawler_config: { js_code: 'document.title' } })
  })

  it('404 and 403 from the monitor actions read the same', async () => {
    expect(await both('monitorKillBrowser', { sig: 'deadbeef' })).toMatchObject({ status: 404, code: 'not_found' })
    const permanent = (await service.runtime.service.monitorBrowsers({}, { signal: new AbortController().signal, transport: 'ipc' })).browsers.find(
      (b) => b.type === 'permanent',
    )
    expect(permanent).toBeTruthy()
    expect(await both('monitorKillBrowser', { sig: permanent!.sig })).toMatchObject({ status: 403, code: 'forbidden' })
  })

  it('429: a full queue reads the same', async () => {
    const gate = scope.gate('held-429')
    const win = new FakeWindow(APP_URL)
    const held = call(win, 'markdown', { url: fixture.url('/gate/held-429') })
    await gate.reached
    const error = await both('crawl', { urls: [fixture.url('/')] })
    expect(error).toMatchObject({ status: 429, code: 'queue_full' })
    gate.release()
    expect(await held).toMatchObject({ ok: true })
  })

  it('413: an input above the body limit reads the same', async () => {
    const huge = { urls: [`http://127.0.0.1/${'a'.repeat(service.runtime.config.body_limit_bytes)}`] }
    const ipcResult = await call(new FakeWindow(APP_URL), 'crawl', huge)
    const res = await service.postJson('/crawl', huge)
    expect(res.status).toBe(413)
    expect(ipcResult).toEqual({ ok: false, error: { status: 413, code: res.body.code, message: res.body.error } })
  })
})

describe('a call through IPC is cancelled with its window', () => {
  it('cancel(id) aborts the call signal; another window cannot cancel it', async () => {
    const gate = scope.gate('cancel-me')
    const win = new FakeWindow(APP_URL)
    const other = new FakeWindow(APP_URL)
    const pending = call(win, 'markdown', { url: fixture.url('/gate/cancel-me') }, 'job-1')
    await gate.reached
    const ctx = lastReached('markdown')
    expect(ctx.transport).toBe('ipc')
    ipc.send(other.event(), IPC_CHANNELS.cancel, { id: 'job-1' })
    expect(ctx.signal.aborted).toBe(false)
    ipc.send(win.event(), IPC_CHANNELS.cancel, { id: 'job-1' })
    expect(ctx.signal.aborted).toBe(true)
    expect(await pending).toMatchObject({ ok: false, error: { status: 499, code: 'client_aborted' } })
  })

  it('a destroyed window aborts its calls', async () => {
    const gate = scope.gate('destroy-me')
    const win = new FakeWindow(APP_URL)
    const pendingCall = call(win, 'markdown', { url: fixture.url('/gate/destroy-me') })
    await gate.reached
    const ctx = lastReached('markdown')
    win.destroy()
    expect(ctx.signal.aborted).toBe(true)
    expect(await pendingCall).toMatchObject({ ok: false, error: { code: 'client_aborted' } })
  })

  it('cancel aborts a stream too', async () => {
    const gate = scope.gate('stream-cancel')
    const win = new FakeWindow(APP_URL)
    const pending: Promise<IpcStreamOutcome> = ipc.invoke(win.event(), IPC_CHANNELS.stream, {
      id: 'st-1',
      op: 'crawlStream',
      input: { urls: [fixture.url('/gate/stream-cancel')] },
    })
    await gate.reached
    const ctx = lastReached('crawlStream')
    ipc.send(win.event(), IPC_CHANNELS.cancel, { id: 'st-1' })
    expect(ctx.signal.aborted).toBe(true)
    gate.release()
    expect(await pending).toMatchObject({ ok: false, error: { status: 499, code: 'client_aborted' } })
  })
})

describe('dispose', () => {
  it('removes every handler and listener it registered', () => {
    const own = new FakeIpcMain()
    const d = registerIpcDoor({
      ipcMain: own,
      service: service.runtime.service,
      live: service.runtime.live,
      isAllowedSender: () => true,
      appInfo: () => ({ version: 'x', http_url: null, platform: 'linux' }),
      logger: silentLogger(),
    })
    expect([...own.handlers.keys()].sort()).toEqual([IPC_CHANNELS.appInfo, IPC_CHANNELS.call, IPC_CHANNELS.stream].sort())
    expect(own.registeredCount).toBe(7)
    d.dispose()
    expect(own.registeredCount).toBe(0)
  })
})
