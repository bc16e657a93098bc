/**
 * `npm run bench`: crawldeck's POST /html against a bare playwright-core loop doing the same page
 * work, side by side in one process and one run (issue 2, "Speed"). See docs/benchmarks.md.
 *
 * Env: BENCH_ROUNDS (default 5), BENCH_REQUESTS per side per round and concurrency (default 20),
 * BENCH_WARMUP requests per side and page (default 10), BENCH_MAX_SECONDS after which no new round
 * starts (default 150; at least 2 rounds always run), BENCH_WRITE=0 to leave docs/ alone.
 */
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import type { Browser } from 'playwright-core'
import { startFixtureServer, type FixtureServer } from '../tests/helpers/fixture-server.js'
import { bareCrawl, launchBareBrowser, type BareTrace } from './bare-loop.js'
import { childPids, emptyTally, withCpu, type CpuTally } from './cpu.js'
import { stepBreakdown } from './breakdown.js'
import { writeBenchSection } from './docs-file.js'
import { runLoad, type LoadRun } from './load.js'
import { median } from './stats.js'
import { renderMarkdown, verdicts, type PageMeasurements, type RunInfo } from './report.js'
import { postHtml, startBenchService, type BenchService, type ClientTiming, type ServerTrace } from './service-client.js'

const PAGES = ['/', '/article'] as const
const CONCURRENCIES = [1, 4] as const
const DOCS_FILE = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url))

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`)
  return n
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const loadAvg = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ')

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

async function main(): Promise<void> {
  const rounds = envInt('BENCH_ROUNDS', 5, 1)
  const requests = envInt('BENCH_REQUESTS', 20, 4)
  const warmup = envInt('BENCH_WARMUP', 10, 0)
  const maxSeconds = envInt('BENCH_MAX_SECONDS', 150, 1)
  const write = process.env.BENCH_WRITE !== '0'
  const began = performance.now()
  const loadBefore = loadAvg()

  let fixture: FixtureServer | null = null
  let service: BenchService | null = null
  let browser: Browser | null = null
  let markdown: string
  try {
    fixture = await startFixtureServer()
    log(`fixture site at ${fixture.origin}`)
    service = await startBenchService()
    log(`crawldeck at ${service.url} (permanent browser up)`)
    const childrenBefore = await childPids()
    const bare = await launchBareBrowser()
    browser = bare.browser
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
      pages.push({ path, url, bytes, a: { c1: [], c4: [] }, b: { c1: [], c4: [] }, aClient: [], aServer: [], bTraces: [], cpuA: emptyTally(), cpuB: emptyTally() })
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
    for (const p of pages) {
      await runLoad(sideA(p), warmup, 1)
      await runLoad(sideB(p), warmup, 1)
      await runLoad(sideA(p), warmupC4, 4)
      await runLoad(sideB(p), warmupC4, 4)
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
        notes.push(`Time budget: stopped after ${r} of ${rounds} rounds (BENCH_MAX_SECONDS=${maxSeconds}; a round took ${perRoundS.toFixed(0)} s on this machine right now).`)
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
    notes.push(`HTTP: ${connections} TCP connection(s) accepted by crawldeck over the whole run (keep-alive); browser relaunches during the measured rounds: ${relaunches}.`)
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
    process.stdout.write(`\n${markdown}\n\n`)
    for (const v of verdicts(measured)) {
      log(`${v.path}: c=1 median delta ${v.latencyDeltaMs.toFixed(1)} ms -> ${v.latencyPass ? 'PASS' : 'FAIL'}; c=4 throughput ratio ${v.throughputRatio.toFixed(2)} -> ${v.throughputPass ? 'PASS' : 'FAIL'}`)
    }
  } finally {
    // Everything we started, in reverse order, so the process can exit on its own.
    if (browser) await browser.close().catch((err) => log(`closing the bare browser failed: ${String(err)}`))
    if (service) await service.close().catch((err) => log(`closing crawldeck failed: ${String(err)}`))
    if (fixture) await fixture.close().catch((err) => log(`closing the fixture server failed: ${String(err)}`))
  }
  if (write) {
    await writeBenchSection(DOCS_FILE, markdown)
    log(`wrote ${DOCS_FILE}`)
  }
  log(`done in ${((performance.now() - began) / 1000).toFixed(0)} s (a missed target is reported, not an error: exit code 0)`)
}

main().catch((err: unknown) => {
  log(`benchmark broke: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exitCode = 1
})
