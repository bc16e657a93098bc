import { configSignature } from '../src/main/core/pool/signature.js'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  BrowserConfigObject,
  BrowserConfigSchema,
  CrawlerConfigObject,
  CrawlerConfigSchema,
  CrawlRequestSchema,
  SingleUrlRequestSchema,
  withConfigWarnings,
  WebUrl,
} from '../src/shared/crawl-schemas.js'
import { Decoder, MAX_DEPTH } from '../src/shared/crawl4ai/decode.js'
import { configSchema, ConfigDumpRequestSchema } from '../src/shared/crawl4ai/dump.js'
import { BROWSER_PARAMS, CRAWLER_PARAMS, type Disposition } from '../src/shared/crawl4ai/param-tables.js'
import { REFUSED_TYPES } from '../src/shared/crawl4ai/type-names.js'
import { EXTRACTION_STRATEGY_EXAMPLE, plainFormExample, typedFormExample } from './helpers/crawl4ai-examples.js'

/*
 * Crawl4AI's request bodies, checked by the shared schemas alone (no browser): both config
 * forms, every parameter name of both classes, the typed values a request may and may not
 * carry, warnings, and the dump form of /schema and /config/dump.
 */

/** The 44 BrowserConfig parameters, copied from the reference (§3). */
const BROWSER_CONFIG_PARAMS = [
  'browser_type',
  'headless',
  'browser_mode',
  'use_managed_browser',
  'cdp_url',
  'browser_context_id',
  'target_id',
  'cdp_cleanup_on_close',
  'cdp_close_delay',
  'cache_cdp_connection',
  'create_isolated_context',
  'use_persistent_context',
  'user_data_dir',
  'chrome_channel',
  'channel',
  'proxy',
  'proxy_config',
  'viewport_width',
  'viewport_height',
  'viewport',
  'device_scale_factor',
  'accept_downloads',
  'downloads_path',
  'storage_state',
  'ignore_https_errors',
  'java_script_enabled',
  'sleep_on_close',
  'verbose',
  'cookies',
  'headers',
  'user_agent',
  'user_agent_mode',
  'user_agent_generator_config',
  'text_mode',
  'light_mode',
  'extra_args',
  'debugging_port',
  'host',
  'enable_stealth',
  'avoid_ads',
  'avoid_css',
  'init_scripts',
  'memory_saving_mode',
  'max_pages_before_recycle',
]

/** The 99 CrawlerRunConfig parameters, copied from the reference (§4). */
const CRAWLER_RUN_CONFIG_PARAMS = [
  'word_count_threshold',
  'extraction_strategy',
  'chunking_strategy',
  'markdown_generator',
  'only_text',
  'css_selector',
  'target_elements',
  'excluded_tags',
  'excluded_selector',
  'keep_data_attributes',
  'keep_attrs',
  'remove_forms',
  'prettiify',
  'parser_type',
  'scraping_strategy',
  'proxy_config',
  'proxy_rotation_strategy',
  'proxy_session_id',
  'proxy_session_ttl',
  'proxy_session_auto_release',
  'locale',
  'timezone_id',
  'geolocation',
  'fetch_ssl_certificate',
  'cache_mode',
  'session_id',
  'bypass_cache',
  'disable_cache',
  'no_cache_read',
  'no_cache_write',
  'shared_data',
  'check_cache_freshness',
  'cache_validation_timeout',
  'wait_until',
  'page_timeout',
  'wait_for',
  'wait_for_timeout',
  'wait_for_images',
  'delay_before_return_html',
  'mean_delay',
  'max_range',
  'semaphore_count',
  'js_code',
  'js_code_before_wait',
  'c4a_script',
  'js_only',
  'ignore_body_visibility',
  'scan_full_page',
  'scroll_delay',
  'max_scroll_steps',
  'process_iframes',
  'flatten_shadow_dom',
  'remove_overlay_elements',
  'remove_consent_popups',
  'simulate_user',
  'override_navigator',
  'magic',
  'adjust_viewport_to_content',
  'screenshot',
  'screenshot_wait_for',
  'screenshot_height_threshold',
  'force_viewport_screenshot',
  'pdf',
  'capture_mhtml',
  'image_description_min_word_threshold',
  'image_score_threshold',
  'table_score_threshold',
  'table_extraction',
  'exclude_external_images',
  'exclude_all_images',
  'exclude_social_media_domains',
  'exclude_external_links',
  'exclude_social_media_links',
  'exclude_domains',
  'exclude_internal_links',
  'score_links',
  'preserve_https_for_internal_links',
  'verbose',
  'log_console',
  'capture_network_requests',
  'capture_console_messages',
  'method',
  'stream',
  'prefetch',
  'process_in_browser',
  'url',
  'base_url',
  'check_robots_txt',
  'user_agent',
  'user_agent_mode',
  'user_agent_generator_config',
  'deep_crawl_strategy',
  'link_preview_config',
  'virtual_scroll_config',
  'url_matcher',
  'match_mode',
  'experimental',
  'max_retries',
  'fallback_fetch_function',
]

