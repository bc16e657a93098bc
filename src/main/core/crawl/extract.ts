import { promisify } from 'node:util'
import { inflateRaw } from 'node:zlib'
import type { CDPSession, Page } from 'playwright-core'
import type { PageLink, PageMetadata } from '../../../shared/crawl-schemas.js'
import { CaptureTooLargeError, capText, firstLine, MAX_ERROR_CHARS } from '../errors.js'

export interface Extracted {
  html: string
  cleaned_html: string
  links: { internal: PageLink[]; external: PageLink[] }
  media: { images: Array<{ src: string; alt: string }> }
  metadata: PageMetadata
}

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
}

/** Per-list caps: a page with 10k links must not produce a 10k-entry result. */
export const MAX_LINKS_PER_LIST = 5000
export const MAX_IMAGES = 2000
/** Link texts are trimmed, whitespace-collapsed and cut to this length. */
export const MAX_LINK_TEXT = 500
/**
 * A wire of this many characters or more is deflated in the page before it crosses. CDP moves a
 * returned string at ~80 ns per character on the 2-core bench hosts (the renderer and the browser
 * each encode it once more), deflating costs ~40 and real HTML shrinks 4-6x; below ~100 K
 * characters the async round and the fixed costs eat the gain (docs/benchmarks.md, "The
 * extraction's wire, deflated").
 */
export const DEFLATE_WIRE_ABOVE = 128 * 1024

interface PageArgs {
  cssSelector: string | null
  excludedTags: string[]
  maxChars: number
  cleanedOnly: boolean
  maxLinks: number
  maxImages: number
  maxText: number
  /** A wire of at least this many characters crosses deflated (0: never). */
  deflateAbove: number
  /** Of an error thrown in the page function, this much of its first line crosses ('X'). */
  maxErrorChars: number
}

/**
 * What crosses the wire is ONE string. Playwright serializes returned objects one by one in the
 * page (about 0.1 ms per object: 5000 link objects would cost half a second) and its serializer
 * relies on page globals such as Array.prototype.push, which hostile pages replace. A single
 * string avoids both.
 *
 *   'E' + length + ':' + error message              the css selector did not parse (the message's
 *                                                   first maxErrorChars)
 *   'L' + length                                    the html (cleaned html when cleanedOnly) is
 *                                                   longer than maxChars
 *   'T' + length so far                             html and the fields built after it came to
 *                                                   more than maxChars (the rest is not built)
 *   'X' + length + ':' + text                       the page function threw (a page replaced what
 *                                                   it uses): the first non-empty line of what it
 *                                                   threw, its length and its first maxErrorChars
 *   'K' + len,len,...;  + the fields back to back   success, fields in WIRE_FIELDS order
 *   'Z' + base64                                    a 'K' wire of DEFLATE_WIRE_ABOVE characters or
 *                                                   more: its UTF-8, raw-deflated (pageDeflate)
 *
 * Nullable fields are '' for null and '=' + value otherwise. Inside the links, images and
 * social fields, records are separated by U+0001 and fields by U+0000: neither can occur in a
 * serialized http(s)/data URL, and texts have control characters replaced by spaces in the page.
 */
const WIRE_FIELDS = [
  'html',
  'cleaned',
  'links', // kind ('i' | 'e') \0 href \0 text
  'images', // src \0 alt
  'title',
  'description',
  'keywords',
  'author',
  'language',
  'canonical',
  'social', // key \0 value
] as const

const FIELD = '\u0000'
const RECORD = '\u0001'

/**
 * Runs inside the page. It must be self-contained: it is serialized with toString() and
 * evaluated in the page, so it may reference nothing from this module. It works on a clone
 * of the document (a document without a browsing context: nothing in it loads or runs) and
 * avoids the page's own globals where it cheaply can (JSON, Set, Map, Array methods,
 * instance overrides on `document`), because pages are hostile.
 */
