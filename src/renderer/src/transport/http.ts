import { contract, type OperationName, type OperationOutput } from '../../../shared/contract'
import type { LiveMessage, LiveMessageType } from '../../../shared/monitor-types'
import { fetchSnapshot } from './snapshot'
import type { AuthSession } from '../../../shared/api-types'
import { TransportError, type LiveState, type OperationCallInput, type SessionChannel, type Transport } from './types'

/*
 * HttpTransport, the Transport of the dashboard in a browser: calls over fetch, the live feed over
 * Server-Sent Events with polling as fallback, and the dashboard's sign-in session.
 */

const LIVE_TYPES: LiveMessageType[] = [
  'snapshot',
  'request_started',
  'request_phase',
  'request_finished',
  'browsers',
  'janitor_event',
  'error',
  'endpoints',
  'tick',
]

export interface HttpTransportOptions {
  /** Prefix for every path; '' means same origin. */
  baseUrl?: string
  /** Consecutive stream failures before falling back to polling. */
  maxFailures?: number
  pollIntervalMs?: number
  /** How often, while polling, the stream is tried again. */
  retryStreamMs?: number
  fetch?: typeof fetch
  EventSource?: typeof EventSource
}

/** The HTTP door: fetch for calls, Server-Sent Events for the live feed, polling as fallback. */
export class HttpTransport implements Transport {
  private readonly base: string
  private readonly maxFailures: number
  private readonly pollMs: number
  private readonly retryMs: number
  private readonly fetchImpl: typeof fetch
  private readonly ES: typeof EventSource | undefined

  private readonly unauthorizedListeners = new Set<() => void>()

  /** The dashboard's sign-in, outside the contract: it exists only on the HTTP door. */
  readonly session: SessionChannel = {
    status: () => this.authCall('GET', '/auth/session'),
    signIn: (token) => this.authCall('POST', '/auth/session', { token }),
    signOut: () => this.authCall('POST', '/auth/logout', {}),
    onUnauthorized: (listener) => {
      this.unauthorizedListeners.add(listener)
      return () => this.unauthorizedListeners.delete(listener)
    },
  }

