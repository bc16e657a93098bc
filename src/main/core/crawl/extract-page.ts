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
  /** Elements matching this are removed from the clone before anything else reads it. */
  excludedSelector: string | null
  /** Restrict cleaned_html (and so the Markdown) to these; links, media and metadata still come from the whole scope. */
  targetElements: string[]
  /** cleaned_html keeps text and block structure only (no links, images, inline tags or attributes). */
  onlyText: boolean
  /** Text blocks (paragraphs, list items, quotes...) with fewer words leave cleaned_html. */
  wordCountThreshold: number
  excludeExternalLinks: boolean
  excludeInternalLinks: boolean
  /** Hosts (lower case, no www.) whose links are dropped, subdomains included: exclude_domains and, when asked, the social ones. */
  excludedLinkDomains: string[]
  excludeExternalImages: boolean
  excludeAllImages: boolean
  /**
   * process_iframes: the body HTML of the main document's iframes, by their position among the
   * document's <iframe> elements (document order), read from each frame beforehand. Each replaces
   * its <iframe> in the clone as a <div class="iframe-content">, parsed there (no browsing context:
   * nothing in it runs or loads) and then cleaned like the rest.
   */
  iframes: Array<{ index: number; html: string }>
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
  const rootElement = doc.documentElement

  /**
   * The 'E' wire of a selector that does not parse. `which` names the parameter for the reader:
   * '' css_selector, 'x' excluded_selector, 't' + index + ',' target_elements[index].
   */
  const selectorError = (which: string, err: unknown): string => {
    const message = err && typeof (err as Error).message === 'string' ? (err as Error).message : String(err)
    // A page that replaced querySelectorAll decides what this says: its length and start only.
    let kept = ''
    for (let i = 0; i < message.length && i < args.maxErrorChars; i++) kept += message[i]
    return 'E' + which + message.length + ':' + kept
  }

  // ---- process_iframes: frame bodies in place of their <iframe> ------------------------------
  if (args.iframes.length > 0) {
    const frames = doc.getElementsByTagName('iframe')
    const targets: Array<{ el: Element; html: string }> = []
    for (let i = 0; i < args.iframes.length; i++) {
      const entry = args.iframes[i]!
      const el = frames[entry.index]
      if (el) targets[targets.length] = { el, html: entry.html }
    }
    for (let i = 0; i < targets.length; i++) {
      const div = doc.createElement('div')
      div.setAttribute('class', 'iframe-content')
      div.innerHTML = targets[i]!.html
      const parent = targets[i]!.el.parentNode
      if (parent) parent.replaceChild(div, targets[i]!.el)
    }
  }

  // ---- excluded_selector: gone before anything reads the clone ------------------------------
  if (args.excludedSelector !== null) {
    let excluded: NodeListOf<Element>
    try {
      excluded = doc.querySelectorAll(args.excludedSelector)
    } catch (err) {
      return selectorError('x', err)
    }
    for (let i = 0; i < excluded.length; i++) {
      const el = excluded[i]!
      if (el.parentNode) el.parentNode.removeChild(el)
    }
  }

  // ---- roots: selector matches (outermost only) or body ------------------------------------
  const roots: Element[] = []
  if (args.cssSelector !== null) {
    let matches: NodeListOf<Element>
    try {
      matches = doc.querySelectorAll(args.cssSelector)
    } catch (err) {
      return selectorError('', err)
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
      } else if (
        (key.indexOf('og:') === 0 || key.indexOf('twitter:') === 0 || key.indexOf('article:') === 0) &&
        (key.length > SHORT_KEY || seenSocial[key] !== true)
      ) {
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
  /** Images, videos and audios to report, in document order; their records are built after the walk. */
  const mediaEls: Array<{ el: Element; src: string; type: string }> = []
  const seenMedia = { __proto__: null } as unknown as Record<string, true>
  let imageCount = 0
  let avCount = 0
  let internalCount = 0
  let externalCount = 0
  /** Links excluded by the exclude_* options: unwrapped in cleaned_html (their text stays, the link goes). */
  const unwrapLater: Element[] = []
  /** Images excluded by exclude_all_images / exclude_external_images: removed from cleaned_html. */
  const dropLater: Element[] = []

  const isScriptUrl = (value: string): boolean => {
    // The URL parser ignores leading C0/space and tabs/newlines anywhere: strip them all.
    const v = value.replace(/[\u0000-\u0020]+/g, '').toLowerCase()
    return v.indexOf('javascript:') === 0 || v.indexOf('vbscript:') === 0 || v.indexOf('data:text/html') === 0
  }

  /** Whether `host` is one of `domains` or below one of them. */
  const inDomains = (host: string, domains: string[]): boolean => {
    for (let i = 0; i < domains.length; i++) {
      const d = domains[i]!
      if (host === d || (host.length > d.length && host.slice(host.length - d.length - 1) === '.' + d)) return true
    }
    return false
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
    const host = hostOf(href)
    const internal = host === pageHost
    if (
      (internal ? args.excludeInternalLinks : args.excludeExternalLinks) ||
      (args.excludedLinkDomains.length > 0 && inDomains(host, args.excludedLinkDomains))
    ) {
      unwrapLater[unwrapLater.length] = el
      return
    }
    if (!full) return
    if (href.length <= SHORT_KEY) {
      if (seenLinks[href] === true) return
      seenLinks[href] = true
    }
    if (internal) {
      if (internalCount >= args.maxLinks) return
      internalCount++
    } else {
      if (externalCount >= args.maxLinks) return
      externalCount++
    }
    anchors[anchors.length] = { el, href, internal }
  }

  /** The absolute http(s) (or short data:) URL of a media element's source, made absolute in the clone too; '' when it has none. */
  const mediaSource = (el: Element): string => {
    const raw = el.getAttribute('src')
    if (raw === null || !raw.trim()) return ''
    const src = (el as HTMLImageElement).src
    if (typeof src !== 'string') return ''
    const lower = src.slice(0, 8).toLowerCase()
    const ok = lower.indexOf('http://') === 0 || lower.indexOf('https://') === 0 || (lower.indexOf('data:') === 0 && src.length <= 4096)
    if (!ok || src.indexOf('\u0000') >= 0 || src.indexOf('\u0001') >= 0) return ''
    if (src !== raw) el.setAttribute('src', src)
    return src
  }

  const visitImage = (el: Element): void => {
    const src = mediaSource(el)
    if (!src) return
    if (args.excludeAllImages || (args.excludeExternalImages && src.slice(0, 5).toLowerCase() !== 'data:' && hostOf(src) !== pageHost)) {
      dropLater[dropLater.length] = el
      return
    }
    if (!full || imageCount >= args.maxImages || (src.length <= SHORT_KEY && seenMedia[src] === true)) return
    if (src.length <= SHORT_KEY) seenMedia[src] = true
    imageCount++
    mediaEls[mediaEls.length] = { el, src, type: 'i' }
  }

  /** <video> and <audio>: their own src, else each <source> child's. */
  const visitAudioVideo = (el: Element, type: string): void => {
    if (!full) return
    const sources: Element[] = [el]
    const children = el.children
    for (let i = 0; i < children.length; i++) if (children[i]!.localName === 'source') sources[sources.length] = children[i]!
    for (let i = 0; i < sources.length; i++) {
      const src = mediaSource(sources[i]!)
      if (!src || avCount >= args.maxImages || (src.length <= SHORT_KEY && seenMedia[src] === true)) continue
      if (src.length <= SHORT_KEY) seenMedia[src] = true
      avCount++
      mediaEls[mediaEls.length] = { el, src, type }
      // The element's own src wins: its <source> children are fallbacks the browser skips.
      if (i === 0) break
    }
  }

  const visit = (el: Element, tag: string): void => {
    if (tag === 'a' || tag === 'area') visitAnchor(el)
    else if (tag === 'img') visitImage(el)
    else if (tag === 'video') visitAudioVideo(el, 'v')
    else if (tag === 'audio') visitAudioVideo(el, 'a')
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

  const scope: Element[] = []
  for (let r = 0; r < roots.length; r++) {
    const root = roots[r]!
    if (removed(root.localName)) continue
    scope[scope.length] = root
    sanitize(root)
    visit(root, root.localName)
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
      visit(el, tag)
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
  }

  /** Children of `el` moved to its place, `el` gone. */
  const unwrap = (el: Element): void => {
    const parent = el.parentNode
    if (!parent) return
    while (el.firstChild) parent.insertBefore(el.firstChild, el)
    parent.removeChild(el)
  }
  const detach = (el: Element): void => {
    if (el.parentNode) el.parentNode.removeChild(el)
  }
  const textOf = (el: Element, max: number): string => cleanText(el.textContent || '', max)

  // ---- media records: texts after cleaning, so script/style text does not leak in -----------
  /*
   * score: how likely the item is content rather than decoration, 0..5, one point each for a width
   * attribute over 150, a height attribute over 150, alt text, a caption (a <figure>'s
   * <figcaption>), and sitting in the page's content (inside <article> or <main>). No layout is
   * read (the clone has none), so sizes only count when the page states them.
   */
  let images = ''
  for (let i = 0; i < mediaEls.length; i++) {
    const entry = mediaEls[i]!
    const el = entry.el
    const alt = cleanText(el.getAttribute('alt') || '', args.maxText)
    let desc = ''
    const figure = el.closest('figure')
    if (figure) {
      const caption = figure.getElementsByTagName('figcaption')[0]
      if (caption) desc = textOf(caption, args.maxText)
    }
    if (!desc) desc = cleanText(el.getAttribute('title') || '', args.maxText)
    const widthText = (el.getAttribute('width') || '').trim()
    const width = /^\d{1,6}$/.test(widthText) ? Number(widthText) : -1
    const heightText = (el.getAttribute('height') || '').trim()
    const height = /^\d{1,6}$/.test(heightText) ? Number(heightText) : -1
    let score = 0
    if (width > 150) score++
    if (height > 150) score++
    if (alt) score++
    if (desc && figure) score++
    if (el.closest('article, main')) score++
    images +=
      (i ? '\u0001' : '') + entry.type + '\u0000' + entry.src + '\u0000' + alt + '\u0000' + desc + '\u0000' + (width >= 0 ? width : '') + '\u0000' + score
    if (sent + images.length > args.maxChars) return 'T' + (sent + images.length)
  }
  sent += images.length

  // Link texts after cleaning, so script/style text inside an anchor does not leak in.
  let links = ''
  for (let i = 0; i < anchors.length; i++) {
    const entry = anchors[i]!
    let text = textOf(entry.el, args.maxText)
    if (!text) {
      const label = entry.el.getAttribute('aria-label') || entry.el.getAttribute('title')
      if (label) text = cleanText(label, args.maxText)
      else {
        const img = entry.el.getElementsByTagName('img')[0]
        if (img) text = cleanText(img.getAttribute('alt') || '', args.maxText)
      }
    }
    const title = cleanText(entry.el.getAttribute('title') || '', args.maxText)
    links += (i ? '\u0001' : '') + (entry.internal ? 'i' : 'e') + '\u0000' + entry.href + '\u0000' + text + '\u0000' + title
    if (sent + links.length > args.maxChars) return 'T' + (sent + links.length)
  }
  sent += links.length

  // ---- what cleaned_html holds: the excluded links unwrapped and images dropped -------------
  for (let i = 0; i < unwrapLater.length; i++) unwrap(unwrapLater[i]!)
  for (let i = 0; i < dropLater.length; i++) detach(dropLater[i]!)

  // target_elements: cleaned_html from these (outermost, inside the scope) rather than the whole scope.
  let output = scope
  if (args.targetElements.length > 0) {
    const probe = doc.createElement('div')
    for (let t = 0; t < args.targetElements.length; t++) {
      try {
        probe.matches(args.targetElements[t]!)
      } catch (err) {
        return selectorError('t' + t + ',', err)
      }
    }
    const isTarget = (el: Element): boolean => {
      for (let t = 0; t < args.targetElements.length; t++) if (el.matches(args.targetElements[t]!)) return true
      return false
    }
    // Document order, outermost only: a match's subtree is not searched further.
    output = []
    for (let r = 0; r < scope.length; r++) {
      const root = scope[r]!
      if (isTarget(root)) {
        output[output.length] = root
        continue
      }
      let el: Element | null = root.firstElementChild
      while (el) {
        if (isTarget(el)) {
          output[output.length] = el
          el = nextAfterSubtree(el, root)
        } else el = el.firstElementChild || nextAfterSubtree(el, root)
      }
    }
  }

  // word_count_threshold: text blocks with fewer words leave cleaned_html (headings stay: they are
  // short by nature; blocks that hold media or tables stay).
  const blockTags = {
    __proto__: null,
    p: true,
    li: true,
    blockquote: true,
    dd: true,
    dt: true,
    figcaption: true,
    caption: true,
    pre: true,
  } as unknown as Record<string, true>
  const threshold = args.wordCountThreshold
  if (threshold > 0) {
    /** Words under `el`, counted until `threshold` is reached (a large block costs no more than a small one). */
    const enoughWords = (el: Element): boolean => {
      const texts = doc.createTreeWalker(el, 0x4)
      let count = 0
      while (texts.nextNode()) {
        const words = (texts.currentNode.nodeValue || '').match(/\S+/g)
        if (words) count += words.length
        if (count >= threshold) return true
      }
      return false
    }
    const hasMedia = (el: Element): boolean =>
      el.getElementsByTagName('img').length > 0 ||
      el.getElementsByTagName('video').length > 0 ||
      el.getElementsByTagName('audio').length > 0 ||
      el.getElementsByTagName('table').length > 0
    for (let r = 0; r < output.length; r++) {
      const all = output[r]!.getElementsByTagName('*')
      const blocks: Element[] = []
      for (let i = 0; i < all.length; i++) {
        const name = all[i]!.localName
        if (name.length <= 10 && blockTags[name] === true) blocks[blocks.length] = all[i]!
      }
      for (let i = 0; i < blocks.length; i++) {
        const block = blocks[i]!
        if (block.parentNode && !enoughWords(block) && !hasMedia(block)) detach(block)
      }
    }
  }

  // only_text: block structure and text only; inline tags unwrapped, media and attributes gone.
  if (args.onlyText) {
    const keep = { __proto__: null } as unknown as Record<string, true>
    const kept =
      'body p div section article main header footer aside nav h1 h2 h3 h4 h5 h6 ul ol li pre blockquote br table thead tbody tfoot tr td th dl dt dd'
    let word = ''
    for (let i = 0; i <= kept.length; i++) {
      if (i === kept.length || kept[i] === ' ') {
        keep[word] = true
        word = ''
      } else word += kept[i]
    }
    const media = {
      __proto__: null,
      img: true,
      picture: true,
      video: true,
      audio: true,
      source: true,
      track: true,
      canvas: true,
      map: true,
    } as unknown as Record<string, true>
    const textual: Element[] = []
    for (let r = 0; r < output.length; r++) {
      const root = output[r]!
      const all = root.getElementsByTagName('*')
      const snapshot: Element[] = []
      for (let i = 0; i < all.length; i++) snapshot[snapshot.length] = all[i]!
      for (let i = 0; i < snapshot.length; i++) {
        const el = snapshot[i]!
        const name = el.localName
        if (name.length <= 10 && media[name] === true) detach(el)
        else if (name.length > 10 || keep[name] !== true) unwrap(el)
        else while (el.attributes.length > 0) el.removeAttribute(el.attributes[0]!.name)
      }
      if (root.localName.length <= 10 && keep[root.localName] === true) {
        while (root.attributes.length > 0) root.removeAttribute(root.attributes[0]!.name)
        textual[textual.length] = root
      } else {
        // An inline root (a target that is a <span>): its text in a block of its own.
        const div = doc.createElement('div')
        while (root.firstChild) div.appendChild(root.firstChild)
        textual[textual.length] = div
      }
    }
    output = textual
  }

  const parts: string[] = []
  let cleanedLength = 0
  for (let r = 0; r < output.length; r++) {
    const part = output[r]!.outerHTML
    parts[parts.length] = part
    cleanedLength += (r ? 1 : 0) + part.length
    if (full && sent + cleanedLength > args.maxChars) return 'T' + (sent + cleanedLength)
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