function pageExtract(args: PageArgs): string {
  /**
   * Strings the page chose are used as property keys (to deduplicate links, images and social
   * keys; to look up tag and attribute names) only up to this length. V8 hashes a longer string
   * by its length alone, so same-length keys all collide and each lookup compared against all the
   * others: 1,000 links of 100 KB (a long <base href>) took 18 s here. Longer ones are kept as
   * they come, not deduplicated.
   */
  const SHORT_KEY = 4096
  const live = document
  // Clone through the prototype so an instance override on `document` cannot intercept it.
  const doc = Node.prototype.cloneNode.call(live, true) as Document

  // ---- html: what page.content() returns --------------------------------------------------
  const full = !args.cleanedOnly
  let html = ''
  // cleanedOnly (/md, /html): the live document is not serialized at all.
  if (full) {
    const doctype = doc.doctype
    if (doctype) {
      html = '<!DOCTYPE ' + doctype.name
      if (doctype.publicId) html += ' PUBLIC "' + doctype.publicId + '"'
      else if (doctype.systemId) html += ' SYSTEM'
      if (doctype.systemId) html += ' "' + doctype.systemId + '"'
      html += '>'
    }
    // Serialized from the live document: a clone has no browsing context, so scripting is off
    // there and <noscript> contents would serialize escaped, unlike page.content(). Prototype
    // getters, so instance overrides on `document` cannot feed us something else.
    const rootGetter = Object.getOwnPropertyDescriptor(Document.prototype, 'documentElement')
    const outerGetter = Object.getOwnPropertyDescriptor(Element.prototype, 'outerHTML')
    const liveRoot = (rootGetter && rootGetter.get ? rootGetter.get.call(live) : live.documentElement) as Element | null
    if (liveRoot) html += outerGetter && outerGetter.get ? (outerGetter.get.call(liveRoot) as string) : liveRoot.outerHTML
    // Past the cap nothing more is built: the clone, the cleaning and the wire would double it.
    if (html.length > args.maxChars) return 'L' + html.length
  }
  // What the wire holds so far. Past maxChars nothing more is built ('T'): the other fields can
  // grow far beyond the page itself, since every relative link and image is made absolute, and a
  // 100 KB <base href> under 1,000 links made 100 MB each of cleaned_html, links and Markdown.
  let sent = html.length
  let tooLarge = false
  const rootElement = doc.documentElement

  // ---- roots: selector matches (outermost only) or body ------------------------------------
  const roots: Element[] = []
  if (args.cssSelector !== null) {
    let matches: NodeListOf<Element>
    try {
      matches = doc.querySelectorAll(args.cssSelector)
    } catch (err) {
      const message = err && typeof (err as Error).message === 'string' ? (err as Error).message : String(err)
      // A page that replaced querySelectorAll decides what this says: its length and start only.
      let kept = ''
      for (let i = 0; i < message.length && i < args.maxErrorChars; i++) kept += message[i]
      return 'E' + message.length + ':' + kept
    }
    let last: Element | null = null
    for (let i = 0; i < matches.length; i++) {
      const el = matches[i]!
      // Matches come in document order, so a match nested in an earlier one is inside the last kept root.
      if (last && last.contains(el)) continue
      roots[roots.length] = el
      last = el
    }
  } else {
    const body = doc.body || doc.documentElement
    if (body) roots[0] = body
  }

  // ---- metadata (read from the clone: instance overrides such as a fake document.title do not apply)
  /**
   * Host of a serialized http(s) URL, lowercased, without a leading 'www.'; '' for other
   * schemes. String work only: no reliance on the page's window.URL, and one less URL parse
   * per link (the href getter already gave the serialized form).
   */
  const hostOf = (url: string): string => {
    const lower = url.slice(0, 8).toLowerCase()
    const start = lower.indexOf('https://') === 0 ? 8 : lower.indexOf('http://') === 0 ? 7 : -1
    if (start < 0) return ''
    let end = url.length
    for (let i = start; i < url.length; i++) {
      const ch = url.charCodeAt(i)
      if (ch === 47 || ch === 63 || ch === 35 || ch === 92) {
        end = i
        break
      }
    }
    let host = url.slice(start, end)
    const at = host.lastIndexOf('@')
    if (at >= 0) host = host.slice(at + 1)
    const colon = host.lastIndexOf(':')
    if (colon >= 0 && host.indexOf(']', colon) < 0) host = host.slice(0, colon)
    host = host.toLowerCase()
    return host.indexOf('www.') === 0 ? host.slice(4) : host
  }
  const pageHost = hostOf(String(doc.URL))

  /** Control characters become spaces (they double as separators on the wire), whitespace collapses. */
  const cleanText = (value: string, max: number): string => {
    let text = value.replace(/[\u0000-\u001f\s]+/g, ' ').trim()
    if (text.length > max) text = text.slice(0, max).trim()
    return text
  }

  // Nullable wire fields: '' is null, '=' + value is a value.
  let titleField = ''
  let languageField = ''
  let descriptionField = ''
  let keywordsField = ''
  let authorField = ''
  let canonicalField = ''
  let social = ''
  // cleanedOnly: no metadata (every field null).
  if (full) {
    const title = doc.title
    if (title) titleField = '=' + title
    const lang = rootElement ? rootElement.getAttribute('lang') : null
    if (lang && lang.trim()) languageField = '=' + lang.trim()
    const seenSocial = { __proto__: null } as unknown as Record<string, true>
    const metas = doc.getElementsByTagName('meta')
    for (let i = 0; i < metas.length; i++) {
      const meta = metas[i]!
      const content = meta.getAttribute('content')
      if (content === null) continue
      const key = (meta.getAttribute('property') || meta.getAttribute('name') || '').trim().toLowerCase()
      if (!key) continue
      if (key === 'description') {
        if (!descriptionField) descriptionField = '=' + content.trim()
      } else if (key === 'keywords') {
        if (!keywordsField) keywordsField = '=' + content.trim()
      } else if (key === 'author') {
        if (!authorField) authorField = '=' + content.trim()
      } else if ((key.indexOf('og:') === 0 || key.indexOf('twitter:') === 0) && (key.length > SHORT_KEY || seenSocial[key] !== true)) {
        if (key.length <= SHORT_KEY) seenSocial[key] = true
        social += (social ? '\u0001' : '') + cleanText(key, 200) + '\u0000' + content.replace(/[\u0000\u0001]/g, ' ').trim()
      }
    }
    const linkEls = doc.getElementsByTagName('link')
    for (let i = 0; i < linkEls.length && !canonicalField; i++) {
      const link = linkEls[i] as HTMLLinkElement
      const rel = ' ' + (link.getAttribute('rel') || '').toLowerCase().replace(/\s+/g, ' ') + ' '
      if (rel.indexOf(' canonical ') >= 0 && link.getAttribute('href') && typeof link.href === 'string') canonicalField = '=' + link.href
    }
    sent += titleField.length + languageField.length + descriptionField.length + keywordsField.length + authorField.length + canonicalField.length + social.length
    if (sent > args.maxChars) return 'T' + sent
  }

  // ---- cleaning walk ----------------------------------------------------------------------
  const remove: Record<string, true> = {
    __proto__: null,
    script: true,
    style: true,
    noscript: true,
    template: true,
    iframe: true,
    frame: true,
    frameset: true,
    object: true,
    embed: true,
    applet: true,
    link: true,
    meta: true,
    base: true,
    svg: true,
  } as unknown as Record<string, true>
  // No tag name longer than this is looked up (see SHORT_KEY).
  let longestRemoved = 8
  for (let i = 0; i < args.excludedTags.length; i++) {
    const tag = args.excludedTags[i]
    if (typeof tag === 'string' && tag) {
      remove[tag.toLowerCase()] = true
      if (tag.length > longestRemoved) longestRemoved = tag.length
    }
  }
  const removed = (tag: string): boolean => tag.length <= longestRemoved && remove[tag] === true
  const urlAttrs: Record<string, true> = {
    __proto__: null,
    href: true,
    src: true,
    action: true,
    formaction: true,
    'xlink:href': true,
    data: true,
    poster: true,
    background: true,
    lowsrc: true,
    dynsrc: true,
    cite: true,
    longdesc: true,
    ping: true,
    codebase: true,
    manifest: true,
  } as unknown as Record<string, true>

  const anchors: Array<{ el: Element; href: string; internal: boolean }> = []
  const seenLinks = { __proto__: null } as unknown as Record<string, true>
  let images = ''
  let imageCount = 0
  const seenImages = { __proto__: null } as unknown as Record<string, true>
  let internalCount = 0
  let externalCount = 0

  const isScriptUrl = (value: string): boolean => {
    // The URL parser ignores leading C0/space and tabs/newlines anywhere: strip them all.
    const v = value.replace(/[\u0000-\u0020]+/g, '').toLowerCase()
    return v.indexOf('javascript:') === 0 || v.indexOf('vbscript:') === 0 || v.indexOf('data:text/html') === 0
  }

  const sanitize = (el: Element): void => {
    const attrs = el.attributes
    for (let i = attrs.length - 1; i >= 0; i--) {
      const attr = attrs[i]
      if (!attr) continue
      const name = attr.name.toLowerCase()
      if (name.indexOf('on') === 0 || name === 'style' || name === 'srcdoc') el.removeAttribute(attr.name)
      else if (name.length <= 10 && urlAttrs[name] === true && isScriptUrl(attr.value)) el.removeAttribute(attr.name)
    }
  }

  const visitAnchor = (el: Element): void => {
    const raw = el.getAttribute('href')
    if (raw === null) return
    const trimmed = raw.trim()
    if (!trimmed || trimmed.charAt(0) === '#' || isScriptUrl(trimmed)) return
    const a = el as HTMLAnchorElement
    // One URL parse per link: the href getter. It returns the attribute unchanged when it
    // cannot be parsed, so only in that case is the protocol getter asked to confirm.
    const href = a.href
    if (typeof href !== 'string') return // an <a> that is not an HTML anchor (XML documents)
    const lower = href.slice(0, 8).toLowerCase()
    if (lower.indexOf('https://') !== 0 && lower.indexOf('http://') !== 0) return // mailto:, tel:, ftp:, data:...
    if (href === raw && a.protocol !== 'http:' && a.protocol !== 'https:') return // unparsable
    if (href.indexOf('\u0000') >= 0 || href.indexOf('\u0001') >= 0) return
    if (href !== raw) el.setAttribute('href', href) // absolute in cleaned_html too, so markdown links work off-page
    if (!full) return
    if (href.length <= SHORT_KEY) {
      if (seenLinks[href] === true) return
      seenLinks[href] = true
    }
    const host = hostOf(href)
    const internal = host === pageHost
    if (internal) {
      if (internalCount >= args.maxLinks) return
      internalCount++
    } else {
      if (externalCount >= args.maxLinks) return
      externalCount++
    }
    anchors[anchors.length] = { el, href, internal }
  }

  const visitImage = (el: Element): void => {
    const raw = el.getAttribute('src')
    if (raw === null || !raw.trim()) return
    const src = (el as HTMLImageElement).src
    if (typeof src !== 'string') return
    const lower = src.slice(0, 8).toLowerCase()
    const ok = lower.indexOf('http://') === 0 || lower.indexOf('https://') === 0 || (lower.indexOf('data:') === 0 && src.length <= 4096)
    if (!ok || src.indexOf('\u0000') >= 0 || src.indexOf('\u0001') >= 0) return
    if (src !== raw) el.setAttribute('src', src)
    if (!full || tooLarge || imageCount >= args.maxImages || (src.length <= SHORT_KEY && seenImages[src] === true)) return
    if (src.length <= SHORT_KEY) seenImages[src] = true
    imageCount++
    images += (images ? '\u0001' : '') + src + '\u0000' + cleanText(el.getAttribute('alt') || '', args.maxText)
    if (sent + images.length > args.maxChars) tooLarge = true
  }

  const parts: string[] = []
  let cleanedLength = 0
  for (let r = 0; r < roots.length; r++) {
    const root = roots[r]!
    if (removed(root.localName)) continue
    sanitize(root)
    if (root.localName === 'a' || root.localName === 'area') visitAnchor(root)
    else if (root.localName === 'img') visitImage(root)
    // Iterative pre-order walk over elements; removed subtrees are skipped, not visited.
    let el: Element | null = root.firstElementChild
    while (el) {
      const tag = el.localName
      let next: Element | null
      if (removed(tag)) {
        next = null
        let cur: Element | null = el
        while (cur && cur !== root) {
          if (cur.nextElementSibling) {
            next = cur.nextElementSibling
            break
          }
          cur = cur.parentElement
        }
        el.remove()
        el = next
        continue
      }
      sanitize(el)
      if (tag === 'a' || tag === 'area') visitAnchor(el)
      else if (tag === 'img') visitImage(el)
      next = el.firstElementChild
      if (!next) {
        let cur: Element | null = el
        while (cur && cur !== root) {
          if (cur.nextElementSibling) {
            next = cur.nextElementSibling
            break
          }
          cur = cur.parentElement
        }
      }
      el = next
    }
    // Comments go too (0x80 = NodeFilter.SHOW_COMMENT; the page may have replaced NodeFilter).
    const walker = doc.createTreeWalker(root, 0x80)
    const comments: Node[] = []
    while (walker.nextNode()) comments[comments.length] = walker.currentNode
    for (let i = 0; i < comments.length; i++) {
      const c = comments[i]!
      if (c.parentNode) c.parentNode.removeChild(c)
    }
    if (tooLarge) return 'T' + (sent + images.length)
    const part = root.outerHTML
    parts[parts.length] = part
    cleanedLength += (r ? 1 : 0) + part.length
    if (full && sent + images.length + cleanedLength > args.maxChars) return 'T' + (sent + images.length + cleanedLength)
  }
  sent += images.length + cleanedLength

  // Link texts after cleaning, so script/style text inside an anchor does not leak in.
  let links = ''
  for (let i = 0; i < anchors.length; i++) {
    const entry = anchors[i]!
    let text = cleanText(entry.el.textContent || '', args.maxText)
    if (!text) {
      const label = entry.el.getAttribute('aria-label') || entry.el.getAttribute('title')
      if (label) text = cleanText(label, args.maxText)
      else {
        const img = entry.el.getElementsByTagName('img')[0]
        if (img) text = cleanText(img.getAttribute('alt') || '', args.maxText)
      }
    }
    links += (i ? '\u0001' : '') + (entry.internal ? 'i' : 'e') + '\u0000' + entry.href + '\u0000' + text
    if (sent + links.length > args.maxChars) return 'T' + (sent + links.length)
  }

  let cleaned = ''
  for (let i = 0; i < parts.length; i++) cleaned += (i ? '\n' : '') + parts[i]
  if (!full && cleaned.length > args.maxChars) return 'L' + cleaned.length

  // Same order as WIRE_FIELDS.
  const fields = [
    html,
    cleaned,
    links,
    images,
    titleField,
    descriptionField,
    keywordsField,
    authorField,
    languageField,
    canonicalField,
    social,
  ]
  let header = ''
  let body = ''
  for (let i = 0; i < fields.length; i++) {
    header += (i ? ',' : '') + fields[i]!.length
    body += fields[i]
  }
  return 'K' + header + ';' + body
}

