/**
 * The monitor's two speed targets, on the service bench/run.ts already warmed up:
 *
 * 1. Monitor on vs off. ONE service, toggled between rounds through the Runtime's public handles:
 *    off = `live.stop(); monitor.stop(); await persister.stop()` (event listeners, the 1 s sampling
 *    with its /proc scans, the 5 s timeline, the SSE tick and the 1 s persistence timer all gone);
 *    on = `monitor.start(); live.start(); await persister.start()`. All three can be started again
 *    after a stop (stop() clears the listener list and timers; the persister's store stays usable
 *    after close()). What stays on both sides: prom-client's metrics (runtime.ts does not expose the
 *    handle returned by createMetrics, so its listeners and default collectors cannot be stopped from
 *    outside src/). Rounds alternate the order (on first, then off first, ...).
 * 2. GET /monitor/* (and /metrics) latency while the pool is saturated: closed-loop POST /html
 *    workers, more than max_pages of them, so every page slot is busy and the queue is non-empty,
 *    while one client walks every route in turn, sequentially. The same walk with the pool idle is
 *    the baseline. Client RTT (node:http, one keep-alive socket), server time (the HTTP server's
 *    'request' event to the response's 'finish'), the event loop's delay over the same window and
 *    the in-process cost of building + serialising each answer say where the time goes.
 */
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { readFile, readdir } from 'node:fs/promises'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { Runtime } from '../src/main/core/runtime.js'
import type { TimelineMetric } from '../src/shared/monitor-types.js'
import { childrenCpuMs, emptyTally, nodeCpuMs, type CpuTally } from './cpu.js'
import { runLoad, throughput, type LoadRun } from './load.js'
import { postHtml, type BenchService } from './service-client.js'
import { quantile, spread } from './stats.js'

/** The monitor's speed targets. */
export const MONITOR_THROUGHPUT_FLOOR = 0.97
export const MONITOR_P99_BUDGET_MS = 10

export interface MonitorBenchOptions {
  svc: BenchService
  pageUrl: string
  pagePath: string
  /** performance.now() by which everything here must be done. */
  deadline: number
  /** POST /html requests per side and round (part 1). */
  requestsPerRound: number
  /** Upper bound on rounds (part 1); the time share decides the actual number (at least 2). */
  maxRounds: number
  /** Requests per route while saturated (part 2); cut to fit the deadline. */
  latencyRequests: number
  log: (msg: string) => void
}

interface SideTally {
  runs: LoadRun[]
  cpu: CpuTally
}

export interface RouteFigures {
  route: string
  bytes: number
  idle: number[]
  client: number[]
  server: number[]
  build: number[]
}

export interface MonitorBenchResult {
  pagePath: string
  requestsPerRound: number
  rounds: number
  on: SideTally
  off: SideTally
  roundRatios: number[]
  roundCpuRatios: number[]
  workers: number
  maxPages: number
  routes: RouteFigures[]
  latencyRequestsPlanned: number
  latencyRequestsDone: number
  saturatedShare: number
  queuedShare: number
  crawlsDuring: number
  loop: { p50: number; p99: number; max: number }
  loopIdle: { p50: number; p99: number; max: number }
  /** Event-loop thread over the idle and the saturated walk: busy share (ELU) and run-queue wait per wall second. */
  threadIdle: ThreadFigures
  threadBusy: ThreadFigures
  /** Node CPU per wall second with the pool idle, monitor on vs off (interleaved). */
  idleCpu: { onMsPerS: number; offMsPerS: number; processes: number }
  notes: string[]
  durationS: number
}

export interface ThreadFigures {
  elu: number
  onCpuMsPerS: number
  runQueueMsPerS: number
}

/** The main (event-loop) thread's time on a CPU and time runnable but waiting for one, ms (Linux schedstat). NaN elsewhere. */
async function schedstat(): Promise<{ cpu: number; wait: number }> {
  const text = await readFile('/proc/self/schedstat', 'utf8').catch(() => null)
  if (text === null) return { cpu: Number.NaN, wait: Number.NaN }
  const [cpu, wait] = text.split(' ')
  return { cpu: Number(cpu) / 1e6, wait: Number(wait) / 1e6 }
}

