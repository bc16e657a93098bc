import { describe, expect, it } from 'vitest'
import { EndpointCounter, mergeCounters } from '../src/main/core/monitor/endpoint-stats.js'
import { ErrorGroups, errorShape } from '../src/main/core/monitor/error-groups.js'
import { LatencyHistogram, mergeHistograms } from '../src/main/core/monitor/latency-histogram.js'
import { RingBuffer } from '../src/main/core/monitor/ring-buffer.js'
import { rng } from './helpers/rng.js'

/**
 * The monitor's building blocks, pure and in memory: the bounded buffers every history lives
 * in, the latency histogram behind p50/p95, the per-endpoint counters, and error grouping.
 */

/** The nearest-rank percentile of the raw data: what the histogram approximates. */
function truePercentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil(p * sorted.length))
  return sorted[rank - 1] as number
}

function histogramOf(values: number[]): LatencyHistogram {
  const h = new LatencyHistogram()
  for (const v of values) h.record(v)
  return h
}

describe('RingBuffer', () => {
  it('keeps items oldest first up to its capacity', () => {
    const b = new RingBuffer<number>(3)
    expect(b.capacity).toBe(3)
    expect(b.size).toBe(0)
    expect(b.toArray()).toEqual([])
    expect(b.latest()).toEqual([])
    b.push(1)
    b.push(2)
    expect(b.size).toBe(2)
    expect(b.toArray()).toEqual([1, 2])
    b.push(3)
    expect(b.size).toBe(3)
    expect(b.toArray()).toEqual([1, 2, 3])
  })

  it('drops the oldest item when full, across many wrap-arounds', () => {
    const b = new RingBuffer<number>(4)
    for (let i = 1; i <= 10; i++) {
      b.push(i)
      const expected = Array.from({ length: Math.min(i, 4) }, (_, k) => i - Math.min(i, 4) + 1 + k)
      expect(b.toArray()).toEqual(expected)
      expect(b.size).toBe(expected.length)
    }
    expect(b.toArray()).toEqual([7, 8, 9, 10])
  })

  it('latest(limit) is newest first and never more than it holds', () => {
    const b = new RingBuffer<string>(5)
    for (const s of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) b.push(s)
    expect(b.latest()).toEqual(['g', 'f', 'e', 'd', 'c'])
    expect(b.latest(2)).toEqual(['g', 'f'])
    expect(b.latest(1)).toEqual(['g'])
    expect(b.latest(0)).toEqual([])
    expect(b.latest(100)).toEqual(['g', 'f', 'e', 'd', 'c'])
    const small = new RingBuffer<number>(10)
    small.push(1)
    small.push(2)
    expect(small.latest(5)).toEqual([2, 1])
  })

  it('capacity 1 holds only the newest item', () => {
    const b = new RingBuffer<number>(1)
    b.push(1)
    b.push(2)
    expect(b.toArray()).toEqual([2])
    expect(b.latest(3)).toEqual([2])
  })

  it('clear empties it, and it fills again from scratch', () => {
    const b = new RingBuffer<number>(3)
    for (let i = 0; i < 5; i++) b.push(i)
    b.clear()
    expect(b.size).toBe(0)
    expect(b.toArray()).toEqual([])
    expect(b.latest()).toEqual([])
    b.push(42)
    b.push(43)
    expect(b.toArray()).toEqual([42, 43])
    expect(b.latest()).toEqual([43, 42])
  })

  it('rejects a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new RingBuffer(bad), String(bad)).toThrow(RangeError)
  })
})

