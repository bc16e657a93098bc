import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RootDatabase } from 'lmdb'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { cacheKey, resultSettingsOf } from '../src/main/core/cache/cache-key.js'
import { LmdbCache } from '../src/main/core/cache/lmdb-cache.js'
import { RedisCache } from '../src/main/core/cache/redis-cache.js'
import { decodeEntry, encodeEntry, hitAnswer, storedResult } from '../src/main/core/cache/stored-entry.js'
import { ConfigSchema } from '../src/main/core/config.js'
import { emptyResult } from '../src/main/core/crawl/crawler.js'
import { BrowserConfigObject, CrawlerConfigObject, type CrawlResult } from '../src/shared/crawl-schemas.js'
import { freePort, redisClient, startRedis, stopAllRedis, stopRedis } from './helpers/redis-server.js'
import { waitFor } from './helpers/service.js'

/*
 * The cache backends below the service: the stored entry's form, LMDB's batched LRU bumps
 * (eviction stays least-recently-used first), Redis's measured size under TTL expiry and writes
 * from other instances, and the server settings in the key.
 */

function page(url: string, bytes: number, extra: Partial<CrawlResult> = {}): CrawlResult {
  return { ...emptyResult(url), success: true, status_code: 200, html: 'x'.repeat(bytes), ...extra }
}

afterAll(async () => {
  await stopAllRedis()
})

describe('the stored entry', () => {
  it('is a header line and the result without the per-answer fields; a hit puts them in front of the same bytes', () => {
    const result = page('https://example.com/é', 100, { warnings: ['own warning'], duration_ms: 123, html: 'line\nbreak ✓ \u2028' })
    const bytes = encodeEntry(result, 1_765_000_000.5)
    const stored = decodeEntry(bytes)!
    expect(stored).toMatchObject({ cached_at: 1_765_000_000.5, warnings: ['own warning'] })
    const body = JSON.parse(stored.body.toString('utf8')) as Record<string, unknown>
    for (const name of ['cache_status', 'cached_at', 'duration_ms', 'warnings']) expect(body, name).not.toHaveProperty(name)
    const answer = hitAnswer(stored, 7)
    const text = Buffer.concat([...answer.pieces()].map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString('utf8')
    expect(text.endsWith(stored.body.toString('utf8').slice(1))).toBe(true)
    expect(JSON.parse(text)).toEqual({ ...result, cache_status: 'hit', cached_at: 1_765_000_000.5, duration_ms: 7 })
    expect(storedResult(stored).html).toBe('line\nbreak ✓ \u2028')
    // An entry of the earlier format (no header line) is not one: a miss, not a crash.
    expect(decodeEntry(Buffer.from(JSON.stringify(result)))).toBeNull()
  })
})

describe('LMDB: LRU bumps written in batches', () => {
  const dirs: string[] = []
  const open: LmdbCache[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()))
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
  })
  async function cache(maxBytes: number, touch: { touchFlushMs?: number; touchBatch?: number }, dir?: string): Promise<LmdbCache> {
    const dataDir = dir ?? (await mkdtemp(join(tmpdir(), 'crawldeck-cache-touch-')))
    if (dir === undefined) dirs.push(dataDir)
    const c = new LmdbCache({ dataDir, maxBytes, ttlSeconds: 0, ...touch })
    open.push(c)
    return c
  }
  const transactions = (c: LmdbCache) => vi.spyOn((c as unknown as { root: RootDatabase }).root, 'transaction')

  it('many hits cost no write transaction until the flush, which is one', async () => {
    const c = await cache(1024 * 1024, { touchFlushMs: 60_000, touchBatch: 10_000 })
    for (const k of ['a', 'b', 'c']) await c.put(k, page(`https://example.com/${k}`, 100))
    const tx = transactions(c)
    for (let i = 0; i < 100; i++) expect(await c.get(['a', 'b', 'c'][i % 3]!)).not.toBeNull()
    expect(tx).not.toHaveBeenCalled()
    await c.flushTouches()
    expect(tx).toHaveBeenCalledTimes(1)
    // The last use of each decides its place: b at i = 97, c at 98, a at 99.
    expect(c.lruOrder()).toEqual(['b', 'c', 'a'])
  })

  it('a full batch, or the flush interval, writes the bumps without a put', async () => {
    const batched = await cache(1024 * 1024, { touchFlushMs: 60_000, touchBatch: 4 })
    for (const k of ['a', 'b', 'c', 'd']) await batched.put(k, page(`https://example.com/${k}`, 100))
    const tx = transactions(batched)
    for (const k of ['d', 'c', 'b']) await batched.get(k)
    expect(tx).not.toHaveBeenCalled()
    await batched.get('a')
    await vi.waitFor(() => expect(tx).toHaveBeenCalledTimes(1))

    const timed = await cache(1024 * 1024, { touchFlushMs: 30, touchBatch: 10_000 })
    for (const k of ['a', 'b']) await timed.put(k, page(`https://example.com/${k}`, 100))
    const timedTx = transactions(timed)
    await timed.get('a')
    await vi.waitFor(() => expect(timedTx).toHaveBeenCalledTimes(1))
  })

  it('eviction still takes the least recently used first: a put applies the bumps not yet written', async () => {
    // Each entry is ~10.6 KB: four fit in 48 KB, five do not.
    const c = await cache(48 * 1024, { touchFlushMs: 60_000, touchBatch: 10_000 })
    for (const k of ['a', 'b', 'c', 'd']) await c.put(k, page(`https://example.com/${k}`, 10_000))
    // a and b used: c is now the least recently used, though no bump is written yet.
    await c.get('a')
    await c.get('b')
    await c.put('e', page('https://example.com/e', 10_000))
    expect(await c.get('c')).toBeNull()
    // Used in this order: a is now the least recently used, and goes next.
    for (const k of ['a', 'b', 'd', 'e']) expect(await c.get(k), k).not.toBeNull()
    await c.put('f', page('https://example.com/f', 10_000))
    expect(await c.get('a')).toBeNull()
    for (const k of ['b', 'd', 'e', 'f']) expect(await c.get(k), k).not.toBeNull()
    expect(c.health().bytes).toBeLessThanOrEqual(48 * 1024)
    expect(c.lruOrder()).toHaveLength(c.health().entries!)
  })

  it('close writes the bumps: the order survives a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crawldeck-cache-touch-'))
    dirs.push(dir)
    const c = await cache(1024 * 1024, { touchFlushMs: 60_000, touchBatch: 10_000 }, dir)
    for (const k of ['a', 'b', 'c']) await c.put(k, page(`https://example.com/${k}`, 100))
    await c.get('a')
    await c.close()
    open.splice(open.indexOf(c), 1)
    const again = await cache(1024 * 1024, {}, dir)
    expect(again.lruOrder()).toEqual(['b', 'c', 'a'])
  })
})

