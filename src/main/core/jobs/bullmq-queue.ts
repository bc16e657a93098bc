import { Queue, WaitingError, Worker, type Job } from 'bullmq'
import { Redis } from 'ioredis'
import type { JobCounts, JobStatus } from '../../../shared/job-schemas.js'
import { JOB_STATUSES } from '../../../shared/job-schemas.js'
import { ShuttingDownError } from '../errors.js'
import { runJob, WebhookDispatch, type FinishedEnd, type JobQueue, type JobQueueDeps } from './job-queue.js'
import type { JobRecord } from './job-record.js'

/*
 * The job queue on Redis: BullMQ moves job ids between instances (its locks, and its stalled-job
 * check that hands a dead worker's jobs to another), while each job's record lives in a hash of
 * ours, `<prefix>jobs:task:<id>`, the way Crawl4AI keeps `task:<id>`:
 *
 * - jobs:task:<id>    status, created_ms, request, webhook, done, result, error, cancel_requested;
 *                     a finished job's hash expires after the TTL;
 * - jobs:s:<status>   sorted set of the ids in that status, by created_ms (lists and counts);
 * - jobs:expiry       sorted set of finished ids by expiry time, swept from the status sets.
 *
 * Every status change is one Lua script, so a cancel and a worker's start or finish never both
 * win, and the sets always agree with the hashes. BullMQ's own job is removed once it ends: the
 * record is what answers.
 */

const QUEUE_NAME = 'crawl-jobs'

/** How often a running job looks for a DELETE sent to another instance. */
const CANCEL_POLL_MS = 250

/**
 * Moves a job to ARGV[4] if its status is one of ARGV[3] (space separated); answers the status it
 * had (false: no such job). A finished status gets finished_ms, the TTL and an expiry entry.
 * ARGV: prefix, id, from, to, now_ms, ttl_s, result, error, done, instance (the taker's fleet id).
 */
const MOVE = `
local p, id, from, to = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local task = p .. 'task:' .. id
local st = redis.call('HGET', task, 'status')
if not st then return false end
if not string.find(' ' .. from .. ' ', ' ' .. st .. ' ', 1, true) then return st end
local created = redis.call('HGET', task, 'created_ms')
redis.call('HSET', task, 'status', to)
if ARGV[7] ~= '' then redis.call('HSET', task, 'result', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', task, 'error', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', task, 'done', ARGV[9]) end
if ARGV[10] ~= '' then redis.call('HSET', task, 'instance', ARGV[10]) end
redis.call('ZREM', p .. 's:' .. st, id)
redis.call('ZADD', p .. 's:' .. to, created, id)
if to == 'completed' or to == 'failed' or to == 'cancelled' then
  redis.call('HDEL', task, 'cancel_requested')
  redis.call('HSET', task, 'finished_ms', ARGV[5])
  local ttl = tonumber(ARGV[6])
  if ttl > 0 then
    redis.call('EXPIRE', task, ttl)
    redis.call('ZADD', p .. 'expiry', tonumber(ARGV[5]) + ttl * 1000, id)
  end
end
return st
`

/**
 * MOVE to processing, answering the status it had and, when it moved, the whole record (HGETALL,
 * flat): a worker taking a job reads it in the same round trip as it claims it.
 */
const TAKE = MOVE.replace(/return st\n$/, "return {st, redis.call('HGETALL', task)}\n")

/**
 * Stores a new job's record (status queued) unless a kept job has its id; 1 when stored.
 * ARGV: prefix, id, created_ms, then the record's fields and values.
 */
const CREATE = `
local p, id = ARGV[1], ARGV[2]
local task = p .. 'task:' .. id
if redis.call('EXISTS', task) == 1 then return 0 end
redis.call('HSET', task, unpack(ARGV, 4))
redis.call('ZADD', p .. 's:queued', ARGV[3], id)
return 1
`

/** Removes expired ids from the status sets. ARGV: prefix, now_ms, statuses... */
const SWEEP = `
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'expiry', '-inf', ARGV[2], 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
  for i = 3, #ARGV do redis.call('ZREM', p .. 's:' .. ARGV[i], id) end
  redis.call('ZREM', p .. 'expiry', id)
end
return #ids
`

/** Asks a running job to stop, or answers what the job is. ARGV: prefix, id. */
const REQUEST_CANCEL = `
local task = ARGV[1] .. 'task:' .. ARGV[2]
local st = redis.call('HGET', task, 'status')
if st == 'processing' then redis.call('HSET', task, 'cancel_requested', '1') end
return st or false
`

