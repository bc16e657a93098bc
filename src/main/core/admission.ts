import { AbortedError, QueueFullError, ShuttingDownError } from './errors.js'
import type { EngineEventBus } from './events.js'

/*
 * Admission control: bounds the pages open at once and the callers waiting for one, so overload
 * is answered at once with a 429 and a Retry-After rather than queued without end.
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

interface Waiter {
  resolve: (slot: Slot) => void
  reject: (err: Error) => void
  enqueuedAt: number
  cleanup: () => void
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

  constructor(
    private readonly limit: number,
    private readonly queueLimit: number,
    private readonly events: EngineEventBus,
  ) {}

  get activeCount(): number {
    return this.active
  }

  get queuedCount(): number {
    return this.queue.length
  }

  get capacity(): { limit: number; queue_limit: number } {
    return { limit: this.limit, queue_limit: this.queueLimit }
  }

  /**
   * `admitted` callers (further URLs of a batch that already got in) wait without counting
   * against the queue bound: refusing them half-way would fail a request we accepted.
   * A draining slot lets one more caller wait beyond the bound: a client that sends its next
   * request as soon as it has the last answer must not get a 429 from a context still closing.
   */
  acquire(opts: { signal?: AbortSignal; admitted?: boolean } = {}): Promise<Slot> {
    if (this.closed) return Promise.reject(new ShuttingDownError())
    if (opts.signal?.aborted) return Promise.reject(new AbortedError())
    if (this.active < this.limit && this.queue.length === 0) {
      this.active++
      this.changed()
      return Promise.resolve(this.makeSlot(0))
    }
    if (!opts.admitted && this.queue.length >= this.queueLimit + this.drainingSlots) {
      const retryAfter = this.retryAfterSeconds()
      this.events.emit('admission:rejected', { queued: this.queue.length, retry_after_seconds: retryAfter })
      return Promise.reject(new QueueFullError(retryAfter, this.queue.length))
    }
    return new Promise<Slot>((resolve, reject) => {
      const signal = opts.signal
      const onAbort = () => {
        const i = this.queue.indexOf(waiter)
        if (i >= 0) this.queue.splice(i, 1)
        this.changed()
        reject(new AbortedError())
      }
      const waiter: Waiter = {
        resolve,
        reject,
        enqueuedAt: Date.now(),
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.queue.push(waiter)
      this.changed()
    })
  }

  private makeSlot(waitMs: number): Slot {
    const heldFrom = Date.now()
    let released = false
    let draining = false
    return {
      waitMs,
      draining: () => {
        if (released || draining) return
        draining = true
        this.drainingSlots++
      },
      release: () => {
        if (released) return
        released = true
        if (draining) this.drainingSlots--
        this.avgHoldMs = this.avgHoldMs * 0.8 + (Date.now() - heldFrom) * 0.2
        this.active--
        this.next()
      },
    }
  }

  private next(): void {
    while (this.active < this.limit && this.queue.length > 0) {
      const waiter = this.queue.shift() as Waiter
      waiter.cleanup()
      this.active++
      waiter.resolve(this.makeSlot(Date.now() - waiter.enqueuedAt))
    }
    this.changed()
  }

  private retryAfterSeconds(): number {
    const seconds = (this.avgHoldMs * (this.queue.length + 1)) / this.limit / 1000
    return Math.min(60, Math.max(1, Math.ceil(seconds)))
  }

  private changed(): void {
    this.events.emit('admission:changed', { active: this.active, queued: this.queue.length, limit: this.limit, queue_limit: this.queueLimit })
  }

  /** Refuse newcomers and fail everyone still waiting. */
  close(): void {
    this.closed = true
    for (const waiter of this.queue.splice(0)) {
      waiter.cleanup()
      waiter.reject(new ShuttingDownError())
    }
    this.changed()
  }
}