const URL_A = 'http://127.0.0.1:9/a'

/** The messages of a failed parse, as `path: message` lines. */
function failure(schema: z.ZodType, body: unknown): string[] {
  const r = schema.safeParse(body)
  expect(r.success, JSON.stringify(r.success ? r.data : null)).toBe(false)
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

function crawl(body: Record<string, unknown>) {
  return CrawlRequestSchema.parse({ urls: [URL_A], ...body })
}

/** A value each ignored parameter with a check accepts; the others take anything. */
const IGNORED_SAMPLES: Record<string, unknown> = {
  browser_mode: 'dedicated',
  cache_mode: 'bypass',
  bypass_cache: false,
  disable_cache: false,
  no_cache_read: false,
  no_cache_write: false,
  method: 'GET',
  match_mode: { type: 'MatchMode', params: 'or' },
  extraction_strategy: { type: 'JsonCssExtractionStrategy', params: { schema: { name: 'x', baseSelector: 'li', fields: [] } } },
  markdown_generator: { type: 'DefaultMarkdownGenerator', params: {} },
  chunking_strategy: { type: 'RegexChunking', params: {} },
  scraping_strategy: { type: 'LXMLWebScrapingStrategy', params: {} },
  table_extraction: { type: 'NoTableExtraction', params: {} },
  geolocation: { type: 'GeolocationConfig', params: { latitude: 1, longitude: 2 } },
  link_preview_config: { include_internal: true },
  virtual_scroll_config: { type: 'VirtualScrollConfig', params: { container_selector: '#feed' } },
}

type Slot = 'browser_config' | 'crawler_config'

/** What the request schemas do with `name` given alone in `slot`: implemented, warned or refused. */
function outcome(slot: Slot, name: string, disposition: Disposition): 'implemented' | 'warned' | 'refused' | 'browser' {
  const object = slot === 'browser_config' ? BrowserConfigObject : CrawlerConfigObject
  const shape = (slot === 'browser_config' ? BrowserConfigObject.in.shape : CrawlerConfigObject.shape) as Record<string, unknown>
  switch (disposition.kind) {
    case 'implemented':
      // The strict schema knows it: it is validated and used, never an unknown-name 400.
      expect(Object.hasOwn(shape, name), `${slot}.${name} is in the schema`).toBe(true)
      expect(object).toBeDefined()
      return 'implemented'
    case 'ignored': {
      const value = Object.hasOwn(IGNORED_SAMPLES, name) ? IGNORED_SAMPLES[name] : true
      const parsed = crawl({ [slot]: { [name]: value } })
      expect(parsed.warnings, `${slot}.${name}`).toEqual([
        expect.stringMatching(new RegExp(`^${slot}\\.${name}: accepted but has no effect on this server \\(.+\\)$`)),
      ])
      return 'warned'
    }
    case 'refused': {
      const messages = failure(CrawlRequestSchema, { urls: [URL_A], [slot]: { [name]: 'x' } })
      expect(messages).toEqual([`${slot}.${name}: ${name} may not be set from a request: ${disposition.why}`])
      return 'refused'
    }
    case 'browser': {
      const parsed = crawl({ [slot]: { [name]: 'de-DE' } })
      expect(parsed.browser_config[disposition.to as 'locale']).toBe('de-DE')
      expect(parsed.warnings).toEqual([])
      return 'browser'
    }
  }
}

describe('every parameter name of both classes has a disposition', () => {
  it('the 44 BrowserConfig parameters: implemented, warned or refused, none an unknown-name 400', () => {
    expect(BROWSER_CONFIG_PARAMS).toHaveLength(44)
    const seen: Record<string, string[]> = {}
    for (const name of BROWSER_CONFIG_PARAMS) {
      const disposition = BROWSER_PARAMS[name]
      expect(disposition, `BrowserConfig.${name} is in the table`).toBeDefined()
      ;(seen[outcome('browser_config', name, disposition!)] ??= []).push(name)
    }
    expect(seen.refused).toEqual(
      expect.arrayContaining(['cdp_url', 'browser_context_id', 'target_id', 'user_data_dir', 'downloads_path', 'storage_state', 'debugging_port', 'host']),
    )
    expect(seen.implemented).toEqual(expect.arrayContaining(['headers', 'cookies', 'text_mode', 'light_mode', 'avoid_css', 'device_scale_factor']))
  })

  it('the 99 CrawlerRunConfig parameters: implemented, warned, refused or kept on the browser', () => {
    expect(CRAWLER_RUN_CONFIG_PARAMS).toHaveLength(99)
    const seen: Record<string, string[]> = {}
    for (const name of CRAWLER_RUN_CONFIG_PARAMS) {
      const disposition = CRAWLER_PARAMS[name]
      expect(disposition, `CrawlerRunConfig.${name} is in the table`).toBeDefined()
      ;(seen[outcome('crawler_config', name, disposition!)] ??= []).push(name)
    }
    expect(seen.refused).toEqual(expect.arrayContaining(['c4a_script', 'fallback_fetch_function', 'deep_crawl_strategy', 'proxy_config']))
    expect(seen.warned).toEqual(expect.arrayContaining(['bypass_cache', 'simulate_user', 'check_robots_txt']))
    expect(seen.implemented).toEqual(
      expect.arrayContaining(['cache_mode', 'js_code', 'js_code_before_wait', 'wait_for', 'scan_full_page', 'stream', 'session_id', 'js_only']),
    )
  })

  it('the robots.txt warning reads as the reference says', () => {
    expect(crawl({ crawler_config: { check_robots_txt: true } }).warnings).toEqual([
      'crawler_config.check_robots_txt: accepted but has no effect on this server (robots.txt is not consulted)',
    ])
  })

  it('a name neither class defines is a 400 saying it is unknown, in both forms', () => {
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { cache_moed: 'bypass' } })).toEqual([
      'crawler_config: unknown parameter "cache_moed": CrawlerRunConfig has no such parameter',
    ])
    expect(failure(CrawlRequestSchema, { urls: [URL_A], browser_config: { type: 'BrowserConfig', params: { headles: true } } })).toEqual([
      'browser_config: unknown parameter "headles": BrowserConfig has no such parameter',
    ])
  })

  it('a top-level warnings key from the client is refused like any unknown key', () => {
    expect(failure(CrawlRequestSchema, { urls: [URL_A], warnings: [] })).toEqual([
      'warnings: unknown parameter "warnings": warnings are written by the server, not sent to it',
    ])
    expect(failure(CrawlRequestSchema, { urls: [URL_A], nonsense: 1 })).toEqual([': unknown field "nonsense"'])
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_configs: [] })).toEqual([
      ': crawler_configs: per-URL configs are not offered: one crawler_config applies to every URL of a request',
    ])
    expect(failure(CrawlRequestSchema, { urls: [URL_A], hooks: { hooks: [] } })[0]).toMatch(/^: hooks: hooks are not offered/)
  })

  it('light_mode is implemented without a warning: the background features it turns off are always off', () => {
    const parsed = crawl({ browser_config: { light_mode: true } })
    expect(parsed.warnings).toEqual([])
    // Every browser is light already, so it must not set a browser apart: same config, same browser.
    expect(configSignature(parsed.browser_config)).toBe(configSignature(crawl({}).browser_config))
  })
})

