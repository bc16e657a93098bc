import { z } from 'zod'
import { ENUM_VALUES } from './type-names.js'

/**
 * What crawldeck does with each constructor parameter of Crawl4AI's BrowserConfig (44) and
 * CrawlerRunConfig (99), plus crawldeck's own few. Every name is here, so none is silently
 * dropped and none is mistaken for a typo:
 * - implemented: validated by the config schema (crawl-schemas.ts) and used by the engine;
 *   `c4aDefault` is Crawl4AI's constructor default, which the dump form compares against.
 * - ignored: accepted, checked when `check` says how, then removed before validation; every
 *   request that gives it gets a warning saying why it has no effect.
 * - refused: a 400 saying why.
 * - browser: a CrawlerRunConfig parameter that crawldeck keeps on the browser (a context
 *   option there, a browser option here); the request's browser_config gets it.
 */
export type Disposition =
  | { kind: 'implemented'; c4aDefault: unknown }
  | { kind: 'ignored'; why: string; check?: z.ZodType }
  | { kind: 'refused'; why: string }
  | { kind: 'browser'; to: string }

/** Crawl4AI's default exclude_social_media_domains, and crawldeck's. */
export const SOCIAL_MEDIA_DOMAINS: readonly string[] = Object.freeze([
  'facebook.com',
  'twitter.com',
  'x.com',
  'linkedin.com',
  'instagram.com',
  'pinterest.com',
  'tiktok.com',
  'snapchat.com',
  'reddit.com',
])

/** crawldeck's own parameters have no Crawl4AI default: the dump compares them with crawldeck's. */
export const CRAWLDECK_ONLY = Symbol('crawldeck-only')

const implemented = (c4aDefault: unknown): Disposition => ({ kind: 'implemented', c4aDefault })
const ignored = (why: string, check?: z.ZodType): Disposition => ({ kind: 'ignored', why, check })
const refused = (why: string): Disposition => ({ kind: 'refused', why })

/** A nested Crawl4AI object: `{type, params}` of one of `types` (decode.ts checked the name), or null. */
function typedOf(...types: string[]): z.ZodType {
  return z
    .object({ type: z.enum(types as [string, ...string[]], { error: `give one of ${types.join(', ')}` }), params: z.record(z.string(), z.unknown()) })
    .nullable()
}
const enumOf = (name: string) => z.enum(ENUM_VALUES[name] as [string, ...string[]]).nullable()
const plainOrTyped = (type: string) => z.union([typedOf(type), z.record(z.string(), z.unknown())])
const deprecatedCacheFlag = z.literal(false, { error: 'deprecated cache flag: only false is accepted; use cache_mode' })

const CDP = 'only applies to a browser reached over CDP, and connecting to another browser is not offered'
const SERVER_PATH = 'server paths are never taken from a request'
const OTHER_BROWSER = 'connecting to another browser is not offered'
const OLD_CACHE_FLAG = 'a deprecated Crawl4AI flag: only false is accepted, which changes nothing; use cache_mode'
const NO_REVALIDATION = 'cached results are not revalidated: an entry is served until it expires (--cache-ttl) or is evicted'
const LOGGING = "logging is the server's configuration"
const EVASION = 'anti-bot evasion is not offered'
const PROXIES = 'proxies are per browser here: use browser_config.proxy or browser_config.proxy_config'
const UA_GEN = 'user agents are not generated: set browser_config.user_agent'
const NO_PER_URL = 'per-URL configs are not offered: one crawler_config applies to every URL of a request'
const PACING = "batch concurrency and pacing are the server's admission control"

