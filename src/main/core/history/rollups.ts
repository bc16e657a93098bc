import type { EndpointHistoryResponse, TimelineResponse, TierCounts, TimelineQueryMetric } from '../../../shared/monitor-types.js'
import { EndpointCounter, mergeCounters, round } from '../monitor/endpoint-stats.js'
import {
  closeBucket,
  emptyBucket,
  foldRequest,
  foldTick,
  mergeBuckets,
  openBucket,
  wasUp,
  type Gauge,
  type OpenBucket,
  type RollupBucket,
  type TickGauges,
} from './rollup-bucket.js'
import type { EndpointHour, HistoryBatch } from './history-store.js'

/*
 * The monitor's long history: every 5-s tick and every finished request folded into the current
 * 1-minute and 1-hour buckets, and requests per endpoint per hour. Held in memory (bounded by the
 * retention, trimmed on every write) so a 30-day answer never waits on a store, and written in
 * batches by the persister's cadence: only the buckets changed since the last write.
 */

export const MINUTE_SECONDS = 60
export const HOUR_SECONDS = 3600
/** How long each resolution is kept (seconds). */
export const RETENTION = { minute: 48 * HOUR_SECONDS, hour: 90 * 24 * HOUR_SECONDS, endpoints: 30 * 24 * HOUR_SECONDS } as const
/** Windows up to this length are answered from minute buckets; longer ones from hour buckets. */
export const MINUTE_WINDOW_MAX = RETENTION.minute

export type Resolution = 'minute' | 'hour'

const startOf = (sec: number, size: number): number => Math.floor(sec / size) * size
const endpointKey = (t: number, endpoint: string): string => `${t}|${endpoint}`

export class Rollups {
  private readonly minutes = new Map<number, OpenBucket>()
  private readonly hours = new Map<number, OpenBucket>()
  private readonly endpointHours = new Map<string, { t: number; endpoint: string; counter: EndpointCounter }>()
  /**
   * The oldest bucket start each map may hold: trim() scans a map only once something in it can
   * have expired (a new minute bucket would otherwise scan every endpoint-hour held, each minute).
   */
  private readonly oldest = { minute: -Infinity, hour: -Infinity, endpoints: -Infinity }
  private readonly dirty = { minute: new Set<number>(), hour: new Set<number>(), endpoints: new Set<string>() }
  /** The requests of the 5-s tick under way: the live timeline's errors, cache hits and latency. */
  private tickActivity = emptyBucket(0)

  /** A finished request, in the buckets of the time it ended (epoch ms). */
  recordRequest(endpoint: string, r: { success: boolean; elapsed_ms: number; pool_hit: boolean | null; cache_hit?: boolean }, endedAtMs: number): void {
    const sec = endedAtMs / 1000
    foldRequest(this.tickActivity, r)
    foldRequest(this.bucket('minute', sec), r)
    foldRequest(this.bucket('hour', sec), r)
    const t = startOf(sec, HOUR_SECONDS)
    const key = endpointKey(t, endpoint)
    let entry = this.endpointHours.get(key)
    if (!entry) {
      this.endpointHours.set(key, (entry = { t, endpoint, counter: new EndpointCounter() }))
      this.oldest.endpoints = Math.min(this.oldest.endpoints, t)
    }
    entry.counter.record(r)
    this.dirty.endpoints.add(key)
  }

  /** A 5-s sample of the gauges, at `atMs` (epoch ms). */
  recordTick(atMs: number, gauges: TickGauges): void {
    const sec = atMs / 1000
    foldTick(this.bucket('minute', sec), gauges)
    foldTick(this.bucket('hour', sec), gauges)
  }

  /** The finished requests' errors, cache hits and latency percentiles since the last call (one 5-s tick's). */
  takeTickActivity(): { errors: number; cache_hits: number; latency_p50: number; latency_p95: number } {
    const a = this.tickActivity
    this.tickActivity = emptyBucket(0)
    return { errors: a.errors, cache_hits: a.cache_hits, latency_p50: round(a.latency.percentile(0.5)), latency_p95: round(a.latency.percentile(0.95)) }
  }

