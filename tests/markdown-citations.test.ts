import { describe, expect, it } from 'vitest'
import { linksToCitations } from '../src/main/core/crawl/citations.js'
import { contentFilterOf, filterContent, stemWord, type ContentFilterSpec } from '../src/main/core/crawl/content-filter.js'
import { generateMarkdown, longestField, markdownOptionsFor } from '../src/main/core/crawl/markdown-result.js'

/*
 * Crawl4AI's MarkdownGenerationResult, without a browser: citations in its format, the pruning
 * and BM25 content filters, and the whole result as the Markdown worker makes it.
 */

const PRUNING: ContentFilterSpec = {
  type: 'PruningContentFilter',
  threshold: 0.48,
  threshold_type: 'fixed',
  min_word_threshold: null,
  preserve_classes: null,
  preserve_tags: null,
}
const bm25 = (user_query: string | null): ContentFilterSpec => ({
  type: 'BM25ContentFilter',
  user_query,
  bm25_threshold: 1,
  language: 'english',
  use_stemming: true,
})

const TOMATOES = 'Tomatoes need full sun, deep watering and rich soil. Plant seedlings after the last frost and stake them early so the stems carry the fruit.'
const QUARKS = 'Quantum chromodynamics describes the strong interaction between quarks and gluons inside hadrons, a theory far from any garden.'
/** Other paragraphs of the page: BM25 weighs a word by how few chunks hold it, so a page has several. */
const OTHERS = [
  'The history of the printing press begins with movable type in the fifteenth century.',
  'Rail networks connected distant towns and changed how goods reached the markets.',
  'A good espresso needs finely ground beans, hot water and steady pressure.',
  'Migratory birds follow coastlines and rivers on their long seasonal journeys.',
]
  .map((t) => `<p>${t}</p>`)
  .join('')
const PAGE = `<nav class="menu"><a href="https://x.test/">Home</a> <a href="https://x.test/about">About</a></nav>
<article><h1>Growing tomatoes at home</h1><p>${TOMATOES}</p><p>${QUARKS}</p>${OTHERS}</article>
<footer>Copyright 2026 <a href="https://x.test/privacy">Privacy</a></footer>`

describe('citations', () => {
  it("each link becomes text⟨n⟩, a URL keeps its first number, and the references list '⟨n⟩ url: text'", () => {
    const { markdown_with_citations, references_markdown } = linksToCitations(
      'See [Alpha](https://a.test/x) and [Beta](https://b.test/) then [again](https://a.test/x).',
    )
    expect(markdown_with_citations).toBe('See Alpha⟨1⟩ and Beta⟨2⟩ then again⟨1⟩.')
    expect(references_markdown).toBe('\n\n## References\n\n⟨1⟩ https://a.test/x: Alpha\n⟨2⟩ https://b.test/: Beta\n')
  })

  it('a link without text is cited as ⟨n⟩ and referenced by its URL alone; a title comes before the text, as in Crawl4AI', () => {
    const r = linksToCitations('[](https://e.test/) [Bee](https://b.test/ "The bee")')
    expect(r.markdown_with_citations).toBe('⟨1⟩ Bee⟨2⟩')
    expect(r.references_markdown).toBe('\n\n## References\n\n⟨1⟩ https://e.test/\n⟨2⟩ https://b.test/: The bee - Bee\n')
  })

  it('images keep their Markdown (also inside a link), escaped brackets are text, escaped parentheses in URLs are unescaped', () => {
    const r = linksToCitations('![pic](https://i.test/p.png) [![logo](https://i.test/l.png)](https://c.test/) \\[not](a link) [x](https://d.test/a\\(b\\))')
    expect(r.markdown_with_citations).toBe('![pic](https://i.test/p.png) ![logo](https://i.test/l.png)⟨1⟩ \\[not](a link) x⟨2⟩')
    expect(r.references_markdown).toContain('⟨2⟩ https://d.test/a(b): x\n')
    expect(r.references_markdown).not.toContain('p.png')
  })

  it('no links: the text unchanged and an empty reference list', () => {
    expect(linksToCitations('# Title\n\nplain')).toEqual({ markdown_with_citations: '# Title\n\nplain', references_markdown: '\n\n## References\n\n' })
  })

  it('linear on hostile text: runs of brackets and unclosed targets', () => {
    const started = performance.now()
    linksToCitations('['.repeat(200_000) + 'x](' + 'y'.repeat(200_000))
    linksToCitations('[a](x'.repeat(100_000))
    linksToCitations('[a]('.repeat(100_000))
    expect(performance.now() - started).toBeLessThan(3000)
  })
})

