import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LmdbCache } from '../src/main/core/cache/lmdb-cache.js'
import { storedResult } from '../src/main/core/cache/stored-entry.js'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import type { CacheClearResponse, CompletedRequest, EndpointStatsResponse, MonitorHealth } from '../src/shared/monitor-types.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { freePort, redisClient, startRedis, stopAllRedis, stopRedis } from './helpers/redis-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * The result cache through the real HTTP door, engine and Chromium against the fixture server,
 * which counts the requests that reach it: a hit is answered with no request there and no page
 * served by any browser. Then the cap at service level, a SIGKILL mid-write, and Redis with a TTL.
 */

let fx: FixtureServer
let s: TestService

beforeAll(async () => {
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ prewarm_pages: 0 })])
})

afterAll(async () => {
  await Promise.all([s?.close(), fx?.close()])
  await stopAllRedis()
})

type Mode = 'enabled' | 'disabled' | 'read_only' | 'write_only' | 'bypass' | null | undefined

async function crawl(svc: TestService, path: string, mode: Mode, extra: Record<string, unknown> = {}): Promise<CrawlResult> {
  const crawler_config = mode === undefined ? extra : { ...extra, cache_mode: mode }
  const { status, body } = await svc.postJson<{ results: CrawlResult[] }>('/crawl', { urls: [fx.url(path)], crawler_config })
  expect(status, JSON.stringify(body).slice(0, 300)).toBe(200)
  expect(body.results[0]!.success).toBe(true)
  return body.results[0]!
}

const pagesServed = (svc: TestService) => svc.runtime.pool.list().reduce((n, b) => n + b.pagesServed, 0)
const health = async (svc: TestService) => (await svc.get<MonitorHealth>('/monitor/health')).body

async function lastCompleted(svc: TestService, url: string): Promise<CompletedRequest> {
  const { body } = await svc.get<{ completed: CompletedRequest[] }>('/monitor/requests?status=completed&limit=100&order=newest')
  const r = body.completed.find((c) => c.url === url)
  expect(r, `a completed request for ${url}`).toBeDefined()
  return r!
}

