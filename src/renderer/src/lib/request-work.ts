import type { RequestContentFilter, RequestExtraction } from '../../../shared/monitor-types'

/*
 * How the Requests tab shows what ran on a request's pages beyond the crawl: a short badge beside
 * the URL (it fits a 375 px row) and a sentence in the request's details.
 */

/** Short names of the strategies and filters, for the badge. */
const SHORT: Record<string, string> = {
  JsonCssExtractionStrategy: 'css',
  JsonXPathExtractionStrategy: 'xpath',
  JsonLxmlExtractionStrategy: 'lxml',
  RegexExtractionStrategy: 'regex',
  PruningContentFilter: 'prune',
  BM25ContentFilter: 'bm25',
}

const short = (type: string): string => SHORT[type] ?? type.replace(/(ExtractionStrategy|ContentFilter)$/, '').toLowerCase()

export interface Badge {
  text: string
  title: string
}

export function extractionBadge(e: RequestExtraction | null | undefined): Badge | null {
  if (!e) return null
  const records = e.records === null ? '' : ` ${e.records.toLocaleString('en-US')}`
  return { text: `${short(e.strategy)}${records}`, title: extractionDetail(e) }
}

export function extractionDetail(e: RequestExtraction | null | undefined): string {
  if (!e) return '—'
  if (e.records === null) return `${e.strategy}: served from the result cache (records not counted)`
  return `${e.strategy}: ${e.records.toLocaleString('en-US')} record${e.records === 1 ? '' : 's'} extracted`
}

/** The share of the page's Markdown that the filter kept, in percent; null when unknown. */
export function keptPercent(f: RequestContentFilter): number | null {
  if (f.fit_chars === null || f.raw_chars === null) return null
  if (f.raw_chars === 0) return 0
  return Math.round((100 * f.fit_chars) / f.raw_chars)
}

export function filterBadge(f: RequestContentFilter | null | undefined): Badge | null {
  if (!f) return null
  const pct = keptPercent(f)
  return { text: `${short(f.type)}${pct === null ? '' : ` ${pct}%`}`, title: filterDetail(f) }
}

export function filterDetail(f: RequestContentFilter | null | undefined): string {
  if (!f) return '—'
  const pct = keptPercent(f)
  if (pct === null || f.fit_chars === null || f.raw_chars === null) return `${f.type}: served from the result cache (sizes not counted)`
  return `${f.type}: kept ${f.fit_chars.toLocaleString('en-US')} of ${f.raw_chars.toLocaleString('en-US')} Markdown characters (${pct}%)`
}
