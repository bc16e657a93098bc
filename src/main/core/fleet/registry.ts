import type { Redis } from 'ioredis'
import type { FleetInstance, FleetMember, FleetResponse } from '../../../shared/monitor-fleet.js'
import type { Logger } from '../logger.js'
import { quietRedisClient } from '../store/redis-client.js'
import type { InstanceState } from './instance.js'

/**
 * The fleet: instances sharing one Redis (and key prefix) register themselves under a key that
 * expires `ttl` seconds after their last heartbeat, so one that dies without a word (SIGKILL,
 * power cut) leaves the list on its own within its TTL; a clean shutdown deletes its key at once.
 *
 * Keys: `<prefix>fleet:instance:<id>` holds the instance's JSON with that TTL (Redis's own clock
 * decides expiry, so members' clocks need not agree), and the set `<prefix>fleet:members` names
 * the ids, so listing needs no SCAN over the whole keyspace; an id whose key has expired is
 * dropped from the set by whoever lists it.
 */
export interface FleetRegistry {
  readonly id: string
  readonly backend: FleetResponse['backend']
  /** Sends the first heartbeat and keeps sending them. */
  start(): void
  /** The address this instance serves on, once its HTTP door listens; re-announced at once. */
  setAddress(address: string): void
  list(): Promise<FleetResponse>
  /** Stops the heartbeats and removes this instance from the fleet. */
  close(): Promise<void>
}

export function openFleetRegistry(options: {
  redisUrl: string | null
  prefix: string
  ttlSeconds: number
  state: InstanceState
  id: string
  logger: Logger
}): FleetRegistry {
  return options.redisUrl ? new RedisFleet(quietRedisClient(options.redisUrl), options) : new LocalFleet(options)
}

/** The answering instance's record is read fresh for the answer: its heartbeat age is 0. */
function member(instance: FleetInstance, selfId: string, now: number): FleetMember {
  const self = instance.id === selfId
  return { ...instance, self, heartbeat_age_ms: self ? 0 : Math.max(0, now - instance.heartbeat_at) }
}

/** Without Redis: a fleet of one. */
class LocalFleet implements FleetRegistry {
  readonly backend = 'local' as const
  readonly id: string
  constructor(private readonly options: { state: InstanceState; ttlSeconds: number; id: string }) {
    this.id = options.id
  }
  start(): void {}
  setAddress(address: string): void {
    this.options.state.address = address
  }
  async list(): Promise<FleetResponse> {
    const self = await this.options.state.read()
    return { self: this.id, backend: 'local', ttl_seconds: this.options.ttlSeconds, instances: [member(self, this.id, Date.now())], error: null }
  }
  async close(): Promise<void> {
    this.options.state.stop()
  }
}

class RedisFleet implements FleetRegistry {
  readonly backend = 'redis' as const
  readonly id: string
  private readonly key: string
  private readonly membersKey: string
  private readonly ttlMs: number
  private timer: NodeJS.Timeout | null = null
  private beating: Promise<void> | null = null
  private again = false
  private closed = false
  /** The last heartbeat's failure, logged once per outage rather than every few seconds. */
  private failing: string | null = null
  private connecting: Promise<void> | null = null

  constructor(
    private readonly redis: Redis,
    private readonly options: { prefix: string; ttlSeconds: number; state: InstanceState; id: string; logger: Logger },
  ) {
    this.id = options.id
    this.key = instanceKey(options.prefix, options.id)
    this.membersKey = `${options.prefix}fleet:members`
    this.ttlMs = options.ttlSeconds * 1000
  }

  start(): void {
    void this.beat()
    // A third of the TTL: two heartbeats can be lost (a Redis blip, a busy event loop) before the
    // key expires and the instance is taken for dead.
    this.timer = setInterval(() => void this.beat(), Math.max(1000, Math.floor(this.ttlMs / 3)))
    this.timer.unref()
  }

  setAddress(address: string): void {
    this.options.state.address = address
    void this.beat()
  }

  async list(): Promise<FleetResponse> {
    const now = Date.now()
    const self = await this.options.state.read()
    const base: FleetResponse = { self: this.id, backend: 'redis', ttl_seconds: this.options.ttlSeconds, instances: [member(self, this.id, now)], error: null }
    let ids: string[]
    let values: Array<string | null>
    try {
      await this.ready()
      ids = (await this.redis.smembers(this.membersKey)).filter((id) => id !== this.id).sort()
      values = ids.length > 0 ? await this.redis.mget(ids.map((id) => instanceKey(this.options.prefix, id))) : []
    } catch (err) {
      return { ...base, error: `Redis unreachable, only this instance is listed: ${(err as Error).message}` }
    }
    const gone: string[] = []
    ids.forEach((id, i) => {
      const parsed = parseInstance(values[i] ?? null)
      if (parsed === null) gone.push(id)
      else base.instances.push(member(parsed, this.id, now))
    })
    // Expired (or unreadable) members: their keys are gone, so are they.
    if (gone.length > 0) this.redis.srem(this.membersKey, ...gone).catch(() => undefined)
    return base
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.options.state.stop()
    await this.beating?.catch(() => undefined)
    try {
      await this.ready()
      await this.redis.multi().del(this.key).srem(this.membersKey, this.id).exec()
    } catch (err) {
      this.options.logger.warn(
        { err },
        `could not remove this instance from the fleet in Redis; it leaves the list when its ${this.options.ttlSeconds} s TTL runs out`,
      )
    }
    this.redis.disconnect()
  }

  /** The client connects on first use (the store's client refuses commands while disconnected). */
  private async ready(): Promise<void> {
    if (this.redis.status === 'wait') this.connecting ??= this.redis.connect().finally(() => (this.connecting = null))
    if (this.connecting !== null) await this.connecting
  }

  /**
   * One heartbeat at a time: a slow Redis must not pile them up. One asked for while another is
   * being written (the address arriving during the first) is written right after it.
   */
  private beat(): Promise<void> {
    if (this.closed) return Promise.resolve()
    if (this.beating !== null) {
      this.again = true
      return this.beating
    }
    this.beating = (async () => {
      do {
        this.again = false
        await this.write()
      } while (this.again && !this.closed)
    })().finally(() => {
      this.beating = null
    })
    return this.beating
  }

  private async write(): Promise<void> {
    try {
      const record = await this.options.state.read()
      await this.ready()
      if (this.closed) return
      await this.redis.multi().set(this.key, JSON.stringify(record), 'PX', this.ttlMs).sadd(this.membersKey, this.id).exec()
      if (this.failing !== null) this.options.logger.info('fleet heartbeat written to Redis again')
      this.failing = null
    } catch (err) {
      const message = (err as Error).message
      if (this.failing === null)
        this.options.logger.warn(
          { err },
          `fleet heartbeat to Redis failed; other instances stop listing this one after ${this.options.ttlSeconds} s (retrying)`,
        )
      this.failing = message
    }
  }
}

function instanceKey(prefix: string, id: string): string {
  return `${prefix}fleet:instance:${id}`
}

/** A member's record as another instance wrote it: trusted only as far as its shape. */
function parseInstance(text: string | null): FleetInstance | null {
  if (text === null) return null
  try {
    const value = JSON.parse(text) as FleetInstance
    if (typeof value?.id !== 'string' || typeof value.heartbeat_at !== 'number') return null
    return value
  } catch {
    return null
  }
}
