import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../src/main/core/config.js'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/**
 * Private targets through real Chromium and the real egress proxy. The crawled site lives on
 * 127.0.0.1 (exempted with private_targets_allowed); the "internal" server lives on 127.0.0.2,
 * which Linux routes to lo like all of 127/8, and is what the guard must keep the browser from.
 */

interface Site {
  origin: string
  port: number
  /** TCP connections accepted, and the paths requested. */
  connections: number
  paths: string[]
  close(): Promise<void>
}

async function startSite(host: string, handler: (path: string) => { status: number; headers?: Record<string, string>; body?: string }): Promise<Site> {
  const sockets = new Set<Socket>()
  const site: Site = { origin: '', port: 0, connections: 0, paths: [], close: async () => {} }
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/'
    site.paths.push(path)
    const answer = handler(path)
    res.writeHead(answer.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...answer.headers })
    res.end(answer.body ?? '')
  })
  server.on('connection', (s: Socket) => {
    site.connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, host, () => r()))
  site.port = (server.address() as AddressInfo).port
  site.origin = `http://${host}:${site.port}`
  site.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      server.close(() => r())
    })
  return site
}

let internal: Site
let site: Site

beforeAll(async () => {
  internal = await startSite('127.0.0.2', (path) => ({ status: 200, body: `<title>internal ${path}</title><p>secret</p>` }))
  const inner = `127.0.0.2:${internal.port}`
  site = await startSite('127.0.0.1', (path) => {
    if (path === '/page') return { status: 200, body: `<title>public page</title><img src="http://${inner}/pixel"><p>hello</p>` }
    if (path === '/socket') return { status: 200, body: `<title>socket page</title><script>new WebSocket('ws://${inner}/ws')</script>` }
    if (path === '/redirect') return { status: 302, headers: { location: `http://${inner}/` } }
    if (path === '/redirect-https') return { status: 302, headers: { location: `https://${inner}/` } }
    return { status: 404, body: 'not here' }
  })
})

afterAll(async () => {
  await Promise.all([internal?.close(), site?.close()])
})

function reset(): void {
  internal.connections = 0
  internal.paths.length = 0
}

describe('block_private_targets on (127.0.0.1/32 allowed)', () => {
  let service: TestService

  beforeAll(async () => {
    service = await startService({ block_private_targets: true, private_targets_allowed: ['127.0.0.1/32'], max_pages: 2 })
  })

  afterAll(async () => {
    await service?.close()
  })

  it('an allowed page loads; its <img> on a private address is never fetched', async () => {
    reset()
    const { status, body } = await service.postJson('/crawl', { urls: [site.origin + '/page'], crawler_config: { wait_until: 'load' } })
    expect(status).toBe(200)
    const result = body.results[0] as CrawlResult
    expect(result.success).toBe(true)
    expect(result.metadata.title).toBe('public page')
    // The browser asked for the pixel and the guard said no (so the img was tried, not skipped).
    await waitFor(() => service.runtime.egress?.proxy.refusalFor(`http://127.0.0.2:${internal.port}/pixel`) !== undefined, 20_000, 'the refusal of the pixel')
    expect(internal.connections).toBe(0)
  })

  it('a websocket to a private address is never opened', async () => {
    reset()
    const { status, body } = await service.postJson('/crawl', { urls: [site.origin + '/socket'], crawler_config: { wait_until: 'load' } })
    expect(status).toBe(200)
    expect(body.results[0].success).toBe(true)
    await waitFor(() => service.runtime.egress?.proxy.refusalFor(`ws://127.0.0.2:${internal.port}/ws`) !== undefined, 20_000, 'the refusal of the websocket')
    expect(internal.connections).toBe(0)
  })

  it('a 302 to a private http address fails the crawl with the block message', async () => {
    reset()
    const { status, body } = await service.postJson('/crawl', { urls: [site.origin + '/redirect'] })
    expect(status).toBe(200)
    const result = body.results[0] as CrawlResult
    expect(result.success).toBe(false)
    expect(result.error_message).toContain(`the egress guard refused http://127.0.0.2:${internal.port}/`)
    expect(result.error_message).toContain('127.0.0.0/8 (loopback)')
    expect(result.error_message).toContain('block_private_targets')
    expect(internal.connections).toBe(0)

    const md = await service.postJson('/md', { url: site.origin + '/redirect' })
    expect(md.status).toBe(502)
    expect(md.body.code).toBe('target_blocked')
    expect(md.body.error).toContain('the egress guard refused')
  })

  it('a 302 to a private https address fails the crawl with the block message (CONNECT refused)', async () => {
    reset()
    const { body } = await service.postJson('/crawl', { urls: [site.origin + '/redirect-https'] })
    const result = body.results[0] as CrawlResult
    expect(result.success).toBe(false)
    expect(result.error_message).toContain(`the egress guard refused https://127.0.0.2:${internal.port}/`)
    expect(result.error_message).toContain('block_private_targets')
    expect(internal.connections).toBe(0)
  })

  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://10.0.0.1/', '10.0.0.1'],
    ['http://[::1]:PORT/', '::1'],
    ['http://127.0.0.2:PORT/', '127.0.0.2'],
  ])('a request for %s is a 400 naming the URL, the address and the option, before any browser work', async (template, address) => {
    const url = template.replace('PORT', String(internal.port))
    const leases = service.eventsOf('lease:acquired').length
    const { status, body } = await service.postJson('/md', { url })
    expect(status).toBe(400)
    expect(body.code).toBe('invalid_input')
    expect(body.error).toContain(url)
    expect(body.error).toContain(address)
    expect(body.error).toContain('block_private_targets')
    expect(service.eventsOf('lease:acquired').length).toBe(leases)
  })

  it('a batch says which URL is refused', async () => {
    const { status, body } = await service.postJson('/crawl', { urls: [site.origin + '/page', 'http://10.0.0.1/', site.origin + '/page'] })
    expect(status).toBe(400)
    expect(body.details).toEqual([expect.objectContaining({ path: 'urls.1' })])
    expect(body.details[0].message).toContain('http://10.0.0.1/ is the address 10.0.0.1')
  })

  it('a browser_config that would route around the guard is refused', async () => {
    const proxied = await service.postJson('/md', { url: site.origin + '/page', browser_config: { proxy: 'http://10.0.0.1:3128' } })
    expect(proxied.status).toBe(400)
    expect(proxied.body.details[0].path).toBe('browser_config.proxy')
    const flagged = await service.postJson('/md', { url: site.origin + '/page', browser_config: { extra_args: ['--proxy-server=direct://'] } })
    expect(flagged.status).toBe(400)
    expect(flagged.body.details[0].path).toBe('browser_config.extra_args.0')
  })
})

