import { z } from 'zod'

/**
 * What the monitor shows of job webhooks (GET /monitor/webhooks): the recent deliveries, each with
 * its attempts, newest first. A delivery still retrying is 'pending'.
 */

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'refused'

export interface WebhookAttemptView {
  attempt: number
  /** Epoch ms the attempt ended. */
  at: number
  status_code: number | null
  error: string | null
  duration_ms: number
  /** Delay before the next attempt; null when this was the last. */
  retry_in_ms: number | null
}

export interface WebhookDeliveryView {
  id: string
  task_id: string
  /** The receiver, without user name or password. */
  url: string
  status: WebhookDeliveryStatus
  attempts: number
  last_status_code: number | null
  last_error: string | null
  /** Epoch ms. */
  started_at: number
  finished_at: number | null
  duration_ms: number | null
  attempt_log: WebhookAttemptView[]
}

export interface WebhooksResponse {
  deliveries: WebhookDeliveryView[]
  /** Counts since start (not only the deliveries still listed). */
  totals: { delivered: number; failed: number; refused: number; pending: number; attempts: number }
  /** Whether deliveries carry X-Crawldeck-Signature (a webhook secret is configured). */
  signed: boolean
}

export const WebhooksQuery = z
  .object({
    limit: z.coerce
      .number({ message: 'limit must be a number' })
      .int('limit must be an integer')
      .min(1, 'limit must be at least 1')
      .max(1000, 'limit must be at most 1000')
      .default(100),
    status: z.enum(['all', 'pending', 'delivered', 'failed', 'refused']).default('all'),
    task_id: z.string().trim().min(1).max(128).optional(),
  })
  .strip()
