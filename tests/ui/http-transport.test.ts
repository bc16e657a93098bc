import { describe, expect, it } from 'vitest'
import type { LiveMessage } from '../../src/shared/monitor-types.js'
import { HttpTransport } from '../../src/renderer/src/transport/http.js'
import { TransportError, type LiveState } from '../../src/renderer/src/transport/types.js'
import { snapshot } from './fixtures.js'

/** A scripted EventSource: tests open, fail and feed it. */
class FakeEventSource {
  static instances: FakeEventSource[] = []
  readyState = 0
  closed = false
  listeners = new Map<string, Array<(ev: unknown) => void>>()
  constructor(public url: string) {
    FakeEventSource.instances.push(this)
  }
  addEventListener(type: string, fn: (ev: unknown) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn])
  }
  emit(type: string, data?: unknown) {
    for (const fn of this.listeners.get(type) ?? []) fn(data === undefined ? {} : { data: JSON.stringify(data) })
  }
  close() {
    this.closed = true
    this.readyState = 2
  }
}

function fakeFetch(log: string[]): typeof fetch {
  const s = snapshot()
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://x')
    log.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`)
    const body = (() => {
      switch (url.pathname) {
        case '/monitor/health':
          return s.health
        case '/monitor/requests':
          return s.requests
        case '/monitor/browsers':
          return s.browsers
        case '/monitor/endpoints/stats':
          return s.endpoints
        case '/monitor/logs/janitor':
          return { events: s.janitor }
        case '/monitor/logs/errors':
          return s.errors
        case '/monitor/timeline':
          return s.timeline[url.searchParams.get('metric') as 'memory']
        case '/monitor/actions/kill_browser':
          return { error: 'the permanent browser cannot be killed', code: 'forbidden' }
        default:
          return { error: 'nope', code: 'not_found' }
      }
    })()
    const status = url.pathname === '/monitor/actions/kill_browser' ? 403 : url.pathname.startsWith('/monitor/') ? 200 : 404
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
  }) as typeof fetch
}

describe('HttpTransport', () => {
  it('calls GET routes with a query string and POST routes with a JSON body, from the contract', async () => {
    const log: string[] = []
    const t = new HttpTransport({ fetch: fakeFetch(log), EventSource: FakeEventSource as never })
    const r = await t.call('monitorTimeline', { metric: 'cpu', window: '5m' })
    expect(r.metric).toBe('cpu')
    await expect(t.call('monitorKillBrowser', { sig: 'abcd' })).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
      message: 'the permanent browser cannot be killed',
    })
    expect(log).toEqual(['GET /monitor/timeline?metric=cpu&window=5m', 'POST /monitor/actions/kill_browser'])
  })

  it('puts path parameters in the path and sends DELETE routes without a body', async () => {
    const log: string[] = []
    const t = new HttpTransport({ fetch: fakeFetch(log), EventSource: FakeEventSource as never })
    await t.call('crawlJobStatus', { task_id: 'crawl_0123abcd' }).catch(() => undefined)
    await t.call('cancelJob', { task_id: 'crawl_0123abcd' }).catch(() => undefined)
    await t.call('crawlJobs', { status: 'queued', limit: 5 }).catch(() => undefined)
    expect(log).toEqual(['GET /crawl/job/crawl_0123abcd', 'DELETE /crawl/job/crawl_0123abcd', 'GET /crawl/jobs?status=queued&limit=5'])
  })

  it('a crawl answer cut off after its status reads as a network TransportError, not a stray exception', async () => {
    // What the server does when a batch fails half-way through its answer: status 200, then the
    // connection is cut mid-body.
    const cutShort = (async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"results":[{"url":"http://a/"'))
            controller.error(new TypeError('terminated'))
          },
        }),
        { status: 200, headers: { 'content-type': 'application/json' } },
      )) as unknown as typeof fetch
    const t = new HttpTransport({ fetch: cutShort, EventSource: FakeEventSource as never })
    const failure = await t.call('crawl', { urls: ['http://a/'] } as never).then(
      () => null,
      (err: unknown) => err,
    )
    expect(failure).toBeInstanceOf(TransportError)
    expect(failure).toMatchObject({ status: 200, code: 'network', message: expect.stringContaining('cut short') })
  })

  it('passes SSE messages through and falls back to polling after repeated failures', async () => {
    FakeEventSource.instances = []
    const log: string[] = []
    const states: LiveState[] = []
    const messages: LiveMessage[] = []
    const t = new HttpTransport({ fetch: fakeFetch(log), EventSource: FakeEventSource as never, maxFailures: 3, pollIntervalMs: 20, retryStreamMs: 60_000 })
    const stop = t.subscribe(
      (m) => messages.push(m),
      (s) => states.push(s),
    )
    const es = FakeEventSource.instances[0]!
    expect(es.url).toBe('/monitor/stream')
    es.emit('snapshot', snapshot())
    es.emit('tick', { health: snapshot().health, timeline: null })
    expect(states).toEqual(['live'])
    expect(messages.map((m) => m.type)).toEqual(['snapshot', 'tick'])

    // Pushed monitor errors arrive as SSE events named "error" too: messages, not failures.
    for (let i = 0; i < 5; i++)
      es.emit('error', { timestamp: i, endpoint: '/md', url: 'http://x', error: 'boom', stack: null, request_id: `r${i}`, status_code: 502 })
    expect(states).toEqual(['live'])
    expect(messages.filter((m) => m.type === 'error')).toHaveLength(5)

    es.emit('error')
    expect(states.at(-1)).toBe('reconnecting')
    es.emit('error')
    es.emit('error')
    expect(states.at(-1)).toBe('polling')
    expect(es.closed).toBe(true)
    // Polling synthesizes snapshots from the GET routes, again and again.
    await expect.poll(() => messages.filter((m) => m.type === 'snapshot').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
    expect(log).toContain('GET /monitor/health')
    expect(log).toContain('GET /monitor/timeline?metric=browsers&window=5m')
    stop()
    const after = log.length
    await new Promise((r) => setTimeout(r, 100))
    expect(log.length).toBe(after)
  })

  it('goes back to live when the stream returns while polling', async () => {
    FakeEventSource.instances = []
    const states: LiveState[] = []
    const t = new HttpTransport({ fetch: fakeFetch([]), EventSource: FakeEventSource as never, maxFailures: 1, pollIntervalMs: 10_000, retryStreamMs: 10 })
    const stop = t.subscribe(
      () => undefined,
      (s) => states.push(s),
    )
    FakeEventSource.instances[0]!.emit('error')
    expect(states).toEqual(['polling'])
    await expect.poll(() => FakeEventSource.instances.length, { timeout: 10_000 }).toBe(2)
    FakeEventSource.instances[1]!.emit('snapshot', snapshot())
    expect(states).toEqual(['polling', 'live'])
    stop()
  })
})
