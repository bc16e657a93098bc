import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { LmdbCache } from '../src/main/core/cache/lmdb-cache.js'
import { emptyResult } from '../src/main/core/crawl/crawler.js'
import { startFixtureServer, type FixtureServer } from '../tests/helpers/fixture-server.js'
import type { BenchRun } from './benches.js'
import { startBenchService, type BenchService } from './service-client.js'
import { quantile } from './stats.js'

/**
 * The result cache. (1) A POST /crawl answered from the cache, timed by the client: the target
 * is p50 ≤ 5 ms, and it must cost no Chromium work (the fixture server sees no request and no
 * browser serves a page). (2) The embedded store's lookups at 1,000 and at 100,000 entries: the
 * target is p99 at 100,000 within 1.5× of p99 at 1,000 (a B-tree get, no scan). Prints only.
 *
 * A hit is answered with the stored JSON bytes as they are, the cache fields written in front
 * (cache/stored-entry.ts, shared/raw-json.ts): no decode and encode, so /article's time should be
 * close to /about's.
 *
 * Knobs: CACHE_BENCH_HITS (500 timed hits per page), CACHE_BENCH_PATHS ("/about,/article": a small
 * page, and a ~100 KB one whose result is ~300 KB of JSON, so the answer's own size shows),
 * CACHE_BENCH_SMALL (1000), CACHE_BENCH_LARGE (100000), CACHE_BENCH_LOOKUPS (20000 per size).
 */

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`)
const intEnv = (name: string, fallback: number) => {
  const v = Number(process.env[name])
  return Number.isInteger(v) && v > 0 ? v : fallback
}

async function crawl(baseUrl: string, body: string): Promise<{ cache_status: string | null }> {
  const res = await fetch(`${baseUrl}/crawl`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const answer = (await res.json()) as { success?: boolean; error?: string; results?: Array<{ cache_status: string | null }> }
  if (res.status !== 200 || answer.success !== true || !answer.results?.[0])
    throw new Error(`POST /crawl answered ${res.status}: ${answer.error ?? JSON.stringify(answer).slice(0, 200)}`)
  return answer.results[0]
}

async function hitBench(hits: number, path: string): Promise<void> {
  let fixture: FixtureServer | undefined
  let service: BenchService | undefined
  try {
    fixture = await startFixtureServer()
    service = await startBenchService({ prewarm_pages: 0 })
    const body = JSON.stringify({ urls: [fixture.url(path)], crawler_config: { cache_mode: 'enabled' } })
    const first = await crawl(service.url, body)
    if (first.cache_status !== 'miss') throw new Error(`the first crawl should be a miss, not ${first.cache_status}`)
    const fetched = fixture.hits(path)
    const pages = service.runtime.pool.list().reduce((n, b) => n + b.pagesServed, 0)
    for (let i = 0; i < 50; i++) await crawl(service.url, body)
    const ms: number[] = []
    for (let i = 0; i < hits; i++) {
      const t0 = performance.now()
      const r = await crawl(service.url, body)
      ms.push(performance.now() - t0)
      if (r.cache_status !== 'hit') throw new Error(`crawl ${i} was not a hit: ${r.cache_status}`)
    }
    const pagesAfter = service.runtime.pool.list().reduce((n, b) => n + b.pagesServed, 0)
    const p50 = quantile(ms, 0.5)
    const noWork = fixture.hits(path) === fetched && pagesAfter === pages
    process.stdout.write(
      `cache hit, POST /crawl ${path} (client-timed, c=1, ${hits} hits): p50 ${p50.toFixed(2)} ms, p95 ${quantile(ms, 0.95).toFixed(2)} ms, ` +
        `p99 ${quantile(ms, 0.99).toFixed(2)} ms — ${p50 <= 5 ? 'within' : 'OUTSIDE'} the target (p50 ≤ 5 ms)\n` +
        `Chromium work for the hits: fixture requests +${fixture.hits(path) - fetched}, pages served +${pagesAfter - pages} — ${noWork ? 'none, as required' : 'SOME: a hit reached the browser'}\n`,
    )
  } finally {
    await service?.close()
    await fixture?.close()
  }
}

/** p50 and p99 of `lookups` gets (the stored bytes and their header line, not parsed further) of random stored keys, in µs. */
async function lookupBench(entries: number, lookups: number): Promise<{ p50: number; p99: number; fillS: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'crawldeck-cache-bench-'))
  const cache = new LmdbCache({ dataDir: dir, maxBytes: 64 * 1024 * 1024 * 1024, ttlSeconds: 0 })
  try {
    const result = { ...emptyResult('https://example.com/'), success: true, html: '<p>cached</p>'.repeat(150) }
    const t0 = performance.now()
    // In concurrent batches: lmdb-js commits each event turn's writes as one transaction.
    for (let i = 0; i < entries; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, entries - i) }, (_, j) => cache.put(`key-${i + j}`, { ...result, url: `https://example.com/${i + j}` })),
      )
    }
    const fillS = (performance.now() - t0) / 1000
    const us: number[] = []
    for (let i = 0; i < lookups + 1000; i++) {
      const key = `key-${Math.floor(Math.random() * entries)}`
      const t = performance.now()
      const hit = await cache.get(key)
      if (i >= 1000) us.push((performance.now() - t) * 1000)
      if (hit === null) throw new Error(`${key} missing`)
    }
    return { p50: quantile(us, 0.5), p99: quantile(us, 0.99), fillS }
  } finally {
    await cache.close()
    await rm(dir, { recursive: true, force: true })
  }
}

export async function runCacheBench({ write }: BenchRun): Promise<void> {
  if (write) say('cache writes no docs: it prints only')
  const hits = intEnv('CACHE_BENCH_HITS', 500)
  for (const path of (process.env.CACHE_BENCH_PATHS ?? '/about,/article').split(',')) {
    say(`cache hits: ${hits} on ${path}`)
    await hitBench(hits, path)
  }
  const small = intEnv('CACHE_BENCH_SMALL', 1000)
  const large = intEnv('CACHE_BENCH_LARGE', 100_000)
  const lookups = intEnv('CACHE_BENCH_LOOKUPS', 20_000)
  say(`lookups: ${lookups} at ${small} and at ${large} entries`)
  const a = await lookupBench(small, lookups)
  const b = await lookupBench(large, lookups)
  const ratio = b.p99 / a.p99
  process.stdout.write(
    `LMDB lookup (get of a ~2 KB entry, header parsed, body left as bytes), ${lookups} random keys:\n` +
      `  ${small} entries: p50 ${a.p50.toFixed(1)} µs, p99 ${a.p99.toFixed(1)} µs (filled in ${a.fillS.toFixed(1)} s)\n` +
      `  ${large} entries: p50 ${b.p50.toFixed(1)} µs, p99 ${b.p99.toFixed(1)} µs (filled in ${b.fillS.toFixed(1)} s)\n` +
      `  p99 ratio ${ratio.toFixed(2)}× — ${ratio <= 1.5 ? 'within' : 'OUTSIDE'} the target (≤ 1.5×)\n`,
  )
}
