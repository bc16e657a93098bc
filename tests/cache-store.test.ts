import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cacheKey } from '../src/main/core/cache/cache-key.js'
import { LmdbCache } from '../src/main/core/cache/lmdb-cache.js'
import { readsCache, writesCache } from '../src/main/core/cache/result-cache.js'
import { storedResult } from '../src/main/core/cache/stored-entry.js'
import { emptyResult, WANT_EVERYTHING } from '../src/main/core/crawl/crawler.js'
import { BrowserConfigObject, CrawlerConfigObject, CrawlRequestSchema, type CrawlResult } from '../src/shared/crawl-schemas.js'
import { ConfigDumpRequestSchema } from '../src/shared/crawl4ai/dump.js'

/*
 * The result cache without a browser: its key, the CacheMode table, and the embedded LMDB store's
 * byte cap, LRU order, expiry and clearing. The service-level behaviour is in result-cache.test.ts.
 */

const B = BrowserConfigObject.parse({})
const C = CrawlerConfigObject.parse({})
const URL_A = 'https://example.com/a'

describe('cacheKey', () => {
  it('the same crawl gets the same key; the URL, the browser and every content field change it', () => {
    const k = cacheKey(URL_A, B, C)
    expect(k).toMatch(/^[0-9a-f]{64}$/)
    expect(cacheKey(URL_A, BrowserConfigObject.parse({}), CrawlerConfigObject.parse({}))).toBe(k)
    expect(cacheKey('https://example.com/b', B, C)).not.toBe(k)
    expect(cacheKey(URL_A, BrowserConfigObject.parse({ user_agent: 'other' }), C)).not.toBe(k)
    const changed: Record<string, unknown> = {
      css_selector: 'main',
      excluded_tags: ['nav'],
      excluded_selector: '.ad',
      word_count_threshold: 5,
      only_text: true,
      exclude_external_links: true,
      target_elements: ['article'],
      screenshot: true,
      pdf: true,
      js_code: ['1'],
      wait_for: 'css:#x',
      markdown_generator: { type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'PruningContentFilter', params: {} } } },
    }
    for (const [name, value] of Object.entries(changed)) expect(cacheKey(URL_A, B, CrawlerConfigObject.parse({ [name]: value })), name).not.toBe(k)
  })

  it('how long to wait, how to frame the answer and the cache mode itself leave the key alone', () => {
    const k = cacheKey(URL_A, B, C)
    for (const over of [{ page_timeout: 5000 }, { wait_for_timeout: 1000 }, { stream: true }, { cache_mode: 'enabled' as const }])
      expect(cacheKey(URL_A, B, CrawlerConfigObject.parse(over)), JSON.stringify(over)).toBe(k)
  })

  it("what the route asks of the crawl is in the key: /md's result may not answer /crawl", () => {
    expect(cacheKey(URL_A, B, C, WANT_EVERYTHING)).not.toBe(cacheKey(URL_A, B, C, { ...WANT_EVERYTHING, cleanedOnly: true }))
  })

  it('only http: and https: URLs are cacheable', () => {
    expect(cacheKey('http://example.com/', B, C)).not.toBeNull()
    expect(cacheKey('raw:<p>x</p>', B, C)).toBeNull()
    expect(cacheKey('file:///etc/passwd', B, C)).toBeNull()
  })
})

describe('cache_mode', () => {
  it("Crawl4AI's table: enabled reads and writes, read_only reads, write_only writes, disabled and bypass neither", () => {
    const table = (['enabled', 'disabled', 'read_only', 'write_only', 'bypass'] as const).map((m) => [m, readsCache(m), writesCache(m)])
    expect(table).toEqual([
      ['enabled', true, true],
      ['disabled', false, false],
      ['read_only', true, false],
      ['write_only', false, true],
      ['bypass', false, false],
    ])
  })

  it('an invalid value is a 400 naming the field and the values', () => {
    const r = CrawlRequestSchema.safeParse({ urls: [URL_A], crawler_config: { cache_mode: 'sometimes' } })
    expect(r.success).toBe(false)
    expect(r.error!.issues[0]).toMatchObject({ path: ['crawler_config', 'cache_mode'] })
    expect(r.error!.issues[0]!.message).toMatch(/"enabled".*"bypass"/)
  })

  it("dumps in Crawl4AI's typed enum form when not the default, and the dump parses back", () => {
    const dumped = ConfigDumpRequestSchema.parse({ type: 'CrawlerRunConfig', params: { cache_mode: 'enabled' } })
    expect(dumped.params.cache_mode).toEqual({ type: 'CacheMode', params: 'enabled' })
    expect(CrawlRequestSchema.parse({ urls: [URL_A], crawler_config: dumped }).crawler_config.cache_mode).toBe('enabled')
    expect(ConfigDumpRequestSchema.parse({ type: 'CrawlerRunConfig', params: { cache_mode: 'bypass' } }).params).not.toHaveProperty('cache_mode')
  })
})

