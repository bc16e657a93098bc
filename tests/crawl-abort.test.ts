import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BrowserContext } from 'playwright-core'
import { BrowserConfigSchema, CrawlerConfigSchema } from '../src/shared/crawl-schemas.js'
import { WANT_EVERYTHING } from '../src/main/core/crawl/crawler.js'
import { AbortedError } from '../src/main/core/errors.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { bounded, startService, waitFor, type TestService } from './helpers/service.js'

/**
 * A caller that goes away while its crawl is still making its page. Playwright's
 * context.newPage() never settles once its context is closed under it, and closing the context is
 * exactly what the crawler does on an abort: the crawl then waited forever, holding its admission
 * slot and its browser lease until shutdown. Under load (clients abandoning batches) that drained
 * the pool's capacity. Real Chromium; the only hook is the moment of the abort.
 */

let service: TestService
let fx: FixtureServer

beforeAll(async () => {
  // No reserve: every crawl makes its own context and page, on the request's path.
  ;[service, fx] = await Promise.all([startService({ prewarm_pages: 0, max_pages: 2 }), startFixtureServer()])
})

afterAll(async () => {
  await service?.close()
  await fx?.close()
})

/** A crawl of /about whose caller's signal the test aborts: what it ended with (bounded). */
function abandonedCrawl(signal: AbortSignal): Promise<unknown> {
  const crawl = service.runtime.crawler.crawl(fx.url('/about'), BrowserConfigSchema.parse({}), CrawlerConfigSchema.parse({}), WANT_EVERYTHING, {
    requestId: null,
    signal,
  })
  return bounded(
    crawl.then(
      () => 'answered',
      (err: unknown) => err,
    ),
    20_000,
    'the abandoned crawl',
  )
}

describe('a crawl whose caller goes away while its page is being made', () => {
  it('ends at once as aborted and gives back its slot and lease; the next crawl is served', async () => {
    const managed = service.runtime.pool.list()[0]!
    const pw = managed.browser
    const realNewContext = pw.newContext.bind(pw)
    const controller = new AbortController()
    let pagesAsked = 0
    // The caller goes away right after the crawl asked Chromium for its page: the crawler's
    // abort listener closes the context while newPage() is in flight.
    pw.newContext = (async (options?: Parameters<typeof realNewContext>[0]) => {
      const context: BrowserContext = await realNewContext(options)
      const realNewPage = context.newPage.bind(context)
      context.newPage = (() => {
        pagesAsked++
        const making = realNewPage()
        controller.abort()
        return making
      }) as typeof context.newPage
      return context
    }) as typeof pw.newContext
    try {
      expect(await abandonedCrawl(controller.signal)).toBeInstanceOf(AbortedError)
      expect(pagesAsked).toBe(1)
    } finally {
      pw.newContext = realNewContext
    }
    await service.runtime.crawler.settled()
    expect(service.runtime.admission.activeCount).toBe(0)
    expect(managed.leases).toBe(0)
    const next = await service.postJson('/md', { url: fx.url('/') })
    expect(next.status).toBe(200)
  })

  it('gone while its context is being made: the crawl ends at once, and the context that arrives later is closed, not left open', async () => {
    const managed = service.runtime.pool.list()[0]!
    const pw = managed.browser
    const realNewContext = pw.newContext.bind(pw)
    const controller = new AbortController()
    let made: Promise<BrowserContext> | null = null
    pw.newContext = ((options?: Parameters<typeof realNewContext>[0]) => {
      made = realNewContext(options)
      controller.abort()
      return made
    }) as typeof pw.newContext
    try {
      expect(await abandonedCrawl(controller.signal)).toBeInstanceOf(AbortedError)
    } finally {
      pw.newContext = realNewContext
    }
    expect(service.runtime.admission.activeCount).toBe(0)
    expect(managed.leases).toBe(0)
    // The crawl gave up before Chromium answered: the context arrives afterwards, and is closed.
    expect(made).not.toBeNull()
    const late = await bounded(made!, 20_000, 'the late context')
    await waitFor(() => !pw.contexts().includes(late), 20_000, 'the late context to be closed')
  })
})
