import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, type TestService } from './helpers/service.js'
import { extractionExample, plainFormExample, typedFormExample } from './helpers/crawl4ai-examples.js'

/*
 * Crawl4AI's config forms through the real HTTP door and the real engine: the reference's
 * examples crawl a fixture page, warnings reach the results, refusals are 400s naming the field,
 * /schema and /config/dump answer in Crawl4AI's dump form, and a dump posts back to /crawl.
 */

let fx: FixtureServer
let s: TestService

beforeAll(async () => {
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ prewarm_pages: 0 })])
})

afterAll(async () => {
  await Promise.all([s?.close(), fx?.close()])
})

interface Result {
  url: string
  success: boolean
  warnings: string[]
  html: string
}
interface ErrorBody {
  code: string
  error: string
  details: Array<{ path: string; message: string }>
}

async function crawlOk(body: Record<string, unknown>): Promise<Result[]> {
  const { status, body: answer } = await s.postJson<{ success: boolean; results: Result[] }>('/crawl', body)
  expect(status, JSON.stringify(answer).slice(0, 500)).toBe(200)
  expect(answer.results.every((r) => r.success)).toBe(true)
  return answer.results
}

async function refused(path: string, body: unknown): Promise<ErrorBody['details']> {
  const { status, body: answer } = await s.postJson<ErrorBody>(path, body)
  expect(status, JSON.stringify(answer).slice(0, 500)).toBe(400)
  expect(answer.code).toBe('invalid_input')
  return answer.details
}

describe("the reference's examples (§2.3) against a fixture page", () => {
  it('the plain form: crawled, cache_mode bypass taken without a warning', async () => {
    const results = await crawlOk(plainFormExample([fx.url('/article'), fx.url('/about')]))
    expect(results).toHaveLength(2)
    for (const r of results) expect(r).toMatchObject({ warnings: [], cache_status: null, cached_at: null })
  })

  it('the typed form with a markdown generator and a content filter', async () => {
    const [r] = await crawlOk(typedFormExample([fx.url('/article')]))
    // cache_mode enabled: the cache was read (a miss) and written.
    expect(r).toMatchObject({ warnings: [], cache_status: 'miss' })
  })

  it('the extraction strategy, its schema wrapped as a dict', async () => {
    const [r] = await crawlOk(extractionExample([fx.url('/')]))
    expect(r!.success).toBe(true)
  })
})

