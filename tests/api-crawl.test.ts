import { request as httpRequest, type IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CrawlRequestSchema, type CrawlResult } from '../src/shared/crawl-schemas.js'
import { ROOT_UNSANDBOXED_WARNING } from '../src/main/core/chromium/sandbox.js'
import type { EngineEvents } from '../src/main/core/events.js'
import { SPLIT_STRINGS_ABOVE } from '../src/main/http/json-chunks.js'
import { htmlToMarkdown } from '../src/main/core/crawl/markdown.js'
import { BATCH_CONCURRENCY, RESULT_WINDOW } from '../src/main/core/service/crawl-service.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/**
 * The crawl API end to end: the real engine (real Chromium) behind the real Koa door, driven
 * over HTTP with fetch, crawling only the local fixture site. One service for the whole file.
 */

let service: TestService
let fx: FixtureServer

beforeAll(async () => {
  // These tests count page slots: a fixed limit (the adaptive one: admission-adaptive.test.ts).
  ;[service, fx] = await Promise.all([startService({ max_pages: 4, adaptive_admission: false }), startFixtureServer()])
})

afterAll(async () => {
  await service?.close()
  await fx?.close()
})

type Started = EngineEvents['request:started']
type Finished = EngineEvents['request:finished']

/**
 * The request made since log index `since` emitted exactly one request:started and exactly one
 * request:finished, for `endpoint`, with `success` matching what really happened.
 */
async function expectTracked(since: number, endpoint: string, success: boolean): Promise<Finished> {
  const fresh = () => service.log.slice(since)
  await waitFor(() => fresh().some((e) => e.name === 'request:finished'), 15_000, `request:finished for ${endpoint}`)
  const started = fresh()
    .filter((e) => e.name === 'request:started')
    .map((e) => e.payload as Started)
  const finished = fresh()
    .filter((e) => e.name === 'request:finished')
    .map((e) => e.payload as Finished)
  expect(started).toHaveLength(1)
  expect(finished).toHaveLength(1)
  const s = started[0]!
  const f = finished[0]!
  expect(s.endpoint).toBe(endpoint)
  expect(f.endpoint).toBe(endpoint)
  expect(f.id).toBe(s.id)
  expect(f.success).toBe(success)
  return f
}

/** Rejects instead of hanging the test when `p` does not settle in time. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Reads NDJSON lines one at a time from a fetch body. */
function lineReader(res: Response): { next(): Promise<any | null>; cancel(): Promise<void> } {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  return {
    async next() {
      for (;;) {
        const nl = buffered.indexOf('\n')
        if (nl >= 0) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          if (line.trim() === '') continue
          return JSON.parse(line)
        }
        const { done, value } = await reader.read()
        if (done) {
          if (buffered.trim() !== '') throw new Error(`stream ended inside a line: ${buffered}`)
          return null
        }
        buffered += decoder.decode(value, { stream: true })
      }
    },
    cancel: () => reader.cancel().catch(() => undefined),
  }
}

function pngHeight(base64: string): number {
  const png = Buffer.from(base64, 'base64')
  return png.readUInt32BE(20)
}

function expectPng(base64: string | null | undefined): void {
  expect(typeof base64).toBe('string')
  const bytes = Buffer.from(base64 as string, 'base64')
  expect([...bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47])
  expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR')
}

function expectPdf(base64: string | null | undefined): void {
  expect(typeof base64).toBe('string')
  expect(
    Buffer.from(base64 as string, 'base64')
      .subarray(0, 5)
      .toString('latin1'),
  ).toBe('%PDF-')
}

