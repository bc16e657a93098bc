import { beforeEach, describe, expect, it, vi } from 'vitest'
import { BRIDGE_GLOBAL, IPC_CHANNELS, type CrawldeckBridge } from '../../src/shared/ipc.js'

/**
 * The preload with 'electron' mocked: exactly one global, a frozen object of functions, no way
 * to ipcRenderer or a channel name, listeners that never see the IpcRendererEvent.
 */

type Listener = (event: unknown, ...args: unknown[]) => void

/** A scripted ipcRenderer: records what the bridge sends and lets the test push from "main". */
class FakeIpcRenderer {
  readonly sent: Array<{ channel: string; args: unknown[] }> = []
  readonly invoked: Array<{ channel: string; args: unknown[] }> = []
  readonly listeners = new Map<string, Set<Listener>>()
  answer: (channel: string, args: unknown[]) => unknown = () => ({ ok: true, value: null })
  /** What main's pushes carry as their first argument; the bridge must never pass it on. */
  readonly event = { sender: this, senderId: 0, ports: [] }

  invoke = vi.fn(async (channel: string, ...args: unknown[]) => {
    this.invoked.push({ channel, args })
    return this.answer(channel, args)
  })

  send = vi.fn((channel: string, ...args: unknown[]) => {
    this.sent.push({ channel, args })
  })

  on = vi.fn((channel: string, listener: Listener) => {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set())
    this.listeners.get(channel)!.add(listener)
    return this
  })

  removeListener = vi.fn((channel: string, listener: Listener) => {
    this.listeners.get(channel)?.delete(listener)
    return this
  })

  push(channel: string, payload: unknown): void {
    for (const listener of [...(this.listeners.get(channel) ?? [])]) listener(this.event, payload)
  }

  count(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0
  }
}

const electron = vi.hoisted(() => ({
  exposed: [] as Array<{ key: string; api: unknown }>,
  ipcRenderer: null as unknown,
}))

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => electron.exposed.push({ key, api }) },
  get ipcRenderer() {
    return electron.ipcRenderer
  },
}))

async function loadPreload(): Promise<{ bridge: CrawldeckBridge; ipc: FakeIpcRenderer }> {
  const ipc = new FakeIpcRenderer()
  electron.ipcRenderer = ipc
  electron.exposed.length = 0
  vi.resetModules()
  await import('../../src/preload/index.js')
  expect(electron.exposed).toHaveLength(1)
  return { bridge: electron.exposed[0]!.api as CrawldeckBridge, ipc }
}

/** Every value reachable from `root` through own properties (and prototypes). */
function reachable(root: unknown): unknown[] {
  const seen = new Set<unknown>()
  const walk = (v: unknown) => {
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) return
    seen.add(v)
    for (const key of Reflect.ownKeys(v as object)) {
      const d = Object.getOwnPropertyDescriptor(v, key)
      if (d && 'value' in d) walk(d.value)
    }
  }
  walk(root)
  return [...seen]
}

