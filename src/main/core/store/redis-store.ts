import type { Redis } from 'ioredis'
import { quietRedisClient } from './redis-client.js'
import { redactUrl } from '../redact.js'
import type { MonitorStore, StoredState } from './store.js'

// applied_fallbacks is written only once a pending-history file was merged (see persister.ts).
const SECTIONS = ['endpoints', 'timeline', 'janitor', 'errors', 'error_groups', 'webhooks', 'applied_fallbacks'] as const

/**
 * Reads an instance's sections; when it has none yet and the shared keys of a version before
 * per-instance history exist, moves those to it first (RENAME), in one script, so exactly one
 * instance of a fleet takes the old history over and the others start their own.
 * ARGV: the instance's key prefix, the shared key prefix, then the sections.
 */
const LOAD = `
local mine, shared = ARGV[1], ARGV[2]
local any = false
for i = 3, #ARGV do
  if redis.call('EXISTS', mine .. ARGV[i]) == 1 then any = true end
end
if not any then
  for i = 3, #ARGV do
    if redis.call('EXISTS', shared .. ARGV[i]) == 1 then redis.call('RENAME', shared .. ARGV[i], mine .. ARGV[i]) end
  end
end
local out = {}
for i = 3, #ARGV do out[#out + 1] = redis.call('GET', mine .. ARGV[i]) end
return out
`

/**
 * Redis back-end: one key per section under the prefix (default `crawldeck:`), per instance
 * (`<prefix>monitor:instance:<name>:<section>`), written in one MULTI. Commands fail fast while Redis is away (no offline queue): the persister keeps the
 * state dirty and writes it all once Redis answers again.
 *
 * A Redis that comes back may come back empty (no persistence, failover, FLUSHALL): after every
 * reconnect the first write puts back every section this process holds, not only the changed
 * ones, or history unchanged since the outage (error log, janitor log) would be gone from it.
 */
export class RedisStore implements MonitorStore {
  readonly backend = 'redis' as const
  readonly location: string
  readonly lineage: string
  private readonly redis: Redis
  /** The URL's secrets, scrubbed from every error this store hands out (they reach logs and /health). */
  private readonly secrets: string[]
  /** Every section as last loaded from or written to Redis: what a rewrite after a reconnect puts back. */
  private readonly known: Partial<Record<(typeof SECTIONS)[number], unknown>> = {}
  /** Connections made so far ('ready' events), and the one on which Redis last held all of `known`. */
  private connections = 0
  private syncedConnection = 0

  /** `<prefix>monitor:instance:<name>:`, or the shared `<prefix>monitor:` without a name. */
  private readonly keyPrefix: string
  private readonly sharedPrefix: string

  /**
   * `instance`: this instance's stable name (config instance_name). Instances sharing a prefix keep
   * their histories apart under it; without it the history is the prefix's shared one.
   */
  constructor(url: string, prefix: string, instance?: string) {
    this.location = redactUrl(url)
    this.lineage = `redis:${prefix}`
    this.secrets = urlSecrets(url)
    this.redis = quietRedisClient(url)
    this.redis.on('ready', () => void this.connections++)
    this.sharedPrefix = `${prefix}monitor:`
    this.keyPrefix = instance === undefined ? this.sharedPrefix : `${prefix}monitor:instance:${instance}:`
  }

  private key(section: string): string {
    return `${this.keyPrefix}${section}`
  }

  private async ready(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect()
    if (this.redis.status !== 'ready') throw new Error(`Redis at ${this.location} is not reachable (${this.redis.status})`)
  }

  load(): Promise<StoredState | null> {
    return this.scrubbed(this.doLoad())
  }

  save(sections: StoredState): Promise<void> {
    return this.scrubbed(this.doSave(sections))
  }

  private async scrubbed<T>(p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      const clean = this.secrets.reduce((m, secret) => m.split(secret).join('***'), message)
      if (clean === message && err instanceof Error) throw err
      // The cause is not attached: its message is the one that held the password.
      throw new Error(clean) // eslint-disable-line preserve-caught-error
    }
  }

  private async doLoad(): Promise<StoredState | null> {
    await this.ready()
    const connection = this.connections
    const values =
      this.keyPrefix === this.sharedPrefix
        ? await this.redis.mget(...SECTIONS.map((s) => this.key(s)))
        : ((await this.redis.eval(LOAD, 0, this.keyPrefix, this.sharedPrefix, ...SECTIONS)) as Array<string | null>)
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
    return out as StoredState
  }

  private async doSave(sections: StoredState): Promise<void> {
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

/**
 * The secrets a URL carries (password, password parameters), raw and percent-decoded, as they
 * could appear in an error. Not the user name: it is no secret, and masking a common word like
 * "default" everywhere in a message would garble it.
 */
function urlSecrets(url: string): string[] {
  const out = new Set<string>()
  try {
    const u = new URL(url)
    if (u.password) {
      out.add(u.password)
      try {
        out.add(decodeURIComponent(u.password))
      } catch {
        // not valid percent-encoding: the raw form is enough
      }
    }
    for (const [key, v] of u.searchParams) if (/pass|secret|token|auth/i.test(key) && v) out.add(v)
  } catch {
    out.add(url)
  }
  // Longest first, and nothing so short that masking it would garble the message.
  return [...out].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length)
}