describe('POST /crawl', () => {
  it('crawls one URL: html, cleaned html, markdown, links, metadata', async () => {
    const since = service.log.length
    const { status, body } = await service.postJson('/crawl', { urls: [fx.url('/')] })
    expect(status).toBe(200)
    expect(body.success).toBe(true)
    expect(body.results).toHaveLength(1)
    const r = body.results[0] as CrawlResult
    expect(r.url).toBe(fx.url('/'))
    expect(r.success, String(r.error_message)).toBe(true)
    expect(r.status_code).toBe(200)
    expect(r.error_message).toBeNull()
    expect(r.html).toContain(`<title>${FIXTURE_TEXT.homeTitle}</title>`)
    expect(r.html).toContain('<script>')
    expect(r.cleaned_html).toContain(FIXTURE_TEXT.homeUnique)
    expect(r.cleaned_html).not.toMatch(/<script/i)
    expect(r.markdown.raw_markdown).toContain(FIXTURE_TEXT.homeUnique)
    expect(r.markdown.raw_markdown).toMatch(new RegExp(`^#{1,6} ${FIXTURE_TEXT.homeHeading}`, 'm'))

    const internal = r.links.internal.map((l) => l.href)
    const external = r.links.external.map((l) => l.href)
    expect(internal).toContain(fx.url('/article'))
    expect(external).toContain('https://example.com/outside')
    for (const href of [...internal, ...external]) expect(href).toMatch(/^https?:\/\//)
    expect([...internal, ...external].some((h) => /^(mailto|javascript|tel):/i.test(h))).toBe(false)
    expect(internal.some((h) => h.includes('example.com'))).toBe(false)

    expect(r.metadata.title).toBe(FIXTURE_TEXT.homeTitle)
    expect(r.metadata.description).toBe(FIXTURE_TEXT.homeDescription)
    expect(r.metadata.social['og:title']).toBe('Fixture OG Title')
    expect(r.screenshot).toBeNull()
    expect(r.pdf).toBeNull()
    await expectTracked(since, '/crawl', true)
  })

  it("a large page's Markdown is converted on a worker thread: the same text the converter gives here", async () => {
    const before = service.runtime.markdown.stats()
    const { status, body } = await service.postJson('/crawl', { urls: [fx.url('/big?copies=4')] })
    expect(status).toBe(200)
    const r = body.results[0] as CrawlResult
    expect(r.success, String(r.error_message)).toBe(true)
    expect(r.cleaned_html.length).toBeGreaterThan(256 * 1024)
    expect(r.markdown.raw_markdown).toBe(htmlToMarkdown(r.cleaned_html))
    expect(r.markdown.raw_markdown.split(FIXTURE_TEXT.articleTableCell)).toHaveLength(5)
    expect(service.runtime.markdown.stats().offloaded).toBe(before.offloaded + 1)
  })

  it('an answer holding a string over 1 MB goes out in pieces (chunked, no Content-Length), the same JSON; a small one keeps its length', async () => {
    const big = await service.postJson('/md', { url: fx.url('/big?copies=15') })
    expect(big.status).toBe(200)
    expect(big.body.success).toBe(true)
    expect(big.body.markdown.length).toBeGreaterThan(SPLIT_STRINGS_ABOVE)
    expect(big.body.markdown.split(FIXTURE_TEXT.articleTableCell)).toHaveLength(16)
    expect(big.headers.get('content-length')).toBeNull()
    expect(big.headers.get('content-type')).toMatch(/^application\/json/)
    const small = await service.postJson('/md', { url: fx.url('/about') })
    expect(small.status).toBe(200)
    expect(Number(small.headers.get('content-length'))).toBeGreaterThan(0)
  })

  it('reports each URL in its own result, in input order, when some fail (404, page_timeout)', async () => {
    const urls = [fx.url('/about'), fx.url('/status/404'), fx.url('/hang'), fx.url('/')]
    const since = service.log.length
    // page_timeout is the whole budget of each URL (queue wait included): small enough to keep
    // /hang short, large enough that the real pages load on a busy 2-core machine.
    const { status, body } = await service.postJson('/crawl', { urls, crawler_config: { page_timeout: 20_000 } })
    expect(status).toBe(200)
    expect(body.success).toBe(false)
    const results = body.results as CrawlResult[]
    expect(results.map((r) => r.url)).toEqual(urls)
    const [about, notFound, hang, home] = results as [CrawlResult, CrawlResult, CrawlResult, CrawlResult]
    expect(about.success, String(about.error_message)).toBe(true)
    expect(about.status_code).toBe(200)
    expect(home.success, String(home.error_message)).toBe(true)
    expect(home.markdown.raw_markdown).toContain(FIXTURE_TEXT.homeUnique)
    expect(notFound.success).toBe(false)
    expect(notFound.status_code).toBe(404)
    expect(notFound.error_message).toEqual(expect.any(String))
    expect(notFound.error_message).toContain('404')
    expect(hang.success).toBe(false)
    expect(hang.error_message).toContain('page_timeout')
    const finished = await expectTracked(since, '/crawl', false)
    expect(finished.status_code).toBe(200)
  })

  it('writes each result as soon as it and those before it are done, not when the batch ends', async () => {
    const gate = fx.gate('crawl-progressive')
    const gateUrl = fx.url('/gate/crawl-progressive')
    const since = service.log.length
    const res = await service.postNow('/crawl', { urls: [fx.url('/about'), gateUrl] })
    try {
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      const decoder = new TextDecoder()
      let text = ''
      // The first result arrives while the second page is still held by the fixture server.
      await within(
        (async () => {
          while (!text.includes(gateUrl) && !(text.startsWith('{"results":[{') && text.endsWith('}'))) {
            const { value, done } = await reader.read()
            if (done) break
            text += decoder.decode(value, { stream: true })
          }
        })(),
        20_000,
        'the first result',
      )
      expect(text).not.toContain(gateUrl)
      const firstOnly = JSON.parse(`${text}]}`) as { results: CrawlResult[] }
      expect(firstOnly.results.map((r) => r.url)).toEqual([fx.url('/about')])
      expect(firstOnly.results[0]!.success).toBe(true)
      gate.release()
      for (;;) {
        const { value, done } = await within(reader.read(), 20_000, 'the rest of the answer')
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      const whole = JSON.parse(text) as { success: boolean; results: CrawlResult[] }
      expect(whole.success).toBe(true)
      expect(whole.results.map((r) => r.url)).toEqual([fx.url('/about'), gateUrl])
      expect(whole.results[1]!.markdown.raw_markdown).toContain('Gate crawl-progressive released')
    } finally {
      gate.release()
    }
    await service.runtime.crawler.settled()
    await expectTracked(since, '/crawl', true)
  })

  it(`holds at most ${RESULT_WINDOW} results: a held first URL stops the batch from starting more, then all arrive in order`, async () => {
    const gate = fx.gate('crawl-window')
    const gateUrl = fx.url('/gate/crawl-window')
    const rest = Array.from({ length: RESULT_WINDOW + BATCH_CONCURRENCY }, (_, i) => fx.url(`/about?window=${i}`))
    const aboutBefore = fx.hits('/about')
    const pending = service.postJson('/crawl', { urls: [gateUrl, ...rest] })
    try {
      await within(gate.reached, 20_000, 'gate reached')
      // The URLs after the held one fill the window, and their pages are done...
      await waitFor(() => fx.hits('/about') - aboutBefore === RESULT_WINDOW - 1 && service.runtime.admission.activeCount === 1, 30_000, 'the window filled')
      // ...then the workers wait for the door. A whole crawl made meanwhile gives them every
      // chance to start another URL; none does.
      const probe = await service.postJson('/md', { url: fx.url('/') })
      expect(probe.status).toBe(200)
      expect(fx.hits('/about') - aboutBefore).toBe(RESULT_WINDOW - 1)
    } finally {
      gate.release()
    }
    const { status, body } = await pending
    expect(status).toBe(200)
    expect(body.success).toBe(true)
    expect((body.results as CrawlResult[]).map((r) => r.url)).toEqual([gateUrl, ...rest])
    expect(fx.hits('/about') - aboutBefore).toBe(rest.length)
  })

  it('a batch whose caller goes away before reading anything still finishes: its workers are not left waiting for room', async () => {
    for (const op of ['crawl', 'crawlStream'] as const) {
      const urls = Array.from({ length: RESULT_WINDOW + BATCH_CONCURRENCY }, (_, i) => fx.url(`/about?unread=${op}-${i}`))
      const aboutBefore = fx.hits('/about')
      const finished = service.nextEvent('request:finished', (p) => p.url === urls[0], 60_000)
      const controller = new AbortController()
      // The engine's method, called as a door calls it, and never read: the worst case of a
      // client that disconnects between the status line and the first read.
      await service.runtime.service[op](CrawlRequestSchema.parse({ urls }), { signal: controller.signal, transport: 'http' })
      await waitFor(() => fx.hits('/about') - aboutBefore === RESULT_WINDOW && service.runtime.admission.activeCount === 0, 30_000, `${op}: the window to fill`)
      controller.abort()
      const event = await finished
      expect(event.success, op).toBe(false)
      await service.runtime.crawler.settled()
      expect(service.runtime.admission.activeCount, op).toBe(0)
    }
  })

  it('returns a base64 PNG screenshot and a base64 PDF when crawler_config asks', async () => {
    const { status, body } = await service.postJson('/crawl', { urls: [fx.url('/')], crawler_config: { screenshot: true, pdf: true } })
    expect(status).toBe(200)
    const r = body.results[0] as CrawlResult
    expect(r.success, String(r.error_message)).toBe(true)
    expectPng(r.screenshot)
    expectPdf(r.pdf)
  })

  it('restricts cleaned_html and markdown to css_selector', async () => {
    const { status, body } = await service.postJson('/crawl', { urls: [fx.url('/')], crawler_config: { css_selector: '#outside' } })
    expect(status).toBe(200)
    const r = body.results[0] as CrawlResult
    expect(r.success, String(r.error_message)).toBe(true)
    expect(r.cleaned_html).toContain('Example outside')
    expect(r.cleaned_html).not.toContain(FIXTURE_TEXT.homeUnique)
    expect(r.cleaned_html).not.toContain(FIXTURE_TEXT.homeHeading)
    expect(r.markdown.raw_markdown).toContain('Example outside')
    expect(r.markdown.raw_markdown).not.toContain(FIXTURE_TEXT.homeUnique)
    // html is still the whole page.
    expect(r.html).toContain(FIXTURE_TEXT.homeUnique)
  })

  it('waits for wait_for before extracting', async () => {
    const { status, body } = await service.postJson('/crawl', { urls: [fx.url('/js')], crawler_config: { wait_for: '#late' } })
    expect(status).toBe(200)
    const r = body.results[0] as CrawlResult
    expect(r.success, String(r.error_message)).toBe(true)
    expect(r.markdown.raw_markdown).toContain(FIXTURE_TEXT.jsLate)
    expect(r.markdown.raw_markdown).toContain(FIXTURE_TEXT.jsRendered)
  })

  it('follows redirects and reports where the page ended', async () => {
    const { status, body } = await service.postJson('/crawl', { urls: [fx.url('/redirect')] })
    expect(status).toBe(200)
    const r = body.results[0] as CrawlResult
    expect(r.url).toBe(fx.url('/redirect'))
    expect(r.success, String(r.error_message)).toBe(true)
    expect(r.redirected_url).toBe(fx.url('/'))
    expect(r.redirected_url?.endsWith('/')).toBe(true)
    expect(r.markdown.raw_markdown).toContain(FIXTURE_TEXT.homeUnique)
  })
})

describe('POST /crawl/stream', () => {
  it('answers NDJSON: one line per URL, then {"status":"completed"}', async () => {
    const urls = [fx.url('/'), fx.url('/status/404')]
    const since = service.log.length
    const res = await service.post('/crawl/stream', { urls })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    const text = await res.text()
    expect(text.endsWith('\n')).toBe(true)
    const lines = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines).toHaveLength(urls.length + 1)
    expect(lines.at(-1)).toEqual({ status: 'completed' })
    const results = lines.slice(0, -1) as unknown as CrawlResult[]
    expect(results.map((r) => r.url).sort()).toEqual([...urls].sort())
    const home = results.find((r) => r.url === fx.url('/'))!
    expect(home.success).toBe(true)
    expect(home.markdown.raw_markdown).toContain(FIXTURE_TEXT.homeUnique)
    const notFound = results.find((r) => r.url === fx.url('/status/404'))!
    expect(notFound.success).toBe(false)
    expect(notFound.status_code).toBe(404)
    await expectTracked(since, '/crawl/stream', false)
  })

  it('sends each line as its URL finishes, not when the batch ends', async () => {
    const gate = fx.gate('stream-order')
    const gateUrl = fx.url('/gate/stream-order')
    const others = [fx.url('/about'), fx.url('/')]
    const since = service.log.length
    const res = await service.post('/crawl/stream', { urls: [gateUrl, ...others] })
    expect(res.status).toBe(200)
    const lines = lineReader(res)
    try {
      const first = await within(lines.next(), 20_000, 'first stream line')
      const second = await within(lines.next(), 20_000, 'second stream line')
      // Both arrived while the gated page was still held by the fixture server.
      await within(gate.reached, 5_000, 'gate reached')
      expect([first?.url, second?.url].sort()).toEqual([...others].sort())
      expect(first.success).toBe(true)
      expect(second.success).toBe(true)
      gate.release()
      const third = await within(lines.next(), 20_000, 'gated line')
      expect(third.url).toBe(gateUrl)
      expect(third.success).toBe(true)
      expect(third.markdown.raw_markdown).toContain('Gate stream-order released')
      expect(await within(lines.next(), 10_000, 'completed line')).toEqual({ status: 'completed' })
      expect(await within(lines.next(), 10_000, 'end of stream')).toBeNull()
    } finally {
      gate.release()
      await lines.cancel()
    }
    await expectTracked(since, '/crawl/stream', true)
  })

  it('a client that stops reading stops the batch: it starts no more URLs than the window and the socket hold', async () => {
    // ~1 MB pages, so each NDJSON line (html, cleaned html, Markdown) is ~3 MB and the socket
    // buffers hold only a few of them.
    const urls = Array.from({ length: 24 }, (_, i) => fx.url(`/big?copies=10&slow-client=${i}`))
    const bigBefore = fx.hits('/big')
    const crawled = () => fx.hits('/big') - bigBefore
    const finished = service.nextEvent('request:finished', (p) => p.endpoint === '/crawl/stream' && p.url === urls[0], 170_000)
    const body = JSON.stringify({ urls })
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        `${service.url}/crawl/stream`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        resolve,
      )
      req.on('error', reject)
      req.end(body)
    })
    try {
      expect(res.statusCode).toBe(200)
      // Read nothing: the socket fills and the door stops taking lines.
      res.pause()
      const stalled = () => service.runtime.admission.activeCount === 0 && crawled() >= RESULT_WINDOW
      await waitFor(stalled, 60_000, 'the batch to stall')
      const atStall = crawled()
      // A whole crawl made meanwhile gives the workers every chance to start another URL.
      expect((await service.postJson('/md', { url: fx.url('/') })).status).toBe(200)
      await waitFor(stalled, 10_000, 'the batch still stalled')
      expect(crawled()).toBe(atStall)
      expect(atStall, `URLs crawled while the client read nothing`).toBeLessThan(urls.length)
      // Reading again lets the batch finish: every line arrives, then the completed line.
      const text = await new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        res.on('error', reject)
        res.resume()
      })
      const lines = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as CrawlResult & { status?: string })
      expect(lines.at(-1)).toEqual({ status: 'completed' })
      expect(
        lines
          .slice(0, -1)
          .map((r) => r.url)
          .sort(),
      ).toEqual([...urls].sort())
      expect(lines.slice(0, -1).every((r) => r.success)).toBe(true)
      expect(crawled()).toBe(urls.length)
    } finally {
      res.destroy()
    }
    expect((await finished).success).toBe(true)
  }, 180_000)
})

