import type { CacheMode, CrawlResult } from '../../../shared/crawl-schemas.js'
import type { CacheHealth } from '../../../shared/monitor-types.js'

/*
 * The result cache both backends offer (lmdb-cache.ts in the data dir, redis-cache.ts shared by
 * a fleet), and what each of Crawl4AI's cache modes lets a call do with it.
 */

/** A stored result and when it was written. */
export interface CachedResult {
  result: CrawlResult
  /** Epoch seconds of the write. */
  cached_at: number
}

export interface ResultCache {
  readonly backend: CacheHealth['backend']
  /** The stored result of `key`, or null (never stored, expired, evicted, or the store failed). */
  get(key: string): Promise<CachedResult | null>
  /** Store a successful result; a store that fails only loses the entry. */
  put(key: string, result: CrawlResult): Promise<void>
  /** Remove every entry; how many there were and the bytes they held. */
  clear(): Promise<{ entries: number; bytes: number }>
  /** What /monitor/health shows, without waiting on the store. */
  health(): CacheHealth
  close(): Promise<void>
}

/** Crawl4AI's CacheMode table (reference §5). */
export function readsCache(mode: CacheMode): boolean {
  return mode === 'enabled' || mode === 'read_only'
}

export function writesCache(mode: CacheMode): boolean {
  return mode === 'enabled' || mode === 'write_only'
}

/**
 * What is stored of a result: the crawl's own answer, without what belongs to the call that made
 * it (the request's warnings are added per call, the cache fields are set on the way out).
 */
export function storedForm(result: CrawlResult): CrawlResult {
  return { ...result, cached_at: null, cache_status: null }
}