describe('Redis: entries and bytes measured', () => {
  it('counts its own writes at once, others at the next walk, and expired entries leave the count', async () => {
    const port = await freePort()
    const redis = await startRedis(port)
    const prefix = `crawldeck-h1-measure-${process.pid}:`
    const r = redisClient(port)
    await r.connect()
    const url = `redis://127.0.0.1:${port}`
    const one = new RedisCache({ url, prefix, ttlSeconds: 2 })
    const other = new RedisCache({ url, prefix, ttlSeconds: 600 })
    try {
      expect(await one.measure()).toEqual({ entries: 0, bytes: 0 })
      expect(await one.put('k1', page('https://example.com/1', 1000))).toBe(true)
      expect(await one.put('k2', page('https://example.com/2', 2000))).toBe(true)
      // Written again: still two entries.
      expect(await one.put('k1', page('https://example.com/1', 1500))).toBe(true)
      const truth = async () => {
        const keys = await r.keys(`${prefix}cache:*`)
        let bytes = 0
        for (const k of keys) bytes += (await r.strlen(k)) + Buffer.byteLength(k)
        return { entries: keys.length, bytes }
      }
      expect(one.health()).toMatchObject({ backend: 'redis', ...(await truth()) })
      // Another instance's write shows at the next walk.
      await other.put('k3', page('https://example.com/3', 500))
      expect(one.health().entries).toBe(2)
      expect(await one.measure()).toEqual(await truth())
      expect(one.health()).toMatchObject({ entries: 3 })
      // k1 and k2 expire in Redis with no instance told: the walk sees them gone.
      await waitFor(async () => (await r.keys(`${prefix}cache:*`)).length === 1, 10_000, 'the entries to expire')
      expect(await one.measure()).toEqual(await truth())
      expect(one.health()).toMatchObject({ entries: 1 })
      const left = await truth()
      expect(await one.clear()).toEqual(left)
      expect(one.health()).toMatchObject({ entries: 0, bytes: 0 })
    } finally {
      await one.close()
      await other.close()
      r.disconnect()
      await stopRedis(redis)
    }
  })

  it('health asks for a new walk once the last is older than measureEveryMs', async () => {
    const port = await freePort()
    const redis = await startRedis(port)
    const prefix = `crawldeck-h1-stale-${process.pid}:`
    const url = `redis://127.0.0.1:${port}`
    const one = new RedisCache({ url, prefix, ttlSeconds: 0, measureEveryMs: 50 })
    const other = new RedisCache({ url, prefix, ttlSeconds: 0 })
    try {
      await one.measure()
      await other.put('k', page('https://example.com/k', 100))
      await waitFor(() => one.health().entries === 1, 5_000, 'a walk started by health to count the other instance')
    } finally {
      await one.close()
      await other.close()
      await stopRedis(redis)
    }
  })
})

describe('the server settings in the key', () => {
  it('every setting that changes a result changes the key; others leave it', () => {
    const B = BrowserConfigObject.parse({})
    const C = CrawlerConfigObject.parse({})
    const base = ConfigSchema.parse({})
    const key = (over: Record<string, unknown>, blocked = false, version = '1.0.0') =>
      cacheKey('https://example.com/', B, C, undefined, resultSettingsOf({ ...base, ...over } as typeof base, blocked, version))
    const k = key({})
    expect(key({})).toBe(k)
    expect(key({}, true)).not.toBe(k)
    expect(key({}, false, '1.0.1')).not.toBe(k)
    for (const over of [
      { allow_js_code: true },
      { max_screenshot_height: 2000 },
      { max_capture_bytes: 4096 },
      { chromium_args: ['--lang=de'] },
      { chromium: '/x' },
    ])
      expect(key(over), JSON.stringify(over)).not.toBe(k)
    // Exempt networks matter only while private targets are refused.
    expect(key({ private_targets_allowed: ['10.0.0.0/8'] })).toBe(k)
    expect(key({ private_targets_allowed: ['10.0.0.0/8'] }, true)).not.toBe(key({}, true))
    for (const over of [{ max_pages: 3 }, { port: 1234 }, { cache_ttl_seconds: 5 }, { max_page_timeout_ms: 5000 }])
      expect(key(over), JSON.stringify(over)).toBe(k)
  })
})
