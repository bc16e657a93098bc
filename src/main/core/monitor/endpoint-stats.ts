import type { EndpointStats } from '../../../shared/monitor-types.js'
import { LatencyHistogram, mergeHistograms, type HistogramState } from './latency-histogram.js'

/*
 * Per-endpoint request counters behind /monitor/endpoints/stats: counts, success and pool-hit
 * rates and a latency histogram, fixed in size and saved with the monitor's history.
 */

export interface EndpointCounterState {
  count: number
  success: number
  errors: number
  pool_hits: number
  /** Requests that reached a browser: the denominator of the pool-hit rate. */
  pool_known: number
  /** Requests answered entirely from the result cache (absent in history saved before the cache). */
  cache_hits?: number
  latency: HistogramState
}

/** Counters of one endpoint; O(1) per request, fixed size, exact counts. */
export class EndpointCounter {
  count = 0
  success = 0
  errors = 0
  poolHits = 0
  poolKnown = 0
  cacheHits = 0
  latency = new LatencyHistogram()

  record(r: { success: boolean; elapsed_ms: number; pool_hit: boolean | null; cache_hit?: boolean }): void {
    this.count++
    if (r.cache_hit === true) this.cacheHits++
    if (r.success) this.success++
    else this.errors++
    if (r.pool_hit !== null) {
      this.poolKnown++
      if (r.pool_hit) this.poolHits++
    }
    this.latency.record(r.elapsed_ms)
  }

  view(): EndpointStats {
    return {
      count: this.count,
      avg_latency_ms: round(this.latency.mean()),
      p50_latency_ms: round(this.latency.percentile(0.5)),
      p95_latency_ms: round(this.latency.percentile(0.95)),
      success_rate_percent: this.count === 0 ? 0 : round((100 * this.success) / this.count),
      pool_hit_rate_percent: this.poolKnown === 0 ? 0 : round((100 * this.poolHits) / this.poolKnown),
      cache_hit_rate_percent: this.count === 0 ? 0 : round((100 * this.cacheHits) / this.count),
      errors: this.errors,
    }
  }

  toJSON(): EndpointCounterState {
    return {
      count: this.count,
      success: this.success,
      errors: this.errors,
      pool_hits: this.poolHits,
      pool_known: this.poolKnown,
      cache_hits: this.cacheHits,
      latency: this.latency.toJSON(),
    }
  }

  static fromJSON(s: EndpointCounterState): EndpointCounter {
    const c = new EndpointCounter()
    c.count = s.count
    c.success = s.success
    c.errors = s.errors
    c.poolHits = s.pool_hits
    c.poolKnown = s.pool_known
    c.cacheHits = s.cache_hits ?? 0
    c.latency = LatencyHistogram.fromJSON(s.latency)
    return c
  }
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

/** Add two sets of counts (stored history + counts made while the store was unreachable). */
export function mergeCounters(a: EndpointCounter, b: EndpointCounter): EndpointCounter {
  const c = new EndpointCounter()
  c.count = a.count + b.count
  c.success = a.success + b.success
  c.errors = a.errors + b.errors
  c.poolHits = a.poolHits + b.poolHits
  c.poolKnown = a.poolKnown + b.poolKnown
  c.cacheHits = a.cacheHits + b.cacheHits
  c.latency = mergeHistograms(a.latency, b.latency)
  return c
}
