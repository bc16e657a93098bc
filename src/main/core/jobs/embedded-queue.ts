import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import type { JobCounts, JobStatus } from '../../../shared/job-schemas.js'
import { ShuttingDownError } from '../errors.js'
import { runJob, WebhookDispatch, type FinishedEnd, type JobQueue, type JobQueueDeps } from './job-queue.js'
import { TERMINAL, type JobRecord } from './job-record.js'

/*
 * The job queue without Redis: jobs and their results in LMDB in <data dir>/jobs, run in this
 * process. LMDB's commits are atomic, so a job is stored whole or not at all whatever stops the
 * process; a job found queued or running at start-up was not finished and is queued again.
 *
 * - tasks: task_id -> the whole record (with its result once finished);
 * - meta:  task_id -> {status, created_ms, seq, expires_ms}: what lists, counts and the queue
 *          order need, read at start-up without reading any result.
 * Progress of a running job is kept in memory only: a job that starts over starts from 0.
 */

interface Meta {
  status: JobStatus
  created_ms: number
  /** Submission order (created_ms can tie). */
  seq: number
  /** Epoch ms after which a finished job is gone; 0: kept. */
  expires_ms: number
}

interface Running {
  record: JobRecord
  abort: AbortController
  cancel: boolean
  done: Promise<void>
}

/** How often expired jobs are removed from the disk (a read past the TTL finds nothing anyway). */
const SWEEP_MS = 60_000

export class EmbeddedJobQueue implements JobQueue {
  readonly backend = 'embedded' as const
  readonly path: string
  private readonly root: RootDatabase
  private readonly tasks: Database<JobRecord, string>
  private readonly meta: Database<Meta, string>
  private readonly index = new Map<string, Meta>()
  /** Queued job ids, in submission order. */
  private readonly queue: string[] = []
  private readonly running = new Map<string, Running>()
  private readonly webhooks: WebhookDispatch
  private seq = 0
  private closing = false
  private readonly sweeper: NodeJS.Timeout

  constructor(
    dataDir: string,
    private readonly deps: JobQueueDeps,
  ) {
    this.path = join(dataDir, 'jobs')
    mkdirSync(this.path, { recursive: true })
    this.root = open({ path: join(this.path, 'jobs.mdb'), maxDbs: 4, compression: false })
    this.tasks = this.root.openDB<JobRecord, string>({ name: 'tasks', encoding: 'msgpack' })
    this.meta = this.root.openDB<Meta, string>({ name: 'meta', encoding: 'msgpack' })
    this.webhooks = new WebhookDispatch(deps.webhooks, deps.logger)
    const unfinished: Array<[string, Meta]> = []
    for (const { key, value } of this.meta.getRange()) {
      this.index.set(key, value)
      this.seq = Math.max(this.seq, value.seq)
      if (!TERMINAL.has(value.status)) unfinished.push([key, value])
    }
    unfinished.sort((a, b) => a[1].seq - b[1].seq)
    for (const [id, meta] of unfinished) {
      // A job that was running when the process stopped starts over.
      if (meta.status === 'processing') this.setMeta(id, { ...meta, status: 'queued' })
      this.queue.push(id)
    }
    if (unfinished.length > 0) deps.logger.info({ jobs: unfinished.length }, 'jobs left unfinished by the last run are queued again')
    this.sweeper = setInterval(() => void this.sweep(), Math.min(SWEEP_MS, Math.max(1000, deps.ttlSeconds * 1000)))
    this.sweeper.unref()
    // Once the runtime is up (the caller's next steps), not in the middle of its construction.
    setImmediate(() => this.pump())
  }

  private setMeta(id: string, meta: Meta): void {
    this.index.set(id, meta)
    void this.meta.put(id, meta)
  }

  private expired(meta: Meta, now = Date.now()): boolean {
    return meta.expires_ms !== 0 && meta.expires_ms <= now
  }

  async submit(record: JobRecord): Promise<boolean> {
    if (this.closing) throw new ShuttingDownError()
    if (this.index.has(record.task_id)) return false
    const meta: Meta = { status: 'queued', created_ms: record.created_ms, seq: ++this.seq, expires_ms: 0 }
    await this.root.transaction(() => {
      void this.tasks.put(record.task_id, record)
      void this.meta.put(record.task_id, meta)
    })
    this.index.set(record.task_id, meta)
    this.queue.push(record.task_id)
    this.pump()
    return true
  }

  async get(id: string): Promise<JobRecord | null> {
    const meta = this.index.get(id)
    if (meta === undefined || this.expired(meta)) return null
    const running = this.running.get(id)
    if (running) return { ...running.record, cancel_requested: running.cancel }
    return this.tasks.get(id) ?? null
  }

