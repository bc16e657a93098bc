import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'

/**
 * Bad input at the HTTP door: every one gets a 4xx JSON `{error, code, details?}` (never a 5xx,
 * never a crash), and the service keeps answering. One service for the whole file.
 */

const BODY_LIMIT = 10_000
const MAX_PAGE_TIMEOUT = 30_000

let service: TestService
let fx: FixtureServer

beforeAll(async () => {
  ;[service, fx] = await Promise.all([
    startService({ body_limit_bytes: BODY_LIMIT, max_page_timeout_ms: MAX_PAGE_TIMEOUT, max_pages: 2 }),
    startFixtureServer(),
  ])
})

afterAll(async () => {
  await service?.close()
  await fx?.close()
})

// Whatever a test sent, the service still answers /health afterwards with its browser up.
// (Not asserting 'ok': memory pressure from other work on a shared machine may say 'degraded'.)
afterEach(async () => {
  if (!service) return
  const { status, body } = await service.get('/health')
  expect(status).toBe(200)
  expect(body.permanent_browser.state).toBe('up')
  // A crawl's slot comes back once its context has closed, just after its answer.
  await service.runtime.crawler.settled()
  expect(service.runtime.admission.activeCount).toBe(0)
})

interface ErrorReply {
  status: number
  body: { error: string; code: string; details?: Array<{ path: string; message: string }> }
  headers: Headers
}

/** Sends raw bytes with a chosen content type and reads the JSON answer. */
async function send(
  method: string,
  path: string,
  init: { body?: BodyInit; contentType?: string | null; headers?: Record<string, string> } = {},
): Promise<ErrorReply> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.contentType) headers['content-type'] = init.contentType
  const res = await fetch(service.url + path, { method, headers, body: init.body, ...(isStream(init.body) ? { duplex: 'half' } : {}) } as RequestInit)
  return readReply(res)
}

function isStream(body: unknown): boolean {
  return typeof body === 'object' && body !== null && typeof (body as ReadableStream).getReader === 'function'
}

async function readReply(res: Response): Promise<ErrorReply> {
  const text = await res.text()
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    throw new Error(`HTTP ${res.status} with a body that is not JSON (content-type ${res.headers.get('content-type')}): ${text.slice(0, 300)}`)
  }
  return { status: res.status, body, headers: res.headers }
}

/** A 4xx with the error shape every door promises. */
function expectClientError(reply: ErrorReply, status: number, code?: string): void {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status)
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
  expect(reply.body.error).toEqual(expect.any(String))
  expect(reply.body.error.length).toBeGreaterThan(0)
  expect(reply.body.code).toEqual(expect.any(String))
  if (code) expect(reply.body.code).toBe(code)
  expect(reply.body).not.toHaveProperty('stack')
}

/** A schema error: 400 invalid_input with details [{path, message}]; returns the details. */
function expectSchemaError(reply: ErrorReply): Array<{ path: string; message: string }> {
  expectClientError(reply, 400, 'invalid_input')
  expect(Array.isArray(reply.body.details)).toBe(true)
  const details = reply.body.details!
  expect(details.length).toBeGreaterThan(0)
  for (const d of details) {
    expect(d.path).toEqual(expect.any(String))
    expect(d.message).toEqual(expect.any(String))
  }
  return details
}

async function postJson(path: string, body: unknown): Promise<ErrorReply> {
  return send('POST', path, { body: JSON.stringify(body), contentType: 'application/json' })
}

const okUrl = () => fx.url('/')

