import { createDocument } from '@mixmark-io/domino'
import type { z } from 'zod'
import { BM25Params, MarkdownGeneratorValue, PruningParams } from '../../../shared/markdown-generator.js'
import { stemmerFor } from './stemmers.js'

/*
 * Crawl4AI's content filters, which make fit_html (and from it fit_markdown) out of a page's
 * cleaned HTML: PruningContentFilter drops blocks that look like boilerplate (little text for
 * their markup, mostly links, nav/footer-ish tags and classes); BM25ContentFilter keeps the text
 * chunks that match a query. Both run on the Markdown worker thread, on a DOM without scripting
 * (domino, turndown's parser), and every step is one or two passes over the tree.
 */

export type ContentFilterSpec =
  ({ type: 'PruningContentFilter' } & z.output<typeof PruningParams>) | ({ type: 'BM25ContentFilter' } & z.output<typeof BM25Params>)

/** The content filter a markdown_generator value asks for, or null; throws a ZodError when it is malformed. */
export function contentFilterOf(markdownGenerator: unknown): ContentFilterSpec | null {
  if (markdownGenerator === null || markdownGenerator === undefined) return null
  const filter = MarkdownGeneratorValue.parse(markdownGenerator).params.content_filter
  return filter === null ? null : ({ type: filter.type, ...filter.params } as ContentFilterSpec)
}

/** A markdown_generator value asking for `filter`: what /md sets for f=fit and f=bm25. */
export function markdownGeneratorWith(filter: { type: ContentFilterSpec['type']; params: Record<string, unknown> }) {
  return { type: 'DefaultMarkdownGenerator', params: { content_filter: filter } }
}

/** Where BM25 looks for a query when none is given: the page's title and description. */
export interface PageHints {
  title?: string | null
  description?: string | null
}

/** fit_html: the kept blocks, each wrapped in a <div>, one per line; "" when nothing is kept. */
export function filterContent(html: string, spec: ContentFilterSpec, hints: PageHints = {}): string {
  if (!html) return ''
  const doc = createDocument(`<!DOCTYPE html><html><body>${html}</body></html>`)
  const body = doc.body
  if (!body) return ''
  const blocks = spec.type === 'PruningContentFilter' ? prune(body, spec) : bm25(body, spec, hints)
  return blocks.map((b) => `<div>${b}</div>`).join('\n')
}

// ---- pruning ----------------------------------------------------------------------------------

/** Removed before scoring, as Crawl4AI does: page furniture, never content. */
const BOILERPLATE_TAGS = new Set(['NAV', 'FOOTER', 'HEADER', 'ASIDE', 'SCRIPT', 'STYLE', 'FORM', 'IFRAME', 'NOSCRIPT', 'TEMPLATE'])
/** Crawl4AI's tag weights (a tag not listed weighs 0.5). */
const TAG_WEIGHTS: Record<string, number> = {
  DIV: 0.5,
  P: 1.0,
  ARTICLE: 1.5,
  SECTION: 1.0,
  SPAN: 0.3,
  LI: 0.5,
  UL: 0.5,
  OL: 0.5,
  H1: 1.2,
  H2: 1.1,
  H3: 1.0,
  H4: 0.9,
  H5: 0.8,
  H6: 0.7,
}
/** For threshold_type "dynamic": tags whose content matters more lower their threshold. */
const TAG_IMPORTANCE: Record<string, number> = { ARTICLE: 1.5, MAIN: 1.4, SECTION: 1.3, P: 1.2, H1: 1.4, H2: 1.3, H3: 1.2, DIV: 0.7, SPAN: 0.6 }
/** Class or id starting like this: boilerplate (Crawl4AI's pattern). */
const NEGATIVE_NAME = /^(nav|footer|header|sidebar|ads|comment|promo|advert|social|share)/i

interface Metrics {
  /** Characters of text, each text node trimmed (BeautifulSoup's get_text(strip=True)). */
  text: number
  /** Characters of markup inside the element (its innerHTML, roughly). */
  markup: number
  /** Text of the element's own <a> children. */
  linkText: number
  words: number
}

/**
 * Crawl4AI's PruningContentFilter: every element, from the body down, is scored on text density
 * (text / markup), link density, tag weight, class/id names and text length; one scoring below the
 * threshold is removed with everything in it, one above has its children scored in turn. The
 * metrics are computed once, bottom-up, so the walk is linear however deep the page.
 *
 * One difference: Crawl4AI computes a class/id penalty and then adds max(0, penalty), which is
 * always 0; here a nav-, footer-, sidebar-… class or id does lower the score, as it was meant to.
 */
