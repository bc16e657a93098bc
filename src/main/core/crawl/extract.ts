/*
 * Everything a crawl result needs from a page, in one round trip: the page function (extract-page.ts)
 * is sent with its arguments, and its wire (extract-wire.ts) read back into html, cleaned html,
 * links, images and metadata.
 */
import type { CDPSession, Page } from 'playwright-core'
import { firstLine, MAX_ERROR_CHARS } from '../errors.js'
import { pageExtract, type PageArgs } from './extract-page.js'
import { decodeWireOrNull, inflateWire, pageDeflate, pageError, readWire, type Extracted } from './extract-wire.js'

export type { Extracted }
export { inflateWire }

export interface ExtractOptions {
  /** Restrict cleaned_html, links and images to the elements matching this selector (all matches). */
  cssSelector: string | null
  /** Extra tag names removed from cleaned_html (and whose links/images are not collected). */
  excludedTags: string[]
  /**
   * max_capture_bytes, in characters: the page's serialized HTML may be at most this long (a
   * longer page fails with capture_too_large before anything is cloned, cleaned or sent), and so
   * may everything the extraction sends together (html, cleaned_html, links, images, metadata),
   * which the page function stops building once past it. None by default.
   */
  maxChars?: number
  /**
   * Only cleaned_html is wanted (/md, /html): the live document is not serialized and no links,
   * images or metadata are collected; html is '' and the lists empty. The cap then applies to
   * cleaned_html.
   */
  cleanedOnly?: boolean
  /** Deflate a wire of at least this many characters in the page (DEFLATE_WIRE_ABOVE by default; 0: never). */
  deflateAbove?: number
  /** Elements matching this are removed before anything reads the page (links and media in them are not collected). */
  excludedSelector?: string | null
  /** Restrict cleaned_html (and the Markdown) to these; links, media and metadata keep coming from the whole page. */
  targetElements?: string[]
  /** cleaned_html keeps text and block structure only. */
  onlyText?: boolean
  /** Text blocks with fewer words leave cleaned_html (1 by default: empty blocks go). */
  wordCountThreshold?: number
  excludeExternalLinks?: boolean
  excludeInternalLinks?: boolean
  /** Links to these domains (and their subdomains) are dropped from links and unwrapped in cleaned_html. */
  excludeDomains?: string[]
  excludeExternalImages?: boolean
  excludeAllImages?: boolean
  /** process_iframes: each iframe's body HTML, by its position among the document's iframes. */
  iframes?: Array<{ index: number; html: string }>
}

