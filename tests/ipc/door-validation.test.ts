import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallContext, OperationName, ServiceImpl } from '../../src/shared/contract.js'
import { IPC_CHANNELS } from '../../src/shared/ipc.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { allowedSenderFor, registerIpcDoor, type IpcDoor } from '../../src/main/ipc/index.js'
import { startService, type TestService } from '../helpers/service.js'
import { FakeIpcMain, FakeWindow } from './fake-electron.js'

/**
 * Main checks every message before the engine sees it: the sender frame's URL, the envelope,
 * the operation name and the input. Every refusal is an IpcError result, never a rejection.
 */

const APP_URL = 'app://crawldeck/'

describe('allowedSenderFor', () => {
  it('allows only the app:// origin (any path or hash under it) in production', () => {
    const allowed = allowedSenderFor({ appOrigin: 'app://crawldeck' })
    for (const url of [APP_URL, 'app://crawldeck', `${APP_URL}#/monitor`, `${APP_URL}index.html#/playground?x=1`, 'app://crawldeck/assets/../index.html'])
      expect(allowed(url), url).toBe(true)
    for (const url of [
      // The built renderer over file:// is not the app any more.
      'file:///opt/crawldeck/out/renderer/index.html',
      'file:///tmp/index.html',
      'app://crawldeck.evil/',
      'app://evil.crawldeck/',
      'app://evil/',
      'app://CRAWLDECK/',
      'app://crawldeck:8080/',
      'app://user:pass@crawldeck/',
      'app://user@crawldeck/',
      'apps://crawldeck/',
      'crawldeck://crawldeck/',
      'app:crawldeck',
      'app:///crawldeck/',
      'http://crawldeck/',
      'https://crawldeck/',
      'http://evil',
      'about:blank',
      'data:text/html,<script>1</script>',
      'javascript:alert(1)',
      'blob:app://crawldeck/abc',
      'devtools://devtools/bundled/inspector.html',
      '',
      'not a url',
    ]) {
      expect(allowed(url), url).toBe(false)
    }
  })

  it('refuses an appOrigin that is not a custom scheme origin', () => {
    for (const origin of ['http://localhost:5173', 'file:///x', 'app://', 'app://crawldeck/index.html', 'app://crawldeck:1', 'not a url'])
      expect(() => allowedSenderFor({ appOrigin: origin }), origin).toThrow()
  })

  it('allows only the dev server origin in development', () => {
    const allowed = allowedSenderFor({ rendererUrl: 'http://localhost:5173/' })
    for (const url of ['http://localhost:5173/', 'http://localhost:5173/#/monitor', 'http://localhost:5173/index.html?v=1'])
      expect(allowed(url), url).toBe(true)
    for (const url of [
      'http://localhost:5174/',
      'http://localhost:51730/',
      'http://localhost:5173.evil.com/',
      'http://localhost.evil.com:5173/',
      'https://localhost:5173/',
      'http://127.0.0.1:5173/',
      'http://user:pass@localhost:5173/',
      'http://evil',
      'about:blank',
      'data:text/html,x',
      APP_URL,
    ]) {
      expect(allowed(url), url).toBe(false)
    }
  })

  it('allows either when both are given, nothing when neither is, and refuses an opaque dev URL', () => {
    const both = allowedSenderFor({ appOrigin: 'app://crawldeck', rendererUrl: 'http://localhost:5173' })
    expect(both(APP_URL)).toBe(true)
    expect(both('http://localhost:5173/')).toBe(true)
    expect(both('http://evil/')).toBe(false)
    const none = allowedSenderFor({})
    expect(none(APP_URL)).toBe(false)
    expect(() => allowedSenderFor({ rendererUrl: 'file:///x/index.html' })).toThrow(/http/)
  })
})

