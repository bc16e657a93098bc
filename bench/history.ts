import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { chromium } from 'playwright-core'
import { Rollups } from '../src/main/core/history/rollups.js'
import { startFixtureServer, type FixtureServer } from '../tests/helpers/fixture-server.js'
import type { BenchRun } from './benches.js'
import { startBenchService, type BenchService } from './service-client.js'
import { quantile } from './stats.js'

/**
 * The monitor's long history (docs/history.md). Targets: (1) writing rollups costs ≤ 1 % of
 * crawl throughput: POST /crawl rounds with the rollups on and off (recording and writes stubbed),
 * interleaved, and the main-thread time spent in them during the "on" rounds; (2) a 30-day
 * timeline answer is ≤ 20 ms p99, client-timed over HTTP, with 90 days of wide-histogram buckets
 * held; (3) the dashboard's 30-day view draws within 100 ms in Chromium (the
 * `crawldeck:history-chart` measure: the ECharts setOption that draws it). Prints only.
 *
 * Knobs: HISTORY_BENCH_ROUNDS (3 on/off pairs), HISTORY_BENCH_ROUND_SECONDS (20),
 * HISTORY_BENCH_CONCURRENCY (4), HISTORY_BENCH_ANSWERS (500), HISTORY_BENCH_DRAWS (10).
 */

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`)
const intEnv = (name: string, fallback: number) => {
  const v = Number(process.env[name])
  return Number.isInteger(v) && v > 0 ? v : fallback
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`

/** Wraps `obj[name]` to add its time (and, for a promise, its time to settle) to `into`. */
function timed<T extends object>(obj: T, name: keyof T & string, into: { ms: number; calls: number }): () => void {
  const original = obj[name] as unknown as (...a: unknown[]) => unknown
  ;(obj as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now()
    const out = original.apply(this, args)
    into.ms += performance.now() - t0
    into.calls++
    return out
  }
  return () => void ((obj as Record<string, unknown>)[name] = original)
}

async function crawlFor(service: BenchService, url: string, seconds: number, concurrency: number): Promise<number> {
  const body = JSON.stringify({ urls: [url] })
  const end = performance.now() + seconds * 1000
  let pages = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const res = await fetch(`${service.url}/crawl`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error(`POST /crawl answered ${res.status}`)
        pages++
      }
    }),
  )
  return pages / seconds
}

async function writeCost(fixture: FixtureServer): Promise<void> {
  const rounds = intEnv('HISTORY_BENCH_ROUNDS', 3)
  const seconds = intEnv('HISTORY_BENCH_ROUND_SECONDS', 20)
  const concurrency = intEnv('HISTORY_BENCH_CONCURRENCY', 4)
  const service = await startBenchService({ prewarm_pages: 0 })
  try {
    const { rollups } = service.runtime.monitor
    const keeper = service.runtime.history
    const url = fixture.url('/about')
    await crawlFor(service, url, 2, concurrency) // warm-up
    const on: number[] = []
    const off: number[] = []
    const spent = { ms: 0, calls: 0 }
    const writes = { ms: 0, calls: 0 }
    for (let r = 0; r < rounds; r++) {
      // On: recording and writes timed (the flush's synchronous part: taking the batch, queueing the write).
      const undo = [
        timed(rollups, 'recordRequest', spent),
        timed(rollups, 'recordTick', spent),
        timed(rollups, 'takeDirty', spent),
        timed(keeper, 'flush', writes),
      ]
      on.push(await crawlFor(service, url, seconds, concurrency))
      for (const u of undo) u()
      // Off: the same service with the rollups doing nothing.
      const saved = { recordRequest: rollups.recordRequest, recordTick: rollups.recordTick, flush: keeper.flush }
      rollups.recordRequest = () => undefined
      rollups.recordTick = () => undefined
      keeper.flush = async () => true
      off.push(await crawlFor(service, url, seconds, concurrency))
      Object.assign(rollups, { recordRequest: saved.recordRequest, recordTick: saved.recordTick })
      keeper.flush = saved.flush
      say(`round ${r + 1}: ${on.at(-1)!.toFixed(1)} pages/s with rollups, ${off.at(-1)!.toFixed(1)} without`)
    }
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length
    const wallMs = rounds * seconds * 1000
    console.log('\n## rollup write cost (target ≤ 1 % of crawl throughput)')
    console.log(`pages/s with rollups ${mean(on).toFixed(1)}, without ${mean(off).toFixed(1)}: ratio ${(mean(on) / mean(off)).toFixed(3)}`)
    console.log(
      `main-thread time in the rollups during the "on" rounds: ${fmt(spent.ms)} over ${spent.calls} calls ` +
        `(+ ${fmt(writes.ms)} in ${writes.calls} flush calls) = ${((100 * (spent.ms + writes.ms)) / wallMs).toFixed(3)} % of the wall time`,
    )
  } finally {
    await service.close()
  }
}

