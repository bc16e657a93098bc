import { createHash } from 'node:crypto'
import type { BrowserConfig, CrawlerConfig } from '../../../shared/crawl-schemas.js'
import type { FixedConfig } from '../config.js'
import type { CrawlWants } from '../crawl/crawler.js'
import { canonicalJson, configSignature } from '../pool/signature.js'

/*
 * The result cache's key: what must be equal for a stored result to be the answer.
 *
 * In:
 * - the URL exactly as crawled (after the schema's trim; the fragment too, since a page may read it);
 * - the browser's signature (pool/signature.ts): user agent, headers, cookies, viewport, locale,
 *   proxy, JavaScript on/off, text mode... all change what the page serves or renders;
 * - every crawler_config field except those below: selectors, excluded tags and selector,
 *   word_count_threshold, only_text, exclude_*, target_elements, markdown_generator, screenshot,
 *   pdf, js_code, wait_for, scrolling... Listing what is left out rather than what is kept means a
 *   field added later is in the key until someone decides otherwise: a needless miss, never a
 *   wrong answer;
 * - what the route asked of the crawl (CrawlWants): /md's result has no links and /html's no
 *   Markdown, so neither may answer /crawl;
 * - the server's settings that change a result (resultSettingsOf), so that a restart with other
 *   settings, or another instance of a fleet sharing the Redis cache, never serves a result it
 *   would not have made itself.
 * Out:
 * - page_timeout and wait_for_timeout: how long to wait, not what is found (a page that needed
 *   longer failed, and failures are never cached);
 * - stream: how the answer is framed;
 * - cache_mode: how the cache is used, not what is cached.
 */

const NOT_IN_KEY = new Set(['page_timeout', 'wait_for_timeout', 'stream', 'cache_mode'])

/** Bumped when the stored form changes (2: stored-entry.ts's header line and body). */
const KEY_VERSION = 2

/** The server's settings a result depends on, as they go into every key (resultSettingsOf). */
export type ResultSettings = Readonly<Record<string, unknown>>

/**
 * What of the server's configuration changes what a crawl gives:
 * - the crawldeck version: extraction and Markdown conversion change between versions;
 * - whether private targets are refused (and which networks are exempt): sub-resources and
 *   redirects to them are blocked, so the same page renders otherwise;
 * - allow_js_code: which scripts a request may run;
 * - max_screenshot_height (a screenshot is clipped at it) and max_capture_bytes (what fails);
 * - the Chromium binary and extra flags: what renders the page.
 * Not: timeouts (a slow page fails, and failures are not cached), admission, pool, monitor,
 * auth and network settings of the API itself.
 */
export function resultSettingsOf(
  config: Pick<FixedConfig, 'allow_js_code' | 'max_screenshot_height' | 'max_capture_bytes' | 'chromium' | 'chromium_args' | 'private_targets_allowed'>,
  privateTargetsBlocked: boolean,
  version: string,
): ResultSettings {
  return {
    version,
    block_private_targets: privateTargetsBlocked,
    private_targets_allowed: privateTargetsBlocked ? config.private_targets_allowed : [],
    allow_js_code: config.allow_js_code,
    max_screenshot_height: config.max_screenshot_height,
    max_capture_bytes: config.max_capture_bytes,
    chromium: config.chromium,
    chromium_args: config.chromium_args,
  }
}

/** The key of a crawl's result, or null when the URL is not cacheable (only http: and https: are). */
export function cacheKey(
  url: string,
  browserConfig: BrowserConfig,
  crawlerConfig: CrawlerConfig,
  wants?: CrawlWants,
  server: ResultSettings | null = null,
): string | null {
  if (!/^https?:\/\//i.test(url)) return null
  const crawler = Object.fromEntries(Object.entries(crawlerConfig).filter(([name]) => !NOT_IN_KEY.has(name)))
  const material = canonicalJson({ v: KEY_VERSION, url, browser: configSignature(browserConfig), crawler, wants: wants ?? null, server })
  return createHash('sha256').update(material).digest('hex')
}
