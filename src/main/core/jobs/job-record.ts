import { randomBytes } from 'node:crypto'
import type { CrawlRequest, CrawlResponse } from '../../../shared/crawl-schemas.js'
import type { JobStatus, JobStatusResponse, JobSummary } from '../../../shared/job-schemas.js'
import type { WebhookConfig } from '../../../shared/webhook-config.js'

/**
 * One job as a queue keeps it, and the answers made from it. Both queues (embedded and BullMQ)
 * store exactly this shape, so the answers cannot differ between them.
 */
export interface JobRecord {
  task_id: string
  status: JobStatus
  /** Epoch ms of the submission. */
  created_ms: number
  /** The request as the door parsed it (JSON round-trips it unchanged): crawled as it is when the job runs. */
  request: CrawlRequest
  webhook: WebhookConfig | null
  /** URLs finished so far; 0 until the job runs (and again when a handed-back job starts over). */
  done: number
  result?: CrawlResponse
  error?: string
  /** Set on a running job by DELETE: it takes no further URL. */
  cancel_requested?: boolean
  /** Epoch ms when it completed, failed or was cancelled. */
  finished_ms?: number
  /** On a shared queue (Redis): the fleet id of the instance that last took the job to run it. */
  instance?: string
}

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled'])

/** crawl_ + 8 lowercase hex digits, as Crawl4AI names crawl tasks. */
export function newTaskId(): string {
  return `crawl_${randomBytes(4).toString('hex')}`
}

/** Crawl4AI's created_at: ISO-8601 in UTC without a zone suffix (Python's datetime.isoformat()). */
export function crawl4aiTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '')
}

/** A status link: absolute on the HTTP door (its origin as the client addressed it), relative over IPC. */
function link(origin: string | undefined, id: string): { href: string } {
  return { href: `${origin ?? ''}/crawl/job/${id}` }
}

export function jobSummary(record: JobRecord, origin: string | undefined): JobSummary {
  const summary: JobSummary = {
    task_id: record.task_id,
    status: record.status,
    created_at: crawl4aiTime(record.created_ms),
    url: JSON.stringify(record.request.urls),
    _links: { self: link(origin, record.task_id), refresh: link(origin, record.task_id) },
    progress: { done: record.done, total: record.request.urls.length },
  }
  if (record.instance !== undefined) summary.instance = record.instance
  if (record.status === 'failed' && record.error !== undefined) summary.error = record.error
  return summary
}

/** GET /crawl/job/{id}: the summary plus the result (completed, or cancelled with URLs done). */
export function jobStatus(record: JobRecord, origin: string | undefined): JobStatusResponse {
  const status: JobStatusResponse = jobSummary(record, origin)
  if (record.result !== undefined && (record.status === 'completed' || record.status === 'cancelled')) status.result = record.result
  return status
}