/** The longest each step of close() waits on Redis. */
const CLOSE_STEP_MS = 2000

/** True when `p` settled (either way) within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ])
  clearTimeout(timer)
  return settled
}

interface RunningJob {
  abort: AbortController
  cancel: boolean
}

export interface BullmqQueueOptions {
  redisUrl: string
  /** Key prefix of this fleet (config.redis_prefix): instances sharing it share the queue. */
  prefix: string
  /** BullMQ's job lock: a worker silent this long is taken for dead and its jobs run elsewhere. */
  lockMs?: number
  /** How often BullMQ looks for jobs whose lock ran out (its stalled-job check). */
  stalledCheckMs?: number
}

export class BullmqJobQueue implements JobQueue {
  readonly backend = 'bullmq' as const
  private readonly redis: Redis
  private readonly queue: Queue
  private readonly worker: Worker
  private readonly keys: string
  private readonly running = new Map<string, RunningJob>()
  private readonly connections: Redis[] = []
  private readonly webhooks: WebhookDispatch
  private closing = false
  private readonly tuner: NodeJS.Timeout

  constructor(
    options: BullmqQueueOptions,
    private readonly deps: JobQueueDeps,
  ) {
    this.keys = `${options.prefix}jobs:`
    this.webhooks = new WebhookDispatch(deps.webhooks, deps.logger)
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 5000 })
    this.redis.on('error', (err) => deps.logger.debug({ err }, 'job store connection error'))
    this.redis.defineCommand('jobMove', { numberOfKeys: 0, lua: MOVE })
    this.redis.defineCommand('jobTake', { numberOfKeys: 0, lua: TAKE })
    this.redis.defineCommand('jobCreate', { numberOfKeys: 0, lua: CREATE })
    this.redis.defineCommand('jobSweep', { numberOfKeys: 0, lua: SWEEP })
    this.redis.defineCommand('jobRequestCancel', { numberOfKeys: 0, lua: REQUEST_CANCEL })
    // BullMQ's keys under the same prefix: `<prefix>bull:crawl-jobs:*`.
    const bullPrefix = `${options.prefix}bull`
    // BullMQ's blocking reads need a client that retries forever (maxRetriesPerRequest null).
    const connection = () => {
      const c = new Redis(options.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 5000 })
      // Given to BullMQ as instances, so BullMQ never closes them: close() cuts them.
      this.connections.push(c)
      c.on('error', (err) => deps.logger.debug({ err }, 'job queue connection error'))
      return c
    }
    this.queue = new Queue(QUEUE_NAME, { connection: connection(), prefix: bullPrefix })
    this.queue.on('error', (err) => deps.logger.warn({ err }, 'job queue error'))
    this.worker = new Worker(QUEUE_NAME, (job, token) => this.process(job, token), {
      connection: connection(),
      prefix: bullPrefix,
      concurrency: Math.max(1, deps.capacity()),
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: options.stalledCheckMs ?? 30_000,
      // A job whose worker died is run again (not failed) several times before it is given up.
      maxStalledCount: 3,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
    })
    this.worker.on('error', (err) => deps.logger.warn({ err }, 'job worker error'))
    // The admission limit moves (adaptive): the jobs this worker takes at once follow it.
    this.tuner = setInterval(() => {
      const wanted = Math.max(1, deps.capacity())
      if (!this.closing && this.worker.concurrency !== wanted) this.worker.concurrency = wanted
    }, 1000)
    this.tuner.unref()
    // BullMQ fails a job itself when it stalled too often: the record must say so too.
    this.worker.on('failed', (job, err) => {
      if (job === undefined || err instanceof WaitingError || err.name === 'WaitingError') return
      void this.move(job.id as string, 'queued processing', { status: 'failed', error: `500: ${err.message}` }).catch(() => undefined)
    })
  }

  private task(id: string): string {
    return `${this.keys}task:${id}`
  }

  private moveArgs(id: string, from: string, end: FinishedEnd | { status: 'processing' | 'queued'; done?: number }): string[] {
    const e = end as FinishedEnd & { done?: number }
    const done = e.done ?? (e.result !== undefined ? e.result.results.length : undefined)
    return [
      this.keys,
      id,
      from,
      end.status,
      String(Date.now()),
      String(this.deps.ttlSeconds),
      e.result !== undefined ? JSON.stringify(e.result) : '',
      e.error ?? '',
      done !== undefined ? String(done) : '',
      // Who runs it: written as a worker takes the job, so a taken-over job names its new runner.
      end.status === 'processing' ? this.deps.instanceId : '',
    ]
  }

  private async move(id: string, from: string, end: FinishedEnd | { status: 'processing' | 'queued'; done?: number }): Promise<string | null> {
    return (this.redis as unknown as { jobMove(...args: string[]): Promise<string | null> }).jobMove(...this.moveArgs(id, from, end))
  }

  /**
   * Claims a queued job (or one a dead worker left processing) for this worker: the status it had,
   * and its record as it is now when this call moved it (null otherwise).
   */
  private async take(id: string): Promise<{ before: string | null; record: JobRecord | null }> {
    const answer = await (this.redis as unknown as { jobTake(...args: string[]): Promise<string | null | [string, string[]]> }).jobTake(
      ...this.moveArgs(id, 'queued processing', { status: 'processing', done: 0 }),
    )
    if (!Array.isArray(answer)) return { before: answer, record: null }
    const [before, flat] = answer
    const fields: Record<string, string> = {}
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string
    return { before, record: this.parse(fields) }
  }

  async submit(record: JobRecord): Promise<boolean> {
    if (this.closing) throw new ShuttingDownError()
    const fields = {
      task_id: record.task_id,
      status: 'queued',
      created_ms: String(record.created_ms),
      request: JSON.stringify(record.request),
      webhook: record.webhook === null ? '' : JSON.stringify(record.webhook),
      done: '0',
    }
    const stored = await (this.redis as unknown as { jobCreate(...args: string[]): Promise<number> }).jobCreate(
      this.keys,
      record.task_id,
      String(record.created_ms),
      ...Object.entries(fields).flat(),
    )
    if (stored !== 1) return false
    // The record first, then the queue entry: a worker never takes a job it cannot read.
    await this.queue.add('crawl', { task_id: record.task_id }, { jobId: record.task_id, removeOnComplete: true, removeOnFail: true })
    return true
  }

  private parse(fields: Record<string, string>): JobRecord | null {
    if (fields.status === undefined || fields.request === undefined) return null
    const record: JobRecord = {
      task_id: fields.task_id as string,
      status: fields.status as JobStatus,
      created_ms: Number(fields.created_ms),
      request: JSON.parse(fields.request),
      webhook: fields.webhook ? JSON.parse(fields.webhook) : null,
      done: Number(fields.done ?? 0),
    }
    if (fields.result) record.result = JSON.parse(fields.result)
    if (fields.error) record.error = fields.error
    if (fields.cancel_requested) record.cancel_requested = true
    if (fields.finished_ms) record.finished_ms = Number(fields.finished_ms)
    if (fields.instance) record.instance = fields.instance
    return record
  }

  async get(id: string): Promise<JobRecord | null> {
    return this.parse(await this.redis.hgetall(this.task(id)))
  }

  private async sweep(): Promise<void> {
    await (this.redis as unknown as { jobSweep(...args: string[]): Promise<number> }).jobSweep(this.keys, String(Date.now()), ...JOB_STATUSES)
  }

  async list(status: JobStatus | null, limit: number): Promise<{ jobs: JobRecord[]; total: number }> {
    await this.sweep()
    const statuses = status === null ? [...JOB_STATUSES] : [status]
    // Newest first across the asked sets: the newest `limit` of each, merged.
    const pipeline = this.redis.pipeline()
    for (const s of statuses) pipeline.zrevrange(`${this.keys}s:${s}`, 0, limit - 1, 'WITHSCORES').zcard(`${this.keys}s:${s}`)
    const answers = (await pipeline.exec()) ?? []
    const candidates: Array<{ id: string; at: number }> = []
    let total = 0
    for (let i = 0; i < answers.length; i += 2) {
      const range = (answers[i]?.[1] ?? []) as string[]
      for (let j = 0; j < range.length; j += 2) candidates.push({ id: range[j] as string, at: Number(range[j + 1]) })
      total += Number(answers[i + 1]?.[1] ?? 0)
    }
    candidates.sort((a, b) => b.at - a.at)
    const fields = ['task_id', 'status', 'created_ms', 'request', 'webhook', 'done', 'error', 'cancel_requested', 'finished_ms', 'instance'] as const
    const reads = this.redis.pipeline()
    for (const c of candidates.slice(0, limit)) reads.hmget(this.task(c.id), ...fields)
    const rows = (await reads.exec()) ?? []
    const jobs: JobRecord[] = []
    for (const [, row] of rows) {
      const values = row as Array<string | null>
      const record: Record<string, string> = {}
      fields.forEach((f, i) => {
        if (values[i] !== null && values[i] !== undefined) record[f] = values[i] as string
      })
      const parsed = this.parse(record)
      if (parsed !== null) jobs.push(parsed)
    }
    return { jobs, total }
  }

  async cancel(id: string): Promise<JobRecord | null> {
    const before = await this.move(id, 'queued', { status: 'cancelled' })
    if (before === null) return null
    if (before === 'queued') {
      // Its BullMQ entry may already be taken by a worker: that worker finds it cancelled and skips it.
      await this.queue.remove(id).catch(() => undefined)
      // This call's move cancelled it, so only this instance announces it (a running job's
      // cancel is announced by its worker, which moves it to cancelled).
      const cancelled = await this.get(id)
      if (cancelled !== null) this.webhooks.announce(cancelled)
      return cancelled
    }
    if (before === 'processing') {
      await (this.redis as unknown as { jobRequestCancel(...args: string[]): Promise<string | null> }).jobRequestCancel(this.keys, id)
      const local = this.running.get(id)
      if (local) local.cancel = true
    }
    return this.get(id)
  }

  async counts(): Promise<JobCounts> {
    await this.sweep()
    const pipeline = this.redis.pipeline()
    for (const s of JOB_STATUSES) pipeline.zcard(`${this.keys}s:${s}`)
    const answers = (await pipeline.exec()) ?? []
    const n = (i: number) => Number(answers[i]?.[1] ?? 0)
    return { queued: n(0), active: n(1), completed: n(2), failed: n(3), cancelled: n(4) }
  }

  /** BullMQ's processor: one job, from its record to its end; a handed-back job goes back to waiting. */
  private async process(job: Job, token: string | undefined): Promise<void> {
    const id = job.id as string
    const { before, record } = await this.take(id)
    // Cancelled while queued, or already finished by a worker that then lost its lock: nothing to do.
    if (before !== 'queued' && before !== 'processing') return
    if (record === null) return
    const entry: RunningJob = { abort: new AbortController(), cancel: record.cancel_requested === true }
    this.running.set(id, entry)
    // A DELETE may reach another instance: it sets cancel_requested, looked for here.
    const poll = setInterval(() => {
      void this.redis
        .hget(this.task(id), 'cancel_requested')
        .then((v) => {
          if (v) entry.cancel = true
        })
        .catch(() => undefined)
    }, CANCEL_POLL_MS)
    try {
      const end = await runJob(record, this.deps.crawler, {
        signal: entry.abort.signal,
        cancelled: () => entry.cancel,
        // The last URL's count is written by the move that ends the job: no write of its own.
        onProgress: (done) => {
          if (done < record.request.urls.length) void this.redis.hset(this.task(id), 'done', String(done)).catch(() => undefined)
        },
      })
      if (end.status === 'handed_back') {
        await this.move(id, 'processing', { status: 'queued', done: 0 })
        await job.moveToWait(token)
        // Tells BullMQ the job was moved back to waiting by hand, not finished.
        throw new WaitingError()
      }
      const at = await this.move(id, 'processing', end)
      // The finished record (its result included) is read back only for a webhook to send.
      if (at === 'processing' && record.webhook !== null) {
        const finished = await this.get(id)
        if (finished !== null) this.webhooks.announce(finished)
      }
    } finally {
      clearInterval(poll)
      this.running.delete(id)
    }
  }

  async close(graceMs: number): Promise<void> {
    if (this.closing) return
    this.closing = true
    clearInterval(this.tuner)
    // Takes no further job; resolves once the running ones are over.
    const drained = this.worker.close()
    // The grace is for jobs running here: with none, nothing is waited for (a dead Redis would
    // otherwise hold every shutdown for the whole grace, since BullMQ's close waits on it).
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))])
      clearTimeout(timer)
    }
    // Past the deadline: what still runs is stopped and handed back to the queue for another worker.
    for (const r of this.running.values()) r.abort.abort()
    // With Redis unreachable BullMQ's close never settles (its commands wait for a reconnect that
    // retries forever): each step bounded, and side by side, so a dead Redis holds a shutdown for
    // CLOSE_STEP_MS at most.
    const [workerClosed] = await Promise.all([
      settlesWithin(drained, CLOSE_STEP_MS),
      this.webhooks.settle(Math.min(graceMs, 1000)),
      settlesWithin(this.queue.close(), CLOSE_STEP_MS),
    ])
    if (!workerClosed) this.deps.logger.warn('the job worker did not close in time (Redis unreachable?); its connections are cut')
    await settlesWithin(this.redis.quit(), 500)
    this.redis.disconnect()
    for (const c of this.connections) c.disconnect()
  }
}
