import { randomBytes } from 'node:crypto'
import TurndownService from 'turndown'
import { gfm } from 'turndown-plugin-gfm'
import type { Html2TextOptionsValue } from '../../../shared/markdown-generator.js'

/*
 * HTML to Markdown with turndown. We used node-html-markdown before; it builds its output by
 * appending to one string and reading that string's tail after every append (and substr-ing it
 * for every list item), which makes V8 copy the whole text each time: a page with 6000 list links
 * cost 1.5-4.7 s of CPU on the event loop, blocking every other request. turndown works on a DOM
 * (domino, no script runs) and stays linear: 0.2 s for that page, about 20 ms for a 100 KB article.
 * The GFM plugin adds tables, strikethrough and task lists.
 *
 * Linear on any page, not only on ordinary ones: a regex anchored at the end of the text
 * (/\n+$/, /\s+$/) is tried from every position of a long run of whitespace that is not at the
 * end, so it costs the square of the run. `<ul><li>a<pre><code>` + 60,000 newlines + `b</code>`
 * (60 KB) spent 15 s in two of them: our list item's trim and turndown's final trim of the whole
 * output. Ours walk the string instead; turndown's is never given the text (see ROOT below).
 * Conversions run on worker threads all the same (markdown-offload.ts): what turndown still does
 * in more than linear time (its blank-node test reads every node's whole subtree, so deep nesting
 * over many nodes costs depth x size) is stopped at the page's deadline.
 */

/** html2text's options, as DefaultMarkdownGenerator's `options` gives them (checked in src/shared). */
export type Html2TextOptions = Html2TextOptionsValue

/**
 * Every conversion is wrapped in an element of this name, unknown to any page (a page that could
 * name it could close it early and put text outside), and its rule keeps the converted text in
 * `rootContent`, answering '' to turndown. turndown's last step trims the whole output with
 * /[\t\r\n\s]+$/, quadratic on a long inner run of whitespace (a code block of blank lines, a
 * thousand <br>, a paragraph of &nbsp;); it now trims an empty string, and htmlToMarkdown trims
 * the text itself. The element is inline to turndown, so nothing is added around the content,
 * and it is never closed in the source: the parser closes it with turndown's own wrapper.
 */
const ROOT = `crawldeck-md-${randomBytes(8).toString('hex')}`
const ROOT_NODE_NAME = ROOT.toUpperCase()
let rootContent: string | null = null

/** What a converter is built from: the options that change its rules (the rest is applied to its output). */
interface RuleOptions {
  skipInternal: boolean
  ignoreLinks: boolean
  ignoreMailto: boolean
  protectLinks: boolean
  images: 'markdown' | 'ignore' | 'alt' | 'html'
  defaultImageAlt: string
  ignoreEmphasis: boolean
  tables: 'markdown' | 'ignore' | 'html'
  escape: boolean
  supSub: boolean
  markCode: boolean
  hideStrikethrough: boolean
  bullet: '*' | '-' | '+'
  em: '_' | '*'
  strong: '**' | '__'
  openQuote: string
  closeQuote: string
}

/** Crawl4AI's defaults where they show (html2text skips #internal links), ours for the markers. */
const DEFAULT_RULES: RuleOptions = {
  skipInternal: true,
  ignoreLinks: false,
  ignoreMailto: false,
  protectLinks: false,
  images: 'markdown',
  defaultImageAlt: '',
  ignoreEmphasis: false,
  tables: 'markdown',
  escape: true,
  supSub: false,
  markCode: false,
  hideStrikethrough: false,
  bullet: '-',
  em: '*',
  strong: '**',
  openQuote: '"',
  closeQuote: '"',
}

function ruleOptionsOf(o: Html2TextOptions | null | undefined): RuleOptions {
  if (!o) return DEFAULT_RULES
  const pick = <T>(value: T | null | undefined, fallback: T): T => (value === null || value === undefined ? fallback : value)
  return {
    skipInternal: pick(o.skip_internal_links, DEFAULT_RULES.skipInternal),
    ignoreLinks: pick(o.ignore_links, false) || pick(o.ignore_anchors, false),
    ignoreMailto: pick(o.ignore_mailto_links, false),
    protectLinks: pick(o.protect_links, false),
    images: o.ignore_images ? 'ignore' : o.images_as_html ? 'html' : o.images_to_alt ? 'alt' : 'markdown',
    defaultImageAlt: pick(o.default_image_alt, ''),
    ignoreEmphasis: pick(o.ignore_emphasis, false),
    tables: o.ignore_tables ? 'ignore' : o.bypass_tables ? 'html' : 'markdown',
    escape: pick(o.escape_html, true),
    supSub: pick(o.include_sup_sub, false),
    markCode: pick(o.mark_code, false),
    hideStrikethrough: pick(o.hide_strikethrough, false),
    bullet: pick(o.ul_item_mark, DEFAULT_RULES.bullet),
    em: pick(o.emphasis_mark, DEFAULT_RULES.em),
    strong: pick(o.strong_mark, DEFAULT_RULES.strong),
    openQuote: pick(o.open_quote, '"'),
    closeQuote: pick(o.close_quote, '"'),
  }
}