describe('the door refuses bad messages with an IpcError', () => {
  let service: TestService
  let ipc: FakeIpcMain
  let door: IpcDoor
  const reached: string[] = []

  beforeAll(async () => {
    service = await startService({ launch_permanent: false })
    const real = service.runtime.service
    const recording: Record<string, unknown> = {}
    for (const name of Object.keys(real) as OperationName[]) {
      recording[name] = (input: unknown, ctx: CallContext) => {
        reached.push(name)
        return (real[name] as (i: unknown, c: CallContext) => Promise<unknown>)(input, ctx)
      }
    }
    ipc = new FakeIpcMain()
    door = registerIpcDoor({
      ipcMain: ipc,
      service: recording as ServiceImpl,
      live: service.runtime.live,
      isAllowedSender: allowedSenderFor({ appOrigin: 'app://crawldeck' }),
      appInfo: () => ({ version: '1', http_url: null, platform: 'linux' }),
      logger: silentLogger(),
      maxInputBytes: 64 * 1024,
    })
  }, 120_000)

  afterAll(async () => {
    door?.dispose()
    await service?.close()
  })

  const invoke = (win: FakeWindow, channel: string, payload: unknown, frameUrl?: string | null) =>
    ipc.invoke(win.event(frameUrl === undefined ? win.url : frameUrl), channel, payload)

  it('refuses senders whose frame is missing or not the app, before anything runs', async () => {
    const win = new FakeWindow(APP_URL)
    const before = reached.length
    for (const url of [null, '', 'http://evil', 'about:blank', 'data:text/html,x', 'file:///opt/crawldeck/out/renderer/index.html', 'app://evil/']) {
      const result = await invoke(win, IPC_CHANNELS.call, { op: 'monitorHealth', input: {} }, url)
      expect(result, String(url)).toMatchObject({ ok: false, error: { status: 403, code: 'forbidden_sender' } })
    }
    // A sender whose senderFrame getter throws (a disposed frame) is refused too.
    const throwing = {
      sender: win,
      get senderFrame(): { url: string } {
        throw new Error('frame disposed')
      },
    }
    expect(await ipc.handlers.get(IPC_CHANNELS.call)!(throwing, { op: 'monitorHealth', input: {} })).toMatchObject({ ok: false, error: { status: 403 } })
    // A subframe is refused even at the app's URL: the app never embeds frames.
    const fromSubframe = { sender: win, senderFrame: { url: APP_URL, parent: { url: APP_URL } } }
    expect(await ipc.handlers.get(IPC_CHANNELS.call)!(fromSubframe, { op: 'monitorHealth', input: {} })).toMatchObject({ ok: false, error: { status: 403 } })
    expect(reached.length).toBe(before)
    // ...and the same window, from the app's own main frame, is served.
    expect(
      await ipc.handlers.get(IPC_CHANNELS.call)!({ sender: win, senderFrame: { url: APP_URL, parent: null } }, { op: 'monitorHealth', input: {} }),
    ).toMatchObject({ ok: true })
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'monitorHealth', input: {} })).toMatchObject({ ok: true })
  })

  it('logs a refused window once, however often it sends', async () => {
    const warnings: unknown[] = []
    const logger = Object.assign(silentLogger(), { warn: (...args: unknown[]) => void warnings.push(args) })
    const own = new FakeIpcMain()
    const d = registerIpcDoor({
      ipcMain: own,
      service: service.runtime.service,
      live: service.runtime.live,
      isAllowedSender: allowedSenderFor({ appOrigin: 'app://crawldeck' }),
      appInfo: () => ({ version: '1', http_url: null, platform: 'linux' }),
      logger,
    })
    const hostile = new FakeWindow('http://evil/')
    for (let i = 0; i < 20; i++) {
      own.send(hostile.event(), IPC_CHANNELS.liveAck)
      await own.invoke(hostile.event(), IPC_CHANNELS.call, { op: 'monitorHealth', input: {} })
    }
    expect(warnings).toHaveLength(1)
    await own.invoke(new FakeWindow('http://other-evil/').event(), IPC_CHANNELS.call, { op: 'monitorHealth', input: {} })
    expect(warnings).toHaveLength(2)
    d.dispose()
  })

  it('refuses a refused sender on the send channels without answering or pushing', async () => {
    const win = new FakeWindow('http://evil/')
    const clients = service.runtime.live.clientCount
    ipc.send(win.event(), IPC_CHANNELS.liveStart)
    ipc.send(win.event(), IPC_CHANNELS.cancel, { id: 'x' })
    ipc.send(win.event(), IPC_CHANNELS.liveAck)
    ipc.send(win.event(), IPC_CHANNELS.liveStop)
    expect(service.runtime.live.clientCount).toBe(clients)
    expect(win.sent).toEqual([])
    expect(win.listenerCount('destroyed')).toBe(0)
  })

  it('refuses payloads that are not an envelope object', async () => {
    const win = new FakeWindow(APP_URL)
    for (const payload of [undefined, null, 'monitorHealth', 42, true, ['monitorHealth', {}], new Map([['op', 'monitorHealth']]), new Date()]) {
      expect(await invoke(win, IPC_CHANNELS.call, payload), String(payload)).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_message' } })
    }
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'monitorHealth', input: {}, extra: 1 })).toMatchObject({
      ok: false,
      error: { status: 400, code: 'invalid_message', message: expect.stringContaining('extra') },
    })
  })

  it('refuses unknown operation names, including inherited property names', async () => {
    const win = new FakeWindow(APP_URL)
    for (const op of ['nope', '__proto__', 'toString', 'constructor', 'hasOwnProperty', '', 42, null, { op: 'crawl' }]) {
      const result = await invoke(win, IPC_CHANNELS.call, { op, input: {} })
      expect(result, String(op)).toMatchObject({ ok: false, error: { status: 404, code: 'unknown_operation' } })
    }
  })

  it('refuses an operation on the wrong channel', async () => {
    const win = new FakeWindow(APP_URL)
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'crawlStream', input: { urls: ['http://a/'] } })).toMatchObject({
      ok: false,
      error: { status: 400, code: 'wrong_channel' },
    })
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'monitorStream', input: {} })).toMatchObject({ ok: false, error: { status: 400, code: 'wrong_channel' } })
    expect(await invoke(win, IPC_CHANNELS.stream, { id: 's', op: 'crawl', input: { urls: ['http://a/'] } })).toMatchObject({
      ok: false,
      error: { status: 400, code: 'wrong_channel' },
      lines: 0,
    })
  })

  it('refuses __proto__, constructor and prototype keys anywhere in the input', async () => {
    const win = new FakeWindow(APP_URL)
    const polluted = [
      JSON.parse('{"urls":["http://127.0.0.1/"],"__proto__":{"polluted":true}}'),
      JSON.parse('{"urls":["http://127.0.0.1/"],"crawler_config":{"__proto__":{"js_code":"1"}}}'),
      { urls: ['http://127.0.0.1/'], browser_config: { constructor: { prototype: {} } } },
      { urls: ['http://127.0.0.1/'], crawler_config: { excluded_tags: [{ prototype: 1 }] } },
    ]
    for (const input of polluted) {
      expect(Object.keys(input).length).toBeGreaterThan(0)
      expect(await invoke(win, IPC_CHANNELS.call, { op: 'crawl', input }), JSON.stringify(input)).toMatchObject({
        ok: false,
        error: { status: 400, code: 'invalid_message', message: expect.stringContaining('forbidden key') },
      })
    }
    expect(await invoke(win, IPC_CHANNELS.call, JSON.parse('{"op":"monitorHealth","input":{},"__proto__":{}}'))).toMatchObject({
      ok: false,
      error: { status: 400, code: 'invalid_message' },
    })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses values JSON could not carry: cycles, Maps, Dates, NaN, bigints', async () => {
    const win = new FakeWindow(APP_URL)
    const cyclic: Record<string, unknown> = { urls: ['http://127.0.0.1/'] }
    cyclic.self = cyclic
    for (const input of [
      cyclic,
      { urls: new Set(['http://127.0.0.1/']) },
      { urls: ['http://127.0.0.1/'], when: new Date() },
      { limit: Number.NaN },
      { limit: 10n },
      { data: new Uint8Array(4) },
    ]) {
      expect(await invoke(win, IPC_CHANNELS.call, { op: 'crawl', input }), Object.keys(input).join()).toMatchObject({
        ok: false,
        error: { status: 400, code: 'invalid_message' },
      })
    }
  })

  it('refuses an input above the size limit with 413', async () => {
    const win = new FakeWindow(APP_URL)
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'crawl', input: { urls: [`http://127.0.0.1/${'x'.repeat(70_000)}`] } })).toMatchObject({
      ok: false,
      error: { status: 413, code: 'body_too_large', message: 'request body is larger than the 65536-byte limit' },
    })
  })

  it('refuses bad ids', async () => {
    const win = new FakeWindow(APP_URL)
    for (const id of ['', 'a b', 'x'.repeat(200), ':anonymous:1', 7, null]) {
      expect(await invoke(win, IPC_CHANNELS.call, { op: 'monitorHealth', input: {}, id }), String(id)).toMatchObject({
        ok: false,
        error: { status: 400, code: 'invalid_message' },
      })
    }
    expect(await invoke(win, IPC_CHANNELS.stream, { op: 'crawlStream', input: { urls: ['http://127.0.0.1/'] } })).toMatchObject({
      ok: false,
      error: { status: 400, code: 'invalid_message' },
    })
  })

  it('validates input with the operation schema and never reaches the service with a bad one', async () => {
    const win = new FakeWindow(APP_URL)
    const before = reached.length
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'monitorTimeline', input: { metric: 'disk' } })).toMatchObject({
      ok: false,
      error: { status: 400, code: 'invalid_input' },
    })
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'monitorKillBrowser', input: { sig: 'zz' } })).toMatchObject({
      ok: false,
      error: { status: 400, code: 'invalid_input', details: expect.any(Array) },
    })
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'monitorRequests', input: { status: 'bogus' } })).toMatchObject({
      ok: false,
      error: { status: 400, code: 'invalid_input' },
    })
    expect(reached.length).toBe(before)
    // An input left out is `{}`, as an empty HTTP body is.
    expect(await invoke(win, IPC_CHANNELS.call, { op: 'monitorRequests' })).toMatchObject({ ok: true })
  })

  it('turns an unexpected engine failure into a 500 IpcError with a correlation id, not a rejection', async () => {
    const own = new FakeIpcMain()
    const broken = {
      ...service.runtime.service,
      monitorHealth: async () => {
        throw new TypeError('boom at /secret/path')
      },
    } as ServiceImpl
    const d = registerIpcDoor({
      ipcMain: own,
      service: broken,
      live: service.runtime.live,
      isAllowedSender: () => true,
      appInfo: () => {
        throw new Error('no info')
      },
      logger: silentLogger(),
    })
    const win = new FakeWindow(APP_URL)
    const result = await own.invoke(win.event(), IPC_CHANNELS.call, { op: 'monitorHealth', input: {} })
    expect(result).toMatchObject({
      ok: false,
      error: { status: 500, code: 'internal', message: expect.stringMatching(/^internal error; quote [0-9a-f-]{36} when reporting it$/) },
    })
    expect(JSON.stringify(result)).not.toContain('secret')
    expect(await own.invoke(win.event(), IPC_CHANNELS.appInfo)).toMatchObject({ ok: false, error: { status: 500 } })
    d.dispose()
  })
})