describe('preload', () => {
  let bridge: CrawldeckBridge
  let ipc: FakeIpcRenderer

  beforeEach(async () => {
    ;({ bridge, ipc } = await loadPreload())
  })

  it('exposes exactly one global, crawldeck, holding a frozen object of functions only', () => {
    expect(electron.exposed.map((e) => e.key)).toEqual([BRIDGE_GLOBAL])
    expect(BRIDGE_GLOBAL).toBe('crawldeck')
    expect(Object.isFrozen(bridge)).toBe(true)
    expect(Object.keys(bridge).sort()).toEqual(['appInfo', 'call', 'cancel', 'onAppCommand', 'stream', 'subscribeLive'])
    for (const [key, value] of Object.entries(bridge)) expect(typeof value, key).toBe('function')
    expect(Object.getPrototypeOf(bridge)).toBe(Object.prototype)
  })

  it('reaches neither ipcRenderer nor a channel name from the object', () => {
    const channels = new Set<string>(Object.values(IPC_CHANNELS))
    for (const value of reachable(bridge)) {
      expect(value).not.toBe(ipc)
      expect(value).not.toBe(ipc.invoke)
      expect(value).not.toBe(ipc.send)
    }
    const strings = reachable(bridge).flatMap((v) =>
      Reflect.ownKeys(v as object).map((k) => (typeof k === 'string' ? (Object.getOwnPropertyDescriptor(v, k) as PropertyDescriptor).value : undefined)),
    )
    for (const s of strings) if (typeof s === 'string') expect(channels.has(s), s).toBe(false)
    // Nothing on the object takes a channel: there is no generic send/invoke/on.
    expect(Object.keys(bridge).some((k) => /^(send|invoke|on|ipc)/i.test(k) && k !== 'onAppCommand')).toBe(false)
  })

  it('call and cancel go to their channels with the envelope main expects', async () => {
    ipc.answer = () => ({ ok: true, value: { status: 'ok' } })
    expect(await bridge.call('health', {}, 'c-1')).toEqual({ ok: true, value: { status: 'ok' } })
    expect(ipc.invoked).toEqual([{ channel: IPC_CHANNELS.call, args: [{ op: 'health', input: {}, id: 'c-1' }] }])
    await bridge.call('health', {})
    expect(ipc.invoked[1]!.args).toEqual([{ op: 'health', input: {} }])
    bridge.cancel('c-1')
    expect(ipc.sent).toEqual([{ channel: IPC_CHANNELS.cancel, args: [{ id: 'c-1' }] }])
  })

  it('live listeners get the message only, acknowledge it, and unsubscribe stops the feed', () => {
    const seen: unknown[][] = []
    const off = bridge.subscribeLive((...args) => seen.push(args))
    expect(ipc.sent.map((s) => s.channel)).toEqual([IPC_CHANNELS.liveStart])
    const message = { type: 'tick', data: { health: {}, timeline: null } }
    ipc.push(IPC_CHANNELS.live, message)
    expect(seen).toEqual([[message]])
    expect(ipc.sent.map((s) => s.channel)).toEqual([IPC_CHANNELS.liveStart, IPC_CHANNELS.liveAck])
    // 'ended' is not acknowledged: main has already let the feed go.
    ipc.push(IPC_CHANNELS.live, { type: 'ended', reason: 'slow_client' })
    expect(seen[1]).toEqual([{ type: 'ended', reason: 'slow_client' }])
    expect(ipc.sent.filter((s) => s.channel === IPC_CHANNELS.liveAck)).toHaveLength(1)

    off()
    expect(ipc.sent.at(-1)!.channel).toBe(IPC_CHANNELS.liveStop)
    expect(ipc.count(IPC_CHANNELS.live)).toBe(0)
    ipc.push(IPC_CHANNELS.live, message)
    expect(seen).toHaveLength(2)
    off()
    expect(ipc.sent.filter((s) => s.channel === IPC_CHANNELS.liveStop)).toHaveLength(1)
  })

  it('keeps the feed while another live listener remains', () => {
    const a: unknown[] = []
    const b: unknown[] = []
    const offA = bridge.subscribeLive((m) => a.push(m))
    const offB = bridge.subscribeLive((m) => b.push(m))
    expect(ipc.count(IPC_CHANNELS.live)).toBe(1)
    offA()
    expect(ipc.sent.some((s) => s.channel === IPC_CHANNELS.liveStop)).toBe(false)
    ipc.push(IPC_CHANNELS.live, { type: 'browsers', data: {} })
    expect(a).toHaveLength(0)
    expect(b).toHaveLength(1)
    offB()
    expect(ipc.sent.at(-1)!.channel).toBe(IPC_CHANNELS.liveStop)
  })

  it('app commands reach the listener without the event, until unsubscribed', () => {
    const seen: unknown[][] = []
    const off = bridge.onAppCommand((...args) => seen.push(args))
    ipc.push(IPC_CHANNELS.appCommand, { type: 'navigate', view: 'settings' })
    expect(seen).toEqual([[{ type: 'navigate', view: 'settings' }]])
    off()
    expect(ipc.count(IPC_CHANNELS.appCommand)).toBe(0)
    ipc.push(IPC_CHANNELS.appCommand, { type: 'toggle-live-paused' })
    expect(seen).toHaveLength(1)
  })

  it('streams: lines reach onLine without the event, and the call settles only after every line main sent', async () => {
    let finish!: (v: unknown) => void
    ipc.answer = (channel) => (channel === IPC_CHANNELS.stream ? new Promise((resolve) => (finish = resolve)) : null)
    const lines: unknown[][] = []
    const pending = bridge.stream('crawlStream', { urls: ['http://a/'] }, 's-1', (...args) => lines.push(args))
    await vi.waitFor(() => expect(ipc.invoked).toHaveLength(1))
    expect(ipc.invoked[0]).toEqual({ channel: IPC_CHANNELS.stream, args: [{ id: 's-1', op: 'crawlStream', input: { urls: ['http://a/'] } }] })
    ipc.push(IPC_CHANNELS.streamLine, { id: 's-1', line: { url: 'http://a/' } })
    ipc.push(IPC_CHANNELS.streamLine, { id: 'other', line: 'not mine' })
    // The reply overtakes the last line: the stream waits for it.
    finish({ ok: true, value: null, lines: 2 })
    let settled = false
    void pending.then(() => (settled = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(false)
    ipc.push(IPC_CHANNELS.streamLine, { id: 's-1', line: { status: 'completed' } })
    expect(await pending).toEqual({ ok: true, value: null })
    expect(lines).toEqual([[{ url: 'http://a/' }], [{ status: 'completed' }]])
    expect(ipc.count(IPC_CHANNELS.streamLine)).toBe(0)
  })

  it('streams: a refusal settles at once with the error', async () => {
    ipc.answer = () => ({ ok: false, error: { status: 403, code: 'forbidden_sender', message: 'no' }, lines: 0 })
    expect(await bridge.stream('crawlStream', {}, 's-2', () => {})).toEqual({ ok: false, error: { status: 403, code: 'forbidden_sender', message: 'no' } })
  })

  it('appInfo unwraps the result, and throws the message of a refusal', async () => {
    ipc.answer = () => ({ ok: true, value: { version: '1', http_url: null, platform: 'linux' } })
    expect(await bridge.appInfo()).toEqual({ version: '1', http_url: null, platform: 'linux' })
    ipc.answer = () => ({ ok: false, error: { status: 403, code: 'forbidden_sender', message: 'this frame may not talk to crawldeck' } })
    await expect(bridge.appInfo()).rejects.toThrow('this frame may not talk to crawldeck')
  })
})