const attr = (node: Node, name: string): string => (node as HTMLElement).getAttribute(name) ?? ''
const escapeHtmlAttr = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')

function buildConverter(o: RuleOptions): TurndownService {
  const converter = new TurndownService({
    headingStyle: 'atx',
    hr: '---',
    bulletListMarker: o.bullet,
    codeBlockStyle: 'fenced',
    fence: '```',
    emDelimiter: o.em,
    strongDelimiter: o.strong,
    // Every link target inline ([text](url)), not collected at the bottom.
    linkStyle: 'inlined',
  })
  converter.use(gfm)
  // cleaned_html has these removed already; this is for callers passing raw html.
  converter.remove(['script', 'style', 'noscript', 'template', 'iframe', 'object', 'svg' as never, 'canvas', 'title', 'head'])
  // "- item", not turndown's "-   item"; nested lists indented by the marker's width.
  converter.addRule('listItem', {
    filter: 'li',
    replacement(content, node, options) {
      const parent = node.parentNode as HTMLElement | null
      let prefix = `${options.bulletListMarker} `
      if (parent?.nodeName === 'OL') {
        const start = Number(parent.getAttribute('start') ?? 1)
        const index = Array.prototype.indexOf.call(parent.children, node)
        prefix = `${start + index}. `
      }
      // Leading newlines dropped, trailing ones down to one.
      const body = trimNewlines(content, true).replace(/\n/g, `\n${' '.repeat(prefix.length)}`)
      return prefix + body + (node.nextSibling && !body.endsWith('\n') ? '\n' : '')
    },
  })
  // Later rules win over earlier ones (turndown tries the last added first).
  if (!o.escape) converter.escape = (text: string) => text
  if (o.protectLinks)
    converter.addRule('protectedLink', {
      filter: (node) => node.nodeName === 'A' && attr(node, 'href') !== '',
      replacement: (content, node) => `[${content}](<${attr(node, 'href').replace(/[<>]/g, encodeURIComponent)}>)`,
    })
  // A link written as its text alone: html2text's ignore_links, ignore_mailto_links and skip_internal_links.
  converter.addRule('linkAsText', {
    filter: (node) => {
      if (node.nodeName !== 'A') return false
      const href = attr(node, 'href').trim()
      return o.ignoreLinks || (o.skipInternal && href.startsWith('#')) || (o.ignoreMailto && /^mailto:/i.test(href))
    },
    replacement: (content) => content,
  })
  if (o.images !== 'markdown' || o.defaultImageAlt !== '')
    converter.addRule('image', {
      filter: 'img',
      replacement(_content, node) {
        const alt = attr(node, 'alt') || o.defaultImageAlt
        const src = attr(node, 'src')
        if (o.images === 'ignore') return ''
        if (o.images === 'alt') return alt
        if (o.images === 'html') return `<img src="${escapeHtmlAttr(src)}" alt="${escapeHtmlAttr(alt)}" />`
        return src ? `![${alt.replace(/[[\]]/g, '\\$&')}](${src.replace(/[()<> ]/g, encodeURIComponent)})` : ''
      },
    })
  if (o.ignoreEmphasis) converter.addRule('noEmphasis', { filter: ['em', 'i', 'strong', 'b', 'u'], replacement: (content) => content })
  if (o.hideStrikethrough) converter.addRule('noStrikethrough', { filter: ['del', 's', 'strike' as never], replacement: () => '' })
  if (o.tables === 'ignore') {
    // Rows kept as lines, cells separated by a space: html2text's ignore_tables.
    converter.addRule('tableAsText', { filter: ['table', 'thead', 'tbody', 'tfoot'], replacement: (content) => `\n\n${content}\n\n` })
    converter.addRule('rowAsText', { filter: 'tr', replacement: (content) => `${content.trim()}\n` })
    converter.addRule('cellAsText', { filter: ['th', 'td'], replacement: (content) => `${content.trim()} ` })
  } else if (o.tables === 'html') {
    converter.addRule('tableAsHtml', { filter: 'table', replacement: (_content, node) => `\n\n${(node as HTMLElement).outerHTML}\n\n` })
  }
  if (o.supSub)
    converter.addRule('supSub', {
      filter: ['sup', 'sub'],
      replacement: (content, node) => `<${node.nodeName.toLowerCase()}>${content}</${node.nodeName.toLowerCase()}>`,
    })
  if (o.markCode)
    converter.addRule('markedCode', {
      filter: 'pre',
      replacement: (_content, node) => `\n\n[code]\n${trimNewlines(node.textContent ?? '')}\n[/code]\n\n`,
    })
  // <q> in quotation marks, as html2text writes it.
  converter.addRule('quote', { filter: 'q', replacement: (content) => `${o.openQuote}${content}${o.closeQuote}` })
  converter.addRule('crawldeckRoot', {
    filter: (node) => node.nodeName === ROOT_NODE_NAME,
    replacement(content) {
      rootContent = content
      return ''
    },
  })
  return converter
}

