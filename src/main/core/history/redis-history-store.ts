import type { Redis } from 'ioredis'
import { redactUrl } from '../redact.js'
import { quietRedisClient } from '../store/redis-client.js'
import type { EndpointHour, HistoryBatch, HistoryStore } from './history-store.js'
import type { RollupBucket } from './rollup-bucket.js'
import { RETENTION } from './rollups.js'

const DAY = 86_400

/*
 * The history in Redis: a hash per resolution per day, under the store's prefix and this
 * instance's name, so instances of a fleet sharing one Redis each keep their own history:
 *   <prefix>history:<instance>:m:<day>  field <t>             -> a minute bucket (JSON)
 *   <prefix>history:<instance>:h:<day>  field <t>             -> an hour bucket
 *   <prefix>history:<instance>:e:<day>  field <t>|<endpoint>  -> one endpoint's hour
 * (<day>: whole days since the epoch, UTC). Each day's hash expires once its last bucket is past
 * the retention, so Redis holds at most one day more than the retention; reads skip that extra.
 */
export class RedisHistoryStore implements HistoryStore {
  readonly backend = 'redis' as const
  readonly location: string
  private readonly redis: Redis
  private readonly base: string

  constructor(url: string, prefix: string, instance: string) {
    this.location = `${redactUrl(url)} ${prefix}history:${instance}`
    this.base = `${prefix}history:${instance}:`
    this.redis = quietRedisClient(url)
  }

  private key(kind: 'm' | 'h' | 'e', t: number): string {
    return `${this.base}${kind}:${Math.floor(t / DAY)}`
  }

  private async ready(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect()
    if (this.redis.status !== 'ready') throw new Error(`Redis at ${this.location} is not reachable (${this.redis.status})`)
  }

  async load(nowSec: number): Promise<HistoryBatch> {
    await this.ready()
    const kinds = [
      ['m', RETENTION.minute],
      ['h', RETENTION.hour],
      ['e', RETENTION.endpoints],
    ] as const
    const pipe = this.redis.pipeline()
    const asked: Array<{ kind: 'm' | 'h' | 'e'; cutoff: number }> = []
    for (const [kind, keep] of kinds) {
      const cutoff = nowSec - keep
      for (let day = Math.floor(cutoff / DAY); day <= Math.floor(nowSec / DAY); day++) {
        pipe.hgetall(`${this.base}${kind}:${day}`)
        asked.push({ kind, cutoff })
      }
    }
    const results = (await pipe.exec()) ?? []
    const out: HistoryBatch = { minutes: [], hours: [], endpoints: [] }
    for (const [i, [err, value]] of results.entries()) {
      if (err) throw err
      const { kind, cutoff } = asked[i]!
      for (const [field, text] of Object.entries(value as Record<string, string>)) {
        const t = Number.parseInt(field, 10)
        if (!(t >= cutoff)) continue
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          continue // not written by us: skipped, and overwritten when that bucket is written again
        }
        if (kind === 'e') out.endpoints.push({ t, endpoint: field.slice(field.indexOf('|') + 1), stats: parsed as EndpointHour['stats'] })
        else (kind === 'm' ? out.minutes : out.hours).push(parsed as RollupBucket)
      }
    }
    const byTime = (a: { t: number }, b: { t: number }) => a.t - b.t
    out.minutes.sort(byTime)
    out.hours.sort(byTime)
    out.endpoints.sort(byTime)
    return out
  }

  async write(batch: HistoryBatch, nowSec: number): Promise<void> {
    await this.ready()
    const multi = this.redis.multi()
    const expiries = new Map<string, number>()
    const put = (kind: 'm' | 'h' | 'e', t: number, field: string, value: unknown, keep: number) => {
      const key = this.key(kind, t)
      multi.hset(key, field, JSON.stringify(value))
      expiries.set(key, (Math.floor(t / DAY) + 1) * DAY + keep)
    }
    for (const b of batch.minutes) put('m', b.t, String(b.t), b, RETENTION.minute)
    for (const b of batch.hours) put('h', b.t, String(b.t), b, RETENTION.hour)
    for (const e of batch.endpoints) put('e', e.t, `${e.t}|${e.endpoint}`, e.stats, RETENTION.endpoints)
    for (const [key, at] of expiries) multi.expireat(key, at)
    // Days wholly past the retention at `nowSec` go now, whatever Redis's clock says.
    for (const [kind, keep] of [
      ['m', RETENTION.minute],
      ['h', RETENTION.hour],
      ['e', RETENTION.endpoints],
    ] as const) {
      const lastGone = Math.floor((nowSec - keep) / DAY) - 1
      multi.del(`${this.base}${kind}:${lastGone}`, `${this.base}${kind}:${lastGone - 1}`)
    }
    const results = await multi.exec()
    const failed = results?.find(([err]) => err)
    if (!results || failed) throw failed?.[0] ?? new Error('Redis transaction was discarded')
  }

  /** MEMORY USAGE of this instance's history keys (every field counted, not sampled), summed. */
  async bytes(): Promise<number> {
    await this.ready()
    let total = 0
    let cursor = '0'
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.base}*`, 'COUNT', 500)
      cursor = next
      for (const key of keys) total += Number((await this.redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0)
    } while (cursor !== '0')
    return total
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}
