import { parse as parseQuery } from 'node:querystring'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contract, type Operation } from '../src/shared/contract.js'
import { startService, type TestService } from './helpers/service.js'
import { rng } from './helpers/rng.js'

/*
 * Thousands of generated bad inputs against every route of the contract: broken JSON, wrong
 * types, huge numbers and strings, unicode (lone surrogates included), __proto__ / constructor
 * keys, deep nesting, path tricks in sig, hostile query strings. Every answer to an input the
 * operation's own schema rejects must be a 4xx JSON error with a message; nothing may be a 5xx;
 * the service must still be healthy afterwards. Seeded, so a failure replays exactly.
 *
 * No generated value is a usable http(s) URL, so no crawl ever starts, and 'permanent' is not in
 * the pool of strings, so no restart of the permanent browser does either.
 */

let s: TestService

beforeAll(async () => {
  s = await startService({ max_pages: 2 })
})

afterAll(async () => {
  await s?.close()
})

const KEYS = [
  'url',
  'urls',
  'browser_config',
  'crawler_config',
  'full_page',
  'sig',
  'force',
  'limit',
  'status',
  'metric',
  'window',
  'headless',
  'viewport_width',
  'viewport_height',
  'user_agent',
  'proxy',
  'extra_args',
  'page_timeout',
  'css_selector',
  'js_code',
  'wait_for',
  'excluded_tags',
  'type',
  'params',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '',
  ' ',
  'ü',
  '😀',
]

const STRINGS = [
  '',
  ' ',
  'a',
  'x'.repeat(70_000),
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  '😀'.repeat(500),
  'e\u0301',
  '\u202eevil',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '../../../etc/passwd',
  '..%2f..%2fetc',
  '%00',
  '%',
  'ftp://example.com/',
  'javascript:alert(1)',
  'file:///etc/passwd',
  'data:text/html,hi',
  'http://',
  'https://',
  '//example.com',
  'http//x',
  'deadbeef',
  'DEADBEEF-0000',
  '0000',
  'zzzz',
  '1e309',
  'NaN',
  'true',
  'null',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'all',
  'memory',
  '5m',
  '0s',
  '99999m',
  '-1',
]

const NUMBERS = [0, -1, 1, 1.5, -0.5, 1e308, -1e308, 2 ** 53 + 1, -(2 ** 53) - 1, 4294967296, 65536, 1e-308, 100, 101, 1001]

function value(r: () => number, depth: number): unknown {
  const k = r()
  if (depth > 3 || k < 0.35) return STRINGS[Math.floor(r() * STRINGS.length)]
  if (k < 0.55) return NUMBERS[Math.floor(r() * NUMBERS.length)]
  if (k < 0.62) return r() < 0.5
  if (k < 0.68) return null
  if (k < 0.84) return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1))
  return object(r, depth + 1)
}

function object(r: () => number, depth: number): Record<string, unknown> {
  // JSON.parse turns a "__proto__" key into an own property, which is exactly what a client sends.
  const out: Record<string, unknown> = Object.create(null)
  const n = 1 + Math.floor(r() * 4)
  for (let i = 0; i < n; i++) out[KEYS[Math.floor(r() * KEYS.length)] as string] = value(r, depth)
  return out
}

// (A leading byte-order mark is not here: the body parser strips it, as RFC 8259 allows.)
const BROKEN_BODIES = [
  '{',
  '{"url":',
  '[',
  'nul',
  'tru',
  '{"a":1,}',
  "{'url':'x'}",
  '\u0000',
  '"just a string"',
  '123',
  'null',
  '[]',
  '{"url":"\\ud800"}',
  '['.repeat(50_000),
  `{"a":${'['.repeat(20_000)}`,
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  `{"url":"${'a'.repeat(2_000_000)}"}`,
  '{"url":1}\n{"url":2}',
]

interface Answer {
  status: number
  body: any
  raw: string
}

function send(method: string, path: string, body?: string, contentType = 'application/json'): Promise<Answer> {
  const u = new URL(s.url)
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    if (body !== undefined) {
      headers['content-type'] = contentType
      headers['content-length'] = String(Buffer.byteLength(body))
    }
    const req = request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = null
        try {
          parsed = JSON.parse(raw)
        } catch {
          // checked by the caller
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, raw })
      })
    })
    // The server may answer 413 and close before a huge body is written: that is an answer too.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET'
        ? resolve({ status: 413, body: { error: 'closed while sending', code: 'closed' }, raw: '' })
        : reject(err),
    )
    if (body !== undefined) req.write(body)
    req.end()
  })
}