export const BROWSER_PARAMS: Readonly<Record<string, Disposition>> = Object.freeze({
  browser_type: implemented('chromium'),
  headless: implemented(true),
  browser_mode: ignored(
    "every crawl runs in a browser of this server's own pool",
    z.literal('dedicated', { error: `only "dedicated" is accepted: ${OTHER_BROWSER}` }),
  ),
  use_managed_browser: ignored("browsers are launched and managed by this server's pool"),
  cdp_url: refused(OTHER_BROWSER),
  browser_context_id: refused(OTHER_BROWSER),
  target_id: refused(OTHER_BROWSER),
  cdp_cleanup_on_close: ignored(CDP),
  cdp_close_delay: ignored(CDP),
  cache_cdp_connection: ignored(CDP),
  create_isolated_context: ignored('every crawl already gets its own isolated browser context'),
  use_persistent_context: ignored('profiles are never kept: every crawl gets a fresh, isolated browser context'),
  user_data_dir: refused(SERVER_PATH),
  chrome_channel: ignored("the browser is this server's Chromium; channels are not selectable"),
  channel: ignored("the browser is this server's Chromium; channels are not selectable"),
  proxy: implemented(null),
  proxy_config: implemented(null),
  viewport_width: implemented(1080),
  viewport_height: implemented(600),
  viewport: implemented(null),
  device_scale_factor: implemented(1),
  accept_downloads: ignored('this server never downloads files: a URL that is a download fails saying so'),
  downloads_path: refused(SERVER_PATH),
  storage_state: refused(`${SERVER_PATH}, and a saved state is not loaded: give cookies in browser_config.cookies`),
  ignore_https_errors: implemented(true),
  java_script_enabled: implemented(true),
  sleep_on_close: ignored("browsers are closed by the server's pool, not by a request"),
  verbose: ignored(LOGGING),
  cookies: implemented([]),
  headers: implemented({}),
  user_agent: implemented('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36'),
  user_agent_mode: ignored(UA_GEN),
  user_agent_generator_config: ignored(UA_GEN),
  text_mode: implemented(false),
  // Implemented by every browser already: light_mode adds Crawl4AI's BROWSER_DISABLE_OPTIONS (19
  // switches), and crawldeck's browsers always run with 17 of them (Playwright's default switches
  // plus BASE_CHROMIUM_ARGS in main/core/chromium/launch-args.ts). The other two do nothing here:
  // --disable-client-side-phishing-detection needs a model the component updater never fetches
  // (--disable-component-update), and --disable-features=TranslateUI has no UI to hide when headless.
  light_mode: implemented(false),
  extra_args: implemented([]),
  debugging_port: refused("the browser's debugging endpoint is never exposed to a request"),
  host: refused("the browser's debugging endpoint is never exposed to a request"),
  enable_stealth: ignored(EVASION),
  avoid_ads: ignored('ad and tracker blocking is not offered'),
  avoid_css: implemented(false),
  init_scripts: ignored('scripts are not injected into every page; crawler_config.js_code_before_wait runs before the page is read (it needs --allow-js-code)'),
  memory_saving_mode: ignored("browser memory is managed by the server's pool"),
  max_pages_before_recycle: ignored("browsers are recycled by the server's pool"),
  // crawldeck's own
  locale: implemented(CRAWLDECK_ONLY),
})

