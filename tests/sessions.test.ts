import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import type { SessionsResponse } from '../src/shared/monitor-types.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'

/**
 * Named sessions (crawler_config.session_id, js_only) end to end: the real engine and Koa door,
 * real Chromium, the local fixture site. One service for most of the file, with sessions closed
 * after each test; the idle TTL has a service of its own (its TTL would end the others' sessions).
 */

let service: TestService
let fx: FixtureServer

beforeAll(async () => {
  ;[service, fx] = await Promise.all([startService({ max_pages: 4, allow_js_code: true, max_sessions: 2, idle_ttl_seconds: 0 }), startFixtureServer()])
})

afterAll(async () => {
  await service?.close()
  await fx?.close()
})

afterEach(async () => {
  await Promise.all(service.runtime.sessions.list().map((s) => service.runtime.sessions.close(s.id)))
})

/** A browser_config of its own: the session's browser is a cold one no other test uses. */
const ownBrowser = (width: number) => ({ viewport_width: width })

async function crawl(url: string, crawler_config: Record<string, unknown>, browser_config: Record<string, unknown> = {}) {
  return service.postJson('/crawl', { urls: [url], browser_config, crawler_config })
}

async function crawlOk(url: string, crawler_config: Record<string, unknown>, browser_config: Record<string, unknown> = {}): Promise<CrawlResult> {
  const r = await crawl(url, crawler_config, browser_config)
  expect(r.status, JSON.stringify(r.body).slice(0, 400)).toBe(200)
  const result = r.body.results[0] as CrawlResult
  expect(result.success, result.error_message ?? '').toBe(true)
  return result
}