describe('block_private_targets off (the loopback default)', () => {
  let service: TestService

  beforeAll(async () => {
    service = await startService({ max_pages: 2 })
  })

  afterAll(async () => {
    await service?.close()
  })

  it('is off by default on a loopback bind: no guard, the redirect and the pixel reach the private address', async () => {
    expect(service.runtime.egress).toBeNull()
    reset()
    const { body } = await service.postJson('/crawl', { urls: [site.origin + '/redirect'] })
    const result = body.results[0] as CrawlResult
    expect(result.success).toBe(true)
    expect(result.metadata.title).toBe('internal /')
    await service.postJson('/crawl', { urls: [site.origin + '/page'], crawler_config: { wait_until: 'load' } })
    await waitFor(() => internal.paths.includes('/pixel'), 20_000, 'the pixel request')
  })
})

// A loopback bind is not enough to keep the guard off: behind a reverse proxy (allowed_hosts),
// or with tokens handed out, other people crawl through this service.
describe('block_private_targets unset, on a loopback bind that others reach', () => {
  const CRAWL = 'crawl-token-cccccccccccc'
  const ADMIN = 'admin-token-aaaaaaaaaaaa'
  const services: TestService[] = []

  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()))
  })

  async function crawlAs(service: TestService, token: string | null, url: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`${service.url}/crawl`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ urls: [url] }),
    })
    const body = await res.json()
    await service.runtime.crawler.settled()
    return { status: res.status, body }
  }

  it.each<[string, ConfigInput, string | null]>([
    ['allowed_hosts (behind a reverse proxy)', { allowed_hosts: ['public.example'] }, null],
    ['a crawl token', { admin_tokens: [ADMIN], crawl_tokens: [CRAWL] }, CRAWL],
  ])('with %s: cloud metadata and a 127.0.0.1 fixture are a 400', async (_, config, token) => {
    // null: the default itself, not the test helper's opt-out.
    const service = await startService({ ...config, host: '127.0.0.1', block_private_targets: null, max_pages: 1 })
    services.push(service)
    expect(service.runtime.egress).not.toBeNull()
    const leases = service.eventsOf('lease:acquired').length
    const fetched = site.paths.length
    for (const url of ['http://169.254.169.254/latest/meta-data/', site.origin + '/page']) {
      const { status, body } = await crawlAs(service, token, url)
      expect(status, url).toBe(400)
      expect(body.code).toBe('invalid_input')
      expect(body.error).toContain(url)
      expect(body.error).toContain('block_private_targets')
    }
    expect(service.eventsOf('lease:acquired').length).toBe(leases)
    expect(site.paths.length).toBe(fetched)
  })

  it('block_private_targets: false is the way out: the same set-up crawls the fixture', async () => {
    const service = await startService({
      admin_tokens: [ADMIN],
      crawl_tokens: [CRAWL],
      allowed_hosts: ['public.example'],
      host: '127.0.0.1',
      block_private_targets: false,
      max_pages: 1,
    })
    services.push(service)
    expect(service.runtime.egress).toBeNull()
    const { status, body } = await crawlAs(service, CRAWL, site.origin + '/page')
    expect(status).toBe(200)
    expect((body.results[0] as CrawlResult).success).toBe(true)
    expect((body.results[0] as CrawlResult).metadata.title).toBe('public page')
  })
})
