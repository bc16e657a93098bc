import { AbortedError, CrawlFailedError } from '../errors.js'

/**
 * page_timeout is the whole budget of one URL, from the moment the crawl is asked for. Playwright
 * bounds goto, waitForSelector and screenshot itself, but not page.evaluate or page.pdf: a page
 * whose script spins after DOMContentLoaded (or js_code that never settles) holds its renderer's
 * main thread, so the extraction's evaluate would wait forever, and with it the client, the
 * admission slot and the browser lease. `race` ends such a step at the deadline instead; the
 * crawler then closes the context, which kills the renderer and rejects the abandoned step.
 */
export class Deadline {
  private readonly at: number

  constructor(
    startedAt: number,
    /** page_timeout: the whole budget, for messages. */
    readonly timeoutMs: number,
  ) {
    this.at = startedAt + timeoutMs
  }

  /** What is left of the budget, at least 1 ms (Playwright reads 0 as "no timeout"). */
  remaining(): number {
    return Math.max(1, this.at - Date.now())
  }

  /** The error a crawl fails with when `step` outlives the budget. */
  expired(step: string): CrawlFailedError {
    return new CrawlFailedError(`the page did not finish within page_timeout (${this.timeoutMs} ms) at ${step}`, true)
  }

  /**
   * `work`, or the timeout error once the budget is spent, or AbortedError once `signal` aborts
   * (for a step that the crawl's own clean-up cannot end, see Crawler); `work`'s late rejection
   * is swallowed.
   */
  race<T>(work: Promise<T>, step: string, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        outcome()
      }
      const onAbort = () => settle(() => reject(new AbortedError()))
      const timer = setTimeout(() => settle(() => reject(this.expired(step))), this.remaining())
      work.then(
        (value) => settle(() => resolve(value)),
        (err: unknown) => settle(() => reject(err)),
      )
      if (signal?.aborted) onAbort()
      else signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}
