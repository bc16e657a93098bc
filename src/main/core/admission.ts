import { PageLimiter, type LimitChange, type LimitReason, type PageSample, type RunningPage } from './admission/limiter.js'
import { AbortedError, QueueFullError, ShuttingDownError } from './errors.js'
import type { EngineEventBus } from './events.js'

/*
 * Admission control: bounds the pages open at once and the callers waiting for one, so overload
 * is answered at once with a 429 and a Retry-After rather than queued without end. The bound on
 * pages is fixed (max_pages) or adaptive (admission/limiter.ts, between min_pages and max_pages).
 */

export interface Slot {
  /** Time spent waiting in the queue for this slot. */
  readonly waitMs: number
  /**
   * The page work is over and only the page's context is still closing: the slot still counts,
   * but it will be free in a few milliseconds (see acquire).
   */
  draining(): void
  release(): void
}

/** The host readings the adaptive limit weighs; the monitor's once-a-second sampler takes them. */
export interface AdmissionPressure {
  cpu_percent: number | null
  memory_percent: number | null
  memory_threshold_percent: number
}

export interface AdaptiveOptions {
  /** The floor of the limit (min_pages); max_pages is its ceiling. */
  min: number
  /** The limit before any page was measured. */
  initial: number
  /** CPUs the pages share: pages up to this many at once define the baseline page time. */
  cpus: number
  pressure: () => AdmissionPressure
  /** How often the limit is reconsidered, ms (1000). */
  intervalMs?: number
}

export interface AdmissionState {
  limit: number
  max_limit: number
  min_limit: number
  adaptive: boolean
  /** The last move of the limit; null while it has not moved. at: epoch ms. */
  last_change: { at: number; from: number; to: number; reason: LimitReason; detail: string } | null
}

interface Waiter {
  resolve: (slot: Slot) => void
  reject: (err: Error) => void
  enqueuedAt: number
  /** Its page_timeout, for the limiter's samples. */
  budgetMs: number | null
  cleanup: () => void
}

interface Held {
  startedAt: number
  budgetMs: number | null
  concurrency: number
}

/** A caller's page_timeout: when it started counting, and how long it is. */
export interface AdmissionDeadline {
  /** Epoch ms the budget runs out. */
  at: number
  budgetMs: number
}

/**
 * Admission control: at most `limit` pages open at once, at most `queueLimit` callers waiting.
 * A caller that would overflow the queue is refused at once with 429 and a Retry-After
 * estimated from how long slots are actually held.
 */
export class Admission {
  private active = 0
  /** Slots whose crawl has answered and whose context is still closing. */
  private drainingSlots = 0
  private readonly queue: Waiter[] = []
  /** Moving average of how long a slot is held, in ms: the basis of Retry-After. */
  private avgHoldMs = 1000
  private closed = false
  private limit: number
  private readonly maxLimit: number
  private readonly limiter: PageLimiter | null
  private readonly held = new Set<Held>()
  private samples: PageSample[] = []
  private peakActive = 0
  private peakQueued = 0
  private lastChange: AdmissionState['last_change'] = null
  private timer: NodeJS.Timeout | null = null

  constructor(
    limit: number,
    private readonly queueLimit: number,
    private readonly events: EngineEventBus,
    private readonly adaptive: AdaptiveOptions | null = null,
  ) {
    this.maxLimit = limit
    this.limit = limit
    this.limiter = adaptive ? new PageLimiter({ min: adaptive.min, max: limit, initial: adaptive.initial, cpus: adaptive.cpus }, Date.now()) : null
    if (this.limiter && adaptive) {
      this.limit = this.limiter.limit
      this.timer = setInterval(() => this.reconsider(), adaptive.intervalMs ?? 1000)
      this.timer.unref()
    }
  }

  get activeCount(): number {
    return this.active
  }

  get queuedCount(): number {
    return this.queue.length
  }

  /** `limit`: the pages allowed at once now (the adaptive limit when on). */
  get capacity(): { limit: number; queue_limit: number } {
    return { limit: this.limit, queue_limit: this.queueLimit }
  }

  get state(): AdmissionState {
    return {
      limit: this.limit,
      max_limit: this.maxLimit,
      min_limit: this.limiter?.min ?? this.maxLimit,
      adaptive: this.limiter !== null,
      last_change: this.lastChange && { ...this.lastChange },
    }
  }