/*
 * The page function goes over the wire as source text. Transpilers that keep function names
 * (esbuild/tsx keepNames) insert calls to a module-level `__name` helper into nested
 * functions, which does not exist in the page: a local no-op shim covers it.
 */
const PAGE_FUNCTION_SOURCE = pageExtract.toString()

/**
 * Runs in the page on a finished 'K' wire: its UTF-8, raw-deflated by the browser's own zlib
 * (CompressionStream), base64'd for the string-only channel. Anything amiss (no
 * CompressionStream, a page that replaced what this uses) gives the wire back as it is; a page
 * that fakes a result instead is caught on our side, which then asks again undeflated.
 */
async function pageDeflate(wire: string): Promise<string> {
  try {
    const stream = new CompressionStream('deflate-raw')
    const writer = stream.writable.getWriter()
    void writer.write(new TextEncoder().encode(wire))
    void writer.close()
    const bytes = new Uint8Array(await new Response(stream.readable).arrayBuffer())
    // A page that replaced these can hand back anything, and it would cross in full before our
    // side could refuse it. An honest deflate of the wire's UTF-8 (3 bytes a character at most)
    // is hardly larger than that, and base64 is exactly 4 characters per 3 bytes.
    if (bytes.length > 3 * wire.length + 1024) return wire
    let base64: unknown
    const toBase64 = (bytes as Uint8Array & { toBase64?: () => string }).toBase64
    if (typeof toBase64 === 'function') base64 = toBase64.call(bytes)
    else {
      let binary = ''
      for (let i = 0; i < bytes.length; i += 32768) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768) as unknown as number[])
      base64 = btoa(binary)
    }
    if (typeof base64 !== 'string' || base64.length !== 4 * Math.ceil(bytes.length / 3)) return wire
    return 'Z' + base64
  } catch {
    return wire
  }
}
const DEFLATE_FUNCTION_SOURCE = pageDeflate.toString()