/** 90 days of buckets with latencies over three orders of magnitude, as a busy service leaves them. */
function ninetyDays(now: number): Rollups {
  const r = new Rollups()
  let seed = 7
  const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  for (let sec = now - 90 * 86_400; sec < now; sec += 60) {
    r.recordTick(sec * 1000, { memory: 50 + 20 * rand(), cpu: 40 * rand(), limit: 8, queue: 1, browsers: { permanent: 1, hot: 2, cold: 1 } })
    for (let i = 0; i < 4; i++) r.recordRequest(`/endpoint-${i}`, { success: rand() > 0.05, elapsed_ms: 20 * 200 ** rand(), pool_hit: true }, (sec + i) * 1000)
  }
  return r
}

async function answerTime(): Promise<void> {
  const answers = intEnv('HISTORY_BENCH_ANSWERS', 500)
  const service = await startBenchService({ prewarm_pages: 0, launch_permanent: false })
  try {
    const now = Math.floor(Date.now() / 1000)
    const filled = ninetyDays(now)
    service.runtime.monitor.rollups.load(filled.takeDirty(now)!, now)
    const counts = service.runtime.monitor.rollups.counts()
    console.log('\n## 30-day timeline answer (target ≤ 20 ms p99)')
    console.log(`held: ${counts.minutes} minute, ${counts.hours} hour and ${counts.endpoint_hours} endpoint-hour buckets`)
    for (const metric of ['memory', 'browsers', 'latency_p95']) {
      const ms: number[] = []
      for (let i = 0; i < answers; i++) {
        const t0 = performance.now()
        const res = await fetch(`${service.url}/monitor/timeline?metric=${metric}&window=30d`)
        await res.arrayBuffer()
        ms.push(performance.now() - t0)
        if (res.status !== 200) throw new Error(`GET /monitor/timeline answered ${res.status}`)
      }
      console.log(`${metric}: p50 ${fmt(quantile(ms, 0.5))}, p99 ${fmt(quantile(ms, 0.99))} (HTTP, client-timed, ${answers} answers)`)
    }
  } finally {
    await service.close()
  }
}

async function drawTime(): Promise<void> {
  const draws = intEnv('HISTORY_BENCH_DRAWS', 10)
  const repo = resolve(import.meta.dirname, '..')
  if (!existsSync(join(repo, 'out/renderer/index.html'))) throw new Error('out/renderer is missing: run npm run build:web first')
  const service = await startBenchService({ prewarm_pages: 0, launch_permanent: false })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  try {
    const now = Math.floor(Date.now() / 1000)
    service.runtime.monitor.rollups.load(ninetyDays(now).takeDirty(now)!, now)
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    await page.goto(`${service.url}/dashboard/`)
    const drawn = async () => Number((await page.locator('[data-testid="history-charts"]').getAttribute('data-drawn')) ?? 0)
    for (let i = 0; i < draws; i++) {
      for (const key of ['7d', '30d']) {
        await page.click(`[data-testid="range-${key}"]`)
        const deadline = Date.now() + 20_000
        while ((await page.locator(`[data-testid="history-charts"][data-window="${key}"]`).count()) === 0 || (await drawn()) === 0) {
          if (Date.now() > deadline) throw new Error(`the ${key} view was not drawn within 20 s`)
          await new Promise((r) => setTimeout(r, 20))
        }
      }
    }
    const ms = await page.evaluate(() =>
      performance
        .getEntriesByName('crawldeck:history-chart')
        .filter((e) => (e as PerformanceMeasure).detail === '30d')
        .map((e) => e.duration),
    )
    console.log('\n## 30-day chart draw in Chromium (target ≤ 100 ms)')
    console.log(`${ms.length} draws of the 30-day view: p50 ${fmt(quantile(ms, 0.5))}, max ${fmt(Math.max(...ms))}`)
  } finally {
    await browser.close()
    await service.close()
  }
}

export async function runHistoryBench(_opts: BenchRun): Promise<void> {
  const fixture = await startFixtureServer()
  try {
    say('rollup write cost against crawl throughput')
    await writeCost(fixture)
    say('30-day timeline answers')
    await answerTime()
    say('30-day chart draws in Chromium')
    await drawTime()
  } finally {
    await fixture.close()
  }
}
