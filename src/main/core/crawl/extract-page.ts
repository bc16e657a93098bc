/* eslint-disable no-control-regex -- control characters are the wire's separators: the page function strips them from page text on purpose */
/*
 * The extraction's page function: what runs inside the page to serialize it, clean it and collect
 * its links, images and metadata, answering with one wire string (extract-wire.ts reads it).
 */

export interface PageArgs {
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
 * Runs inside the page. It must be self-contained: it is serialized with toString() and
 * evaluated in the page, so it may reference nothing from this module. It works on a clone
 * of the document (a document without a browsing context: nothing in it loads or runs) and
 * avoids the page's own globals where it cheaply can (JSON, Set, Map, Array methods,
 * instance overrides on `document`), because pages are hostile.
 */
export function pageExtract(args: PageArgs): string {
  /**
   * Strings the page chose are used as property keys (to deduplicate links, images and social
   * keys; to look up tag and attribute names) only up to this length. V8 hashes a longer string
   * by its length alone, so same-length keys all collide and each lookup compares against all the
   * others: many links made long by a long <base href> turned deduplication quadratic. Longer ones
   * are kept as they come, not deduplicated.
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
  // grow far beyond the page itself, since every relative link and image is made absolute: a long
  // <base href> over many links multiplies the page's size in cleaned_html, links and Markdown
  // each (docs/security.md, capture caps).
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
    sent +=
      titleField.length + languageField.length + descriptionField.length + keywordsField.length + authorField.length + canonicalField.length + social.length
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

  /**
   * The element that follows `el`'s subtree in a pre-order walk of `root`: its next sibling, or
   * the nearest ancestor's below `root`; null once the walk has left `root`. A loop, not
   * recursion: a page's DOM can be deeper than the stack.
   */
  const nextAfterSubtree = (el: Element, root: Element): Element | null => {
    for (let cur: Element | null = el; cur && cur !== root; cur = cur.parentElement) {
      if (cur.nextElementSibling) return cur.nextElementSibling
    }
    return null
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
      if (removed(tag)) {
        const next = nextAfterSubtree(el, root)
        el.remove()
        el = next
        continue
      }
      sanitize(el)
      if (tag === 'a' || tag === 'area') visitAnchor(el)
      else if (tag === 'img') visitImage(el)
      el = el.firstElementChild || nextAfterSubtree(el, root)
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

  // Same order as WIRE_FIELDS (extract-wire.ts).
  const fields = [html, cleaned, links, images, titleField, descriptionField, keywordsField, authorField, languageField, canonicalField, social]
  let header = ''
  let body = ''
  for (let i = 0; i < fields.length; i++) {
    header += (i ? ',' : '') + fields[i]!.length
    body += fields[i]
  }
  return 'K' + header + ';' + body
}