describe('cache modes', () => {
  it('enabled: the first crawl is a miss and is stored; the second is a hit with no request to the site and no page served', async () => {
    const path = '/cache/enabled'
    const first = await crawl(s, path, 'enabled')
    expect(first).toMatchObject({ cache_status: 'miss', cached_at: null })
    expect(fx.hits(path)).toBe(1)
    const pages = pagesServed(s)
    const second = await crawl(s, path, { type: 'CacheMode', params: 'enabled' } as never)
    expect(second).toMatchObject({ cache_status: 'hit', html: first.html, markdown: first.markdown, status_code: first.status_code })
    expect(second.cached_at).toBeGreaterThan(Date.now() / 1000 - 60)
    expect(fx.hits(path)).toBe(1)
    expect(pagesServed(s)).toBe(pages)
  })

  it('bypass, the default, always fetches, even with the page in the cache', async () => {
    const path = '/cache/bypass'
    await crawl(s, path, 'enabled')
    expect(await crawl(s, path, undefined)).toMatchObject({ cache_status: null, cached_at: null })
    expect(await crawl(s, path, 'bypass')).toMatchObject({ cache_status: null })
    expect(fx.hits(path)).toBe(3)
  })

  it('disabled neither reads nor writes', async () => {
    const path = '/cache/disabled'
    await crawl(s, path, 'disabled')
    await crawl(s, path, 'enabled')
    expect(fx.hits(path)).toBe(2)
    await crawl(s, path, 'disabled')
    expect(fx.hits(path)).toBe(3)
  })

  it('read_only reads but never writes', async () => {
    const path = '/cache/read-only'
    const entries = (await health(s)).cache.entries
    expect(await crawl(s, path, 'read_only')).toMatchObject({ cache_status: 'miss' })
    await crawl(s, path, 'read_only')
    expect(fx.hits(path)).toBe(2)
    expect((await health(s)).cache.entries).toBe(entries)
    // Once stored by another mode, read_only finds it.
    await crawl(s, path, 'enabled')
    expect(await crawl(s, path, 'read_only')).toMatchObject({ cache_status: 'hit' })
    expect(fx.hits(path)).toBe(3)
  })

  it('write_only writes but never reads', async () => {
    const path = '/cache/write-only'
    expect(await crawl(s, path, 'write_only')).toMatchObject({ cache_status: null })
    expect(await crawl(s, path, 'write_only')).toMatchObject({ cache_status: null })
    expect(fx.hits(path)).toBe(2)
    // What it wrote is there for a mode that reads.
    expect(await crawl(s, path, 'enabled')).toMatchObject({ cache_status: 'hit' })
    expect(fx.hits(path)).toBe(2)
  })

  it('null means enabled, as in Crawl4AI', async () => {
    const path = '/cache/null'
    await crawl(s, path, null)
    expect(await crawl(s, path, null)).toMatchObject({ cache_status: 'hit' })
    expect(fx.hits(path)).toBe(1)
  })

  it('a field that changes the result is a different entry; page_timeout is not', async () => {
    const path = '/cache/fields'
    await crawl(s, path, 'enabled')
    expect(await crawl(s, path, 'enabled', { page_timeout: 30_000 })).toMatchObject({ cache_status: 'hit' })
    expect(await crawl(s, path, 'enabled', { css_selector: 'body' })).toMatchObject({ cache_status: 'miss' })
    expect(fx.hits(path)).toBe(2)
  })

  it("a crawl in a named session neither reads nor writes the cache: its page's state is part of its result", async () => {
    const path = '/cache/session'
    await crawl(s, path, 'enabled')
    const inSession = await crawl(s, path, 'enabled', { session_id: 'cache-test-session' })
    expect(inSession).toMatchObject({ cache_status: null, cached_at: null })
    expect(await crawl(s, path, 'enabled', { session_id: 'cache-test-session' })).toMatchObject({ cache_status: null })
    expect(fx.hits(path)).toBe(3)
  })

  it('failures are not cached', async () => {
    const path = '/status/503'
    const { body } = await s.postJson<{ results: CrawlResult[] }>('/crawl', {
      urls: [fx.url(path), fx.url('/about')],
      crawler_config: { cache_mode: 'enabled' },
    })
    expect(body.results.find((r) => r.url.endsWith(path))).toMatchObject({ success: false, cache_status: null })
    const again = await s.postJson<{ results: CrawlResult[] }>('/crawl', { urls: [fx.url(path)], crawler_config: { cache_mode: 'enabled' } })
    expect(again.body.results[0]).toMatchObject({ success: false, cache_status: null })
    expect(fx.hits(path)).toBe(2)
  })

  it('/md: c "0" (the default) writes only, c "1" reads and writes', async () => {
    const path = '/cache/md'
    const md = async (c?: string) => {
      const { status, body } = await s.postJson<{ markdown: string; cache: string; warnings: string[] }>('/md', {
        url: fx.url(path),
        f: 'raw',
        ...(c ? { c } : {}),
      })
      expect(status).toBe(200)
      return body
    }
    const first = await md()
    await md('0')
    expect(fx.hits(path)).toBe(2)
    const cached = await md('1')
    expect(fx.hits(path)).toBe(2)
    expect(cached).toMatchObject({ markdown: first.markdown, cache: '1', warnings: [] })
    // /md's entry is its own: it does not answer /crawl.
    expect(await crawl(s, path, 'enabled')).toMatchObject({ cache_status: 'miss' })
  })
})

