import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'

/**
 * Every crawl gets a fresh BrowserContext: nothing a page stores (cookies, localStorage,
 * sessionStorage) is visible to the next request, even on the same browser.
 */
describe('request isolation', () => {
  let fixture: FixtureServer
  let service: TestService

  beforeAll(async () => {
    fixture = await startFixtureServer()
    // No page reserve: these tests count the browser's contexts, which would include the reserved
    // pair (its isolation is tested in tests/prewarm.test.ts).
    service = await startService({ allow_js_code: true, prewarm_pages: 0 })
  })
  afterAll(async () => {
    await service?.close()
    await fixture?.close()
  })

  const write = `document.cookie = 'secret=42; path=/'; localStorage.setItem('k', 'v'); sessionStorage.setItem('s', 't'); [document.cookie, localStorage.getItem('k')]`
  const read = `[document.cookie, localStorage.getItem('k'), sessionStorage.getItem('s')]`

  it('a cookie or storage item set by one crawl is gone in the next, on the same browser', async () => {
    const first = await service.postJson('/crawl', { urls: [fixture.url('/about')], crawler_config: { js_code: write } })
    expect(first.status).toBe(200)
    // Proves the write really happened inside the first page.
    expect(first.body.results[0].js_results[0]).toEqual(['secret=42', 'v'])

    const second = await service.postJson('/crawl', { urls: [fixture.url('/about')], crawler_config: { js_code: read } })
    expect(second.status).toBe(200)
    expect(second.body.results[0].js_results[0]).toEqual(['', null, null])

    // Both crawls ran on the one permanent browser: isolation comes from the context, not from a new browser.
    const leases = service.eventsOf('lease:acquired').slice(-2)
    expect(leases).toHaveLength(2)
    expect(leases[0]?.id).toBe(leases[1]?.id)
  })

  it('contexts are closed when requests end: the browser holds no pages afterwards', async () => {
    await service.postJson('/md', { url: fixture.url('/') })
    const permanent = service.runtime.pool.permanent()
    expect(permanent).toBeDefined()
    expect(permanent?.browser.contexts()).toHaveLength(0)
  })
})
