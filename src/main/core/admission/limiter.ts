/*
 * The adaptive page limit, as a pure function of what the last second showed: no timers, no I/O,
 * no clock of its own. Admission feeds it the pages that finished (their service time, not their
 * queue wait), the pages still running and the host's CPU and memory; it answers with the limit
 * and, when the limit moved, why.
 *
 * The shape is AIMD on a latency gradient (TCP Vegas / Netflix's Gradient2, cut down to the few
 * long, CPU-bound tasks a crawler runs):
 * - a baseline: what a page costs when it does not share the CPUs (pages that ran with at most
 *   `cpus` pages open); a faster page always lowers it, a slower one raises it only slowly, so a
 *   saturated machine does not teach itself that slow is normal;
 * - decrease, multiplicatively, when memory is at the threshold, when a page used more than
 *   `deadlineShare` of its page_timeout (the next ones would not finish), or when pages take more
 *   than `tolerance` times the baseline; at most once per round: only pages started since the
 *   last decrease count, as TCP cuts its window once per round trip;
 * - increase by one (doubling until the first decrease: a slow start) when every slot was busy or
 *   callers waited, pages run near the baseline, and memory has room.
 */

import type { AdmissionLimitReason } from '../../../shared/monitor-types.js'

export type LimitReason = AdmissionLimitReason

export interface LimiterOptions {
  /** Floor (at least 1) and ceiling (max_pages) of the limit. */
  min: number
  max: number
  /** The limit before anything was measured; clamped to [min, max]. */
  initial: number
  /** Pages that may run at once without sharing a CPU: their service time is the baseline. */
  cpus: number
  /** Decrease when pages take more than this many times the baseline. */
  tolerance?: number
  /** Increase only while pages take at most this many times the baseline. */
  headroom?: number
  /** A page that used this share of its page_timeout means the limit is too high for these pages. */
  deadlineShare?: number
  /** Memory this close under the threshold (percentage points) holds the limit: no increase. */
  memoryMarginPercent?: number
  /** CPU at or above this, with pages slower than the baseline, holds the limit. */
  cpuBusyPercent?: number
  /**
   * Slow or late pages lower the limit only while CPU is at least this busy (or unread): with the
   * CPUs idle a page is slow because its site is (network-bound), and fewer pages at once would
   * only crawl less.
   */
  loadedCpuPercent?: number
}

/** One page that gave its slot back. */
export interface PageSample {
  /** From the slot's start to the end of the page work (queue wait excluded). */
  serviceMs: number
  /** Its page_timeout; null when the caller gave none. */
  budgetMs: number | null
  /** The most pages open at once while it ran (itself included). */
  concurrency: number
  /** When its slot was granted, on the same clock as `now`. */
  startedAt: number
}

/** A page still holding its slot. */
export interface RunningPage {
  startedAt: number
  budgetMs: number | null
}

export interface LimiterInput {
  now: number
  samples: readonly PageSample[]
  running: readonly RunningPage[]
  /** The most slots held and callers waiting at once since the last update. */
  peakActive: number
  peakQueued: number
  /** Percent; null when not read. */
  cpuPercent: number | null
  memoryPercent: number | null
  memoryThresholdPercent: number
}

export interface LimitChange {
  at: number
  from: number
  to: number
  reason: LimitReason
  /** The numbers behind the reason, for people. */
  detail: string
}

export interface LimiterState {
  limit: number
  /** Service time of a page that does not share the CPUs, in ms; null until a page finished. */
  baselineMs: number | null
  /** Time of the last decrease: pages started before it ran under a higher limit. */
  lastDecreaseAt: number
  /** Still doubling: no decrease happened yet. */
  slowStart: boolean
}

const DEFAULTS = { tolerance: 2, headroom: 1.3, deadlineShare: 0.5, memoryMarginPercent: 5, cpuBusyPercent: 90, loadedCpuPercent: 70 }

/** A faster page moves the baseline this much of the way at once, a slower contended one this much. */
const BASELINE_DOWN = 0.3
const BASELINE_UP_UNCONTENDED = 0.2
const BASELINE_UP_CONTENDED = 0.02

export class PageLimiter {
  readonly min: number
  readonly max: number
  private readonly opts: Required<Omit<LimiterOptions, 'min' | 'max' | 'initial'>>
  private s: LimiterState

  constructor(options: LimiterOptions, now = 0) {
    this.max = Math.max(1, Math.floor(options.max))
    this.min = Math.min(this.max, Math.max(1, Math.floor(options.min)))
    this.opts = { ...DEFAULTS, ...stripUndefined(options), cpus: Math.max(1, options.cpus) }
    this.s = { limit: clamp(Math.floor(options.initial), this.min, this.max), baselineMs: null, lastDecreaseAt: now, slowStart: true }
  }

  get state(): Readonly<LimiterState> {
    return this.s
  }

  get limit(): number {
    return this.s.limit
  }

