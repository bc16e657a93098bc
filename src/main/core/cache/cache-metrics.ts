import { Counter, Gauge, type Registry } from 'prom-client'
import type { CacheHealth } from '../../../shared/monitor-types.js'
import type { CacheCounts } from './result-cache.js'

/** What the cache metrics read, at scrape time: the counts kept as lookups happen and the store's measured size. */
export interface CacheMetricsSource {
  health(): CacheHealth
  stats(): CacheCounts
}

/**
 * The result cache in Prometheus: lookups by result and writes (counted by CountedCache as they
 * happen), entries and bytes (what the store holds: LMDB's totals, kept in the same transactions
 * as its writes; Redis's last measurement). The size gauges carry the backend as a label and have
 * no sample while the size is unknown (Redis not measured yet), rather than a made-up 0.
 */
export function registerCacheMetrics(registry: Registry, cache: CacheMetricsSource): void {
  new Counter({
    name: 'crawldeck_cache_lookups_total',
    help: 'Result cache lookups by result: hit (answered from the cache) or miss (not there, expired or evicted; the page was crawled)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const counts = cache.stats()
      this.reset()
      this.inc({ result: 'hit' }, counts.hits)
      this.inc({ result: 'miss' }, counts.misses)
    },
  })
  new Counter({
    name: 'crawldeck_cache_writes_total',
    help: 'Results written to the result cache',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(cache.stats().writes)
    },
  })
  new Gauge({
    name: 'crawldeck_cache_entries',
    help: 'Entries in the result cache, by backend (lmdb, redis: every instance on the prefix, none)',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect() {
      const h = cache.health()
      this.reset()
      if (h.entries !== null) this.set({ backend: h.backend }, h.entries)
    },
  })
  new Gauge({
    name: 'crawldeck_cache_bytes',
    help: 'Bytes held by the result cache entries, by backend',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect() {
      const h = cache.health()
      this.reset()
      if (h.bytes !== null) this.set({ backend: h.backend }, h.bytes)
    },
  })
}
