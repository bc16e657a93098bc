import type { WebhookDeliveryView, WebhooksResponse } from '../../../shared/monitor-webhooks.js'
import type { EngineEventBus, WebhookDeliveryEvent } from '../events.js'
import { RingBuffer } from './ring-buffer.js'

/** Deliveries kept for /monitor/webhooks; older ones fall out (their totals stay counted). */
export const WEBHOOK_LOG_SIZE = 200
/** Attempts kept per delivery: the sender makes at most 5, so this only bounds a hostile config. */
const MAX_ATTEMPTS_KEPT = 10
/** last_error of a delivery that was still retrying when the process stopped: it never ended. */
export const INTERRUPTED_ERROR = 'the service stopped before this delivery ended'

type Totals = Omit<WebhooksResponse['totals'], 'pending'>

/**
 * The log as the monitor's store keeps it (section `webhooks`, see monitor/history.ts): the
 * deliveries oldest first, and the totals since the history began.
 */
export interface StoredWebhookLog {
  deliveries: WebhookDeliveryView[]
  totals: Totals
}

/**
 * Recent webhook deliveries, from the sender's engine events: a delivery appears with its first
 * attempt (pending while it retries) and is settled by its delivered/failed event.
 */
export class WebhookLog {
  private readonly ring: RingBuffer<WebhookDeliveryView>
  /** The ring's entries still pending, by id, so an attempt finds its delivery without a scan. */
  private readonly open = new Map<string, WebhookDeliveryView>()
  private readonly totals: Totals = { delivered: 0, failed: 0, refused: 0, attempts: 0 }
  private readonly unsubscribe: Array<() => void> = []
  /** Told of every change, so the monitor's persister writes the log with its next flush. */
  private changed: () => void = () => undefined

  constructor(
    private readonly events: EngineEventBus,
    capacity = WEBHOOK_LOG_SIZE,
  ) {
    this.ring = new RingBuffer(capacity)
  }

  start(): void {
    this.unsubscribe.push(
      this.events.on('webhook:attempt', (a) => {
        this.totals.attempts++
        let entry = this.open.get(a.delivery_id)
        if (entry === undefined) {
          entry = {
            id: a.delivery_id,
            task_id: a.task_id,
            url: a.url,
            status: 'pending',
            attempts: 0,
            last_status_code: null,
            last_error: null,
            started_at: Date.now() - a.duration_ms,
            finished_at: null,
            duration_ms: null,
            attempt_log: [],
          }
          this.push(entry)
        }
        entry.attempts = a.attempt
        if (a.status_code !== null) entry.last_status_code = a.status_code
        entry.last_error = a.error
        if (entry.attempt_log.length < MAX_ATTEMPTS_KEPT)
          entry.attempt_log.push({
            attempt: a.attempt,
            at: Date.now(),
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
            retry_in_ms: a.retry_in_ms,
          })
        this.changed()
      }),
      this.events.on('webhook:delivered', (d) => this.settle(d)),
      this.events.on('webhook:failed', (d) => this.settle(d)),
    )
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off()
  }

  /** Newest first. */
  read(query: { limit: number; status: WebhookDeliveryView['status'] | 'all'; task_id?: string | undefined }, signed: boolean): WebhooksResponse {
    const deliveries = this.ring
      .latest()
      .filter((d) => (query.status === 'all' || d.status === query.status) && (query.task_id === undefined || d.task_id === query.task_id))
      .slice(0, query.limit)
      .map((d) => ({ ...d, attempt_log: d.attempt_log.map((a) => ({ ...a })) }))
    return { deliveries, totals: { ...this.totals, pending: this.open.size }, signed }
  }

  /** Calls `changed` after every change from now on (the monitor's history marks its section dirty). */
  onChange(changed: () => void): void {
    this.changed = changed
  }

  /** What the store keeps: every delivery still listed, oldest first, and the totals. */
  stored(): StoredWebhookLog {
    return { deliveries: this.ring.toArray().map((d) => ({ ...d, attempt_log: d.attempt_log.map((a) => ({ ...a })) })), totals: { ...this.totals } }
  }

  /**
   * Folds a stored log into this one: at start-up a plain restore; after a store that could not be
   * read at first, the stored part is added to what was logged meanwhile. A delivery stored as
   * pending was cut off by the stop of the process that sent it, and is shown failed.
   */
  restore(stored: unknown): void {
    const log = parseStored(stored)
    if (log === null) return
    for (const key of ['delivered', 'failed', 'refused', 'attempts'] as const) this.totals[key] += log.totals[key]
    const live = this.ring.toArray()
    const seen = new Set(live.map((d) => d.id))
    const restored = log.deliveries
      .filter((d) => !seen.has(d.id))
      .map((d): WebhookDeliveryView => {
        if (d.status !== 'pending') return d
        this.totals.failed++
        return { ...d, status: 'failed', last_error: INTERRUPTED_ERROR }
      })
    const all = [...restored, ...live].sort((a, b) => a.started_at - b.started_at)
    this.ring.clear()
    this.open.clear()
    for (const entry of all.slice(-this.ring.capacity)) this.push(entry)
    this.changed()
  }

  private settle(d: WebhookDeliveryEvent): void {
    this.totals[d.status]++
    const entry = this.open.get(d.id)
    this.open.delete(d.id)
    const settled: WebhookDeliveryView = {
      ...(entry ?? { attempt_log: [] }),
      id: d.id,
      task_id: d.task_id,
      url: d.url,
      status: d.status,
      attempts: d.attempts,
      last_status_code: d.last_status_code,
      last_error: d.last_error,
      started_at: d.started_at,
      finished_at: d.finished_at,
      duration_ms: d.duration_ms,
    }
    if (entry) Object.assign(entry, settled)
    else this.push(settled)
    this.changed()
  }

  private push(entry: WebhookDeliveryView): void {
    // A pending entry pushed out of the ring is no longer shown; stop tracking it too.
    if (this.ring.size === this.ring.capacity) {
      const oldest = this.ring.toArray()[0]
      if (oldest) this.open.delete(oldest.id)
    }
    this.ring.push(entry)
    if (entry.status === 'pending') this.open.set(entry.id, entry)
  }
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0)
const STATUSES: ReadonlySet<string> = new Set(['pending', 'delivered', 'failed', 'refused'])

/**
 * A stored log as this version reads it: written by us, but possibly by another version or
 * hand-edited, so an entry that lacks what the view needs is dropped rather than shown broken.
 */
function parseStored(value: unknown): StoredWebhookLog | null {
  if (typeof value !== 'object' || value === null) return null
  const v = value as { deliveries?: unknown; totals?: Record<string, unknown> }
  const totals = v.totals ?? {}
  const deliveries = (Array.isArray(v.deliveries) ? v.deliveries : []).filter(
    (d): d is WebhookDeliveryView =>
      typeof d === 'object' &&
      d !== null &&
      typeof d.id === 'string' &&
      typeof d.task_id === 'string' &&
      typeof d.url === 'string' &&
      STATUSES.has(d.status) &&
      typeof d.started_at === 'number' &&
      Array.isArray(d.attempt_log),
  )
  return {
    deliveries: deliveries.map((d) => ({ ...d, attempt_log: d.attempt_log.slice(0, MAX_ATTEMPTS_KEPT) })),
    totals: { delivered: count(totals.delivered), failed: count(totals.failed), refused: count(totals.refused), attempts: count(totals.attempts) },
  }
}
