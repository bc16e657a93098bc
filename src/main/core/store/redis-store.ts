import { Redis } from 'ioredis'
import type { MonitorSnapshot } from '../monitor/monitor.js'
import type { MonitorStore } from './store.js'

const SECTIONS = ['endpoints', 'timeline', 'janitor', 'errors', 'error_groups'] as const

/**
 * Redis back-end: one key per section under the prefix (default `crawldeck:`), written in one
 * MULTI. Commands fail fast while Redis is away (no offline queue): the persister keeps the
 * state dirty and writes it all once Redis answers again.
 *
 * A Redis that comes back may come back empty (no persistence, failover, FLUSHALL): after every
 * reconnect the first write puts back every section this process holds, not only the changed
 * ones, or history unchanged since the outage (error log, janitor log) would be gone from it.
 */
export class RedisStore implements MonitorStore {
  readonly backend = 'redis' as const
  readonly location: string
  private readonly redis: Redis
  /** Every section as last loaded from or written to Redis: what a rewrite after a reconnect puts back. */
  private readonly known: Partial<Record<(typeof SECTIONS)[number], unknown>> = {}
  /** Connections made so far ('ready' events), and the one on which Redis last held all of `known`. */
  private connections = 0
  private syncedConnection = 0

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
    this.redis.on('ready', () => void this.connections++)
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
    const connection = this.connections
    const values = await this.redis.mget(...SECTIONS.map((s) => this.key(s)))
    this.syncedConnection = connection
    if (values.every((v) => v === null)) return null
    const out: Record<string, unknown> = {}
    for (const [i, s] of SECTIONS.entries()) {
      const v = values[i]
      if (!v) continue
      try {
        out[s] = this.known[s] = JSON.parse(v)
      } catch {
        // Not written by us: set it aside like the file store does, so it neither blocks
        // every later load nor gets silently overwritten.
        await this.redis.rename(this.key(s), `${this.key(s)}:corrupt-${Date.now()}`).catch(() => undefined)
      }
    }
    return out as Partial<MonitorSnapshot>
  }

  async save(sections: Partial<MonitorSnapshot>): Promise<void> {
    await this.ready()
    const connection = this.connections
    // First write on a new connection: everything, in case Redis lost what it had.
    const resync = connection !== this.syncedConnection
    const write: Partial<Record<(typeof SECTIONS)[number], unknown>> = resync ? { ...this.known } : {}
    for (const s of SECTIONS) if (sections[s] !== undefined) write[s] = sections[s]
    const multi = this.redis.multi()
    for (const s of SECTIONS) if (write[s] !== undefined) multi.set(this.key(s), JSON.stringify(write[s]))
    const results = await multi.exec()
    const failed = results?.find(([err]) => err)
    if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction was discarded')
    Object.assign(this.known, write)
    if (resync) this.syncedConnection = connection
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
