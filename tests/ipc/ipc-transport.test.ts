// @vitest-environment happy-dom
import { isProxy, reactive } from 'vue'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { OperationName } from '../../src/shared/contract.js'
import type { CrawldeckBridge, IpcResult, LiveEnded } from '../../src/shared/ipc.js'
import type { LiveMessage } from '../../src/shared/monitor-types.js'
import { selectTransport } from '../../src/renderer/src/stores/transport.js'
import { HttpTransport } from '../../src/renderer/src/transport/http.js'
import { IpcTransport } from '../../src/renderer/src/transport/ipc.js'
import { TransportError, type LiveState } from '../../src/renderer/src/transport/types.js'
import { snapshot } from '../ui/fixtures.js'

/** A scripted bridge: records calls, answers as told, and lets the test push live messages. */
class FakeBridge implements CrawldeckBridge {
  readonly calls: Array<{ op: OperationName; input: unknown; id?: string }> = []
  answer: (op: OperationName, input: unknown) => Promise<IpcResult> = async () => ({ ok: true, value: null })
  readonly subscriptions: Array<{ listener: (m: LiveMessage | LiveEnded) => void; active: boolean }> = []

  call = async (op: OperationName, input: unknown, id?: string): Promise<IpcResult> => {
    this.calls.push(id === undefined ? { op, input } : { op, input, id })
    return this.answer(op, input)
  }
  stream = async (): Promise<IpcResult<null>> => ({ ok: true, value: null })
  cancel = (): void => {}
  subscribeLive = (listener: (m: LiveMessage | LiveEnded) => void): (() => void) => {
    const sub = { listener, active: true }
    this.subscriptions.push(sub)
    return () => {
      sub.active = false
    }
  }
  appInfo = async () => ({ version: '1', http_url: null, platform: 'linux' })
  onAppCommand = () => () => {}

  /** Push to the newest subscription, as main would. */
  push(message: LiveMessage | LiveEnded): void {
    this.subscriptions.at(-1)!.listener(message)
  }
  get active(): number {
    return this.subscriptions.filter((s) => s.active).length
  }
}

afterEach(() => {
  vi.useRealTimers()
  delete (globalThis as Record<string, unknown>).crawldeck
})

describe('IpcTransport.call', () => {
  it('sends the operation and its input as plain JSON through the bridge and returns the value', async () => {
    const bridge = new FakeBridge()
    bridge.answer = async () => ({ ok: true, value: { metric: 'cpu', points: [] } })
    const t = new IpcTransport(bridge)
    const input = reactive({ metric: 'cpu' as const, window: '5m', dropped: undefined as string | undefined })
    expect(await t.call('monitorTimeline', input)).toEqual({ metric: 'cpu', points: [] })
    expect(bridge.calls).toEqual([{ op: 'monitorTimeline', input: { metric: 'cpu', window: '5m' } }])
    // A Vue proxy cannot be structured-cloned over IPC: the transport sends a plain copy.
    expect(isProxy(bridge.calls[0]!.input)).toBe(false)
    await t.call('monitorHealth', undefined as never)
    expect(bridge.calls[1]!.input).toEqual({})
  })

  it('turns an IpcError into the TransportError HttpTransport gives for the same HTTP answer', async () => {
    const bridge = new FakeBridge()
    const details = [{ path: 'sig', message: 'sig needs at least 4 characters' }]
    bridge.answer = async () => ({
      ok: false,
      error: { status: 400, code: 'invalid_input', message: 'invalid input: sig: sig needs at least 4 characters', details },
    })
    const viaIpc = await new IpcTransport(bridge).call('monitorKillBrowser', { sig: 'a' }).catch((e: unknown) => e)
    const body = { error: 'invalid input: sig: sig needs at least 4 characters', code: 'invalid_input', details }
    const http = new HttpTransport({ fetch: (async () => new Response(JSON.stringify(body), { status: 400 })) as typeof fetch, EventSource: undefined })
    const viaHttp = await http.call('monitorKillBrowser', { sig: 'a' }).catch((e: unknown) => e)
    expect(viaIpc).toBeInstanceOf(TransportError)
    expect(viaHttp).toBeInstanceOf(TransportError)
    const fields = (e: unknown) => {
      const t = e as TransportError
      return { message: t.message, status: t.status, code: t.code, body: t.body }
    }
    expect(fields(viaIpc)).toEqual(fields(viaHttp))
    expect(fields(viaIpc)).toMatchObject({ status: 400, code: 'invalid_input' })
  })

  it('reports a broken bridge as a TransportError, and refuses stream operations', async () => {
    const bridge = new FakeBridge()
    bridge.answer = async () => {
      throw new Error('An object could not be cloned.')
    }
    await expect(new IpcTransport(bridge).call('monitorHealth', {})).rejects.toMatchObject({
      name: 'TransportError',
      status: 0,
      code: 'ipc',
      message: 'IPC error: An object could not be cloned.',
    })
    await expect(new IpcTransport(bridge).call('crawlStream', { urls: ['http://a/'] })).rejects.toMatchObject({ code: 'not_callable' })
    await expect(new IpcTransport(bridge).call('monitorStream', {})).rejects.toMatchObject({ code: 'not_callable' })
  })
})