  /** Fold in what the last interval showed; returns the change, or null when the limit holds. */
  update(input: LimiterInput): LimitChange | null {
    const o = this.opts
    this.learnBaseline(input.samples)
    const from = this.s.limit
    const base = this.s.baselineMs

    // Pages that started under the current limit: only they say something about it.
    const fresh = input.samples.filter((p) => p.startedAt >= this.s.lastDecreaseAt)
    const freshRunning = input.running.filter((p) => p.startedAt >= this.s.lastDecreaseAt)
    const windowMs = fresh.length > 0 ? mean(fresh.map((p) => p.serviceMs)) : null
    // A page still running is a lower bound of its service time: it counts once it is already late.
    const oldestRunningMs = freshRunning.reduce((m, p) => Math.max(m, input.now - p.startedAt), 0)
    const latencyMs = Math.max(windowMs ?? 0, base !== null && oldestRunningMs > o.tolerance * base ? oldestRunningMs : 0) || null

    const memory = input.memoryPercent
    if (memory !== null && memory >= input.memoryThresholdPercent)
      return this.decrease(input.now, Math.floor(from * 0.75), 'memory', `memory ${fmt(memory)} % >= ${fmt(input.memoryThresholdPercent)} % threshold`)

    const loaded = input.cpuPercent === null || input.cpuPercent >= o.loadedCpuPercent
    const late = [
      ...fresh.filter((p) => p.budgetMs !== null).map((p) => p.serviceMs / (p.budgetMs as number)),
      ...freshRunning.filter((p) => p.budgetMs !== null).map((p) => (input.now - p.startedAt) / (p.budgetMs as number)),
    ].reduce((m, share) => Math.max(m, share), 0)
    if (loaded && late >= o.deadlineShare)
      return this.decrease(
        input.now,
        Math.floor(from * 0.75),
        'deadline',
        `a page used ${Math.round(late * 100)} % of its page_timeout (more than ${Math.round(o.deadlineShare * 100)} %)${input.cpuPercent === null ? '' : `, cpu ${fmt(input.cpuPercent)} %`}`,
      )

    if (loaded && base !== null && latencyMs !== null && latencyMs > o.tolerance * base) {
      // Gradient2's step: shrink in proportion to the slowdown, by at most half.
      const gradient = Math.max(0.5, (o.tolerance * base) / latencyMs)
      const cpu = input.cpuPercent === null ? '' : `, cpu ${fmt(input.cpuPercent)} %`
      return this.decrease(input.now, Math.floor(from * gradient), 'latency', `pages took ${ms(latencyMs)} against a ${ms(base)} baseline${cpu}`)
    }

    const utilised = input.peakActive >= from || input.peakQueued > 0
    const memoryRoom = memory === null || memory < input.memoryThresholdPercent - o.memoryMarginPercent
    const near = base === null || windowMs === null || windowMs <= o.headroom * base
    const cpuBusy = input.cpuPercent !== null && input.cpuPercent >= o.cpuBusyPercent && base !== null && windowMs !== null && windowMs > 1.1 * base
    if (from < this.max && utilised && memoryRoom && fresh.length > 0 && near && !cpuBusy) {
      const to = Math.min(this.max, this.s.slowStart ? from * 2 : from + 1)
      const seen = windowMs === null ? '' : `, pages took ${ms(windowMs)}${base === null ? '' : ` (baseline ${ms(base)})`}`
      return this.change(input.now, to, 'headroom', `${input.peakQueued > 0 ? 'callers waited' : 'every slot was busy'}${seen}`)
    }
    return null
  }

  /** The baseline follows uncontended pages; contended ones pull it up only slowly (see the top). */
  private learnBaseline(samples: readonly PageSample[]): void {
    for (const p of samples) {
      const b = this.s.baselineMs
      const uncontended = p.concurrency <= this.opts.cpus
      // The first page ever: scaled down by how far the CPUs were over-subscribed while it ran.
      if (b === null) this.s.baselineMs = uncontended ? p.serviceMs : p.serviceMs / (p.concurrency / this.opts.cpus)
      else if (p.serviceMs < b) this.s.baselineMs = b + BASELINE_DOWN * (p.serviceMs - b)
      else this.s.baselineMs = b + (uncontended ? BASELINE_UP_UNCONTENDED : BASELINE_UP_CONTENDED) * (p.serviceMs - b)
    }
  }

  private decrease(now: number, proposed: number, reason: LimitReason, detail: string): LimitChange | null {
    const from = this.s.limit
    if (from <= this.min) return null
    this.s.slowStart = false
    this.s.lastDecreaseAt = now
    // At least one less: a multiplicative cut of a small limit rounds to itself.
    return this.change(now, Math.min(from - 1, proposed), reason, detail)
  }

  private change(now: number, proposed: number, reason: LimitReason, detail: string): LimitChange | null {
    const from = this.s.limit
    const to = clamp(proposed, this.min, this.max)
    if (to === from) return null
    this.s.limit = to
    return { at: now, from, to, reason, detail }
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n))
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1)
}

function ms(n: number): string {
  return n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
