import { describe, expect, it } from 'vitest'
import { Rollups, RETENTION } from '../src/main/core/history/rollups.js'
import { LatencyHistogram } from '../src/main/core/monitor/latency-histogram.js'
import { TimelineQuery } from '../src/shared/monitor-schemas.js'

/*
 * The rollups' arithmetic: gauges averaged over their samples, counters summed, hourly latency
 * percentiles from the merged histograms (true percentiles, not averages of the minutes'), gaps
 * as nulls, restart merges and trimming.
 */

const HOUR = 3600
// A fixed hour start, so every bucket boundary is known.
const T0 = 1_767_225_600 // 2026-01-01T00:00:00Z

const gauges = (memory: number, cpu = 0) => ({ memory, cpu, limit: 8, queue: 0, browsers: { permanent: 1, hot: 2, cold: 0 } })
const req = (elapsed_ms: number, success = true, cache_hit = false) => ({ success, elapsed_ms, pool_hit: true, cache_hit })

describe('rollups', () => {
  it('averages gauges over their samples and sums counters, per minute and per hour', () => {
    const r = new Rollups()
    // Minute 0: memory 10, 20, 30; minute 1: 40 (the hour: 10..40, avg 25).
    for (const [i, m] of [10, 20, 30].entries()) r.recordTick((T0 + i * 5) * 1000, gauges(m, m / 10))
    r.recordTick((T0 + 65) * 1000, gauges(40))
    r.recordRequest('/md', req(100), (T0 + 3) * 1000)
    r.recordRequest('/md', req(200, false), (T0 + 4) * 1000)
    r.recordRequest('/crawl', req(300, true, true), (T0 + 70) * 1000)
    const now = (T0 + 90) * 1000

    const minutes = (metric: Parameters<Rollups['timeline']>[0]) => r.timeline(metric, 2 * 60, '120s', now)
    expect(minutes('memory')).toMatchObject({ resolution_seconds: 60, timestamps: [T0, T0 + 60], values: [20, 40] })
    expect(minutes('cpu').values).toEqual([2, 0])
    expect(minutes('requests').values).toEqual([2, 1])
    expect(minutes('errors').values).toEqual([1, 0])
    expect(minutes('cache_hits').values).toEqual([0, 1])
    expect(minutes('browsers').values).toEqual([
      { permanent: 1, hot: 2, cold: 0 },
      { permanent: 1, hot: 2, cold: 0 },
    ])

    const hours = (metric: Parameters<Rollups['timeline']>[0]) => r.timeline(metric, 3 * 24 * HOUR, '3d', now)
    const h = hours('memory')
    expect(h.resolution_seconds).toBe(3600)
    expect(h.timestamps).toHaveLength(72)
    expect(h.timestamps.at(-1)).toBe(T0)
    expect(h.values.at(-1)).toBe(25)
    expect(hours('requests').values.at(-1)).toBe(3)
    expect(hours('errors').values.at(-1)).toBe(1)
  })

  it('takes hourly percentiles from the merged histogram, not from the minutes', () => {
    const r = new Rollups()
    const truth = new LatencyHistogram()
    // Minute 0: 90 fast requests; minute 1: 10 slow ones. The hour's p95 is slow; the average of
    // the two minutes' p95s would be about half way.
    for (let i = 0; i < 90; i++) {
      r.recordRequest('/md', req(10), (T0 + 1) * 1000)
      truth.record(10)
    }
    for (let i = 0; i < 10; i++) {
      r.recordRequest('/md', req(1000), (T0 + 61) * 1000)
      truth.record(1000)
    }
    const now = (T0 + 100) * 1000
    const minutesP95 = r.timeline('latency_p95', 120, '120s', now).values as number[]
    const hourP95 = (r.timeline('latency_p95', 3 * 24 * HOUR, '3d', now).values as number[]).at(-1)!
    const hourP50 = (r.timeline('latency_p50', 3 * 24 * HOUR, '3d', now).values as number[]).at(-1)!
    expect(minutesP95[0]).toBeLessThan(11)
    expect(minutesP95[1]).toBeGreaterThan(990)
    // p95 of the hour: rank 95 of 100 lies among the slow ones.
    expect(hourP95).toBeCloseTo(truth.percentile(0.95), 2)
    expect(hourP95).toBeGreaterThan(990)
    expect(hourP95).not.toBeCloseTo(((minutesP95[0] ?? 0) + (minutesP95[1] ?? 0)) / 2, 0)
    expect(hourP50).toBeCloseTo(truth.percentile(0.5), 2)
    expect(hourP50).toBeLessThan(11)
  })

  it('answers null where nothing was recorded: a gap, not a zero', () => {
    const r = new Rollups()
    r.recordTick(T0 * 1000, gauges(50))
    r.recordTick((T0 + 180) * 1000, gauges(60))
    const tl = r.timeline('memory', 5 * 60, '300s', (T0 + 190) * 1000)
    expect(tl.timestamps).toEqual([T0 - 60, T0, T0 + 60, T0 + 120, T0 + 180])
    expect(tl.values).toEqual([null, 50, null, null, 60])
    // A minute with requests but no sample: counters count, gauges are unknown.
    r.recordRequest('/md', req(5), (T0 + 61) * 1000)
    const again = r.timeline('memory', 5 * 60, '300s', (T0 + 190) * 1000)
    expect(again.values).toEqual([null, 50, null, null, 60])
    expect(r.timeline('requests', 5 * 60, '300s', (T0 + 190) * 1000).values).toEqual([null, 0, 1, null, 0])
  })

  it('merges a stored bucket with what was counted since (the hour a restart fell in)', () => {
    const before = new Rollups()
    before.recordTick(T0 * 1000, gauges(10))
    before.recordRequest('/md', req(10), T0 * 1000)
    const stored = before.takeDirty(T0 + 10)!
    expect(stored.minutes).toHaveLength(1)
    expect(stored.hours).toHaveLength(1)
    expect(stored.endpoints).toEqual([expect.objectContaining({ t: T0, endpoint: '/md', stats: expect.objectContaining({ count: 1 }) })])
    expect(before.takeDirty(T0 + 10)).toBeNull()

    const after = new Rollups()
    after.recordTick((T0 + 30) * 1000, gauges(30))
    after.recordRequest('/md', req(20, false), (T0 + 30) * 1000)
    after.load(JSON.parse(JSON.stringify(stored)), T0 + 40)
    const now = (T0 + 40) * 1000
    expect(after.timeline('memory', 600, '600s', now).values.at(-1)).toBe(20)
    expect(after.timeline('requests', 600, '600s', now).values.at(-1)).toBe(2)
    expect(after.endpoints(T0, T0 + HOUR).hours).toEqual([
      { timestamp: T0, timestamp_ms: T0 * 1000, endpoints: { '/md': expect.objectContaining({ count: 2, errors: 1 }) } },
    ])
    // The merged buckets are written back whole.
    const rewrite = after.takeDirty(T0 + 40)!
    expect(rewrite.minutes[0]).toMatchObject({ n: 2, requests: 2 })
    expect(rewrite.hours[0]).toMatchObject({ n: 2, requests: 2 })
  })

  it('keeps a failed batch dirty and trims what is past its retention', () => {
    const r = new Rollups()
    r.recordTick(T0 * 1000, gauges(1))
    const batch = r.takeDirty(T0)!
    r.markDirty(batch)
    expect(r.takeDirty(T0)).toMatchObject({ minutes: [{ t: T0 }], hours: [{ t: T0 }] })
    r.recordRequest('/md', req(1), T0 * 1000)
    expect(r.counts()).toEqual({ minutes: 1, hours: 1, endpoint_hours: 1 })
    r.takeDirty(T0 + RETENTION.minute + 60)
    expect(r.counts()).toEqual({ minutes: 0, hours: 1, endpoint_hours: 1 })
    r.takeDirty(T0 + RETENTION.endpoints + HOUR)
    expect(r.counts()).toEqual({ minutes: 0, hours: 1, endpoint_hours: 0 })
    r.takeDirty(T0 + RETENTION.hour + HOUR)
    expect(r.counts()).toEqual({ minutes: 0, hours: 0, endpoint_hours: 0 })
  })

  it('the live tick carries the 5 s of errors, cache hits and latency percentiles, then starts over', () => {
    const r = new Rollups()
    r.recordRequest('/md', req(100, false), T0 * 1000)
    r.recordRequest('/md', req(100, true, true), T0 * 1000)
    expect(r.takeTickActivity()).toEqual({ errors: 1, cache_hits: 1, latency_p50: expect.closeTo(100, 0), latency_p95: expect.closeTo(100, 0) })
    expect(r.takeTickActivity()).toEqual({ errors: 0, cache_hits: 0, latency_p50: 0, latency_p95: 0 })
  })
})