describe('a session keeps its page between requests', () => {
  it('keeps the cookie a page set: the fixture sees it on requests 2 and 3', async () => {
    const first = await crawlOk(fx.url('/sess/login'), { session_id: 'cookies' })
    expect(first.session_id).toBe('cookies')
    expect(fx.lastHeaders('/sess/login')?.cookie ?? '').not.toContain('crawldeck_sess')
    for (const n of [2, 3]) {
      const r = await crawlOk(fx.url(`/sess/page?n=${n}`), { session_id: 'cookies' })
      expect(r.session_id).toBe('cookies')
      expect(fx.lastHeaders('/sess/page')?.cookie, `request ${n}`).toContain('crawldeck_sess=yes')
    }
    // Without the session, a fresh context: no cookie.
    await crawlOk(fx.url('/sess/page'), {})
    expect(fx.lastHeaders('/sess/page')?.cookie ?? '').not.toContain('crawldeck_sess')
    const listed = (await service.get('/monitor/sessions')).body as SessionsResponse
    expect(listed.sessions.find((s) => s.session_id === 'cookies')?.requests).toBe(3)
    // An idle session holds its page and lease, never an admission slot.
    expect(service.runtime.admission.activeCount).toBe(0)
  })

  it('js_only runs js_code on the page already loaded: window state carries on, no new navigation', async () => {
    const before = fx.hits('/sess/counter')
    const first = await crawlOk(fx.url('/sess/counter'), { session_id: 'counter', js_code: ['window.__count += 1'] })
    expect(first.js_results).toEqual([1])
    expect(fx.hits('/sess/counter')).toBe(before + 1)
    const second = await crawlOk(fx.url('/sess/counter'), { session_id: 'counter', js_only: true, js_code: ['window.__count += 1'] })
    const third = await crawlOk(fx.url('/sess/counter'), { session_id: 'counter', js_only: true, js_code: ['window.__count += 1', 'location.pathname'] })
    expect(second.js_results).toEqual([2])
    expect(third.js_results).toEqual([3, '/sess/counter'])
    expect(fx.hits('/sess/counter'), 'js_only navigates nowhere').toBe(before + 1)
    // The status of the page's last navigation stands for js_only requests.
    expect(third.status_code).toBe(200)
    expect(third.session_id).toBe('counter')
    expect(third.markdown.raw_markdown).toContain('Counter')
    // A request without js_only navigates again: the page reloads and its state starts over.
    const again = await crawlOk(fx.url('/sess/counter'), { session_id: 'counter', js_code: ['window.__count += 1'] })
    expect(again.js_results).toEqual([1])
    expect(fx.hits('/sess/counter')).toBe(before + 2)
  })

  it('two requests on one session take turns: the second navigates only after the first has its result', async () => {
    const order: string[] = []
    const gateA = fx.gate('sess-turn-a')
    const gateB = fx.gate('sess-turn-b')
    void gateB.reached.then(() => {
      order.push('B navigated')
      gateB.release()
    })
    const offFinished = service.runtime.events.on('request:finished', (e) => {
      if (e.url.endsWith('/gate/sess-turn-a')) order.push('A finished')
    })
    try {
      const a = crawl(fx.url('/gate/sess-turn-a'), { session_id: 'turns' })
      await gateA.reached
      const queued = service.nextEvent('request:phase', (e) => e.phase === 'queued')
      const b = crawl(fx.url('/gate/sess-turn-b'), { session_id: 'turns' })
      await queued
      // Other work on the service goes on meanwhile (a whole crawl, start to end), and B still waits.
      await crawlOk(fx.url('/about'), {})
      expect(order, 'B waits while A holds the session').toEqual([])
      gateA.release()
      const [ra, rb] = await Promise.all([a, b])
      expect(ra.status).toBe(200)
      expect(rb.status).toBe(200)
      expect(ra.body.results[0].success).toBe(true)
      expect(rb.body.results[0].success).toBe(true)
      expect(order).toEqual(['A finished', 'B navigated'])
    } finally {
      offFinished()
      gateA.release()
      gateB.release()
    }
  })

  it('a client that goes away while waiting for its turn leaves the queue: the next one is served', async () => {
    const gate = fx.gate('sess-abort-wait')
    try {
      const a = crawl(fx.url('/gate/sess-abort-wait'), { session_id: 'leaver' })
      await gate.reached
      const queued = service.nextEvent('request:phase', (e) => e.phase === 'queued')
      const gone = service.nextEvent('request:finished', (e) => e.aborted)
      const controller = new AbortController()
      const before = fx.hits('/sess/page')
      const b = service
        .postNow('/crawl', { urls: [fx.url('/sess/page')], crawler_config: { session_id: 'leaver' } }, { signal: controller.signal })
        .catch((err: unknown) => err)
      await queued
      controller.abort()
      await b
      await gone
      gate.release()
      expect((await a).body.results[0].success).toBe(true)
      await crawlOk(fx.url('/about'), { session_id: 'leaver' })
      expect(fx.hits('/sess/page'), 'the request that went away never navigated').toBe(before)
    } finally {
      gate.release()
    }
  })

  it("a request's wait for the session counts against its page_timeout", async () => {
    const gate = fx.gate('sess-wait-timeout')
    try {
      const a = crawl(fx.url('/gate/sess-wait-timeout'), { session_id: 'patience' })
      await gate.reached
      const b = await crawl(fx.url('/about'), { session_id: 'patience', page_timeout: 300 })
      expect(b.status).toBe(200)
      const result = b.body.results[0] as CrawlResult
      expect(result.success).toBe(false)
      expect(result.error_message).toMatch(/page_timeout \(300 ms\) at waiting for session "patience"/)
      expect(result.session_id).toBe('patience')
      gate.release()
      expect((await a).body.results[0].success).toBe(true)
      // The queue moved on: the session serves the next request.
      await crawlOk(fx.url('/about'), { session_id: 'patience' })
    } finally {
      gate.release()
    }
  })
})

