import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startService, type TestService } from './helpers/service.js'

/*
 * What Crawl4AI's clients send and read, against the real service (../shared/reference/
 * crawl4ai-api.md is the contract). This part: the monitor's reads take what its dashboards and
 * scripts send (cache-busters, limits up to 1000), /health carries its timestamp, and /playground
 * reaches the Playground.
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
    const routes = [
      '/monitor/health',
      '/monitor/requests',
      '/monitor/browsers',
      '/monitor/endpoints/stats',
      '/monitor/timeline',
      '/monitor/logs/janitor',
      '/monitor/logs/errors',
      '/metrics',
      '/settings',
    ]
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
