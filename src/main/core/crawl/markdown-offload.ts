import type { Worker } from 'node:worker_threads'
import type { MarkdownResult } from '../../../shared/crawl-result.js'
import { AbortedError, CaptureTooLargeError, MarkdownFailedError, MarkdownTimeoutError, ShuttingDownError } from '../errors.js'
import type { Logger } from '../logger.js'
import { startWorker } from '../system/worker-entry.js'
import { emptyMarkdown, type MarkdownOptions } from './markdown-result.js'

/*
 * Runs every page's HTML-to-Markdown conversion on worker threads, so a slow page takes only its
 * own time (stopped at its deadline) and never holds the event loop.
 */

export interface MarkdownJob {
  id: number
  html: string
  /** A longer Markdown is not sent back: the worker answers `tooLarge` with its length. */
  maxChars: number
  /** Set: the whole MarkdownResult is wanted (citations, content filter), each of its strings bounded by maxChars. */
  options?: MarkdownOptions
}

export type MarkdownReply =
  /** Sent once, when the worker has loaded (and warmed) the converter. */
  { ready: true } | { id: number; markdown: string } | { id: number; result: MarkdownResult } | { id: number; tooLarge: number } | { id: number; error: string }

/** What bounds one conversion. */
export interface MarkdownLimits {
  /** The URL's deadline (crawl/deadline.ts): the conversion is stopped once it has passed. */
  deadline: { remaining(): number; readonly timeoutMs: number }
  /** The caller going away stops the conversion too. */
  signal?: AbortSignal
  /** max_capture_bytes: a longer Markdown fails with capture_too_large. */
  maxChars?: number
}

export interface MarkdownOffloadStats {
  /** Conversions a worker thread answered: all of them, none runs on the event loop. */
  offloaded: number
  /** Times a worker thread was (re)started. */
  workerStarts: number
  /** Times a worker thread could not start, or ended on its own (not stopped by us), with a page or not. */
  workerFailures: number
  /** Conversions stopped at their deadline (their worker, if one had the page, terminated and replaced). */
  timedOut: number
  /** Conversions stopped because their caller went away (the same). */
  aborted: number
  /** Workers replaced after a large page, to give back the heap it made them grow. */
  recycled: number
}

export interface MarkdownOffloadOptions {
  /** Worker threads at most; they start as conversions overlap and live as long as the service. */
  workers?: number
  logger?: Logger
  /** The worker entry beside this module (tests point it at a fixture). */
  entry?: { name: string; from: string }
  /** Start one worker at once, so that the first page does not wait for it (true by default). */
  prestart?: boolean
}

/**
 * Two: a page that converts slowly (or never, until its deadline) holds one, and the others'
 * conversions go on on the other. More would take CPU from Chromium on a 2-core machine.
 */
export const DEFAULT_MARKDOWN_WORKERS = 2

/**
 * A worker that converted a page of at least this many characters is replaced once it answers:
 * the heap it grew for the page would otherwise stay with the process for as long as it lives.
 */
const RECYCLE_AFTER_CHARS = 1024 * 1024

/** After this many workers in a row that could not start, none is tried again (an install that cannot run one). */
const MAX_FAILED_STARTS_IN_A_ROW = 3

interface Job {
  readonly id: number
  readonly html: string
  readonly maxChars: number
  readonly options: MarkdownOptions | undefined
  readonly pageTimeoutMs: number
  resolve(value: string | MarkdownResult): void
  reject(err: Error): void
  /** Clears the deadline's timer and the abort listener. */
  release(): void
  done: boolean
  /** The worker converting it; null while it waits. */
  slot: Slot | null
}

interface Slot {
  readonly worker: Worker
  /** It has loaded the converter: a worker that ends before this could not start. */
  ready: boolean
  job: Job | null
}

/**
 * HTML to Markdown on worker threads, for every page. turndown is linear on ordinary pages but
 * not cheap (150-300 ms per MB), and a page can make it far slower: its blank-node test reads
 * each node's subtree, and before markdown.ts avoided them, two trims were quadratic (a 60 KB
 * page held the event loop 15 s, and /health with it). On the event loop that time is taken from
 * every other request, the monitor, the live stream and /metrics alike; on a worker it is only the
 * page's own, and it ends with the page's deadline: a conversion still running then is stopped by
 * terminating its worker, which is replaced at once. The caller going away stops it the same way.
 *
 * Jobs wait here, in order, and each worker has one at a time: a stopped worker takes no other
 * page with it. The workers are started once and kept (the hop costs well under a millisecond
 * for an ordinary page: two copies of its text); a worker that ends on its own fails the page it
 * had (one that never started gives it to the next worker).
 */
