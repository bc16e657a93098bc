import type { ServiceImpl } from '../../../shared/contract.js'
import { CrawldeckError, ConflictError, NotFoundError } from '../errors.js'
import type { JobQueue } from '../jobs/job-queue.js'
import { jobStatus, jobSummary, newTaskId, type JobRecord } from '../jobs/job-record.js'
import type { WebhookSender } from '../jobs/webhooks.js'
import type { JobCrawler } from './crawl-service.js'

/*
 * The job operations (/crawl/job, /crawl/jobs): a job is checked as /crawl checks a request, then
 * stored and queued; the queue (embedded or BullMQ) runs it through the same crawl path.
 */

export interface JobServiceDeps {
  jobs: JobQueue
  crawler: JobCrawler
  webhooks: WebhookSender
  ttlSeconds: number
}

type JobOps = Pick<ServiceImpl, 'crawlJob' | 'crawlJobStatus' | 'cancelJob' | 'crawlJobs'>

export function createJobService(deps: JobServiceDeps): JobOps {
  const { jobs, crawler, webhooks, ttlSeconds } = deps

  const notFound = (id: string) =>
    new NotFoundError(
      ttlSeconds > 0
        ? `no job ${id}: it was never submitted here, or it finished more than ${ttlSeconds} s ago and its result is gone`
        : `no job ${id}: it was never submitted here`,
    )

  return {
    async crawlJob(input) {
      await crawler.checkJob(input)
      const { webhook_config: webhook, ...request } = input
      if (webhook !== null) {
        // Crawl4AI checks the receiver at submission: a refused one is a 400, not a failed job later.
        const why = await webhooks.checkTarget(webhook.webhook_url)
        if (why !== null)
          throw new CrawldeckError(400, 'url_blocked', `URL blocked: ${why}`, { details: [{ path: 'webhook_config.webhook_url', message: why }] })
      }
      // A task id no kept job has (32 random bits: a repeat is rare, not impossible). The queue
      // refuses a taken one as it stores the job, in the same step: no lookup before.
      for (;;) {
        const record: JobRecord = { task_id: newTaskId(), status: 'queued', created_ms: Date.now(), request, webhook, done: 0 }
        if (await jobs.submit(record)) return { task_id: record.task_id }
      }
    },

    async crawlJobStatus({ task_id }, ctx) {
      const record = await jobs.get(task_id)
      if (record === null) throw notFound(task_id)
      return jobStatus(record, ctx.origin)
    },

    async cancelJob({ task_id }, ctx) {
      const record = await jobs.cancel(task_id)
      if (record === null) throw notFound(task_id)
      if (record.status === 'completed' || record.status === 'failed')
        throw new ConflictError(`job ${task_id} has already ${record.status}: there is nothing to cancel`)
      return jobStatus(record, ctx.origin)
    },

    async crawlJobs({ status, limit }, ctx) {
      const { jobs: records, total } = await jobs.list(status === 'all' ? null : status, limit)
      return { jobs: records.map((r) => jobSummary(r, ctx.origin)), total }
    },
  }
}
