import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { startMarkdownPages, type PageServer } from './helpers/markdown-pages.js'
import { startService, type TestService } from './helpers/service.js'

/**
 * DefaultMarkdownGenerator's `options` (html2text's), `content_source`, and BM25's `language`,
 * end to end: POST /crawl on the real engine (Chromium, the Markdown worker), pages served on
 * 127.0.0.1 by tests/helpers/markdown-pages.ts. Each option is compared with the default output.
 */

let service: TestService
let pages: PageServer

beforeAll(async () => {
  ;[service, pages] = await Promise.all([startService({ max_pages: 2 }), startMarkdownPages()])
})

afterAll(async () => {
  await service?.close()
  await pages?.close()
})

type Params = Record<string, unknown>

async function crawl(path: string, params: Params, extra: Params = {}): Promise<CrawlResult> {
  const r = await service.postJson('/crawl', {
    urls: [pages.url(path)],
    crawler_config: { markdown_generator: { type: 'DefaultMarkdownGenerator', params }, ...extra },
  })
  expect(r.status, JSON.stringify(r.body).slice(0, 500)).toBe(200)
  const result = r.body.results[0] as CrawlResult
  expect(result.success, result.error_message ?? '').toBe(true)
  return result
}

const md = async (options: Params | null, extra: Params = {}) => (await crawl('/md/options', { options }, extra)).markdown.raw_markdown

describe('DefaultMarkdownGenerator options', () => {
  let base: string
  beforeAll(async () => {
    base = await md(null)
  })

  it('defaults as Crawl4AI: #internal links as text, other links inline, images, emphasis, a table, escaped Markdown characters, no wrapping', () => {
    expect(base).toContain('[external guide](https://example.test/guide)')
    expect(base).toContain('[write to us](mailto:team@example.test)')
    expect(base).toContain('jump to details')
    expect(base).not.toContain('](#details)')
    expect(base).toContain('![A picture](')
    expect(base).toContain('*important*')
    expect(base).toContain('**very bold**')
    expect(base).toContain('| Name | Price |')
    expect(base).toContain('```\nconst answer = 42\n```')
    expect(base).toContain('5 \\* 3')
    expect(base).toContain('"short quote"')
    expect(base).toContain('H2O')
    // body_width 0: the long paragraph is one line.
    expect(base.split('\n').some((line) => line.startsWith('Lorem ipsum') && line.length > 500)).toBe(true)
  })

  it('ignore_links (and its alias ignore_anchors): link texts without targets; images stay', async () => {
    for (const key of ['ignore_links', 'ignore_anchors']) {
      const out = await md({ [key]: true })
      expect(out, key).toContain('Read the external guide,')
      expect(out, key).not.toContain('](https://example.test/guide)')
      expect(out, key).not.toContain('](mailto:')
      expect(out, key).toContain('![A picture](')
    }
  })

  // Options that touch different constructs share a crawl: each assertion reads its own construct.
  it('skip_internal_links false keeps #anchors as links; ignore_mailto_links drops only mailto targets; images_to_alt with default_image_alt; ignore_tables; list and emphasis markers', async () => {
    const out = await md({
      skip_internal_links: false,
      ignore_mailto_links: true,
      images_to_alt: true,
      default_image_alt: 'no description',
      ignore_tables: true,
      ul_item_mark: '*',
      emphasis_mark: '_',
      strong_mark: '__',
    })
    expect(out).toContain('[jump to details](#details)')
    expect(out).toContain('or write to us.')
    expect(out).toContain('[external guide](https://example.test/guide)')
    expect(out).toContain('A picture')
    expect(out).toContain('no description')
    expect(out).not.toContain('![')
    expect(out).not.toContain('| Name |')
    expect(out).toMatch(/^Name Price$/m)
    expect(out).toMatch(/^Widget 10$/m)
    expect(out).toContain('* Other item')
    expect(out).toContain('_important_')
    expect(out).toContain('__very bold__')
  })

  it('ignore_emphasis, hide_strikethrough, escape_html false, include_sup_sub, mark_code, protect_links', async () => {
    const out = await md({ ignore_emphasis: true, hide_strikethrough: true, escape_html: false, include_sup_sub: true, mark_code: true, protect_links: true })
    expect(out).toContain('This is important and very bold and .')
    expect(base).toContain('~struck out~')
    expect(out).toContain('Stars 5 * 3 and under_scores_here')
    expect(out).toContain('H<sub>2</sub>O and area is m<sup>2</sup>')
    expect(out).toContain('[code]\nconst answer = 42\n[/code]')
    expect(out).toContain('[external guide](<https://example.test/guide>)')
  })

  it('ignore_images drops images; bypass_tables keeps the table as HTML', async () => {
    const out = await md({ ignore_images: true, bypass_tables: true })
    expect(out).not.toContain('![')
    expect(out).not.toContain('A picture')
    expect(out).toMatch(/<table>.*<th>Name<\/th>.*<\/table>/)
  })

  it('single_line_break leaves no blank lines', async () => {
    const single = await md({ single_line_break: true })
    expect(base).toContain('\n\n')
    expect(single).not.toContain('\n\n')
    expect(single).toContain('# Options page\nRead the')
  })

  it('body_width wraps paragraphs at that width, never headings, tables or code', async () => {
    const wrapped = await md({ body_width: 40 })
    const lorem = wrapped
      .split('\n')
      .filter((line) => /^(Lorem|ipsum|dolor|sit|amet|consectetur|adipiscing|elit|sed|do|eiusmod|tempor|incididunt|ut|labore|et|magna|aliqua)/.test(line))
    expect(lorem.length).toBeGreaterThan(10)
    for (const line of lorem) expect(line.length).toBeLessThanOrEqual(40)
    expect(wrapped).toContain('| Name | Price |')
    expect(wrapped).toContain('```\nconst answer = 42\n```')
  })

  it('the options apply to fit_markdown too', async () => {
    const r = await crawl('/md/options', { options: { ignore_links: true }, content_filter: { type: 'PruningContentFilter', params: { threshold: 0.1 } } })
    expect(r.markdown.fit_markdown).toContain('external guide')
    expect(r.markdown.fit_markdown).not.toContain('](https://example.test/guide)')
  })

  it('unknown option keys and keys without effect are named in a warning; a value of the wrong type is a 400', async () => {
    const r = await crawl('/md/options', { options: { ignore_links: true, no_such_option: 1, another_one: true, unicode_snob: true } })
    const warnings = r.warnings.join('\n')
    expect(warnings).toMatch(/unknown html2text options "no_such_option", "another_one"/)
    expect(warnings).toMatch(/options\.unicode_snob: accepted but has no effect/)
    expect(warnings).not.toMatch(/options\.ignore_links/)
    expect(r.markdown.raw_markdown).not.toContain('](https://example.test/guide)')
    const bad = await service.postJson('/crawl', {
      urls: [pages.url('/md/options')],
      crawler_config: { markdown_generator: { type: 'DefaultMarkdownGenerator', params: { options: { body_width: 'wide' } } } },
    })
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toMatch(/body_width/)
  })

  it("Crawl4AI's dict form of options works as the plain object", async () => {
    const out = await md({ type: 'dict', value: { ignore_links: true } })
    expect(out).not.toContain('](https://example.test/guide)')
  })
})

