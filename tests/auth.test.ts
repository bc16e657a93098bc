import crypto from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { resolveConfig } from '../src/main/core/config.js'
import { silentLogger } from '../src/main/core/logger.js'
import { LiveSettings, liveValuesOf } from '../src/main/core/settings/live.js'
import { contract, type Operation } from '../src/shared/contract.js'
import { Authenticator } from '../src/main/http/auth.js'
import { ADMIN_TOKEN_FILE, ensureTokens } from '../src/main/http/tokens.js'
import { parseOptions } from '../src/main/cli/options.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * Scoped tokens over real HTTP: read < crawl < admin, Bearer for scripts, a session cookie for
 * the dashboard, refusals with 401 / 403 / 429 that say why, and a loopback service with no
 * token left open for local use.
 */

const ADMIN = 'admin-token-aaaaaaaaaaaa'
const CRAWL = 'crawl-token-cccccccccccc'
const READ = 'read-token-rrrrrrrrrrrrr'
const READ2 = 'read-token-second-22222'

let fx: FixtureServer
let s: TestService
let open: TestService

beforeAll(async () => {
  ;[fx, s, open] = await Promise.all([
    startFixtureServer(),
    startService({ admin_tokens: [ADMIN], crawl_tokens: [CRAWL], read_tokens: [READ, READ2] }),
    startService({ launch_permanent: false }),
  ])
})

afterAll(async () => {
  await Promise.all([s?.close(), open?.close(), fx?.close()])
})

