import { createServer, request, type Server } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../src/main/core/logger.js'
import { createApp } from '../src/main/http/app.js'
import { Authenticator } from '../src/main/http/auth.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * The HTTP door against clients that do not play fair: sockets that never finish a request,
 * sessions that outlive their token, a Settings save that would leave a reachable service with no
 * token, guessers behind one address, and answers a cache or a plain-http hop could keep.
 */

const ADMIN = 'admin-token-aaaaaaaaaaaa'
const ADMIN2 = 'admin-token-second-bbbbbb'
const CRAWL = 'crawl-token-cccccccccccc'
const READ = 'read-token-rrrrrrrrrrrrr'

async function signIn(url: string, token: string, headers: Record<string, string> = {}): Promise<{ status: number; cookie: string; setCookie: string }> {
  const r = await fetch(`${url}/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) })
  const setCookie = r.headers.get('set-cookie') ?? ''
  return { status: r.status, cookie: setCookie.split(';')[0] as string, setCookie }
}

/** A GET whose Host header is exactly as given (fetch would set its own). */
function getAs(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers: { host } }, (res) => {
      let body = ''
      res.on('data', (d) => void (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

const get = async (url: string, path: string, headers: Record<string, string> = {}) => {
  const r = await fetch(`${url}${path}`, { headers })
  await r.arrayBuffer()
  return r
}

describe('clients that never finish a request', () => {
  let s: TestService
  beforeAll(async () => {
    s = await startService({ launch_permanent: false, prewarm_pages: 0, admin_tokens: [ADMIN], crawl_tokens: [CRAWL] })
  })
  afterAll(async () => s?.close())

  it('300 clients that send headers and never a body: the extra ones are closed at once, the rest cut within 30 s, and /health answers throughout', async () => {
    const { port } = new URL(s.url)
    // The attackers come from 127.0.0.2, /health is asked from 127.0.0.1: a per-address bound
    // must keep the second answering whatever the first holds.
    const started = Date.now()
    const ends: Array<Promise<{ ms: number; answer: string }>> = []
    for (let i = 0; i < 300; i++) {
      ends.push(
        new Promise((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.2' })
          let answer = ''
          socket.on('connect', () =>
            socket.write(
              `POST /md HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${CRAWL}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"url":`,
            ),
          )
          socket.on('data', (d) => void (answer += d.toString('latin1')))
          socket.on('error', () => undefined)
          socket.on('close', () => resolve({ ms: Date.now() - started, answer }))
        }),
      )
    }
    let healthWorst = 0
    let healthAnswers = 0
    let done = false
    const all = Promise.all(ends).finally(() => void (done = true))
    while (!done) {
      const t0 = Date.now()
      const r = await get(s.url, '/health')
      // 503: no permanent browser in this test; the point is that it answers.
      expect([200, 503]).toContain(r.status)
      healthWorst = Math.max(healthWorst, Date.now() - t0)
      healthAnswers++
      await Promise.race([all, new Promise((r) => setTimeout(r, 250))])
    }
    const closed = await all
    expect(Math.max(...closed.map((c) => c.ms))).toBeLessThan(30_000)
    // Closed on arrival: nothing was ever answered on them.
    const refused = closed.filter((c) => c.answer === '').length
    expect(refused).toBeGreaterThanOrEqual(300 - s.runtime.config.max_connections_per_client)
    // The ones that got in waited for their body until the request deadline, then got a 408.
    expect(closed.filter((c) => c.answer.startsWith('HTTP/1.1 408')).length).toBe(300 - refused)
    expect(healthAnswers).toBeGreaterThan(10)
    // Generous: a blocked or starved door takes seconds, not this.
    expect(healthWorst).toBeLessThan(2_000)
  }, 60_000)

  it('a caller without a valid token is answered at once, before its body, and its connection is not kept', async () => {
    const { port } = new URL(s.url)
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: Number(port) })
      let text = ''
      socket.on('connect', () =>
        socket.write('POST /md HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"url":'),
      )
      socket.on('data', (d) => void (text += d.toString('latin1')))
      socket.on('close', () => resolve(text))
    })
    expect(answer).toMatch(/^HTTP\/1\.1 401/)
    expect(answer.toLowerCase()).toContain('connection: close')
  })
})

describe('sessions, token lists and lockout', () => {
  let s: TestService
  beforeAll(async () => {
    s = await startService({ launch_permanent: false, prewarm_pages: 0, admin_tokens: [ADMIN, ADMIN2], crawl_tokens: [CRAWL], read_tokens: [READ] })
  })
  afterAll(async () => s?.close())

  const saveTokens = async (tokens: Record<string, string[]>) => {
    const r = await fetch(`${s.url}/settings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ tokens }),
    })
    return { status: r.status, body: (await r.json()) as { error?: string } }
  }

  it('a session dies with its token: revoked or rotated through Settings, its cookie is refused at once; a token moved to a lower scope takes its sessions down with it', async () => {
    const read = await signIn(s.url, READ)
    const crawl = await signIn(s.url, CRAWL)
    const admin2 = await signIn(s.url, ADMIN2)
    expect((await get(s.url, '/monitor/browsers', { cookie: read.cookie })).status).toBe(200)
    expect((await get(s.url, '/settings', { cookie: admin2.cookie })).status).toBe(200)

    // Revoke the read token, rotate the crawl token, move the second admin token to read.
    const rotated = 'crawl-token-rotated-dddddd'
    expect((await saveTokens({ admin: [ADMIN], crawl: [rotated], read: [ADMIN2] })).status).toBe(200)
    expect((await get(s.url, '/monitor/browsers', { cookie: read.cookie })).status).toBe(401)
    expect((await get(s.url, '/monitor/browsers', { cookie: crawl.cookie })).status).toBe(401)
    expect((await get(s.url, '/settings', { cookie: admin2.cookie })).status).toBe(403)
    expect((await get(s.url, '/monitor/browsers', { cookie: admin2.cookie })).status).toBe(200)
    expect((await (await fetch(`${s.url}/auth/session`, { headers: { cookie: read.cookie } })).json()) as object).toMatchObject({ signed_in: false })
    // Bringing the token back does not bring the ended session back.
    expect((await saveTokens({ admin: [ADMIN], crawl: [CRAWL], read: [READ] })).status).toBe(200)
    expect((await get(s.url, '/monitor/browsers', { cookie: read.cookie })).status).toBe(401)
  })

  it("signing in again and again with one token ends only that token's oldest sessions, never an admin's", async () => {
    const admin = await signIn(s.url, ADMIN)
    const first = await signIn(s.url, READ)
    for (let i = 0; i < 80; i++) expect((await signIn(s.url, READ)).status).toBe(200)
    expect((await get(s.url, '/settings', { cookie: admin.cookie })).status).toBe(200)
    // The read token's own first session made room for its later ones.
    expect((await get(s.url, '/monitor/browsers', { cookie: first.cookie })).status).toBe(401)
  })

  it('wrong guesses from an address never lock out a valid token from it; a guesser is locked out per prefix', async () => {
    for (let i = 0; i < 10; i++) expect((await get(s.url, '/monitor/health', { authorization: `Bearer guess0-${i}-xxxxxxxxxxxx` })).status).toBe(401)
    expect((await get(s.url, '/monitor/health', { authorization: 'Bearer guess0-10-xxxxxxxxxxxx' })).status).toBe(429)
    expect((await get(s.url, '/monitor/health', { authorization: `Bearer ${READ}` })).status).toBe(200)
    expect((await signIn(s.url, ADMIN)).status).toBe(200)
  }, 60_000)
})

