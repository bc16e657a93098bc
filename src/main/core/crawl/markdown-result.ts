import type { MarkdownResult } from '../../../shared/crawl-result.js'
import { MarkdownGeneratorValue } from '../../../shared/markdown-generator.js'
import { linksToCitations } from './citations.js'
import { filterContent, type ContentFilterSpec, type PageHints } from './content-filter.js'
import { htmlToMarkdown, type Html2TextOptions } from './markdown.js'
import { htmlForSchema } from './schema-html.js'

/*
 * A page's MarkdownResult, as Crawl4AI's DefaultMarkdownGenerator makes it: the Markdown of the
 * cleaned HTML, the same with numbered citations and their references, and, when a content
 * filter is asked for, the filtered HTML and its Markdown. Runs on the Markdown worker thread.
 */

export interface MarkdownOptions {
  /** The content filter of crawler_config.markdown_generator; null: fit_markdown and fit_html are "". */
  filter: ContentFilterSpec | null
  /** The page's title and description, BM25's query when none is given. */
  hints?: PageHints
  /** DefaultMarkdownGenerator's options (html2text's); null: the defaults. */
  html2text?: Html2TextOptions | null
  /**
   * DefaultMarkdownGenerator's content_source: which HTML the Markdown (and the filter) start
   * from. The crawler passes the page's raw HTML for raw_html and fit_html; fit_html is that HTML
   * reduced here as Crawl4AI reduces it for schema work (see ./schema-html.ts).
   */
  contentSource?: 'cleaned_html' | 'raw_html' | 'fit_html'
}

export const NO_FILTER: MarkdownOptions = { filter: null }

export function generateMarkdown(source: string, options: MarkdownOptions): MarkdownResult {
  const html = options.contentSource === 'fit_html' ? htmlForSchema(source) : source
  const raw = htmlToMarkdown(html, options.html2text)
  const { markdown_with_citations, references_markdown } = linksToCitations(raw)
  const fit_html = options.filter === null ? '' : filterContent(html, options.filter, options.hints)
  return {
    raw_markdown: raw,
    markdown_with_citations,
    references_markdown,
    fit_markdown: fit_html ? htmlToMarkdown(fit_html, options.html2text) : '',
    fit_html,
  }
}

/** The longest string of a result: each is bounded by max_capture_bytes on its own. */
export function longestField(result: MarkdownResult): number {
  return Math.max(
    result.raw_markdown.length,
    result.markdown_with_citations.length,
    result.references_markdown.length,
    result.fit_markdown.length,
    result.fit_html.length,
  )
}

/** The result of a page with nothing to convert. */
export function emptyMarkdown(): MarkdownResult {
  return { raw_markdown: '', markdown_with_citations: '', references_markdown: '', fit_markdown: '', fit_html: '' }
}

/**
 * What a crawl asks of its Markdown: crawler_config.markdown_generator's content filter, html2text
 * options and content_source (the service has refused a malformed value with a 400 before any
 * page work, so one that does not parse here means none), and the page's title and description
 * for BM25.
 */
export function markdownOptionsFor(crawlerConfig: object, metadata?: { title?: string | null; description?: string | null }): MarkdownOptions {
  const hints = { title: metadata?.title ?? null, description: metadata?.description ?? null }
  const value = (crawlerConfig as { markdown_generator?: unknown }).markdown_generator
  if (value === null || value === undefined) return { filter: null, hints }
  const parsed = MarkdownGeneratorValue.safeParse(value)
  if (!parsed.success) return { filter: null, hints }
  const { content_filter, options, content_source } = parsed.data.params
  const filter = content_filter === null ? null : ({ type: content_filter.type, ...content_filter.params } as ContentFilterSpec)
  return { filter, hints, html2text: options ?? null, contentSource: content_source }
}

/** The HTML a crawl's Markdown starts from, by its content_source: the page's own for raw_html and fit_html. */
export function markdownSource(options: MarkdownOptions, page: { cleaned_html: string; html: string }): string {
  return options.contentSource === 'raw_html' || options.contentSource === 'fit_html' ? page.html || page.cleaned_html : page.cleaned_html
}