describe("Crawl4AI's examples (§2.3), verbatim but for the URLs", () => {
  it('the plain form', () => {
    const parsed = CrawlRequestSchema.parse(plainFormExample([URL_A, 'http://127.0.0.1:9/news']))
    expect(parsed.browser_config).toMatchObject({ headless: true, viewport_width: 1280, text_mode: true })
    expect(parsed.crawler_config).toMatchObject({ word_count_threshold: 10, excluded_tags: ['nav', 'footer'], page_timeout: 30000 })
    expect(parsed.crawler_config.cache_mode).toBe('bypass')
    expect(parsed.warnings).toEqual([])
    expect(parsed.browser_config).not.toHaveProperty('warnings')
  })

  it('the typed form with a markdown generator and a content filter', () => {
    const parsed = CrawlRequestSchema.parse(typedFormExample([URL_A]))
    expect(parsed.crawler_config.cache_mode).toBe('enabled')
    expect(parsed.warnings).toEqual([])
    expect(parsed.crawler_config.markdown_generator).toMatchObject({
      type: 'DefaultMarkdownGenerator',
      params: { content_source: 'cleaned_html', content_filter: { type: 'BM25ContentFilter', params: { user_query: 'pricing plans', bm25_threshold: 1.2 } } },
    })
  })

  it('the extraction strategy, its JsonCss fields kept as data', () => {
    const example = EXTRACTION_STRATEGY_EXAMPLE
    const parsed = crawl({ crawler_config: { type: 'CrawlerRunConfig', params: { extraction_strategy: example } } })
    expect(parsed.warnings).toEqual([])
    expect(parsed.crawler_config.extraction_strategy).toEqual({ type: 'JsonCssExtractionStrategy', params: { schema: example.params.schema.value } })
    const decoder = new Decoder()
    expect(decoder.value(example, [], 0)).toEqual({
      type: 'JsonCssExtractionStrategy',
      params: { schema: { name: 'Products', baseSelector: 'li.product', fields: example.params.schema.value.fields } },
    })
    expect(decoder.issues).toEqual([])
  })
})

