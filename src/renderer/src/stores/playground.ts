import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { CrawlResult } from '../../../shared/crawl-schemas'
import { useTransport } from './transport'

/*
 * The Playground view's store: its form, the crawl, Markdown or screenshot call it makes, and the
 * answer put into one result shape whichever call made it.
 */

export type PlaygroundMode = 'crawl' | 'markdown' | 'screenshot'
export type CacheModeChoice = 'bypass' | 'enabled' | 'disabled' | 'read_only' | 'write_only'
export type ContentFilterChoice = 'none' | 'pruning' | 'bm25'
export type ExtractionChoice = 'none' | 'css' | 'xpath'

export const CACHE_MODE_CHOICES: readonly CacheModeChoice[] = ['bypass', 'enabled', 'disabled', 'read_only', 'write_only']

/** What the schema editor starts with: Crawl4AI's §10 shape, for the page the form points at. */
export const SCHEMA_EXAMPLE = `{
  "name": "Links",
  "baseSelector": "a[href]",
  "fields": [
    {"name": "text", "type": "text"},
    {"name": "href", "type": "attribute", "attribute": "href"}
  ]
}`

export interface PlaygroundForm {
  urls: string
  mode: PlaygroundMode
  headless: boolean
  viewport_width: number
  viewport_height: number
  user_agent: string
  java_script_enabled: boolean
  wait_until: 'load' | 'domcontentloaded' | 'networkidle' | 'commit'
  page_timeout: number
  css_selector: string
  wait_for: string
  screenshot: boolean
  full_page: boolean
  /** /md's f: Crawl4AI's default is fit (boilerplate pruned); raw is the whole page; bm25 keeps what matches md_query. */
  md_filter: 'raw' | 'fit' | 'bm25'
  md_query: string
  /** crawler_config.cache_mode: what the result cache may read and write. */
  cache_mode: CacheModeChoice
  /** crawler_config.session_id: a named page kept between runs; empty for none. */
  session_id: string
  /** /crawl's markdown_generator content filter, which makes fit_markdown. */
  content_filter: ContentFilterChoice
  filter_query: string
  /** /crawl's extraction_strategy: a JsonCss or JsonXPath schema, edited as JSON. */
  extraction: ExtractionChoice
  schema_text: string
}

/** One result in the Playground's own shape: whatever the endpoint returned, normalised. */
export interface PlaygroundResult {
  url: string
  success: boolean
  status_code: number | null
  error: string | null
  markdown: string | null
  cleaned_html: string | null
  links: CrawlResult['links'] | null
  /** Images, videos and audios, as Crawl4AI's MediaItem. */
  media: CrawlResult['media'] | null
  metadata: CrawlResult['metadata'] | null
  screenshot: string | null
  duration_ms: number | null
  /** markdown.fit_markdown when a content filter made one ('' becomes null: no tab). */
  fit_markdown: string | null
  /** extracted_content, parsed: the records of the extraction strategy; null when none ran. */
  extracted: unknown[] | null
}

export function defaultForm(): PlaygroundForm {
  return {
    urls: '',
    mode: 'crawl',
    headless: true,
    viewport_width: 1280,
    viewport_height: 720,
    user_agent: '',
    java_script_enabled: true,
    wait_until: 'domcontentloaded',
    page_timeout: 60_000,
    css_selector: '',
    wait_for: '',
    screenshot: false,
    full_page: false,
    md_filter: 'fit',
    md_query: '',
    cache_mode: 'bypass',
    session_id: '',
    content_filter: 'none',
    filter_query: '',
    extraction: 'none',
    schema_text: SCHEMA_EXAMPLE,
  }
}