/**
 * Runs in the page on what the page function threw: an 'X' wire. The page chose what that is (it
 * replaced a DOM method the function uses). Let through whole, a 20 MB message cost the renderer
 * and CDP 1.4 s and the service a 20 MB message to parse on its event loop; a larger one could
 * exhaust it. Only the first non-empty line's length and its first `max` characters cross, read a
 * character at a time, since the page may have replaced String's methods too.
 */
function pageError(err: unknown, max: number): string {
  let text = 'an error that could not be read'
  try {
    const e = err as { name?: unknown; message?: unknown } | null
    const described = e !== null && typeof e === 'object' && typeof e.message === 'string' ? (typeof e.name === 'string' ? e.name : 'Error') + ': ' + e.message : '' + err
    if (typeof described === 'string') text = described
  } catch {
    // keep the placeholder
  }
  // The first line with anything but whitespace (control characters and spaces), trimmed.
  let start = 0
  let end = 0
  let first = -1
  let last = -1
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text[i] === '\n') {
      if (first >= 0) {
        start = first
        end = last + 1
        break
      }
    } else if (text[i]! > ' ') {
      if (first < 0) first = i
      last = i
    }
  }
  let kept = ''
  for (let i = start; i < end && i < start + max; i++) kept += text[i]
  return 'X' + (end - start) + ':' + kept
}
const ERROR_FUNCTION_SOURCE = pageError.toString()

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
 * Throws `invalid css_selector: ...` when the selector does not parse.
 *
 * The round trip is a CDP `Runtime.evaluate` on `session` (the page's own, made with a reserved
 * page ahead of its request) or on one opened for the call. Playwright's page.evaluate would first
 * inject its utility script into every new document (its serializer, compiled in a renderer that
 * has never seen it) and send the result through it: on the 100 KB fixture article that cost
 * 7 % of the latency and 5 % of the CPU of a whole crawl (docs/benchmarks.md). Our page function
 * returns one string and needs none of that.
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
  }
  let wire = await evaluateString(page, buildExpression(args), session)
  if (typeof wire === 'string' && wire[0] === 'Z') {
    const inflated = await inflateWire(wire, args.maxChars)
    const decoded = inflated === null ? null : decodeWireOrNull(inflated, args.maxChars)
    if (decoded) return decoded
    // What only a page that replaced the page function's tools can cause: ask again, undeflated.
    wire = await evaluateString(page, buildExpression({ ...args, deflateAbove: 0 }), session)
  }
  if (typeof wire !== 'string' || wire.length === 0) throw new Error('page extraction returned no result')
  // Whatever the page sent is measured before it is read: the page function stops at the cap, but
  // a page that replaced its tools can send anything, and is not decoded, split or converted.
  if (wire.length > maxWireChars(args.maxChars)) throw new CaptureTooLargeError('extraction', wire.length, args.maxChars)
  if (wire[0] === 'E') {
    const colon = wire.indexOf(':')
    const said = capText(wire.slice(colon + 1), MAX_ERROR_CHARS / 2, Number(wire.slice(1, colon)))
    throw new Error(capText(`invalid css_selector: ${JSON.stringify(opts.cssSelector)} (${said})`))
  }
  if (wire[0] === 'L') throw new CaptureTooLargeError('HTML', Number(wire.slice(1)), args.maxChars)
  if (wire[0] === 'T') throw new CaptureTooLargeError('extraction', Number(wire.slice(1)), args.maxChars)
  if (wire[0] === 'X') {
    const colon = wire.indexOf(':')
    const what = 'page extraction failed: '
    // Cut once, here, counting what the page did not send.
    throw new Error(what + capText(wire.slice(colon + 1), MAX_ERROR_CHARS - what.length, Number(wire.slice(1, colon))))
  }
  return decodeWire(wire, args.maxChars)
}