  private async authCall(method: 'GET' | 'POST', path: string, body?: unknown): Promise<AuthSession> {
    const init: RequestInit = { method, headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) } }
    if (body !== undefined) init.body = JSON.stringify(body)
    let res: Response
    try {
      res = await this.fetchImpl(this.base + path, init)
    } catch (err) {
      throw new TransportError(`network error: ${err instanceof Error ? err.message : String(err)}`, 0, 'network', null)
    }
    const parsed = (await res.json().catch(() => null)) as (AuthSession & { error?: string; code?: string }) | null
    if (!res.ok) throw new TransportError(parsed?.error ?? `HTTP ${res.status}`, res.status, parsed?.code ?? null, parsed)
    return parsed as AuthSession
  }

  constructor(opts: HttpTransportOptions = {}) {
    this.base = opts.baseUrl ?? ''
    this.maxFailures = opts.maxFailures ?? 3
    this.pollMs = opts.pollIntervalMs ?? 5000
    this.retryMs = opts.retryStreamMs ?? 30_000
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis)
    this.ES = opts.EventSource ?? (typeof EventSource === 'undefined' ? undefined : EventSource)
  }

  async call<K extends OperationName>(name: K, input: OperationCallInput<K>): Promise<OperationOutput<K>> {
    const op = contract[name]
    if (op.response === 'ndjson' || op.response === 'live') {
      throw new TransportError(`${name} is a stream; use subscribe()`, 0, 'not_callable', null)
    }
    // A `:name` segment of the path takes the input's field of that name.
    const fields: Record<string, unknown> = { ...((input ?? {}) as Record<string, unknown>) }
    const path = op.path.replace(/:([A-Za-z_]+)/g, (_, key: string) => {
      const value = encodeURIComponent(String(fields[key] ?? ''))
      delete fields[key]
      return value
    })
    let url = this.base + path
    const init: RequestInit = { method: op.method, headers: { accept: 'application/json' } }
    if (op.method === 'GET' || op.method === 'DELETE') {
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(fields)) {
        if (v !== undefined && v !== null) params.set(k, String(v))
      }
      const qs = params.toString()
      if (qs) url += `?${qs}`
    } else {
      init.headers = { accept: 'application/json', 'content-type': 'application/json' }
      init.body = JSON.stringify(fields)
    }
    let res: Response
    try {
      res = await this.fetchImpl(url, init)
    } catch (err) {
      throw new TransportError(`network error: ${err instanceof Error ? err.message : String(err)}`, 0, 'network', null)
    }
    let text: string
    try {
      text = await res.text()
    } catch (err) {
      // The status was sent but the body was cut (a batch answer written a result at a time).
      throw new TransportError(`network error: the answer was cut short (${err instanceof Error ? err.message : String(err)})`, res.status, 'network', null)
    }
    if (op.response === 'text') {
      if (!res.ok) throw new TransportError(`HTTP ${res.status}`, res.status, null, text)
      return { contentType: res.headers.get('content-type') ?? 'text/plain', body: text } as OperationOutput<K>
    }
    let body: unknown
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      body = text
    }
    // /health answers 503 with a full body when the service is down: that is an answer, not a failure.
    if (res.status === 401) for (const l of [...this.unauthorizedListeners]) l()
    if (!res.ok && !(name === 'health' && res.status === 503 && body && typeof body === 'object')) {
      const rec = (body && typeof body === 'object' ? body : {}) as { error?: unknown; code?: unknown }
      const message = typeof rec.error === 'string' ? rec.error : `HTTP ${res.status}`
      throw new TransportError(message, res.status, typeof rec.code === 'string' ? rec.code : null, body)
    }
    return body as OperationOutput<K>
  }

  async stream<K extends OperationName>(name: K, input: OperationCallInput<K>, onLine: (line: unknown) => void, signal?: AbortSignal): Promise<void> {
    const op = contract[name]
    if (op.response !== 'ndjson' || op.method !== 'POST') throw new TransportError(`${name} is not a stream; use call()`, 0, 'not_streamable', null)
    let res: Response
    try {
      res = await this.fetchImpl(this.base + op.path, {
        method: 'POST',
        headers: { accept: 'application/x-ndjson', 'content-type': 'application/json' },
        body: JSON.stringify(input ?? {}),
        signal,
      })
    } catch (err) {
      throw new TransportError(`network error: ${err instanceof Error ? err.message : String(err)}`, 0, 'network', null)
    }
    if (res.status === 401) for (const l of [...this.unauthorizedListeners]) l()
    if (!res.ok || !res.body) {
      const body = (await res.json().catch(() => null)) as { error?: unknown; code?: unknown } | null
      const message = typeof body?.error === 'string' ? body.error : `HTTP ${res.status}`
      throw new TransportError(message, res.status, typeof body?.code === 'string' ? body.code : null, body)
    }
    // Lines are handed over as they arrive: a result per URL as each finishes.
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ''
    const emit = (text: string) => {
      if (text.trim() !== '') onLine(JSON.parse(text))
    }
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffered += value
        let nl = buffered.indexOf('\n')
        while (nl >= 0) {
          emit(buffered.slice(0, nl))
          buffered = buffered.slice(nl + 1)
          nl = buffered.indexOf('\n')
        }
      }
      emit(buffered)
    } catch (err) {
      if (err instanceof SyntaxError) throw new TransportError(`a stream line is not JSON: ${err.message}`, res.status, 'bad_stream', null)
      throw new TransportError(`network error: the stream was cut short (${err instanceof Error ? err.message : String(err)})`, res.status, 'network', null)
    }
  }

  subscribe(onMessage: (m: LiveMessage) => void, onState: (s: LiveState) => void): () => void {
    let closed = false
    let es: EventSource | null = null
    let failures = 0
    let pollTimer: ReturnType<typeof setTimeout> | null = null
    let retryTimer: ReturnType<typeof setTimeout> | null = null
    let state: LiveState | null = null
    const setState = (s: LiveState) => {
      if (s !== state) {
        state = s
        onState(s)
      }
    }

    const stopPolling = () => {
      if (pollTimer) clearTimeout(pollTimer)
      if (retryTimer) clearTimeout(retryTimer)
      pollTimer = retryTimer = null
    }

    const poll = async () => {
      pollTimer = null
      if (closed) return
      try {
        const snapshot = await fetchSnapshot((n, i) => this.call(n, i))
        if (!closed && state === 'polling') onMessage({ type: 'snapshot', data: snapshot })
      } catch {
        // the next poll tries again; the state already says we are not live
      }
      if (!closed && state === 'polling') pollTimer = setTimeout(() => void poll(), this.pollMs)
    }

    const startPolling = () => {
      closeStream()
      setState('polling')
      void poll()
      retryTimer = setTimeout(() => {
        retryTimer = null
        if (!closed) openStream(true)
      }, this.retryMs)
    }

    const closeStream = () => {
      if (es) {
        es.close()
        es = null
      }
    }

    const openStream = (probing: boolean) => {
      if (closed) return
      if (!this.ES) {
        startPolling()
        return
      }
      const source = new this.ES(`${this.base}${contract.monitorStream.path}`)
      es = source
      for (const type of LIVE_TYPES) {
        source.addEventListener(type, (ev) => {
          if (closed || es !== source) return
          let data: unknown
          try {
            data = JSON.parse((ev as MessageEvent<string>).data)
          } catch {
            return
          }
          if (type === 'snapshot') {
            failures = 0
            if (state === 'polling') stopPolling()
            setState('live')
          }
          onMessage({ type, data } as LiveMessage)
        })
      }
      const fail = (ev: unknown) => {
        // A monitor error pushed by the server is an SSE event named "error" too: EventSource
        // hands it to the same listeners as a connection failure. It carries data; a failure does not.
        if (typeof (ev as { data?: unknown } | null)?.data === 'string') return
        if (closed || es !== source) return
        failures++
        if (probing || failures >= this.maxFailures) {
          failures = 0
          closeStream()
          if (state !== 'polling') startPolling()
          else
            retryTimer = setTimeout(() => {
              retryTimer = null
              if (!closed) openStream(true)
            }, this.retryMs)
          return
        }
        if (state !== 'polling') setState('reconnecting')
        // The browser retries on its own unless the stream was closed for good.
        if (source.readyState === 2) {
          closeStream()
          setTimeout(() => openStream(false), 1000)
        }
      }
      source.addEventListener('error', fail)
      // The server says why it ended the stream (slow client, shutdown): reconnect for a fresh snapshot.
      source.addEventListener('end', () => {
        if (closed || es !== source) return
        closeStream()
        if (state !== 'polling') setState('reconnecting')
        setTimeout(() => openStream(false), 1000)
      })
    }

    openStream(false)
    return () => {
      closed = true
      stopPolling()
      closeStream()
    }
  }
}