async function call(
  svc: TestService,
  method: string,
  p: string,
  opts: { token?: string; cookie?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  if (opts.cookie) headers.cookie = opts.cookie
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  const r = await fetch(`${svc.url}${p}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) })
  const text = await r.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {
    // SSE / metrics / HTML
  }
  return { status: r.status, body, headers: r.headers }
}

describe('scopes', () => {
  it('every contract operation declares its scope: crawl endpoints, jobs and /config/dump crawl, /health open, settings admin, other GETs read, other POSTs admin', () => {
    for (const [name, op] of Object.entries(contract) as Array<[string, Operation]>) {
      // /config/dump changes nothing: it checks a config for whoever is about to crawl with it.
      // A job's status carries its crawled pages, and cancelling one is a crawler's own business.
      const crawlScoped = op.crawl || op.path === '/config/dump' || op.path.startsWith('/crawl/job')
      const expected = op.path === '/health' ? 'open' : crawlScoped ? 'crawl' : op.path === '/settings' ? 'admin' : op.method === 'GET' ? 'read' : 'admin'
      expect(op.scope, name).toBe(expected)
    }
  })

  it('no credentials: 401 with WWW-Authenticate and what to send; /health and the dashboard files stay open', async () => {
    const r = await call(s, 'GET', '/monitor/health')
    expect(r.status).toBe(401)
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(r.body).toMatchObject({ code: 'unauthorized' })
    expect(r.body.error).toMatch(/Authorization: Bearer/)
    expect((await call(s, 'GET', '/health')).status).toBe(200)
    expect((await call(s, 'GET', '/dashboard/')).status).toBe(200)
    expect((await call(s, 'GET', '/metrics')).status).toBe(401)
    expect((await call(s, 'GET', '/monitor/stream')).status).toBe(401)
    // A path no route has is 404 for everyone: the route list is the documented API.
    expect((await call(s, 'GET', '/no/such/route')).status).toBe(404)
  })

  it('a wrong token or a malformed header: 401', async () => {
    expect((await call(s, 'GET', '/monitor/health', { token: 'not-a-token-at-all-xx' })).status).toBe(401)
    const malformed = await call(s, 'GET', '/monitor/health', { headers: { authorization: `Token ${READ}` } })
    expect(malformed.status).toBe(401)
    expect(malformed.body.error).toMatch(/Bearer <token>/)
  })

  it('read: monitor GETs, /metrics and the live stream; crawls and actions are 403 naming the scope needed', async () => {
    for (const t of [READ, READ2]) expect((await call(s, 'GET', '/monitor/health', { token: t })).status).toBe(200)
    expect((await call(s, 'GET', '/metrics', { token: READ })).status).toBe(200)
    const stream = await fetch(`${s.url}/monitor/stream`, { headers: { authorization: `Bearer ${READ}` } })
    expect(stream.status).toBe(200)
    await stream.body?.cancel()
    const crawl = await call(s, 'POST', '/md', { token: READ, body: { url: fx.url('/') } })
    expect(crawl.status).toBe(403)
    expect(crawl.body).toMatchObject({ code: 'forbidden' })
    expect(crawl.body.error).toMatch(/needs the crawl scope; this token has read/)
    expect((await call(s, 'POST', '/monitor/actions/cleanup', { token: READ, body: {} })).status).toBe(403)
    expect((await call(s, 'GET', '/settings', { token: READ })).status).toBe(403)
  })

  it('crawl: crawls and reads, but no actions, reset or settings', async () => {
    const r = await call(s, 'POST', '/md', { token: CRAWL, body: { url: fx.url('/') } })
    expect(r.status).toBe(200)
    expect((await call(s, 'GET', '/monitor/requests', { token: CRAWL })).status).toBe(200)
    expect((await call(s, 'POST', '/monitor/stats/reset', { token: CRAWL, body: {} })).status).toBe(403)
    expect((await call(s, 'POST', '/monitor/actions/cleanup', { token: CRAWL, body: {} })).status).toBe(403)
  })

  it('admin: everything, actions and settings included', async () => {
    expect((await call(s, 'POST', '/monitor/actions/cleanup', { token: ADMIN, body: {} })).status).toBe(200)
    expect((await call(s, 'GET', '/settings', { token: ADMIN })).status).toBe(200)
    expect((await call(s, 'POST', '/md', { token: ADMIN, body: { url: fx.url('/') } })).status).toBe(200)
  })

  it('with no token configured on a loopback bind the service is open for local use', async () => {
    expect((await call(open, 'GET', '/monitor/health')).status).toBe(200)
    expect((await call(open, 'POST', '/monitor/actions/cleanup', { body: {} })).status).toBe(200)
    expect((await call(open, 'GET', '/auth/session')).body).toMatchObject({ auth_required: false, scope: 'admin' })
  })
})

describe('dashboard sessions', () => {
  it('trades a token for an HttpOnly SameSite=Strict cookie that carries its scope, SSE included; logout ends it', async () => {
    expect((await call(s, 'GET', '/auth/session')).body).toMatchObject({ auth_required: true, signed_in: false, scope: null })
    const signIn = await call(s, 'POST', '/auth/session', { body: { token: READ } })
    expect(signIn.status).toBe(200)
    expect(signIn.body).toMatchObject({ signed_in: true, scope: 'read' })
    const setCookie = signIn.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/^crawldeck_session=[A-Za-z0-9_-]{40,};/)
    expect(setCookie.toLowerCase()).toContain('httponly')
    expect(setCookie.toLowerCase()).toContain('samesite=strict')
    expect(setCookie).not.toContain(READ)
    const cookie = setCookie.split(';')[0] as string

    expect((await call(s, 'GET', '/auth/session', { cookie })).body).toMatchObject({ signed_in: true, scope: 'read' })
    expect((await call(s, 'GET', '/monitor/browsers', { cookie })).status).toBe(200)
    const stream = await fetch(`${s.url}/monitor/stream`, { headers: { cookie } })
    expect(stream.status).toBe(200)
    await stream.body?.cancel()
    expect((await call(s, 'POST', '/monitor/actions/cleanup', { cookie, body: {} })).status).toBe(403)

    const out = await call(s, 'POST', '/auth/logout', { cookie, body: {} })
    expect(out.status).toBe(200)
    expect((await call(s, 'GET', '/monitor/browsers', { cookie })).status).toBe(401)
  })

  it('a bad token gets 401 and no cookie; a missing token 400', async () => {
    const bad = await call(s, 'POST', '/auth/session', { body: { token: 'wrong-token-wrong-token' } })
    expect(bad.status).toBe(401)
    expect(bad.headers.get('set-cookie')).toBeNull()
    expect((await call(s, 'POST', '/auth/session', { body: {} })).status).toBe(400)
  })
})

describe('guessing', () => {
  it('tokens are compared in constant time: every configured token is checked with timingSafeEqual, whatever matches', () => {
    const spy = vi.spyOn(crypto, 'timingSafeEqual')
    try {
      const auth = new Authenticator({ admin: [ADMIN], crawl: [CRAWL], read: [READ, READ2] })
      expect(auth.scopeOfToken(ADMIN)).toBe('admin')
      expect(spy).toHaveBeenCalledTimes(4)
      spy.mockClear()
      expect(auth.scopeOfToken('nope-nope-nope-nope')).toBeNull()
      expect(spy).toHaveBeenCalledTimes(4)
    } finally {
      spy.mockRestore()
    }
  })

  it('repeated failures from one client with one token prefix are slowed down, then refused with 429 until the window passes', async () => {
    let now = 1_000_000
    const auth = new Authenticator({ admin: [ADMIN], crawl: [], read: [] }, { now: () => now, maxFailures: 5, failureWindowMs: 60_000 })
    for (let i = 0; i < 5; i++) auth.recordFailure('10.0.0.9', `guess-${i}-xxxxxxxxxxxxx`)
    expect(auth.lockedFor('10.0.0.9', 'guess-9-yyyyyyyyyyyyy')).toBe(60)
    // Another address, or another prefix from the same address, is not locked.
    expect(auth.lockedFor('10.0.0.8', 'guess-9-yyyyyyyyyyyyy')).toBe(0)
    expect(auth.lockedFor('10.0.0.9', ADMIN)).toBe(0)
    now += 61_000
    expect(auth.lockedFor('10.0.0.9', 'guess-9-yyyyyyyyyyyyy')).toBe(0)
    // The wait before answering a failure grows with the failures.
    const delays = [1, 2, 3, 4, 5, 6].map(() => auth.recordFailure('10.0.0.7', 'guess-zzzzzzzzzzzzzzzz'))
    expect(delays[5]).toBeGreaterThan(delays[0] as number)
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000)
  })

  it('over HTTP: after the limit, guesses with that prefix get 429 with Retry-After; the valid token from the same address still works', async () => {
    const svc = await startService({ launch_permanent: false, admin_tokens: [ADMIN] })
    try {
      // The server's own limiter (10 in a minute); each failure is answered after a short wait.
      for (let i = 0; i < 10; i++) expect((await call(svc, 'GET', '/monitor/health', { token: `wrong-token-number-${i}` })).status).toBe(401)
      const locked = await call(svc, 'GET', '/monitor/health', { token: 'wrong-token-number-10' })
      expect(locked.status).toBe(429)
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
      expect(locked.body.code).toBe('too_many_auth_failures')
      // Someone else's wrong guesses never lock the right token out.
      expect((await call(svc, 'GET', '/monitor/health', { token: ADMIN })).status).toBe(200)
      expect((await call(svc, 'POST', '/auth/session', { body: { token: ADMIN } })).status).toBe(200)
    } finally {
      await svc.close()
    }
  }, 60_000)
})

describe('tokens from flags, env and a non-loopback bind', () => {
  it('env lists are comma-separated; a short token is refused with a clear message', () => {
    const parsed = parseOptions([], { CRAWLDECK_READ_TOKEN: `${READ},${READ2}`, CRAWLDECK_ADMIN_TOKEN: ADMIN })
    expect(parsed.kind).toBe('run')
    if (parsed.kind === 'run') {
      expect(parsed.config.read_tokens).toEqual([READ, READ2])
      expect(parsed.config.admin_tokens).toEqual([ADMIN])
    }
    const flags = parseOptions(['--crawl-token', CRAWL], {})
    if (flags.kind === 'run') expect(flags.config.crawl_tokens).toEqual([CRAWL])
    expect(() => parseOptions(['--admin-token', 'short'], {})).toThrow(/admin-token/)
  })

  it('bound to a non-loopback address with no token: an admin token is generated once, owner-only, and only its path is logged', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'crawldeck-tokens-'))
    try {
      const lines: string[] = []
      const logger = { ...silentLogger(), warn: (obj: unknown, msg?: string) => void lines.push(JSON.stringify(obj) + (msg ?? '')) } as never
      const liveWith = (admin_tokens: string[]) => new LiveSettings(liveValuesOf(resolveConfig({ host: '0.0.0.0', admin_tokens })))
      const live = liveWith([])
      const file = ensureTokens(live, dir, '0.0.0.0', logger)
      expect(file).toBe(path.join(dir, ADMIN_TOKEN_FILE))
      const token = readFileSync(file as string, 'utf8').trim()
      expect(token.length).toBeGreaterThanOrEqual(32)
      expect(statSync(file as string).mode & 0o777).toBe(0o600)
      expect(live.tokens.admin).toEqual([token])
      expect(lines.join('\n')).toContain(file as string)
      expect(lines.join('\n')).not.toContain(token)
      // A restart reads the same token back.
      const again = liveWith([])
      ensureTokens(again, dir, '0.0.0.0', logger)
      expect(again.tokens.admin).toEqual([token])
      // Loopback, or tokens configured: nothing generated.
      expect(ensureTokens(liveWith([]), dir, '127.0.0.1', logger)).toBeNull()
      const configured = liveWith([ADMIN])
      expect(ensureTokens(configured, dir, '0.0.0.0', logger)).toBeNull()
      expect(configured.tokens.admin).toEqual([ADMIN])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a token saved in Settings works at once, without a restart', async () => {
    const fresh = 'settings-made-token-1234'
    expect((await call(s, 'GET', '/monitor/health', { token: fresh })).status).toBe(401)
    const r = await call(s, 'POST', '/settings', { token: ADMIN, body: { tokens: { read: [READ, READ2, fresh] } } })
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    expect((await call(s, 'GET', '/monitor/health', { token: fresh })).status).toBe(200)
  })
})