describe('IpcTransport.subscribe', () => {
  it('passes live messages through, is live from the snapshot, and resubscribes with backoff when main ends the feed', () => {
    vi.useFakeTimers()
    const bridge = new FakeBridge()
    const states: LiveState[] = []
    const messages: string[] = []
    const t = new IpcTransport(bridge, { backoffMs: 100, maxBackoffMs: 300 })
    const stop = t.subscribe(
      (m) => messages.push(m.type),
      (s) => states.push(s),
    )
    expect(bridge.subscriptions).toHaveLength(1)
    expect(states).toEqual([])
    bridge.push({ type: 'snapshot', data: snapshot() })
    bridge.push({ type: 'tick', data: { health: snapshot().health, timeline: null } })
    expect(states).toEqual(['live'])
    expect(messages).toEqual(['snapshot', 'tick'])

    bridge.push({ type: 'ended', reason: 'slow_client' })
    expect(states).toEqual(['live', 'reconnecting'])
    expect(messages).toEqual(['snapshot', 'tick'])
    expect(bridge.active).toBe(0)
    vi.advanceTimersByTime(99)
    expect(bridge.subscriptions).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(bridge.subscriptions).toHaveLength(2)
    // Ended again before a snapshot: the wait doubles, up to the cap.
    bridge.push({ type: 'ended', reason: 'closed' })
    vi.advanceTimersByTime(199)
    expect(bridge.subscriptions).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(bridge.subscriptions).toHaveLength(3)
    bridge.push({ type: 'ended', reason: 'closed' })
    vi.advanceTimersByTime(300)
    expect(bridge.subscriptions).toHaveLength(4)
    bridge.push({ type: 'snapshot', data: snapshot() })
    expect(states).toEqual(['live', 'reconnecting', 'live'])
    // A snapshot resets the backoff.
    bridge.push({ type: 'ended', reason: 'closed' })
    vi.advanceTimersByTime(100)
    expect(bridge.subscriptions).toHaveLength(5)
    expect(bridge.active).toBe(1)

    stop()
    expect(bridge.active).toBe(0)
    bridge.push({ type: 'tick', data: { health: snapshot().health, timeline: null } })
    expect(messages.filter((m) => m === 'tick')).toHaveLength(1)
  })

  it('does not resubscribe after unsubscribe, even with a retry pending', () => {
    vi.useFakeTimers()
    const bridge = new FakeBridge()
    const stop = new IpcTransport(bridge, { backoffMs: 50 }).subscribe(
      () => {},
      () => {},
    )
    bridge.push({ type: 'ended', reason: 'closed' })
    stop()
    vi.advanceTimersByTime(10_000)
    expect(bridge.subscriptions).toHaveLength(1)
  })
})

describe('transport selection', () => {
  it('uses IPC when the preload defined window.crawldeck, HTTP otherwise', () => {
    expect(selectTransport(window)).toBeInstanceOf(HttpTransport)
    ;(window as unknown as Record<string, unknown>).crawldeck = Object.freeze(new FakeBridge())
    expect(selectTransport(window)).toBeInstanceOf(IpcTransport)
    // Something else under that name is not a bridge.
    ;(window as unknown as Record<string, unknown>).crawldeck = 'not a bridge'
    expect(selectTransport(window)).toBeInstanceOf(HttpTransport)
  })
})
