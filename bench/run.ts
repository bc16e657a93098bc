/**
 * `npm run bench -- suite` (the default bench): first the throughput suite (bench/suite/: crawldeck
 * against a bare loop, a browser per request and Crawlee, on three pages at c=1/4/8, with a chart; env BENCH_SUITE_*, see
 * docs/benchmarks.md; BENCH_SUITE=0 skips it, BENCH_SUITE_ONLY=1 runs only it). Then
 * crawldeck's POST /html against a bare playwright-core loop doing the same page
 * work, side by side in one process and one run. See docs/benchmarks.md.
 *
 * Env: BENCH_ROUNDS (default 5), BENCH_REQUESTS per side per round and concurrency (default 20),
 * BENCH_WARMUP requests per side and page (default 10), BENCH_MAX_SECONDS less the monitor share (170 s with the defaults): on a machine
 * so loaded that the planned rounds would not fit, requests per round (down to 8), then rounds (down
 * to 2) are cut to fit, and the report says so. Only with --write does it touch docs/.
 *
 * Then the monitor's targets (bench/monitor.ts) on the same service: monitor on vs off,
 * and GET /monitor/* latency with the pool saturated. BENCH_MAX_SECONDS (default 320) is the whole
 * budget; BENCH_MONITOR_SECONDS (default 150) of it is kept for the monitor part.
 * BENCH_MONITOR_REQUESTS (POST /html per side and round, default 40), BENCH_MONITOR_ROUNDS (at most,
 * default 30), BENCH_MONITOR_LATENCY_REQUESTS (per route, default 200) size it within that share.
 */
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { startFixtureServer, type FixtureServer } from '../tests/helpers/fixture-server.js'
import { bareCrawl, launchBareBrowser, type BareTrace } from './bare-loop.js'
import { childPids, emptyTally, withCpu, type CpuTally } from './cpu.js'
import { stepBreakdown } from './breakdown.js'
import type { BenchRun } from './benches.js'
import { writeBenchSection } from './docs-file.js'
import { runLoad, type LoadRun } from './load.js'
import { median } from './stats.js'
import { runSuitePart } from './suite/part.js'
import { renderMonitorMarkdown, runMonitorBench, monitorVerdict } from './monitor.js'
import { renderMarkdown, verdicts, type PageMeasurements, type RunInfo } from './report.js'
import { postHtml, startBenchService, type BenchService, type ClientTiming, type ServerTrace } from './service-client.js'

