import { describe, expect, it } from 'vitest'
import { errorKeyOf, isRefusal, LoadStats, MAX_LOAD_URLS, percentile, planLoad, type LoadSample } from '../../src/renderer/src/lib/load-stats.js'

/* The load test's arithmetic: counts, percentiles, pages per second, error groups and the caps. */

const sample = (startedAt: number, endedAt: number, over: Partial<LoadSample> = {}): LoadSample => ({
  startedAt,
  endedAt,
  outcome: 'ok',
  pages: 1,
  failedPages: 0,
  errorKey: null,
  ...over,
})

describe('percentile', () => {
  it('is the nearest rank of an ascending list, null when empty', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(xs, 50)).toBe(50)
    expect(percentile(xs, 95)).toBe(95)
    expect(percentile([7], 95)).toBe(7)
    expect(percentile([1, 2, 3, 4], 50)).toBe(2)
    expect(percentile([], 50)).toBeNull()
  })
})

describe('LoadStats', () => {
  it('counts ok, failed and refused apart and groups errors, largest first', () => {
    const st = new LoadStats(0)
    st.record(sample(0, 100))
    st.record(sample(0, 200, { outcome: 'failed', pages: 0, failedPages: 1, errorKey: 'HTTP 500 internal' }))
    st.record(sample(0, 5, { outcome: 'refused', pages: 0, failedPages: 1, errorKey: 'HTTP 429 queue_full' }))
    st.record(sample(0, 6, { outcome: 'refused', pages: 0, failedPages: 1, errorKey: 'HTTP 429 queue_full' }))
    const s = st.snapshot(1000)
    expect(s).toMatchObject({ requests: 4, ok: 1, failed: 1, refused: 2, pages: 1, failedPages: 3 })
    expect(s.errors).toEqual([
      { key: 'HTTP 429 queue_full', count: 2 },
      { key: 'HTTP 500 internal', count: 1 },
    ])
  })

  it('takes p50/p95 from the latencies of answered, unrefused requests, in any order of arrival', () => {
    const st = new LoadStats(0)
    // 1..20 ms latencies, recorded shuffled; a refusal's 0 ms is left out.
    for (const ms of [13, 2, 20, 7, 1, 19, 5, 11, 3, 16, 9, 4, 18, 6, 12, 8, 15, 10, 17, 14]) st.record(sample(100, 100 + ms))
    st.record(sample(100, 100, { outcome: 'refused', pages: 0, failedPages: 1, errorKey: 'HTTP 429' }))
    const s = st.snapshot(1000)
    expect(s.p50Ms).toBe(10)
    expect(s.p95Ms).toBe(19)
  })

  it('gives pages per second over the sliding window and over the whole run', () => {
    const st = new LoadStats(0)
    // 10 pages in the first second, then 2 batch answers of 5 pages each at 9.5 s and 9.9 s.
    for (let i = 0; i < 10; i++) st.record(sample(0, 100 * i))
    st.record(sample(9000, 9500, { pages: 5 }))
    st.record(sample(9000, 9900, { pages: 5 }))
    const s = st.snapshot(10_000, 2000)
    expect(s.pages).toBe(20)
    expect(s.pagesPerSecWindow).toBe(5) // 10 pages in the last 2 s
    expect(s.pagesPerSecOverall).toBe(2) // 20 pages in 10 s
    // A run younger than the window is divided by its own age.
    const young = new LoadStats(0)
    young.record(sample(0, 400))
    expect(young.snapshot(500, 5000).pagesPerSecWindow).toBe(2)
    expect(new LoadStats(0).snapshot(0).pagesPerSecOverall).toBe(0)
  })
})

describe('errorKeyOf / isRefusal', () => {
  it('names a failure by status and code; 429 and 503 are refusals', () => {
    expect(errorKeyOf(500, 'internal')).toBe('HTTP 500 internal')
    expect(errorKeyOf(400, null)).toBe('HTTP 400')
    expect(errorKeyOf(0, 'network')).toBe('network error (network)')
    expect([429, 503, 500, 400, 0].map(isRefusal)).toEqual([true, true, false, false, false])
  })
})

describe('planLoad', () => {
  const admission = { limit: 4, max_limit: 8 }
  it('repeats one URL N times and caps N', () => {
    const p = planLoad({ urls: ['http://a/', 'http://b/'], source: 'repeat', count: 40, concurrency: 2, batch: 1, admission })
    expect(p.urls).toHaveLength(40)
    expect(new Set(p.urls)).toEqual(new Set(['http://a/']))
    expect(p).toMatchObject({ concurrency: 2, notes: [], blocked: null })
    const big = planLoad({ urls: ['http://a/'], source: 'repeat', count: 5000, concurrency: 1, batch: 1, admission })
    expect(big.urls).toHaveLength(MAX_LOAD_URLS)
    expect(big.notes.join()).toMatch(/N capped at 1000/)
  })

  it('caps a list at MAX_LOAD_URLS', () => {
    const urls = Array.from({ length: 1200 }, (_, i) => `http://h/${i}`)
    const p = planLoad({ urls, source: 'list', count: 0, concurrency: 1, batch: 1, admission })
    expect(p.urls).toEqual(urls.slice(0, MAX_LOAD_URLS))
    expect(p.notes.join()).toMatch(/the list has 1200/)
  })

  it('never puts more pages in flight than the admission limit now, and says why', () => {
    const p = planLoad({ urls: ['http://a/'], source: 'repeat', count: 10, concurrency: 50, batch: 1, admission })
    expect(p.concurrency).toBe(4)
    expect(p.notes.join()).toMatch(/concurrency capped at 4: the admission limit is 4 pages now \(max 8\)/)
    // Batches of 3 URLs: one request holds three pages, so only one fits in 4.
    const b = planLoad({ urls: ['http://a/'], source: 'repeat', count: 10, concurrency: 4, batch: 3, admission })
    expect(b.concurrency).toBe(1)
    expect(b.notes.join()).toMatch(/capped at 1: a request of 3 URLs holds 3 pages, and the admission limit is 4 now/)
  })

  it('blocks without URLs or without a known admission limit, and cleans hostile numbers', () => {
    expect(planLoad({ urls: [], source: 'list', count: 1, concurrency: 1, batch: 1, admission }).blocked).toMatch(/at least one URL/)
    expect(planLoad({ urls: ['http://a/'], source: 'list', count: 1, concurrency: 1, batch: 1, admission: null }).blocked).toMatch(
      /admission limit is not known/,
    )
    const p = planLoad({ urls: ['http://a/'], source: 'repeat', count: Number.NaN, concurrency: -3, batch: 1e9, admission })
    expect(p.urls).toHaveLength(1)
    expect(p.concurrency).toBe(1)
    expect(p.batch).toBe(100)
  })
})
