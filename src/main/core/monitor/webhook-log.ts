import type { WebhookDeliveryView, WebhooksResponse } from '../../../shared/monitor-webhooks.js'
import type { EngineEventBus, WebhookDeliveryEvent } from '../events.js'
import { RingBuffer } from './ring-buffer.js'

/** Deliveries kept for /monitor/webhooks; older ones fall out (their totals stay counted). */
export const WEBHOOK_LOG_SIZE = 200
/** Attempts kept per delivery: the sender makes at most 5, so this only bounds a hostile config. */
const MAX_ATTEMPTS_KEPT = 10

/**
 * Recent webhook deliveries, from the sender's engine events: a delivery appears with its first
 * attempt (pending while it retries) and is settled by its delivered/failed event.
 */
export class WebhookLog {
  private readonly ring: RingBuffer<WebhookDeliveryView>
  /** The ring's entries still pending, by id, so an attempt finds its delivery without a scan. */
  private readonly open = new Map<string, WebhookDeliveryView>()
  private readonly totals = { delivered: 0, failed: 0, refused: 0, attempts: 0 }
  private readonly unsubscribe: Array<() => void> = []

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