async function threadWindow(): Promise<() => Promise<ThreadFigures>> {
  const elu0 = performance.eventLoopUtilization()
  // The wall window encloses both reads, so the per-second figures can only be underestimated.
  const t0 = performance.now()
  const s0 = await schedstat()
  return async () => {
    const elu = performance.eventLoopUtilization(elu0).utilization
    const s1 = await schedstat()
    const wall = performance.now() - t0
    return { elu, onCpuMsPerS: ((s1.cpu - s0.cpu) * 1000) / wall, runQueueMsPerS: ((s1.wait - s0.wait) * 1000) / wall }
  }
}

// ---- part 1: on / off --------------------------------------------------------------------------

async function monitorOff(rt: Runtime): Promise<void> {
  rt.live.stop()
  rt.monitor.stop()
  await rt.persister.stop()
}

async function monitorOn(rt: Runtime): Promise<void> {
  rt.monitor.start()
  rt.live.start()
  await rt.persister.start()
}

// Chromium CPU is that of every browser this process launched (the pool may retire and relaunch its
// permanent browser mid-run; the bench's bare browser sits idle here and adds the same to both sides).
async function segment(tally: SideTally, n: number, task: () => Promise<void>): Promise<LoadRun> {
  const b0 = await childrenCpuMs()
  const n0 = nodeCpuMs()
  const run = await runLoad(task, n, 4)
  const n1 = nodeCpuMs()
  const b1 = await childrenCpuMs()
  tally.runs.push(run)
  tally.cpu.nodeMs += n1 - n0
  tally.cpu.browserMs += b1 - b0
  tally.cpu.pages += n
  return run
}

// ---- part 2: latency under saturation -----------------------------------------------------------

const TIMELINE_METRICS: TimelineMetric[] = ['memory', 'cpu', 'requests', 'browsers']
const ROUTES: string[] = [
  '/monitor/health',
  '/monitor/requests?limit=100',
  '/monitor/browsers',
  '/monitor/endpoints/stats',
  ...TIMELINE_METRICS.map((m) => `/monitor/timeline?metric=${m}`),
  '/monitor/logs/janitor',
  '/monitor/logs/errors',
  '/metrics',
]

/** The same answer built in-process: the handler's work plus JSON.stringify, no HTTP, no loop. */
function builders(rt: Runtime): Map<string, () => Promise<unknown>> {
  const m = rt.monitor
  const call = { signal: new AbortController().signal, transport: 'http' as const }
  const map = new Map<string, () => Promise<unknown>>([
    ['/monitor/health', async () => JSON.stringify(m.health())],
    ['/monitor/requests?limit=100', async () => JSON.stringify(m.requests('all', 100))],
    ['/monitor/browsers', async () => JSON.stringify(m.browsers())],
    ['/monitor/endpoints/stats', async () => JSON.stringify(m.endpointStats())],
    ['/monitor/logs/janitor', async () => JSON.stringify(m.janitorEvents(100))],
    ['/monitor/logs/errors', async () => JSON.stringify(m.errors(100))],
    ['/metrics', async () => (await rt.service.metrics({} as never, call)).body],
  ])
  for (const metric of TIMELINE_METRICS) map.set(`/monitor/timeline?metric=${metric}`, async () => JSON.stringify(m.timeline(metric, 300)))
  return map
}