const inflateRawAsync = promisify(inflateRaw)

/** A 'K' wire's kind letter, field lengths and ';': eleven numbers of at most 16 digits. */
const WIRE_HEADER_CHARS = 1 + WIRE_FIELDS.length * 17 + 1

/** The longest wire an honest page function sends under the cap: its fields come to at most maxChars. */
function maxWireChars(maxChars: number): number {
  return maxChars + WIRE_HEADER_CHARS
}

/**
 * A 'Z' wire's text (a 'K' wire if the page was honest), or null when it does not inflate.
 * Inflated on libuv's threads, not the event loop, and never past what an honest wire of the page
 * could be (its fields at most maxChars characters together, at most 3 UTF-8 bytes each): a page
 * that sent a deflate bomb gets a refusal, not our memory; nor is a base64 text longer than such
 * a wire could deflate to decoded at all. (UTF-8 has no lone surrogates: one in the page's text
 * arrives as U+FFFD, the same length.)
 */
export async function inflateWire(wire: string, maxChars: number): Promise<string | null> {
  const maxOutputLength = Math.min(2 ** 30, 3 * maxWireChars(maxChars))
  // Deflate adds at most 5 bytes per 16 K block to data it cannot shrink; base64 is 4 per 3.
  if (wire.length > 1 + Math.ceil(((maxOutputLength * 1.001 + 1024) * 4) / 3)) return null
  try {
    return (await inflateRawAsync(Buffer.from(wire.slice(1), 'base64'), { maxOutputLength })).toString('utf8')
  } catch {
    return null
  }
}

