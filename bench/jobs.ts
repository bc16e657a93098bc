import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import type { ConfigInput } from '../src/main/core/config.js'
import { startFixtureServer, type FixtureServer } from '../tests/helpers/fixture-server.js'
import type { BenchRun } from './benches.js'
import { machineCpuMs } from './cpu.js'
import { startBenchService, type BenchService } from './service-client.js'
import { median, quantile } from './stats.js'

/**
 * Async jobs against /crawl, on one instance (the runtime in this process). The same N crawls of
 * a fixture page run (A) through POST /crawl by c clients, one URL each, and (B) as N one-URL jobs
 * submitted at once, which the worker takes c at a time (max_pages c, fixed); A and B alternate
 * (A B, then B A) for ROUNDS rounds so drift of the machine falls on both. Reported: pages/s of
 * each (median of the rounds), their ratio (target: jobs ≥ 0.95× /crawl), and how soon a queued
 * job starts once a slot frees: from a job's request:finished to the request:started of the job
 * that takes its place (the engine's own events, timed in this process), p50 and p95 (target
 * p95 ≤ 50 ms). Not from lease:released: a page's lease is released only once its context has
 * closed, and admission lets the next request have the slot while that close is still going, so
 * the next job often starts before the release it would be measured from.
 * B's clock stops when the job store counts all N completed, as a client polling them would see.
 *
 * Knobs: JOBS_BENCH_N (200), JOBS_BENCH_C (4), JOBS_BENCH_ROUNDS (3), JOBS_BENCH_PATH ("/about"),
 * JOBS_BENCH_BACKEND ("both": embedded, then bullmq; or one of them), JOBS_BENCH_REDIS_URL
 * (redis://127.0.0.1:6379; bullmq runs under a key prefix of its own, deleted afterwards). Prints only.
 */

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`)
const intEnv = (name: string, fallback: number) => {
  const v = Number(process.env[name])
  return Number.isInteger(v) && v > 0 ? v : fallback
}

/** Requests of one client of A (or one submitter of B) at a time: well under max_connections_per_client. */
const SUBMITTERS = 32

async function postJson(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** Runs `task(i)` for i in 0..n-1 with at most `width` at once. */
async function pooled(n: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await task(next++)
    }),
  )
}

/** A: N crawls through POST /crawl by c clients; pages/s from the first send to the last answer. */
async function viaCrawl(service: BenchService, pageUrl: string, n: number, c: number): Promise<number> {
  const t0 = performance.now()
  await pooled(n, c, async (i) => {
    const { status, body } = await postJson(`${service.url}/crawl`, { urls: [pageUrl] })
    if (status !== 200 || body.success !== true) throw new Error(`POST /crawl ${i} answered ${status}: ${JSON.stringify(body).slice(0, 200)}`)
  })
  return n / ((performance.now() - t0) / 1000)
}

interface JobRound {
  pagesPerSecond: number
  /** ms from a job's page slot freeing to the next queued job's start, one per slot freed while jobs waited. */
  startLatencies: number[]
}

/** B: N jobs submitted at once; pages/s from the first submission until the store counts all N completed. */
async function viaJobs(service: BenchService, pageUrl: string, n: number, c: number): Promise<JobRound> {
  const { runtime } = service
  const jobStarts: number[] = []
  const jobRequests = new Set<string>()
  const jobEnds: number[] = []
  const offStart = runtime.events.on('request:started', (r) => {
    if (r.endpoint !== '/crawl/job') return
    jobStarts.push(performance.now())
    jobRequests.add(r.id)
  })
  const offEnd = runtime.events.on('request:finished', (r) => {
    if (jobRequests.delete(r.id)) jobEnds.push(performance.now())
  })
  try {
    const before = (await runtime.jobs.counts()).completed
    const t0 = performance.now()
    await pooled(n, SUBMITTERS, async (i) => {
      const { status, body } = await postJson(`${service.url}/crawl/job`, { urls: [pageUrl] })
      if (status !== 202) throw new Error(`POST /crawl/job ${i} answered ${status}: ${JSON.stringify(body).slice(0, 200)}`)
    })
    for (;;) {
      const counts = await runtime.jobs.counts()
      if (counts.failed > 0) throw new Error(`${counts.failed} job(s) failed`)
      if (counts.completed - before >= n) break
      await new Promise((r) => setTimeout(r, 5))
    }
    const seconds = (performance.now() - t0) / 1000
    // One job per slot: the first c starts filled empty slots; after that the k-th job to end
    // freed the slot of the (c+k)-th to start, and the last c to end left none waiting.
    const startLatencies: number[] = []
    for (let k = 0; k + c < jobStarts.length && k < jobEnds.length; k++) startLatencies.push((jobStarts[k + c] as number) - (jobEnds[k] as number))
    if (startLatencies.some((ms) => ms < 0)) throw new Error(`a job started before a slot was free: is the worker taking more than c=${c} jobs at once?`)
    return { pagesPerSecond: n / seconds, startLatencies }
  } finally {
    offStart()
    offEnd()
  }
}

async function benchBackend(backend: 'embedded' | 'bullmq', fixture: FixtureServer): Promise<void> {
  const n = intEnv('JOBS_BENCH_N', 200)
  const c = intEnv('JOBS_BENCH_C', 4)
  const rounds = intEnv('JOBS_BENCH_ROUNDS', 3)
  const pageUrl = fixture.url(process.env.JOBS_BENCH_PATH ?? '/about')
  const redisUrl = process.env.JOBS_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
  const prefix = `crawldeck-bench-jobs-${randomBytes(4).toString('hex')}:`
  const config: ConfigInput = { max_pages: c, adaptive_admission: false, ...(backend === 'bullmq' ? { redis_url: redisUrl, redis_prefix: prefix } : {}) }
  say(`${backend}: N=${n}, c=${c}, ${rounds} round(s) of /crawl and jobs, ${pageUrl}`)
  const service = await startBenchService(config)
  try {
    // Warm-up: both paths once, small, so neither pays first-use costs in a timed round.
    await viaCrawl(service, pageUrl, Math.min(n, 2 * c), c)
    await viaJobs(service, pageUrl, Math.min(n, 2 * c), c)
    const crawl: number[] = []
    const jobs: number[] = []
    const latencies: number[] = []
    // The whole machine's CPU (Chromium, Node, redis-server) per page, and how busy the CPUs were:
    // with them saturated, a path that costs more CPU per page crawls proportionally fewer pages.
    const cpu = { crawl: { ms: 0, wallMs: 0 }, jobs: { ms: 0, wallMs: 0 } }
    const cores = availableParallelism()
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['crawl', 'jobs'] as const) : (['jobs', 'crawl'] as const)
      for (const mode of order) {
        const cpu0 = await machineCpuMs()
        const t0 = performance.now()
        if (mode === 'crawl') crawl.push(await viaCrawl(service, pageUrl, n, c))
        else {
          const r = await viaJobs(service, pageUrl, n, c)
          jobs.push(r.pagesPerSecond)
          latencies.push(...r.startLatencies)
        }
        cpu[mode].ms += (await machineCpuMs()) - cpu0
        cpu[mode].wallMs += performance.now() - t0
      }
      say(`${backend} round ${round + 1}: /crawl ${crawl.at(-1)!.toFixed(1)} pages/s, jobs ${jobs.at(-1)!.toFixed(1)} pages/s`)
    }
    const ratio = median(jobs) / median(crawl)
    const p95 = latencies.length > 0 ? quantile(latencies, 0.95) : NaN
    process.stdout.write(
      `jobs bench (${backend}), one instance, N=${n} crawls of ${new URL(pageUrl).pathname} at c=${c}, ${rounds} round(s) A/B:\n` +
        `  POST /crawl (c clients): ${crawl.map((v) => v.toFixed(1)).join(', ')} pages/s, median ${median(crawl).toFixed(1)}\n` +
        `  jobs (N at once):        ${jobs.map((v) => v.toFixed(1)).join(', ')} pages/s, median ${median(jobs).toFixed(1)}\n` +
        `  ratio jobs / crawl ${ratio.toFixed(3)}× — ${ratio >= 0.95 ? 'within' : 'OUTSIDE'} the target (≥ 0.95×)\n` +
        `  machine CPU per page: /crawl ${(cpu.crawl.ms / (n * rounds)).toFixed(1)} ms, jobs ${(cpu.jobs.ms / (n * rounds)).toFixed(1)} ms ` +
        `(${(cpu.jobs.ms / cpu.crawl.ms).toFixed(3)}×); CPUs busy: /crawl ${((100 * cpu.crawl.ms) / (cpu.crawl.wallMs * cores)).toFixed(0)} %, ` +
        `jobs ${((100 * cpu.jobs.ms) / (cpu.jobs.wallMs * cores)).toFixed(0)} % of ${cores}\n` +
        `  a queued job starts after a slot frees (a job's request:finished -> the next one's request:started), ${latencies.length} slots: ` +
        (latencies.length > 0
          ? `p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms — ${p95 <= 50 ? 'within' : 'OUTSIDE'} the target (p95 ≤ 50 ms)\n`
          : 'none measured (N ≤ c?)\n'),
    )
  } finally {
    await service.close()
    if (backend === 'bullmq') {
      const redis = new Redis(redisUrl)
      try {
        let cursor = '0'
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
          cursor = next
          if (keys.length > 0) await redis.del(...keys)
        } while (cursor !== '0')
      } finally {
        redis.disconnect()
      }
    }
  }
}

export async function runJobsBench({ write }: BenchRun): Promise<void> {
  if (write) say('jobs writes no docs: it prints only')
  const wanted = process.env.JOBS_BENCH_BACKEND ?? 'both'
  if (!['both', 'embedded', 'bullmq'].includes(wanted)) throw new Error(`JOBS_BENCH_BACKEND is both, embedded or bullmq, not ${wanted}`)
  const fixture = await startFixtureServer()
  try {
    if (wanted !== 'bullmq') await benchBackend('embedded', fixture)
    if (wanted !== 'embedded') await benchBackend('bullmq', fixture)
  } finally {
    await fixture.close()
  }
}
