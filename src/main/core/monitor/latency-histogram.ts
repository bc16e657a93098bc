/**
 * Latency distribution in log-spaced buckets (about 4 % wide): O(1) to record, fixed memory
 * per endpoint, percentiles accurate to a bucket width. A raw sample list would either grow
 * without bound or forget old requests; this does neither, and it serialises compactly.
 */
const MIN_MS = 1
const GROWTH = 1.04
const BUCKETS = 512 // up to ~5e8 ms (about 6 days); anything slower lands in the last bucket

const LOG_GROWTH = Math.log(GROWTH)

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH))
}

function upperBound(bucket: number): number {
  return MIN_MS * GROWTH ** bucket
}

export interface HistogramState {
  counts: Record<string, number>
  total: number
  sum_ms: number
  max_ms: number
}

export class LatencyHistogram {
  private counts = new Map<number, number>()
  total = 0
  sumMs = 0
  maxMs = 0

  record(ms: number): void {
    const value = Math.max(0, ms)
    const b = bucketOf(value)
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1)
    this.total++
    this.sumMs += value
    if (value > this.maxMs) this.maxMs = value
  }

  /** The value below which `p` (0..1) of recorded latencies fall, capped at the true maximum. */
  percentile(p: number): number {
    if (this.total === 0) return 0
    const rank = Math.max(1, Math.ceil(p * this.total))
    let seen = 0
    for (const b of [...this.counts.keys()].sort((x, y) => x - y)) {
      seen += this.counts.get(b) ?? 0
      // The last bucket is open-ended: its edge says nothing, the true maximum does.
      if (seen >= rank) return b === BUCKETS - 1 ? this.maxMs : Math.min(upperBound(b), this.maxMs)
    }
    return this.maxMs
  }

  mean(): number {
    return this.total === 0 ? 0 : this.sumMs / this.total
  }

  toJSON(): HistogramState {
    return { counts: Object.fromEntries(this.counts), total: this.total, sum_ms: this.sumMs, max_ms: this.maxMs }
  }

  static fromJSON(state: HistogramState): LatencyHistogram {
    const h = new LatencyHistogram()
    for (const [k, v] of Object.entries(state.counts)) h.counts.set(Number(k), v)
    h.total = state.total
    h.sumMs = state.sum_ms
    h.maxMs = state.max_ms
    return h
  }
}

/** Sum of two distributions: how history from the store and counts made meanwhile combine. */
export function mergeHistograms(a: LatencyHistogram, b: LatencyHistogram): LatencyHistogram {
  const out = LatencyHistogram.fromJSON(a.toJSON())
  const bs = b.toJSON()
  const merged = out.toJSON()
  for (const [k, v] of Object.entries(bs.counts)) merged.counts[k] = (merged.counts[k] ?? 0) + v
  merged.total += bs.total
  merged.sum_ms += bs.sum_ms
  merged.max_ms = Math.max(merged.max_ms, bs.max_ms)
  return LatencyHistogram.fromJSON(merged)
}