/**
 * Between a navigation's commit and its new document's script context there is no context to
 * evaluate in (a page that redirects itself once loaded): Runtime.evaluate fails at once where
 * page.evaluate waits for the new context. Those calls go through page.evaluate.
 */
const NO_CONTEXT = /Cannot find default execution context|Execution context was destroyed|Cannot find context with specified id/i

async function evaluateString(page: Page, expression: string, session?: CDPSession): Promise<unknown> {
  const own = session ?? (await page.context().newCDPSession(page))
  try {
    // awaitPromise: a deflated wire comes as a promise (pageDeflate); a plain one is passed through.
    const reply = await own.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })
    if (reply.exceptionDetails) {
      const details = reply.exceptionDetails
      const what = 'page extraction failed: '
      throw new Error(what + firstLine(details.exception?.description ?? details.text, MAX_ERROR_CHARS - what.length))
    }
    return reply.result.value
  } catch (err) {
    if (err instanceof Error && NO_CONTEXT.test(err.message)) return page.evaluate<unknown>(expression)
    throw err
  } finally {
    if (!session) void own.detach().catch(() => undefined)
  }
}

function decodeWireOrNull(wire: string, maxChars: number): Extracted | null {
  try {
    return decodeWire(wire, maxChars)
  } catch {
    return null
  }
}