describe('what a session refuses', () => {
  it('js_only without session_id is a 400 naming the field', async () => {
    const r = await crawl(fx.url('/about'), { js_only: true, js_code: ['1'] })
    expect(r.status).toBe(400)
    expect(r.body.error).toMatch(/crawler_config\.js_only: js_only runs js_code on the page of an existing session/)
  })

  it('js_only on a session that is not open is a 404 saying how to open one', async () => {
    const r = await crawl(fx.url('/about'), { session_id: 'never-opened', js_only: true, js_code: ['1'] })
    expect(r.status).toBe(404)
    expect(r.body.error).toMatch(/no session "never-opened" is open: js_only runs on the page of an existing session/)
  })

  it('a bad session_id is a 400', async () => {
    for (const bad of ['', 'has space', 'x'.repeat(129), 'semi;colon']) {
      const r = await crawl(fx.url('/about'), { session_id: bad })
      expect(r.status, JSON.stringify(bad)).toBe(400)
      expect(r.body.error).toMatch(/session_id/)
    }
  })

  it("another browser_config for an open session is a 400: a session's browser config is fixed", async () => {
    await crawlOk(fx.url('/about'), { session_id: 'fixed-config' }, ownBrowser(1011))
    const r = await crawl(fx.url('/about'), { session_id: 'fixed-config' }, ownBrowser(1012))
    expect(r.status).toBe(400)
    expect(r.body.error).toMatch(/browser_config: session "fixed-config" was opened with browser config \w+ and this one is \w+/)
    // The same config still works, and the session was not harmed by the refusal.
    await crawlOk(fx.url('/about'), { session_id: 'fixed-config' }, ownBrowser(1011))
  })

  it('--max-sessions: a request that would open one more session is a 429 saying so; closing one makes room', async () => {
    await crawlOk(fx.url('/about'), { session_id: 'cap-1' })
    await crawlOk(fx.url('/about'), { session_id: 'cap-2' })
    const r = await crawl(fx.url('/about'), { session_id: 'cap-3' })
    expect(r.status).toBe(429)
    expect(r.body.code).toBe('session_limit')
    expect(r.body.error).toMatch(/at most 2 named sessions and all are open/)
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0)
    // An open session is still served at the cap.
    await crawlOk(fx.url('/about'), { session_id: 'cap-2' })
    expect((await service.postJson('/monitor/actions/close_session', { session_id: 'cap-1' })).status).toBe(200)
    await crawlOk(fx.url('/about'), { session_id: 'cap-3' })
  })
})

describe('sessions and their browsers', () => {
  it('holds a lease on its browser: a kill without force is a 409; with force the session is gone and says so', async () => {
    const opened = service.nextEvent('session:opened', (e) => e.session_id === 'leased')
    await crawlOk(fx.url('/about'), { session_id: 'leased' }, ownBrowser(1021))
    const { browser_id, sig } = await opened
    const browser = service.runtime.pool.get(browser_id)!
    // The answer is out and the session idle: its lease is still held.
    expect(browser.leases).toBe(1)
    expect(browser.sessions).toBe(1)
    const view = (await service.get('/monitor/browsers')).body.browsers.find((b: { id: string }) => b.id === browser_id)
    expect(view.killable).toBe(false)
    expect(view.not_killable_reason).toMatch(/holding 1 session\(s\)/)
    const refused = await service.postJson('/monitor/actions/kill_browser', { sig })
    expect(refused.status).toBe(409)
    expect(refused.body.error).toMatch(/is holding 1 session\(s\); pass force: true/)
    // The janitor never closes it either, though every idle browser is past its TTL (0 here).
    await service.runtime.janitor.runOnce()
    expect(service.runtime.pool.get(browser_id)?.state).toBe('active')

    const closed = service.nextEvent('session:closed', (e) => e.session_id === 'leased')
    expect((await service.postJson('/monitor/actions/kill_browser', { sig, force: true })).status).toBe(200)
    expect(await closed).toMatchObject({ reason: 'browser_gone', browser_id })
    const gone = await crawl(fx.url('/about'), { session_id: 'leased', js_only: true, js_code: ['1'] })
    expect(gone.status).toBe(404)
    expect(gone.body.error).toMatch(/it ended: its browser crashed or was killed/)
    // Without js_only the id opens a fresh session (Crawl4AI's way with an unknown session_id).
    const fresh = await crawlOk(fx.url('/about'), { session_id: 'leased' }, ownBrowser(1021))
    expect(fresh.session_id).toBe('leased')
  })

  it('close_session closes it and gives its lease back; an unknown id is a 404', async () => {
    const opened = service.nextEvent('session:opened', (e) => e.session_id === 'to-close')
    await crawlOk(fx.url('/about'), { session_id: 'to-close' }, ownBrowser(1031))
    const { browser_id } = await opened
    expect(service.runtime.pool.get(browser_id)?.leases).toBe(1)
    const released = service.nextEvent('lease:released', (e) => e.id === browser_id && e.leases === 0)
    const closedEvent = service.nextEvent('session:closed', (e) => e.session_id === 'to-close')
    const r = await service.postJson('/monitor/actions/close_session', { session_id: 'to-close' })
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ success: true, closed: 'to-close' })
    expect(await closedEvent).toMatchObject({ reason: 'closed', requests: 1 })
    await released
    const missing = await service.postJson('/monitor/actions/close_session', { session_id: 'to-close' })
    expect(missing.status).toBe(404)
    expect(missing.body.error).toMatch(/no session "to-close" is open/)
    const janitor = (await service.get('/monitor/logs/janitor?limit=50')).body.events as Array<{ type: string; details: Record<string, unknown> }>
    expect(janitor.some((e) => e.type === 'session_open' && e.details.session_id === 'to-close')).toBe(true)
    expect(janitor.some((e) => e.type === 'session_close' && e.details.session_id === 'to-close' && e.details.reason === 'closed')).toBe(true)
  })

  it('GET /monitor/sessions lists each session with its browser, times, pages and URL', async () => {
    const opened = service.nextEvent('session:opened', (e) => e.session_id === 'listed')
    const t0 = Math.floor(Date.now() / 1000)
    await crawlOk(fx.url('/about'), { session_id: 'listed' })
    await crawlOk(fx.url('/sess/page'), { session_id: 'listed' })
    const { browser_id } = await opened
    const r = await service.get('/monitor/sessions')
    expect(r.status).toBe(200)
    expect(Object.keys(r.body)).toEqual(['sessions'])
    const s = (r.body as SessionsResponse).sessions.find((x) => x.session_id === 'listed')!
    expect(Object.keys(s).sort()).toEqual(
      ['age_seconds', 'browser_id', 'browser_sig', 'busy', 'created_at', 'idle_seconds', 'last_used_at', 'requests', 'session_id', 'url'].sort(),
    )
    expect(s.browser_id).toBe(browser_id)
    expect(s.browser_sig).toBe(service.runtime.pool.get(browser_id)!.shortSig)
    expect(s.created_at).toBeGreaterThanOrEqual(t0)
    expect(s.last_used_at).toBeGreaterThanOrEqual(s.created_at)
    expect(s.age_seconds).toBeGreaterThanOrEqual(0)
    expect(s.idle_seconds).toBeGreaterThanOrEqual(0)
    expect(s.requests).toBe(2)
    expect(s.url).toBe(fx.url('/sess/page'))
    expect(s.busy).toBe(false)
  })
})

