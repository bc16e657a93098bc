import type { RequestContentFilter, RequestExtraction } from '../../../shared/monitor-types.js'

/*
 * What a request ran on its pages beyond the crawl itself, summed over its URLs, for the monitor's
 * request records: the extraction strategy and the records it gave, the content filter and how
 * much of the Markdown it kept. Read from each URL's result, a cache hit's as well.
 */

/** The parts of a crawl result and of its config read here. */
export interface ProducedResult {
  extracted_content?: string | null
  markdown?: { raw_markdown: string; fit_markdown: string } | null
}
export interface ProducedConfig {
  extraction_strategy?: { type: string } | null
  markdown_generator?: { params?: { content_filter?: { type: string } | null } } | null
}

export class RequestWork {
  private extraction: RequestExtraction | null = null
  private filter: RequestContentFilter | null = null

  /** One URL's result; null for a cache hit, whose stored result is not read (its counts stay unknown). */
  add(cfg: ProducedConfig, result: ProducedResult | null): void {
    const strategy = cfg.extraction_strategy?.type
    if (strategy) {
      this.extraction ??= { strategy, records: null }
      if (result !== null) this.extraction.records = (this.extraction.records ?? 0) + countRecords(result.extracted_content)
    }
    const filter = cfg.markdown_generator?.params?.content_filter?.type
    if (filter) {
      this.filter ??= { type: filter, fit_chars: null, raw_chars: null }
      if (result !== null) {
        this.filter.fit_chars = (this.filter.fit_chars ?? 0) + (result.markdown?.fit_markdown.length ?? 0)
        this.filter.raw_chars = (this.filter.raw_chars ?? 0) + (result.markdown?.raw_markdown.length ?? 0)
      }
    }
  }

  view(): { extraction: RequestExtraction | null; content_filter: RequestContentFilter | null } {
    return { extraction: this.extraction, content_filter: this.filter }
  }
}

/**
 * The records of extracted_content, a JSON array as Crawl4AI gives it: its top-level elements,
 * counted by one scan of the text (no parse, no copy): commas at depth 1 outside strings.
 */
export function countRecords(content: string | null | undefined): number {
  if (!content) return 0
  let depth = 0
  let inString = false
  let items = 0
  let sawValue = false
  for (let i = 0; i < content.length; i++) {
    const c = content.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
      continue
    }
    if (c === 34) {
      inString = true
      if (depth === 1) sawValue = true
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (depth === 1) sawValue = true
      depth++
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
    else if (depth === 1 && c === 44 /* , */) items++
    else if (depth === 1 && c > 32) sawValue = true
  }
  return content.trimStart().startsWith('[') && sawValue ? items + 1 : 0
}