/** The fields of a 'K' wire; capture_too_large, before anything is sliced, when they come to more than maxChars. */
function decodeWire(wire: string, maxChars: number): Extracted {
  // The header is short: a page's ';' further on is not looked for.
  const semi = wire.slice(0, WIRE_HEADER_CHARS).indexOf(';')
  const lengths = semi > 1 ? wire.slice(1, semi).split(',').map(Number) : []
  if (wire[0] !== 'K' || lengths.length !== WIRE_FIELDS.length || lengths.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error('page extraction returned a malformed result')
  }
  const total = lengths.reduce((sum, n) => sum + n, 0)
  if (total > maxChars) throw new CaptureTooLargeError('extraction', total, maxChars)
  const f: Record<(typeof WIRE_FIELDS)[number], string> = Object.create(null)
  let pos = semi + 1
  WIRE_FIELDS.forEach((name, i) => {
    const len = lengths[i]!
    f[name] = wire.slice(pos, pos + len)
    pos += len
  })
  if (pos !== wire.length) throw new Error('page extraction returned a malformed result')
  const nullable = (value: string): string | null => (value ? value.slice(1) : null)

  const internal: PageLink[] = []
  const external: PageLink[] = []
  if (f.links) {
    for (const record of f.links.split(RECORD)) {
      const parts = record.split(FIELD)
      if (parts.length !== 3) continue
      const link: PageLink = { href: parts[1]!, text: parts[2]! }
      if (parts[0] === 'i') internal.push(link)
      else external.push(link)
    }
  }
  const images: Array<{ src: string; alt: string }> = []
  if (f.images) {
    for (const record of f.images.split(RECORD)) {
      const parts = record.split(FIELD)
      if (parts.length === 2) images.push({ src: parts[0]!, alt: parts[1]! })
    }
  }
  const social: Record<string, string> = {}
  if (f.social) {
    for (const record of f.social.split(RECORD)) {
      const parts = record.split(FIELD)
      if (parts.length === 2 && parts[0]) social[parts[0]] = parts[1]!
    }
  }
  return {
    html: f.html,
    cleaned_html: f.cleaned,
    links: { internal, external },
    media: { images },
    metadata: {
      title: nullable(f.title),
      description: nullable(f.description),
      keywords: nullable(f.keywords),
      author: nullable(f.author),
      language: nullable(f.language),
      canonical: nullable(f.canonical),
      social,
    },
  }
}