describe('an idle session expires', () => {
  let ttl: TestService

  beforeAll(async () => {
    ttl = await startService({ session_ttl_seconds: 1, idle_ttl_seconds: 0 })
  })

  afterAll(async () => {
    await ttl?.close()
  })

  it('after --session-ttl unused: closed as expired, its lease given back, so the janitor may close its browser', async () => {
    const opened = ttl.nextEvent('session:opened', (e) => e.session_id === 'short-lived')
    const r = await ttl.postJson('/crawl', { urls: [fx.url('/about')], browser_config: ownBrowser(1041), crawler_config: { session_id: 'short-lived' } })
    expect(r.status).toBe(200)
    const { browser_id } = await opened
    expect(ttl.runtime.pool.get(browser_id)?.leases).toBe(1)
    const released = ttl.nextEvent('lease:released', (e) => e.id === browser_id && e.leases === 0, 10_000)
    expect(await ttl.nextEvent('session:closed', (e) => e.session_id === 'short-lived', 10_000)).toMatchObject({ reason: 'expired', requests: 1 })
    await released
    expect(ttl.runtime.sessions.size).toBe(0)
    expect((await ttl.get('/monitor/sessions')).body).toEqual({ sessions: [] })
    await ttl.runtime.janitor.runOnce()
    expect(ttl.runtime.pool.get(browser_id), 'the idle browser was closed').toBeUndefined()
  })
})

describe('shutdown', () => {
  it('closes every open session, saying so', async () => {
    const own = await startService({})
    try {
      const r = await own.postJson('/crawl', { urls: [fx.url('/about')], crawler_config: { session_id: 'until-shutdown' } })
      expect(r.status).toBe(200)
    } finally {
      await own.close()
    }
    expect(own.eventsOf('session:closed')).toEqual([expect.objectContaining({ session_id: 'until-shutdown', reason: 'shutdown' })])
  })
})