describe('LatencyHistogram', () => {
  const datasets: Record<string, number[]> = {
    'uniform 1..1000': Array.from({ length: 1000 }, (_, i) => i + 1),
    'constant 250': Array.from({ length: 50 }, () => 250),
    'single value': [1234],
    'bimodal fast/slow': [...Array.from({ length: 90 }, (_, i) => 20 + (i % 10)), ...Array.from({ length: 10 }, (_, i) => 5000 + i * 100)],
    'log-normal-ish page loads': (() => {
      const r = rng(7)
      return Array.from({ length: 5000 }, () => Math.round(Math.exp(4 + 3 * r())))
    })(),
    'fractional values': (() => {
      const r = rng(11)
      return Array.from({ length: 777 }, () => 1 + r() * 9000)
    })(),
  }

  for (const [name, values] of Object.entries(datasets)) {
    it(`percentiles are within one bucket (~4 %) of the true value: ${name}`, () => {
      const h = histogramOf(values)
      for (const p of [0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1]) {
        const truth = truePercentile(values, p)
        const got = h.percentile(p)
        // Never below the true value (it reports the bucket's upper bound, capped at max) and at most one bucket above.
        expect(got, `p${p * 100} of ${name}`).toBeGreaterThanOrEqual(truth - 1e-9)
        expect(got, `p${p * 100} of ${name}`).toBeLessThanOrEqual(truth * 1.04 + 1e-9)
      }
      const max = Math.max(...values)
      expect(h.maxMs).toBe(max)
      expect(h.percentile(0.5)).toBeLessThanOrEqual(h.percentile(0.95))
      expect(h.percentile(0.95)).toBeLessThanOrEqual(max)
      expect(h.percentile(1)).toBe(max)
      expect(h.total).toBe(values.length)
    })
  }

  it('the mean is exact (sum / count), not bucketed', () => {
    const values = datasets['uniform 1..1000'] as number[]
    const h = histogramOf(values)
    expect(h.mean()).toBe(500.5)
    const bimodal = datasets['bimodal fast/slow'] as number[]
    expect(histogramOf(bimodal).mean()).toBe(bimodal.reduce((a, b) => a + b, 0) / bimodal.length)
  })

  it('an empty histogram reports zeros; negative latencies count as 0', () => {
    const h = new LatencyHistogram()
    expect(h.percentile(0.5)).toBe(0)
    expect(h.percentile(0.95)).toBe(0)
    expect(h.mean()).toBe(0)
    h.record(-5)
    expect(h.total).toBe(1)
    expect(h.mean()).toBe(0)
    expect(h.maxMs).toBe(0)
    expect(h.percentile(0.5)).toBe(0)
  })

  it('covers the whole range a crawl can take (up to max_page_timeout 600 s and far beyond)', () => {
    // The buckets reach ~5e8 ms (about 6 days); a crawl is capped at 600 s by config.
    for (const slow of [600_000, 3_600_000, 86_400_000]) {
      const h = histogramOf([10, 10, 10, slow])
      expect(h.total).toBe(4)
      expect(h.percentile(1)).toBe(slow)
      expect(h.percentile(0.5)).toBeGreaterThanOrEqual(10)
      expect(h.percentile(0.5)).toBeLessThanOrEqual(10 * 1.04)
    }
    // Past the last bucket a latency is still counted (total, sum, max) even if percentiles saturate there.
    const h = histogramOf([10, 1e12])
    expect(h.total).toBe(2)
    expect(h.maxMs).toBe(1e12)
    expect(h.mean()).toBe((10 + 1e12) / 2)
  })

  it('toJSON/fromJSON round-trips exactly, through JSON text too', () => {
    const values = datasets['log-normal-ish page loads'] as number[]
    const h = histogramOf(values)
    const state = h.toJSON()
    const back = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(state)))
    expect(back.toJSON()).toEqual(state)
    expect(back.total).toBe(h.total)
    expect(back.sumMs).toBe(h.sumMs)
    expect(back.maxMs).toBe(h.maxMs)
    for (const p of [0.1, 0.5, 0.95, 0.99]) expect(back.percentile(p)).toBe(h.percentile(p))
    expect(back.mean()).toBe(h.mean())
    // Compact: one entry per occupied bucket, not per sample.
    expect(Object.keys(state.counts).length).toBeLessThan(200)
  })

  it('mergeHistograms equals recording both sets into one, and leaves its inputs alone', () => {
    const r = rng(3)
    const a = Array.from({ length: 400 }, () => Math.round(1 + r() * 3000))
    const b = Array.from({ length: 250 }, () => Math.round(500 + r() * 60_000))
    const ha = histogramOf(a)
    const hb = histogramOf(b)
    const aBefore = ha.toJSON()
    const bBefore = hb.toJSON()
    const merged = mergeHistograms(ha, hb)
    const both = histogramOf([...a, ...b])
    expect(merged.toJSON()).toEqual(both.toJSON())
    for (const p of [0.5, 0.95, 0.99]) expect(merged.percentile(p)).toBe(both.percentile(p))
    expect(merged.mean()).toBe(both.mean())
    expect(ha.toJSON()).toEqual(aBefore)
    expect(hb.toJSON()).toEqual(bBefore)
    // With an empty side it is a copy.
    expect(mergeHistograms(new LatencyHistogram(), ha).toJSON()).toEqual(aBefore)
    expect(mergeHistograms(ha, new LatencyHistogram()).toJSON()).toEqual(aBefore)
  })
})