describe('typed values', () => {
  it('a config of the wrong class for its slot is a 400 saying which is expected', () => {
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { type: 'BrowserConfig', params: {} } })).toEqual([
      "crawler_config.type: expected type 'CrawlerRunConfig' here, not 'BrowserConfig'",
    ])
    expect(failure(CrawlRequestSchema, { urls: [URL_A], browser_config: { type: 'CrawlerRunConfig', params: {} } })).toEqual([
      "browser_config.type: expected type 'BrowserConfig' here, not 'CrawlerRunConfig'",
    ])
  })

  it('{"type":"dict"} values become plain objects, at any depth', () => {
    const parsed = crawl({ browser_config: { type: 'BrowserConfig', params: { headers: { type: 'dict', value: { 'X-Test': '1' } } } } })
    expect(parsed.browser_config.headers).toEqual({ 'X-Test': '1' })
    expect(BrowserConfigSchema.parse({ viewport: { type: 'dict', value: { width: 800, height: 600 } } })).toMatchObject({
      viewport_width: 800,
      viewport_height: 600,
    })
  })

  it('enums: typed or bare values are checked, an invalid one lists the values', () => {
    expect(crawl({ crawler_config: { cache_mode: 'read_only' } })).toMatchObject({ warnings: [], crawler_config: { cache_mode: 'read_only' } })
    expect(crawl({ crawler_config: { cache_mode: { type: 'CacheMode', params: 'write_only' } } }).crawler_config.cache_mode).toBe('write_only')
    // bypass when left out, as Crawl4AI's server; null means enabled, as upstream.
    expect(crawl({}).crawler_config.cache_mode).toBe('bypass')
    expect(crawl({ crawler_config: { cache_mode: null } }).crawler_config.cache_mode).toBe('enabled')
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { cache_mode: { type: 'CacheMode', params: 'sometimes' } } })).toEqual([
      'crawler_config.cache_mode.params: "sometimes" is not a CacheMode: give one of "enabled", "disabled", "read_only", "write_only", "bypass"',
    ])
    const bare = failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { cache_mode: 'sometimes' } })
    expect(bare).toHaveLength(1)
    expect(bare[0]).toMatch(/^crawler_config\.cache_mode: .*"enabled".*"bypass"/)
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { match_mode: { type: 'MatchMode', params: 'xor' } } })[0]).toMatch(
      /give one of "or", "and"/,
    )
  })

  it('each refused type is a 400 with its reason', () => {
    for (const [type, why] of Object.entries(REFUSED_TYPES)) {
      const messages = failure(CrawlRequestSchema, {
        urls: [URL_A],
        crawler_config: { markdown_generator: { type: 'DefaultMarkdownGenerator', params: { content_filter: { type, params: {} } } } },
      })
      expect(messages, type).toEqual([
        `crawler_config.markdown_generator.params.content_filter.type: type '${type}' may not be constructed from a request: ${why}`,
      ])
    }
    expect(REFUSED_TYPES.LLMConfig).toMatch(/no LLM is configured on this server/)
    expect(REFUSED_TYPES.BFSDeepCrawlStrategy).toMatch(/deep crawling is not offered/)
    expect(REFUSED_TYPES.RoundRobinProxyStrategy).toMatch(/proxy_config/)
  })

  it('an unknown type name is a 400 naming it (Crawl4AI turns it into null silently)', () => {
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { extraction_strategy: { type: 'EvilStrategy', params: {} } } })).toEqual([
      "crawler_config.extraction_strategy.type: unknown type 'EvilStrategy': no such class can be given in a request",
    ])
  })

  it('a nested type in the wrong parameter is a 400 listing the right ones', () => {
    const messages = failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { extraction_strategy: { type: 'RegexChunking', params: {} } } })
    expect(messages[0]).toMatch(/^crawler_config\.extraction_strategy\.type: give one of JsonCssExtractionStrategy/)
  })

  it('deprecated cache flags: false is a warning, true a 400 (Crawl4AI answers 500)', () => {
    expect(crawl({ crawler_config: { bypass_cache: false } }).warnings).toHaveLength(1)
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { bypass_cache: true } })[0]).toMatch(
      /^crawler_config\.bypass_cache: deprecated cache flag/,
    )
  })
})

