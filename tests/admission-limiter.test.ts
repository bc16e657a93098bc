import { describe, expect, it } from 'vitest'
import { PageLimiter, type LimiterInput, type PageSample } from '../src/main/core/admission/limiter.js'
import { Admission } from '../src/main/core/admission.js'
import { EngineEventBus } from '../src/main/core/events.js'

/*
 * The adaptive page limit as a pure function: fed what an interval showed, it answers with the
 * limit and why it moved. Admission's own part (the early refusal of a caller that cannot start
 * within its page_timeout) is at the end, without Chromium.
 */

const calm = { cpuPercent: 30, memoryPercent: 40, memoryThresholdPercent: 95 }
/** The CPUs busy: slow and late pages are the machine's doing, and lower the limit. */
const loaded = { ...calm, cpuPercent: 95 }

/** `n` pages of `ms` each that started at `startedAt` with `concurrency` open beside them. */
function pages(n: number, ms: number, startedAt: number, concurrency: number, budgetMs: number | null = 60_000): PageSample[] {
  return Array.from({ length: n }, () => ({ serviceMs: ms, budgetMs, concurrency, startedAt }))
}

/** Drives a limiter tick by tick: each tick, `limit` pages (all slots busy, callers waiting) of `ms`. */
function drive(l: PageLimiter, from: number, ticks: number, ms: (limit: number) => number, over: Partial<LimiterInput> = {}) {
  const changes = []
  let now = from
  for (let i = 0; i < ticks; i++) {
    const started = now
    now += 1000
    const change = l.update({
      now,
      samples: pages(l.limit, ms(l.limit), started, l.limit),
      running: [],
      peakActive: l.limit,
      peakQueued: 5,
      ...calm,
      ...over,
    })
    if (change) changes.push(change)
    expect(l.limit).toBeGreaterThanOrEqual(l.min)
    expect(l.limit).toBeLessThanOrEqual(l.max)
  }
  return { changes, now }
}

