import type { CrawlResponse } from '../../../shared/crawl-schemas.js'
import type { JobCounts, JobStatus } from '../../../shared/job-schemas.js'
import { CrawldeckError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { JobCrawler } from '../service/crawl-service.js'
import type { JobRecord } from './job-record.js'
import type { WebhookPayload, WebhookSender } from './webhooks.js'

/**
 * The job queue as the service sees it. Two implementations: embedded (LMDB in the data dir,
 * one process) and BullMQ (Redis, any number of instances sharing the queue).
 */
export interface JobQueue {
  readonly backend: 'embedded' | 'bullmq'
  /**
   * Stores the job (status queued) and queues it; resolves once it is stored. False: a kept job
   * already has that task_id, and nothing was stored (the caller draws another).
   */
  submit(record: JobRecord): Promise<boolean>
  /** Null when there is no such job, or its result has outlived the TTL. */
  get(id: string): Promise<JobRecord | null>
  /** Newest first, at most `limit`, results left out; `total`: how many of that status are kept. */
  list(status: JobStatus | null, limit: number): Promise<{ jobs: JobRecord[]; total: number }>
  /**
   * A queued job is cancelled at once; a running one is told to take no further URL (it reads
   * `cancelled` once its URLs in progress are done). Null: no such job.
   */
  cancel(id: string): Promise<JobRecord | null>
  counts(): Promise<JobCounts>
  /**
   * Takes no further job; running ones go on until `graceMs` has passed, then are stopped and
   * handed back (queued again, for this or another instance to run from the start).
   */
  close(graceMs: number): Promise<void>
}

export interface JobQueueDeps {
  crawler: JobCrawler
  webhooks: WebhookSender | null
  logger: Logger
  /** Seconds a finished job is kept; 0: kept until deleted by hand. */
  ttlSeconds: number
  /** Jobs run at once: the admission limit, so jobs alone can fill every page slot and no more. */
  capacity: () => number
  /** This instance's fleet id: a shared queue writes it into the record of each job it takes. */
  instanceId: string
}

/** How a run ended. `handed_back`: stopped by a shutdown, to be run again. */
export type JobEnd =
  { status: 'completed' | 'cancelled'; result: CrawlResponse } | { status: 'failed'; error: string; result?: undefined } | { status: 'handed_back' }

/** A job's end as stored: a queued job cancelled before it ran has no result. */
export interface FinishedEnd {
  status: 'completed' | 'failed' | 'cancelled'
  result?: CrawlResponse
  error?: string
}

export interface RunControl {
  /** Aborted at the shutdown deadline: the URLs in progress are abandoned and the job handed back. */
  signal: AbortSignal
  /** True once the job is cancelled: no further URL is started. */
  cancelled(): boolean
  onProgress(done: number): void
}

/** Crawl4AI's job error text: the HTTP status, then the message ("400: URL blocked ..."). */
export function jobError(err: unknown): string {
  if (err instanceof CrawldeckError) return `${err.status}: ${err.message}`
  return `500: ${err instanceof Error ? err.message : String(err)}`
}

/** Runs one job's crawl; never throws. */
export async function runJob(record: JobRecord, crawler: JobCrawler, control: RunControl): Promise<JobEnd> {
  try {
    const result = await crawler.crawlJob(record.request, { signal: control.signal, stop: control.cancelled, onResult: control.onProgress })
    if (control.signal.aborted) return { status: 'handed_back' }
    // A cancel that came after the last URL had started changes nothing: every URL was crawled.
    const cancelled = control.cancelled() && result.results.length < record.request.urls.length
    return { status: cancelled ? 'cancelled' : 'completed', result }
  } catch (err) {
    if (control.signal.aborted) return { status: 'handed_back' }
    return { status: 'failed', error: jobError(err) }
  }
}

/**
 * Deliveries of finished jobs' webhooks, sent after the status is written (as Crawl4AI does)
 * but without holding the job's slot while a receiver retries.
 */
export class WebhookDispatch {
  private readonly pending = new Set<Promise<unknown>>()

  constructor(
    private readonly sender: WebhookSender | null,
    private readonly logger: Logger,
  ) {}

  /**
   * Announces a completed, failed or cancelled job whose submitter gave a webhook_config. Called
   * once per job, by whoever moved it to that status (the move is atomic, so only one caller).
   */
  announce(record: JobRecord): void {
    const target = record.webhook
    if (this.sender === null || target === null) return
    if (record.status !== 'completed' && record.status !== 'failed' && record.status !== 'cancelled') return
    const payload: WebhookPayload = {
      task_id: record.task_id,
      task_type: 'crawl',
      status: record.status,
      timestamp: new Date().toISOString().replace('Z', '+00:00'),
      urls: record.request.urls,
    }
    if (record.status === 'failed' && record.error !== undefined) payload.error = record.error
    if (record.status === 'completed' && record.result !== undefined) payload.data = record.result
    const delivery = this.sender.send(target, payload).catch((err: unknown) => this.logger.warn({ err, task_id: record.task_id }, 'webhook delivery failed'))
    this.pending.add(delivery)
    void delivery.finally(() => this.pending.delete(delivery))
  }

  /** Waits for deliveries under way, at most `ms`. */
  async settle(ms: number): Promise<void> {
    if (this.pending.size === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, ms)))])
    clearTimeout(timer)
  }
}
