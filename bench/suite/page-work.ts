import type { Page } from 'playwright-core'
import { extractFromPage } from '../../src/main/core/crawl/extract.js'
import { htmlToMarkdown } from '../../src/main/core/crawl/markdown.js'

/** What one page's work produced: sizes only, so the work cannot be skipped and can be compared. */
export interface PageWorkResult {
  cleanedHtmlChars: number
  markdownChars: number
  links: number
}

/**
 * The page work of POST /crawl, run by every contender that drives a page itself (bare loop, a
 * browser per request, Crawlee's requestHandler): crawldeck's own extraction (HTML, cleaned HTML,
 * links, images, metadata) and the HTML-to-Markdown conversion of the cleaned HTML. Same code on
 * every side, so a difference in the figures is a difference in what surrounds the work.
 */
export async function crawlPageWork(page: Page): Promise<PageWorkResult> {
  const extracted = await extractFromPage(page, { cssSelector: null, excludedTags: [] })
  const markdown = htmlToMarkdown(extracted.cleaned_html)
  return {
    cleanedHtmlChars: extracted.cleaned_html.length,
    markdownChars: markdown.length,
    links: extracted.links.internal.length + extracted.links.external.length,
  }
}
