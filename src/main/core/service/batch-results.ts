import type { CrawlResponse, CrawlResult } from '../../../shared/crawl-schemas.js'
import { plainJson, type RawJson } from '../../../shared/raw-json.js'

/**
 * The results of one batch on their way to a door. Workers push each result as its URL
 * finishes; the door reads them, in URL order (POST /crawl) or as they finish
 * (/crawl/stream), and a result is let go the moment it is read.
 *
 * Why not an array filled to the end: a batch is up to 100 URLs and a page's result can be
 * tens of MB (its HTML, cleaned HTML and Markdown), so holding every result until the last URL
 * is done, and then encoding them as one string, cost gigabytes and, past V8's string limit
 * (2^29 - 24, about 536.9 M characters), failed the whole batch after all its work was done.
 *
 * Back-pressure: a worker asks for `room(i)` before it starts URL i and waits while `window`
 * URLs are started but not yet read. So a batch holds at most `window` results however large
 * its pages, however slow its client, and however long one slow URL holds up the order.
 */
export class BatchResults<T> implements AsyncIterable<T> {
  /** Finished, unread results: by URL index when ordered, by arrival otherwise. */
  private readonly ready = new Map<number, T>()
  private arrived = 0
  private read = 0
  private ended = false
  private failure: { error: unknown } | null = null
  /** Set when the reader is gone (client disconnected): workers must not wait for it. */
  private abandoned = false
  private iterating = false
  private wakeReader: (() => void) | null = null
  private readonly roomWaiters: Array<{ index: number; resolve: () => void }> = []

  constructor(
    private readonly ordered: boolean,
    private readonly window: number,
  ) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`window must be a positive integer, got ${window}`)
  }

  /** Resolves when URL `index` may start: fewer than `window` URLs before it are still unread. */
  room(index: number): Promise<void> {
    if (this.abandoned || index - this.read < this.window) return Promise.resolve()
    return new Promise((resolve) => this.roomWaiters.push({ index, resolve }))
  }

  push(index: number, item: T): void {
    if (this.abandoned) return
    this.ready.set(this.ordered ? index : this.arrived++, item)
    this.wake()
  }

  /** Every URL has been pushed. */
  end(): void {
    this.ended = true
    this.wake()
  }

  /** The batch failed: the reader gets the error once it has read what came before it. */
  fail(error: unknown): void {
    this.failure = { error }
    this.wake()
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterating) throw new Error('a batch is read once')
    this.iterating = true
    const reading = this.read_()
    return {
      next: () => reading.next(),
      // A generator stopped before its first step never runs its finally: abandon here too.
      return: async (value?: unknown) => {
        this.abandon()
        return reading.return(value as undefined)
      },
    }
  }

  private async *read_(): AsyncGenerator<T, undefined> {
    try {
      for (;;) {
        if (this.ready.has(this.read)) {
          const item = this.ready.get(this.read) as T
          this.ready.delete(this.read)
          this.read++
          this.releaseRoom()
          yield item
          continue
        }
        if (this.failure) throw this.failure.error
        if (this.ended) return undefined
        await new Promise<void>((resolve) => (this.wakeReader = resolve))
      }
    } finally {
      this.abandon()
    }
  }

  /**
   * Nothing more will be read (normal end, error, a reader that stopped early, or a caller that
   * went away before reading at all): no worker may wait for room and nothing pushed later may
   * be kept.
   */
  abandon(): void {
    this.abandoned = true
    this.ready.clear()
    for (const w of this.roomWaiters.splice(0)) w.resolve()
  }

  private wake(): void {
    const w = this.wakeReader
    this.wakeReader = null
    w?.()
  }

  private releaseRoom(): void {
    for (let i = this.roomWaiters.length - 1; i >= 0; i--) {
      const w = this.roomWaiters[i] as { index: number; resolve: () => void }
      if (w.index - this.read < this.window) {
        this.roomWaiters.splice(i, 1)
        w.resolve()
      }
    }
  }
}

/** The whole answer of a 'batch' operation, for a door that sends it in one piece (IPC): cache hits parsed. */
export async function collectBatch(
  source: AsyncIterable<CrawlResult | RawJson<CrawlResult>> & { envelope?(): Partial<CrawlResponse> },
): Promise<CrawlResponse> {
  const results: CrawlResult[] = []
  for await (const r of source) results.push(plainJson(r))
  return { success: results.every((r) => r.success), results, ...source.envelope?.() }
}
