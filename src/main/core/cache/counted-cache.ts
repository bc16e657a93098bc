import type { CrawlResult } from '../../../shared/crawl-schemas.js'
import type { CacheHealth } from '../../../shared/monitor-types.js'
import type { CacheCounts, ResultCache, StoredResult } from './result-cache.js'

/**
 * A cache that counts what was asked of it: lookups by outcome and entries written, as they
 * happen (whatever the backend), for /metrics. Counting here rather than in each backend keeps
 * one definition of a hit for LMDB, Redis and no store at all.
 */
export class CountedCache implements ResultCache {
  private readonly counts: CacheCounts = { hits: 0, misses: 0, writes: 0 }

  constructor(readonly inner: ResultCache) {}

  get backend(): CacheHealth['backend'] {
    return this.inner.backend
  }

  async get(key: string): Promise<StoredResult | null> {
    const found = await this.inner.get(key)
    if (found === null) this.counts.misses++
    else this.counts.hits++
    return found
  }

  async put(key: string, result: CrawlResult): Promise<boolean> {
    const stored = await this.inner.put(key, result)
    if (stored) this.counts.writes++
    return stored
  }

  clear(): Promise<{ entries: number; bytes: number }> {
    return this.inner.clear()
  }

  health(): CacheHealth {
    return this.inner.health()
  }

  /** Lookups and writes since the cache opened (a copy). */
  stats(): CacheCounts {
    return { ...this.counts }
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