interface Case {
  op: string
  method: string
  path: string
  body?: string
  contentType?: string
  /** Whether the operation's schema accepts this input (then any non-5xx answer is fine). */
  valid: boolean
}

function schemaAccepts(op: Operation, input: unknown): boolean {
  return op.input.safeParse(input).success
}

function postCases(name: string, op: Operation, r: () => number, n: number): Case[] {
  const cases: Case[] = []
  for (const body of BROKEN_BODIES) cases.push({ op: name, method: 'POST', path: op.path, body, valid: false })
  cases.push({ op: name, method: 'POST', path: op.path, body: 'url=http://x', contentType: 'application/x-www-form-urlencoded', valid: false })
  cases.push({ op: name, method: 'POST', path: op.path, body: '{}', contentType: 'text/plain', valid: false })
  while (cases.length < n) {
    const input = r() < 0.85 ? object(r, 0) : value(r, 1)
    const text = JSON.stringify(input)
    if (text === undefined) continue
    cases.push({ op: name, method: 'POST', path: op.path, body: text, valid: schemaAccepts(op, JSON.parse(text)) })
  }
  return cases
}

/**
 * Whether the route's schema accepts a query string as Koa hands it over (node's querystring: a
 * repeated key becomes an array). Parameters a route does not know are ignored, not refused.
 */
function queryAccepted(op: Operation, query: string): boolean {
  return schemaAccepts(op, { ...parseQuery(query) })
}

function getCases(name: string, op: Operation, r: () => number, n: number): Case[] {
  const cases: Case[] = ['%', 'limit=1&limit=2', '__proto__[x]=1', 'limit=%00'].map((q) => ({
    op: name,
    method: 'GET',
    path: `${op.path}?${q}`,
    valid: queryAccepted(op, q),
  }))
  while (cases.length < n) {
    const query = new URLSearchParams()
    const keys = 1 + Math.floor(r() * 3)
    for (let i = 0; i < keys; i++) {
      const v = value(r, 4)
      query.append(KEYS[Math.floor(r() * KEYS.length)] as string, String(v).slice(0, 2000))
    }
    cases.push({ op: name, method: 'GET', path: `${op.path}?${query.toString()}`, valid: queryAccepted(op, query.toString()) })
  }
  return cases
}

describe('fuzzing every route', () => {
  it('answers thousands of bad inputs with a 4xx and a message, never a 5xx, and stays healthy', async () => {
    const r = rng(0xc0ffee)
    const cases: Case[] = []
    for (const [name, op] of Object.entries(contract) as Array<[string, Operation]>) {
      // The live stream never ends on its own; its input handling is the same middleware as every GET.
      if (op.response === 'live') continue
      cases.push(...(op.method === 'POST' ? postCases(name, op, r, 260) : getCases(name, op, r, 120)))
    }
    // Path tricks that are not in the contract at all.
    for (const p of [
      '/monitor/../health',
      '/monitor/%2e%2e/health',
      '/dashboard/..%2f..%2fpackage.json',
      '/monitor/actions/kill_browser/../../x',
      '/%00',
      '/monitor/requests%00',
    ]) {
      cases.push({ op: 'path', method: 'GET', path: p, valid: false })
    }
    expect(cases.length).toBeGreaterThan(3000)

    const failures: string[] = []
    let next = 0
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++] as Case
        const a = await send(c.method, c.path, c.body, c.contentType)
        const where = `${c.method} ${c.path.slice(0, 80)} ${c.body === undefined ? '' : c.body.slice(0, 120)}`
        if (a.status >= 500 || a.status === 0) failures.push(`${a.status} ${where} -> ${a.raw.slice(0, 200)}`)
        else if (!c.valid) {
          if (a.status < 400) failures.push(`accepted bad input (${a.status}): ${where}`)
          else if (a.status >= 400 && (typeof a.body?.error !== 'string' || a.body.error.length < 8 || typeof a.body?.code !== 'string'))
            failures.push(`${a.status} without a clear JSON error: ${where} -> ${a.raw.slice(0, 200)}`)
        }
      }
    }
    await Promise.all(Array.from({ length: 6 }, worker))
    expect(failures.slice(0, 20), `${failures.length} of ${cases.length} cases failed`).toEqual([])

    // Still up and unharmed: healthy, the permanent browser still serving, nothing left active.
    const health = await s.get<any>('/health')
    expect(health.status).toBe(200)
    expect(health.body.status).toBe('ok')
    expect(s.runtime.pool.permanent()?.state).toBe('active')
    expect((await s.get<any>('/monitor/requests?status=active')).body.active).toEqual([])
  })
})
