/*
 * crawler_config.extraction_strategy: a JsonCss / JsonXPath schema or regex patterns, run in the
 * page (extraction-strategy-page.ts) on its own DOM, once the page is ready; the records come back
 * as extracted_content, Crawl4AI's pretty-printed JSON string.
 *
 * Why in the page rather than on the HTML in a worker: the DOM is already built there, and CSS
 * and XPath are the browser's own engines (the schema's selectors mean what they mean in
 * Chromium). Measured on a 110 KB list of 250 products with a five-field schema: about 10 ms in
 * the page, round trip included, against 25-60 ms to parse the HTML with domino and read the same
 * fields on a thread, before any transfer to a worker.
 */
import type { CDPSession, Page } from 'playwright-core'
import {
  jsPattern,
  MAX_EXTRACTED_RECORDS,
  runnableStrategy,
  type ExtractionStrategy,
  type ExtractionStrategyConfig,
  type SchemaField,
} from '../../../shared/extraction-strategy.js'
import { CaptureTooLargeError, CrawlFailedError, invalidInput, MAX_ERROR_CHARS } from '../errors.js'
import type { Deadline } from './deadline.js'
import { evaluateInPage } from './extract.js'
import { pageStrategy, type PageField, type StrategyPageArgs, type StrategyPageResult } from './extraction-strategy-page.js'
import { jsonLengthUpTo } from './json-length.js'

const PAGE_FUNCTION_SOURCE = pageStrategy.toString()

export interface StrategyOutcome {
  /** extracted_content: the records as JSON, 4-space indented, as Crawl4AI's json.dumps(indent=4). */
  content: string
  /** Set when the records stopped at MAX_EXTRACTED_RECORDS. */
  warning: string | null
}

/**
 * An XPath field selector relative to the item. Crawl4AI prefixes "." to what starts with "/" and
 * turns a selector without "/" into a descendant path naively ("div > a" → ".//div/a"). A
 * relative path with a "/" ("h3/a") it breaks (".h3/a"); here it stays relative ("./h3/a").
 */
export function relativeXPath(selector: string): string {
  const s = selector.trim()
  if (s.startsWith('.') || s.startsWith('(')) return s
  if (s.startsWith('/')) return `.${s}`
  if (s.includes('/')) return `./${s}`
  if (s.includes(' > ')) return `.//${s.split(' > ').join('/')}`
  if (s.includes(' ')) return `.//${s.split(/\s+/).join('//')}`
  return `.//${s}`
}

/** A CSS selector relative to the item: one that starts with a combinator ("> a") is anchored to it. */
function relativeCss(selector: string): string {
  const s = selector.trim()
  return /^[>+~]/.test(s) ? `:scope ${s}` : s
}

function pageFields(fields: SchemaField[], at: string, kind: 'css' | 'xpath', slots: { next: number }): PageField[] {
  return fields.map((f, i): PageField => {
    const where = `${at}.${i}`
    const steps = Array.isArray(f.type) ? f.type : [f.type]
    const nesting = f.type === 'nested' || f.type === 'nested_list' || f.type === 'list' || f.type === 'computed'
    const sibling = f.source === undefined ? null : f.source.replace(/^\+\s*/, '').trim()
    return {
      name: f.name,
      at: where,
      kind: nesting ? (f.type as PageField['kind']) : 'simple',
      steps: nesting ? [] : steps,
      selector: f.selector === undefined ? null : kind === 'xpath' ? relativeXPath(f.selector) : relativeCss(f.selector),
      attribute: f.attribute ?? null,
      // Checked with the request (extraction-strategy.ts): compiles the same way here.
      pattern: f.pattern === undefined ? null : jsPattern(f.pattern),
      slot: slots.next++,
      group: f.group ?? 1,
      transform: f.transform ?? null,
      hasDefault: f.default !== undefined,
      default: f.default ?? null,
      defaultCost: f.default === undefined ? 0 : JSON.stringify(f.default).length,
      fields: f.fields === undefined ? [] : pageFields(f.fields, `${where}.fields`, kind, slots),
      sibling,
    }
  })
}