describe('bodies that are not JSON', () => {
  it('broken JSON text with content-type application/json -> 400 invalid_json', async () => {
    const reply = await send('POST', '/crawl', { body: '{"urls": ["http://127.0.0.1/"', contentType: 'application/json' })
    expectClientError(reply, 400, 'invalid_json')
  })

  it('a JSON value that is not an object (strict JSON) -> 400', async () => {
    expectClientError(await send('POST', '/crawl', { body: '"http://127.0.0.1/"', contentType: 'application/json' }), 400)
    expectClientError(await send('POST', '/md', { body: 'null', contentType: 'application/json' }), 400)
    expectSchemaError(await send('POST', '/crawl', { body: '[1, 2]', contentType: 'application/json' }))
  })

  it('a form body -> 415', async () => {
    const reply = await send('POST', '/crawl', { body: new URLSearchParams({ urls: okUrl() }).toString(), contentType: 'application/x-www-form-urlencoded' })
    expectClientError(reply, 415)
  })

  it('a text body -> 415', async () => {
    expectClientError(await send('POST', '/md', { body: JSON.stringify({ url: okUrl() }), contentType: 'text/plain' }), 415)
  })

  it('an empty body -> 400 (with and without a JSON content type)', async () => {
    const withType = expectSchemaError(await send('POST', '/crawl', { body: '', contentType: 'application/json' }))
    expect(withType.map((d) => d.path)).toContain('urls')
    const withoutType = expectSchemaError(await send('POST', '/md', {}))
    expect(withoutType.map((d) => d.path)).toContain('url')
  })

  it(`a body above body_limit_bytes (${BODY_LIMIT}) -> 413, with or without Content-Length`, async () => {
    const big = { urls: [okUrl()], crawler_config: { css_selector: `#${'x'.repeat(20_000)}` } }
    const text = JSON.stringify(big)
    expect(Buffer.byteLength(text)).toBeGreaterThan(2 * BODY_LIMIT - 1000)
    expectClientError(await send('POST', '/crawl', { body: text, contentType: 'application/json' }), 413)
    // Chunked: no Content-Length up front, the parser has to stop at the limit itself.
    const bytes = new TextEncoder().encode(text)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.subarray(i, i + 4096))
        controller.close()
      },
    })
    expectClientError(await send('POST', '/crawl', { body: stream, contentType: 'application/json' }), 413)
  })
})

describe('urls', () => {
  it('missing -> 400 at path urls', async () => {
    const details = expectSchemaError(await postJson('/crawl', {}))
    expect(details[0]!.path).toBe('urls')
  })

  it('empty array -> 400 at path urls', async () => {
    const details = expectSchemaError(await postJson('/crawl', { urls: [] }))
    expect(details[0]!.path).toBe('urls')
    expect(details[0]!.message).toMatch(/at least one/i)
  })

  it('101 URLs -> 400 at path urls', async () => {
    const urls = Array.from({ length: 101 }, (_, i) => fx.url(`/status/200?i=${i}`))
    const details = expectSchemaError(await postJson('/crawl', { urls }))
    expect(details[0]!.path).toBe('urls')
    expect(details[0]!.message).toMatch(/100/)
    expect(fx.hits('/status/200')).toBe(0)
  })

  it('not an array -> 400 at path urls', async () => {
    expect(expectSchemaError(await postJson('/crawl', { urls: okUrl() }))[0]!.path).toBe('urls')
    expect(expectSchemaError(await postJson('/crawl', { urls: { 0: okUrl() } }))[0]!.path).toBe('urls')
  })

  it('numbers -> 400 at path urls.N', async () => {
    const details = expectSchemaError(await postJson('/crawl', { urls: [1, 2] }))
    expect(details.map((d) => d.path)).toEqual(['urls.0', 'urls.1'])
  })

  const refused: Array<[string, RegExp]> = [
    ['file:///etc/passwd', /file:/],
    ['chrome://version', /chrome:/],
    ['javascript:alert(1)', /javascript:/],
    ['data:text/html,hi', /data:/],
    ['ftp://x', /ftp:/],
    ['not a url', /not a valid absolute URL/],
  ]
  for (const [url, names] of refused) {
    it(`refuses ${url} on /crawl (urls.0) and /md (url)`, async () => {
      const crawl = expectSchemaError(await postJson('/crawl', { urls: [url] }))
      expect(crawl[0]!.path).toBe('urls.0')
      expect(crawl[0]!.message).toMatch(names)
      const md = expectSchemaError(await postJson('/md', { url }))
      expect(md[0]!.path).toBe('url')
      expect(md[0]!.message).toMatch(names)
    })
  }

  it('a bad URL after good ones is reported at its own index and nothing is crawled', async () => {
    const before = fx.hits('/about')
    const details = expectSchemaError(await postJson('/crawl/stream', { urls: [fx.url('/about'), 'file:///etc/passwd'] }))
    expect(details[0]!.path).toBe('urls.1')
    expect(fx.hits('/about')).toBe(before)
  })
})

