/**
 * The class names Crawl4AI's request bodies may carry as `{"type": "<Class>", "params": ...}`,
 * and what crawldeck does with each. Crawl4AI builds any class its serializer knows from a
 * request; crawldeck builds none: a constructible type is kept as `{type, params}` data for the
 * part of the engine that understands it, a refused one is a 400 saying why, and a name in
 * neither list is a 400 naming it (Crawl4AI silently turns unknown names into null).
 */

/** The two config classes, which only appear at the top of browser_config / crawler_config. */
export type ConfigClass = 'BrowserConfig' | 'CrawlerRunConfig'

/** Enums travel as `{"type": "CacheMode", "params": "bypass"}`; the value is checked here. */
export const ENUM_VALUES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  CacheMode: ['enabled', 'disabled', 'read_only', 'write_only', 'bypass'],
  MatchMode: ['or', 'and'],
  DisplayMode: ['DETAILED', 'AGGREGATED'],
})

/** Nested classes a request may describe: kept as typed data, their params decoded. */
export const CONSTRUCTIBLE_TYPES: ReadonlySet<string> = new Set([
  'CrawlerRunConfig',
  'BrowserConfig',
  'HTTPCrawlerConfig',
  'GeolocationConfig',
  'VirtualScrollConfig',
  'LinkPreviewConfig',
  'JsonCssExtractionStrategy',
  'JsonXPathExtractionStrategy',
  'JsonLxmlExtractionStrategy',
  'RegexExtractionStrategy',
  'CosineStrategy',
  'DefaultMarkdownGenerator',
  'PruningContentFilter',
  'BM25ContentFilter',
  'LXMLWebScrapingStrategy',
  'PDFContentScrapingStrategy',
  'RegexChunking',
  'DefaultTableExtraction',
  'NoTableExtraction',
])

const LLM = 'no LLM is configured on this server, and API keys are never taken from a request'
const DEEP_CRAWL = 'deep crawling is not offered: send the URLs to crawl'
const PROXY = 'proxies are set per browser with browser_config.proxy or browser_config.proxy_config'
const DISPATCH = "batch concurrency is the server's own admission control"

/** Types Crawl4AI knows but crawldeck never builds from a request, each with the reason. */
export const REFUSED_TYPES: Readonly<Record<string, string>> = Object.freeze({
  LLMConfig: LLM,
  LLMExtractionStrategy: LLM,
  LLMContentFilter: LLM,
  LLMTableExtraction: LLM,
  ProxyConfig: `${PROXY} (as a string or a plain {server, username, password} object)`,
  RoundRobinProxyStrategy: PROXY,
  SeedingConfig: 'URL seeding is not offered: send the URLs to crawl',
  DomainMapperConfig: 'domain mapping is not offered',
  BFSDeepCrawlStrategy: DEEP_CRAWL,
  DFSDeepCrawlStrategy: DEEP_CRAWL,
  BestFirstCrawlingStrategy: DEEP_CRAWL,
  FilterChain: DEEP_CRAWL,
  URLPatternFilter: DEEP_CRAWL,
  DomainFilter: DEEP_CRAWL,
  ContentTypeFilter: DEEP_CRAWL,
  URLFilter: DEEP_CRAWL,
  SEOFilter: DEEP_CRAWL,
  ContentRelevanceFilter: DEEP_CRAWL,
  KeywordRelevanceScorer: DEEP_CRAWL,
  URLScorer: DEEP_CRAWL,
  CompositeScorer: DEEP_CRAWL,
  DomainAuthorityScorer: DEEP_CRAWL,
  FreshnessScorer: DEEP_CRAWL,
  PathDepthScorer: DEEP_CRAWL,
  ContentTypeScorer: DEEP_CRAWL,
  MemoryAdaptiveDispatcher: DISPATCH,
  SemaphoreDispatcher: DISPATCH,
})