  private bucket(res: Resolution, sec: number): OpenBucket {
    const map = res === 'minute' ? this.minutes : this.hours
    const t = startOf(sec, res === 'minute' ? MINUTE_SECONDS : HOUR_SECONDS)
    let b = map.get(t)
    if (!b) {
      map.set(t, (b = emptyBucket(t)))
      this.oldest[res] = Math.min(this.oldest[res], t)
      // Also here, not only on writes: with the store unreachable nothing is written, and memory must stay bounded all the same.
      this.trim(sec)
    }
    this.dirty[res].add(t)
    return b
  }

  // ---- persistence -------------------------------------------------------------------------

  /**
   * Fold stored buckets in. At start-up the live maps hold at most what was counted while the
   * store was read, so this is a restore; a bucket both hold (the minute or hour the service
   * restarted in) is merged, and marked for writing back whole.
   */
  load(stored: HistoryBatch, nowSec: number): void {
    const fold = (map: Map<number, OpenBucket>, list: RollupBucket[]) => {
      for (const s of list) {
        const live = map.get(s.t)
        map.set(s.t, live ? mergeBuckets(openBucket(s), live) : openBucket(s))
      }
    }
    fold(this.minutes, stored.minutes)
    fold(this.hours, stored.hours)
    for (const e of stored.endpoints) {
      const key = endpointKey(e.t, e.endpoint)
      const live = this.endpointHours.get(key)
      const counter = EndpointCounter.fromJSON(e.stats)
      this.endpointHours.set(key, { t: e.t, endpoint: e.endpoint, counter: live ? mergeCounters(counter, live.counter) : counter })
    }
    // Stored buckets may be older than anything held: the next trim scans everything.
    this.oldest.minute = this.oldest.hour = this.oldest.endpoints = -Infinity
    this.trim(nowSec)
  }

  /** Buckets changed since the last call, in their stored form; trims what is past its retention. */
  takeDirty(nowSec: number): HistoryBatch | null {
    this.trim(nowSec)
    const { minute, hour, endpoints } = this.dirty
    if (minute.size + hour.size + endpoints.size === 0) return null
    const batch: HistoryBatch = {
      minutes: [...minute].flatMap((t) => (this.minutes.has(t) ? [closeBucket(this.minutes.get(t)!)] : [])),
      hours: [...hour].flatMap((t) => (this.hours.has(t) ? [closeBucket(this.hours.get(t)!)] : [])),
      endpoints: [...endpoints].flatMap((k) => {
        const e = this.endpointHours.get(k)
        return e ? [{ t: e.t, endpoint: e.endpoint, stats: e.counter.toJSON() } satisfies EndpointHour] : []
      }),
    }
    minute.clear()
    hour.clear()
    endpoints.clear()
    return batch
  }

  /** Put a batch whose write failed back as dirty: the next write carries the latest state of those buckets. */
  markDirty(batch: HistoryBatch): void {
    for (const b of batch.minutes) this.dirty.minute.add(b.t)
    for (const b of batch.hours) this.dirty.hour.add(b.t)
    for (const e of batch.endpoints) this.dirty.endpoints.add(endpointKey(e.t, e.endpoint))
  }

  private trim(nowSec: number): void {
    const drop = <K>(map: Map<K, { t: number }>, dirty: Set<K>, keep: number, res: keyof Rollups['oldest']) => {
      const cutoff = nowSec - keep
      if (this.oldest[res] >= cutoff) return
      let oldest = Infinity
      for (const [k, v] of map) {
        if (v.t >= cutoff) {
          oldest = Math.min(oldest, v.t)
          continue
        }
        map.delete(k)
        dirty.delete(k)
      }
      this.oldest[res] = oldest
    }
    drop(this.minutes, this.dirty.minute, RETENTION.minute, 'minute')
    drop(this.hours, this.dirty.hour, RETENTION.hour, 'hour')
    drop(this.endpointHours, this.dirty.endpoints, RETENTION.endpoints, 'endpoints')
  }

