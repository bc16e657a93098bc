import { createDocument } from '@mixmark-io/domino'

/*
 * DefaultMarkdownGenerator's content_source "fit_html": the page's HTML reduced as Crawl4AI
 * reduces it for schema work (its preprocess_html_for_schema): no head, no scripts, media or
 * embedded frames; only the attributes that name things (id, class, name, type, value, data-*),
 * long values and long texts cut; a repeated element (same tag, class and text) kept once. Links
 * lose their targets with their href, as there. One pass over a DOM without scripting, on the
 * Markdown worker.
 */

const DROPPED = new Set([
  'HEAD',
  'SCRIPT',
  'STYLE',
  'NOSCRIPT',
  'IFRAME',
  'CANVAS',
  'SVG',
  'VIDEO',
  'AUDIO',
  'SOURCE',
  'TRACK',
  'MAP',
  'AREA',
  'TEMPLATE',
  'LINK',
  'META',
])
const KEPT_ATTRIBUTES = new Set(['id', 'class', 'name', 'type', 'value'])
/** Crawl4AI's thresholds for this use: attribute values past 200 characters, texts past 500. */
const MAX_ATTRIBUTE_CHARS = 200
const MAX_TEXT_CHARS = 500

export function htmlForSchema(html: string): string {
  if (!html) return ''
  const doc = createDocument(html)
  const body = doc.body
  if (!body) return ''
  const seen = new Set<string>()
  // Document order, without recursion (a page can nest thousands deep); a dropped element's subtree is not visited.
  const stack: Element[] = []
  for (let c = body.lastElementChild; c; c = c.previousElementSibling) stack.push(c)
  while (stack.length > 0) {
    const el = stack.pop() as Element
    if (DROPPED.has(el.tagName.toUpperCase())) {
      el.remove()
      continue
    }
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase()
      if (!KEPT_ATTRIBUTES.has(name) && !name.startsWith('data-')) el.removeAttribute(attr.name)
      else if (attr.value.length > MAX_ATTRIBUTE_CHARS) el.setAttribute(attr.name, `${attr.value.slice(0, MAX_ATTRIBUTE_CHARS)}...`)
    }
    if (el.firstElementChild === null) {
      const text = (el.textContent ?? '').trim()
      if (text === '') continue
      const key = `${el.tagName}\u0000${el.getAttribute('class') ?? ''}\u0000${text}`
      if (seen.has(key)) el.remove()
      else seen.add(key)
      continue
    }
    for (let c = el.lastElementChild; c; c = c.previousElementSibling) stack.push(c)
  }
  const walker = doc.createTreeWalker(body, 4 /* NodeFilter.SHOW_TEXT */)
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const value = node.nodeValue ?? ''
    if (value.length > MAX_TEXT_CHARS) node.nodeValue = `${value.slice(0, MAX_TEXT_CHARS)}...`
  }
  return body.innerHTML
}
