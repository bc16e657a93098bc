import type { Redis } from 'ioredis'
import { quietRedisClient } from '../store/redis-client.js'
import type { CrawlResult } from '../../../shared/crawl-schemas.js'
import type { CacheHealth } from '../../../shared/monitor-types.js'
import type { Logger } from '../logger.js'
import type { ResultCache } from './result-cache.js'
import { decodeEntry, encodeEntry, type StoredResult } from './stored-entry.js'

/*
 * The result cache in Redis (--redis-url), shared by every instance using the same prefix: one
 * string key per entry, `<prefix>cache:<key>`, holding the entry's bytes (stored-entry.ts),
 * written with the TTL (--cache-ttl) as its expiry. Redis's own maxmemory (with an LRU eviction
 * policy such as allkeys-lru) caps its size: --cache-max-bytes is the embedded store's. A Redis
 * that is away makes every lookup a miss and every write a no-op; crawls go on.
 *
 * Its size on the health bar is measured, not kept: entries leave Redis without any instance
 * hearing of it (their TTL runs out, maxmemory evicts them, another instance clears them), so a
 * count kept beside them, even one updated in the same MULTI as each write, would only drift
 * upwards. Instead the keys under the prefix are walked with SCAN (in steps: Redis is never
 * blocked) and their STRLENs summed, once at start and again when health is asked for and the
 * last walk is older than `measureEveryMs`. Between walks this instance adds its own writes (the
 * old length read in the same MULTI as the SET), so what it just cached shows at once; others'
 * writes and every expiry show at the next walk. A walk costs one STRLEN per entry.
 */

export interface RedisCacheOptions {
  url: string
  prefix: string
  ttlSeconds: number
  logger?: Logger
  /** How old a measurement may be before health asks for a new one (ms); 30 s by default. */
  measureEveryMs?: number
}

/** Keys per SCAN step (clearing and measuring). */
const SCAN_BATCH = 500

const MEASURE_EVERY_MS = 30_000

interface Size {
  entries: number
  bytes: number
}

export class RedisCache implements ResultCache {
  readonly backend = 'redis' as const
  private readonly redis: Redis
  private readonly keyPrefix: string
  private connecting: Promise<void> | null = null
  /** The last walk's result plus this instance's writes since; null until a walk succeeded. */
  private size: Size | null = null
  /** When the last walk started, successful or not: a Redis that is away is not asked on every health call. */
  private attemptedAt = 0
  private measuring: Promise<Size | null> | null = null
  private closed = false
  /** Bumped by clear: a walk that started before it counted keys that are gone. */
  private generation = 0

  constructor(private readonly options: RedisCacheOptions) {
    this.keyPrefix = `${options.prefix}cache:`
    this.redis = quietRedisClient(options.url)
    void this.measure()
  }

  private async ready(): Promise<void> {
    if (this.redis.status === 'wait') this.connecting ??= this.redis.connect().finally(() => (this.connecting = null))
    if (this.connecting !== null) await this.connecting
  }

  async get(key: string): Promise<StoredResult | null> {
    try {
      await this.ready()
      const bytes = await this.redis.getBuffer(this.keyPrefix + key)
      return bytes === null ? null : decodeEntry(bytes)
    } catch (err) {
      this.options.logger?.warn({ err: String(err) }, 'result cache (Redis) read failed: served as a miss')
      return null
    }
  }

  async put(key: string, result: CrawlResult): Promise<boolean> {
    try {
      const body = encodeEntry(result, Date.now() / 1000)
      const name = this.keyPrefix + key
      await this.ready()
      const write = this.redis.multi().strlen(name)
      if (this.options.ttlSeconds > 0) write.set(name, body, 'EX', this.options.ttlSeconds)
      else write.set(name, body)
      const replies = await write.exec()
      const failed = replies?.find(([err]) => err !== null)
      if (replies === null || failed !== undefined) throw failed?.[0] ?? new Error('the write was discarded')
      const before = replies[0]?.[1] as number
      if (this.size !== null) {
        if (before === 0) this.size.entries++
        this.size.bytes += body.length - before + (before === 0 ? Buffer.byteLength(name) : 0)
      }
      return true
    } catch (err) {
      this.options.logger?.warn({ err: String(err) }, 'result cache (Redis) write failed: the result is not cached')
      return false
    }
  }

  /** Each key under the prefix, a SCAN step at a time, with its value's length. */
  private async *walk(): AsyncGenerator<Array<{ key: string; length: number }>> {
    await this.ready()
    let cursor = '0'
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${escapeGlob(this.keyPrefix)}*`, 'COUNT', SCAN_BATCH)
      cursor = next
      if (keys.length === 0) continue
      const lengths = (await this.redis.pipeline(keys.map((k) => ['strlen', k])).exec()) ?? []
      // A key that expired between SCAN and STRLEN has length 0: it is no longer there.
      yield keys.map((key, i) => ({ key, length: lengths[i]?.[0] === null && typeof lengths[i]?.[1] === 'number' ? (lengths[i]![1] as number) : 0 }))
    } while (cursor !== '0')
  }

  /**
   * Walk the keys and count them: entries, and bytes as each value's length plus its key's (what
   * the embedded store counts too, less its fixed per-entry overhead). Null when Redis is away.
   */
  measure(): Promise<Size | null> {
    this.measuring ??= (async () => {
      this.attemptedAt = Date.now()
      const generation = this.generation
      try {
        const size: Size = { entries: 0, bytes: 0 }
        for await (const batch of this.walk())
          for (const { key, length } of batch) {
            if (length === 0) continue
            size.entries++
            size.bytes += length + Buffer.byteLength(key)
          }
        if (!this.closed && generation === this.generation) this.size = size
        return size
      } catch (err) {
        this.options.logger?.debug({ err: String(err) }, 'result cache (Redis) could not be measured')
        return null
      } finally {
        this.measuring = null
      }
    })()
    return this.measuring
  }

  async clear(): Promise<{ entries: number; bytes: number }> {
    let entries = 0
    let bytes = 0
    for await (const batch of this.walk()) {
      entries += await this.redis.unlink(...batch.map((k) => k.key))
      for (const { key, length } of batch) if (length > 0) bytes += length + Buffer.byteLength(key)
    }
    this.generation++
    this.size = { entries: 0, bytes: 0 }
    return { entries, bytes }
  }

  health(): CacheHealth {
    if (!this.closed && Date.now() - this.attemptedAt > (this.options.measureEveryMs ?? MEASURE_EVERY_MS)) void this.measure()
    const size = this.size
    return { backend: 'redis', entries: size?.entries ?? null, bytes: size?.bytes ?? null, max_bytes: null, ttl_seconds: this.options.ttlSeconds, error: null }
  }

  async close(): Promise<void> {
    // A walk still running fails with the disconnect: nothing waits for a Redis that is away.
    this.closed = true
    this.redis.disconnect()
  }
}

/** A prefix taken literally in a SCAN MATCH pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