describe('DefaultMarkdownGenerator content_source', () => {
  it('cleaned_html (default) leaves out what the crawl excluded; raw_html starts from the page itself', async () => {
    const cleaned = await crawl('/md/options', {}, { excluded_tags: ['aside'] })
    expect(cleaned.markdown.raw_markdown).not.toContain('Sidebar note')
    const raw = await crawl('/md/options', { content_source: 'raw_html' }, { excluded_tags: ['aside'] })
    expect(raw.markdown.raw_markdown).toContain('Sidebar note')
    expect(raw.markdown.raw_markdown).toContain('# Options page')
    // The head's <title> is not content.
    expect(raw.markdown.raw_markdown.startsWith('# Options page')).toBe(true)
  })

  it('fit_html: the page reduced for schema work: links lose their targets, long texts are cut, a repeated element is kept once', async () => {
    const r = await crawl('/md/options', { content_source: 'fit_html' })
    const out = r.markdown.raw_markdown
    expect(out).toContain('external guide')
    expect(out).not.toContain('](https://example.test/guide)')
    expect(out).toMatch(/Lorem ipsum[^\n]*\.\.\./)
    expect(out.split('Repeated item').length - 1).toBe(1)
    expect(out).toContain('Other item')
  })
})

describe('BM25ContentFilter language', () => {
  const bm25 = (params: Params) => crawl('/md/german', { content_filter: { type: 'BM25ContentFilter', params: { bm25_threshold: 0.5, ...params } } })

  it('a German page with a German query keeps the matching sections: "Katze" meets "Katzen" through the German stemmer', async () => {
    const r = await bm25({ user_query: 'Katze', language: 'german' })
    expect(r.markdown.fit_markdown).toContain('Katzen schlafen gerne')
    expect(r.markdown.fit_markdown).toContain('Viele Katzen mögen es')
    expect(r.markdown.fit_markdown).not.toContain('Autos')
    expect(r.markdown.fit_markdown).not.toContain('Straßenbahn')
    expect(r.warnings.join('\n')).not.toMatch(/language/)
  })

  it('without stemming, or with the English stemmer, the German word forms do not meet', async () => {
    expect((await bm25({ user_query: 'Katze', language: 'german', use_stemming: false })).markdown.fit_markdown).toBe('')
    expect((await bm25({ user_query: 'Katze', language: 'english' })).markdown.fit_markdown).toBe('')
  })

  it('a language without a stemmer is a warning; its words are matched whole', async () => {
    const r = await bm25({ user_query: 'Katzen', language: 'klingon' })
    expect(r.warnings.join('\n')).toMatch(/language: no stemmer for "klingon"/)
    expect(r.markdown.fit_markdown).toContain('Katzen schlafen gerne')
    expect(r.markdown.fit_markdown).not.toContain('Autos')
  })
})
