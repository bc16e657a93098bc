import { BLOCK, CRAWL_ERROR_EVERY, INVALID_PER_BLOCK, REFUSED_ENDPOINTS } from './growth-mix.js'
import { quantile } from './stats.js'

/** The growth targets. */
export const MEMORY_TOLERANCE = 0.1
export const FANOUT_BUDGET_PERCENT_OF_CORE = 5
/**
 * "Unchanged" latency: p99 with full buffers at most this many times the p99 with empty ones, or
 * at most LATENCY_SLACK_MS above it (a millisecond is below what this shared machine resolves).
 */
export const LATENCY_RATIO_LIMIT = 1.5
export const LATENCY_SLACK_MS = 1

export interface MemoryReading {
  requests: number
  heapUsedMb: number
  /** RSS once it held still after the GC (what the target is held to), and how long that took. */
  rssMb: number
  rssWaitedMs: number
  /** RSS in the GC's own answer: memory V8 and the allocator had not handed back yet is in it. */
  rssAtGcMb: number
  externalMb: number
  /** Fill of the monitor's tables when the reading was taken. */
  completed: number
  errors: number
  groups: number
}

export interface RouteLatency {
  route: string
  samples: number[]
  bytes: number
}

export interface LatencySet {
  label: string
  routes: RouteLatency[]
}

export interface FanoutWindow {
  clients: number
  wallMs: number
  cpuMs: number
  /** Requests the workload completed in the window. */
  requests: number
  /** SSE messages all clients received in the window. */
  messages: number
}

export interface FanoutRun {
  workload: string
  windowS: number
  windows: FanoutWindow[]
  drops: number
  /** Turns a stream skipped because MAX_IN_FLIGHT of its requests were still out. */
  skipped: number
  failures: string[]
}

export interface GrowthResult {
  startedAt: string
  machine: string
  loadStart: number
  loadEnd: number
  serverFlags: string[]
  requests: number
  concurrency: number
  crawlers: number
  kinds: Record<string, number>
  monitorGets: number
  sseChurn: number
  persistentSse: number
  persistentSseMessages: number
  readings: MemoryReading[]
  idle: MemoryReading
  empty: LatencySet
  atMark: LatencySet
  full: LatencySet
  markRequests: number
  counts: { expected: number; counted: number; expectedErrors: number; countedErrors: number }
  failures: string[]
  fanout: FanoutRun[]
  fanoutClients: number
  growthWallS: number
  requestRate: number
  /** The GROWTH_* environment knobs this run used. */
  knobs: Record<string, number>
}

/** What each GROWTH_* knob means (bench/growth.ts reads them). */
export const KNOBS: Record<string, string> = {
  GROWTH_REQUESTS: 'requests of the growth run, bulk + real crawls',
  GROWTH_MARK: 'the reading compared with the last one; a reading is taken every this many requests',
  GROWTH_CONCURRENCY: 'bulk workers (closed loop)',
  GROWTH_CRAWLERS: 'real-crawl workers beside them (closed loop)',
  GROWTH_SAMPLES: 'GETs per route and state in part 2',
  GROWTH_CLIENTS: 'SSE clients in part 3',
  GROWTH_WINDOWS: 'part 3 windows per side and workload (0 skips part 3)',
  GROWTH_WINDOW_S: 'length of one part 3 window, s',
  GROWTH_CRAWL_RATE: 'real crawls per second in the part 3 workloads',
  GROWTH_MIX_RATE: 'bulk requests per second in the second part 3 workload',
}

const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '—')
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—')
const verdict = (pass: boolean) => (pass ? '**PASS**' : '**FAIL**')

/** Relative difference of b against a: 0.05 = 5 % more. */
export function relativeChange(a: number, b: number): number {
  return (b - a) / a
}

export function memoryWithin(a: number, b: number, tolerance = MEMORY_TOLERANCE): boolean {
  return Math.abs(relativeChange(a, b)) <= tolerance
}

/** p99 `after` (more requests served) is no more than 1.5× p99 `before`, or than it + 1 ms. */
export function latencyUnchanged(beforeP99: number, afterP99: number): boolean {
  return afterP99 <= Math.max(beforeP99 * LATENCY_RATIO_LIMIT, beforeP99 + LATENCY_SLACK_MS)
}

/** Server CPU per wall second of the windows with `clients` clients, ms/s. */
export function cpuPerSecond(windows: readonly FanoutWindow[], clients: number): number {
  const side = windows.filter((w) => w.clients === clients)
  const cpu = side.reduce((s, w) => s + w.cpuMs, 0)
  const wall = side.reduce((s, w) => s + w.wallMs, 0)
  return wall > 0 ? (cpu * 1000) / wall : Number.NaN
}

