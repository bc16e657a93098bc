import { createHash } from 'node:crypto'
import type { BrowserConfig, CrawlerConfig } from '../../../shared/crawl-schemas.js'
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
 *   Markdown, so neither may answer /crawl.
 * Out:
 * - page_timeout and wait_for_timeout: how long to wait, not what is found (a page that needed
 *   longer failed, and failures are never cached);
 * - stream: how the answer is framed;
 * - cache_mode: how the cache is used, not what is cached.
 */

const NOT_IN_KEY = new Set(['page_timeout', 'wait_for_timeout', 'stream', 'cache_mode'])

/** Bumped when a stored result would no longer be what the same request gets. */
const KEY_VERSION = 1

/** The key of a crawl's result, or null when the URL is not cacheable (only http: and https: are). */
export function cacheKey(url: string, browserConfig: BrowserConfig, crawlerConfig: CrawlerConfig, wants?: CrawlWants): string | null {
  if (!/^https?:\/\//i.test(url)) return null
  const crawler = Object.fromEntries(Object.entries(crawlerConfig).filter(([name]) => !NOT_IN_KEY.has(name)))
  const material = canonicalJson({ v: KEY_VERSION, url, browser: configSignature(browserConfig), crawler, wants: wants ?? null })
  return createHash('sha256').update(material).digest('hex')
}
