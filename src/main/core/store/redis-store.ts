import { Redis } from 'ioredis'
import type { MonitorSnapshot } from '../monitor/monitor.js'
import type { MonitorStore } from './store.js'

const SECTIONS = ['endpoints', 'timeline', 'janitor', 'errors', 'error_groups'] as const

/**
 * Redis back-end: one key per section under the prefix (default `crawldeck:`), written in one
 * MULTI. Commands fail fast while Redis is away (no offline queue): the persister keeps the
 * state dirty and writes it all once Redis answers again.
 */
export class RedisStore implements MonitorStore {
  readonly backend = 'redis' as const
  readonly location: string
  private readonly redis: Redis

  constructor(url: string, private readonly prefix: string) {
    this.location = redactUrl(url)
    this.redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // Keep trying forever, gently: Redis coming back is exactly what we wait for.
      retryStrategy: (times) => Math.min(200 * times, 2000),
    })
    // Errors surface through failed commands; without a listener ioredis would log each retry.
    this.redis.on('error', () => undefined)
  }

  private key(section: string): string {
    return `${this.prefix}monitor:${section}`
  }

  private async ready(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect()
    if (this.redis.status !== 'ready') throw new Error(`Redis at ${this.location} is not reachable (${this.redis.status})`)
  }

  async load(): Promise<Partial<MonitorSnapshot> | null> {
    await this.ready()
    const values = await this.redis.mget(...SECTIONS.map((s) => this.key(s)))
    if (values.every((v) => v === null)) return null
    const out: Record<string, unknown> = {}
    SECTIONS.forEach((s, i) => {
      const v = values[i]
      if (v) out[s] = JSON.parse(v)
    })
    return out as Partial<MonitorSnapshot>
  }

  async save(sections: Partial<MonitorSnapshot>): Promise<void> {
    await this.ready()
    const multi = this.redis.multi()
    for (const s of SECTIONS) if (sections[s] !== undefined) multi.set(this.key(s), JSON.stringify(sections[s]))
    const results = await multi.exec()
    const failed = results?.find(([err]) => err)
    if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction was discarded')
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'redis'
  }
}