export class MarkdownOffload {
  private readonly slots = new Set<Slot>()
  private readonly queue: Job[] = []
  private nextId = 1
  private closed = false
  private failedStarts = 0
  private readonly counts: MarkdownOffloadStats = { offloaded: 0, workerStarts: 0, workerFailures: 0, timedOut: 0, aborted: 0, recycled: 0 }
  private readonly size: number
  private readonly entry: { name: string; from: string }

  constructor(private readonly options: MarkdownOffloadOptions = {}) {
    this.size = Math.max(1, options.workers ?? DEFAULT_MARKDOWN_WORKERS)
    this.entry = options.entry ?? { name: 'markdown-worker', from: import.meta.url }
    if (options.prestart ?? true) this.startSlot()
  }

  stats(): MarkdownOffloadStats {
    return { ...this.counts }
  }

  /** Worker threads running now. */
  get workers(): number {
    return this.slots.size
  }

  /**
   * The Markdown of `html`, or: MarkdownTimeoutError once the deadline has passed, AbortedError
   * once the signal aborts, CaptureTooLargeError past maxChars, MarkdownFailedError when the
   * converter threw or its worker ended (503 when no worker can start), ShuttingDownError after close().
   */
  convert(html: string, limits: MarkdownLimits): Promise<string> {
    if (!html) return this.closed ? Promise.reject(new ShuttingDownError()) : Promise.resolve('')
    return this.submit(html, undefined, limits) as Promise<string>
  }

  /**
   * The whole MarkdownResult of `html` (raw Markdown, citations, and the content filter of
   * `options`), bounded as convert() is; each of its strings at most maxChars.
   */
  generate(html: string, options: MarkdownOptions, limits: MarkdownLimits): Promise<MarkdownResult> {
    if (!html) return this.closed ? Promise.reject(new ShuttingDownError()) : Promise.resolve(emptyMarkdown())
    return this.submit(html, options, limits) as Promise<MarkdownResult>
  }