/** What the clients added, in % of one core: (CPU ms per s with them − without) / 1000 ms × 100. */
export function fanoutCostPercent(windows: readonly FanoutWindow[], clients: number): number {
  return (cpuPerSecond(windows, clients) - cpuPerSecond(windows, 0)) / 10
}

/** The same difference per adjacent pair of windows (one with, one without): shows the noise. */
export function pairCostsPercent(windows: readonly FanoutWindow[]): number[] {
  const out: number[] = []
  for (let i = 0; i + 1 < windows.length; i += 2) {
    const a = windows[i] as FanoutWindow
    const b = windows[i + 1] as FanoutWindow
    const [withC, without] = a.clients > 0 ? [a, b] : [b, a]
    out.push(((withC.cpuMs * 1000) / withC.wallMs - (without.cpuMs * 1000) / without.wallMs) / 10)
  }
  return out
}

function rate(windows: readonly FanoutWindow[], clients: number, pick: (w: FanoutWindow) => number): number {
  const side = windows.filter((w) => w.clients === clients)
  const wall = side.reduce((s, w) => s + w.wallMs, 0)
  return wall > 0 ? (side.reduce((s, w) => s + pick(w), 0) * 1000) / wall : Number.NaN
}

const p = (xs: readonly number[], q: number) => quantile(xs, q)

function routeOf(set: LatencySet, route: string): RouteLatency {
  return set.routes.find((r) => r.route === route) ?? { route, samples: [], bytes: 0 }
}