describe('refusals over HTTP', () => {
  it('a refused type, a refused parameter, an unknown type and an unknown name: each a 400 naming the field', async () => {
    expect(await refused('/crawl', { urls: [fx.url('/')], crawler_config: { extraction_strategy: { type: 'LLMExtractionStrategy', params: {} } } })).toEqual([
      {
        path: 'crawler_config.extraction_strategy.type',
        message:
          "type 'LLMExtractionStrategy' may not be constructed from a request: no LLM is configured on this server, and API keys are never taken from a request",
      },
    ])
    expect(await refused('/crawl', { urls: [fx.url('/')], browser_config: { cdp_url: 'ws://127.0.0.1:9222' } })).toEqual([
      { path: 'browser_config.cdp_url', message: 'cdp_url may not be set from a request: connecting to another browser is not offered' },
    ])
    expect((await refused('/md', { url: fx.url('/'), crawler_config: { scraping_strategy: { type: 'Mystery', params: {} } } }))[0]!.message).toMatch(
      /unknown type 'Mystery'/,
    )
    expect(await refused('/crawl', { urls: [fx.url('/')], crawler_config: { type: 'CrawlerRunConfig', params: { screenshoot: true } } })).toEqual([
      { path: 'crawler_config', message: 'unknown parameter "screenshoot": CrawlerRunConfig has no such parameter' },
    ])
    expect((await refused('/crawl', { urls: [fx.url('/')], warnings: ['mine'] }))[0]!.path).toBe('warnings')
  })

  it('hostile bodies (deep nesting, huge arrays) are a 400, and the service goes on serving', async () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`
    const body = `{"urls":["${fx.url('/')}"],"crawler_config":{"extraction_strategy":${deep}}}`
    const r = await fetch(`${s.url}/crawl`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(r.status).toBe(400)
    expect(((await r.json()) as ErrorBody).details[0]!.message).toMatch(/nested more than 32 levels deep/)
    const wide = await refused('/crawl', { urls: [fx.url('/')], crawler_config: { excluded_tags: new Array(60_000).fill('p') } })
    expect(wide[0]!.message).toMatch(/too large/)
    await crawlOk({ urls: [fx.url('/about')] })
  })
})

describe('/schema and /config/dump', () => {
  it("GET /schema: crawldeck's defaults in Crawl4AI's dump form", async () => {
    const { status, body } = await s.get<{
      browser: { type: string; params: Record<string, unknown> }
      crawler: { type: string; params: Record<string, unknown> }
    }>('/schema')
    expect(status).toBe(200)
    expect(body.browser).toEqual({
      type: 'BrowserConfig',
      params: { viewport_width: 1280, viewport_height: 720, user_agent: null, ignore_https_errors: false },
    })
    expect(body.crawler.type).toBe('CrawlerRunConfig')
    expect(body.crawler.params).toMatchObject({ delay_before_return_html: 0 })
    const posted = await crawlOk({ urls: [fx.url('/about')], browser_config: body.browser, crawler_config: body.crawler })
    expect(posted[0]!.warnings).toEqual([])
  })

  it('GET /schema also says what this server does with every parameter, for editors (the Playground)', async () => {
    const { body } = await s.get<{ docs: Record<'browser' | 'crawler', Array<{ name: string; kind: string; doc: string }>> }>('/schema')
    const crawler = new Map(body.docs.crawler.map((d) => [d.name, d]))
    const browser = new Map(body.docs.browser.map((d) => [d.name, d]))
    // One entry per parameter Crawl4AI's classes take, each with a sentence.
    expect(crawler.size).toBeGreaterThan(60)
    expect(browser.size).toBeGreaterThan(20)
    for (const d of [...crawler.values(), ...browser.values()]) expect(d.doc.length, d.name).toBeGreaterThan(5)
    // This server's default where it differs from Crawl4AI's, and what it refuses or ignores, and why.
    expect(crawler.get('delay_before_return_html')).toMatchObject({ kind: 'implemented', doc: expect.stringContaining('default 0') })
    expect(browser.get('viewport_width')).toMatchObject({ kind: 'implemented', doc: expect.stringContaining('default 1280') })
    expect([...crawler.values()].some((d) => d.kind === 'refused' && d.doc.startsWith('Refused (400): '))).toBe(true)
    expect([...crawler.values()].some((d) => d.kind === 'ignored' && d.doc.startsWith('Accepted with no effect'))).toBe(true)
  })

  it('POST /config/dump: normalised, with warnings; extra keys ignored; the dump posts back to /crawl', async () => {
    const { status, body } = await s.postJson<{ type: string; params: Record<string, unknown>; warnings: string[] }>('/config/dump', {
      type: 'CrawlerRunConfig',
      code: 'CrawlerRunConfig(js_code="alert(1)")',
      params: {
        css_selector: 'article',
        wait_for: 'css:article',
        check_robots_txt: true,
        markdown_generator: { type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'PruningContentFilter', params: {} } } },
      },
    })
    expect(status).toBe(200)
    expect(body.type).toBe('CrawlerRunConfig')
    expect(body.params).toMatchObject({
      css_selector: 'article',
      wait_for: 'css:article',
      markdown_generator: { type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'PruningContentFilter' } } },
    })
    expect(body.params).not.toHaveProperty('check_robots_txt')
    expect(body.warnings).toEqual(['params.check_robots_txt: accepted but has no effect on this server (robots.txt is not consulted)'])
    const [r] = await crawlOk({ urls: [fx.url('/article')], crawler_config: { type: body.type, params: body.params } })
    expect(r!.warnings).toEqual([])

    const browser = await s.postJson<{ type: string; params: Record<string, unknown> }>('/config/dump', {
      type: 'BrowserConfig',
      params: { headers: { 'X-Crawldeck-Test': 'dump' }, viewport: { width: 900, height: 700 } },
    })
    expect(browser.body).toEqual({
      type: 'BrowserConfig',
      params: {
        viewport_width: 900,
        viewport_height: 700,
        user_agent: null,
        ignore_https_errors: false,
        headers: { type: 'dict', value: { 'X-Crawldeck-Test': 'dump' } },
      },
      warnings: [],
    })
    await crawlOk({ urls: [fx.url('/about')], browser_config: browser.body })
  })

  it('POST /config/dump refuses as /crawl does', async () => {
    expect(
      (await refused('/config/dump', { type: 'CrawlerRunConfig', params: { deep_crawl_strategy: { type: 'BFSDeepCrawlStrategy', params: {} } } }))[0],
    ).toEqual({
      path: 'params.deep_crawl_strategy',
      message: 'deep_crawl_strategy may not be set from a request: deep crawling is not offered: send the URLs to crawl',
    })
    expect((await refused('/config/dump', { type: 'ProxyConfig', params: {} }))[0]!.path).toBe('type')
  })
})