describe('monitor', () => {
  it('a hit is a tracked request marked cache_hit; endpoint stats carry the hit rate; health shows the cache', async () => {
    const path = '/cache/monitor'
    const url = fx.url(path)
    const done = s.nextEvent('request:finished', (e) => e.url === url)
    await crawl(s, path, 'enabled')
    expect(await done).toMatchObject({ cache_hit: false, success: true })
    const hitDone = s.nextEvent('request:finished', (e) => e.url === url)
    await crawl(s, path, 'enabled')
    expect(await hitDone).toMatchObject({ cache_hit: true, success: true, pool_hit: null })
    expect(await lastCompleted(s, url)).toMatchObject({ cache_hit: true, endpoint: '/crawl' })

    const completed = (await s.get<{ completed: CompletedRequest[] }>('/monitor/requests?status=completed&limit=1000')).body.completed
    const crawls = completed.filter((r) => r.endpoint === '/crawl')
    const stats = (await s.get<EndpointStatsResponse>('/monitor/endpoints/stats')).body['/crawl']!
    expect(stats.cache_hit_rate_percent).toBeGreaterThan(0)
    expect(stats.cache_hit_rate_percent).toBeCloseTo((100 * crawls.filter((r) => r.cache_hit).length) / crawls.length, 1)

    const h = await health(s)
    expect(h.cache).toMatchObject({ backend: 'lmdb', max_bytes: 1024 * 1024 * 1024, ttl_seconds: 86_400 })
    expect(h.cache.entries).toBeGreaterThan(0)
    expect(h.cache.bytes).toBeGreaterThan(0)
  })

  it('POST /monitor/actions/cache_clear empties the cache and says how much it held', async () => {
    const path = '/cache/clear'
    await crawl(s, path, 'enabled')
    const before = (await health(s)).cache
    const { status, body } = await s.postJson<CacheClearResponse>('/monitor/actions/cache_clear', {})
    expect(status).toBe(200)
    expect(body).toEqual({ success: true, cleared_entries: before.entries, cleared_bytes: before.bytes })
    expect((await health(s)).cache).toMatchObject({ entries: 0, bytes: 0 })
    expect(await crawl(s, path, 'enabled')).toMatchObject({ cache_status: 'miss' })
    expect(fx.hits(path)).toBe(2)
  })
})

describe('the byte cap', () => {
  it('with a small --cache-max-bytes the cache stays under it and the least recently used page is refetched', async () => {
    const small = await startService({ prewarm_pages: 0, cache_max_bytes: 96 * 1024 })
    try {
      // Each result holds the page's ~4 KB of text four times over (html, cleaned_html, two Markdowns): ~20 KB.
      const paths = Array.from({ length: 12 }, (_, i) => `/cache/cap-${i}?kb=4`)
      for (const p of paths) await crawl(small, p, 'enabled')
      const h = (await health(small)).cache
      expect(h.bytes).toBeLessThanOrEqual(96 * 1024)
      expect(h.entries).toBeLessThan(paths.length)
      expect(h.entries).toBeGreaterThan(0)
      // The newest is still there; the oldest was evicted.
      expect(await crawl(small, paths.at(-1)!, 'enabled')).toMatchObject({ cache_status: 'hit' })
      expect(await crawl(small, paths[0]!, 'enabled')).toMatchObject({ cache_status: 'miss' })
    } finally {
      await small.close()
    }
  })
})

describe('a data dir the cache cannot open', () => {
  it('the service starts and crawls without a cache; /monitor/health says why', async () => {
    const root = await mkdtemp(join(tmpdir(), 'crawldeck-cache-bad-'))
    const afile = join(root, 'afile')
    await writeFile(afile, 'not a directory')
    const svc = await startService({ prewarm_pages: 0, data_dir: join(afile, 'data') })
    try {
      const path = '/cache/no-store'
      expect(await crawl(svc, path, 'enabled')).toMatchObject({ cache_status: 'miss' })
      expect(await crawl(svc, path, 'enabled')).toMatchObject({ cache_status: 'miss' })
      expect(fx.hits(path)).toBe(2)
      const h = (await health(svc)).cache
      expect(h).toMatchObject({ backend: 'none', entries: 0 })
      expect(h.error).toMatch(/ENOTDIR|not a directory/)
      // The job store lives there too: /crawl/job says why it cannot queue, the rest serves on.
      const job = await fetch(`${svc.url}/crawl/job`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ urls: [fx.url(path)] }),
      })
      expect(job.status).toBe(503)
      expect(((await job.json()) as { error: string }).error).toMatch(/job store cannot be opened.*(ENOTDIR|not a directory)/)
      expect(((await health(svc)) as MonitorHealth & { jobs: { error?: string } }).jobs.error).toMatch(/job store cannot be opened/)
    } finally {
      await svc.close()
      await rm(root, { recursive: true, force: true })
    }
  })
})

