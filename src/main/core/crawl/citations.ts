/*
 * Crawl4AI's citations: every inline link of a Markdown text, `[text](url)`, becomes `text⟨n⟩`,
 * and the numbered URLs are listed after "## References". The same URL keeps its first number.
 * Images keep their Markdown (Crawl4AI turns them into `![alt⟨n⟩]`, which no longer shows an
 * image): only links are cited.
 *
 * A hand-written scanner rather than Crawl4AI's regex: one pass over the text whatever the page
 * made of it (a regex with a lazy URL group backtracks on long runs of brackets), and escaped
 * brackets (`\[`, which turndown writes for literal ones) are text, not links.
 */

export interface Citations {
  markdown_with_citations: string
  references_markdown: string
}

interface Link {
  /** Index just after the link's ')'. */
  end: number
  text: string
  url: string
  title: string
}

/** A link's URL and title are looked for this far at most after its '('. */
const MAX_TARGET = 8192

export function linksToCitations(markdown: string): Citations {
  const closes = matchBrackets(markdown)
  const stops = new TargetStops(markdown)
  const numbers = new Map<string, number>()
  const references: string[] = []
  let out = ''
  let copied = 0
  for (const [at, close] of closes) {
    // Inside a link already cited (its label), or an image's '![': left as it is.
    if (at < copied) continue
    if (at > 0 && markdown[at - 1] === '!' && !isEscaped(markdown, at - 1)) continue
    const link = readTarget(markdown, at, close, stops)
    if (link === null) continue
    let n = numbers.get(link.url)
    if (n === undefined) {
      n = numbers.size + 1
      numbers.set(link.url, n)
      const desc = [link.title, link.text !== link.title ? link.text : ''].filter((s) => s !== '').join(' - ')
      references.push(`⟨${n}⟩ ${link.url}${desc ? `: ${desc}` : ''}\n`)
    }
    out += markdown.slice(copied, at) + `${link.text}⟨${n}⟩`
    copied = link.end
  }
  out += markdown.slice(copied)
  return { markdown_with_citations: out, references_markdown: `\n\n## References\n\n${references.join('')}` }
}

/**
 * Each unescaped '[' with its matching ']', in order of the '[': one pass with a stack. A blank
 * line ends every open bracket (no inline construct crosses one).
 */
function matchBrackets(s: string): Map<number, number> {
  const closes = new Map<number, number>()
  const open: number[] = []
  for (let j = 0; j < s.length; j++) {
    const c = s.charCodeAt(j)
    if (c === 92 /* \ */) j++
    else if (c === 91 /* [ */) {
      open.push(j)
      closes.set(j, -1)
    } else if (c === 93 /* ] */) {
      const at = open.pop()
      if (at !== undefined) closes.set(at, j)
    } else if (c === 10 && s.charCodeAt(j + 1) === 10) open.length = 0
  }
  for (const [at, close] of closes) if (close < 0) closes.delete(at)
  return closes
}

/**
 * Where a URL starting at some index stops (the next ')', space, tab or newline), remembered for
 * the last stretch scanned: links nested in labels start their targets inside a stretch already
 * read, so no character is scanned for a stop twice in a row.
 */
class TargetStops {
  private from = -1
  private stop = -1
  constructor(private readonly s: string) {}

  next(j: number): number {
    if (j >= this.from && j <= this.stop) return this.stop
    let k = j
    const end = Math.min(this.s.length, j + MAX_TARGET)
    for (; k < end; k++) {
      const c = this.s.charCodeAt(k)
      if (c === 92) k++
      else if (c === 41 || c === 32 || c === 10 || c === 9) break
    }
    this.from = j
    this.stop = Math.min(k, end)
    return this.stop
  }
}

/** The link whose label is [at, close], when a target `(url "title")` follows it; null otherwise. */
function readTarget(s: string, at: number, close: number, stops: TargetStops): Link | null {
  if (s[close + 1] !== '(') return null
  const urlStart = close + 2
  let j = stops.next(urlStart)
  if (j === urlStart || j >= s.length || j - urlStart >= MAX_TARGET) return null
  const url = unescape(s.slice(urlStart, j))
  let title = ''
  if (s[j] !== ')') {
    while (s[j] === ' ' || s[j] === '\t') j++
    if (s[j] !== '"') return null
    const end = Math.min(s.length, j + 1 + MAX_TARGET)
    let k = j + 1
    for (; k < end; k++) {
      const c = s.charCodeAt(k)
      if (c === 92) k++
      else if (c === 34 /* " */ || c === 10) break
    }
    if (s[k] !== '"') return null
    title = unescape(s.slice(j + 1, k))
    j = k + 1
    while (s[j] === ' ' || s[j] === '\t') j++
    if (s[j] !== ')') return null
  }
  return { end: j + 1, text: s.slice(at + 1, close), url, title }
}

/** Markdown's backslash escapes removed (turndown escapes parentheses in URLs, quotes in titles). */
function unescape(text: string): string {
  return text.includes('\\') ? text.replace(/\\(.)/g, '$1') : text
}

/** Whether the character at `at` is escaped by an odd run of backslashes before it. */
function isEscaped(s: string, at: number): boolean {
  let n = 0
  for (let k = at - 1; k >= 0 && s.charCodeAt(k) === 92; k--) n++
  return n % 2 === 1
}
