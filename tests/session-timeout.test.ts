import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import type { SessionsResponse } from '../src/shared/monitor-types.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'

/**
 * A session whose page hangs: the request that hits page_timeout ends the session (reason
 * "timeout": context closed, lease given back), so the next request with that session_id gets a
 * fresh page at once instead of a stuck one until the idle TTL. Real engine, Koa door, Chromium.
 */

let service: TestService
let fx: FixtureServer

beforeAll(async () => {
  ;[service, fx] = await Promise.all([startService({ max_pages: 2, allow_js_code: true, max_sessions: 2, idle_ttl_seconds: 0 }), startFixtureServer()])
})

afterAll(async () => {
  await service?.close()
  await fx?.close()
})

async function crawl(crawler_config: Record<string, unknown>): Promise<CrawlResult> {
  const r = await service.postJson('/crawl', { urls: [fx.url('/sess/counter')], browser_config: { viewport_width: 1111 }, crawler_config })
  expect(r.status, JSON.stringify(r.body).slice(0, 400)).toBe(200)
  return r.body.results[0] as CrawlResult
}

async function sessions(): Promise<SessionsResponse['sessions']> {
  return ((await service.get('/monitor/sessions')).body as SessionsResponse).sessions
}

describe('a session whose page hangs past page_timeout', () => {
  it('is ended with reason "timeout"; the next request on its session_id opens a fresh page and succeeds', async () => {
    const first = await crawl({ session_id: 'stuck', js_code: ['window.__count += 1'] })
    expect(first.success, first.error_message ?? '').toBe(true)
    expect(first.js_results).toEqual([1])
    const opened = (await sessions()).find((s) => s.session_id === 'stuck')
    expect(opened?.requests).toBe(1)
    const browser = service.runtime.sessions.get('stuck')?.browser
    expect(browser?.sessions).toBe(1)

    // A script that never returns holds the page's main thread: the page is stuck.
    const closed = service.nextEvent('session:closed', (e) => e.session_id === 'stuck')
    const hung = await crawl({ session_id: 'stuck', js_only: true, js_code: ['while (true) {}'], page_timeout: 1500 })
    expect(hung.success).toBe(false)
    expect(hung.session_id).toBe('stuck')
    expect(hung.error_message).toMatch(/page_timeout \(1500 ms\)/)
    const ended = await closed
    expect(ended.reason).toBe('timeout')
    // Requests it served to the end: the one that hung is not among them.
    expect(ended.requests).toBe(1)
    expect((await sessions()).map((s) => s.session_id)).not.toContain('stuck')
    // Its lease is given back once the context has closed.
    await expect.poll(() => browser?.sessions).toBe(0)

    // js_only has no page to run on now, and says why.
    const jsOnly = await service.postJson('/crawl', {
      urls: [fx.url('/sess/counter')],
      browser_config: { viewport_width: 1111 },
      crawler_config: { session_id: 'stuck', js_only: true, js_code: ['1'] },
    })
    expect(jsOnly.status).toBe(404)
    expect(JSON.stringify(jsOnly.body)).toMatch(/outlived page_timeout/)

    // A plain request with the same session_id gets a fresh page: new window state, counted from 1.
    const fresh = await crawl({ session_id: 'stuck', js_code: ['window.__count += 1'] })
    expect(fresh.success, fresh.error_message ?? '').toBe(true)
    expect(fresh.js_results).toEqual([1])
    const listed = (await sessions()).find((s) => s.session_id === 'stuck')
    expect(listed?.requests).toBe(1)
    expect(listed?.busy).toBe(false)
    expect(listed?.created_at).toBeGreaterThanOrEqual(opened?.created_at ?? Infinity)
    // A js_only request on the fresh page works again.
    const again = await crawl({ session_id: 'stuck', js_only: true, js_code: ['window.__count += 1'] })
    expect(again.js_results).toEqual([2])
  })

  it('a wait_for that never matches ends the session too; a failure that is not a timeout keeps it', async () => {
    await crawl({ session_id: 'waits' })
    const closed = service.nextEvent('session:closed', (e) => e.session_id === 'waits')
    const waited = await crawl({ session_id: 'waits', wait_for: 'css:#never-there', page_timeout: 1200 })
    expect(waited.success).toBe(false)
    expect((await closed).reason).toBe('timeout')
    // A failure that is not a timeout keeps the session.
    await crawl({ session_id: 'keeps' })
    const r = await service.postJson('/crawl', {
      urls: [fx.url('/no-such-page')],
      browser_config: { viewport_width: 1111 },
      crawler_config: { session_id: 'keeps' },
    })
    expect(r.body.results[0].success).toBe(false)
    expect((await sessions()).find((s) => s.session_id === 'keeps')?.requests).toBe(2)
    await service.runtime.sessions.close('keeps')
    await service.runtime.sessions.close('waits')
  })
})
