import { randomBytes } from 'node:crypto'
import TurndownService from 'turndown'
import { gfm } from 'turndown-plugin-gfm'

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

/** One converter for the whole process: its rules are built once. */
const converter = new TurndownService({
  headingStyle: 'atx',
  hr: '---',
  bulletListMarker: '-',
  codeBlockStyle: 'fenced',
  fence: '```',
  emDelimiter: '*',
  strongDelimiter: '**',
  // Every link target inline ([text](url)), not collected at the bottom.
  linkStyle: 'inlined',
})
converter.use(gfm)
// cleaned_html has these removed already; this is for callers passing raw html.
converter.remove(['script', 'style', 'noscript', 'template', 'iframe', 'object', 'svg' as never, 'canvas', 'title'])
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
converter.addRule('crawldeckRoot', {
  filter: (node) => node.nodeName === ROOT_NODE_NAME,
  replacement(content) {
    rootContent = content
    return ''
  },
})

/** Converts (cleaned) html to markdown: headings, links with targets, '-' bullets, fenced code. */
export function htmlToMarkdown(html: string): string {
  if (!html) return ''
  rootContent = null
  converter.turndown(`<${ROOT}>${html}`)
  // Still null when the whole page was blank: turndown then gives the root no rule of ours.
  const content = rootContent ?? ''
  rootContent = null
  // At most one blank line between blocks, as before; then what turndown's own trim did.
  return content.replace(/\n{3,}/g, '\n\n').trim()
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