describe('single-URL endpoints', () => {
  it('POST /md returns the markdown of the page', async () => {
    const since = service.log.length
    const { status, body } = await service.postJson('/md', { url: fx.url('/') })
    expect(status).toBe(200)
    expect(body.url).toBe(fx.url('/'))
    expect(body.success).toBe(true)
    expect(body.markdown).toContain(FIXTURE_TEXT.homeUnique)
    expect(body.markdown).toMatch(new RegExp(`^#{1,6} ${FIXTURE_TEXT.homeHeading}`, 'm'))
    await expectTracked(since, '/md', true)
  })

  it('POST /html returns cleaned HTML', async () => {
    const since = service.log.length
    const { status, body } = await service.postJson('/html', { url: fx.url('/') })
    expect(status).toBe(200)
    expect(body.success).toBe(true)
    expect(body.html).toContain(FIXTURE_TEXT.homeUnique)
    expect(body.html).not.toMatch(/<script/i)
    expect(body.html).not.toContain('onclick')
    expect(body.html).not.toContain('a comment that must not reach cleaned_html')
    await expectTracked(since, '/html', true)
  })

  it('POST /screenshot returns a PNG: viewport-high by default, taller with full_page', async () => {
    let since = service.log.length
    const viewport = await service.postJson('/screenshot', { url: fx.url('/article') })
    expect(viewport.status).toBe(200)
    expect(viewport.body.success).toBe(true)
    expectPng(viewport.body.screenshot)
    expect(pngHeight(viewport.body.screenshot)).toBe(720)
    await expectTracked(since, '/screenshot', true)

    since = service.log.length
    const full = await service.postJson('/screenshot', { url: fx.url('/article'), full_page: true })
    expect(full.status).toBe(200)
    expectPng(full.body.screenshot)
    expect(pngHeight(full.body.screenshot)).toBeGreaterThan(720)
    await expectTracked(since, '/screenshot', true)
  })

  it('POST /pdf returns a PDF', async () => {
    const since = service.log.length
    const { status, body } = await service.postJson('/pdf', { url: fx.url('/') })
    expect(status).toBe(200)
    expect(body.url).toBe(fx.url('/'))
    expect(body.success).toBe(true)
    expectPdf(body.pdf)
    await expectTracked(since, '/pdf', true)
  })

  it('answers 502 with {error, code} when the page answers HTTP 500', async () => {
    const since = service.log.length
    const { status, body } = await service.postJson('/md', { url: fx.url('/status/500') })
    expect(status).toBe(502)
    expect(body.code).toBe('crawl_failed')
    expect(body.error).toContain('500')
    const finished = await expectTracked(since, '/md', false)
    expect(finished.status_code).toBe(502)
    expect(finished.aborted).toBe(false)
  })

  it('answers 504 crawl_timeout when the page outlives page_timeout', async () => {
    const since = service.log.length
    const { status, body } = await service.postJson('/html', { url: fx.url('/hang'), crawler_config: { page_timeout: 300 } })
    expect(status).toBe(504)
    expect(body.code).toBe('crawl_timeout')
    expect(body.error).toContain('page_timeout')
    const finished = await expectTracked(since, '/html', false)
    expect(finished.status_code).toBe(504)
  })
})