function prune(body: Element, spec: Extract<ContentFilterSpec, { type: 'PruningContentFilter' }>): string[] {
  for (const el of Array.from(body.querySelectorAll('*'))) if (BOILERPLATE_TAGS.has(el.tagName)) el.remove()
  const metrics = new Map<Element, Metrics>()
  measure(body, metrics)
  const preserveTags = new Set((spec.preserve_tags ?? []).map((t) => t.toUpperCase()))
  const preserveClasses = new Set(spec.preserve_classes ?? [])
  const keep = (el: Element): boolean => {
    if (preserveTags.has(el.tagName)) return true
    if (preserveClasses.size > 0) for (const c of (el.getAttribute('class') ?? '').split(/\s+/)) if (preserveClasses.has(c)) return true
    return false
  }
  // Top-down, without recursion: a page can nest thousands deep.
  const stack: Element[] = [body]
  while (stack.length > 0) {
    const el = stack.pop() as Element
    if (el !== body && !keep(el) && score(el, metrics.get(el) as Metrics, spec) < threshold(el, metrics.get(el) as Metrics, spec)) {
      el.remove()
      continue
    }
    for (let c = el.firstElementChild; c; c = c.nextElementSibling) stack.push(c)
  }
  const blocks: string[] = []
  for (let child = body.firstElementChild; child; child = child.nextElementSibling)
    if ((metrics.get(child)?.text ?? 0) > 0 && child.textContent?.trim()) blocks.push(child.outerHTML)
  return blocks
}

function measure(root: Element, out: Map<Element, Metrics>): void {
  // Post-order without recursion: children before their parent.
  const order: Element[] = []
  const stack: Element[] = [root]
  while (stack.length > 0) {
    const el = stack.pop() as Element
    order.push(el)
    for (let c = el.firstElementChild; c; c = c.nextElementSibling) stack.push(c)
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const el = order[i] as Element
    const m: Metrics = { text: 0, markup: 0, linkText: 0, words: 0 }
    for (let node = el.firstChild; node; node = node.nextSibling) {
      if (node.nodeType === 3) {
        const value = node.nodeValue ?? ''
        const trimmed = value.trim()
        m.text += trimmed.length
        m.markup += value.length
        m.words += countWords(trimmed)
      } else if (node.nodeType === 1) {
        const child = node as Element
        const c = out.get(child) as Metrics
        m.text += c.text
        m.words += c.words
        m.markup += c.markup + openTagLength(child) + child.tagName.length + 3
        if (child.tagName === 'A') m.linkText += c.text
      }
    }
    out.set(el, m)
  }
}

function openTagLength(el: Element): number {
  let n = el.tagName.length + 2
  const attrs = el.attributes
  for (let i = 0; i < attrs.length; i++) {
    const attr = attrs[i] as Attr
    n += attr.name.length + attr.value.length + 4
  }
  return n
}

function countWords(text: string): number {
  if (!text) return 0
  let n = 1
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 32) n++
  return n
}

function score(el: Element, m: Metrics, spec: { min_word_threshold: number | null }): number {
  if (spec.min_word_threshold && m.words < spec.min_word_threshold) return -1
  const textDensity = m.markup > 0 ? m.text / m.markup : 0
  const linkDensity = 1 - (m.text > 0 ? m.linkText / m.text : 0)
  const tagWeight = TAG_WEIGHTS[el.tagName] ?? 0.5
  let classId = 0
  const cls = el.getAttribute('class')
  if (cls && NEGATIVE_NAME.test(cls.trim())) classId -= 0.5
  const id = el.getAttribute('id')
  if (id && NEGATIVE_NAME.test(id)) classId -= 0.5
  // Crawl4AI's weights: text density 0.4, link density 0.2, tag 0.2, class/id 0.1, length 0.1.
  return 0.4 * textDensity + 0.2 * linkDensity + 0.2 * tagWeight + 0.1 * classId + 0.1 * Math.log(m.text + 1)
}

function threshold(el: Element, m: Metrics, spec: { threshold: number; threshold_type: 'fixed' | 'dynamic' }): number {
  if (spec.threshold_type === 'fixed') return spec.threshold
  let t = spec.threshold
  if ((TAG_IMPORTANCE[el.tagName] ?? 0.7) > 1) t *= 0.8
  if ((m.markup > 0 ? m.text / m.markup : 0) > 0.4) t *= 0.9
  if ((m.text > 0 ? m.linkText / m.text : 1) > 0.6) t *= 1.2
  return t
}

// ---- BM25 -------------------------------------------------------------------------------------

/** Elements whose text is one chunk, unless another of them is inside (then each inner one is). */
const CHUNK_TAGS = new Set([
  'P',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'LI',
  'BLOCKQUOTE',
  'PRE',
  'TD',
  'TH',
  'DT',
  'DD',
  'FIGCAPTION',
  'ARTICLE',
  'SECTION',
  'DIV',
  'TABLE',
  'UL',
  'OL',
])
/** Crawl4AI's multipliers of a chunk's score by its tag. */
const PRIORITY_TAGS: Record<string, number> = { H1: 5, H2: 4, H3: 3, TITLE: 4, STRONG: 2, B: 1.5, EM: 1.5, BLOCKQUOTE: 2, CODE: 2, PRE: 1.5, TH: 1.5 }