/** One converter for the default options, built once; a few more for requests' own options. */
const DEFAULT_CONVERTER = buildConverter(DEFAULT_RULES)
const converters = new Map<string, TurndownService>()
const MAX_CONVERTERS = 16

function converterFor(options: Html2TextOptions | null | undefined): TurndownService {
  const rules = ruleOptionsOf(options)
  if (rules === DEFAULT_RULES) return DEFAULT_CONVERTER
  const key = JSON.stringify(rules)
  let converter = converters.get(key)
  if (converter) {
    // Most recently used last: the first is the one to drop.
    converters.delete(key)
  } else {
    converter = buildConverter(rules)
    if (converters.size >= MAX_CONVERTERS) converters.delete(converters.keys().next().value as string)
  }
  converters.set(key, converter)
  return converter
}

/**
 * Converts (cleaned) html to markdown: headings, links with targets, '-' bullets, fenced code;
 * `options` are html2text's, as DefaultMarkdownGenerator passes them on.
 */
export function htmlToMarkdown(html: string, options?: Html2TextOptions | null): string {
  if (!html) return ''
  rootContent = null
  converterFor(options).turndown(`<${ROOT}>${html}`)
  // Still null when the whole page was blank: turndown then gives the root no rule of ours.
  const content = rootContent ?? ''
  rootContent = null
  // At most one blank line between blocks, as before; then what turndown's own trim did.
  let markdown = content.replace(/\n{3,}/g, '\n\n').trim()
  if (options?.single_line_break) markdown = singleLineBreaks(markdown)
  const width = options?.body_width ?? 0
  if (width > 0) markdown = wrapParagraphs(markdown, width)
  return markdown
}

/**
 * html2text's single_line_break: one newline between blocks instead of a blank line, except
 * inside fenced code blocks. Walks the lines: linear whatever the text.
 */
function singleLineBreaks(markdown: string): string {
  let inFence = false
  const out: string[] = []
  for (const line of markdown.split('\n')) {
    const fence = line.startsWith('```')
    if (!inFence && !fence && line === '') continue
    out.push(line)
    if (fence) inFence = !inFence
  }
  return out.join('\n')
}

/**
 * html2text's body_width: paragraph lines wrapped at `width` columns on spaces (a longer word
 * stays whole). Headings, list items, quotes, tables, indented and fenced code are left as they
 * are, as html2text leaves them (wrap_list_items and wrap_tables are off by default there).
 */
export function wrapParagraphs(markdown: string, width: number): string {
  let inFence = false
  const out: string[] = []
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence
    if (inFence || line.startsWith('```') || line.length <= width || /^(\s{4}|\t|#|\||>|[-*+] |\d+\. |<)/.test(line)) {
      out.push(line)
      continue
    }
    let current = ''
    for (const word of line.split(' ')) {
      // A word that would open a line as a list item, heading or quote stays on the line before.
      if (current === '') current = word
      else if (current.length + 1 + word.length <= width || /^([-*+>]|#+|\d+\.)$/.test(word)) current += ` ${word}`
      else {
        out.push(current)
        current = word
      }
    }
    out.push(current)
  }
  return out.join('\n')
}

/**
 * `text` without leading and trailing newlines, walking from each end (linear however long the
 * runs are); with `keepOne`, a trailing run becomes a single newline instead.
 */
export function trimNewlines(text: string, keepOne = false): string {
  let start = 0
  while (start < text.length && text.charCodeAt(start) === 10) start++
  let end = text.length
  while (end > start && text.charCodeAt(end - 1) === 10) end--
  const trimmed = text.slice(start, end)
  return keepOne && end < text.length ? `${trimmed}\n` : trimmed
}