function get(agent: Agent, base: URL, path: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = httpRequest({ host: base.hostname, port: base.port, path, method: 'GET', agent }, (res: IncomingMessage) => {
      let bytes = 0
      res.on('data', (chunk: Buffer) => (bytes += chunk.length))
      res.on('end', () => {
        const ms = performance.now() - t0
        if (res.statusCode !== 200) reject(new Error(`GET ${path} answered ${res.statusCode}`))
        else resolve({ ms, bytes })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const loopFigures = (h: ReturnType<typeof monitorEventLoopDelay>) => ({ p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 })

export async function runMonitorBench(opts: MonitorBenchOptions): Promise<MonitorBenchResult> {
  const { svc, pageUrl, log } = opts
  const rt = svc.runtime
  const began = performance.now()
  const notes: string[] = []
  const task = () => postHtml(svc.url, pageUrl).then(() => undefined)
  const leftS = () => (opts.deadline - performance.now()) / 1000

  // Part 1 gets about 75 % of the share, part 2 (about 10-20 s of walking) the rest.
  const part1End = performance.now() + (opts.deadline - performance.now()) * 0.75
  const on: SideTally = { runs: [], cpu: emptyTally() }
  const off: SideTally = { runs: [], cpu: emptyTally() }
  const roundRatios: number[] = []
  const roundCpuRatios: number[] = []
  const n = opts.requestsPerRound
  // Warm-up of both states (the first start after a stop runs a full /proc scan, as it always does).
  await monitorOff(rt)
  await runLoad(task, 4, 4)
  await monitorOn(rt)
  await runLoad(task, 4, 4)
  // The monitor's cost per second of wall time, pool idle: its samplers run whether or not pages do.
  const idleCpu = { on: 0, off: 0, onMs: 0, offMs: 0 }
  const idleOrder = [true, false, false, true, true, false]
  for (const isOn of idleOrder) {
    if (isOn) await monitorOn(rt)
    else await monitorOff(rt)
    const c0 = nodeCpuMs()
    const t0 = performance.now()
    await new Promise((r) => setTimeout(r, 3_000))
    if (isOn) {
      idleCpu.on += nodeCpuMs() - c0
      idleCpu.onMs += performance.now() - t0
    } else {
      idleCpu.off += nodeCpuMs() - c0
      idleCpu.offMs += performance.now() - t0
    }
  }
  await monitorOn(rt)
  const processes = (await readdir('/proc').catch(() => [] as string[])).filter((d) => /^\d+$/.test(d)).length
  log(
    `monitor idle CPU: on ${((idleCpu.on * 1000) / idleCpu.onMs).toFixed(1)} / off ${((idleCpu.off * 1000) / idleCpu.offMs).toFixed(1)} ms per s (${processes} processes in /proc)`,
  )

  let rounds = 0
  let perRoundMs = 0
  while (rounds < opts.maxRounds) {
    const now = performance.now()
    if (rounds >= 2 && now + perRoundMs > part1End) break
    const r0 = now
    const onFirst = rounds % 2 === 0
    const cpu0 = { on: on.cpu.nodeMs + on.cpu.browserMs, off: off.cpu.nodeMs + off.cpu.browserMs }
    let runOn!: LoadRun
    let runOff!: LoadRun
    const doOn = async () => {
      await monitorOn(rt)
      runOn = await segment(on, n, task)
    }
    const doOff = async () => {
      await monitorOff(rt)
      runOff = await segment(off, n, task)
    }
    if (onFirst) {
      await doOn()
      await doOff()
    } else {
      await doOff()
      await doOn()
    }
    await monitorOn(rt) // the service is left as it was found, monitor on
    roundRatios.push(throughput([runOn]) / throughput([runOff]))
    roundCpuRatios.push((on.cpu.nodeMs + on.cpu.browserMs - cpu0.on) / (off.cpu.nodeMs + off.cpu.browserMs - cpu0.off))
    rounds++
    perRoundMs = performance.now() - r0
    log(
      `monitor on/off round ${rounds} (${onFirst ? 'on first' : 'off first'}): on ${throughput([runOn]).toFixed(2)} / off ${throughput([runOff]).toFixed(2)} pages/s, ratio ${roundRatios.at(-1)!.toFixed(3)}`,
    )
  }
  if (rounds < opts.maxRounds) notes.push(`Monitor on/off: ${rounds} rounds fitted the time share (a round took ${(perRoundMs / 1000).toFixed(0)} s).`)

  // Part 2.
  const maxPages = rt.config.max_pages
  const workers = maxPages + 4
  const base = new URL(svc.url)
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const serverTimes = new Map<string, number[]>(ROUTES.map((r) => [r, []]))
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? ''
    const bucket = serverTimes.get(url)
    if (!bucket) return
    const t0 = performance.now()
    res.on('finish', () => bucket.push(performance.now() - t0))
  }
  const build = builders(rt)
  const routes: RouteFigures[] = ROUTES.map((route) => ({ route, bytes: 0, idle: [], client: [], server: [], build: [] }))
  let done = 0
  let saturatedSamples = 0
  let queuedSamples = 0
  let samples = 0
  let crawlsDuring = 0
  let stopLoad = false
  const loopIdle = monitorEventLoopDelay({ resolution: 5 })
  const loopBusy = monitorEventLoopDelay({ resolution: 5 })
  let threadIdle!: ThreadFigures
  let threadBusy!: ThreadFigures
  svc.http.server.on('request', onRequest)
  try {
    // Baseline: the same walk, pool idle.
    const idleN = 40
    loopIdle.enable()
    const idleWin = await threadWindow()
    for (let i = 0; i < idleN; i++) {
      for (const r of routes) {
        const { ms, bytes } = await get(agent, base, r.route)
        r.idle.push(ms)
        r.bytes = bytes
      }
    }
    loopIdle.disable()
    threadIdle = await idleWin()
    for (const bucket of serverTimes.values()) bucket.length = 0

    // Saturate: closed-loop workers, more than max_pages of them.
    const errors: unknown[] = []
    const worker = async () => {
      while (!stopLoad) {
        try {
          await postHtml(svc.url, pageUrl)
          crawlsDuring++
        } catch (err) {
          if (!stopLoad) errors.push(err)
        }
      }
    }
    const load = Array.from({ length: workers }, () => worker())
    const satDeadline = performance.now() + 60_000
    while (rt.admission.activeCount < maxPages || rt.admission.queuedCount === 0) {
      if (performance.now() > satDeadline) throw new Error(`pool never saturated (active ${rt.admission.activeCount}, queued ${rt.admission.queuedCount})`)
      await new Promise((r) => setTimeout(r, 50))
    }
    crawlsDuring = 0
    // Each walk of the routes costs about this much; stop early rather than blow the deadline.
    loopBusy.enable()
    const busyWin = await threadWindow()
    const walkStart = performance.now()
    for (let i = 0; i < opts.latencyRequests; i++) {
      if (i >= 20 && performance.now() + (performance.now() - walkStart) / i > opts.deadline - 8_000) break
      for (const r of routes) {
        samples++
        if (rt.admission.activeCount >= maxPages) saturatedSamples++
        if (rt.admission.queuedCount > 0) queuedSamples++
        const { ms } = await get(agent, base, r.route)
        r.client.push(ms)
        // In-process build + serialise of the same answer, at the same moment.
        const b = build.get(r.route)
        if (b) {
          const t0 = performance.now()
          await b()
          r.build.push(performance.now() - t0)
        }
      }
      done++
    }
    loopBusy.disable()
    threadBusy = await busyWin()
    stopLoad = true
    await Promise.all(load)
    if (errors.length > 0) notes.push(`Saturation load: ${errors.length} POST /html failed (first: ${String(errors[0]).slice(0, 160)}).`)
  } finally {
    stopLoad = true
    svc.http.server.off('request', onRequest)
    agent.destroy()
  }
  for (const r of routes) r.server = serverTimes.get(r.route) ?? []
  if (done < opts.latencyRequests) notes.push(`Monitor latency: ${done} of ${opts.latencyRequests} requests per route fitted the time share.`)
  log(
    `monitor latency: ${done} walks of ${routes.length} routes with ${workers} crawl workers; ${crawlsDuring} crawls meanwhile; ${leftS().toFixed(0)} s of the share left`,
  )

  return {
    pagePath: opts.pagePath,
    requestsPerRound: n,
    rounds,
    on,
    off,
    roundRatios,
    roundCpuRatios,
    workers,
    maxPages,
    routes,
    latencyRequestsPlanned: opts.latencyRequests,
    latencyRequestsDone: done,
    saturatedShare: samples > 0 ? saturatedSamples / samples : Number.NaN,
    queuedShare: samples > 0 ? queuedSamples / samples : Number.NaN,
    crawlsDuring,
    loop: loopFigures(loopBusy),
    loopIdle: loopFigures(loopIdle),
    threadIdle,
    threadBusy,
    idleCpu: { onMsPerS: (idleCpu.on * 1000) / idleCpu.onMs, offMsPerS: (idleCpu.off * 1000) / idleCpu.offMs, processes },
    notes,
    durationS: (performance.now() - began) / 1000,
  }
}

// ---- report --------------------------------------------------------------------------------

export interface MonitorVerdict {
  throughputRatio: number
  throughputPass: boolean
  cpuRatio: number
  monitorP99: number
  latencyPass: boolean
  metricsP99: number
  metricsPass: boolean
}

const p = (v: readonly number[], q: number) => quantile(v, q)
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '—')
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—')
const verdict = (pass: boolean) => (pass ? '**PASS**' : '**FAIL**')

function perPage(t: CpuTally): { node: number; browser: number; total: number } {
  return { node: t.nodeMs / t.pages, browser: t.browserMs / t.pages, total: (t.nodeMs + t.browserMs) / t.pages }
}

export function monitorVerdict(r: MonitorBenchResult): MonitorVerdict {
  const throughputRatio = throughput(r.on.runs) / throughput(r.off.runs)
  const monitorRoutes = r.routes.filter((x) => x.route.startsWith('/monitor/'))
  const monitorP99 = p(
    monitorRoutes.flatMap((x) => x.client),
    0.99,
  )
  const metricsP99 = p(r.routes.find((x) => x.route === '/metrics')?.client ?? [], 0.99)
  return {
    throughputRatio,
    throughputPass: throughputRatio >= MONITOR_THROUGHPUT_FLOOR,
    cpuRatio: perPage(r.on.cpu).total / perPage(r.off.cpu).total,
    monitorP99,
    latencyPass: monitorP99 <= MONITOR_P99_BUDGET_MS,
    metricsP99,
    metricsPass: metricsP99 <= MONITOR_P99_BUDGET_MS,
  }
}

export function renderMonitorMarkdown(r: MonitorBenchResult): string {
  const v = monitorVerdict(r)
  const out: string[] = []
  out.push('### Monitor', '')
  out.push(
    '**Only side-by-side ratios from this one run mean anything**: the machine is shared and heavily loaded, so absolute ' +
      'pages/s and milliseconds move with whatever else runs; on and off are interleaved round by round for that reason.',
    '',
  )
  out.push(
    `**Monitor on vs off** — one service, toggled between segments (off = \`live.stop(); monitor.stop(); persister.stop()\`, ` +
      'on = the same started again; prom-client metrics stay on both sides, the Runtime does not expose their handle). ' +
      `${r.rounds} rounds × ${r.requestsPerRound} \`POST /html\` of \`${r.pagePath}\` per side at c=4, order alternating (on first, off first, …).`,
    '',
  )
  const on = perPage(r.on.cpu)
  const off = perPage(r.off.cpu)
  const rOn = throughput(r.on.runs)
  const rOff = throughput(r.off.runs)
  const s = spread(r.roundRatios)
  const sc = spread(r.roundCpuRatios)
  out.push('| figure | monitor on | monitor off | on / off | target | result |')
  out.push('|---|---:|---:|---:|---|---|')
  out.push(
    `| c=4 throughput (pooled) | ${f2(rOn)} pages/s | ${f2(rOff)} pages/s | ${f2(v.throughputRatio)}× (rounds min / median / max ${f2(s.min)} / ${f2(s.median)} / ${f2(s.max)}) | ≥ ${MONITOR_THROUGHPUT_FLOOR}× | ${verdict(v.throughputPass)} |`,
  )
  out.push(`| CPU per page, Node process | ${f1(on.node)} ms | ${f1(off.node)} ms | ${f2(on.node / off.node)}× | — | — |`)
  out.push(`| CPU per page, Chromium tree | ${f1(on.browser)} ms | ${f1(off.browser)} ms | ${f2(on.browser / off.browser)}× | — | — |`)
  out.push(
    `| Node CPU per wall second, pool idle (3 × 3 s per side, on/off/off/on/on/off) | ${f1(r.idleCpu.onMsPerS)} ms/s | ${f1(r.idleCpu.offMsPerS)} ms/s | +${f1(r.idleCpu.onMsPerS - r.idleCpu.offMsPerS)} ms/s | — | — |`,
  )
  out.push(
    `| CPU per page, total | ${f1(on.total)} ms | ${f1(off.total)} ms | ${f2(v.cpuRatio)}× (rounds ${f2(sc.min)} / ${f2(sc.median)} / ${f2(sc.max)}) | — | — |`,
  )
  // Everything the monitor does runs in the Node process (its /proc reads bill the kernel time to it),
  // so its cost per page is the Node difference; as a share of all the CPU a page costs, it is what
  // a CPU-bound machine would lose in throughput. Cross-checked with the idle per-second figure.
  const nodeShare = (on.node - off.node) / off.total
  const idleShare = (r.idleCpu.onMsPerS - r.idleCpu.offMsPerS) / (rOff * off.total)
  out.push(
    `| monitor's share of the CPU a page costs: (Node on − Node off) / total off | — | — | ${f1(100 * nodeShare)} % (from the idle per-second figure: ${f1(100 * idleShare)} %) | ≤ 3 % (less noisy cross-check) | ${verdict(nodeShare <= 1 - MONITOR_THROUGHPUT_FLOOR)} |`,
  )
  out.push('')
  const perS = r.idleCpu.onMsPerS - r.idleCpu.offMsPerS
  out.push(
    `The monitor's own work is mostly per second (1 s sampler with its /proc scan, PSS every 5 s, 1 s persistence), not per page: +${f1(perS)} ms of Node CPU per second ` +
      `is ${f1(perS / rOn)} ms per page at the ${f2(rOn)} pages/s this machine gives now, ${f1(perS / 20)} ms per page at 20 pages/s. ` +
      'The Chromium row is untouched by the monitor by construction, so its on/off ratio shows the noise floor of this run.',
    '',
  )

  out.push(
    `**GET /monitor/\\* while the pool is saturated** — ${r.workers} closed-loop \`POST /html\` workers against max_pages ${r.maxPages} ` +
      `(all ${r.maxPages} page slots busy in ${f1(100 * r.saturatedShare)} % of samples, queue non-empty in ${f1(100 * r.queuedShare)} %; ` +
      `${r.crawlsDuring} crawls completed meanwhile); one client (node:http, one keep-alive socket, in this same process) walks the routes ` +
      `in turn, ${r.latencyRequestsDone} requests per route. Client = round trip seen by the client; server = Node's 'request' event ` +
      `to the response's 'finish'; build = the same answer built and serialised in-process (no HTTP); idle = client round trip, pool idle.`,
    '',
  )
  out.push('| route | bytes | idle p50 / p99 | client p50 | client p95 | client p99 | server p50 / p99 | build p50 / p99 | target p99 | result |')
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---|---|')
  for (const x of r.routes) {
    const p99 = p(x.client, 0.99)
    out.push(
      `| \`${x.route}\` | ${x.bytes} | ${f1(p(x.idle, 0.5))} / ${f1(p(x.idle, 0.99))} ms | ${f1(p(x.client, 0.5))} ms | ${f1(p(x.client, 0.95))} ms | ${f1(p99)} ms | ` +
        `${f1(p(x.server, 0.5))} / ${f1(p(x.server, 0.99))} ms | ${f2(p(x.build, 0.5))} / ${f2(p(x.build, 0.99))} ms | ≤ ${MONITOR_P99_BUDGET_MS} ms | ${verdict(p99 <= MONITOR_P99_BUDGET_MS)} |`,
    )
  }
  const all = r.routes.filter((x) => x.route.startsWith('/monitor/'))
  const c = all.flatMap((x) => x.client)
  const sv = all.flatMap((x) => x.server)
  const idle = all.flatMap((x) => x.idle)
  out.push(
    `| **all /monitor/\\*** | — | ${f1(p(idle, 0.5))} / ${f1(p(idle, 0.99))} ms | ${f1(p(c, 0.5))} ms | ${f1(p(c, 0.95))} ms | **${f1(v.monitorP99)} ms** | ${f1(p(sv, 0.5))} / ${f1(p(sv, 0.99))} ms | — | ≤ ${MONITOR_P99_BUDGET_MS} ms | ${verdict(v.latencyPass)} |`,
  )
  out.push('')
  out.push(
    `Event-loop delay of this process (perf_hooks, 5 ms resolution) over the same windows: idle p50 / p99 / max ${f1(r.loopIdle.p50)} / ${f1(r.loopIdle.p99)} / ${f1(r.loopIdle.max)} ms; ` +
      `saturated ${f1(r.loop.p50)} / ${f1(r.loop.p99)} / ${f1(r.loop.max)} ms (the timer's own resolution is included in these). ` +
      `The event-loop thread, per second of wall time (Linux schedstat): on a CPU ${f1(r.threadIdle.onCpuMsPerS)} ms idle / ${f1(r.threadBusy.onCpuMsPerS)} ms saturated; ` +
      `runnable but waiting for a core ${f1(r.threadIdle.runQueueMsPerS)} ms idle / ${f1(r.threadBusy.runQueueMsPerS)} ms saturated ` +
      '(on a CPU + waiting close to 1000 ms/s means the thread never sleeps: every request queues behind whatever the loop already has). ' +
      `The monitor's 1 s sampler lists /proc (${r.idleCpu.processes} processes on this machine now) and reads only the browsers' own and new processes; PSS every 5 s.`,
    '',
  )
  for (const note of r.notes) out.push(`- ${note}`)
  if (r.notes.length > 0) out.push('')
  const failed = [
    ...(v.throughputPass ? [] : [`monitor on/off throughput ${f2(v.throughputRatio)}× (floor ${MONITOR_THROUGHPUT_FLOOR}×)`]),
    ...(v.latencyPass ? [] : [`GET /monitor/* p99 ${f1(v.monitorP99)} ms (budget ${MONITOR_P99_BUDGET_MS} ms)`]),
    ...(v.metricsPass ? [] : [`GET /metrics p99 ${f1(v.metricsP99)} ms (reported; same budget)`]),
  ]
  out.push(failed.length === 0 ? '**Monitor targets PASS.**' : `**Monitor FAIL:** ${failed.join('; ')}.`)
  out.push(`Monitor section wall time: ${r.durationS.toFixed(0)} s.`)
  return out.join('\n')
}