  /** Buckets held, per resolution (the memory bound's measure). */
  counts(): { minutes: number; hours: number; endpoint_hours: number } {
    return { minutes: this.minutes.size, hours: this.hours.size, endpoint_hours: this.endpointHours.size }
  }

  // ---- views -------------------------------------------------------------------------------

  /**
   * One metric over the `windowSeconds` ending now: a point per bucket, the current one last.
   * A bucket nothing was recorded in (the service was down) is a null value, so the chart breaks
   * its line there instead of drawing across the gap.
   */
  timeline(metric: TimelineQueryMetric, windowSeconds: number, label: string, nowMs: number): TimelineResponse {
    const res: Resolution = windowSeconds <= MINUTE_WINDOW_MAX ? 'minute' : 'hour'
    const size = res === 'minute' ? MINUTE_SECONDS : HOUR_SECONDS
    const map = res === 'minute' ? this.minutes : this.hours
    const count = Math.max(1, Math.ceil(windowSeconds / size))
    const last = startOf(nowMs / 1000, size)
    const timestamps: number[] = []
    const values: Array<number | TierCounts | null> = []
    for (let i = count - 1; i >= 0; i--) {
      const t = last - i * size
      const b = map.get(t)
      timestamps.push(t)
      values.push(b && wasUp(b) ? valueOf(metric, b) : null)
    }
    return {
      metric,
      window: label,
      resolution_seconds: size,
      timestamps,
      timestamps_ms: timestamps.map((t) => t * 1000),
      values: values as TimelineResponse['values'],
    }
  }

  /** Per-endpoint stats of each hour in [fromSec, toSec) that saw requests, oldest first. */
  endpoints(fromSec: number, toSec: number): EndpointHistoryResponse {
    const first = startOf(fromSec, HOUR_SECONDS)
    const byHour = new Map<number, EndpointHistoryResponse['hours'][number]>()
    for (const e of this.endpointHours.values()) {
      if (e.t < first || e.t >= toSec) continue
      let hour = byHour.get(e.t)
      if (!hour) byHour.set(e.t, (hour = { timestamp: e.t, timestamp_ms: e.t * 1000, endpoints: {} }))
      hour.endpoints[e.endpoint] = e.counter.view()
    }
    const hours = [...byHour.values()].sort((a, b) => a.timestamp - b.timestamp)
    for (const h of hours) h.endpoints = Object.fromEntries(Object.entries(h.endpoints).sort(([a], [b]) => a.localeCompare(b)))
    return { from: fromSec, to: toSec, resolution_seconds: HOUR_SECONDS, hours }
  }
}

/**
 * A bucket's percentiles, kept until its next request: past buckets never change, so a 30-day
 * answer walks the histograms once, not on every read.
 */
const percentileCache = new WeakMap<OpenBucket, { requests: number; p50: number; p95: number }>()
function percentiles(b: OpenBucket): { p50: number; p95: number } {
  let p = percentileCache.get(b)
  if (p?.requests !== b.requests) {
    p = { requests: b.requests, p50: round(b.latency.percentile(0.5)), p95: round(b.latency.percentile(0.95)) }
    percentileCache.set(b, p)
  }
  return p
}

const avg = (g: Gauge, n: number): number | null => (n > 0 ? round(g[2] / n) : null)

/** A gauge's average over the bucket's samples (null if it had none: only requests were counted), a counter's sum, or a latency percentile. */
function valueOf(metric: TimelineQueryMetric, b: OpenBucket): number | TierCounts | null {
  switch (metric) {
    case 'memory':
    case 'cpu':
    case 'limit':
    case 'queue':
      return avg(b[metric], b.n)
    case 'requests':
    case 'errors':
    case 'cache_hits':
      return b[metric]
    case 'latency_p50':
      return percentiles(b).p50
    case 'latency_p95':
      return percentiles(b).p95
    case 'browsers':
      return b.n > 0 ? { permanent: avg(b.browsers.permanent, b.n)!, hot: avg(b.browsers.hot, b.n)!, cold: avg(b.browsers.cold, b.n)! } : null
  }
}
