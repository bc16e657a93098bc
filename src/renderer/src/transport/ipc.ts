import { contract, type OperationName, type OperationOutput } from '../../../shared/contract'
import type { CrawldeckBridge, LiveEnded } from '../../../shared/ipc'
import type { LiveMessage } from '../../../shared/monitor-types'
import { TransportError, type DesktopChannel, type LiveState, type OperationCallInput, type Transport } from './types'

/*
 * IpcTransport, the Transport of the Electron window: calls and the live feed over the preload's
 * bridge, resubscribed with backoff (and a fresh snapshot) whenever main ends the feed.
 */

export interface IpcTransportOptions {
  /** First wait before resubscribing after main ended the feed; doubles up to maxBackoffMs. */
  backoffMs?: number
  maxBackoffMs?: number
}

/**
 * The IPC door, for the Electron window: calls and the live feed go through the preload's
 * bridge (window.crawldeck) to the same service the HTTP door serves, with the same errors.
 */
export class IpcTransport implements Transport {
  private readonly backoffMs: number
  private readonly maxBackoffMs: number

  constructor(
    private readonly bridge: CrawldeckBridge,
    opts: IpcTransportOptions = {},
  ) {
    this.backoffMs = opts.backoffMs ?? 500
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000
  }

  async call<K extends OperationName>(name: K, input: OperationCallInput<K>): Promise<OperationOutput<K>> {
    const op = contract[name]
    if (op.response === 'ndjson' || op.response === 'live') {
      throw new TransportError(`${name} is a stream; use subscribe()`, 0, 'not_callable', null)
    }
    // What HTTP would have carried: plain JSON (Vue proxies and undefined fields do not cross).
    const payload: unknown = JSON.parse(JSON.stringify(input ?? {}))
    let result: Awaited<ReturnType<CrawldeckBridge['call']>>
    try {
      result = await this.bridge.call(name, payload)
    } catch (err) {
      throw new TransportError(`IPC error: ${err instanceof Error ? err.message : String(err)}`, 0, 'ipc', null)
    }
    if (!result.ok) {
      const { status, code, message, details } = result.error
      // The same body the HTTP door would have sent, so callers read one shape from both.
      const body = details === undefined ? { error: message, code } : { error: message, code, details }
      throw new TransportError(message, status, code, body)
    }
    return result.value as OperationOutput<K>
  }

  async stream<K extends OperationName>(name: K, input: OperationCallInput<K>, onLine: (line: unknown) => void, signal?: AbortSignal): Promise<void> {
    if (contract[name].response !== 'ndjson') throw new TransportError(`${name} is not a stream; use call()`, 0, 'not_streamable', null)
    const payload: unknown = JSON.parse(JSON.stringify(input ?? {}))
    const id = `stream-${++this.streamIds}-${Date.now()}`
    const cancel = () => this.bridge.cancel(id)
    signal?.addEventListener('abort', cancel, { once: true })
    let result: Awaited<ReturnType<CrawldeckBridge['stream']>>
    try {
      result = await this.bridge.stream(name, payload, id, onLine)
    } catch (err) {
      throw new TransportError(`IPC error: ${err instanceof Error ? err.message : String(err)}`, 0, 'ipc', null)
    } finally {
      signal?.removeEventListener('abort', cancel)
    }
    if (!result.ok) {
      const { status, code, message, details } = result.error
      throw new TransportError(message, status, code, details === undefined ? { error: message, code } : { error: message, code, details })
    }
  }

  private streamIds = 0

  readonly desktop: DesktopChannel = {
    appInfo: () => this.bridge.appInfo(),
    onAppCommand: (listener) => this.bridge.onAppCommand(listener),
  }

  subscribe(onMessage: (m: LiveMessage) => void, onState: (s: LiveState) => void): () => void {
    type Subscription = { active: boolean; off: (() => void) | null }
    let closed = false
    let current: Subscription | null = null
    let retryTimer: ReturnType<typeof setTimeout> | null = null
    let attempt = 0
    let state: LiveState | null = null
    const setState = (s: LiveState) => {
      if (s !== state) {
        state = s
        onState(s)
      }
    }
    const end = (sub: Subscription) => {
      sub.active = false
      sub.off?.()
      sub.off = null
    }

    const open = () => {
      retryTimer = null
      if (closed) return
      const sub: Subscription = { active: true, off: null }
      current = sub
      const handle = (message: LiveMessage | LiveEnded) => {
        if (closed || !sub.active) return
        if (message.type === 'ended') {
          // Main dropped this window (too slow) or is closing: come back for a fresh snapshot.
          end(sub)
          setState('reconnecting')
          const wait = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt)
          attempt++
          retryTimer = setTimeout(open, wait)
          return
        }
        if (message.type === 'snapshot') {
          attempt = 0
          setState('live')
        }
        onMessage(message)
      }
      sub.off = this.bridge.subscribeLive(handle)
      // It may have ended while subscribing.
      if (!sub.active) end(sub)
    }

    open()
    return () => {
      closed = true
      if (retryTimer) clearTimeout(retryTimer)
      retryTimer = null
      if (current) end(current)
      current = null
    }
  }
}
