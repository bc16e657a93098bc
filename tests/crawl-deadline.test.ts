import { describe, expect, it } from 'vitest'
import { Deadline } from '../src/main/core/crawl/deadline.js'
import { AbortedError, CrawlFailedError } from '../src/main/core/errors.js'

describe('Deadline (page_timeout over the steps Playwright does not bound)', () => {
  it('passes a step through that settles in time, value or error', async () => {
    const d = new Deadline(Date.now(), 10_000)
    await expect(d.race(Promise.resolve(42), 'extraction')).resolves.toBe(42)
    const boom = new Error('boom')
    await expect(d.race(Promise.reject(boom), 'extraction')).rejects.toBe(boom)
  })

  it('ends a step that never settles at the deadline with a 504 naming it', async () => {
    const d = new Deadline(Date.now(), 50)
    const err = await d.race(new Promise(() => undefined), 'js_code[1]').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CrawlFailedError)
    expect((err as CrawlFailedError).timedOut).toBe(true)
    expect((err as CrawlFailedError).status).toBe(504)
    expect((err as Error).message).toBe('the page did not finish within page_timeout (50 ms) at js_code[1]')
  })

  it('counts from when the crawl was asked for: a spent budget leaves 1 ms, not 0 (Playwright reads 0 as no timeout)', async () => {
    const d = new Deadline(Date.now() - 5_000, 1_000)
    expect(d.remaining()).toBe(1)
    let unhandled = 0
    const onUnhandled = () => unhandled++
    process.on('unhandledRejection', onUnhandled)
    try {
      // The abandoned step rejects later (its context closed): nobody may see that as unhandled.
      let rejectLate!: (e: Error) => void
      const late = new Promise<never>((_, reject) => (rejectLate = reject))
      await expect(d.race(late, 'pdf')).rejects.toThrow('at pdf')
      rejectLate(new Error('Target page, context or browser has been closed'))
      await new Promise((r) => setImmediate(r))
      expect(unhandled).toBe(0)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  it('with a signal: ends a step that never settles when the caller goes away, or at once if it already has', async () => {
    const d = new Deadline(Date.now(), 60_000)
    const controller = new AbortController()
    const pending = d.race(new Promise(() => undefined), 'opening a page', controller.signal).catch((e: unknown) => e)
    controller.abort()
    expect(await pending).toBeInstanceOf(AbortedError)
    await expect(d.race(new Promise(() => undefined), 'opening a page', controller.signal)).rejects.toBeInstanceOf(AbortedError)
    // A step that settles first is passed through, and the abort listener is gone with it.
    const other = new AbortController()
    await expect(d.race(Promise.resolve('page'), 'opening a page', other.signal)).resolves.toBe('page')
    other.abort()
  })
})