function page(url: string, bytes: number): CrawlResult {
  return { ...emptyResult(url), success: true, status_code: 200, html: 'x'.repeat(bytes) }
}

describe('the embedded store (LMDB)', () => {
  const dirs: string[] = []
  const open: LmdbCache[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()))
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
  })
  async function cache(maxBytes: number, ttlSeconds = 0, dataDir?: string): Promise<LmdbCache> {
    const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'crawldeck-cache-')))
    if (dataDir === undefined) dirs.push(dir)
    const c = new LmdbCache({ dataDir: dir, maxBytes, ttlSeconds })
    open.push(c)
    return c
  }

  it('gives back what was put, with when it was written, and counts its bytes', async () => {
    const c = await cache(1024 * 1024)
    const before = Date.now() / 1000
    await c.put('k1', page(URL_A, 1000))
    const hit = await c.get('k1')
    expect(storedResult(hit!)).toMatchObject({ url: URL_A, success: true, html: 'x'.repeat(1000) })
    expect(hit!.cached_at).toBeGreaterThanOrEqual(before - 0.01)
    expect(await c.get('k2')).toBeNull()
    const h = c.health()
    expect(h).toMatchObject({ backend: 'lmdb', entries: 1, max_bytes: 1024 * 1024 })
    expect(h.bytes).toBeGreaterThan(1000)
    // Writing a key again replaces it: still one entry, its bytes counted once.
    await c.put('k1', page(URL_A, 500))
    expect(c.health().entries).toBe(1)
    expect(c.health().bytes).toBeLessThan(h.bytes!)
  })

  it('the byte cap holds, least recently used first out; a read makes an entry recent', async () => {
    // Each entry is ~10.6 KB: four fit in 48 KB, five do not.
    const c = await cache(48 * 1024)
    for (const k of ['a', 'b', 'c', 'd']) await c.put(k, page(`${URL_A}/${k}`, 10_000))
    expect(c.health().entries).toBe(4)
    expect(await c.get('a')).not.toBeNull() // a is now the most recent
    await expect.poll(() => c.lruOrder()).toEqual(['b', 'c', 'd', 'a'])
    await c.put('e', page(`${URL_A}/e`, 10_000))
    expect(await c.get('b')).toBeNull()
    for (const k of ['a', 'c', 'd', 'e']) expect(await c.get(k), k).not.toBeNull()
    expect(c.health().bytes).toBeLessThanOrEqual(48 * 1024)
    // Many more writes: the cap still holds and the count matches the index.
    for (let i = 0; i < 40; i++) await c.put(`n${i}`, page(`${URL_A}/${i}`, 3000 + 200 * (i % 7)))
    const h = c.health()
    expect(h.bytes).toBeLessThanOrEqual(48 * 1024)
    expect(c.lruOrder()).toHaveLength(h.entries!)
    expect(c.lruOrder().at(-1)).toBe('n39')
  })

  it('an entry larger than the whole cache is not stored (it would only evict everything)', async () => {
    const c = await cache(64 * 1024)
    await c.put('small', page(URL_A, 100))
    await c.put('huge', page(URL_A, 100_000))
    expect(await c.get('huge')).toBeNull()
    expect(await c.get('small')).not.toBeNull()
  })

  it('an expired entry is a miss and leaves the count', async () => {
    const c = await cache(1024 * 1024, 1)
    await c.put('k', page(URL_A, 10))
    expect(await c.get('k')).not.toBeNull()
    const realNow = Date.now
    try {
      Date.now = () => realNow() + 1500
      expect(await c.get('k')).toBeNull()
    } finally {
      Date.now = realNow
    }
    await expect.poll(() => c.health().entries).toBe(0)
  })

  it('clear removes everything and says how much; the store survives a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crawldeck-cache-'))
    dirs.push(dir)
    const c = await cache(1024 * 1024, 0, dir)
    for (const k of ['a', 'b', 'c']) await c.put(k, page(URL_A, 100))
    const bytes = c.health().bytes
    await c.close()
    open.splice(open.indexOf(c), 1)
    const again = await cache(1024 * 1024, 0, dir)
    expect(again.health()).toMatchObject({ entries: 3, bytes })
    expect(await again.get('b')).not.toBeNull()
    expect(await again.clear()).toEqual({ entries: 3, bytes })
    expect(again.health()).toMatchObject({ entries: 0, bytes: 0 })
    expect(await again.get('a')).toBeNull()
    expect(again.lruOrder()).toEqual([])
  })
})
