import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { ServerResponse } from 'node:http'
import Koa from 'koa'
import { dashboard } from '../../src/main/http/dashboard.js'
import type {
  BrowserView,
  CompletedRequest,
  EndpointStatsResponse,
  ErrorEntry,
  JanitorEvent,
  LiveMessage,
  MonitorSnapshotView,
  TimelineTick,
} from '../../src/shared/monitor-types.js'
import { browser, completed, errorEntry, health, janitorEvent } from './fixtures.js'

/**
 * A stand-in for the service's monitor, for measuring the dashboard under a load the real pool
 * cannot produce here (50 browsers): the built renderer is served by the real dashboard
 * middleware (same CSP and headers), the /monitor GET routes answer from a synthetic state, and
 * /monitor/stream is a real Server-Sent-Events stream whose messages the caller releases with
 * step(). The state is as full as the issue asks: 100 completed requests, 50 browsers, 200
 * janitor events, 100 errors and 60 timeline points; every list is bounded here too.
 */

const POINTS = 60
const TIMELINE_STEP_MS = 5000

export interface FeedOptions {
  /** Directory of the built renderer (defaults to out/renderer, found like the service does). */
  root?: string
  browsers?: number
  completed?: number
  /** Every how many steps a janitor event is pushed too (0: never). */
  janitorEvery?: number
  /**
   * Every how many steps an error is pushed too (0, the default: never). An SSE event named
   * `error` also fires the EventSource's own 'error' listener, which HttpTransport counts as a
   * connection failure: after three of them it falls back to polling (reported, not ours to fix).
   */
  errorsEvery?: number
  /** Every how many steps a tick carries a new timeline point: 5, as the service (5 s resolution, 1 Hz ticks). */
  pointEvery?: number
}

export interface FeedServer {
  url: string
  /** Messages sent so far, by type. */
  sent: Record<string, number>
  /** Open SSE clients. */
  readonly clients: number
  /**
   * Pushes one second's worth of messages, as the service does at 1 Hz: a tick (health, and a new
   * timeline point every `pointEvery` steps), the browsers table (every age and memory changed), a finished request and
   * the endpoint table; a janitor event and an error every `janitorEvery` / `errorsEvery` steps. Returns the messages.
   */
  step(): LiveMessage[]
  /** Pushes one message to every open stream. */
  push(m: LiveMessage): void
  snapshot(): MonitorSnapshotView
  /** Ends every stream as the service does (an `end` event): clients reconnect and get a new snapshot. */
  endStreams(): void
  close(): Promise<void>
}

