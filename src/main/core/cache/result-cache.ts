import type { CacheMode, CrawlResult } from '../../../shared/crawl-schemas.js'
import type { CacheHealth } from '../../../shared/monitor-types.js'
import type { StoredResult } from './stored-entry.js'

/*
 * The result cache both backends offer (lmdb-cache.ts in the data dir, redis-cache.ts shared by
 * a fleet), and what each of Crawl4AI's cache modes lets a call do with it.
 */

export type { StoredResult } from './stored-entry.js'

/** What a cache has done since it opened, for /metrics. */
export interface CacheCounts {
  /** Lookups answered with an entry. */
  hits: number
  /** Lookups that found none (never stored, expired, evicted, or the store failed). */
  misses: number
  /** Entries written. */
  writes: number
}

export interface ResultCache {
  readonly backend: CacheHealth['backend']
  /** The stored entry of `key`, or null (never stored, expired, evicted, or the store failed). */
  get(key: string): Promise<StoredResult | null>
  /** Store a successful result; false when it was not stored (too large, or the store failed). */
  put(key: string, result: CrawlResult): Promise<boolean>
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