  private submit(html: string, options: MarkdownOptions | undefined, limits: MarkdownLimits): Promise<string | MarkdownResult> {
    if (this.closed) return Promise.reject(new ShuttingDownError())
    if (limits.signal?.aborted) return Promise.reject(new AbortedError())
    return new Promise<string | MarkdownResult>((resolve, reject) => {
      const signal = limits.signal
      const job: Job = {
        id: this.nextId++,
        html,
        maxChars: limits.maxChars ?? Number.MAX_SAFE_INTEGER,
        options,
        pageTimeoutMs: limits.deadline.timeoutMs,
        resolve,
        reject,
        release: () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        },
        done: false,
        slot: null,
      }
      const timer = setTimeout(() => this.stop(job, 'timeout'), limits.deadline.remaining())
      const onAbort = () => this.stop(job, 'aborted')
      signal?.addEventListener('abort', onAbort, { once: true })
      this.queue.push(job)
      this.pump()
    })
  }

  /** Ends the workers; conversions in progress or waiting, and any asked for afterwards, fail with ShuttingDownError. */
  async close(): Promise<void> {
    this.closed = true
    const slots = [...this.slots]
    this.slots.clear()
    const jobs = [...this.queue, ...slots.flatMap((s) => (s.job ? [s.job] : []))]
    this.queue.length = 0
    for (const job of jobs) this.fail(job, new ShuttingDownError())
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => undefined)))
  }

  /** Gives waiting jobs to idle workers, starting workers up to `size`. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let slot: Slot | null = null
      for (const s of this.slots) {
        if (s.job === null) {
          slot = s
          break
        }
      }
      if (!slot) {
        if (this.slots.size >= this.size) return
        slot = this.startSlot()
        if (!slot) {
          if (this.failedStarts < MAX_FAILED_STARTS_IN_A_ROW) continue
          const why = new MarkdownFailedError('no Markdown worker thread can start on this server; see its log', true)
          for (const job of this.queue.splice(0)) this.fail(job, why)
          return
        }
      }
      const job = this.queue.shift() as Job
      slot.job = job
      job.slot = slot
      const message: MarkdownJob = { id: job.id, html: job.html, maxChars: job.maxChars }
      if (job.options) message.options = job.options
      slot.worker.postMessage(message)
    }
  }

  private startSlot(): Slot | null {
    // A worker that keeps failing (an install that cannot run it) is not started for every page.
    if (this.closed || this.failedStarts >= MAX_FAILED_STARTS_IN_A_ROW) return null
    let worker: Worker
    try {
      worker = startWorker(this.entry.name, this.entry.from)
    } catch (err) {
      this.counts.workerFailures++
      this.failedStarts++
      this.options.logger?.warn({ err: err instanceof Error ? err.message : String(err), failures: this.failedStarts }, 'Markdown worker could not start')
      return null
    }
    this.counts.workerStarts++
    // An idle worker must not keep the process alive (a job's deadline timer does while it runs).
    worker.unref()
    const slot: Slot = { worker, ready: false, job: null }
    worker.on('message', (reply: MarkdownReply) => this.onReply(slot, reply))
    worker.on('error', (err) => this.onGone(slot, `error: ${err.message}`))
    worker.on('exit', (code) => this.onGone(slot, `exit ${code}`))
    this.slots.add(slot)
    return slot
  }

  private onReply(slot: Slot, reply: MarkdownReply): void {
    if ('ready' in reply) {
      slot.ready = true
      this.failedStarts = 0
      return
    }
    const job = slot.job
    if (!job || job.id !== reply.id) return
    slot.job = null
    job.slot = null
    this.counts.offloaded++
    // V8 keeps the heap a large page made a worker grow; a fresh worker gives it back.
    if (job.html.length >= RECYCLE_AFTER_CHARS) this.recycle(slot)
    if ('markdown' in reply) this.succeed(job, reply.markdown)
    else if ('result' in reply) this.succeed(job, reply.result)
    else if ('tooLarge' in reply) this.fail(job, new CaptureTooLargeError('Markdown', reply.tooLarge, job.maxChars))
    else this.fail(job, new MarkdownFailedError(`converting the page to Markdown failed: ${reply.error}`))
    this.pump()
  }

  /** A worker ended without being stopped by us. */
  private onGone(slot: Slot, why: string): void {
    // Stopped (stop, close), or its 'error' came before this 'exit'.
    if (!this.slots.delete(slot)) return
    const job = slot.job
    slot.job = null
    if (!slot.ready) {
      this.counts.workerFailures++
      this.failedStarts++
      this.options.logger?.warn({ why, failures: this.failedStarts }, 'Markdown worker could not start')
      // The page never reached a converter: it waits for the next worker.
      if (job) {
        job.slot = null
        this.queue.unshift(job)
      }
    } else if (job || why !== 'exit 0') {
      this.counts.workerFailures++
      this.options.logger?.warn({ why, converting: job !== null }, 'Markdown worker ended')
      if (job) this.fail(job, new MarkdownFailedError(`the Markdown worker thread ended while converting this page (${why})`))
    }
    this.pump()
  }

  /**
   * The job's deadline has passed, or its caller went away. Waiting, it just leaves the queue;
   * being converted, its worker is terminated (turndown cannot be interrupted otherwise) and a
   * new one started, so that the next page does not wait for it.
   */
  private stop(job: Job, why: 'timeout' | 'aborted'): void {
    if (job.done) return
    if (why === 'timeout') this.counts.timedOut++
    else this.counts.aborted++
    const waiting = this.queue.indexOf(job)
    if (waiting >= 0) this.queue.splice(waiting, 1)
    const slot = job.slot
    if (slot) {
      this.slots.delete(slot)
      slot.job = null
      void slot.worker.terminate().catch(() => undefined)
      this.options.logger?.warn({ why, chars: job.html.length }, 'Markdown conversion stopped: its worker was terminated and is replaced')
      this.startSlot()
    }
    this.fail(job, why === 'timeout' ? new MarkdownTimeoutError(job.pageTimeoutMs) : new AbortedError())
    this.pump()
  }

  /** Ends an idle worker and starts its replacement (it is not counted as a failure). */
  private recycle(slot: Slot): void {
    if (!this.slots.delete(slot)) return
    void slot.worker.terminate().catch(() => undefined)
    this.counts.recycled++
    this.startSlot()
  }

  private succeed(job: Job, value: string | MarkdownResult): void {
    if (job.done) return
    job.done = true
    job.release()
    job.resolve(value)
  }

  private fail(job: Job, err: Error): void {
    if (job.done) return
    job.done = true
    job.release()
    job.reject(err)
  }
}