const PAGES = ['/', '/article'] as const
const CONCURRENCIES = [1, 4] as const
const DOCS_FILE = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url))
const CHART_FILE = fileURLToPath(new URL('../docs/bench/throughput.svg', import.meta.url))

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`)
  return n
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const loadAvg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')

interface PageState {
  path: string
  url: string
  bytes: number
  a: { c1: LoadRun[]; c4: LoadRun[] }
  b: { c1: LoadRun[]; c4: LoadRun[] }
  aClient: ClientTiming[]
  aServer: ServerTrace[]
  bTraces: BareTrace[]
  cpuA: CpuTally
  cpuB: CpuTally
}

/** The throughput suite, first: its own fixture site and service, its own section of the docs and the chart. */
async function suitePart(write: boolean): Promise<void> {
  const markdown = await runSuitePart({
    rounds: envInt('BENCH_SUITE_ROUNDS', 3, 1),
    requests: envInt('BENCH_SUITE_REQUESTS', 12, 1),
    warmup: envInt('BENCH_SUITE_WARMUP', 4, 0),
    batch: envInt('BENCH_SUITE_BATCH', 8, 2),
    aloneSamples: envInt('BENCH_SUITE_ALONE', 12, 0),
    maxSeconds: envInt('BENCH_SUITE_MAX_SECONDS', 540, 1),
    skip: (process.env.BENCH_SUITE_SKIP ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    docsFile: DOCS_FILE,
    chartFile: CHART_FILE,
    write,
    log,
  })
  process.stdout.write(`\n${markdown}\n\n`)
}

export async function runSuiteBench({ write }: BenchRun): Promise<void> {
  if (process.env.BENCH_SUITE !== '0') await suitePart(write)
  if (process.env.BENCH_SUITE_ONLY === '1') return
  const plannedRounds = envInt('BENCH_ROUNDS', 5, 1)
  const plannedRequests = envInt('BENCH_REQUESTS', 20, 4)
  const warmup = envInt('BENCH_WARMUP', 10, 0)
  const totalSeconds = envInt('BENCH_MAX_SECONDS', 320, 1)
  const monitorSeconds = Math.min(envInt('BENCH_MONITOR_SECONDS', 150, 30), Math.floor(totalSeconds / 2))
  // The engine-vs-bare part gets what the monitor part does not (170 s with the defaults).
  const maxSeconds = totalSeconds - monitorSeconds
  const began = performance.now()
  const loadBefore = loadAvg()

  let fixture: FixtureServer | null = null
  let service: BenchService | null = null
  let bareHandle: Awaited<ReturnType<typeof launchBareBrowser>> | null = null
  let markdown: string
  try {
    fixture = await startFixtureServer()
    log(`fixture site at ${fixture.origin}`)
    // No retirement mid-run (default: every 500 pages): the A/B and monitor parts serve well over
    // 500 pages, and a retired browser whose zygotes outlive it takes its renderers' CPU out of
    // every process tree we can read (the monitor table once showed -294 ms of Chromium CPU per page).
    // One relaunch per 500 pages costs ~0.3 ms per page; the suite measures the default.
    service = await startBenchService({ retire_after_pages: 1_000_000 })
    log(`crawldeck at ${service.url} (permanent browser up)`)
    const childrenBefore = await childPids()
    const bare = await launchBareBrowser()
    bareHandle = bare
    const browser = bare.browser
    // playwright-core hides the PID of a launched browser: it is the one new child of this process.
    const newChildren = [...(await childPids())].filter((pid) => !childrenBefore.has(pid))
    const barePid = newChildren.length === 1 ? (newChildren[0] as number) : null
    const poolPid = service.runtime.pool.permanent()?.pid ?? null
    log(`bare Chromium ${browser.version()} at ${bare.executablePath} (pid ${barePid ?? '?'}; crawldeck's permanent browser pid ${poolPid ?? '?'})`)
    const svc = service
    const br = browser

    const pages: PageState[] = []
    for (const path of PAGES) {
      const url = fixture.url(path)
      const bytes = Buffer.byteLength(await (await fetch(url)).text())
      pages.push({
        path,
        url,
        bytes,
        a: { c1: [], c4: [] },
        b: { c1: [], c4: [] },
        aClient: [],
        aServer: [],
        bTraces: [],
        cpuA: emptyTally(),
        cpuB: emptyTally(),
      })
    }

    // Same work on both sides: the cleaned HTML must come out the same size.
    const notes: string[] = []
    for (const p of pages) {
      const lenA = await postHtml(svc.url, p.url)
      const lenB = await bareCrawl(br, p.url)
      notes.push(`Sanity: \`${p.path}\` cleaned HTML is ${lenA} chars via A and ${lenB} via B${lenA === lenB ? '' : ' (MISMATCH)'}.`)
    }

    const sideA = (p: PageState, client?: ClientTiming[]) => () => postHtml(svc.url, p.url, client).then(() => undefined)
    const sideB = (p: PageState, traces?: BareTrace[]) => () => bareCrawl(br, p.url, traces).then(() => undefined)

    const warmupC4 = 8
    log(`warm-up: ${warmup} requests per side and page at c=1, then ${warmupC4} at c=4`)
    // Seconds one "request per side, per page, per concurrency" costs in a round, from the warm-up.
    let unitS = 0
    for (const p of pages) {
      const a1 = await runLoad(sideA(p), warmup, 1)
      const b1 = await runLoad(sideB(p), warmup, 1)
      const a4 = await runLoad(sideA(p), warmupC4, 4)
      const b4 = await runLoad(sideB(p), warmupC4, 4)
      const c1 = warmup > 0 ? (median(a1.latencies) + median(b1.latencies)) / 1000 : 0
      unitS += c1 + (a4.wallMs + b4.wallMs) / warmupC4 / 1000
    }

    // Fit the rounds into the time budget: fewer requests per round first (down to 8), then fewer
    // rounds (down to 2: A first once, B first once). A quiet machine never gets here.
    const leftS = maxSeconds - (performance.now() - began) / 1000 - 10
    let requests = plannedRequests
    let rounds = plannedRounds
    if (unitS > 0 && rounds * requests * unitS > leftS) {
      requests = Math.max(Math.min(8, plannedRequests), Math.min(plannedRequests, Math.floor(leftS / (rounds * unitS))))
      if (rounds * requests * unitS > leftS) rounds = Math.max(Math.min(2, plannedRounds), Math.floor(leftS / (requests * unitS)))
      const msg =
        `Time budget: a request took ${((unitS / pages.length / 4) * 1000).toFixed(0)} ms on average during warm-up, so ${plannedRounds} rounds x ${plannedRequests} requests ` +
        `would not fit its ${maxSeconds} s share of BENCH_MAX_SECONDS=${totalSeconds}; ran ${rounds} rounds x ${requests} requests instead (fewer samples: wider spread).`
      notes.push(msg)
      log(msg)
    }

    const relaunchesBefore = svc.relaunches()
    const roundsStarted = performance.now()
    let roundsDone = 0
    for (let r = 0; r < rounds; r++) {
      // On a machine so loaded that the run would blow its time budget, stop starting rounds
      // (never below two: both orders, A first and B first, must be in the figures).
      const elapsedS = (performance.now() - began) / 1000
      const perRoundS = r > 0 ? (performance.now() - roundsStarted) / 1000 / r : 0
      if (r >= 2 && elapsedS + perRoundS > maxSeconds) {
        notes.push(
          `Time budget: stopped after ${r} of ${rounds} rounds (its ${maxSeconds} s share of BENCH_MAX_SECONDS=${totalSeconds}; a round took ${perRoundS.toFixed(0)} s on this machine right now).`,
        )
        log(`time budget of ${maxSeconds} s reached: stopping after ${r} of ${rounds} rounds`)
        break
      }
      const aFirst = r % 2 === 0
      for (const p of pages) {
        for (const c of CONCURRENCIES) {
          const key = c === 1 ? 'c1' : 'c4'
          const runA = async () => {
            const before = svc.traces.length
            const client: ClientTiming[] = []
            p.a[key].push(await withCpu(p.cpuA, poolPid, requests, () => runLoad(sideA(p, client), requests, c)))
            if (c === 1) {
              p.aClient.push(...client)
              p.aServer.push(...svc.traces.slice(before))
            }
          }
          const runB = async () => {
            const traces: BareTrace[] = []
            p.b[key].push(await withCpu(p.cpuB, barePid, requests, () => runLoad(sideB(p, traces), requests, c)))
            if (c === 1) p.bTraces.push(...traces)
          }
          if (aFirst) {
            await runA()
            await runB()
          } else {
            await runB()
            await runA()
          }
        }
      }
      const summary = pages
        .map((p) => {
          const a = p.a.c1.at(-1)
          const b = p.b.c1.at(-1)
          return a && b ? `${p.path} c=1 median A ${median(a.latencies).toFixed(1)} / B ${median(b.latencies).toFixed(1)} ms` : p.path
        })
        .join('; ')
      roundsDone++
      log(`round ${r + 1}/${rounds} (${aFirst ? 'A first' : 'B first'}): ${summary}; load ${loadAvg()}`)
    }
    const relaunches = svc.relaunches() - relaunchesBefore
    const connections = svc.connections()

    const measured: PageMeasurements[] = pages.map((p) => ({
      path: p.path,
      bytes: p.bytes,
      a: p.a,
      b: p.b,
      steps: stepBreakdown(p.aClient, p.aServer, p.bTraces),
      cpu: { a: p.cpuA, b: p.cpuB },
    }))
    const cpus = os.cpus()
    const playwright = (createRequire(import.meta.url)('playwright-core/package.json') as { version: string }).version
    notes.push(
      `HTTP: ${connections} TCP connection(s) accepted by crawldeck over the whole run (keep-alive); browser relaunches during the measured rounds: ${relaunches}.`,
    )
    const info: RunInfo = {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      machine: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
      load: `${loadBefore} at start, ${loadAvg()} at end`,
      node: process.version,
      chromium: `Chromium ${br.version()} (${bare.executablePath})`,
      playwright,
      method:
        `${warmup} warm-up requests per side and page at c=1 plus ${warmupC4} at c=4, then ${roundsDone} rounds; each round runs, per page and concurrency, ` +
        `${requests} requests on A and ${requests} on B back to back (A first in odd rounds, B first in even ones). ` +
        'Latency is per request (closed loop); throughput is requests over wall time, pooled over rounds.',
      notes,
      durationS: (performance.now() - began) / 1000,
    }
    markdown = renderMarkdown(info, measured)

    // The monitor's figures, on the same (warm) service, in what is left of the budget.
    const front = pages[0] as PageState
    const monitorDeadline = began + Math.max(totalSeconds * 1000 - 5_000, performance.now() - began + monitorSeconds * 1000 * 0.8)
    log(`monitor part: ${((monitorDeadline - performance.now()) / 1000).toFixed(0)} s share; load ${loadAvg()}`)
    const monitorResult = await runMonitorBench({
      svc,
      pageUrl: front.url,
      pagePath: front.path,
      deadline: monitorDeadline,
      requestsPerRound: envInt('BENCH_MONITOR_REQUESTS', 40, 4),
      maxRounds: envInt('BENCH_MONITOR_ROUNDS', 30, 2),
      latencyRequests: envInt('BENCH_MONITOR_LATENCY_REQUESTS', 200, 10),
      log,
    })
    markdown = `${markdown}\n\n${renderMonitorMarkdown(monitorResult)}\n\nWhole bench wall time: ${((performance.now() - began) / 1000).toFixed(0)} s; load average at the very end ${loadAvg()}.`
    process.stdout.write(`\n${markdown}\n\n`)
    for (const v of verdicts(measured)) {
      log(
        `${v.path}: c=1 median delta ${v.latencyDeltaMs.toFixed(1)} ms -> ${v.latencyPass ? 'PASS' : 'FAIL'}; c=4 throughput ratio ${v.throughputRatio.toFixed(2)} -> ${v.throughputPass ? 'PASS' : 'FAIL'}`,
      )
    }
    const mv = monitorVerdict(monitorResult)
    log(
      `monitor: on/off throughput ${mv.throughputRatio.toFixed(3)} -> ${mv.throughputPass ? 'PASS' : 'FAIL'} (CPU/page on/off ${mv.cpuRatio.toFixed(3)}); ` +
        `GET /monitor/* p99 ${mv.monitorP99.toFixed(1)} ms -> ${mv.latencyPass ? 'PASS' : 'FAIL'}; /metrics p99 ${mv.metricsP99.toFixed(1)} ms -> ${mv.metricsPass ? 'PASS' : 'FAIL'}`,
    )
  } finally {
    // Everything we started, in reverse order, so the process can exit on its own.
    if (bareHandle) await bareHandle.dispose().catch((err) => log(`closing the bare browser failed: ${String(err)}`))
    if (service) await service.close().catch((err) => log(`closing crawldeck failed: ${String(err)}`))
    if (fixture) await fixture.close().catch((err) => log(`closing the fixture server failed: ${String(err)}`))
  }
  if (write) {
    await writeBenchSection(DOCS_FILE, markdown)
    log(`wrote ${DOCS_FILE}`)
  }
  log(`done in ${((performance.now() - began) / 1000).toFixed(0)} s (a missed target is reported, not an error: exit code 0)`)
}