describe('a service others can reach (bind beyond loopback, listening here on 127.0.0.1 for the test)', () => {
  let s: TestService
  let server: Server
  let url: string
  beforeAll(async () => {
    // The engine believes it is bound to 0.0.0.0; the app below is built for that bind.
    s = await startService({
      host: '0.0.0.0',
      block_private_targets: false,
      launch_permanent: false,
      prewarm_pages: 0,
      admin_tokens: [ADMIN],
      trust_proxy: true,
    })
    const auth = new Authenticator(() => s.runtime.settings.live.tokens, { requireTokens: true })
    server = createServer(createApp(s.runtime, silentLogger(), { bindHost: '0.0.0.0', auth }).callback())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server?.closeAllConnections()
    await new Promise((r) => server?.close(r))
    await s?.close()
  })

  it('Settings refuse to empty every token list, saying why', async () => {
    const r = await fetch(`${url}/settings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ tokens: { admin: [], crawl: [], read: [] } }),
    })
    expect(r.status).toBe(400)
    expect(((await r.json()) as { error: string }).error).toMatch(/0\.0\.0\.0.*other machines can reach.*admin token/)
    expect(s.runtime.config.admin_tokens).toEqual([ADMIN])
  })

  it('with every token gone anyway, nothing runs open', async () => {
    // Straight into the live settings: POST /settings refuses this state (the test above).
    s.runtime.settings.live.set({ admin_tokens: [] })
    try {
      expect((await get(url, '/monitor/health')).status).toBe(401)
      expect((await get(url, '/settings')).status).toBe(401)
      expect((await (await fetch(`${url}/auth/session`)).json()) as object).toMatchObject({ auth_required: true, signed_in: false })
    } finally {
      s.runtime.settings.live.set({ admin_tokens: [ADMIN] })
    }
  })

  it("answers only its own names: the machine's host name and addresses, never an unlisted name, and never lists the names that would work", async () => {
    // /health answers 503 here (no browser in this test); anything but the Host refusal will do.
    expect((await getAs(url, '/health', hostname())).status).not.toBe(403)
    expect((await getAs(url, '/health', `${hostname()}:11235`)).status).not.toBe(403)
    const evil = await getAs(url, '/health', 'rebind.evil.example')
    expect(evil.status).toBe(403)
    const body = JSON.parse(evil.body) as { error: string; code: string }
    expect(body.code).toBe('host_not_allowed')
    expect(body.error).not.toMatch(/localhost|127\.0\.0\.1/)
  })

  it('behind a trusted proxy: the session cookie is Secure when the proxy says https, and lockout follows X-Forwarded-For', async () => {
    const https = await signIn(url, ADMIN, { 'x-forwarded-proto': 'https' })
    expect(https.setCookie.toLowerCase()).toContain('; secure')
    const plain = await signIn(url, ADMIN)
    expect(plain.setCookie.toLowerCase()).not.toContain('secure')
    for (let i = 0; i < 10; i++)
      expect((await get(url, '/monitor/health', { authorization: `Bearer guess1-${i}-xxxxxxxxxxxx`, 'x-forwarded-for': '203.0.113.5' })).status).toBe(401)
    expect((await get(url, '/monitor/health', { authorization: 'Bearer guess1-x-xxxxxxxxxxxx', 'x-forwarded-for': '203.0.113.5' })).status).toBe(429)
    // Only the last hop counts: a client cannot prepend an address to escape its lockout.
    expect((await get(url, '/monitor/health', { authorization: 'Bearer guess1-x-xxxxxxxxxxxx', 'x-forwarded-for': '198.51.100.1, 203.0.113.5' })).status).toBe(
      429,
    )
    expect((await get(url, '/monitor/health', { authorization: 'Bearer guess1-x-xxxxxxxxxxxx', 'x-forwarded-for': '203.0.113.6' })).status).toBe(401)
  }, 60_000)
})

describe('tokens added to a service started open', () => {
  it('apply at once, and /health says private targets stay reachable until the restart that starts the egress guard', async () => {
    const s = await startService({ launch_permanent: false, prewarm_pages: 0 })
    try {
      expect(s.runtime.egress).toBeNull()
      const saved = await fetch(`${s.url}/settings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tokens: { admin: [ADMIN] } }),
      })
      expect(saved.status).toBe(200)
      expect((await get(s.url, '/monitor/health')).status).toBe(401)
      const health = (await (await fetch(`${s.url}/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
        status: string
        problems: string[]
      }
      expect(health.status).not.toBe('ok')
      expect(health.problems.join('\n')).toMatch(/private targets are not refused yet: tokens are configured.*restart crawldeck/)
    } finally {
      await s.close()
    }
  })
})

describe('answers no cache keeps, and no Secure cookie on the word of an untrusted header', () => {
  let s: TestService
  beforeAll(async () => {
    s = await startService({ launch_permanent: false, prewarm_pages: 0, admin_tokens: [ADMIN] })
  })
  afterAll(async () => s?.close())

  it('every API answer says Cache-Control: no-store, refusals and errors included; the dashboard keeps its own', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` }
    for (const [path, headers] of [
      ['/health', {}],
      ['/monitor/health', auth],
      ['/settings', auth],
      ['/metrics', auth],
      ['/monitor/health', {}],
      ['/no/such/route', {}],
      ['/auth/session', {}],
    ] as const) {
      const r = await get(s.url, path, headers)
      expect(r.headers.get('cache-control'), path).toBe('no-store')
    }
    expect((await get(s.url, '/dashboard/')).headers.get('cache-control')).toBe('no-cache')
  })

  it('the public /health says only its status; the details (version, PIDs, paths, error texts) need the read scope', async () => {
    const anyone = await fetch(`${s.url}/health`)
    expect(Object.keys((await anyone.json()) as object)).toEqual(['status', 'timestamp'])
    const signedIn = await fetch(`${s.url}/health`, { headers: { authorization: `Bearer ${ADMIN}` } })
    expect((await signedIn.json()) as object).toHaveProperty('version')
    expect(signedIn.status).toBe(anyone.status)
    const cookie = (await signIn(s.url, ADMIN)).cookie
    expect((await (await fetch(`${s.url}/health`, { headers: { cookie } })).json()) as object).toHaveProperty('permanent_browser')
    // A wrong token on an open route is still a wrong token: 401, and counted.
    expect((await get(s.url, '/health', { authorization: 'Bearer guess3-xxxxxxxxxxxxxxx' })).status).toBe(401)
  })

  it('without --trust-proxy, X-Forwarded-Proto and X-Forwarded-For are ignored', async () => {
    const r = await signIn(s.url, ADMIN, { 'x-forwarded-proto': 'https' })
    expect(r.setCookie.toLowerCase()).not.toContain('secure')
    for (let i = 0; i < 10; i++) await get(s.url, '/monitor/health', { authorization: `Bearer guess2-${i}-xxxxxxxxxxxx`, 'x-forwarded-for': `198.51.100.${i}` })
    // Every guess was counted against the real address.
    expect((await get(s.url, '/monitor/health', { authorization: 'Bearer guess2-x-xxxxxxxxxxxx', 'x-forwarded-for': '198.51.100.99' })).status).toBe(429)
  }, 60_000)
})
