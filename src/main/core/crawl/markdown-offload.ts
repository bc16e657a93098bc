import type { Worker } from 'node:worker_threads'
import type { Logger } from '../logger.js'
import { startWorker } from '../system/worker-entry.js'
import { htmlToMarkdown } from './markdown.js'

export interface MarkdownJob {
  id: number
  html: string
}

export type MarkdownReply = { id: number; markdown: string } | { id: number; error: string }

export interface MarkdownOffloadStats {
  /** Conversions done on the event loop (small pages, or no worker). */
  inline: number
  /** Conversions done on the worker thread. */
  offloaded: number
  /** Times the worker thread was (re)started. */
  workerStarts: number
  /** Times the worker thread ended or failed while it had jobs, or could not start. */
  workerFailures: number
}

export interface MarkdownOffloadOptions {
  /**
   * Cleaned HTML at least this long (UTF-16 code units) goes to the worker. Below it the
   * conversion stays on the event loop: the hop copies the text twice, and a 100 KB article
   * converts in about 13 ms.
   */
  thresholdChars?: number
  logger?: Logger
  /** The worker entry beside this module (tests point it at a fixture). */
  entry?: { name: string; from: string }
}

/** 256 K characters: a page of about that size converts in ~35 ms on the loop, larger ones far longer. */
export const DEFAULT_OFFLOAD_THRESHOLD_CHARS = 256 * 1024

/** After this many failed starts or deaths without a conversion in between, large pages stay on the loop. */
const MAX_FAILURES_IN_A_ROW = 3

interface Pending {
  resolve(markdown: string): void
  reject(err: Error): void
}

/**
 * HTML → Markdown off the event loop for large pages. turndown is linear but not cheap: a 1 MB
 * page takes a few hundred ms, a 5 MB one over half a second, and on the event loop that time is
 * taken from every other request, the monitor, the live stream and /metrics alike. Large pages go
 * to one worker thread (one is enough to give the loop back; Chromium needs the other core);
 * jobs queue there in order. If the worker cannot start or dies, its jobs are converted on the
 * loop instead and the next large page starts a new one: slower, never lost.
 */
export class MarkdownOffload {
  private worker: Worker | null = null
  private readonly pending = new Map<number, Pending & { html: string }>()
  private nextId = 1
  private closed = false
  private failuresInARow = 0
  private readonly counts: MarkdownOffloadStats = { inline: 0, offloaded: 0, workerStarts: 0, workerFailures: 0 }
  private readonly threshold: number
  private readonly entry: { name: string; from: string }

  constructor(private readonly options: MarkdownOffloadOptions = {}) {
    this.threshold = options.thresholdChars ?? DEFAULT_OFFLOAD_THRESHOLD_CHARS
    this.entry = options.entry ?? { name: 'markdown-worker', from: import.meta.url }
  }

  stats(): MarkdownOffloadStats {
    return { ...this.counts }
  }

  convert(html: string): Promise<string> {
    if (html.length < this.threshold || this.closed) return Promise.resolve(this.inline(html))
    const worker = this.ensureWorker()
    if (!worker) return Promise.resolve(this.inline(html))
    const id = this.nextId++
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, html })
      worker.postMessage({ id, html } satisfies MarkdownJob)
    })
  }

  /** Ends the worker; jobs it still held, and conversions asked for afterwards, run on the loop. */
  async close(): Promise<void> {
    this.closed = true
    const worker = this.worker
    this.worker = null
    if (worker) await worker.terminate()
    this.convertPendingHere()
  }

  private inline(html: string): string {
    this.counts.inline++
    return htmlToMarkdown(html)
  }

  private ensureWorker(): Worker | null {
    if (this.worker) return this.worker
    // A worker that keeps failing (an install that cannot run it) is not started for every page.
    if (this.failuresInARow >= MAX_FAILURES_IN_A_ROW) return null
    let worker: Worker
    try {
      worker = startWorker(this.entry.name, this.entry.from)
    } catch (err) {
      this.counts.workerFailures++
      this.failuresInARow++
      this.options.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'Markdown worker could not start; converting on the event loop')
      return null
    }
    this.counts.workerStarts++
    // An idle worker must not keep the process alive.
    worker.unref()
    worker.on('message', (reply: MarkdownReply) => this.settle(reply))
    const gone = (why: string) => {
      if (this.worker !== worker) return
      this.worker = null
      if (this.pending.size > 0 || why !== 'exit 0') {
        this.counts.workerFailures++
        this.failuresInARow++
        this.options.logger?.warn({ why, jobs: this.pending.size }, 'Markdown worker ended; its jobs are converted on the event loop')
      }
      this.convertPendingHere()
    }
    worker.on('error', (err) => gone(`error: ${err.message}`))
    worker.on('exit', (code) => gone(`exit ${code}`))
    this.worker = worker
    return worker
  }

  private settle(reply: MarkdownReply): void {
    const job = this.pending.get(reply.id)
    if (!job) return
    this.pending.delete(reply.id)
    this.counts.offloaded++
    this.failuresInARow = 0
    if ('markdown' in reply) job.resolve(reply.markdown)
    else job.reject(new Error(`Markdown conversion failed: ${reply.error}`))
  }

  /**
   * Jobs the worker will never answer are converted here, in the order they came, one per turn of
   * the loop so that what else is waiting (other answers, the monitor) is not held behind all of them.
   */
  private convertPendingHere(): void {
    const jobs = [...this.pending.values()]
    this.pending.clear()
    for (const job of jobs) {
      setImmediate(() => {
        try {
          job.resolve(this.inline(job.html))
        } catch (err) {
          job.reject(err instanceof Error ? err : new Error(String(err)))
        }
      })
    }
  }
}
