import type { CacheHealth } from '../../../shared/monitor-types.js'
import type { FixedConfig } from '../config.js'
import type { Logger } from '../logger.js'
import { LmdbCache } from './lmdb-cache.js'
import { CountedCache } from './counted-cache.js'
import { RedisCache } from './redis-cache.js'
import type { ResultCache, StoredResult } from './result-cache.js'

/**
 * The result cache of this configuration: Redis when --redis-url is set, else LMDB in the data
 * dir. A data dir the cache cannot open (not writable, not a directory) does not stop the service:
 * it serves without a cache, and /monitor/health says why. Lookups and writes are counted for
 * /metrics whichever it is.
 */
export function openResultCache(
  config: Pick<FixedConfig, 'data_dir' | 'redis_url' | 'redis_prefix' | 'cache_max_bytes' | 'cache_ttl_seconds'>,
  logger?: Logger,
): CountedCache {
  return new CountedCache(openBackend(config, logger))
}

function openBackend(config: Parameters<typeof openResultCache>[0], logger?: Logger): ResultCache {
  if (config.redis_url) return new RedisCache({ url: config.redis_url, prefix: config.redis_prefix, ttlSeconds: config.cache_ttl_seconds, logger })
  try {
    return new LmdbCache({ dataDir: config.data_dir, maxBytes: config.cache_max_bytes, ttlSeconds: config.cache_ttl_seconds, logger })
  } catch (err) {
    const error = `the result cache cannot be opened in ${config.data_dir}: ${err instanceof Error ? err.message : String(err)}`
    logger?.warn(`${error}; serving without a cache`)
    return new UnavailableCache(error, config.cache_ttl_seconds)
  }
}

/** No store: every lookup a miss, every write dropped. */
class UnavailableCache implements ResultCache {
  readonly backend = 'none' as const
  constructor(
    private readonly error: string,
    private readonly ttlSeconds: number,
  ) {}
  async get(): Promise<StoredResult | null> {
    return null
  }
  async put(): Promise<boolean> {
    return false
  }
  async clear(): Promise<{ entries: number; bytes: number }> {
    return { entries: 0, bytes: 0 }
  }
  health(): CacheHealth {
    return { backend: 'none', entries: 0, bytes: 0, max_bytes: 0, ttl_seconds: this.ttlSeconds, error: this.error }
  }
  async close(): Promise<void> {}
}