/** A domain as the page function compares it: lower case, no scheme, path, port or leading "www.". */
export function normaliseDomain(domain: string): string {
  let d = domain.trim().toLowerCase()
  d = d.replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/[/?#:].*$/s, '')
  return d.startsWith('www.') ? d.slice(4) : d
}

/** Per-list caps: a page with 10k links must not produce a 10k-entry result. */
export const MAX_LINKS_PER_LIST = 5000
export const MAX_IMAGES = 2000
/** Link texts are trimmed, whitespace-collapsed and cut to this length. */
export const MAX_LINK_TEXT = 500
/**
 * A wire of this many characters or more is deflated in the page before it crosses. CDP moves a
 * returned string character by character (the renderer and the browser each encode it once
 * more), deflating costs about half as much per character and real HTML shrinks several times;
 * below about this size the async round and the fixed costs eat the gain (docs/benchmarks.md,
 * "The extraction's wire, deflated").
 */
export const DEFLATE_WIRE_ABOVE = 128 * 1024

/*
 * The page functions go over the wire as source text. Transpilers that keep function names
 * (esbuild/tsx keepNames) insert calls to a module-level `__name` helper into nested
 * functions, which does not exist in the page: a local no-op shim covers it.
 */
const PAGE_FUNCTION_SOURCE = pageExtract.toString()
const DEFLATE_FUNCTION_SOURCE = pageDeflate.toString()
const ERROR_FUNCTION_SOURCE = pageError.toString()

/** The expression evaluated in the page: the page function, its error caught as an 'X' wire, a large wire deflated. */
function buildExpression(args: PageArgs): string {
  // JSON is a subset of JavaScript expressions, so user strings cannot break out of it.
  return (
    `(() => { const __name = (f) => f; const args = ${JSON.stringify(args)}; let wire; ` +
    `try { wire = (${PAGE_FUNCTION_SOURCE})(args) } catch (err) { return (${ERROR_FUNCTION_SOURCE})(err, args.maxErrorChars) } ` +
    `return args.deflateAbove > 0 && wire[0] === 'K' && wire.length >= args.deflateAbove ? (${DEFLATE_FUNCTION_SOURCE})(wire) : wire; })()`
  )
}

/**
 * Extracts everything a crawl result needs from the page in one evaluate round-trip:
 * serialized html, cleaned html, links, images and metadata. The live page is not touched.
 * Throws InvalidSelectorError (`invalid css_selector: ...`) when the selector does not parse.
 *
 * The round trip is a CDP `Runtime.evaluate` on `session` (the page's own, made with a reserved
 * page ahead of its request) or on one opened for the call. Playwright's page.evaluate would first
 * inject its utility script into every new document (its serializer, compiled in a renderer that
 * has never seen it) and send the result through it, a measurable part of a whole crawl's latency
 * and CPU (docs/benchmarks.md, "Extraction over CDP"). Our page function returns one string and
 * needs none of that.
 */
export async function extractFromPage(page: Page, opts: ExtractOptions, session?: CDPSession): Promise<Extracted> {
  const args: PageArgs = {
    cssSelector: opts.cssSelector,
    excludedTags: opts.excludedTags,
    maxChars: opts.maxChars ?? Number.MAX_SAFE_INTEGER,
    cleanedOnly: opts.cleanedOnly ?? false,
    maxLinks: MAX_LINKS_PER_LIST,
    maxImages: MAX_IMAGES,
    maxText: MAX_LINK_TEXT,
    deflateAbove: opts.deflateAbove ?? DEFLATE_WIRE_ABOVE,
    maxErrorChars: MAX_ERROR_CHARS,
    excludedSelector: opts.excludedSelector ?? null,
    targetElements: opts.targetElements ?? [],
    onlyText: opts.onlyText ?? false,
    wordCountThreshold: opts.wordCountThreshold ?? 1,
    excludeExternalLinks: opts.excludeExternalLinks ?? false,
    excludeInternalLinks: opts.excludeInternalLinks ?? false,
    excludedLinkDomains: [...new Set((opts.excludeDomains ?? []).map(normaliseDomain).filter((d) => d.length > 0))],
    excludeExternalImages: opts.excludeExternalImages ?? false,
    excludeAllImages: opts.excludeAllImages ?? false,
    iframes: opts.iframes ?? [],
  }
  let wire = await evaluateInPage(page, buildExpression(args), session)
  if (typeof wire === 'string' && wire[0] === 'Z') {
    const inflated = await inflateWire(wire, args.maxChars)
    const decoded = inflated === null ? null : decodeWireOrNull(inflated, args.maxChars)
    if (decoded) return decoded
    // What only a page that replaced the page function's tools can cause: ask again, undeflated.
    wire = await evaluateInPage(page, buildExpression({ ...args, deflateAbove: 0 }), session)
  }
  return readWire(wire, args.maxChars, opts)
}

/** One expression's value, by value, over CDP (`session`, or one opened for the call); the page's exception is thrown. */
export async function evaluateInPage(page: Page, expression: string, session?: CDPSession): Promise<unknown> {
  const own = session ?? (await page.context().newCDPSession(page))
  let reply
  try {
    // awaitPromise: a deflated wire comes as a promise (pageDeflate); a plain one is passed through.
    reply = await own.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })
  } catch (err) {
    if (isMissingContext(err)) return page.evaluate<unknown>(expression)
    throw err
  } finally {
    if (!session) void own.detach().catch(() => undefined)
  }
  if (reply.exceptionDetails) {
    const details = reply.exceptionDetails
    const what = 'page extraction failed: '
    throw new Error(what + firstLine(details.exception?.description ?? details.text, MAX_ERROR_CHARS - what.length))
  }
  return reply.result.value
}

/**
 * Between a navigation's commit and its new document's script context there is no context to
 * evaluate in (a page that redirects itself once loaded): Runtime.evaluate fails at once where
 * page.evaluate waits for the new context, so those calls go through page.evaluate. CDP says so
 * only in its error's text (Chromium's wording, relayed by Playwright): it is recognised here alone.
 */
function isMissingContext(err: unknown): boolean {
  return (
    err instanceof Error && /Cannot find default execution context|Execution context was destroyed|Cannot find context with specified id/i.test(err.message)
  )
}
