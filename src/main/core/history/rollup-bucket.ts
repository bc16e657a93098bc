import type { TierCounts } from '../../../shared/monitor-types.js'
import { LatencyHistogram, mergeHistograms, type HistogramState } from '../monitor/latency-histogram.js'

/*
 * One rollup bucket of the timeline metrics (a minute or an hour), as it is held and stored:
 * gauges keep min, max and sum of their 5-s samples (the average is sum / samples), counters keep
 * sums, and latency keeps the merged histogram, so an hour's p95 is the p95 of the hour's
 * requests, not an average of the minutes' p95s.
 */

/** [min, max, sum] of a gauge's samples in a bucket. */
export type Gauge = [number, number, number]

export interface RollupBucket {
  /** Start of the bucket, epoch seconds. */
  t: number
  /** 5-s samples folded in: a bucket with none and no request was not recorded (the service was down). */
  n: number
  memory: Gauge
  cpu: Gauge
  limit: Gauge
  queue: Gauge
  browsers: Record<keyof TierCounts, Gauge>
  requests: number
  errors: number
  cache_hits: number
  latency: HistogramState
}

/** A bucket being filled: the same, with a live histogram (O(1) per request). */
export interface OpenBucket extends Omit<RollupBucket, 'latency'> {
  latency: LatencyHistogram
}

const emptyGauge = (): Gauge => [Infinity, -Infinity, 0]

export function emptyBucket(t: number): OpenBucket {
  return {
    t,
    n: 0,
    memory: emptyGauge(),
    cpu: emptyGauge(),
    limit: emptyGauge(),
    queue: emptyGauge(),
    browsers: { permanent: emptyGauge(), hot: emptyGauge(), cold: emptyGauge() },
    requests: 0,
    errors: 0,
    cache_hits: 0,
    latency: new LatencyHistogram(),
  }
}

export function foldGauge(g: Gauge, v: number): void {
  if (v < g[0]) g[0] = v
  if (v > g[1]) g[1] = v
  g[2] += v
}

function mergeGauge(a: Gauge, b: Gauge): Gauge {
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1]), a[2] + b[2]]
}

/** What one 5-s tick brings to a bucket: the gauges' readings. */
export interface TickGauges {
  memory: number
  cpu: number
  limit: number
  queue: number
  browsers: TierCounts
}

export function foldTick(b: OpenBucket, g: TickGauges): void {
  b.n++
  foldGauge(b.memory, g.memory)
  foldGauge(b.cpu, g.cpu)
  foldGauge(b.limit, g.limit)
  foldGauge(b.queue, g.queue)
  foldGauge(b.browsers.permanent, g.browsers.permanent)
  foldGauge(b.browsers.hot, g.browsers.hot)
  foldGauge(b.browsers.cold, g.browsers.cold)
}

export function foldRequest(b: OpenBucket, r: { success: boolean; elapsed_ms: number; cache_hit?: boolean }): void {
  b.requests++
  if (!r.success) b.errors++
  if (r.cache_hit === true) b.cache_hits++
  b.latency.record(r.elapsed_ms)
}

// Infinity does not survive JSON: an empty gauge is stored as zeros with n = 0 saying it is empty.
const storedGauge = (g: Gauge): Gauge => (Number.isFinite(g[0]) ? [g[0], g[1], g[2]] : [0, 0, 0])

export function closeBucket(b: OpenBucket): RollupBucket {
  return {
    t: b.t,
    n: b.n,
    memory: storedGauge(b.memory),
    cpu: storedGauge(b.cpu),
    limit: storedGauge(b.limit),
    queue: storedGauge(b.queue),
    browsers: { permanent: storedGauge(b.browsers.permanent), hot: storedGauge(b.browsers.hot), cold: storedGauge(b.browsers.cold) },
    requests: b.requests,
    errors: b.errors,
    cache_hits: b.cache_hits,
    latency: b.latency.toJSON(),
  }
}

export function openBucket(s: RollupBucket): OpenBucket {
  const gauge = (g: Gauge): Gauge => (s.n > 0 ? [g[0], g[1], g[2]] : emptyGauge())
  return {
    t: s.t,
    n: s.n,
    memory: gauge(s.memory),
    cpu: gauge(s.cpu),
    limit: gauge(s.limit),
    queue: gauge(s.queue),
    browsers: { permanent: gauge(s.browsers.permanent), hot: gauge(s.browsers.hot), cold: gauge(s.browsers.cold) },
    requests: s.requests,
    errors: s.errors,
    cache_hits: s.cache_hits,
    latency: LatencyHistogram.fromJSON(s.latency),
  }
}

/** Two fillings of the same bucket (one stored before a restart, one counted since) as one. */
export function mergeBuckets(a: OpenBucket, b: OpenBucket): OpenBucket {
  return {
    t: a.t,
    n: a.n + b.n,
    memory: mergeGauge(a.memory, b.memory),
    cpu: mergeGauge(a.cpu, b.cpu),
    limit: mergeGauge(a.limit, b.limit),
    queue: mergeGauge(a.queue, b.queue),
    browsers: {
      permanent: mergeGauge(a.browsers.permanent, b.browsers.permanent),
      hot: mergeGauge(a.browsers.hot, b.browsers.hot),
      cold: mergeGauge(a.browsers.cold, b.browsers.cold),
    },
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    cache_hits: a.cache_hits + b.cache_hits,
    latency: mergeHistograms(a.latency, b.latency),
  }
}

/** Whether anything was recorded in the bucket: a sample or a finished request. */
export function wasUp(b: OpenBucket): boolean {
  return b.n > 0 || b.requests > 0
}
