/*
 * What a crawl answers with: Crawl4AI's CrawlResult, field for field, so its clients read our
 * results unchanged, plus crawldeck's own fields where they do not clash (screenshot_clipped,
 * js_results, duration_ms, warnings). docs/compat.md lists what differs and why.
 */

/** A link of the page, in Crawl4AI's shape. The head_* and *_score fields stay null: link previews are not fetched. */
export interface PageLink {
  href: string
  text: string
  /** The link's title attribute; "" when it has none. */
  title: string
  /** The registrable-ish host of href (the host without a leading "www."). */
  base_domain: string
  head_data: null
  head_extraction_status: null
  head_extraction_error: null
  intrinsic_score: number | null
  contextual_score: number | null
  total_score: number | null
}

/** An image, video or audio of the page, in Crawl4AI's shape. */
export interface MediaItem {
  src: string
  /** Inline data for data: sources is not kept: always "". */
  data: string
  alt: string
  /** Text around the element (its figcaption or nearby text), cut short. */
  desc: string
  /** How likely the item is content rather than decoration: higher is more likely. */
  score: number
  type: 'image' | 'video' | 'audio'
  group_id: number
  /** The file extension of src (jpg, png, mp4, …), or null when it has none. */
  format: string | null
  width: number | null
}

/** Crawl4AI's MarkdownGenerationResult. fit_markdown and fit_html are "" unless a content filter ran. */
export interface MarkdownResult {
  raw_markdown: string
  /** raw_markdown with each link replaced by its text and a numbered citation, ⟨1⟩. */
  markdown_with_citations: string
  /** The numbered references the citations point to. */
  references_markdown: string
  fit_markdown: string
  fit_html: string
}

/** What js_code returned: one entry per script, in order, or the error that stopped them. */
export interface JsExecutionResult {
  success: boolean
  results: unknown[]
  error?: string
}

export interface PageMetadata {
  title: string | null
  description: string | null
  keywords: string | null
  author: string | null
  language: string | null
  canonical: string | null
  /** og:* and twitter:* properties, keyed by their property name. */
  social: Record<string, string>
  /** Crawl4AI also puts each og:*, twitter:* and article:* meta key at the top level. */
  [meta: string]: string | null | Record<string, string>
}

/** Crawl4AI's cache_status values that crawldeck sets (hit_validated / hit_fallback need revalidation, not offered). */
export type CacheStatus = 'hit' | 'miss'

export interface CrawlResult {
  url: string
  html: string
  /** True only when the page loaded with a status below 400 and every step ran. */
  success: boolean
  cleaned_html: string
  media: { images: MediaItem[]; videos: MediaItem[]; audios: MediaItem[] }
  links: { internal: PageLink[]; external: PageLink[] }
  /** Downloads are refused on this server: always null. */
  downloaded_files: null
  /** Set when js_code ran; null otherwise. */
  js_execution_result: JsExecutionResult | null
  /** Base64 PNG. */
  screenshot: string | null
  /** Base64 PDF. */
  pdf: string | null
  mhtml: null
  /** A JSON string from the extraction strategy; null when none ran. */
  extracted_content: string | null
  metadata: PageMetadata
  error_message: string | null
  session_id: string | null
  /** Response headers of the main document (lower-case names). */
  response_headers: Record<string, string> | null
  status_code: number | null
  ssl_certificate: null
  dispatch_result: null
  /** The URL the page ended on after redirects. */
  redirected_url: string | null
  redirected_status_code: number | null
  network_requests: null
  console_messages: null
  tables: unknown[]
  /** Epoch seconds at which a cached result was written; set on cache hits only, null otherwise. */
  cached_at: number | null
  /** "hit" when answered from the result cache, "miss" when the cache was read and had nothing; null when the cache_mode does not read it. */
  cache_status: CacheStatus | null
  markdown: MarkdownResult
  /** True when the screenshot was cut at the server's max_screenshot_height (the page is taller). */
  screenshot_clipped: boolean
  /** Values returned by js_code snippets, in order (also in js_execution_result.results). */
  js_results: unknown[]
  /** Time spent on this URL, from asking for a browser to the result. */
  duration_ms: number
  /** Request parameters this server accepted but did not act on, each named with why. */
  warnings: string[]
}

export interface CrawlResponse {
  success: boolean
  results: CrawlResult[]
  /** Wall time of the request, in seconds. */
  server_processing_time_s?: number
  /** This process's RSS after the crawl minus before, in MiB. */
  server_memory_delta_mb?: number | null
  /** The highest RSS of this process sampled while the crawl ran, in MiB. */
  server_peak_memory_mb?: number | null
}
