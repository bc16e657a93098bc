/**
 * `npm run bench -- growth`: the growth targets (memory and latency that must not grow with the requests served) against the real service in its own process.
 *
 * 1. Server memory (heap used after a forced full GC, and RSS) after 10,000 and after 100,000
 *    requests of the mix in bench/growth-mix.ts: within 10 % of each other.
 * 2. GET /monitor/requests, /monitor/logs/errors and /monitor/endpoints/stats latency with empty
 *    buffers vs with full ones: unchanged.
 * 3. 20 SSE clients cost under 5 % of one core: the server process's CPU over the same steady
 *    workload with 0 and with 20 clients, interleaved windows.
 * With --write, puts its section into docs/benchmarks.md between growth-bench markers.
 *
 *   GROWTH_REQUESTS (100000, bulk + crawls)   GROWTH_MARK (10000: the reading compared with the
 *   last one; a reading is also taken every GROWTH_MARK requests)   GROWTH_CONCURRENCY (8 bulk
 *   workers)   GROWTH_CRAWLERS (4 real-crawl workers beside them)
 *   GROWTH_SAMPLES (2000 GETs per route and state: a p99 of 300 was its 3rd-worst answer, one GC pause or scheduler hiccup)   GROWTH_CLIENTS (20)
 *   GROWTH_WINDOWS (6 per side)   GROWTH_WINDOW_S (10)   GROWTH_CRAWL_RATE (3 crawls/s)
 *   GROWTH_MIX_RATE (40 requests/s)
 */
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { EndpointStatsResponse, ErrorsResponse, RequestsResponse } from '../src/shared/monitor-types.js'
import { startFixtureServer } from '../tests/helpers/fixture-server.js'
import type { BenchRun } from './benches.js'
import { writeBenchSection } from './docs-file.js'
import { GrowthClient, SseClient } from './growth-http.js'
import { settledRss, startGrowthServer, type GrowthServer } from './growth-ipc.js'
import { bulkRequest, countBulk, crawlKindOf, crawlRequest, type GrowthRequest } from './growth-mix.js'
import { renderGrowthMarkdown, type FanoutRun, type FanoutWindow, type GrowthResult, type LatencySet, type MemoryReading } from './growth-report.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DOC = path.join(ROOT, 'docs/benchmarks.md')
const num = (name: string, fallback: number, min = 1) => {
  const v = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}, got ${process.env[name]}`)
  return v
}
const REQUESTS = num('GROWTH_REQUESTS', 100_000)
const MARK = Math.min(num('GROWTH_MARK', 10_000), REQUESTS)
const CONCURRENCY = num('GROWTH_CONCURRENCY', 8)
const CRAWLERS = num('GROWTH_CRAWLERS', 4)
const SAMPLES = num('GROWTH_SAMPLES', 2000)
const CLIENTS = num('GROWTH_CLIENTS', 20)
const WINDOWS = num('GROWTH_WINDOWS', 6, 0) // 0 skips part 3
const WINDOW_S = num('GROWTH_WINDOW_S', 10)
const CRAWL_RATE = num('GROWTH_CRAWL_RATE', 3, 0.1)
const MIX_RATE = num('GROWTH_MIX_RATE', 40)
// --chromium-nice 0: on this shared machine a browser at the default niceness (10) gets so little
// CPU that the crawl lane all but stops (15 s a crawl at load 60); the lane is there to interleave
// real crawls, not to measure them.
const SERVER_FLAGS = ['--memory-threshold', '0', '--allow-js-code', '--chromium-nice', '0', '--log-level', 'warn']
const PERSISTENT_SSE = 2
const MONITOR_GET_EVERY = 250
const SSE_CHURN_EVERY = 2_000
const LATENCY_ROUTES = ['/monitor/requests?limit=100', '/monitor/logs/errors?limit=100', '/monitor/endpoints/stats']
const BACKGROUND_ROUTES = [
  '/monitor/requests?limit=100',
  '/monitor/logs/errors',
  '/monitor/endpoints/stats',
  '/monitor/health',
  '/monitor/browsers',
  '/monitor/timeline?metric=cpu',
  '/metrics',
]
const MB = 1024 * 1024

const log = (m: string) => process.stderr.write(`[growth ${new Date().toISOString().slice(11, 19)}] ${m}\n`)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Unexpected answers, counted by kind and status, with the first body of each. */
class Failures {
  private readonly seen = new Map<string, { n: number; example: string }>()
  add(key: string, body: string): void {
    const s = this.seen.get(key)
    if (s) s.n++
    else this.seen.set(key, { n: 1, example: body.slice(0, 160) })
  }
  get total(): number {
    return [...this.seen.values()].reduce((a, b) => a + b.n, 0)
  }
  list(): string[] {
    return [...this.seen].map(([k, v]) => `${v.n}× ${k} (first: ${v.example})`)
  }
}

async function reading(server: GrowthServer, client: GrowthClient, requests: number): Promise<MemoryReading> {
  const mem = await server.memoryAfterGc()
  const settled = await settledRss(() => server.rssBytes())
  const reqs = await client.getJson<RequestsResponse>('/monitor/requests?limit=1000')
  const errs = await client.getJson<ErrorsResponse>('/monitor/logs/errors?limit=500')
  return {
    requests,
    heapUsedMb: mem.heapUsed / MB,
    rssAtGcMb: mem.rss / MB,
    rssMb: settled.bytes / MB,
    rssWaitedMs: settled.waitedMs,
    externalMb: mem.external / MB,
    completed: reqs.completed.length,
    errors: errs.errors.length,
    groups: errs.groups.length,
  }
}

async function measureLatency(url: string, label: string): Promise<LatencySet> {
  // A client of its own: one socket, nothing else queued on it.
  const c = new GrowthClient(url, 1)
  try {
    const routes = LATENCY_ROUTES.map((route) => ({ route, samples: [] as number[], bytes: 0 }))
    for (let i = 0; i < 20; i++) for (const r of routes) await c.get(r.route) // socket and JIT warm-up
    for (let i = 0; i < SAMPLES; i++) {
      for (const r of routes) {
        const a = await c.get(r.route)
        if (a.status !== 200) throw new Error(`GET ${r.route} answered ${a.status}`)
        r.samples.push(a.ms)
        r.bytes = a.bytes
      }
    }
    return { label, routes }
  } finally {
    c.close()
  }
}

export async function runGrowthBench({ write }: BenchRun): Promise<void> {
  const began = new Date()
  const loadStart = os.loadavg()[0] ?? Number.NaN
  const fixture = await startFixtureServer()
  const server = await startGrowthServer(SERVER_FLAGS)
  log(`service pid ${server.pid} at ${server.url}; ${REQUESTS} requests, readings every ${MARK}`)
  const client = new GrowthClient(server.url, CONCURRENCY + CRAWLERS + 2)
  const sse: SseClient[] = []
  try {
    // ---- empty buffers -----------------------------------------------------------------------
    const before = await client.getJson<RequestsResponse>('/monitor/requests?limit=1000')
    if (before.completed.length !== 0) throw new Error(`buffers not empty at start: ${before.completed.length} completed requests`)
    const empty = await measureLatency(server.url, 'empty')
    const idle = await reading(server, client, 0)
    log(`idle: heap ${idle.heapUsedMb.toFixed(1)} MB, RSS ${idle.rssMb.toFixed(1)} MB`)

    // ---- growth ------------------------------------------------------------------------------
    for (let i = 0; i < PERSISTENT_SSE; i++) sse.push(new SseClient(server.url))
    await Promise.all(sse.map((s) => s.ready))
    const failures = new Failures()
    const readings: MemoryReading[] = []
    let atMark: LatencySet | null = null
    let monitorGets = 0
    let sseChurn = 0
    let expectedErrors = 0
    let nextBulk = 0
    let nextCrawl = 0
    const sent = () => nextBulk + nextCrawl
    const t0 = performance.now()
    const send = async (req: GrowthRequest) => {
      const a = await client.post(req.path, req.body)
      if (a.status !== req.expect) failures.add(`${req.kind} ${req.path} → ${a.status}`, a.body)
      if (req.recorded && a.status !== 200) expectedErrors++
    }
    // Both lanes stop at `end` requests in all; the readings are taken with nothing in flight.
    const runUntil = async (end: number) => {
      const bulkWorker = async () => {
        while (sent() < end) {
          const i = nextBulk++
          await send(bulkRequest(i, fixture.origin))
          if (i % MONITOR_GET_EVERY === MONITOR_GET_EVERY / 2) {
            const route = BACKGROUND_ROUTES[Math.floor(i / MONITOR_GET_EVERY) % BACKGROUND_ROUTES.length] as string
            const g = await client.get(route)
            if (g.status !== 200) failures.add(`GET ${route} → ${g.status}`, g.body)
            monitorGets++
          }
          if (i % SSE_CHURN_EVERY === SSE_CHURN_EVERY / 2) {
            const s = new SseClient(server.url)
            await s.ready
            s.close()
            sseChurn++
          }
        }
      }
      const crawlWorker = async () => {
        while (sent() < end) await send(crawlRequest(nextCrawl++, fixture.origin))
      }
      await Promise.all([...Array.from({ length: CONCURRENCY }, () => bulkWorker()), ...Array.from({ length: CRAWLERS }, () => crawlWorker())])
    }
    for (let mark = Math.min(MARK, REQUESTS); ; mark = Math.min(mark + MARK, REQUESTS)) {
      await runUntil(mark)
      const m = await reading(server, client, mark)
      readings.push(m)
      const s = (performance.now() - t0) / 1000
      log(
        `${mark} (${nextCrawl} crawls): heap ${m.heapUsedMb.toFixed(1)} MB, RSS ${m.rssMb.toFixed(1)} MB, held ${m.completed}/${m.errors}/${m.groups}; ${(mark / s).toFixed(0)} req/s; ${failures.total} unexpected; load ${os.loadavg()[0]?.toFixed(1)}`,
      )
      if (mark === MARK) atMark = await measureLatency(server.url, 'mark')
      if (mark >= REQUESTS) break
    }
    const growthWallS = (performance.now() - t0) / 1000
    const persistentSseMessages = sse.reduce((s, c) => s + c.messages, 0)
    const persistentDrops = sse.filter((c) => c.endedBy !== null).map((c) => `persistent SSE client ended: ${c.endedBy}`)
    for (const c of sse.splice(0)) c.close()
    const full = await measureLatency(server.url, 'full')

    const bulk = countBulk(nextBulk)
    let crawlErrors = 0
    for (let k = 0; k < nextCrawl; k++) if (crawlKindOf(k) === 'crawl_error') crawlErrors++
    const kinds = { ...bulk, crawl: nextCrawl - crawlErrors, crawl_error: crawlErrors }
    const stats = await client.getJson<EndpointStatsResponse>('/monitor/endpoints/stats')
    const counts = {
      expected: kinds.crawl + kinds.crawl_error + kinds.refused,
      counted: Object.values(stats).reduce((s, e) => s + e.count, 0),
      expectedErrors,
      countedErrors: Object.values(stats).reduce((s, e) => s + e.errors, 0),
    }
    log(`counts: ${counts.counted}/${counts.expected} requests, ${counts.countedErrors}/${counts.expectedErrors} errors`)
    for (const f of failures.list()) log(`unexpected: ${f}`)

    // ---- fan-out -------------------------------------------------------------------------------
    // Indexes past the growth run's: every URL and user agent stays unique.
    let bulkIndex = nextBulk
    let crawlIndex = nextCrawl
    // Crawls hold at most half the 8 page slots: a refusal takes a slot too (for microseconds) and
    // would otherwise queue behind crawls.
    const crawls: Stream = { rate: CRAWL_RATE, maxInFlight: 4, make: () => crawlRequest(crawlIndex++, fixture.origin) }
    const refusals: Stream = { rate: MIX_RATE, maxInFlight: 24, make: () => bulkRequest(bulkIndex++, fixture.origin) }
    const workloads: Array<{ name: string; streams: Stream[] }> = [
      { name: `real crawls (lane as above) at ${CRAWL_RATE}/s`, streams: [crawls] },
      { name: `real crawls at ${CRAWL_RATE}/s + bulk requests (mix as above) at ${MIX_RATE}/s`, streams: [crawls, refusals] },
    ]
    const fanout: FanoutRun[] = []
    const fanoutClient = new GrowthClient(server.url, 32)
    try {
      if (WINDOWS > 0) for (const w of workloads) fanout.push(await fanoutRun(server, fanoutClient, w))
    } finally {
      fanoutClient.close()
    }

    const result: GrowthResult = {
      startedAt: began.toISOString().replace(/\.\d+Z$/, 'Z'),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      loadStart,
      loadEnd: os.loadavg()[0] ?? Number.NaN,
      serverFlags: SERVER_FLAGS,
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      crawlers: CRAWLERS,
      kinds,
      monitorGets,
      sseChurn,
      persistentSse: PERSISTENT_SSE,
      persistentSseMessages,
      readings,
      idle,
      empty,
      atMark: atMark ?? full,
      full,
      markRequests: MARK,
      counts,
      failures: [...failures.list(), ...persistentDrops],
      fanout,
      fanoutClients: CLIENTS,
      growthWallS,
      requestRate: REQUESTS / growthWallS,
      knobs: {
        GROWTH_REQUESTS: REQUESTS,
        GROWTH_MARK: MARK,
        GROWTH_CONCURRENCY: CONCURRENCY,
        GROWTH_CRAWLERS: CRAWLERS,
        GROWTH_SAMPLES: SAMPLES,
        GROWTH_CLIENTS: CLIENTS,
        GROWTH_WINDOWS: WINDOWS,
        GROWTH_WINDOW_S: WINDOW_S,
        GROWTH_CRAWL_RATE: CRAWL_RATE,
        GROWTH_MIX_RATE: MIX_RATE,
      },
    }
    const md = renderGrowthMarkdown(result)
    process.stdout.write(`${md}\n`)
    if (write) {
      await writeBenchSection(DOC, md, { start: '<!-- growth-bench:start -->', end: '<!-- growth-bench:end -->' })
      log(`wrote ${DOC}`)
    }
  } finally {
    for (const c of sse) c.close()
    client.close()
    await server.stop()
    await fixture.close()
  }
}

/** Requests at a fixed rate, open loop; past `maxInFlight` of its requests out, the stream skips its turn. */
interface Stream {
  rate: number
  maxInFlight: number
  make: () => GrowthRequest
}
/** How long the end of a workload waits for its last requests. */
const DRAIN_MS = 60_000

/**
 * One workload (its streams side by side) for 2 × WINDOWS windows, the clients connected in every
 * other pair of windows: 0, N, N, 0, 0, N, ...
 */
async function fanoutRun(server: GrowthServer, client: GrowthClient, w: { name: string; streams: Stream[] }): Promise<FanoutRun> {
  const failures = new Failures()
  let inFlight = 0
  let completed = 0
  let skipped = 0
  let stop = false
  const pumps = w.streams.map(async (stream) => {
    const period = 1000 / stream.rate
    const start = performance.now()
    let mine = 0
    for (let k = 0; !stop; k++) {
      const wait = start + k * period - performance.now()
      if (wait > 0) await sleep(wait)
      if (mine >= stream.maxInFlight) {
        skipped++
        continue
      }
      const r = stream.make()
      inFlight++
      mine++
      void client
        .post(r.path, r.body)
        .then((a) => {
          if (a.status !== r.expect) failures.add(`${r.kind} ${r.path} → ${a.status}`, a.body)
        })
        .catch((err: unknown) => failures.add(`${r.kind} ${r.path} → transport error`, String(err)))
        .finally(() => {
          inFlight--
          mine--
          completed++
        })
    }
  })
  const clients: SseClient[] = []
  const windows: FanoutWindow[] = []
  let drops = 0
  try {
    await sleep(3_000) // the workload reaches its pace before the first window
    for (let i = 0; i < 2 * WINDOWS; i++) {
      const withClients = Math.floor((i + 1) / 2) % 2 === 1
      if (withClients) {
        // The second window of a pair keeps the clients of the first.
        for (let c = clients.length; c < CLIENTS; c++) clients.push(new SseClient(server.url))
        await Promise.all(clients.map((c) => c.ready))
      } else {
        drops += clients.filter((c) => c.endedBy !== null).length
        for (const c of clients.splice(0)) c.close()
      }
      await sleep(1_000) // connects, snapshots and closes settle outside the window
      const m0 = clients.reduce((s, c) => s + c.messages, 0)
      const r0 = completed
      const cpu0 = server.cpuMs()
      const t0 = performance.now()
      await sleep(WINDOW_S * 1000)
      const cpu1 = server.cpuMs()
      const t1 = performance.now()
      windows.push({
        clients: withClients ? CLIENTS : 0,
        wallMs: t1 - t0,
        cpuMs: cpu1 - cpu0,
        requests: completed - r0,
        messages: clients.reduce((s, c) => s + c.messages, 0) - m0,
      })
      const last = windows.at(-1) as FanoutWindow
      log(
        `fan-out '${w.name.slice(0, 40)}' window ${i + 1}: ${last.clients} clients, server CPU ${((last.cpuMs * 1000) / last.wallMs).toFixed(1)} ms/s, ${last.requests} requests, ${last.messages} SSE events; load ${os.loadavg()[0]?.toFixed(1)}`,
      )
    }
  } finally {
    drops += clients.filter((c) => c.endedBy !== null).length
    for (const c of clients.splice(0)) c.close()
    stop = true
    await Promise.all(pumps)
    const drainUntil = performance.now() + DRAIN_MS
    while (inFlight > 0 && performance.now() < drainUntil) await sleep(50)
    if (inFlight > 0) failures.add(`still in flight ${DRAIN_MS / 1000} s after the last window`, String(inFlight))
  }
  return { workload: w.name, windowS: WINDOW_S, windows, drops, skipped, failures: failures.list() }
}
