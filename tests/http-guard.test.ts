import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hostAllowed, hostName } from '../src/main/http/guard.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * The local server as a target of the web pages its user visits: DNS rebinding (a foreign Host),
 * cross-site state changes (a foreign Origin), CORS only by allow-list, and the security headers
 * on every kind of answer. Raw node:http so the test controls Host and Origin exactly.
 */

let fx: FixtureServer
let s: TestService
let withCors: TestService

beforeAll(async () => {
  ;[fx, s, withCors] = await Promise.all([
    startFixtureServer(),
    startService({ launch_permanent: false }),
    startService({ launch_permanent: false, cors_origins: ['https://ops.example.com'], allowed_hosts: ['crawl.internal'] }),
  ])
})

afterAll(async () => {
  await Promise.all([s?.close(), withCors?.close(), fx?.close()])
})

interface Raw {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
  raw: string
}

function raw(svc: TestService, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Raw> {
  const u = new URL(svc.url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown = text
          try {
            parsed = JSON.parse(text)
          } catch {
            // not JSON (dashboard HTML, metrics text)
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, raw: text })
        })
      },
    )
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

const port = (svc: TestService) => new URL(svc.url).port

describe('Host header (DNS rebinding)', () => {
  it('parses Host headers strictly', () => {
    expect(hostName('LOCALHOST:11235')).toBe('localhost')
    expect(hostName('[::1]:80')).toBe('::1')
    expect(hostName('example.com.')).toBe('example.com')
    for (const bad of ['', 'a b', 'evil.com@127.0.0.1', '[::1', '[::1]x', 'host:port', 'a/b']) expect(hostName(bad), bad).toBeNull()
  })

  it("allows loopback names and the bound address; a wildcard bind allows the machine's own names and nothing else unlisted", () => {
    const loop = { bindHost: '127.0.0.1', allowedHosts: [], corsOrigins: [] }
    for (const ok of ['127.0.0.1:1', 'localhost', '[::1]:9', 'app.localhost', '127.0.0.2']) expect(hostAllowed(ok, loop), ok).toBe(true)
    for (const bad of ['evil.example', '127.0.0.1.evil.example', '10.0.0.5', undefined]) expect(hostAllowed(bad, loop), String(bad)).toBe(false)
    expect(hostAllowed('10.0.0.5:80', { ...loop, bindHost: '10.0.0.5' })).toBe(true)
    const machine = () => new Set(['crawler-7', '10.0.0.9'])
    expect(hostAllowed('anything.example', { ...loop, bindHost: '0.0.0.0' }, machine)).toBe(false)
    expect(hostAllowed('crawler-7:11235', { ...loop, bindHost: '0.0.0.0' }, machine)).toBe(true)
    expect(hostAllowed('10.0.0.9', { ...loop, bindHost: '::' }, machine)).toBe(true)
    expect(hostAllowed('10.0.0.9', { ...loop, bindHost: '10.0.0.5' }, machine)).toBe(false)
    expect(hostAllowed('crawl.example', { ...loop, bindHost: '0.0.0.0', allowedHosts: ['crawl.example'] }, machine)).toBe(true)
    expect(hostAllowed('anything.example', { ...loop, bindHost: '0.0.0.0', allowedHosts: ['crawl.example'] })).toBe(false)
  })

  it('refuses a request whose Host is not this service with 403 and says how to allow it', async () => {
    const r = await raw(s, 'GET', '/monitor/health', { host: `evil.example:${port(s)}` })
    expect(r.status).toBe(403)
    expect(r.body).toMatchObject({ code: 'host_not_allowed' })
    expect(r.body.error).toMatch(/evil\.example/)
    expect(r.body.error).toMatch(/--allowed-hosts/)
    expect(r.headers['x-content-type-options']).toBe('nosniff')
  })

  it('answers loopback names, and names from --allowed-hosts', async () => {
    expect((await raw(s, 'GET', '/monitor/health', { host: `localhost:${port(s)}` })).status).toBe(200)
    expect((await raw(s, 'GET', '/monitor/health', { host: `127.0.0.1:${port(s)}` })).status).toBe(200)
    expect((await raw(withCors, 'GET', '/monitor/health', { host: 'crawl.internal' })).status).toBe(200)
    expect((await raw(s, 'GET', '/monitor/health', { host: 'crawl.internal' })).status).toBe(403)
  })
})

