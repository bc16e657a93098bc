/**
 * The request mix of bench/growth.ts, as pure functions of a request's index, so the mix the
 * docs state is the mix that runs (tests/growth-mix.test.ts checks it).
 *
 * Bulk requests, in every block of BLOCK consecutive ones:
 * - INVALID_PER_BLOCK refused by validation in the HTTP door (400, a URL no other request uses);
 *   the monitor does not record these, they exercise the door only;
 * - the rest refused by the memory guard inside the crawl service (503: each asks for a browser
 *   config, a user agent, no other request uses, and the service runs with --memory-threshold 0,
 *   so no browser but the permanent one is ever launched). The monitor records each of them like
 *   any crawl: active -> completed, endpoint stats, error log, error group, SSE events; each
 *   carries a URL and a config signature seen nowhere else.
 * Real crawls, a lane of their own beside the bulk (a crawl takes a Chromium page for hundreds of
 * milliseconds; holding a bulk worker with it would pace the whole run to the browser's speed):
 * POST /md or /html of a fixture page with a query string no other request uses; every
 * CRAWL_ERROR_EVERY-th runs a js_code that throws a message no other request shares, so it
 * opens a new error group.
 */

export const BLOCK = 10
export const INVALID_PER_BLOCK = 1
export const CRAWL_ERROR_EVERY = 4
/** Endpoints the refused requests rotate over (the endpoint table is keyed by these). */
export const REFUSED_ENDPOINTS = ['/md', '/html', '/crawl', '/screenshot', '/pdf'] as const

export type GrowthKind = 'crawl' | 'crawl_error' | 'invalid' | 'refused'

export interface GrowthRequest {
  kind: GrowthKind
  path: string
  body: Record<string, unknown>
  /** The status the service must answer; anything else fails the bench. */
  expect: number
  /** Whether the monitor records it (endpoint stats, completed requests). */
  recorded: boolean
}

export type BulkKind = 'invalid' | 'refused'

export function bulkKindOf(i: number): BulkKind {
  return i % BLOCK < INVALID_PER_BLOCK ? 'invalid' : 'refused'
}

export function crawlKindOf(k: number): 'crawl' | 'crawl_error' {
  return k % CRAWL_ERROR_EVERY === CRAWL_ERROR_EVERY - 1 ? 'crawl_error' : 'crawl'
}

/**
 * A word made of the letters g..z only: error shapes keep words but fold digits, hex runs, ids
 * and quoted strings, so a number would make every message the same shape.
 */
export function letterTag(i: number): string {
  const letters = 'ghijklmnopqrstuvwxyz'
  let n = Math.max(0, Math.floor(i))
  let out = ''
  do {
    out = letters[n % letters.length] + out
    n = Math.floor(n / letters.length)
  } while (n > 0)
  return out
}

/** Bulk request `i`: refused by validation or by the memory guard, never reaching a browser. */
export function bulkRequest(i: number, origin: string): GrowthRequest {
  const page = `${origin}/about?growth=${i}`
  if (bulkKindOf(i) === 'invalid') {
    // Either not a URL at all or a scheme that is never crawled.
    return { kind: 'invalid', path: '/md', body: { url: i % 2 === 0 ? `ftp://growth.invalid/${i}` : `growth ${i} is not a URL` }, expect: 400, recorded: false }
  }
  const path = REFUSED_ENDPOINTS[i % REFUSED_ENDPOINTS.length] as string
  const browser_config = { user_agent: `crawldeck-growth/${i}` }
  const body = path === '/crawl' ? { urls: [page], browser_config } : { url: page, browser_config }
  return { kind: 'refused', path, body, expect: 503, recorded: true }
}

/** Real crawl `k` of the crawl lane, by the permanent browser. */
export function crawlRequest(k: number, origin: string): GrowthRequest {
  const page = `${origin}/about?crawl=${k}`
  if (crawlKindOf(k) === 'crawl_error') {
    return {
      kind: 'crawl_error',
      path: '/html',
      body: { url: page, crawler_config: { js_code: [`(() => { throw new Error('growth failure ${letterTag(k)}') })()`] } },
      expect: 502,
      recorded: true,
    }
  }
  return { kind: 'crawl', path: k % 2 === 0 ? '/md' : '/html', body: { url: page }, expect: 200, recorded: true }
}

/** How many of bulk requests [0, n) are of each kind. */
export function countBulk(n: number): Record<BulkKind, number> {
  const out: Record<BulkKind, number> = { invalid: 0, refused: 0 }
  for (let i = 0; i < n; i++) out[bulkKindOf(i)]++
  return out
}