describe('EndpointCounter', () => {
  it('counts requests, successes and errors, and derives rates from them', () => {
    const c = new EndpointCounter()
    expect(c.view()).toEqual({
      count: 0,
      avg_latency_ms: 0,
      p50_latency_ms: 0,
      p95_latency_ms: 0,
      success_rate_percent: 0,
      pool_hit_rate_percent: 0,
      cache_hit_rate_percent: 0,
      errors: 0,
    })
    c.record({ success: true, elapsed_ms: 100, pool_hit: false })
    c.record({ success: true, elapsed_ms: 200, pool_hit: true })
    c.record({ success: false, elapsed_ms: 300, pool_hit: true })
    const v = c.view()
    expect(v.count).toBe(3)
    expect(v.errors).toBe(1)
    expect(v.success_rate_percent).toBe(66.67)
    expect(v.pool_hit_rate_percent).toBe(66.67)
    expect(v.avg_latency_ms).toBe(200)
    expect(v.p50_latency_ms).toBeGreaterThanOrEqual(200)
    expect(v.p50_latency_ms).toBeLessThanOrEqual(208)
    expect(v.p95_latency_ms).toBe(300) // capped at the true maximum
  })

  it('the cache-hit rate is the share of all requests answered from the result cache; it survives a save and a merge', () => {
    const c = new EndpointCounter()
    c.record({ success: true, elapsed_ms: 2, pool_hit: null, cache_hit: true })
    c.record({ success: true, elapsed_ms: 300, pool_hit: true, cache_hit: false })
    c.record({ success: true, elapsed_ms: 300, pool_hit: true })
    c.record({ success: true, elapsed_ms: 2, pool_hit: null, cache_hit: true })
    expect(c.view().cache_hit_rate_percent).toBe(50)
    const back = EndpointCounter.fromJSON(JSON.parse(JSON.stringify(c.toJSON())))
    expect(back.view().cache_hit_rate_percent).toBe(50)
    expect(mergeCounters(back, c).view().cache_hit_rate_percent).toBe(50)
    // History saved before the cache existed has no cache_hits: read as none.
    const { cache_hits: _none, ...old } = c.toJSON()
    expect(EndpointCounter.fromJSON(old).view().cache_hit_rate_percent).toBe(0)
  })

  it('the pool-hit rate ignores requests that never reached a browser (pool_hit null)', () => {
    const c = new EndpointCounter()
    c.record({ success: true, elapsed_ms: 50, pool_hit: true })
    c.record({ success: false, elapsed_ms: 5, pool_hit: null }) // e.g. rejected before a lease
    c.record({ success: false, elapsed_ms: 5, pool_hit: null })
    c.record({ success: true, elapsed_ms: 60, pool_hit: false })
    const v = c.view()
    expect(v.count).toBe(4)
    expect(v.errors).toBe(2)
    expect(v.success_rate_percent).toBe(50)
    expect(v.pool_hit_rate_percent).toBe(50) // 1 hit of the 2 that reached a browser, not 1 of 4
    const onlyNull = new EndpointCounter()
    onlyNull.record({ success: false, elapsed_ms: 1, pool_hit: null })
    expect(onlyNull.view().pool_hit_rate_percent).toBe(0)
    expect(onlyNull.view().success_rate_percent).toBe(0)
  })

  it('toJSON/fromJSON round-trips to the same view', () => {
    const c = new EndpointCounter()
    const r = rng(5)
    for (let i = 0; i < 300; i++) c.record({ success: r() > 0.2, elapsed_ms: Math.round(10 + r() * 2000), pool_hit: r() > 0.5 ? r() > 0.3 : null })
    const back = EndpointCounter.fromJSON(JSON.parse(JSON.stringify(c.toJSON())))
    expect(back.toJSON()).toEqual(c.toJSON())
    expect(back.view()).toEqual(c.view())
  })

  it('mergeCounters adds every count, as if one counter had seen both sets', () => {
    const r = rng(9)
    const events = Array.from({ length: 500 }, () => ({ success: r() > 0.1, elapsed_ms: Math.round(1 + r() * 5000), pool_hit: r() > 0.8 ? null : r() > 0.4 }))
    const a = new EndpointCounter()
    const b = new EndpointCounter()
    const all = new EndpointCounter()
    events.forEach((e, i) => {
      ;(i < 180 ? a : b).record(e)
      all.record(e)
    })
    const aBefore = a.toJSON()
    const merged = mergeCounters(a, b)
    expect(merged.toJSON()).toEqual(all.toJSON())
    expect(merged.view()).toEqual(all.view())
    expect(merged.count).toBe(a.count + b.count)
    expect(a.toJSON()).toEqual(aBefore)
  })
})