describe('hostile bodies are a 400, not a crash', () => {
  it(`nesting deeper than ${MAX_DEPTH} levels`, () => {
    let deep: unknown = 'x'
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { extraction_strategy: deep } })[0]).toMatch(/nested more than 32 levels deep/)
    let deepArray: unknown = 1
    for (let i = 0; i < 100_000; i++) deepArray = [deepArray]
    expect(failure(CrawlRequestSchema, { urls: [URL_A], browser_config: { cookies: deepArray } })[0]).toMatch(/nested more than 32 levels deep/)
  })

  it('huge arrays', () => {
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { excluded_tags: new Array(200_000).fill('a') } })[0]).toMatch(/too large/)
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { target_elements: new Array(65).fill('p') } })[0]).toMatch(
      /^crawler_config\.target_elements: /,
    )
  })

  it('a "__proto__" key stays data and is refused as an unknown name', () => {
    const body = JSON.parse('{"urls":["http://127.0.0.1:9/"],"crawler_config":{"__proto__":{"screenshot":true}}}')
    expect(failure(CrawlRequestSchema, body)[0]).toMatch(/unknown parameter "__proto__"/)
    expect(({} as Record<string, unknown>).screenshot).toBeUndefined()
  })
})

describe('the new fields', () => {
  it('wait_for: css: and js: prefixes, and Crawl4AI-style detection without one', () => {
    const waitFor = (w: string) => crawl({ crawler_config: { wait_for: w } }).crawler_config.wait_for
    expect(waitFor('css:#late')).toEqual({ kind: 'css', expression: '#late' })
    expect(waitFor('js:() => window.ready')).toEqual({ kind: 'js', expression: '() => window.ready' })
    expect(waitFor('#late')).toEqual({ kind: 'css', expression: '#late' })
    expect(waitFor('div.item > a')).toEqual({ kind: 'css', expression: 'div.item > a' })
    expect(waitFor('() => document.querySelectorAll("li").length > 3')).toMatchObject({ kind: 'js' })
    expect(waitFor('function() { return true }')).toMatchObject({ kind: 'js' })
    expect(waitFor('(window.done === true)')).toMatchObject({ kind: 'js' })
    expect(failure(CrawlRequestSchema, { urls: [URL_A], crawler_config: { wait_for: 'css:' } })[0]).toMatch(/wait_for is empty/)
  })

  it('headers: bounded, HTTP tokens, no line breaks, and the framing/host/cookie/proxy headers refused with why', () => {
    expect(crawl({ browser_config: { headers: { 'X-Test': 'yes', Accept: 'text/html' } } }).browser_config.headers).toEqual({
      'X-Test': 'yes',
      Accept: 'text/html',
    })
    const refused = (h: Record<string, string>) => failure(CrawlRequestSchema, { urls: [URL_A], browser_config: { headers: h } })
    expect(refused({ Host: 'evil' })[0]).toMatch(/^browser_config\.headers\.Host: the Host header may not be set: .*URL/)
    for (const name of ['Content-Length', 'connection', 'Transfer-Encoding', 'Upgrade', 'TE', 'Trailer', 'Keep-Alive']) {
      expect(refused({ [name]: '1' })[0], name).toMatch(/may not be set: it frames or routes the HTTP connection/)
    }
    expect(refused({ Cookie: 'a=b' })[0]).toMatch(/give cookies in browser_config\.cookies/)
    expect(refused({ 'Proxy-Authorization': 'Basic x' })[0]).toMatch(/proxy headers are for a proxy/)
    expect(refused({ 'X-A': 'a\r\nX-B: b' })[0]).toMatch(/CR, LF or NUL/)
    expect(refused({ 'Bad Name': 'x' })[0]).toMatch(/HTTP token/)
    expect(refused({ 'X-A': 'x'.repeat(8193) })[0]).toMatch(/8 KiB/)
    expect(refused({ 'X-A': '1', 'x-a': '2' })[0]).toMatch(/same header: give it once/)
    expect(refused(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`X-${i}`, 'v'])))[0]).toMatch(/at most 50 headers/)
  })

  it('cookies: each needs a url or a domain, Playwright shape, bounded', () => {
    const cookies = crawl({
      browser_config: {
        cookies: [
          { name: 'a', value: '1', url: 'http://127.0.0.1:9/' },
          { name: 'b', value: '2', domain: '127.0.0.1', sameSite: 'Lax' },
        ],
      },
    }).browser_config.cookies
    expect(cookies).toEqual([
      { name: 'a', value: '1', url: 'http://127.0.0.1:9/' },
      { name: 'b', value: '2', domain: '127.0.0.1', path: '/', sameSite: 'Lax' },
    ])
    const refused = (c: unknown[]) => failure(CrawlRequestSchema, { urls: [URL_A], browser_config: { cookies: c } })
    expect(refused([{ name: 'a', value: '1' }])[0]).toMatch(/needs a url or a domain/)
    expect(refused([{ name: 'a', value: '1', url: 'http://x/', domain: 'x' }])[0]).toMatch(/not both/)
    expect(refused([{ name: 'a', value: 'x;y', url: 'http://x/' }])[0]).toMatch(/cookie value/)
    expect(refused(Array.from({ length: 51 }, () => ({ name: 'a', value: '1', url: 'http://x/' })))[0]).toMatch(/at most 50 cookies/)
  })

  it('proxy_config is an input name of proxy; both given is a 400', () => {
    expect(crawl({ browser_config: { proxy_config: 'http://127.0.0.1:3128' } }).browser_config.proxy).toEqual({ server: 'http://127.0.0.1:3128' })
    expect(
      crawl({ browser_config: { proxy_config: { type: 'dict', value: { server: 'http://p:1', username: 'u', password: 'p' } } } }).browser_config.proxy,
    ).toEqual({
      server: 'http://p:1',
      username: 'u',
      password: 'p',
    })
    expect(failure(CrawlRequestSchema, { urls: [URL_A], browser_config: { proxy: 'http://a:1', proxy_config: 'http://b:1' } })).toEqual([
      'browser_config.proxy_config: proxy and proxy_config are the same setting: give one',
    ])
    expect(
      failure(CrawlRequestSchema, { urls: [URL_A], browser_config: { proxy_config: { type: 'ProxyConfig', params: { server: 'http://a:1' } } } })[0],
    ).toMatch(/type 'ProxyConfig' may not be constructed from a request/)
  })

  it('bounds of the numeric fields', () => {
    const bad = (slot: Slot, name: string, value: unknown) =>
      expect(failure(CrawlRequestSchema, { urls: [URL_A], [slot]: { [name]: value } })[0], `${name}=${value}`).toMatch(new RegExp(`^${slot}\\.${name}: `))
    bad('browser_config', 'device_scale_factor', 0.2)
    bad('browser_config', 'device_scale_factor', 5)
    bad('crawler_config', 'scroll_delay', 11)
    bad('crawler_config', 'delay_before_return_html', 61)
    bad('crawler_config', 'screenshot_wait_for', 61)
    bad('crawler_config', 'max_scroll_steps', 0)
    bad('crawler_config', 'max_scroll_steps', 1001)
    bad('crawler_config', 'wait_for_timeout', 0)
    bad('crawler_config', 'wait_for_timeout', 600_001)
    bad('crawler_config', 'word_count_threshold', 10_001)
    bad('crawler_config', 'css_selector', 'x'.repeat(2049))
    bad('crawler_config', 'exclude_domains', new Array(257).fill('a.com'))
  })

  it("crawldeck's own fields keep working", () => {
    const parsed = crawl({
      browser_config: { locale: 'fr-FR' },
      crawler_config: { screenshot_full_page: true, wait_until: 'commit', js_code: 'x()' },
    })
    expect(parsed.browser_config.locale).toBe('fr-FR')
    expect(parsed.crawler_config).toMatchObject({ screenshot_full_page: true, wait_until: 'commit', js_code: ['x()'] })
    expect(parsed.warnings).toEqual([])
  })

  it("CrawlerRunConfig's locale goes to the browser; a different browser_config.locale is a 400", () => {
    expect(crawl({ crawler_config: { locale: 'de-DE' } }).browser_config.locale).toBe('de-DE')
    expect(crawl({ browser_config: { locale: 'de-DE' }, crawler_config: { locale: 'de-DE' } }).browser_config.locale).toBe('de-DE')
    expect(failure(CrawlRequestSchema, { urls: [URL_A], browser_config: { locale: 'fr-FR' }, crawler_config: { locale: 'de-DE' } })[0]).toMatch(
      /^crawler_config\.locale: locale is given on both/,
    )
  })

  it('the parsed BrowserConfig parses to itself (the pool re-parses it for the signature)', () => {
    const once = crawl({
      browser_config: {
        headers: { 'X-A': '1' },
        cookies: [{ name: 'a', value: '1', domain: 'x.test' }],
        proxy_config: 'http://p:1',
        viewport: { width: 800, height: 600 },
      },
    }).browser_config
    expect(BrowserConfigSchema.parse(once)).toEqual(once)
    expect(CrawlerConfigSchema.parse({ type: 'CrawlerRunConfig', params: { wait_for: 'css:#x' } }).wait_for).toEqual({ kind: 'css', expression: '#x' })
  })
})