  /**
   * `admitted` callers (further URLs of a batch that already got in) wait without counting
   * against the queue bound: refusing them half-way would fail a request we accepted.
   * A draining slot lets one more caller wait beyond the bound: a client that sends its next
   * request as soon as it has the last answer must not get a 429 from a context still closing.
   * `deadline` (the caller's page_timeout, which queue wait eats into) bounds the wait: a new
   * caller that could not start before it runs out is refused at once, and a waiter still queued
   * when too little of it is left to do the page is refused then (429 both), instead of taking a
   * slot for a page that would time out.
   */
  acquire(opts: { signal?: AbortSignal; admitted?: boolean; deadline?: AdmissionDeadline } = {}): Promise<Slot> {
    if (this.closed) return Promise.reject(new ShuttingDownError())
    if (opts.signal?.aborted) return Promise.reject(new AbortedError())
    const budgetMs = opts.deadline?.budgetMs ?? null
    if (this.active < this.limit && this.queue.length === 0) {
      this.active++
      this.changed(null)
      return Promise.resolve(this.makeSlot(0, budgetMs))
    }
    if (!opts.admitted && this.queue.length >= this.queueLimit + this.drainingSlots) return Promise.reject(this.refuse())
    const deadline = opts.admitted ? undefined : opts.deadline
    // Whole rounds of the slots ahead: the earliest this caller can expect a slot.
    const expectedWaitMs = Math.ceil((this.queue.length + 1) / this.limit) * this.avgHoldMs
    if (deadline && Date.now() + expectedWaitMs >= deadline.at)
      return Promise.reject(this.refuse(`no page slot is expected within page_timeout (${deadline.budgetMs} ms)`))
    return new Promise<Slot>((resolve, reject) => {
      const signal = opts.signal
      let giveUp: NodeJS.Timeout | null = null
      const leave = () => {
        const i = this.queue.indexOf(waiter)
        if (i >= 0) this.queue.splice(i, 1)
        waiter.cleanup()
        this.changed(null)
      }
      const onAbort = () => {
        leave()
        reject(new AbortedError())
      }
      const waiter: Waiter = {
        resolve: (slot) => resolve(slot),
        reject,
        enqueuedAt: Date.now(),
        budgetMs,
        cleanup: () => {
          signal?.removeEventListener('abort', onAbort)
          if (giveUp) clearTimeout(giveUp)
        },
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      if (deadline) {
        // A page needs about what a slot is held for; half the budget at most, so a long
        // average does not refuse callers that have most of theirs left.
        const needMs = Math.min(this.avgHoldMs, deadline.budgetMs / 2)
        giveUp = setTimeout(
          () => {
            leave()
            reject(this.refuse(`waited ${Date.now() - waiter.enqueuedAt} ms; too little of page_timeout (${deadline.budgetMs} ms) was left to do the page`))
          },
          Math.max(0, deadline.at - needMs - Date.now()),
        )
        giveUp.unref()
      }
      this.queue.push(waiter)
      this.peakQueued = Math.max(this.peakQueued, this.queue.length)
      this.changed(null)
    })
  }

  private refuse(why?: string): QueueFullError {
    const retryAfter = this.retryAfterSeconds()
    this.events.emit('admission:rejected', { queued: this.queue.length, retry_after_seconds: retryAfter })
    return new QueueFullError(retryAfter, this.queue.length, why)
  }

  private makeSlot(waitMs: number, budgetMs: number | null): Slot {
    const heldFrom = Date.now()
    const held: Held = { startedAt: heldFrom, budgetMs, concurrency: this.active }
    this.held.add(held)
    this.peakActive = Math.max(this.peakActive, this.active)
    // Pages already open see one more beside them.
    for (const h of this.held) h.concurrency = Math.max(h.concurrency, this.active)
    let released = false
    let draining = false
    let workEnded: number | null = null
    const endWork = () => {
      if (workEnded !== null) return
      workEnded = Date.now()
      this.held.delete(held)
      if (this.limiter) this.samples.push({ serviceMs: workEnded - heldFrom, budgetMs, concurrency: held.concurrency, startedAt: heldFrom })
    }
    return {
      waitMs,
      draining: () => {
        if (released || draining) return
        draining = true
        this.drainingSlots++
        endWork()
      },
      release: () => {
        if (released) return
        released = true
        if (draining) this.drainingSlots--
        endWork()
        this.avgHoldMs = this.avgHoldMs * 0.8 + (Date.now() - heldFrom) * 0.2
        this.active--
        this.next()
      },
    }
  }

  private next(change: LimitChange | null = null): void {
    while (this.active < this.limit && this.queue.length > 0) {
      const waiter = this.queue.shift() as Waiter
      waiter.cleanup()
      this.active++
      waiter.resolve(this.makeSlot(Date.now() - waiter.enqueuedAt, waiter.budgetMs))
    }
    this.changed(change)
  }

  /** The adaptive limit's tick: what the last interval showed, to the limiter. */
  private reconsider(): void {
    const limiter = this.limiter
    if (!limiter || !this.adaptive || this.closed) return
    const pressure = this.adaptive.pressure()
    const running: RunningPage[] = [...this.held].map((h) => ({ startedAt: h.startedAt, budgetMs: h.budgetMs }))
    const change = limiter.update({
      now: Date.now(),
      samples: this.samples,
      running,
      peakActive: this.peakActive,
      peakQueued: this.peakQueued,
      cpuPercent: pressure.cpu_percent,
      memoryPercent: pressure.memory_percent,
      memoryThresholdPercent: pressure.memory_threshold_percent,
    })
    this.samples = []
    this.peakActive = this.active
    this.peakQueued = this.queue.length
    if (change) this.apply(change)
  }

  private apply(change: LimitChange): void {
    this.limit = change.to
    this.lastChange = { ...change }
    // A raised limit lets waiters in now; a lowered one takes effect as slots come back.
    this.next(change)
  }

  private retryAfterSeconds(): number {
    const seconds = (this.avgHoldMs * (this.queue.length + 1)) / this.limit / 1000
    return Math.min(60, Math.max(1, Math.ceil(seconds)))
  }

  private changed(change: LimitChange | null): void {
    this.events.emit('admission:changed', {
      active: this.active,
      queued: this.queue.length,
      limit: this.limit,
      queue_limit: this.queueLimit,
      max_limit: this.maxLimit,
      reason: change?.reason ?? null,
      change: change && { at: change.at, from: change.from, to: change.to, reason: change.reason, detail: change.detail },
    })
  }

  /** Refuse newcomers and fail everyone still waiting. */
  close(): void {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    for (const waiter of this.queue.splice(0)) {
      waiter.cleanup()
      waiter.reject(new ShuttingDownError())
    }
    this.changed(null)
  }
}