describe('errorShape and ErrorGroups', () => {
  it('the same message with different URLs, numbers, UUIDs, hex ids or quoted values has one shape', () => {
    const families: string[][] = [
      ['net::ERR_CONNECTION_REFUSED at http://127.0.0.1:41234/page?x=1', 'net::ERR_CONNECTION_REFUSED at https://example.com/other/path#frag'],
      ['page.goto: Timeout 30000ms exceeded.', 'page.goto: Timeout 1500ms exceeded.'],
      ['request 3f2504e0-4f89-11d3-9a0c-0305e82c3301 failed after 3 tries', 'request 123e4567-e89b-12d3-a456-426614174000 failed after 12 tries'],
      ['browser a1b2c3d4e5f6a7b8c9d0 crashed', 'browser 00ff00ff00ff00ff crashed'],
      ['waiting for selector "#main .title" failed', "waiting for selector '.other' failed"],
      ['HTTP 404 for http://127.0.0.1:5000/missing', 'HTTP 500 for http://127.0.0.1:6000/status/500'],
    ]
    const shapes = families.map((messages) => {
      const s = new Set(messages.map(errorShape))
      expect(s.size, messages.join(' | ')).toBe(1)
      return [...s][0] as string
    })
    // ...and the families themselves stay apart.
    expect(new Set(shapes).size).toBe(families.length)
    // The variable parts are really gone from the shape.
    expect(shapes[0]).not.toContain('127.0.0.1')
    expect(shapes[2]).not.toMatch(/3f2504e0|123e4567/)
  })

  it('different messages are different shapes', () => {
    const messages = ['net::ERR_CONNECTION_REFUSED', 'net::ERR_NAME_NOT_RESOLVED', 'Target page, context or browser has been closed', 'page_timeout exceeded']
    expect(new Set(messages.map(errorShape)).size).toBe(messages.length)
  })

  it('groups by shape with count, first/last seen, latest example and endpoints', () => {
    const g = new ErrorGroups(10)
    g.add('HTTP 404 for http://127.0.0.1:1/a', '/md', 1000)
    g.add('HTTP 404 for http://127.0.0.1:2/b', '/html', 2000)
    g.add('HTTP 404 for http://127.0.0.1:3/c', '/md', 3000)
    g.add('net::ERR_CONNECTION_REFUSED at http://127.0.0.1:9/', '/crawl', 2500)
    const list = g.list()
    expect(list).toHaveLength(2)
    const [top, other] = list
    expect(top).toMatchObject({ count: 3, first_seen: 1000, last_seen: 3000, example: 'HTTP 404 for http://127.0.0.1:3/c', endpoints: ['/md', '/html'] })
    expect(top?.signature).toBe(errorShape('HTTP 404 for http://127.0.0.1:1/a'))
    expect(other).toMatchObject({ count: 1, first_seen: 2500, last_seen: 2500, endpoints: ['/crawl'] })
  })

  it('list() is most frequent first and hands out copies', () => {
    const g = new ErrorGroups(10)
    g.add('alpha failed', '/md', 1)
    g.add('beta failed', '/md', 2)
    g.add('beta failed', '/md', 3)
    g.add('gamma failed', '/md', 4)
    expect(g.list().map((x) => x.example)).toEqual(['beta failed', 'gamma failed', 'alpha failed'])
    const copy = g.list()
    copy[0]!.count = 999
    copy[0]!.endpoints.push('/tampered')
    expect(g.list()[0]).toMatchObject({ count: 2, endpoints: ['/md'] })
  })

  it('is bounded: past maxGroups the least recently seen group is evicted', () => {
    const g = new ErrorGroups(3)
    g.add('error A', '/md', 1)
    g.add('error B', '/md', 2)
    g.add('error C', '/md', 3)
    g.add('error A', '/md', 4) // A is now the most recently seen; B the least
    g.add('error D', '/md', 5)
    expect(
      g
        .list()
        .map((x) => x.example)
        .sort(),
    ).toEqual(['error A', 'error C', 'error D'])
    g.add('error E', '/md', 6) // C goes next
    expect(
      g
        .list()
        .map((x) => x.example)
        .sort(),
    ).toEqual(['error A', 'error D', 'error E'])
    for (let i = 0; i < 1000; i++)
      g.add(`distinct failure kind ${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + (Math.floor(i / 26) % 26))}`, '/md', 10 + i)
    expect(g.list()).toHaveLength(3)
  })

  it('load(list()) round-trips, keeps recency for eviction, and trims to maxGroups by last seen', () => {
    const g = new ErrorGroups(5)
    g.add('error A 1', '/md', 10)
    g.add('error A 2', '/html', 40)
    g.add('error B', '/crawl', 20)
    g.add('error C', '/md', 30)
    const saved = JSON.parse(JSON.stringify(g.list()))
    const back = new ErrorGroups(5)
    back.load(saved)
    expect(back.list()).toEqual(g.list())
    // Recency survives the load: B (last seen 20) is the least recently seen, so it goes first.
    const small = new ErrorGroups(3)
    small.load(saved)
    small.add('error D', '/md', 50)
    expect(
      small
        .list()
        .map((x) => x.example)
        .sort(),
    ).toEqual(['error A 2', 'error C', 'error D'])
    // More stored groups than fit: the most recently seen are kept.
    const tiny = new ErrorGroups(2)
    tiny.load(saved)
    expect(
      tiny
        .list()
        .map((x) => x.example)
        .sort(),
    ).toEqual(['error A 2', 'error C'])
    // A loaded group keeps counting.
    back.add('error B', '/md', 60)
    expect(back.list().find((x) => x.example === 'error B')).toMatchObject({ count: 2, first_seen: 20, last_seen: 60, endpoints: ['/crawl', '/md'] })
    back.clear()
    expect(back.list()).toEqual([])
  })
})
