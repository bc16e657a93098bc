import type { MarkdownResult } from '../../../shared/crawl-result.js'
import { linksToCitations } from './citations.js'
import { contentFilterOf, filterContent, type ContentFilterSpec, type PageHints } from './content-filter.js'
import { htmlToMarkdown } from './markdown.js'

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
}

export const NO_FILTER: MarkdownOptions = { filter: null }

export function generateMarkdown(html: string, options: MarkdownOptions): MarkdownResult {
  const raw = htmlToMarkdown(html)
  const { markdown_with_citations, references_markdown } = linksToCitations(raw)
  const fit_html = options.filter === null ? '' : filterContent(html, options.filter, options.hints)
  return { raw_markdown: raw, markdown_with_citations, references_markdown, fit_markdown: fit_html ? htmlToMarkdown(fit_html) : '', fit_html }
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
 * What a crawl asks of its Markdown: the content filter of crawler_config.markdown_generator (the
 * service has refused a malformed one with a 400 before any page work, so one that does not parse
 * here means none) and the page's title and description for BM25.
 */
export function markdownOptionsFor(crawlerConfig: object, metadata?: { title?: string | null; description?: string | null }): MarkdownOptions {
  let filter: ContentFilterSpec | null
  try {
    filter = contentFilterOf((crawlerConfig as { markdown_generator?: unknown }).markdown_generator)
  } catch {
    filter = null
  }
  return { filter, hints: { title: metadata?.title ?? null, description: metadata?.description ?? null } }
}