/** The page function's arguments for a strategy, with every pattern compiled as JavaScript reads it. */
export function strategyArgs(strategy: ExtractionStrategy, maxChars: number): StrategyPageArgs {
  const base = { maxRecords: MAX_EXTRACTED_RECORDS, maxChars, maxErrorChars: MAX_ERROR_CHARS / 2 }
  if (strategy.kind === 'regex') {
    return {
      ...base,
      kind: 'regex',
      baseSelector: '',
      baseFields: [],
      fields: [],
      patterns: strategy.patterns.map(({ source, flags }) => ({ source, flags })),
      input: strategy.input,
    }
  }
  const slots = { next: 0 }
  const { schema, kind } = strategy
  return {
    ...base,
    kind,
    baseSelector: schema.baseSelector.trim(),
    baseFields: pageFields(schema.baseFields, 'baseFields', kind, slots),
    fields: pageFields(schema.fields, 'fields', kind, slots),
    patterns: [],
    input: 'text',
  }
}

/**
 * Run the strategy in the page and answer with extracted_content. A selector the browser cannot
 * parse is a 400 naming the schema's field; records past max_capture_bytes are capture_too_large.
 * The caller races the deadline: a pattern that backtracks forever holds only this page.
 */
export async function runExtractionStrategy(
  page: Page,
  config: ExtractionStrategyConfig,
  url: string,
  opts: { maxChars: number; deadline: Deadline; signal?: AbortSignal; session?: CDPSession },
): Promise<StrategyOutcome> {
  const strategy = runnableStrategy(config)
  const args = strategyArgs(strategy, opts.maxChars)
  const expression = `(() => { const __name = (f) => f; return (${PAGE_FUNCTION_SOURCE})(${JSON.stringify(args)}) })()`
  const answer = (await opts.deadline.race(evaluateInPage(page, expression, opts.session), 'extraction_strategy', opts.signal)) as StrategyPageResult | null
  if (answer === null || typeof answer !== 'object') throw new CrawlFailedError('extraction_strategy: the page answered with something that is not a result')
  if ('error' in answer) {
    if (answer.error === 'too_large') throw new CaptureTooLargeError('extracted_content', Number(answer.chars) || 0, opts.maxChars)
    const at = String(answer.at).slice(0, 200)
    const selector = selectorAt(strategy, at)
    throw invalidInput([
      {
        path: `crawler_config.extraction_strategy.params.schema.${at}`,
        message: `the browser cannot read ${JSON.stringify(selector)} as ${strategy.kind === 'xpath' && !at.endsWith('.source') ? 'an XPath' : 'a CSS selector'}: ${String(answer.message).slice(0, MAX_ERROR_CHARS / 2)}`,
      },
    ])
  }
  let records: unknown[]
  if ('matches' in answer && Array.isArray(answer.matches) && strategy.kind === 'regex') {
    records = []
    for (const m of answer.matches) {
      if (!Array.isArray(m) || typeof m[1] !== 'string') continue
      const label = strategy.patterns[Number(m[0])]?.label
      if (label === undefined) continue
      records.push({ url, label, value: m[1], span: [Number(m[2]), Number(m[3])] })
    }
  } else if ('records' in answer && Array.isArray(answer.records)) records = answer.records
  else throw new CrawlFailedError('extraction_strategy: the page answered with something that is not a result')
  // The page built these under the cap; a page that replaced what it uses may not have.
  const length = jsonLengthUpTo(records, opts.maxChars)
  if (length > opts.maxChars) throw new CaptureTooLargeError('extracted_content', length, opts.maxChars)
  const content = JSON.stringify(records, null, 4)
  if (content.length > opts.maxChars) throw new CaptureTooLargeError('extracted_content', content.length, opts.maxChars)
  const warning =
    answer.truncated === true ? `crawler_config.extraction_strategy: stopped at ${MAX_EXTRACTED_RECORDS} records; the rest of the page was not extracted` : null
  return { content, warning }
}

/** The selector the page could not parse, by its place in the schema. */
function selectorAt(strategy: ExtractionStrategy, at: string): string {
  if (strategy.kind === 'regex') return ''
  if (at === 'baseSelector') return strategy.schema.baseSelector
  const parts = at.split('.')
  let list: SchemaField[] | undefined = parts[0] === 'baseFields' ? strategy.schema.baseFields : strategy.schema.fields
  let field: SchemaField | undefined
  for (let i = 1; i < parts.length && list; i++) {
    const p = parts[i]!
    if (/^\d+$/.test(p)) field = list[Number(p)]
    else if (p === 'fields') list = field?.fields
    else if (p === 'selector') return field?.selector ?? ''
    else if (p === 'source') return field?.source ?? ''
  }
  return ''
}
