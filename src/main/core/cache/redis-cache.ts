import type { Redis } from 'ioredis'
import { quietRedisClient } from '../store/redis-client.js'
import type { CrawlResult } from '../../../shared/crawl-schemas.js'
import type { CacheHealth } from '../../../shared/monitor-types.js'
import type { Logger } from '../logger.js'
import { storedForm, type CachedResult, type ResultCache } from './result-cache.js'

/*
 * The result cache in Redis (--redis-url), shared by every instance using the same prefix: one
 * string key per entry, `<prefix>cache:<key>`, holding `{cached_at, result}` as JSON, written with
 * the TTL (--cache-ttl) as its expiry. Redis's own maxmemory (with an LRU eviction policy such as
 * allkeys-lru) caps its size: --cache-max-bytes is the embedded store's. A Redis that is away
 * makes every lookup a miss and every write a no-op; crawls go on.
 */

export interface RedisCacheOptions {
  url: string
  prefix: string
  ttlSeconds: number
  logger?: Logger
}

/** Keys removed per UNLINK while clearing. */
const CLEAR_BATCH = 500

export class RedisCache implements ResultCache {
  readonly backend = 'redis' as const
  private readonly redis: Redis
  private readonly keyPrefix: string

  constructor(private readonly options: RedisCacheOptions) {
    this.keyPrefix = `${options.prefix}cache:`
    this.redis = quietRedisClient(options.url)
  }

  private async ready(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect()
  }

  async get(key: string): Promise<CachedResult | null> {
    try {
      await this.ready()
      const body = await this.redis.getBuffer(this.keyPrefix + key)
      if (body === null) return null
      return JSON.parse(body.toString('utf8')) as CachedResult
    } catch (err) {
      this.options.logger?.warn({ err: String(err) }, 'result cache (Redis) read failed: served as a miss')
      return null
    }
  }

  async put(key: string, result: CrawlResult): Promise<void> {
    const body = JSON.stringify({ cached_at: Date.now() / 1000, result: storedForm(result) } satisfies CachedResult)
    try {
      await this.ready()
      if (this.options.ttlSeconds > 0) await this.redis.set(this.keyPrefix + key, body, 'EX', this.options.ttlSeconds)
      else await this.redis.set(this.keyPrefix + key, body)
    } catch (err) {
      this.options.logger?.warn({ err: String(err) }, 'result cache (Redis) write failed: the result is not cached')
    }
  }

  async clear(): Promise<{ entries: number; bytes: number }> {
    await this.ready()
    let entries = 0
    let bytes = 0
    let cursor = '0'
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${escapeGlob(this.keyPrefix)}*`, 'COUNT', CLEAR_BATCH)
      cursor = next
      if (keys.length === 0) continue
      const sizes = await this.redis.pipeline(keys.map((k) => ['strlen', k])).exec()
      const removed = await this.redis.unlink(...keys)
      entries += removed
      for (const [err, n] of sizes ?? []) if (err === null && typeof n === 'number') bytes += n
    } while (cursor !== '0')
    return { entries, bytes }
  }

  health(): CacheHealth {
    return { backend: 'redis', entries: null, bytes: null, max_bytes: null, ttl_seconds: this.options.ttlSeconds, error: null }
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}

/** A prefix taken literally in a SCAN MATCH pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