describe('GET /health', () => {
  it('reports ok with version, uptime and the permanent browser', async () => {
    const { status, body } = await service.get('/health')
    expect(status).toBe(200)
    expect(body.status).toBe('ok')
    // Tests often run as root, where browsers cannot be sandboxed and /health says so (tests/sandbox.test.ts).
    expect(body.problems).toEqual(process.getuid?.() === 0 ? [ROOT_UNSANDBOXED_WARNING] : [])
    expect(body.version).toEqual(expect.any(String))
    expect(body.version.length).toBeGreaterThan(0)
    expect(body.uptime_seconds).toBeGreaterThan(0)
    expect(body.permanent_browser.state).toBe('up')
    expect(body.permanent_browser.pid).toEqual(expect.any(Number))
  })
})

describe('clients that go away', () => {
  async function expectIdle(): Promise<void> {
    await waitFor(() => service.runtime.pool.list().every((b) => b.leases === 0), 15_000, 'every lease released')
    await waitFor(() => service.runtime.admission.activeCount === 0, 15_000, 'no admission slot held')
    expect(service.runtime.admission.queuedCount).toBe(0)
  }

  it('POST /crawl aborted while the page is held: finished as aborted (499), lease and slot returned', async () => {
    const gate = fx.gate('abort-crawl')
    const gateUrl = fx.url('/gate/abort-crawl')
    const since = service.log.length
    const finished = service.nextEvent('request:finished', (p) => p.endpoint === '/crawl' && p.url === gateUrl, 20_000)
    const controller = new AbortController()
    const pending = service.post('/crawl', { urls: [gateUrl] }, { signal: controller.signal }).then(
      (res) => ({ res, error: null }),
      (error: unknown) => ({ res: null, error }),
    )
    try {
      await within(gate.reached, 20_000, 'gate reached')
      // The page is mid-navigation and holds a lease and a slot.
      expect(service.runtime.admission.activeCount).toBeGreaterThan(0)
      expect(service.runtime.pool.list().some((b) => b.leases > 0)).toBe(true)
      controller.abort()
      const outcome = await pending
      expect(outcome.res).toBeNull()
      const event = await finished
      expect(event.aborted).toBe(true)
      expect(event.status_code).toBe(499)
      expect(event.success).toBe(false)
      await expectIdle()
      await expectTracked(since, '/crawl', false)
    } finally {
      gate.release()
    }
  })

  it('POST /crawl of four held URLs aborted: the request finishes only once none of its crawls is still running', async () => {
    const names = [1, 2, 3, 4].map((n) => `abort-batch-${n}`)
    const gates = names.map((name) => fx.gate(name))
    const urls = names.map((name) => fx.url(`/gate/${name}`))
    // What the pool holds at the moment the request is reported finished.
    let servingAtFinish: number | null = null
    const off = service.runtime.events.on('request:finished', (p) => {
      if (p.endpoint === '/crawl' && p.url === urls[0]) servingAtFinish = service.runtime.pool.list().reduce((n, b) => n + b.servingLeases, 0)
    })
    const controller = new AbortController()
    const pending = service.post('/crawl', { urls }, { signal: controller.signal }).catch(() => null)
    try {
      await within(Promise.all(gates.map((g) => g.reached)), 20_000, 'all four gates reached')
      controller.abort()
      await pending
      await waitFor(() => servingAtFinish !== null, 20_000, 'the batch to finish')
      expect(servingAtFinish).toBe(0)
      await expectIdle()
    } finally {
      off()
      for (const g of gates) g.release()
    }
  })

  it('POST /crawl/stream aborted mid-batch: finished as aborted, leases and slots returned', async () => {
    const gate = fx.gate('abort-stream')
    const gateUrl = fx.url('/gate/abort-stream')
    const since = service.log.length
    const finished = service.nextEvent('request:finished', (p) => p.endpoint === '/crawl/stream' && p.url === gateUrl, 20_000)
    const controller = new AbortController()
    try {
      const res = await service.post('/crawl/stream', { urls: [gateUrl, fx.url('/about')] }, { signal: controller.signal })
      expect(res.status).toBe(200)
      const lines = lineReader(res)
      const first = await within(lines.next(), 20_000, 'first stream line')
      expect(first.url).toBe(fx.url('/about'))
      await within(gate.reached, 10_000, 'gate reached')
      controller.abort()
      await lines.cancel()
      const event = await finished
      expect(event.aborted).toBe(true)
      expect(event.status_code).toBe(499)
      expect(event.success).toBe(false)
      await expectIdle()
      await expectTracked(since, '/crawl/stream', false)
    } finally {
      gate.release()
    }
  })

  it('POST /md aborted while the page is held: finished as aborted, lease and slot returned', async () => {
    const gate = fx.gate('abort-md')
    const gateUrl = fx.url('/gate/abort-md')
    const since = service.log.length
    const finished = service.nextEvent('request:finished', (p) => p.endpoint === '/md' && p.url === gateUrl, 20_000)
    const controller = new AbortController()
    const pending = service.post('/md', { url: gateUrl }, { signal: controller.signal }).catch((error: unknown) => error)
    try {
      await within(gate.reached, 20_000, 'gate reached')
      controller.abort()
      await pending
      const event = await finished
      expect(event.aborted).toBe(true)
      expect(event.status_code).toBe(499)
      await expectIdle()
      await expectTracked(since, '/md', false)
    } finally {
      gate.release()
    }
  })

  it('the service still crawls after clients went away', async () => {
    const { status, body } = await service.postJson('/md', { url: fx.url('/about') })
    expect(status).toBe(200)
    expect(body.markdown).toContain('We crawl.')
  })
})

describe('request events over the whole file', () => {
  it('every request emitted exactly one request:started and one request:finished', () => {
    const started = service.eventsOf('request:started')
    const finished = service.eventsOf('request:finished')
    expect(started.length).toBeGreaterThan(10)
    expect(finished.length).toBe(started.length)
    const endpoints = new Set(started.map((s) => s.endpoint))
    for (const e of ['/crawl', '/crawl/stream', '/md', '/html', '/screenshot', '/pdf']) expect(endpoints).toContain(e)
    for (const s of started) {
      const mine = finished.filter((f) => f.id === s.id)
      expect(mine, `finished events of ${s.endpoint} ${s.url}`).toHaveLength(1)
      expect(mine[0]!.endpoint).toBe(s.endpoint)
    }
  })
})