describe('withConfigWarnings: the helper for other request schemas', () => {
  it('adds both configs and the warnings to a shape', () => {
    const Schema = withConfigWarnings({ url: WebUrl, scripts: z.array(z.string()).min(1) })
    const parsed = Schema.parse({ url: URL_A, scripts: ['1'], crawler_config: { type: 'CrawlerRunConfig', params: { magic: true } } })
    expect(parsed.scripts).toEqual(['1'])
    expect(parsed.warnings).toEqual([expect.stringMatching(/^crawler_config\.magic: /)])
    expect(SingleUrlRequestSchema.parse({ url: URL_A }).warnings).toEqual([])
  })
})

describe('/schema and /config/dump forms', () => {
  it("/schema: crawldeck's defaults, only where they differ from Crawl4AI's", () => {
    const { browser, crawler } = configSchema()
    expect(browser).toEqual({ type: 'BrowserConfig', params: { viewport_width: 1280, viewport_height: 720, user_agent: null, ignore_https_errors: false } })
    expect(crawler).toEqual({ type: 'CrawlerRunConfig', params: { delay_before_return_html: 0 } })
  })

  it('/config/dump: dicts typed, wait_for as its string, warnings, unknown extra keys ignored; the dump parses back to the same config', () => {
    const body = {
      type: 'CrawlerRunConfig',
      code: 'CrawlerRunConfig(magic=True)',
      params: {
        wait_for: '#late',
        excluded_tags: ['nav'],
        cache_mode: { type: 'CacheMode', params: 'bypass' },
        locale: 'de-DE',
        js_code: 'x()',
      },
    }
    const dumped = ConfigDumpRequestSchema.parse(body)
    expect(dumped).toEqual({
      type: 'CrawlerRunConfig',
      params: { wait_for: 'css:#late', excluded_tags: ['nav'], js_code: ['x()'], delay_before_return_html: 0, locale: 'de-DE' },
      warnings: [],
    })
    const again = CrawlRequestSchema.parse({ urls: [URL_A], crawler_config: { type: dumped.type, params: dumped.params } })
    const direct = CrawlRequestSchema.parse({ urls: [URL_A], crawler_config: body.params })
    expect(again.crawler_config).toEqual(direct.crawler_config)
    expect(again.browser_config).toEqual(direct.browser_config)

    const browser = ConfigDumpRequestSchema.parse({
      type: 'BrowserConfig',
      params: { headers: { 'X-A': '1' }, proxy: 'http://p:1', cookies: [{ name: 'a', value: '1', url: 'http://x/' }] },
    })
    expect(browser.params).toMatchObject({
      headers: { type: 'dict', value: { 'X-A': '1' } },
      proxy_config: { type: 'dict', value: { server: 'http://p:1' } },
      cookies: [{ type: 'dict', value: { name: 'a', value: '1', url: 'http://x/' } }],
    })
    expect(CrawlRequestSchema.parse({ urls: [URL_A], browser_config: browser }).browser_config).toEqual(
      crawl({ browser_config: { headers: { 'X-A': '1' }, proxy: 'http://p:1', cookies: [{ name: 'a', value: '1', url: 'http://x/' }] } }).browser_config,
    )
  })

  it('/config/dump refuses what /crawl refuses', () => {
    expect(failure(ConfigDumpRequestSchema, { type: 'CrawlerRunConfig', params: { c4a_script: 'GO x' } })[0]).toMatch(
      /^params\.c4a_script: c4a_script may not be set/,
    )
    expect(failure(ConfigDumpRequestSchema, { type: 'CrawlerRunConfig', params: { nope: 1 } })[0]).toMatch(/unknown parameter "nope"/)
    expect(failure(ConfigDumpRequestSchema, { type: 'LLMConfig', params: {} })[0]).toMatch(/^type: type must be "BrowserConfig" or "CrawlerRunConfig"/)
  })
})