export const CRAWLER_PARAMS: Readonly<Record<string, Disposition>> = Object.freeze({
  word_count_threshold: implemented(1),
  // JsonCss / JsonXPath / JsonLxml schemas and RegexExtractionStrategy (src/shared/extraction-strategy.ts); CosineStrategy is a 400.
  extraction_strategy: implemented(null),
  chunking_strategy: ignored('chunking only matters for LLM extraction, which is not offered', typedOf('RegexChunking')),
  // DefaultMarkdownGenerator: its html2text options, content_source, and PruningContentFilter or BM25ContentFilter (src/shared/markdown-generator.ts).
  markdown_generator: implemented(null),
  only_text: implemented(false),
  css_selector: implemented(null),
  target_elements: implemented([]),
  excluded_tags: implemented([]),
  excluded_selector: implemented(''),
  keep_data_attributes: ignored("cleaned_html keeps crawldeck's own set of attributes"),
  keep_attrs: ignored("cleaned_html keeps crawldeck's own set of attributes"),
  remove_forms: ignored('forms are not removed'),
  prettiify: ignored('cleaned_html is not re-formatted'),
  parser_type: ignored('pages are parsed by the browser; the parser is not selectable'),
  scraping_strategy: ignored(
    'content is scraped in the browser; the strategy is not selectable',
    typedOf('LXMLWebScrapingStrategy', 'PDFContentScrapingStrategy'),
  ),
  proxy_config: refused(PROXIES),
  proxy_rotation_strategy: refused(PROXIES),
  proxy_session_id: refused(PROXIES),
  proxy_session_ttl: refused(PROXIES),
  proxy_session_auto_release: refused(PROXIES),
  locale: { kind: 'browser', to: 'locale' },
  timezone_id: ignored('timezone emulation is not offered'),
  geolocation: ignored('geolocation emulation is not offered', plainOrTyped('GeolocationConfig').nullable()),
  fetch_ssl_certificate: ignored('certificates are not captured: ssl_certificate stays null'),
  cache_mode: implemented('bypass'),
  session_id: implemented(null),
  bypass_cache: ignored(OLD_CACHE_FLAG, deprecatedCacheFlag),
  disable_cache: ignored(OLD_CACHE_FLAG, deprecatedCacheFlag),
  no_cache_read: ignored(OLD_CACHE_FLAG, deprecatedCacheFlag),
  no_cache_write: ignored(OLD_CACHE_FLAG, deprecatedCacheFlag),
  shared_data: ignored('hooks are not offered, so there is nothing to share data with'),
  check_cache_freshness: ignored(NO_REVALIDATION),
  cache_validation_timeout: ignored(NO_REVALIDATION),
  wait_until: implemented('domcontentloaded'),
  page_timeout: implemented(60_000),
  wait_for: implemented(null),
  wait_for_timeout: implemented(null),
  wait_for_images: implemented(false),
  delay_before_return_html: implemented(0.1),
  mean_delay: ignored(PACING),
  max_range: ignored(PACING),
  semaphore_count: ignored(PACING),
  js_code: implemented(null),
  js_code_before_wait: implemented(null),
  c4a_script: refused('C4A-Script is not compiled on this server: send JavaScript in js_code'),
  js_only: implemented(false),
  ignore_body_visibility: ignored('crawldeck never waits for the body to be visible'),
  scan_full_page: implemented(false),
  scroll_delay: implemented(0.2),
  max_scroll_steps: implemented(null),
  process_iframes: implemented(false),
  flatten_shadow_dom: ignored('shadow DOM content is not flattened into the HTML'),
  remove_overlay_elements: implemented(false),
  remove_consent_popups: ignored('consent pop-ups are not removed separately: remove_overlay_elements removes common banners'),
  simulate_user: ignored(EVASION),
  override_navigator: ignored(EVASION),
  magic: ignored(EVASION),
  adjust_viewport_to_content: ignored('the viewport stays as browser_config sets it'),
  screenshot: implemented(false),
  screenshot_wait_for: implemented(null),
  screenshot_height_threshold: ignored("screenshots are cut at the server's max_screenshot_height (screenshot_clipped says so)"),
  force_viewport_screenshot: ignored('screenshots are of the viewport unless screenshot_full_page is true'),
  pdf: implemented(false),
  capture_mhtml: ignored('MHTML is not captured: mhtml stays null'),
  image_description_min_word_threshold: ignored("images are scored by crawldeck's own heuristic"),
  image_score_threshold: ignored("images are scored by crawldeck's own heuristic"),
  table_score_threshold: ignored('tables are not extracted'),
  table_extraction: ignored('tables are not extracted', typedOf('DefaultTableExtraction', 'NoTableExtraction')),
  exclude_external_images: implemented(false),
  exclude_all_images: implemented(false),
  exclude_social_media_domains: implemented(SOCIAL_MEDIA_DOMAINS),
  exclude_external_links: implemented(false),
  exclude_social_media_links: implemented(false),
  exclude_domains: implemented([]),
  exclude_internal_links: implemented(false),
  score_links: ignored('link scores are not computed'),
  preserve_https_for_internal_links: ignored('links are reported as the page gives them'),
  verbose: ignored(LOGGING),
  log_console: ignored('the page console is not logged'),
  capture_network_requests: ignored('network requests are not captured: network_requests stays null'),
  capture_console_messages: ignored('console messages are not captured: console_messages stays null'),
  method: ignored('pages are fetched by the browser with GET', z.string().regex(/^get$/i, 'only GET is offered')),
  stream: implemented(false),
  prefetch: ignored('the full result is always produced'),
  process_in_browser: ignored('only http(s) URLs are crawled, and always in the browser'),
  url: ignored("informational only: the URLs crawled are the request's urls"),
  base_url: ignored("links are resolved against the page's own URL"),
  check_robots_txt: ignored('robots.txt is not consulted'),
  user_agent: { kind: 'browser', to: 'user_agent' },
  user_agent_mode: ignored(UA_GEN),
  user_agent_generator_config: ignored(UA_GEN),
  deep_crawl_strategy: refused('deep crawling is not offered: send the URLs to crawl'),
  link_preview_config: ignored('link previews are not fetched', plainOrTyped('LinkPreviewConfig').nullable()),
  virtual_scroll_config: ignored('virtual-scroll capture is not offered: scan_full_page scrolls the page', plainOrTyped('VirtualScrollConfig').nullable()),
  url_matcher: ignored(NO_PER_URL),
  match_mode: ignored(NO_PER_URL, enumOf('MatchMode')),
  experimental: ignored('there are no experimental options'),
  max_retries: ignored('anti-bot retries are not offered: each URL is fetched once'),
  fallback_fetch_function: refused('a function cannot be sent as JSON, and no code is taken from a request to run on the server'),
  // crawldeck's own
  screenshot_full_page: implemented(CRAWLDECK_ONLY),
})

export const PARAM_TABLES = { BrowserConfig: BROWSER_PARAMS, CrawlerRunConfig: CRAWLER_PARAMS } as const