describe('a SIGKILL in the middle of cache writes', () => {
  it('leaves a cache that reopens with its count, bytes and index agreeing, every entry readable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crawldeck-cache-kill-'))
    try {
      const max = 256 * 1024
      const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/cache-writer.ts', dir, String(max)], { stdio: ['ignore', 'pipe', 'inherit'] })
      let written = 0
      child.stdout.on('data', (chunk: Buffer) => {
        const last = /written (\d+)\n$/.exec(chunk.toString())
        if (last) written = Number(last[1])
      })
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      // Well past the cap, so evictions run in the transactions being killed too.
      await waitFor(() => written >= 400, 30_000, 'the writer to write 400 entries')
      process.kill(child.pid!, 'SIGKILL')
      await exited
      const cache = new LmdbCache({ dataDir: dir, maxBytes: max, ttlSeconds: 0 })
      try {
        const h = cache.health()
        const keys = cache.lruOrder()
        expect(h.entries).toBe(keys.length)
        expect(h.entries).toBeGreaterThan(0)
        expect(h.bytes).toBeLessThanOrEqual(max)
        for (const k of keys) expect(storedResult((await cache.get(k))!).success, k).toBe(true)
        await cache.put('after', storedResult((await cache.get(keys[0]!))!))
        expect(await cache.get('after')).not.toBeNull()
      } finally {
        await cache.close()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('Redis backend', () => {
  it('shares entries under the prefix with the TTL as their expiry; cache_clear removes only its own keys', async () => {
    const port = await freePort()
    const redis = await startRedis(port)
    const prefix = `crawldeck-test-${process.pid}-${Date.now()}:`
    const r = redisClient(port)
    await r.connect()
    const svc = await startService({ prewarm_pages: 0, redis_url: `redis://127.0.0.1:${port}`, redis_prefix: prefix, cache_ttl_seconds: 120 })
    let second: TestService | null = null
    try {
      const path = '/cache/redis'
      expect(await crawl(svc, path, 'enabled')).toMatchObject({ cache_status: 'miss' })
      const keys = await r.keys(`${prefix}cache:*`)
      expect(keys).toHaveLength(1)
      const ttl = await r.ttl(keys[0]!)
      expect(ttl).toBeGreaterThan(100)
      expect(ttl).toBeLessThanOrEqual(120)
      expect(await crawl(svc, path, 'enabled')).toMatchObject({ cache_status: 'hit' })
      expect(fx.hits(path)).toBe(1)
      // Another instance on the same Redis and prefix finds it: a fleet shares the cache.
      second = await startService({ prewarm_pages: 0, redis_url: `redis://127.0.0.1:${port}`, redis_prefix: prefix })
      expect(await crawl(second, path, 'enabled')).toMatchObject({ cache_status: 'hit' })
      expect(fx.hits(path)).toBe(1)
      // Measured (a walk of the prefix's keys) and kept up to date with this instance's own writes.
      expect((await health(svc)).cache).toMatchObject({ backend: 'redis', entries: 1, max_bytes: null, ttl_seconds: 120 })
      expect((await health(svc)).cache.bytes).toBeGreaterThan(1000)

      await r.set('unrelated-key', 'kept')
      const cleared = (await svc.postJson<CacheClearResponse>('/monitor/actions/cache_clear', {})).body
      expect(cleared).toMatchObject({ success: true, cleared_entries: 1 })
      expect(cleared.cleared_bytes).toBeGreaterThan(100)
      expect(await r.keys(`${prefix}cache:*`)).toEqual([])
      expect(await r.get('unrelated-key')).toBe('kept')
    } finally {
      await second?.close()
      await svc.close()
      const mine = await r.keys(`${prefix}*`)
      if (mine.length > 0) await r.del(...mine)
      r.disconnect()
      await stopRedis(redis)
    }
  })

  it('an expired entry is a miss', async () => {
    const port = await freePort()
    const redis = await startRedis(port)
    const prefix = `crawldeck-test-ttl-${process.pid}:`
    const r = redisClient(port)
    await r.connect()
    const svc = await startService({ prewarm_pages: 0, redis_url: `redis://127.0.0.1:${port}`, redis_prefix: prefix, cache_ttl_seconds: 1 })
    try {
      const path = '/cache/redis-ttl'
      await crawl(svc, path, 'enabled')
      // Redis expires the key itself; wait for that rather than for a fixed time.
      await waitFor(async () => (await r.keys(`${prefix}cache:*`)).length === 0, 10_000, 'the cache entry to expire')
      expect(await crawl(svc, path, 'enabled')).toMatchObject({ cache_status: 'miss' })
      expect(fx.hits(path)).toBe(2)
    } finally {
      await svc.close()
      r.disconnect()
      await stopRedis(redis)
    }
  })
})