describe('Origin on state-changing requests', () => {
  const body = JSON.stringify({})

  it('refuses a cross-site POST with 403 before anything runs', async () => {
    const before = (await s.get<any>('/monitor/logs/janitor')).body.events.length
    const r = await raw(s, 'POST', '/monitor/actions/cleanup', { origin: 'https://evil.example' }, body)
    expect(r.status).toBe(403)
    expect(r.body).toMatchObject({ code: 'origin_not_allowed' })
    const opaque = await raw(s, 'POST', '/monitor/actions/cleanup', { origin: 'null' }, body)
    expect(opaque.status).toBe(403)
    expect(opaque.body.error).toMatch(/opaque origin/)
    // Nothing ran: the janitor log records every force_cleanup.
    expect((await s.get<any>('/monitor/logs/janitor')).body.events.length).toBe(before)
  })

  it('allows same-origin POSTs (the dashboard) and POSTs with no Origin (scripts)', async () => {
    const sameOrigin = `http://127.0.0.1:${port(s)}`
    expect((await raw(s, 'POST', '/monitor/actions/cleanup', { origin: sameOrigin }, body)).status).toBe(200)
    expect((await raw(s, 'POST', '/monitor/actions/cleanup', {}, body)).status).toBe(200)
    // Same host, other port: another origin.
    expect((await raw(s, 'POST', '/monitor/actions/cleanup', { origin: `http://127.0.0.1:1` }, body)).status).toBe(403)
  })

  it('GETs are not state-changing: a foreign Origin may send them but gets no CORS header to read the answer', async () => {
    const r = await raw(s, 'GET', '/monitor/health', { origin: 'https://evil.example' })
    expect(r.status).toBe(200)
    expect(r.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('CORS by allow-list only', () => {
  it('answers a preflight and sets Allow-Origin for a listed origin, and lets it POST', async () => {
    const pre = await raw(withCors, 'OPTIONS', '/md', { origin: 'https://ops.example.com', 'access-control-request-method': 'POST' })
    expect(pre.status).toBe(204)
    expect(pre.headers['access-control-allow-origin']).toBe('https://ops.example.com')
    expect(String(pre.headers['access-control-allow-headers'])).toMatch(/Content-Type/)
    const post = await raw(withCors, 'POST', '/monitor/actions/cleanup', { origin: 'https://ops.example.com' }, '{}')
    expect(post.status).toBe(200)
    expect(post.headers['access-control-allow-origin']).toBe('https://ops.example.com')
  })

  it('a service without a list sends no CORS headers, even to a preflight', async () => {
    const pre = await raw(s, 'OPTIONS', '/md', { origin: 'https://ops.example.com', 'access-control-request-method': 'POST' })
    expect(pre.headers['access-control-allow-origin']).toBeUndefined()
    const other = await raw(withCors, 'GET', '/monitor/health', { origin: 'https://evil.example' })
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('security headers on every answer', () => {
  it('JSON, errors, 404, 405, metrics, SSE and the dashboard all carry them', async () => {
    const answers: Array<[string, Raw]> = [
      ['json', await raw(s, 'GET', '/monitor/health')],
      ['400', await raw(s, 'GET', '/monitor/requests?limit=-1')],
      ['404', await raw(s, 'GET', '/no/such/route')],
      ['405', await raw(s, 'DELETE', '/md')],
      ['415', await raw(s, 'POST', '/md', { 'content-type': 'text/plain' }, 'hi')],
      ['metrics', await raw(s, 'GET', '/metrics')],
      ['dashboard', await raw(s, 'GET', '/dashboard/')],
    ]
    for (const [what, r] of answers) {
      expect(r.headers['x-content-type-options'], what).toBe('nosniff')
      expect(r.headers['referrer-policy'], what).toBe('no-referrer')
      expect(String(r.headers['content-security-policy']), what).toMatch(/frame-ancestors 'none'/)
    }
    expect(String(answers[0]![1].headers['content-security-policy'])).toMatch(/default-src 'none'/)
    // SSE: read the headers, then hang up.
    const u = new URL(s.url)
    const sseHeaders = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: '/monitor/stream', headers: { accept: 'text/event-stream' } }, (res) => {
        resolve(res.headers)
        res.destroy()
      })
      req.on('error', reject)
      req.end()
    })
    expect(sseHeaders['x-content-type-options']).toBe('nosniff')
    expect(String(sseHeaders['content-security-policy'])).toMatch(/frame-ancestors 'none'/)
  })

  it('a 500 carries a correlation id and nothing of the error: no message, no stack', async () => {
    const original = s.runtime.service.monitorBrowsers
    s.runtime.service.monitorBrowsers = async () => {
      throw new Error('secret internals at /etc/crawldeck/password')
    }
    try {
      const r = await raw(s, 'GET', '/monitor/browsers')
      expect(r.status).toBe(500)
      expect(r.body.correlation_id).toMatch(/^[0-9a-zA-Z-]{8,}$/)
      expect(r.raw).not.toMatch(/secret|password|\bat \S+:\d+/)
      expect(r.body.error).toContain(r.body.correlation_id)
    } finally {
      s.runtime.service.monitorBrowsers = original
    }
  })

  it('a crawl still works through the guard with the ordinary client', async () => {
    const r = await s.postJson('/md', { url: fx.url('/') })
    // launch_permanent is off: the first crawl launches the default browser.
    expect(r.status).toBe(200)
  })
})