  async list(status: JobStatus | null, limit: number): Promise<{ jobs: JobRecord[]; total: number }> {
    const now = Date.now()
    const matching = [...this.index].filter(([, m]) => !this.expired(m, now) && (status === null || m.status === status))
    matching.sort((a, b) => b[1].seq - a[1].seq)
    const jobs: JobRecord[] = []
    for (const [id] of matching.slice(0, limit)) {
      const record = await this.get(id)
      if (record === null) continue
      const { result: _result, ...rest } = record
      jobs.push(rest)
    }
    return { jobs, total: matching.length }
  }

  async cancel(id: string): Promise<JobRecord | null> {
    const record = await this.get(id)
    if (record === null) return null
    const running = this.running.get(id)
    if (running) {
      running.cancel = true
      return { ...running.record, cancel_requested: true }
    }
    if (record.status !== 'queued') return record
    const at = this.queue.indexOf(id)
    if (at >= 0) this.queue.splice(at, 1)
    const cancelled = await this.finish(record, { status: 'cancelled' })
    this.webhooks.announce(cancelled)
    return cancelled
  }

  async counts(): Promise<JobCounts> {
    const counts: JobCounts = { queued: 0, active: 0, completed: 0, failed: 0, cancelled: 0 }
    const now = Date.now()
    for (const meta of this.index.values()) {
      if (this.expired(meta, now)) continue
      if (meta.status === 'processing') counts.active++
      else counts[meta.status]++
    }
    return counts
  }

  /** Starts queued jobs while there is room. */
  private pump(): void {
    while (!this.closing && this.queue.length > 0 && this.running.size < Math.max(1, this.deps.capacity())) {
      const id = this.queue.shift() as string
      const record = this.tasks.get(id)
      const meta = this.index.get(id)
      if (record === undefined || meta === undefined || meta.status !== 'queued') continue
      this.start(record, meta)
    }
  }

  private start(stored: JobRecord, meta: Meta): void {
    const record: JobRecord = { ...stored, status: 'processing', done: 0 }
    this.setMeta(record.task_id, { ...meta, status: 'processing' })
    const abort = new AbortController()
    const entry: Running = { record, abort, cancel: false, done: Promise.resolve() }
    this.running.set(record.task_id, entry)
    entry.done = (async () => {
      await this.tasks.put(record.task_id, record)
      const end = await runJob(record, this.deps.crawler, {
        signal: abort.signal,
        cancelled: () => entry.cancel,
        onProgress: (done) => (entry.record = { ...entry.record, done }),
      })
      this.running.delete(record.task_id)
      if (end.status === 'handed_back') {
        // Queued on disk: the next start runs it from the beginning.
        this.setMeta(record.task_id, { ...meta, status: 'queued' })
        await this.tasks.put(record.task_id, { ...stored, status: 'queued', done: 0 })
        return
      }
      const finished = await this.finish(entry.record, end)
      this.webhooks.announce(finished)
    })()
      .catch((err: unknown) => {
        this.running.delete(record.task_id)
        this.deps.logger.error({ err, task_id: record.task_id }, 'job bookkeeping failed')
      })
      .finally(() => this.pump())
  }

  private async finish(record: JobRecord, end: FinishedEnd): Promise<JobRecord> {
    const now = Date.now()
    const finished: JobRecord = { ...record, status: end.status, finished_ms: now }
    delete finished.cancel_requested
    if (end.result !== undefined) finished.result = end.result
    if (end.error !== undefined) finished.error = end.error
    if (end.result !== undefined) finished.done = end.result.results.length
    const meta = this.index.get(record.task_id) ?? { status: end.status, created_ms: record.created_ms, seq: ++this.seq, expires_ms: 0 }
    const next: Meta = { ...meta, status: end.status, expires_ms: this.deps.ttlSeconds > 0 ? now + this.deps.ttlSeconds * 1000 : 0 }
    await this.root.transaction(() => {
      void this.tasks.put(record.task_id, finished)
      void this.meta.put(record.task_id, next)
    })
    this.index.set(record.task_id, next)
    return finished
  }

  private async sweep(): Promise<void> {
    const now = Date.now()
    const gone = [...this.index].filter(([, m]) => this.expired(m, now)).map(([id]) => id)
    if (gone.length === 0) return
    for (const id of gone) this.index.delete(id)
    await this.root.transaction(() => {
      for (const id of gone) {
        void this.tasks.remove(id)
        void this.meta.remove(id)
      }
    })
  }

  async close(graceMs: number): Promise<void> {
    if (this.closing) return
    this.closing = true
    clearInterval(this.sweeper)
    const all = () => Promise.allSettled([...this.running.values()].map((r) => r.done))
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))
    await Promise.race([all(), deadline])
    clearTimeout(timer)
    // Past the deadline: what still runs is stopped and stays queued on disk.
    for (const r of this.running.values()) r.abort.abort()
    await all()
    await this.webhooks.settle(Math.min(graceMs, 1000))
    await this.root.close()
  }
}