describe('content filters', () => {
  it('PruningContentFilter drops nav and footer and keeps the article, each kept block wrapped in a <div>', () => {
    const fit = filterContent(PAGE, PRUNING)
    expect(fit.startsWith('<div><article>')).toBe(true)
    expect(fit).toContain(TOMATOES)
    expect(fit).not.toContain('Privacy')
    expect(fit).not.toContain('About')
  })

  it('PruningContentFilter drops link-heavy blocks with boilerplate class names, and min_word_threshold drops short blocks', () => {
    const html = `<div class="sidebar"><a href="/1">One</a> <a href="/2">Two</a> <a href="/3">Three</a></div><p>${TOMATOES}</p>`
    const fit = filterContent(html, PRUNING)
    expect(fit).toContain(TOMATOES)
    expect(fit).not.toContain('Three')
    const strict = filterContent(`<p>Too short here.</p><p>${TOMATOES}</p>`, { ...PRUNING, min_word_threshold: 10 })
    expect(strict).toContain(TOMATOES)
    expect(strict).not.toContain('Too short')
  })

  it('BM25ContentFilter keeps the chunk matching the query (stemmed) and drops the unrelated one', () => {
    const fit = filterContent(PAGE, bm25('tomato seedling watering'))
    // The heading matches too, and a heading weighs more (Crawl4AI's tag priorities).
    expect(fit).toBe(`<div><h1>Growing tomatoes at home</h1></div>\n<div><p>${TOMATOES}</p></div>`)
    const quarks = filterContent(PAGE, bm25('gluons'))
    expect(quarks).toContain('Quantum')
    expect(quarks).not.toContain('Tomatoes')
  })

  it('BM25 without a query uses the title, the first heading and paragraph; duplicates are kept once, in document order', () => {
    const fit = filterContent(`${PAGE}<p>${TOMATOES}</p>`, bm25(null), { title: 'Growing tomatoes' })
    expect(fit.indexOf('<h1>')).toBeLessThan(fit.indexOf(TOMATOES))
    expect(fit.split(TOMATOES)).toHaveLength(2)
    expect(fit).not.toContain('Migratory')
  })

  it('the stemmer brings plurals and -ing forms together', () => {
    expect(stemWord('tomatoes')).toBe(stemWord('tomato'))
    expect(stemWord('crawling')).toBe(stemWord('crawl'))
    expect(stemWord('pages')).toBe(stemWord('page'))
    expect(stemWord('boxes')).toBe(stemWord('box'))
    expect(stemWord('berries')).toBe(stemWord('berry'))
    expect(stemWord('glass')).toBe('glass')
  })

  it('markdown_generator values: typed filters parse with their defaults; unknown params are refused', () => {
    expect(contentFilterOf(null)).toBeNull()
    expect(contentFilterOf({ type: 'DefaultMarkdownGenerator', params: {} })).toBeNull()
    expect(contentFilterOf({ type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'PruningContentFilter', params: {} } } })).toEqual(PRUNING)
    expect(
      contentFilterOf({
        type: 'DefaultMarkdownGenerator',
        params: { content_filter: { type: 'BM25ContentFilter', params: { user_query: 'q', bm25_threshold: 2 } } },
      }),
    ).toMatchObject({ type: 'BM25ContentFilter', user_query: 'q', bm25_threshold: 2 })
    expect(() =>
      contentFilterOf({ type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'PruningContentFilter', params: { nope: 1 } } } }),
    ).toThrow()
    expect(() =>
      contentFilterOf({ type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'PruningContentFilter', params: { threshold_type: 'x' } } } }),
    ).toThrow()
  })

  it('deeply nested pages are filtered without recursion', () => {
    // domino's own serializer recurses: past a few thousand levels it throws, and the worker
    // answers markdown_failed, as turndown does on such a page.
    const deep = '<div>'.repeat(1500) + `<p>${TOMATOES}</p>` + '</div>'.repeat(1500) + OTHERS
    expect(filterContent(deep, bm25('tomatoes seedlings frost'))).toBe(`<div><p>${TOMATOES}</p></div>`)
    expect(filterContent(deep, PRUNING)).toContain(TOMATOES)
  })
})

describe('the MarkdownResult', () => {
  it('raw_markdown, citations and references; fit_* empty without a filter', () => {
    const r = generateMarkdown(PAGE, { filter: null })
    expect(r.raw_markdown).toContain('[About](https://x.test/about)')
    expect(r.markdown_with_citations).toContain('About⟨2⟩')
    expect(r.references_markdown).toContain('⟨3⟩ https://x.test/privacy: Privacy')
    expect(r.fit_markdown).toBe('')
    expect(r.fit_html).toBe('')
  })

  it('with a filter: fit_html is the kept blocks and fit_markdown their Markdown', () => {
    const r = generateMarkdown(PAGE, { filter: PRUNING })
    expect(r.fit_html).toContain(TOMATOES)
    expect(r.fit_markdown).toContain('# Growing tomatoes at home')
    expect(r.fit_markdown).not.toContain('Privacy')
    expect(longestField(r)).toBe(Math.max(...Object.values(r).map((v) => v.length)))
  })

  it('markdownOptionsFor reads crawler_config.markdown_generator and the page title', () => {
    const cfg = { markdown_generator: { type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'BM25ContentFilter', params: {} } } } }
    expect(markdownOptionsFor(cfg, { title: 'T', description: null })).toMatchObject({ filter: { type: 'BM25ContentFilter' }, hints: { title: 'T' } })
    expect(markdownOptionsFor({}).filter).toBeNull()
  })
})
