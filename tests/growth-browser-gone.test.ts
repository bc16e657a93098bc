import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { orGone } from '../src/main/core/pool/browser-gone.js'
import type { CloseReason } from '../src/main/core/events.js'

// bench/growth.ts found the server's heap growing by about 20 KB per crawl: the crawler's
// "context or page, unless the browser goes first" kept every crawl's BrowserContext and Page
// reachable from the browser's `gone` promise until the browser was retired. These check that a
// settled call leaves nothing behind, and that it still fails fast when the browser goes.

setFlagsFromString('--expose_gc')
const gc = runInNewContext('gc') as () => void

/** A pool browser's `gone` as the crawler sees it: pending while the browser is in the pool. */
function liveBrowser(): { gone: Promise<CloseReason>; leave(reason: CloseReason): void } {
  let leave!: (reason: CloseReason) => void
  const gone = new Promise<CloseReason>((resolve) => (leave = resolve))
  return { gone, leave }
}

describe('orGone', () => {
  it('keeps nothing of a settled call while the browser stays in the pool', async () => {
    const browser = liveBrowser()
    // In a function of its own, so no frame of this test still holds the last answer.
    const crawl = async (n: number): Promise<WeakRef<object>[]> => {
      const refs: WeakRef<object>[] = []
      for (let i = 0; i < n; i++) {
        // Stands for the BrowserContext / Page the crawl got: a large object only the call returns.
        refs.push(new WeakRef(await orGone(Promise.resolve({ page: i, payload: new Array(10_000).fill(i) }), browser)))
      }
      return refs
    }
    const refs = await crawl(50)
    // WeakRef targets live to the end of the current job: collect in a later one.
    await new Promise((r) => setImmediate(r))
    gc()
    await new Promise((r) => setImmediate(r))
    gc()
    // Before the fix all 50 stayed reachable; V8 may still hold the very last answer for a while.
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThanOrEqual(1)
  })

  it('answers with the call while the browser stays, and with its failure', async () => {
    const browser = liveBrowser()
    await expect(orGone(Promise.resolve('context'), browser)).resolves.toBe('context')
    await expect(orGone(Promise.reject(new Error('newPage failed')), browser)).rejects.toThrow('newPage failed')
  })

  it('rejects a pending call as soon as the browser leaves the pool, and a later call at once', async () => {
    const browser = liveBrowser()
    const pending = orGone(new Promise<never>(() => undefined), browser)
    const other = orGone(new Promise<never>(() => undefined), browser)
    browser.leave('crashed')
    await expect(pending).rejects.toThrow('the browser has been closed (crashed)')
    await expect(other).rejects.toThrow('the browser has been closed (crashed)')
    await expect(orGone(new Promise<never>(() => undefined), browser)).rejects.toThrow('the browser has been closed (crashed)')
  })
})