describe('TimelineQuery windows', () => {
  const window = (w: string) => TimelineQuery.safeParse({ window: w })
  it.each([
    ['5m', 300],
    ['90s', 90],
    ['1h', 3600],
    ['24h', 86_400],
    ['48h', 172_800],
    ['7d', 604_800],
    ['30d', 2_592_000],
    ['90d', 7_776_000],
  ])('accepts %s', (w, seconds) => {
    expect(window(w)).toMatchObject({ success: true, data: { window: seconds } })
  })
  it.each([
    ['4s', /at least 5s/],
    ['301s', /whole minutes/],
    ['2881m', /whole hours/],
    ['91d', /at most 90d/],
    ['1w', /window looks like/],
    ['-1h', /window looks like/],
  ])('refuses %s, listing what is accepted', (w, why) => {
    const r = window(w)
    expect(r.success).toBe(false)
    const message = r.error?.issues[0]?.message ?? ''
    expect(message).toMatch(why)
    expect(message).toMatch(/accepted: .*1h, 24h, 7d, 30d/)
  })
  it('takes the new metrics and keeps the old ones', () => {
    for (const metric of ['memory', 'cpu', 'requests', 'browsers', 'limit', 'errors', 'latency_p50', 'latency_p95', 'queue', 'cache_hits'])
      expect(TimelineQuery.safeParse({ metric }).success).toBe(true)
    expect(TimelineQuery.safeParse({ metric: 'disk' }).success).toBe(false)
  })
})