describe('PageLimiter', () => {
  it('fast pages with callers waiting raise the limit to the ceiling (doubling first), never past it', () => {
    const l = new PageLimiter({ min: 1, max: 8, initial: 2, cpus: 2 }, 0)
    const { changes } = drive(l, 0, 10, () => 200)
    expect(l.limit).toBe(8)
    expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
      [2, 4, 'headroom'],
      [4, 8, 'headroom'],
    ])
    expect(changes[0]!.detail).toMatch(/callers waited/)
  })

  it('does not rise while the slots were not all busy and nobody waited (app-limited)', () => {
    const l = new PageLimiter({ min: 1, max: 8, initial: 2, cpus: 2 }, 0)
    const change = l.update({ now: 1000, samples: pages(1, 200, 0, 1), running: [], peakActive: 1, peakQueued: 0, ...calm })
    expect(change).toBeNull()
    expect(l.limit).toBe(2)
  })

  it('rising page latency makes the limit fall (reason latency), by at most half per round', () => {
    const l = new PageLimiter({ min: 1, max: 8, initial: 8, cpus: 2 }, 0)
    // A baseline from uncontended pages: 200 ms.
    l.update({ now: 1000, samples: pages(2, 200, 0, 2), running: [], peakActive: 2, peakQueued: 0, ...calm })
    // Pages now take 10x the baseline: one cut per round, each by half (the most a round cuts).
    const { changes } = drive(l, 1000, 3, () => 2000, { cpuPercent: 95 })
    expect(changes.length).toBeGreaterThan(0)
    for (const c of changes) {
      expect(c.reason).toBe('latency')
      expect(c.to).toBeLessThan(c.from)
      expect(c.to).toBeGreaterThanOrEqual(Math.floor(c.from / 2))
      expect(c.detail).toMatch(/baseline/)
    }
    expect(changes.map((c) => [c.from, c.to])).toEqual([
      [8, 4],
      [4, 2],
    ])
    // At 2 pages on 2 CPUs they share no CPU: their time is the new baseline, no further cut.
    expect(l.limit).toBe(2)
  })

  it('decreases once per round: pages started before the last decrease do not cut again', () => {
    const l = new PageLimiter({ min: 1, max: 8, initial: 8, cpus: 2 }, 0)
    l.update({ now: 1000, samples: pages(2, 200, 0, 2), running: [], peakActive: 2, peakQueued: 0, ...calm })
    const first = l.update({ now: 5000, samples: pages(8, 3000, 1500, 8), running: [], peakActive: 8, peakQueued: 4, ...loaded })
    expect(first).toMatchObject({ from: 8, reason: 'latency' })
    // The rest of the first wave (started at 1500, before the cut at 5000) finishes slow too.
    const second = l.update({ now: 6000, samples: pages(4, 4000, 1500, 8), running: [], peakActive: 8, peakQueued: 4, ...loaded })
    expect(second).toBeNull()
  })

  it('memory at the threshold makes it fall (reason memory) and memory near it holds it', () => {
    const l = new PageLimiter({ min: 2, max: 8, initial: 8, cpus: 2 }, 0)
    const change = l.update({
      now: 1000,
      samples: pages(8, 200, 0, 8),
      running: [],
      peakActive: 8,
      peakQueued: 3,
      cpuPercent: 20,
      memoryPercent: 96,
      memoryThresholdPercent: 95,
    })
    expect(change).toMatchObject({ from: 8, to: 6, reason: 'memory' })
    expect(change!.detail).toMatch(/96 % >= 95 %/)
    drive(l, 1000, 5, () => 200, { memoryPercent: 99, memoryThresholdPercent: 95 })
    expect(l.limit).toBe(2) // the floor
    // Just under the threshold: fast pages and waiting callers still do not raise it.
    const { changes } = drive(l, 10_000, 5, () => 200, { memoryPercent: 92, memoryThresholdPercent: 95 })
    expect(changes).toEqual([])
    // With room, it rises again, one at a time now (no slow start after a decrease).
    const rising = drive(l, 20_000, 3, () => 200)
    expect(rising.changes.map((c) => [c.from, c.to, c.reason])).toEqual([
      [2, 3, 'headroom'],
      [3, 4, 'headroom'],
      [4, 5, 'headroom'],
    ])
  })

  it('a page past half its page_timeout makes it fall (reason deadline), before any page finished', () => {
    const l = new PageLimiter({ min: 1, max: 8, initial: 4, cpus: 2 }, 0)
    const running = Array.from({ length: 4 }, () => ({ startedAt: 100, budgetMs: 10_000 }))
    expect(l.update({ now: 4000, samples: [], running, peakActive: 4, peakQueued: 8, ...loaded })).toBeNull()
    const change = l.update({ now: 6000, samples: [], running, peakActive: 4, peakQueued: 8, ...loaded })
    expect(change).toMatchObject({ from: 4, to: 3, reason: 'deadline' })
    expect(change!.detail).toMatch(/59 % of its page_timeout \(more than 50 %\), cpu 95 %/)
  })

  it('light pages after heavy ones bring it back up', () => {
    const l = new PageLimiter({ min: 1, max: 6, initial: 6, cpus: 2 }, 0)
    l.update({ now: 1000, samples: pages(2, 100, 0, 2), running: [], peakActive: 2, peakQueued: 0, ...calm })
    const heavy = drive(l, 1000, 6, () => 3000, { cpuPercent: 95 })
    expect(l.limit).toBe(1)
    expect(heavy.changes.every((c) => c.reason === 'latency')).toBe(true)
    const light = drive(l, heavy.now, 10, () => 100)
    expect(l.limit).toBe(6)
    expect(light.changes.every((c) => c.reason === 'headroom' && c.to === c.from + 1)).toBe(true)
  })

  it("with the CPUs idle, slow or late pages are the sites' doing: the limit holds", () => {
    const l = new PageLimiter({ min: 1, max: 8, initial: 8, cpus: 2 }, 0)
    l.update({ now: 1000, samples: pages(2, 200, 0, 2), running: [], peakActive: 2, peakQueued: 0, ...calm })
    // 10x the baseline, and pages past 90 % of their page_timeout, while CPU reads 30 %.
    const { changes } = drive(l, 1000, 5, () => 2000, { cpuPercent: 30 })
    const running = Array.from({ length: 8 }, () => ({ startedAt: 7000, budgetMs: 10_000 }))
    expect(l.update({ now: 16_000, samples: [], running, peakActive: 8, peakQueued: 0, ...calm })).toBeNull()
    expect(changes).toEqual([])
    expect(l.limit).toBe(8)
    // The same pages with the CPUs busy: down it goes.
    expect(l.update({ now: 17_000, samples: [], running, peakActive: 8, peakQueued: 0, ...loaded })).toMatchObject({ from: 8, reason: 'deadline' })
  })

  it('never leaves its bounds, whatever it is fed', () => {
    const l = new PageLimiter({ min: 3, max: 5, initial: 100, cpus: 2 }, 0)
    expect(l.limit).toBe(5)
    let now = 0
    for (let i = 0; i < 300; i++) {
      now += 1000
      const ms = [10, 50_000, 300, 1][i % 4]!
      l.update({
        now,
        samples: pages(1 + (i % 5), ms, now - 900, 1 + (i % 7), i % 3 === 0 ? null : 5000),
        running: i % 2 ? [{ startedAt: now - 4000, budgetMs: 5000 }] : [],
        peakActive: 5,
        peakQueued: i % 2,
        cpuPercent: (i * 37) % 101,
        memoryPercent: (i * 13) % 101,
        memoryThresholdPercent: 90,
      })
      expect(l.limit).toBeGreaterThanOrEqual(3)
      expect(l.limit).toBeLessThanOrEqual(5)
    }
    // A floor above the ceiling is cut to it.
    expect(new PageLimiter({ min: 9, max: 4, initial: 1, cpus: 2 }).limit).toBe(4)
  })
})

describe('Admission with a page_timeout', () => {
  it('refuses at once (429) a caller that could not start before its deadline, and one whose wait ran out', async () => {
    const events = new EngineEventBus()
    const admission = new Admission(1, 5, events)
    const held = await admission.acquire()
    const rejected: unknown[] = []
    events.on('admission:rejected', (e) => rejected.push(e))
    // The slot is held ~1 s on average (the start value): a 300 ms budget cannot be met.
    const t0 = Date.now()
    await expect(admission.acquire({ deadline: { at: Date.now() + 300, budgetMs: 300 } })).rejects.toMatchObject({ status: 429, code: 'queue_full' })
    expect(Date.now() - t0).toBeLessThan(100)
    // Enough budget to wait, but not to be served once the slot is still held near its end.
    const waiting = admission.acquire({ deadline: { at: Date.now() + 2500, budgetMs: 2500 } })
    expect(admission.queuedCount).toBe(1)
    await expect(waiting).rejects.toThrow(/too little of page_timeout/)
    expect(admission.queuedCount).toBe(0)
    expect(rejected).toHaveLength(2)
    held.release()
    // An admitted caller (a batch's further URL) is never refused early.
    const again = await admission.acquire({ admitted: true, deadline: { at: Date.now() + 10, budgetMs: 10 } })
    again.release()
    admission.close()
  })

  it('fixed admission (adaptive off) reports its state', () => {
    const admission = new Admission(4, 2, new EngineEventBus())
    expect(admission.state).toEqual({ limit: 4, max_limit: 4, min_limit: 4, adaptive: false, last_change: null })
    admission.close()
  })
})