/** The schema editor's text as a schema object, or why it is not one (shown under the editor before anything is sent). */
export function parseSchema(text: string): { schema: Record<string, unknown> } | { error: string } {
  if (text.trim() === '') return { error: 'the schema is empty' }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { error: `not JSON: ${err instanceof Error ? err.message : String(err)}` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { error: 'the schema is a JSON object: {"baseSelector": ..., "fields": [...]}' }
  const schema = value as Record<string, unknown>
  if (typeof schema.baseSelector !== 'string') return { error: 'the schema needs a "baseSelector" string' }
  if (!Array.isArray(schema.fields)) return { error: 'the schema needs a "fields" list' }
  return { schema }
}

/** extracted_content as records: a JSON array, or the string itself as one record when it is not one. */
export function parseExtracted(content: string | null): unknown[] | null {
  if (content === null) return null
  try {
    const value: unknown = JSON.parse(content)
    return Array.isArray(value) ? value : [value]
  } catch {
    return [{ extracted_content: content }]
  }
}

/** The columns of a records table: every key of the records shown, in the order first seen. */
export function recordColumns(records: readonly unknown[]): string[] {
  const seen = new Set<string>()
  for (const r of records) if (r !== null && typeof r === 'object' && !Array.isArray(r)) for (const k of Object.keys(r)) seen.add(k)
  return [...seen]
}

/** A record's cell: strings as they are, anything nested as JSON, a missing key empty. */
export function recordCell(record: unknown, key: string): string {
  if (record === null || typeof record !== 'object' || !Object.hasOwn(record, key)) return ''
  const v = (record as Record<string, unknown>)[key]
  return typeof v === 'string' ? v : JSON.stringify(v)
}

export function parseUrls(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter((u) => u.length > 0)
}

export const usePlaygroundStore = defineStore('playground', () => {
  const form = ref<PlaygroundForm>(defaultForm())
  const running = ref(false)
  const error = ref<string | null>(null)
  const results = shallowRef<PlaygroundResult[]>([])
  const selected = ref(0)
  const elapsedMs = ref<number | null>(null)
  /** Why the schema editor's text cannot be sent; null when it can (or extraction is off). */
  const schemaError = computed(() => {
    if (form.value.extraction === 'none') return null
    const parsed = parseSchema(form.value.schema_text)
    return 'error' in parsed ? parsed.error : null
  })

  function browserConfig() {
    const f = form.value
    return {
      headless: f.headless,
      viewport_width: f.viewport_width,
      viewport_height: f.viewport_height,
      user_agent: f.user_agent.trim() || null,
      java_script_enabled: f.java_script_enabled,
    }
  }

  function crawlerConfig() {
    const f = form.value
    return {
      wait_until: f.wait_until,
      page_timeout: f.page_timeout,
      css_selector: f.css_selector.trim() || null,
      wait_for: f.wait_for.trim() || null,
      screenshot: f.screenshot,
      screenshot_full_page: f.full_page,
      cache_mode: f.cache_mode,
      session_id: f.session_id.trim() || null,
    }
  }

  /** What only /crawl takes: the content filter that makes fit_markdown, and the extraction strategy. */
  function crawlOnlyConfig(): Record<string, unknown> {
    const f = form.value
    const out: Record<string, unknown> = {}
    if (f.content_filter !== 'none') {
      const filter =
        f.content_filter === 'pruning'
          ? { type: 'PruningContentFilter', params: {} }
          : { type: 'BM25ContentFilter', params: { user_query: f.filter_query.trim() || null } }
      out.markdown_generator = { type: 'DefaultMarkdownGenerator', params: { content_filter: filter } }
    }
    if (f.extraction !== 'none') {
      const parsed = parseSchema(f.schema_text)
      if ('schema' in parsed)
        out.extraction_strategy = {
          type: f.extraction === 'css' ? 'JsonCssExtractionStrategy' : 'JsonXPathExtractionStrategy',
          params: { schema: parsed.schema },
        }
    }
    return out
  }

  async function run(): Promise<void> {
    const urls = parseUrls(form.value.urls)
    if (urls.length === 0) {
      error.value = 'enter at least one URL'
      return
    }
    if (form.value.mode === 'crawl' && schemaError.value !== null) {
      error.value = `extraction schema: ${schemaError.value}`
      return
    }
    running.value = true
    error.value = null
    const started = performance.now()
    const t = useTransport()
    try {
      if (form.value.mode === 'crawl') {
        const r = await t.call('crawl', { urls, browser_config: browserConfig(), crawler_config: { ...crawlerConfig(), ...crawlOnlyConfig() } })
        results.value = r.results.map((x) => ({
          url: x.url,
          success: x.success,
          status_code: x.status_code,
          error: x.error_message,
          // A failed URL has no Markdown: its tab is not shown.
          markdown: x.success ? x.markdown.raw_markdown : null,
          cleaned_html: x.cleaned_html,
          links: x.links,
          media: x.media,
          metadata: x.metadata,
          screenshot: x.screenshot,
          duration_ms: x.duration_ms,
          fit_markdown: x.success && x.markdown.fit_markdown !== '' ? x.markdown.fit_markdown : null,
          extracted: parseExtracted(x.extracted_content),
        }))
      } else {
        const url = urls[0]!
        const base = { url, browser_config: browserConfig(), crawler_config: { ...crawlerConfig(), screenshot: false } }
        if (form.value.mode === 'markdown') {
          const r = await t.call('markdown', { ...base, f: form.value.md_filter, q: form.value.md_query.trim() || null })
          results.value = [
            {
              url: r.url,
              success: true,
              status_code: r.status_code,
              error: null,
              markdown: r.markdown,
              cleaned_html: null,
              links: null,
              media: null,
              metadata: null,
              screenshot: null,
              duration_ms: null,
              fit_markdown: null,
              extracted: null,
            },
          ]
        } else {
          const r = await t.call('screenshot', { ...base, full_page: form.value.full_page })
          results.value = [
            {
              url: r.url,
              success: true,
              status_code: null,
              error: null,
              markdown: null,
              cleaned_html: null,
              links: null,
              media: null,
              metadata: null,
              screenshot: r.screenshot,
              duration_ms: null,
              fit_markdown: null,
              extracted: null,
            },
          ]
        }
      }
      selected.value = 0
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
      results.value = []
    } finally {
      elapsedMs.value = Math.round(performance.now() - started)
      running.value = false
    }
  }

  function reset(): void {
    form.value = defaultForm()
    results.value = []
    error.value = null
  }

  return { form, running, error, results, selected, elapsedMs, schemaError, run, reset }
})