/**
 * About how many characters `value` (what js_code returned, as Playwright hands it over) takes
 * as JSON, counted only until the count passes `cap`: the page decides how large it is, so it is
 * walked, never encoded whole. Strings count their length and quotes, other values a few
 * characters each; shared and circular references once.
 */
export function jsonLengthUpTo(value: unknown, cap: number): number {
  let length = 0
  const seen = new Set<object>()
  // Lists still to walk, and where in each: no copy of a large array, no deep recursion.
  const work: Array<{ items: unknown[]; next: number }> = [{ items: [value], next: 0 }]
  while (work.length > 0 && length <= cap) {
    const top = work[work.length - 1]!
    if (top.next >= top.items.length) {
      work.pop()
      continue
    }
    const item = top.items[top.next++]
    length += 1 // the comma or colon before it
    if (typeof item === 'string') length += item.length + 2
    else if (item === null || typeof item !== 'object') length += 8
    else if (!seen.has(item)) {
      seen.add(item)
      length += 2
      if (Array.isArray(item)) work.push({ items: item, next: 0 })
      else {
        const keys = Object.keys(item)
        for (const key of keys) {
          length += key.length + 2
          if (length > cap) return length
        }
        work.push({ items: keys.map((key) => (item as Record<string, unknown>)[key]), next: 0 })
      }
    }
  }
  return length
}
