import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contract, type Operation, type OperationScope } from '../src/shared/contract.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * Every route of the contract, under every spelling a router or a proxy might take for it, with
 * every kind of credential: the only requests that reach a handler are the route's own spelling
 * with a scope that reaches the route's declared one. Generated from the contract, so a new route
 * is covered without touching this file. Requests go out raw (node:http), so no client tidies the
 * path first.
 */

const ADMIN = 'admin-token-aaaaaaaaaaaa'
const CRAWL = 'crawl-token-cccccccccccc'
const READ = 'read-token-rrrrrrrrrrrrr'

let s: TestService
const cookies: Record<'read' | 'crawl' | 'admin', string> = { read: '', crawl: '', admin: '' }

beforeAll(async () => {
  // No browser: a crawl that passes its scope stops at input validation (the body below is empty).
  s = await startService({ launch_permanent: false, prewarm_pages: 0, admin_tokens: [ADMIN], crawl_tokens: [CRAWL], read_tokens: [READ] })
  for (const [scope, token] of [
    ['read', READ],
    ['crawl', CRAWL],
    ['admin', ADMIN],
  ] as const) {
    const r = await fetch(`${s.url}/auth/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
    expect(r.status).toBe(200)
    cookies[scope] = (r.headers.get('set-cookie') ?? '').split(';')[0] as string
  }
}, 60_000)

afterAll(async () => {
  await s?.close()
})

/** Sends one request with the path exactly as given; resolves with the status once headers arrive. */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
  const url = new URL(s.url)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        resolve(res.statusCode ?? 0)
        // The live stream never ends by itself: the status is all this test needs.
        res.destroy()
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** Spellings of one path that are not the path: each must match nothing. */
function otherSpellings(path: string): string[] {
  const segments = path.split('/').slice(1)
  const first = segments[0] as string
  const encoded = (c: string) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`
  const spellings = [
    path.toUpperCase(),
    `/${first[0]?.toUpperCase()}${path.slice(2)}`,
    `${path}/`,
    `/${path}`,
    `${path}//`,
    `/${encoded(first[0] as string)}${path.slice(2)}`,
    `/${encoded(first[0] as string).toUpperCase()}${path.slice(2)}`,
    `${path.slice(0, -1)}${encoded(path.at(-1) as string)}`,
    `${path};x`,
    `${path}%00`,
    `${path}%20`,
    `${path}/.`,
  ]
  if (segments.length > 1) {
    spellings.push(path.replace(/\/(?=[^/]*$)/, '//'), path.replace(/\/(?=[^/]*$)/, '%2F'), path.replace(/\/(?=[^/]*$)/, '%2f'))
  }
  return [...new Set(spellings)].filter((p) => p !== path)
}

type Credential = { name: string; headers: () => Record<string, string>; scope: 'read' | 'crawl' | 'admin' | null }
let wrong = 0
const CREDENTIALS: Credential[] = [
  { name: 'no credentials', headers: () => ({}), scope: null },
  // A new prefix each time: this test is about scopes, not the lockout of repeated guesses.
  { name: 'a wrong token', headers: () => ({ authorization: `Bearer w${String(wrong++).padStart(5, '0')}-not-a-token-xx` }), scope: null },
  { name: 'the read token', headers: () => ({ authorization: `Bearer ${READ}` }), scope: 'read' },
  { name: 'the crawl token', headers: () => ({ authorization: `Bearer ${CRAWL}` }), scope: 'crawl' },
  { name: 'the admin token', headers: () => ({ authorization: `Bearer ${ADMIN}` }), scope: 'admin' },
  { name: 'a read session', headers: () => ({ cookie: cookies.read }), scope: 'read' },
  { name: 'a crawl session', headers: () => ({ cookie: cookies.crawl }), scope: 'crawl' },
  { name: 'an admin session', headers: () => ({ cookie: cookies.admin }), scope: 'admin' },
]

const RANK = { open: 0, read: 1, crawl: 2, admin: 3 } as const
const reaches = (have: Credential['scope'], need: OperationScope) => need === 'open' || (have !== null && RANK[have] >= RANK[need])
/** Statuses that mean the request never got past the router or the scope check. */
const STOPPED = new Set([401, 403, 404, 405, 429])

describe('route × spelling × credential', () => {
  it("only the route's own spelling with enough scope reaches a handler; every other spelling is 404 for everyone", async () => {
    const surprises: string[] = []
    let requests = 0
    for (const [name, op] of Object.entries(contract) as Array<[string, Operation]>) {
      // POST routes get an empty object: a handler that is reached answers it (often with 400),
      // nothing is crawled and no setting changes.
      const body = op.method === 'POST' ? '{}' : undefined
      for (const cred of CREDENTIALS) {
        const status = await raw(op.method, op.path, cred.headers(), body)
        requests++
        // A wrong token is refused even on an open route: it is checked (and counted) wherever it is sent.
        const expected = cred.name === 'a wrong token' ? 401 : reaches(cred.scope, op.scope) ? 'reached' : cred.scope === null ? 401 : 403
        const got = STOPPED.has(status) ? status : 'reached'
        if (got !== expected) surprises.push(`${name}: ${op.method} ${op.path} with ${cred.name} → ${status}, expected ${expected}`)
        for (const path of otherSpellings(op.path)) {
          const other = await raw(op.method, path, cred.headers(), body)
          requests++
          if (other !== 404) surprises.push(`${name}: ${op.method} ${path} with ${cred.name} → ${other}, expected 404`)
        }
      }
    }
    expect(surprises).toEqual([])
    expect(requests).toBeGreaterThan(1500)
  }, 240_000)

  it('the reported escalations stay shut: a read token or read session cannot restart a browser, read or replace the settings, or crawl', async () => {
    const before = [...s.runtime.config.admin_tokens]
    const attacker = 'attacker-admin-token-000'
    const patch = JSON.stringify({ tokens: { admin: [attacker] } })
    for (const headers of [{ authorization: `Bearer ${READ}` }, { cookie: cookies.read }] as Array<Record<string, string>>) {
      expect(await raw('POST', '/monitor/actions/restart_browser/', headers, '{"sig":"x"}')).toBe(404)
      expect(await raw('POST', '/Settings', headers, patch)).toBe(404)
      expect(await raw('GET', '/SETTINGS', headers)).toBe(404)
      expect(await raw('POST', '/Md', headers, '{"url":"http://127.0.0.1:9/"}')).toBe(404)
      expect(await raw('POST', '/settings', headers, patch)).toBe(403)
    }
    expect(s.runtime.config.admin_tokens).toEqual(before)
    expect(await raw('GET', '/monitor/health', { authorization: `Bearer ${attacker}` })).toBe(401)
  })

  it('a caller without the scope never has its body read: the refusal comes while the body is still unsent', async () => {
    const url = new URL(s.url)
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/md',
          headers: { 'content-type': 'application/json', 'content-length': '100000', authorization: `Bearer ${READ}` },
        },
        (res) => {
          resolve(res.statusCode ?? 0)
          res.destroy()
          req.destroy()
        },
      )
      req.on('error', reject)
      // A tenth of the announced body, and nothing more.
      req.write('{"url":"' + 'a'.repeat(10_000))
    })
    expect(status).toBe(403)
  })
})
