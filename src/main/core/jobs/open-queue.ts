import type { JobCounts } from '../../../shared/job-schemas.js'
import type { Config } from '../config.js'
import { CrawldeckError } from '../errors.js'
import { BullmqJobQueue } from './bullmq-queue.js'
import { EmbeddedJobQueue } from './embedded-queue.js'
import type { JobQueue, JobQueueDeps } from './job-queue.js'

export interface JobQueueTuning {
  /** BullMQ's job lock, in ms (30 s by default): how long a dead instance holds its jobs. */
  lockMs?: number
  /** How often BullMQ looks for jobs whose lock ran out, in ms (30 s by default). */
  stalledCheckMs?: number
}

/**
 * BullMQ on the configured Redis (a fleet shares it through redis_prefix), else LMDB in the data
 * dir. A data dir the job store cannot open (not writable, not a directory) does not stop the
 * service: /crawl/job answers 503 saying why, and /monitor/health's jobs carry the error.
 */
export function openJobQueue(config: Config, deps: JobQueueDeps, tuning: JobQueueTuning = {}): JobQueue {
  if (config.redis_url) return new BullmqJobQueue({ redisUrl: config.redis_url, prefix: config.redis_prefix, ...tuning }, deps)
  try {
    return new EmbeddedJobQueue(config.data_dir, deps)
  } catch (err) {
    const why = `the job store cannot be opened in ${config.data_dir}: ${err instanceof Error ? err.message : String(err)}`
    deps.logger.warn(`${why}; /crawl/job answers 503 until it can`)
    return new UnavailableJobQueue(why)
  }
}

/** No store: nothing can be queued, nothing is found. */
class UnavailableJobQueue implements JobQueue {
  readonly backend = 'embedded' as const
  constructor(private readonly why: string) {}
  async submit(): Promise<boolean> {
    throw new CrawldeckError(503, 'jobs_unavailable', this.why)
  }
  async get(): Promise<null> {
    return null
  }
  async list(): Promise<{ jobs: never[]; total: number }> {
    return { jobs: [], total: 0 }
  }
  async cancel(): Promise<null> {
    return null
  }
  async counts(): Promise<JobCounts> {
    throw new Error(this.why)
  }
  async close(): Promise<void> {}
}
