import { z } from 'zod'
import { WebUrl, withConfigWarnings, type CrawlResponse } from './crawl-schemas.js'
import { WebhookConfigSchema } from './webhook-config.js'

/**
 * The async crawl job API (Crawl4AI's /crawl/job), its inputs and answers. A job's URLs and
 * configs are checked exactly as /crawl checks them, at submission, so a bad request is a 400
 * at once rather than a failed job later.
 */

/**
 * URLs of one job. Crawl4AI sets no limit; one is set here because a job's record, its URLs and
 * later all of its results, is kept whole in the store.
 */
export const MAX_URLS_PER_JOB = 1000

export const CrawlJobRequestSchema = withConfigWarnings({
  urls: z.array(WebUrl).min(1, 'give at least one URL').max(MAX_URLS_PER_JOB, `at most ${MAX_URLS_PER_JOB} URLs per job`),
  webhook_config: WebhookConfigSchema.nullish().transform((w) => w ?? null),
})
export type CrawlJobRequest = z.output<typeof CrawlJobRequestSchema>

/** crawl_ + 8 lowercase hex digits, as Crawl4AI names crawl tasks. */
export const TASK_ID_PATTERN = /^crawl_[0-9a-f]{8}$/

export const JobIdInput = z
  .object({
    task_id: z.string().regex(TASK_ID_PATTERN, 'task_id looks like crawl_ followed by 8 lowercase hex digits, as POST /crawl/job answered'),
  })
  .strip()

/** Crawl4AI's three, plus `queued` (not started yet) and `cancelled` (DELETE /crawl/job/{id}). */
export const JOB_STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

export const JOB_LIST_MAX = 500

export const JobListQuery = z
  .object({
    status: z.enum(['all', ...JOB_STATUSES], { message: `status is one of all, ${JOB_STATUSES.join(', ')}` }).default('all'),
    limit: z.coerce
      .number({ message: 'limit must be a number' })
      .int('limit must be an integer')
      .min(1, 'limit must be at least 1')
      .max(JOB_LIST_MAX, `limit must be at most ${JOB_LIST_MAX}`)
      .default(50),
  })
  .strip()

export interface JobLink {
  href: string
}

/** GET /crawl/job/{task_id}: Crawl4AI's status answer, with crawldeck's progress. */
export interface JobStatusResponse {
  task_id: string
  status: JobStatus
  /** ISO-8601 without a time zone (UTC), as Crawl4AI writes it. */
  created_at: string
  /** The job's URLs as a JSON-encoded string of the array, as Crawl4AI answers it. */
  url: string
  _links: { self: JobLink; refresh: JobLink }
  /** URLs finished of the job's total. */
  progress: { done: number; total: number }
  /**
   * With Redis (a fleet): the id of the instance that took the job last (as /monitor/fleet lists
   * it), once one has; a job whose instance died shows the one that took it over.
   */
  instance?: string
  /** completed, and cancelled once started: the /crawl envelope of what finished. */
  result?: CrawlResponse
  /** failed: why, prefixed with the HTTP status as Crawl4AI does ("400: ..."). */
  error?: string
}

export interface JobSubmitResponse {
  task_id: string
}

/** One line of GET /crawl/jobs: the status answer without its result. */
export type JobSummary = Omit<JobStatusResponse, 'result'>

export interface JobListResponse {
  jobs: JobSummary[]
  /** Jobs of the asked status the store holds (the list shows at most `limit` of them, newest first). */
  total: number
}

/** Jobs by status, kept ones only (finished jobs count until their TTL runs out). */
export interface JobCounts {
  queued: number
  active: number
  completed: number
  failed: number
  cancelled: number
}

/** /monitor/health's `jobs`: where jobs are kept, and how many of each. */
export interface JobsHealth extends JobCounts {
  backend: 'embedded' | 'bullmq'
}