describe('configs', () => {
  it('an unknown top-level key -> 400', async () => {
    const details = expectSchemaError(await postJson('/crawl', { urls: [okUrl()], bogus: 1 }))
    expect(JSON.stringify(details)).toContain('bogus')
    expectSchemaError(await postJson('/md', { url: okUrl(), urls: [okUrl()] }))
  })

  it('wrong types in browser_config / crawler_config -> 400 at the right path', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ browser_config: { viewport_width: 'big' } }, 'browser_config.viewport_width'],
      [{ crawler_config: { page_timeout: -1 } }, 'crawler_config.page_timeout'],
      [{ crawler_config: { wait_until: 'soon' } }, 'crawler_config.wait_until'],
      [{ browser_config: { headless: 'yes' } }, 'browser_config.headless'],
      [{ browser_config: { bogus: true } }, 'browser_config'],
      [{ crawler_config: 'fast' }, 'crawler_config'],
    ]
    for (const [extra, path] of cases) {
      const details = expectSchemaError(await postJson('/crawl', { urls: [okUrl()], ...extra }))
      expect(
        details.map((d) => d.path),
        JSON.stringify(extra),
      ).toContain(path)
      const md = expectSchemaError(await postJson('/md', { url: okUrl(), ...extra }))
      expect(
        md.map((d) => d.path),
        JSON.stringify(extra),
      ).toContain(path)
    }
  })

  it('js_code without allow_js_code -> 400 mentioning --allow-js-code', async () => {
    for (const path of ['/crawl', '/crawl/stream']) {
      const reply = await postJson(path, { urls: [okUrl()], crawler_config: { js_code: 'document.title' } })
      const details = expectSchemaError(reply)
      expect(details[0]!.path).toBe('crawler_config.js_code')
      expect(reply.body.error).toContain('--allow-js-code')
    }
    const md = await postJson('/md', { url: okUrl(), crawler_config: { js_code: ['1 + 1'] } })
    expectSchemaError(md)
    expect(md.body.error).toContain('--allow-js-code')
  })

  it(`page_timeout above max_page_timeout_ms (${MAX_PAGE_TIMEOUT}) -> 400`, async () => {
    const reply = await postJson('/crawl', { urls: [okUrl()], crawler_config: { page_timeout: MAX_PAGE_TIMEOUT + 1 } })
    const details = expectSchemaError(reply)
    expect(details[0]!.path).toBe('crawler_config.page_timeout')
    expect(details[0]!.message).toContain(String(MAX_PAGE_TIMEOUT))
    expectSchemaError(await postJson('/pdf', { url: okUrl(), crawler_config: { page_timeout: MAX_PAGE_TIMEOUT + 1 } }))
  })

  it(`requests that do not set page_timeout are served although max_page_timeout_ms (${MAX_PAGE_TIMEOUT}) is below the default`, async () => {
    const md = await postJson('/md', { url: okUrl() })
    expect(md.status, JSON.stringify(md.body)).toBe(200)
    const crawl = await postJson('/crawl', { urls: [okUrl()] })
    expect(crawl.status, JSON.stringify(crawl.body)).toBe(200)
  })

  it('an invalid css_selector: 400 from /md, a failed result (not a 5xx) from /crawl', async () => {
    const md = await postJson('/md', { url: okUrl(), crawler_config: { css_selector: 'div[[' } })
    const details = expectSchemaError(md)
    expect(details[0]!.path).toBe('crawler_config.css_selector')
    expect(md.body.error).toContain('div[[')

    const crawl = await postJson('/crawl', { urls: [okUrl()], crawler_config: { css_selector: 'div[[' } })
    expect(crawl.status).toBe(200)
    const body = crawl.body as unknown as { success: boolean; results: CrawlResult[] }
    expect(body.success).toBe(false)
    expect(body.results).toHaveLength(1)
    expect(body.results[0]!.success).toBe(false)
    expect(body.results[0]!.error_message).toContain('css_selector')
  })

  it("accepts Crawl4AI's typed form {type, params}", async () => {
    const reply = await postJson('/crawl', {
      urls: [okUrl()],
      browser_config: { type: 'BrowserConfig', params: { headless: true } },
      crawler_config: { type: 'CrawlerRunConfig', params: { css_selector: 'main' } },
    })
    expect(reply.status, JSON.stringify(reply.body)).toBe(200)
    const body = reply.body as unknown as { success: boolean; results: CrawlResult[] }
    expect(body.success).toBe(true)
    expect(body.results[0]!.markdown.raw_markdown).toContain(FIXTURE_TEXT.homeUnique)
    expect(body.results[0]!.markdown.raw_markdown).not.toContain('Example outside')
    // The typed form is validated like the plain one.
    const bad = expectSchemaError(await postJson('/md', { url: okUrl(), browser_config: { type: 'BrowserConfig', params: { viewport_width: 'big' } } }))
    expect(bad.map((d) => d.path)).toContain('browser_config.viewport_width')
  })

  it('__proto__ in the body does not pollute Object.prototype', async () => {
    // Refused (400: the JSON parser rejects prototype keys, or the strict schema calls them
    // unknown) or ignored (200): never a 5xx, never a polluted prototype.
    const bodies = [
      `{"__proto__": {"polluted": true}, "urls": [${JSON.stringify(okUrl())}]}`,
      `{"urls": [${JSON.stringify(okUrl())}], "browser_config": {"__proto__": {"polluted": true}}}`,
      `{"urls": [${JSON.stringify(okUrl())}], "crawler_config": {"constructor": {"prototype": {"polluted": true}}}}`,
    ]
    for (const raw of bodies) {
      const reply = await send('POST', '/crawl', { body: raw, contentType: 'application/json' })
      if (reply.status !== 200) {
        expectClientError(reply, 400)
        expect(['invalid_json', 'invalid_input']).toContain(reply.body.code)
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })
})

describe('routes', () => {
  it('an unknown route -> 404 JSON', async () => {
    expectClientError(await send('GET', '/nope'), 404, 'not_found')
    expectClientError(await postJson('/crawl/nope', { urls: [okUrl()] }), 404, 'not_found')
  })

  it('a wrong method on a known route -> 405 JSON with Allow', async () => {
    const get = await send('GET', '/crawl')
    expectClientError(get, 405, 'method_not_allowed')
    expect(get.headers.get('allow')).toContain('POST')
    const post = await postJson('/health', {})
    expectClientError(post, 405, 'method_not_allowed')
    expect(post.headers.get('allow')).toContain('GET')
    // A method the router does not know at all is the client's mistake too: 4xx, not 501.
    const purge = await send('PURGE', '/md')
    expectClientError(purge, 405, 'method_not_allowed')
    expect(purge.headers.get('allow')).toContain('POST')
  })

  it('GET /health with unknown query parameters: ignored (a cache-buster must not fail a probe)', async () => {
    const r = await send('GET', '/health?bogus=1&_=1733300000000')
    expect([200, 503]).toContain(r.status)
  })
})
