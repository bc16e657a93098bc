/** Small, dependency-free statistics for the benchmark. All inputs are in milliseconds. */

/** The q-quantile (0..1) of `values`, linear interpolation between closest ranks. NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q))
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (pos - lo)
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5)
}

export function p95(values: readonly number[]): number {
  return quantile(values, 0.95)
}

export function sum(values: readonly number[]): number {
  let s = 0
  for (const v of values) s += v
  return s
}

/** min / median / max of a few per-round figures, e.g. "+3.1 / +7.9 / +12.0". */
export interface Spread {
  min: number
  median: number
  max: number
}

export function spread(values: readonly number[]): Spread {
  return { min: Math.min(...values), median: median(values), max: Math.max(...values) }
}