interface Chunk {
  el: Element
  text: string
  tokens: string[]
}

/**
 * Crawl4AI's BM25ContentFilter: the page's text split into chunks at block elements (the
 * innermost ones holding text), its words stemmed with Snowball's stemmer of `language` (see
 * ./stemmers.ts), each chunk scored against the query with BM25 (k1 1.5, b 0.75, as
 * rank_bm25's BM25Okapi), multiplied by its tag's priority; chunks at or above bm25_threshold are
 * kept in document order, a chunk whose text was already kept left out.
 */
function bm25(body: Element, spec: Extract<ContentFilterSpec, { type: 'BM25ContentFilter' }>, hints: PageHints): string[] {
  for (const el of Array.from(body.querySelectorAll('script, style, noscript, template'))) el.remove()
  // A language without a stemmer is matched on whole words (the request was warned).
  const stem = spec.use_stemming ? stemmerFor(spec.language) : null
  const all = Array.from(body.querySelectorAll('*'))
  // Which elements hold a chunk element: in reverse document order every descendant comes before its ancestor.
  const holdsChunk = new Set<Element>()
  for (let i = all.length - 1; i >= 0; i--) {
    const el = all[i] as Element
    if ((CHUNK_TAGS.has(el.tagName) || holdsChunk.has(el)) && el.parentElement) holdsChunk.add(el.parentElement)
  }
  const chunks: Chunk[] = []
  // Document order; an element with a chunk element inside gives way to it.
  for (const el of all) {
    if (!CHUNK_TAGS.has(el.tagName) || holdsChunk.has(el)) continue
    const text = (el.textContent ?? '').replace(/\s+/g, ' ').trim()
    if (!text) continue
    chunks.push({ el, text, tokens: tokenize(text, stem) })
  }
  if (chunks.length === 0) return []
  const query = tokenize(spec.user_query?.trim() || fallbackQuery(body, hints), stem)
  if (query.length === 0) return []
  const scores = okapi(
    chunks.map((c) => c.tokens),
    query,
  )
  const seen = new Set<string>()
  const kept: string[] = []
  chunks.forEach((chunk, i) => {
    const s = (scores[i] as number) * (PRIORITY_TAGS[chunk.el.tagName] ?? 1)
    if (s < spec.bm25_threshold || seen.has(chunk.text)) return
    seen.add(chunk.text)
    kept.push(chunk.el.outerHTML)
  })
  return kept
}

/** Crawl4AI's fallback when no query is given: the title, the description and the first heading and paragraph. */
function fallbackQuery(body: Element, hints: PageHints): string {
  const parts = [hints.title, hints.description, body.querySelector('h1')?.textContent, body.querySelector('p')?.textContent?.slice(0, 500)]
  return parts.filter((p): p is string => typeof p === 'string' && p.trim() !== '').join(' ')
}

function tokenize(text: string, stem: ((word: string) => string) | null): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? []
  return stem ? words.map(stem) : words
}

/** Snowball's English stemmer: what BM25ContentFilter uses by default, as Crawl4AI does. */
export function stemWord(word: string): string {
  return (stemmerFor('english') as (w: string) => string)(word)
}

/** BM25 Okapi scores of each document for the query (rank_bm25's BM25Okapi: k1 1.5, b 0.75, epsilon 0.25). */
function okapi(docs: string[][], query: string[]): number[] {
  const k1 = 1.5
  const b = 0.75
  const epsilon = 0.25
  const n = docs.length
  const avgLength = docs.reduce((sum, d) => sum + d.length, 0) / n
  const containing = new Map<string, number>()
  const frequencies = docs.map((d) => {
    const f = new Map<string, number>()
    for (const t of d) f.set(t, (f.get(t) ?? 0) + 1)
    for (const t of f.keys()) containing.set(t, (containing.get(t) ?? 0) + 1)
    return f
  })
  const idf = new Map<string, number>()
  let idfSum = 0
  const negative: string[] = []
  for (const [t, count] of containing) {
    const value = Math.log((n - count + 0.5) / (count + 0.5))
    idf.set(t, value)
    idfSum += value
    if (value < 0) negative.push(t)
  }
  const floor = epsilon * (containing.size > 0 ? idfSum / containing.size : 0)
  for (const t of negative) idf.set(t, floor)
  return frequencies.map((f, i) => {
    const length = (docs[i] as string[]).length
    let total = 0
    for (const q of query) {
      const tf = f.get(q) ?? 0
      if (tf === 0) continue
      total += ((idf.get(q) ?? 0) * (tf * (k1 + 1))) / (tf + k1 * (1 - b + (b * length) / (avgLength || 1)))
    }
    return total
  })
}