export async function startFeedServer(opts: FeedOptions = {}): Promise<FeedServer> {
  const nBrowsers = opts.browsers ?? 50
  const nCompleted = opts.completed ?? 100
  const janitorEvery = opts.janitorEvery ?? 0
  const errorsEvery = opts.errorsEvery ?? 0
  const pointEvery = opts.pointEvery ?? 5
  let seq = 0
  let now = Date.now()

  const browsers: BrowserView[] = Array.from({ length: nBrowsers }, (_, i) =>
    browser(`b${String(i).padStart(3, '0')}`, {
      type: i === 0 ? 'permanent' : i < 10 ? 'hot' : 'cold',
      killable: i !== 0,
      not_killable_reason: i === 0 ? 'the permanent browser cannot be killed; restart it instead' : null,
      age_seconds: 600 + i,
      memory_mb: 80 + i,
    }),
  )
  let completedList: CompletedRequest[] = Array.from({ length: nCompleted }, (_, i) =>
    completed(`seed${i}`, { success: i % 7 !== 0, url: `http://perf.test/page/${i}`, end_time_ms: now - i * 1000, start_time_ms: now - i * 1000 - 800 }),
  )
  let janitor: JanitorEvent[] = Array.from({ length: 200 }, (_, i) => janitorEvent(i))
  let errors: ErrorEntry[] = Array.from({ length: 100 }, (_, i) => errorEntry(i))
  let timeline: TimelineTick[] = Array.from({ length: POINTS }, (_, i) => point(now - (POINTS - i) * TIMELINE_STEP_MS, i))
  let endpoints: EndpointStatsResponse = endpointTable(0)

  function point(timestamp: number, i: number): TimelineTick {
    return { timestamp, memory: 40 + (i % 10), cpu: 20 + ((i * 7) % 30), requests: i % 5, browsers: { permanent: 1, hot: 9, cold: nBrowsers - 10 } }
  }
  function endpointTable(n: number): EndpointStatsResponse {
    const row = (count: number) => ({
      count,
      avg_latency_ms: 800,
      p50_latency_ms: 700,
      p95_latency_ms: 1500,
      success_rate_percent: 90,
      pool_hit_rate_percent: 95,
      cache_hit_rate_percent: 10,
      errors: Math.floor(count / 10),
    })
    return { '/crawl': row(100 + n), '/md': row(40), '/html': row(30), '/screenshot': row(12), '/pdf': row(3) }
  }
  const currentHealth = () => health({ cpu_percent: 20 + (seq % 50), uptime_seconds: 3600 + seq })
  const browsersView = () => ({
    browsers,
    summary: { total_count: browsers.length, total_memory_mb: browsers.reduce((s, b) => s + b.memory_mb, 0), reuse_rate_percent: 88 },
  })
  const series = (f: (p: TimelineTick) => unknown) => ({
    window: '300s',
    resolution_seconds: 5,
    timestamps: timeline.map((p) => p.timestamp / 1000),
    timestamps_ms: timeline.map((p) => p.timestamp),
    values: timeline.map(f),
  })
  function snapshot(): MonitorSnapshotView {
    return {
      health: currentHealth(),
      requests: { active: [], completed: completedList },
      browsers: browsersView(),
      endpoints,
      timeline: {
        memory: { metric: 'memory', ...series((p) => p.memory) } as MonitorSnapshotView['timeline']['memory'],
        cpu: { metric: 'cpu', ...series((p) => p.cpu) } as MonitorSnapshotView['timeline']['cpu'],
        requests: { metric: 'requests', ...series((p) => p.requests) } as MonitorSnapshotView['timeline']['requests'],
        browsers: { metric: 'browsers', ...series((p) => p.browsers) } as MonitorSnapshotView['timeline']['browsers'],
        limit: { metric: 'limit', ...series((p) => p.limit ?? 0) } as MonitorSnapshotView['timeline']['limit'],
      },
      janitor,
      errors: { errors, groups: [{ signature: 'boom N', example: 'boom 1', endpoints: ['/crawl'], count: errors.length, first_seen: now, last_seen: now }] },
    }
  }

  const streams = new Set<ServerResponse>()
  const sent: Record<string, number> = {}
  function write(res: ServerResponse, m: LiveMessage): void {
    res.write(`event: ${m.type}\ndata: ${JSON.stringify(m.data)}\n\n`)
  }
  function push(m: LiveMessage): void {
    sent[m.type] = (sent[m.type] ?? 0) + 1
    for (const res of streams) write(res, m)
  }

  function step(): LiveMessage[] {
    seq++
    now += 1000
    const p = seq % pointEvery === 0 ? point(now, seq) : null
    if (p) timeline = [...timeline.slice(-(POINTS - 1)), p]
    // Ages, idle times and memory move every second, as in the real pool: every row is new.
    for (let i = 0; i < browsers.length; i++) {
      const b = browsers[i]!
      browsers[i] = { ...b, age_seconds: b.age_seconds + 1, last_used_seconds: (b.last_used_seconds + 1) % 30, memory_mb: 80 + i + (seq % 5) }
    }
    const done = completed(`live${seq}`, { url: `http://perf.test/live/${seq}`, success: seq % 9 !== 0, start_time_ms: now - 900, end_time_ms: now })
    completedList = [done, ...completedList].slice(0, nCompleted)
    endpoints = endpointTable(seq)
    const msgs: LiveMessage[] = [
      { type: 'tick', data: { health: currentHealth(), timeline: p } },
      { type: 'browsers', data: browsersView() },
      { type: 'request_finished', data: done },
      { type: 'endpoints', data: endpoints },
    ]
    if (janitorEvery > 0 && seq % janitorEvery === 0) {
      const j = janitorEvent(seq, now)
      janitor = [j, ...janitor].slice(0, 200)
      msgs.push({ type: 'janitor_event', data: j })
    }
    if (errorsEvery > 0 && seq % errorsEvery === 0) {
      const e = errorEntry(seq, { timestamp_ms: now })
      errors = [e, ...errors].slice(0, 100)
      msgs.push({ type: 'error', data: e })
    }
    for (const m of msgs) push(m)
    return msgs
  }

  const app = new Koa()
  app.use(dashboard(opts.root ? { root: opts.root } : {}))
  app.use(async (ctx, next) => {
    const json = (body: unknown) => {
      ctx.body = body
    }
    const s = snapshot()
    switch (ctx.path) {
      case '/monitor/stream': {
        ctx.respond = false
        const res = ctx.res
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        res.write('retry: 1000\n\n')
        write(res, { type: 'snapshot', data: s })
        streams.add(res)
        res.on('close', () => streams.delete(res))
        return
      }
      case '/auth/session':
        // A local service with no token configured: the dashboard needs no sign-in.
        return json({ auth_required: false, signed_in: true, scope: 'admin' })
      case '/monitor/health':
        return json(s.health)
      case '/monitor/requests':
        return json(s.requests)
      case '/monitor/browsers':
        return json(s.browsers)
      case '/monitor/endpoints/stats':
        return json(s.endpoints)
      case '/monitor/logs/janitor':
        return json({ events: s.janitor })
      case '/monitor/logs/errors':
        return json(s.errors)
      case '/monitor/sessions':
        // The dashboard reads the named sessions on each snapshot; this feed has none.
        return json({ sessions: [] })
      case '/monitor/alerts':
        // The activity tabs read the alerts for their badge; this feed has none firing.
        return json({ active: [], history: [], rules: [], targets: [] })
      case '/monitor/timeline': {
        const metric = String(ctx.query.metric ?? 'memory') as keyof MonitorSnapshotView['timeline']
        return json(s.timeline[metric] ?? s.timeline.memory)
      }
      default:
        return next()
    }
  })
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    get clients() {
      return streams.size
    },
    step,
    push,
    snapshot,
    endStreams() {
      for (const res of streams) res.end(`event: end\ndata: {"reason":"closed"}\n\n`)
      streams.clear()
    },
    async close() {
      for (const res of streams) res.end()
      streams.clear()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
