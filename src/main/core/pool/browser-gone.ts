import type { CloseReason } from '../events.js'

/** What orGone needs of a pool browser: the promise that settles when it leaves the pool. */
export interface Departing {
  readonly gone: Promise<CloseReason>
}

/**
 * Per browser, the calls waiting on it to leave. `gone` settles only when the browser leaves the
 * pool, often hundreds of crawls later; each browser gets one subscription to it however many
 * crawls wait, and a waiter leaves the set as soon as its own call settles. (A `Promise.race` with
 * `gone` per call kept every settled race, and with it the crawl's BrowserContext and Page, alive
 * until the browser was retired: about 20 KB of heap per crawl, seen by bench/growth.ts.)
 */
const waiters = new WeakMap<Departing, Set<(reason: CloseReason) => void>>()

function whenGone(browser: Departing, onGone: (reason: CloseReason) => void): () => void {
  let set = waiters.get(browser)
  if (!set) {
    const fresh = new Set<(reason: CloseReason) => void>()
    waiters.set(browser, fresh)
    void browser.gone.then((reason) => {
      // A call made after this point subscribes afresh and is told at once (gone has settled).
      if (waiters.get(browser) === fresh) waiters.delete(browser)
      for (const fn of fresh) fn(reason)
      fresh.clear()
    })
    set = fresh
  }
  const mine = set
  mine.add(onGone)
  return () => mine.delete(onGone)
}

/**
 * `p`, or a "closed" rejection as soon as the browser leaves the pool. A browser SIGKILLed while
 * Playwright was creating a context or page can leave that call pending for good (seen under
 * load: a crawl stuck in 'acquiring' for minutes after its browser was gone and replaced).
 * Nothing of the call is kept once `p` has settled.
 */
export function orGone<T>(p: Promise<T>, browser: Departing): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const off = whenGone(browser, (reason) => reject(new Error(`the browser has been closed (${reason})`)))
    p.then(
      (value) => {
        off()
        resolve(value)
      },
      (err: unknown) => {
        off()
        reject(err)
      },
    )
  })
}
