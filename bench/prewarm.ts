/**
 * Pre-warmed pages, with and without: `npx tsx bench/prewarm.ts`.
 *
 * Starts the fixture site and one real crawldeck service (engine + Koa, in this process) per
 * prewarm_pages value (PREWARM_SIZES, default "0,1,2"), each with its own permanent browser, and
 * runs `POST /html {url}` against them in interleaved rounds: per round, for each page and each
 * concurrency (1, 4, 8), every service runs the same closed-loop load back to back, the order
 * rotating from round to round so slow phases of the machine hit every side alike. While one side
 * runs the others are idle (their monitors tick, their reserves are full and still).
 *
 * Reports pooled pages/s, p50 / p95 latency per side, the ratio to prewarm_pages = 0, the
 * per-round spread of the throughput ratio, and how many requests each reserve served.
 * Prints markdown; it changes no file. PREWARM_ROUNDS (3), PREWARM_PAGES ("/,/article,/js"),
 * PREWARM_C ("1,4,8"), PREWARM_REQUESTS_PER_WORKER (4; at c=1 twice that), PREWARM_WARMUP (8).
 */
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { startFixtureServer, type FixtureServer } from '../tests/helpers/fixture-server.js'
import { runLoad, throughput, type LoadRun } from './load.js'
import { postHtml, startBenchService, type BenchService } from './service-client.js'
import { median, p95, spread } from './stats.js'

const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map((x) => x.trim()).filter((x) => x !== '')
const SIZES = list('PREWARM_SIZES', '0,1,2').map(Number)
const PAGES = list('PREWARM_PAGES', '/,/article,/js')
const CONCURRENCY = list('PREWARM_C', '1,4,8').map(Number)
const ROUNDS = Number(process.env.PREWARM_ROUNDS ?? 3)
const PER_WORKER = Number(process.env.PREWARM_REQUESTS_PER_WORKER ?? 4)
const WARMUP = Number(process.env.PREWARM_WARMUP ?? 8)

const loadAvg = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ')
const log = (m: string) => process.stderr.write(`[prewarm] ${m}\n`)
const ms = (v: number) => `${v.toFixed(1)} ms`
const requestsAt = (c: number) => (c === 1 ? 2 * PER_WORKER : c * PER_WORKER)

interface Side {
  size: number
  svc: BenchService
  /** Load runs per `${page} c=${c}`, one per round. */
  runs: Map<string, LoadRun[]>
  failures: number
}

async function main(): Promise<void> {
  if (SIZES[0] !== 0) throw new Error('PREWARM_SIZES must start with 0: every other side is compared with it')
  const began = performance.now()
  const loadBefore = loadAvg()
  let fixture: FixtureServer | null = null
  const sides: Side[] = []
  try {
    fixture = await startFixtureServer()
    for (const size of SIZES) {
      // The default max_pages (8) for every side: the reserve refills only while a slot is free.
      // No recycling mid-run: a relaunch would land in one side's figures only.
      sides.push({ size, svc: await startBenchService({ prewarm_pages: size, retire_after_pages: 1_000_000 }), runs: new Map(), failures: 0 })
      log(`service with prewarm_pages=${size} up`)
    }
    const fx = fixture
    // A failed request (on this shared machine: a page_timeout under extreme load) is counted and
    // reported, not allowed to end the run and lose every figure.
    const task = (side: Side, path: string) => () =>
      postHtml(side.svc.url, fx.url(path)).then(
        () => undefined,
        (err: unknown) => {
          side.failures++
          log(`N=${side.size} ${path}: ${err instanceof Error ? err.message : String(err)}`)
        },
      )

    for (const side of sides) for (const path of PAGES) await runLoad(task(side, path), WARMUP, 1)
    const statsBefore = sides.map((s) => s.svc.runtime.reserve.stats())
    const relaunchesBefore = sides.map((s) => s.svc.relaunches())
    log(`warm-up done; load ${loadAvg()}`)

    for (let r = 0; r < ROUNDS; r++) {
      for (const path of PAGES) {
        for (const c of CONCURRENCY) {
          const key = `${path} c=${c}`
          for (let i = 0; i < sides.length; i++) {
            const side = sides[(i + r) % sides.length] as Side
            const run = await runLoad(task(side, path), requestsAt(c), c)
            side.runs.set(key, [...(side.runs.get(key) ?? []), run])
          }
        }
      }
      log(`round ${r + 1}/${ROUNDS} done; load ${loadAvg()}`)
    }

    const lines: string[] = []
    lines.push(`Run of ${new Date().toISOString().slice(0, 16)}Z: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; load average ${loadBefore} at start, ${loadAvg()} at end; ${ROUNDS} rounds, per round and cell ${CONCURRENCY.map((c) => `${requestsAt(c)} requests at c=${c}`).join(', ')}, sides in rotating order; wall time ${((performance.now() - began) / 1000).toFixed(0)} s.`)
    lines.push('')
    const head = sides.map((s) => `N=${s.size} pages/s · p50 · p95`)
    lines.push(`| page | c | ${head.join(' | ')} | ${sides.slice(1).map((s) => `N=${s.size} / N=0 pages/s (rounds min / med / max)`).join(' | ')} |`)
    lines.push(`|---|---:|${sides.map(() => '---:').join('|')}|${sides.slice(1).map(() => '---:').join('|')}|`)
    for (const path of PAGES) {
      for (const c of CONCURRENCY) {
        const key = `${path} c=${c}`
        const cells = sides.map((s) => {
          const runs = s.runs.get(key) ?? []
          const lat = runs.flatMap((x) => x.latencies)
          return `${throughput(runs).toFixed(2)} · ${ms(median(lat))} · ${ms(p95(lat))}`
        })
        const base = sides[0]?.runs.get(key) ?? []
        const ratios = sides.slice(1).map((s) => {
          const runs = s.runs.get(key) ?? []
          const perRound = runs.map((run, i) => throughput([run]) / throughput([base[i] as LoadRun]))
          const sp = spread(perRound)
          return `**${(throughput(runs) / throughput(base)).toFixed(2)}×** (${sp.min.toFixed(2)} / ${sp.median.toFixed(2)} / ${sp.max.toFixed(2)})`
        })
        lines.push(`| \`${path}\` | ${c} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`)
      }
    }
    lines.push('')
    sides.forEach((s, i) => {
      const now = s.svc.runtime.reserve.stats()
      const before = statsBefore[i]
      if (s.size === 0 || !before) return
      const served = now.served - before.served
      const missed = now.missed - before.missed
      lines.push(`- N=${s.size}: ${served} of ${served + missed} measured requests took a reserved page (${((100 * served) / Math.max(1, served + missed)).toFixed(0)} %); browser relaunches during the rounds: ${s.svc.relaunches() - (relaunchesBefore[i] ?? 0)}.`)
    })
    lines.push(`- Failed requests (a failure ends its worker's request like a success: it is in the latency and pages/s figures): ${sides.map((s) => `N=${s.size}: ${s.failures}`).join(', ')}.`)
    process.stdout.write(`${lines.join('\n')}\n`)
  } finally {
    for (const side of sides) await side.svc.close().catch(() => undefined)
    await fixture?.close()
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
