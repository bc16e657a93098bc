import { describe, expect, it } from 'vitest'
import type { OperationName } from '../../src/shared/contract.js'
import type { CrawldeckBridge, IpcResult } from '../../src/shared/ipc.js'
import { IpcTransport } from '../../src/renderer/src/transport/ipc.js'
import { TransportError } from '../../src/renderer/src/transport/types.js'

/*
 * IpcTransport.stream, the desktop window's /crawl/stream: lines pushed by main reach the caller
 * one by one as they come, main's refusal is the TransportError HTTP would give, and a stop
 * (the caller's AbortSignal) cancels the stream by its id.
 */

class StreamBridge implements CrawldeckBridge {
  readonly cancelled: string[] = []
  readonly streams: Array<{ op: OperationName; input: unknown; id: string; onLine: (line: unknown) => void; end: (r: IpcResult<null>) => void }> = []
  call = async (): Promise<IpcResult> => ({ ok: true, value: null })
  stream = (op: OperationName, input: unknown, id: string, onLine: (line: unknown) => void): Promise<IpcResult<null>> =>
    new Promise((end) => this.streams.push({ op, input, id, onLine, end }))
  cancel = (id: string): void => void this.cancelled.push(id)
  subscribeLive = () => () => {}
  appInfo = async () => ({ version: '1', http_url: 'http://127.0.0.1:11235', platform: 'linux' })
  onAppCommand = () => () => {}
}

describe('IpcTransport.stream', () => {
  it('hands each line over as main pushes it and resolves when main says the stream ended', async () => {
    const bridge = new StreamBridge()
    const t = new IpcTransport(bridge)
    const lines: unknown[] = []
    const done = t.stream('crawlStream', { urls: ['https://a.test/'] }, (l) => lines.push(l))
    const s = bridge.streams[0]!
    expect(s.op).toBe('crawlStream')
    expect(s.input).toEqual({ urls: ['https://a.test/'] })
    s.onLine({ url: 'https://a.test/', success: true })
    expect(lines).toEqual([{ url: 'https://a.test/', success: true }])
    s.onLine({ status: 'completed' })
    s.end({ ok: true, value: null })
    await done
    expect(lines).toHaveLength(2)
  })

  it("main's refusal is a TransportError with its status, code and details", async () => {
    const bridge = new StreamBridge()
    const done = new IpcTransport(bridge).stream('crawlStream', { urls: [] }, () => undefined)
    bridge.streams[0]!.end({
      ok: false,
      error: { status: 400, code: 'invalid_input', message: 'invalid input: urls', details: [{ path: 'urls', message: 'empty' }] },
    })
    const err = await done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TransportError)
    expect(err).toMatchObject({
      status: 400,
      code: 'invalid_input',
      body: { error: 'invalid input: urls', code: 'invalid_input', details: [{ path: 'urls', message: 'empty' }] },
    })
  })

  it('a stop cancels the stream by its id; a non-stream operation is refused', async () => {
    const bridge = new StreamBridge()
    const stop = new AbortController()
    const t = new IpcTransport(bridge)
    const done = t.stream('crawlStream', { urls: ['https://a.test/'] }, () => undefined, stop.signal)
    stop.abort()
    expect(bridge.cancelled).toEqual([bridge.streams[0]!.id])
    bridge.streams[0]!.end({ ok: false, error: { status: 499, code: 'cancelled', message: 'cancelled' } })
    await expect(done).rejects.toMatchObject({ code: 'cancelled' })
    await expect(t.stream('crawl', { urls: ['https://a.test/'] }, () => undefined)).rejects.toMatchObject({ code: 'not_streamable' })
  })
})
