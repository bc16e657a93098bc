import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contract, type Operation } from '../src/shared/contract.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * What Crawl4AI's clients send and read, against the real service (../shared/reference/
 * crawl4ai-api.md is the contract). This part: the monitor's reads take what its dashboards and
 * scripts send (cache-busters, limits up to 1000), /health carries its timestamp, /playground
 * reaches the Playground, and browser_config takes Crawl4AI's `viewport` and `browser_type`.
 */

let s: TestService

beforeAll(async () => {
  s = await startService({ launch_permanent: false, prewarm_pages: 0 })
})

afterAll(async () => {
  await s?.close()
})

describe('monitor reads as Crawl4AI clients send them', () => {
  it('a cache-buster (?_=<ms>) on every GET route is ignored, not a 400', async () => {
    // Every GET route but the live stream (which never ends), /health (below: 503 here, no browser)
    // and those of one job (/crawl/job/:task_id: 404 without a job, tested in jobs.test.ts).
    const routes = Object.values(contract as Record<string, Operation>)
      .filter((op) => op.method === 'GET' && op.response !== 'live' && op.path !== '/health' && !op.path.includes(':'))
      .map((op) => op.path)
    expect(routes.length).toBeGreaterThan(8)
    for (const route of routes) {
      const r = await fetch(`${s.url}${route}?_=${Date.now()}`)
      await r.arrayBuffer()
      expect(r.status, route).toBe(200)
    }
    const health = await fetch(`${s.url}/health?_=${Date.now()}`)
    expect([200, 503]).toContain(health.status)
  })

  it('limit up to 1000 on the requests and both logs; past it, a 400 that says the bound', async () => {
    for (const route of ['/monitor/requests', '/monitor/logs/janitor', '/monitor/logs/errors']) {
      expect((await s.get(`${route}?limit=1000`)).status, route).toBe(200)
      const over = await s.get<{ error: string }>(`${route}?limit=1001`)
      expect(over.status, route).toBe(400)
      expect(over.body.error).toMatch(/limit must be at most 1000/)
    }
  })
})

describe('/health and /playground', () => {
  it('/health says when, in epoch seconds, as Crawl4AI does', async () => {
    const before = Date.now() / 1000
    const body = (await (await fetch(`${s.url}/health`)).json()) as { status: string; timestamp: number }
    expect(typeof body.timestamp).toBe('number')
    expect(body.timestamp).toBeGreaterThanOrEqual(before - 1)
    expect(body.timestamp).toBeLessThanOrEqual(Date.now() / 1000 + 1)
  })

  it("/playground and /playground/ lead to the control center's Playground", async () => {
    for (const path of ['/playground', '/playground/']) {
      const r = await fetch(`${s.url}${path}`, { redirect: 'manual' })
      expect(r.status, path).toBe(302)
      expect(r.headers.get('location'), path).toBe('/dashboard/#/playground')
    }
    const followed = await fetch(`${s.url}/playground`)
    expect(followed.status).toBe(200)
    expect(followed.headers.get('content-type')).toMatch(/text\/html/)
  })
})

describe("browser_config in Crawl4AI's words", () => {
  let fx: FixtureServer
  let svc: TestService
  beforeAll(async () => {
    ;[fx, svc] = await Promise.all([startFixtureServer(), startService({ prewarm_pages: 0 })])
  })
  afterAll(async () => {
    await Promise.all([svc?.close(), fx?.close()])
  })

  /** The width and height a PNG says it has (its IHDR chunk). */
  const pngSize = (base64: string) => {
    const png = Buffer.from(base64, 'base64')
    return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
  }

  it('viewport: {width, height} sizes the page, plain or as {"type": "dict", "value": ...} inside the typed form', async () => {
    const plain = await svc.postJson('/screenshot', { url: fx.url('/'), browser_config: { viewport: { width: 1000, height: 700 } } })
    expect(plain.status, JSON.stringify(plain.body).slice(0, 300)).toBe(200)
    expect(pngSize(plain.body.screenshot)).toEqual({ width: 1000, height: 700 })
    const typed = await svc.postJson('/screenshot', {
      url: fx.url('/'),
      browser_config: { type: 'BrowserConfig', params: { viewport: { type: 'dict', value: { width: 800, height: 600 } }, viewport_width: 1500 } },
    })
    expect(typed.status).toBe(200)
    // viewport overrides viewport_width, as in Crawl4AI.
    expect(pngSize(typed.body.screenshot)).toEqual({ width: 800, height: 600 })
  })

  it("the monitor demo's promotion phase: repeated crawls with one viewport share a browser, which turns hot", async () => {
    for (let i = 0; i < 4; i++) {
      const r = await svc.postJson('/md', { url: fx.url('/'), browser_config: { viewport: { width: 1920, height: 1080 } } })
      expect(r.status).toBe(200)
    }
    const { browsers } = (await svc.get<{ browsers: Array<{ type: string }> }>('/monitor/browsers')).body
    expect(browsers.map((b) => b.type)).toContain('hot')
  })

  it('browser_type: "chromium" is accepted; any other is a 400 saying only Chromium is here; a bad viewport is a 400 naming it', async () => {
    expect((await svc.postJson('/md', { url: fx.url('/'), browser_config: { browser_type: 'chromium' } })).status).toBe(200)
    const firefox = await svc.postJson('/md', { url: fx.url('/'), browser_config: { browser_type: 'firefox' } })
    expect(firefox.status).toBe(400)
    expect(firefox.body.error).toMatch(/browser_config\.browser_type.*only Chromium is available/)
    const bad = await svc.postJson('/md', { url: fx.url('/'), browser_config: { viewport: { width: 10, height: 600 } } })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatch(/browser_config\.viewport\.width/)
  })
})