export function renderGrowthMarkdown(r: GrowthResult): string {
  const out: string[] = []
  out.push('## Growth and fan-out', '')
  out.push(
    `Generated by \`npm run bench -- growth\` (bench/growth.ts) on ${r.startedAt}: ${r.machine}; load average ${f1(r.loadStart)} at the start, ${f1(r.loadEnd)} at the end ` +
      '(the machine is shared: only ratios measured side by side in this run mean anything).',
    '',
  )
  out.push(
    `**The service** runs in its own process, started as \`npm run serve\` starts it: bench/growth-server.ts imports src/main/serve.ts under \`node --expose-gc\` ` +
      `with \`${r.serverFlags.join(' ')}\` (\`--chromium-nice 0\` because at the default niceness the browser got so little CPU on this loaded machine that the crawl lane all but stopped; a temp data dir, port 0, every other option at its default: max_pages 8, queue 64, ` +
      'completed-request buffer 100, error log 100, error groups 200). Its only addition is a bench-only IPC hook: a `gc` message from the bench ' +
      "runs two full collections and answers with `process.memoryUsage()`. Memory below is that: heap used after a forced full GC, and RSS — read from /proc every 0.5 s after the GC until two readings differ by under 1 % (at most 10 s; freed pages go back over the following seconds, not at once), with the RSS of the GC's own answer next to it.",
    '',
  )
  const k = r.kinds
  const crawls = (k.crawl ?? 0) + (k.crawl_error ?? 0)
  out.push(
    `**The ${r.requests.toLocaleString('en')} requests** (${f1(r.growthWallS)} s, ${f1(r.requestRate)} requests/s; node:http keep-alive clients) come from two lanes side by side, both stopped at each reading so that nothing is in flight when it is taken:`,
    '',
    `- **bulk**, ${r.concurrency} closed-loop workers, ${((k.invalid ?? 0) + (k.refused ?? 0)).toLocaleString('en')} requests that never reach a browser; in every block of ${BLOCK}:`,
    `  - ${INVALID_PER_BLOCK} refused by validation (400, a URL no other request uses) — ${(k.invalid ?? 0).toLocaleString('en')} in all. The monitor does **not** record these: the HTTP door refuses them before the crawl service, so they appear in no endpoint stat, error log or error group; they exercise the door (guard, body parser, router, error handler) only;`,
    `  - ${BLOCK - INVALID_PER_BLOCK} refused by the memory guard inside the crawl service (503 \`memory_pressure\`; the service runs with \`--memory-threshold 0\`, so no browser but the permanent one ever launches) — ${(k.refused ?? 0).toLocaleString('en')} in all. ` +
      `Each asks for a browser config of its own (a unique user agent: a config signature no other request has) and a unique URL, rotating over ${REFUSED_ENDPOINTS.map((e) => `\`${e}\``).join(', ')}. ` +
      'The monitor records each like any crawl: active set → completed buffer, endpoint stats, error log, error group, and its SSE events;',
    `- **real crawls**, ${r.crawlers} closed-loop workers, ${crawls.toLocaleString('en')} Chromium crawls by the permanent browser (1 in ${f1(r.requests / Math.max(1, crawls))} requests): \`POST /md\` or \`/html\` of the fixture page \`/about?crawl=<k>\`, a query string no other request uses; ` +
      `every ${CRAWL_ERROR_EVERY}th runs a \`js_code\` that throws an error message no other request shares, so it opens an error group of its own — ${(k.crawl ?? 0).toLocaleString('en')} crawls + ${(k.crawl_error ?? 0).toLocaleString('en')} failing ones. ` +
      '(A lane of its own: a crawl holds a Chromium page for hundreds of milliseconds, and a fixed ratio would pace the whole run to the browser.)',
    '',
    `Meanwhile: a \`GET\` of a \`/monitor/*\` route (or \`/metrics\`) every 250 requests (${r.monitorGets} in all), ${r.persistentSse} SSE clients consuming \`/monitor/stream\` the whole time ` +
      `(${r.persistentSseMessages.toLocaleString('en')} events received), and every 2,000 requests one more SSE client that connects, takes its snapshot and leaves (${r.sseChurn}).`,
    '',
  )
  const c = r.counts
  out.push(
    `The monitor's own count after the run: ${c.counted.toLocaleString('en')} requests in the endpoint stats for ${c.expected.toLocaleString('en')} recorded ones sent ` +
      `(${c.counted === c.expected ? 'exact' : '**MISMATCH**'}), ${c.countedErrors.toLocaleString('en')} errors for ${c.expectedErrors.toLocaleString('en')} non-200 answers ` +
      `(${c.countedErrors === c.expectedErrors ? 'exact' : '**MISMATCH**'}).${r.failures.length > 0 ? ` Unexpected answers: ${r.failures.join('; ')}.` : ' Every answer had the status its kind must get.'}`,
    '',
  )

  // 1. memory
  out.push('### 1. Server memory over the requests', '')
  out.push('| after | heap used after full GC | RSS, settled (wait) | RSS right after the GC | external | completed / error log / error groups held |')
  out.push('|---:|---:|---:|---:|---:|---|')
  const rssCells = (m: MemoryReading) => `${f1(m.rssMb)} MB (${(m.rssWaitedMs / 1000).toFixed(1)} s) | ${f1(m.rssAtGcMb)} MB`
  out.push(
    `| idle, before any request | ${f1(r.idle.heapUsedMb)} MB | ${rssCells(r.idle)} | ${f1(r.idle.externalMb)} MB | ${r.idle.completed} / ${r.idle.errors} / ${r.idle.groups} |`,
  )
  for (const m of r.readings) {
    out.push(
      `| ${m.requests.toLocaleString('en')} | ${f1(m.heapUsedMb)} MB | ${rssCells(m)} | ${f1(m.externalMb)} MB | ${m.completed} / ${m.errors} / ${m.groups} |`,
    )
  }
  const a = r.readings.find((m) => m.requests === r.markRequests)
  const b = r.readings.at(-1)
  if (a && b) {
    const heap = relativeChange(a.heapUsedMb, b.heapUsedMb)
    const rss = relativeChange(a.rssMb, b.rssMb)
    out.push('')
    out.push('| figure | after ' + a.requests.toLocaleString('en') + ' | after ' + b.requests.toLocaleString('en') + ' | change | target | result |')
    out.push('|---|---:|---:|---:|---|---|')
    out.push(
      `| heap used after full GC | ${f1(a.heapUsedMb)} MB | ${f1(b.heapUsedMb)} MB | ${f1(100 * heap)} % | within ±${100 * MEMORY_TOLERANCE} % | ${verdict(memoryWithin(a.heapUsedMb, b.heapUsedMb))} |`,
    )
    out.push(
      `| RSS, settled | ${f1(a.rssMb)} MB | ${f1(b.rssMb)} MB | ${f1(100 * rss)} % | within ±${100 * MEMORY_TOLERANCE} % | ${verdict(memoryWithin(a.rssMb, b.rssMb))} |`,
    )
  }
  out.push('')

  // 2. latency
  out.push('### 2. `/monitor/*` latency with empty and with full buffers', '')
  out.push(
    'One client, one keep-alive socket, the routes walked in turn, the service otherwise idle (no load, no SSE client): ' +
      `"empty" before the first request, then after ${r.markRequests.toLocaleString('en')} and after ${r.requests.toLocaleString('en')} requests. ` +
      `Target (the latency must not grow with the requests served): "unchanged" = p99 after ${r.requests.toLocaleString('en')} ≤ ${LATENCY_RATIO_LIMIT}× p99 after ${r.markRequests.toLocaleString('en')}, or ≤ it + ${LATENCY_SLACK_MS} ms — both with full buffers. ` +
      'The empty column is context: an empty buffer answers a few bytes where a full one answers tens of KB, and that difference is the size of the answer, not growth.',
    '',
  )
  out.push(
    `| route | empty: bytes, p50 / p99 | after ${r.markRequests.toLocaleString('en')}: bytes, p50 / p99 | after ${r.requests.toLocaleString('en')}: bytes, p50 / p99 | full / empty p50, p99 | ${r.requests.toLocaleString('en')} / ${r.markRequests.toLocaleString('en')} p99 | result |`,
  )
  out.push('|---|---:|---:|---:|---:|---:|---|')
  for (const e of r.empty.routes) {
    const m = routeOf(r.atMark, e.route)
    const f = routeOf(r.full, e.route)
    const ep99 = p(e.samples, 0.99)
    const fp99 = p(f.samples, 0.99)
    out.push(
      `| \`${e.route}\` | ${e.bytes} B, ${f2(p(e.samples, 0.5))} / ${f2(ep99)} ms | ${m.bytes} B, ${f2(p(m.samples, 0.5))} / ${f2(p(m.samples, 0.99))} ms | ${f.bytes} B, ${f2(p(f.samples, 0.5))} / ${f2(fp99)} ms | ` +
        `${f2(p(f.samples, 0.5) / p(e.samples, 0.5))}×, ${f2(fp99 / ep99)}× | ${f2(fp99 / p(m.samples, 0.99))}× | ${verdict(latencyUnchanged(p(m.samples, 0.99), fp99))} |`,
    )
  }
  out.push('', `${r.empty.routes[0]?.samples.length ?? 0} requests per route and state.`, '')

  // 3. fan-out
  out.push(`### 3. ${r.fanoutClients} SSE clients: CPU of the server process`, '')
  out.push(
    `utime + stime of the server process alone (/proc/<pid>/stat; its Chromium is a separate process tree and untouched by SSE) over windows of ${r.fanout[0]?.windowS ?? 0} s ` +
      `with 0 and with ${r.fanoutClients} clients, interleaved (0, ${r.fanoutClients}, ${r.fanoutClients}, 0, 0, …), under the same steady open-loop workload on both sides. ` +
      `Each client is a real HTTP \`GET /monitor/stream\` from the bench process, reading every byte; the clients connect (and take their snapshot) before a window starts and leave after it. ` +
      `Cost = (server CPU ms per s with ${r.fanoutClients} clients − without) / 1000 ms, in % of one core.`,
    '',
  )
  out.push(
    `| workload | server CPU, 0 clients | server CPU, ${r.fanoutClients} clients | requests/s (0 / ${r.fanoutClients}) | SSE events/s received, all clients | cost, % of one core (pairs min / median / max) | target | result |`,
  )
  out.push('|---|---:|---:|---:|---:|---:|---|---|')
  for (const run of r.fanout) {
    const cost = fanoutCostPercent(run.windows, r.fanoutClients)
    const pairs = pairCostsPercent(run.windows).sort((x, y) => x - y)
    out.push(
      `| ${run.workload} | ${f1(cpuPerSecond(run.windows, 0))} ms/s | ${f1(cpuPerSecond(run.windows, r.fanoutClients))} ms/s | ` +
        `${f1(rate(run.windows, 0, (w) => w.requests))} / ${f1(rate(run.windows, r.fanoutClients, (w) => w.requests))} | ${f1(rate(run.windows, r.fanoutClients, (w) => w.messages))} | ` +
        `**${f2(cost)} %** (${f2(pairs[0] ?? Number.NaN)} / ${f2(quantile(pairs, 0.5))} / ${f2(pairs.at(-1) ?? Number.NaN)}) | < ${FANOUT_BUDGET_PERCENT_OF_CORE} % | ${verdict(cost < FANOUT_BUDGET_PERCENT_OF_CORE)} |`,
    )
  }
  out.push('')
  for (const run of r.fanout) {
    const notes = [
      `${run.windows.length} windows`,
      run.drops === 0 ? 'no client was dropped as slow' : `${run.drops} client(s) dropped as slow`,
      run.skipped === 0
        ? 'the workload kept its rate'
        : `${run.skipped} turns skipped because the stream's cap of requests in flight (4 crawls, 24 bulk) was reached: the service did not keep up with that rate`,
      run.failures.length === 0 ? 'every workload request answered as expected' : `unexpected answers: ${run.failures.join('; ')}`,
    ]
    out.push(`- ${run.workload}: ${notes.join('; ')}.`)
  }
  out.push('')
  out.push('**How to reproduce:** `npm run bench -- growth` prints the section; `--write` puts it here. This run used:', '')
  out.push('| variable | value | meaning |', '|---|---:|---|')
  for (const [name, meaning] of Object.entries(KNOBS)) out.push(`| \`${name}\` | ${r.knobs[name] ?? '—'} | ${meaning} |`)
  out.push('')
  return out.join('\n')
}
