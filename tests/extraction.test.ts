import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-result.js'
import { MAX_EXTRACTED_RECORDS, MAX_SCHEMA_DEPTH, MAX_SCHEMA_FIELDS } from '../src/shared/extraction-strategy.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { CONTACT_TEXT, PRODUCT_SCHEMA } from './helpers/product-pages.js'
import { startService, TestScope, type TestService } from './helpers/service.js'

/*
 * crawler_config.extraction_strategy (../shared/reference/crawl4ai-api.md §10): JsonCss and
 * JsonXPath schemas and RegexExtractionStrategy, run by the real service on a real page, their
 * records read back from extracted_content.
 */

let fx: FixtureServer
let s: TestService
const scope = new TestScope(() => fx)

beforeAll(async () => {
  fx = await startFixtureServer()
  s = await scope.serve({ prewarm_pages: 0 })
})

afterAll(async () => {
  await scope.closeAll()
  await fx?.close()
})

interface ErrorBody {
  error: string
  details: Array<{ path: string; message: string }>
}

async function crawlWith(path: string, extraction_strategy: unknown): Promise<CrawlResult> {
  const reply = await s.postJson('/crawl', { urls: [fx.url(path)], crawler_config: { extraction_strategy } })
  expect(reply.status, JSON.stringify(reply.body).slice(0, 800)).toBe(200)
  return reply.body.results[0] as CrawlResult
}

async function records(path: string, extraction_strategy: unknown): Promise<unknown[]> {
  const r = await crawlWith(path, extraction_strategy)
  expect(r.success, String(r.error_message)).toBe(true)
  expect(typeof r.extracted_content).toBe('string')
  return JSON.parse(r.extracted_content!) as unknown[]
}

async function refused(extraction_strategy: unknown): Promise<ErrorBody['details']> {
  const reply = await s.postJson('/crawl', { urls: [fx.url('/products')], crawler_config: { extraction_strategy } })
  expect(reply.status, JSON.stringify(reply.body).slice(0, 800)).toBe(400)
  return (reply.body as unknown as ErrorBody).details
}

const css = (schema: unknown) => ({ type: 'JsonCssExtractionStrategy', params: { schema } })
const xpath = (schema: unknown) => ({ type: 'JsonXPathExtractionStrategy', params: { schema } })

describe('JsonCssExtractionStrategy', () => {
  it('every field type: text, attribute, html, regex, a pipeline, nested, list, nested_list, computed, source, transform, default', async () => {
    const schema = {
      name: 'Products',
      baseSelector: 'li.product',
      baseFields: [{ name: 'id', type: 'attribute', attribute: 'data-id' }],
      fields: [
        { name: 'title', selector: 'h3', type: 'text' },
        { name: 'shout', selector: 'h3', type: 'text', transform: 'uppercase' },
        { name: 'link', selector: 'a.link', type: 'attribute', attribute: 'href' },
        { name: 'price', selector: '.price', type: 'regex', pattern: '\\$(\\d+\\.\\d+)' },
        { name: 'sku', type: ['attribute', 'regex'], attribute: 'data-sku', pattern: 'SKU-(\\d+)' },
        { name: 'badge', selector: '.badge', type: 'html' },
        {
          name: 'brand',
          selector: '.brand',
          type: 'nested',
          fields: [
            { name: 'name', selector: '.name', type: 'text', transform: 'lowercase' },
            { name: 'country', selector: '.country', type: 'text' },
          ],
        },
        { name: 'tags', selector: 'ul.tags li', type: 'list', fields: [{ name: 'tag', type: 'text' }] },
        {
          name: 'variants',
          selector: 'li.variant',
          type: 'nested_list',
          fields: [
            { name: 'color', selector: '.color', type: 'text' },
            { name: 'stock', selector: '.stock', type: 'text', default: '0' },
          ],
        },
        { name: 'rating', source: '+ li.meta', selector: '.rating', type: 'text', default: 'n/a' },
        { name: 'score', type: 'computed', expression: 'price * 2', default: 0 },
        { name: 'missing', selector: '.nope', type: 'text' },
      ],
    }
    expect(await records('/products', css(schema))).toEqual([
      {
        id: 'p12',
        title: 'Desk lamp',
        shout: 'DESK LAMP',
        link: '/p/12',
        price: '24.50',
        sku: '12',
        badge: '<span class="badge"><em>New</em></span>',
        brand: { name: 'lumo', country: 'DK' },
        tags: [{ tag: 'Light' }, { tag: 'Office' }],
        variants: [
          { color: 'Black', stock: '3' },
          { color: 'White', stock: '0' },
        ],
        rating: '4.5',
        score: 0,
      },
      {
        id: 'p13',
        // The <script> inside the heading is not its text.
        title: 'Chair',
        shout: 'CHAIR',
        link: '/p/13',
        price: '89.00',
        sku: '13',
        brand: {},
        tags: [],
        variants: [],
        rating: '3.9',
        score: 0,
      },
      // No price match, no data-sku, no sibling row: left out, or their default.
      { id: 'p14', title: 'Stool', shout: 'STOOL', link: '/p/14', brand: {}, tags: [], variants: [], rating: 'n/a', score: 0 },
    ])
  })

  it("extracted_content is Crawl4AI's json.dumps(indent=4): 4-space indent, keys in schema order", async () => {
    const r = await crawlWith(
      '/products',
      css({
        baseSelector: 'li.product[data-id="p13"]',
        fields: [
          { name: 'title', selector: 'h3', type: 'text' },
          { name: 'n', selector: 'a', type: 'attribute', attribute: 'href' },
        ],
      }),
    )
    expect(r.extracted_content).toBe('[\n    {\n        "title": "Chair",\n        "n": "/p/13"\n    }\n]')
  })

  it('no match is "[]"; items where no field has a value are skipped', async () => {
    const none = await crawlWith('/products', css({ baseSelector: 'article.nothing', fields: [{ name: 't', selector: 'h3', type: 'text' }] }))
    expect(none.extracted_content).toBe('[]')
    const empty = await crawlWith('/products', css({ baseSelector: 'li', fields: [{ name: 'rating', selector: '.rating', type: 'text' }] }))
    expect(JSON.parse(empty.extracted_content!)).toEqual([{ rating: '4.5' }, { rating: '3.9' }])
  })

  it("the schema in Crawl4AI's typed form, wrapped as a dict", async () => {
    const strategy = { type: 'JsonCssExtractionStrategy', params: { schema: { type: 'dict', value: PRODUCT_SCHEMA } } }
    const got = await records('/products', strategy)
    expect(got).toHaveLength(3)
    expect(got[0]).toEqual({
      id: 'p12',
      title: 'Desk lamp',
      link: '/p/12',
      price: '24.50',
      brand: { name: 'Lumo' },
      tags: [{ tag: 'Light' }, { tag: 'Office' }],
    })
  })

  it('a selector the browser cannot parse fails the URL, naming the field', async () => {
    const r = await crawlWith(
      '/products',
      css({
        baseSelector: 'li.product',
        fields: [
          { name: 'ok', selector: 'h3', type: 'text' },
          { name: 'bad', selector: 'div[[', type: 'text' },
        ],
      }),
    )
    expect(r.success).toBe(false)
    expect(r.error_message).toContain('crawler_config.extraction_strategy.params.schema.fields.1.selector')
    expect(r.error_message).toContain('div[[')
  })
})

describe('JsonXPathExtractionStrategy', () => {
  it('the same records from XPath selectors, CSS-like ones converted as Crawl4AI does', async () => {
    const schema = {
      baseSelector: "//li[@class='product']",
      baseFields: [{ name: 'id', type: 'attribute', attribute: 'data-id' }],
      fields: [
        // No "/": made a descendant path (.//h3), as Crawl4AI's naive conversion.
        { name: 'title', selector: 'h3', type: 'text' },
        { name: 'link', selector: ".//a[@class='link']", type: 'attribute', attribute: 'href' },
        { name: 'price', selector: "span[@class='price']", type: 'regex', pattern: '\\$(\\d+\\.\\d+)' },
        { name: 'badge', selector: "//span[@class='badge']", type: 'html' },
        { name: 'brand', selector: "div[@class='brand']", type: 'nested', fields: [{ name: 'name', selector: "span[@class='name']", type: 'text' }] },
        // A relative path with "/": kept relative to the item (Crawl4AI makes it ".ul/li", which fails).
        { name: 'tags', selector: "ul[@class='tags']/li", type: 'list', fields: [{ name: 'tag', type: 'text' }] },
        { name: 'rating', source: '+ li.meta', selector: "span[@class='rating']", type: 'text' },
      ],
    }
    expect(await records('/products', xpath(schema))).toEqual([
      {
        id: 'p12',
        title: 'Desk lamp',
        link: '/p/12',
        price: '24.50',
        badge: '<span class="badge"><em>New</em></span>',
        brand: { name: 'Lumo' },
        tags: [{ tag: 'Light' }, { tag: 'Office' }],
        rating: '4.5',
      },
      // XPath text is all the text, as lxml's: the script's included.
      { id: 'p13', title: 'Chairvar hidden = 1', link: '/p/13', price: '89.00', brand: {}, tags: [], rating: '3.9' },
      { id: 'p14', title: 'Stool', link: '/p/14', brand: {}, tags: [] },
    ])
  })

  it('no match is "[]"; an XPath that does not parse fails the URL naming the field', async () => {
    expect((await crawlWith('/products', xpath({ baseSelector: '//article', fields: [{ name: 't', selector: 'h3', type: 'text' }] }))).extracted_content).toBe(
      '[]',
    )
    const r = await crawlWith('/products', xpath({ baseSelector: '//li[', fields: [{ name: 't', selector: 'h3', type: 'text' }] }))
    expect(r.success).toBe(false)
    expect(r.error_message).toContain('crawler_config.extraction_strategy.params.schema.baseSelector')
  })
})

describe('RegexExtractionStrategy', () => {
  /** Where `value` is in the contact text, in code points as Python counts them. */
  const span = (value: string): [number, number] => {
    const start = [...CONTACT_TEXT.slice(0, CONTACT_TEXT.indexOf(value))].length
    return [start, start + [...value].length]
  }

  it("built-in patterns by name or by Crawl4AI's flag bits: {url, label, value, span}, in the built-ins' order, spans in code points", async () => {
    const url = fx.url('/products/contact')
    const got = await records('/products/contact', {
      type: 'RegexExtractionStrategy',
      params: { pattern: ['hashtag', 'twitter_handle', 'time_24h', 'date_iso', 'percentage', 'uuid', 'url', 'email'] },
    })
    const expected: Array<[string, string]> = [
      ['email', 'sales@shop.test'],
      // The sentence's full stop after it is not part of the URL.
      ['url', 'https://shop.test/help'],
      ['uuid', '123e4567-e89b-12d3-a456-426614174000'],
      ['percentage', '15%'],
      ['date_iso', '2024-05-01'],
      ['time_24h', '14:30'],
      ['twitter_handle', '@shopbot'],
      ['hashtag', '#deals'],
    ]
    expect(got).toEqual(expected.map(([label, value]) => ({ url, label, value, span: span(value) })))
    // Email | Url as Crawl4AI's IntFlag sends them: bits 0 and 3.
    const byBits = (await records('/products/contact', { type: 'RegexExtractionStrategy', params: { pattern: 1 | 8 } })) as Array<{ label: string }>
    expect(byBits.map((r) => r.label)).toEqual(['email', 'url'])
  })

  it('custom patterns {label: pattern}, Python named groups read as JavaScript', async () => {
    const got = await records('/products/contact', {
      type: 'RegexExtractionStrategy',
      params: { custom: { order: 'Order (?P<id>[0-9a-f]{8})', year: '\\b20\\d\\d\\b' } },
    })
    expect(got).toEqual([
      { url: fx.url('/products/contact'), label: 'order', value: 'Order 123e4567', span: span('Order 123e4567') },
      { url: fx.url('/products/contact'), label: 'year', value: '2024', span: span('2024') },
    ])
    expect(await records('/products/contact', { type: 'RegexExtractionStrategy', params: { custom: { none: 'zzz+' } } })).toEqual([])
  })
})

describe('the strategy in the dump form', () => {
  it('POST /config/dump writes it back in the typed form, and the dump posts back unchanged', async () => {
    const strategy = css({ baseSelector: 'li', fields: [{ name: 'a', type: 'text' }] })
    const dumped = await s.postJson('/config/dump', { type: 'CrawlerRunConfig', params: { extraction_strategy: strategy } })
    expect(dumped.status).toBe(200)
    const params = (dumped.body as { params: { extraction_strategy: unknown } }).params
    expect(params.extraction_strategy).toEqual({
      type: 'JsonCssExtractionStrategy',
      params: { schema: { type: 'dict', value: { baseSelector: 'li', fields: [{ type: 'dict', value: { name: 'a', type: 'text' } }] } } },
    })
    const again = await crawlWith('/products', params.extraction_strategy)
    expect(JSON.parse(again.extracted_content!)).toHaveLength(9)
  })
})

describe('bad strategies are a 400 naming the field', () => {
  it('a field without what its type needs, an unknown type, a pattern JavaScript cannot read', async () => {
    const details = await refused(
      css({
        baseSelector: 'li',
        fields: [
          { name: 'a', type: 'attribute' },
          { name: 'b', type: 'regex', pattern: '([' },
          { name: 'c', type: 'bogus' },
          { name: 'd', selector: 'h3', type: 'text', colour: 'red' },
        ],
      }),
    )
    const at = (i: number, key = '') => `crawler_config.extraction_strategy.params.schema.fields.${i}${key}`
    expect(details.map((d) => d.path)).toEqual([at(0, '.attribute'), at(1, '.pattern'), at(2, '.type'), at(3)])
    expect(details[1]!.message).toMatch(/not a valid regular expression/)
    expect(details[2]!.message).toMatch(/^give one of text, attribute, html, regex, nested/)
    expect((await refused(css({ fields: [] })))[0]!.path).toBe('crawler_config.extraction_strategy.params.schema.baseSelector')
    expect((await refused({ type: 'RegexExtractionStrategy', params: { pattern: 'emails' } }))[0]!.path).toBe(
      'crawler_config.extraction_strategy.params.pattern',
    )
  })

  it(`a schema deeper than ${MAX_SCHEMA_DEPTH} levels or with more than ${MAX_SCHEMA_FIELDS} fields`, async () => {
    let field: Record<string, unknown> = { name: 'leaf', type: 'text' }
    for (let i = 0; i < MAX_SCHEMA_DEPTH; i++) field = { name: `n${i}`, selector: 'div', type: 'nested', fields: [field] }
    expect((await refused(css({ baseSelector: 'li', fields: [field] })))[0]!.message).toBe(`the schema nests fields more than ${MAX_SCHEMA_DEPTH} levels deep`)
    const wide = Array.from({ length: MAX_SCHEMA_FIELDS + 1 }, (_, i) => ({ name: `f${i}`, type: 'text' }))
    expect((await refused(css({ baseSelector: 'li', fields: wide })))[0]!.message).toBe(`the schema has more than ${MAX_SCHEMA_FIELDS} fields`)
    expect((await refused(css({ baseSelector: 'li'.repeat(2000), fields: [] })))[0]!.message).toMatch(/at most 2048 characters/)
  })

  it('CosineStrategy is refused saying why; LLMExtractionStrategy too', async () => {
    const cosine = await refused({ type: 'CosineStrategy', params: { semantic_filter: 'chairs' } })
    expect(cosine).toEqual([
      { path: 'crawler_config.extraction_strategy.type', message: expect.stringMatching(/^CosineStrategy is not offered: .*embedding model/) },
    ])
    const llm = await refused({ type: 'LLMExtractionStrategy', params: {} })
    expect(llm[0]!.message).toMatch(/no LLM is configured/)
  })
})

describe('hostile strategies and pages stay bounded', () => {
  it(`records stop at ${MAX_EXTRACTED_RECORDS}, with a warning`, async () => {
    const r = await crawlWith('/products/big?n=100', { type: 'RegexExtractionStrategy', params: { custom: { ch: '\\w' } } })
    expect(r.success, String(r.error_message)).toBe(true)
    expect(JSON.parse(r.extracted_content!)).toHaveLength(MAX_EXTRACTED_RECORDS)
    expect(r.warnings).toContain(`crawler_config.extraction_strategy: stopped at ${MAX_EXTRACTED_RECORDS} records; the rest of the page was not extracted`)
  })

  it("a page that booby-traps Object.prototype, JSON and document's methods gets its records read all the same", async () => {
    const schema = { baseSelector: 'li.product', fields: [{ name: 'title', selector: 'h3', type: 'text' }] }
    expect(await records('/products/hostile', css(schema))).toEqual([{ title: 'Desk lamp' }, { title: 'Chair' }, { title: 'Stool' }])
  })

  it('a pattern that backtracks forever fails its URL at page_timeout, and the service goes on serving', async () => {
    const reply = await s.postJson('/crawl', {
      // Runs of 40 word characters and spaces, none followed by "!": 2^40 ways to fail at each.
      urls: [fx.url('/products/big?n=3')],
      crawler_config: { page_timeout: 3000, extraction_strategy: { type: 'RegexExtractionStrategy', params: { custom: { evil: '(\\w+\\s?)+!' } } } },
    })
    expect(reply.status).toBe(200)
    const r = reply.body.results[0] as CrawlResult
    expect(r.success).toBe(false)
    expect(r.error_message).toMatch(/page_timeout \(3000 ms\).*extraction_strategy/)
    expect(await records('/products', css(PRODUCT_SCHEMA))).toHaveLength(3)
  })

  describe('with a small max_capture_bytes', () => {
    let small: TestService
    beforeAll(async () => {
      small = await startService({ prewarm_pages: 0, max_capture_bytes: 16 * 1024 })
    })
    afterAll(async () => {
      await small?.close()
    })

    it('records larger than max_capture_bytes fail the URL as capture_too_large', async () => {
      // Each element's record carries a 2,000-character default: about 80 KB over the page's 40 elements.
      const strategy = css({ baseSelector: '*', fields: [{ name: 'pad', type: 'computed', default: 'x'.repeat(2000) }] })
      const reply = await small.postJson('/crawl', { urls: [fx.url('/products')], crawler_config: { extraction_strategy: strategy } })
      expect(reply.status).toBe(200)
      const r = reply.body.results[0] as CrawlResult
      expect(r.success).toBe(false)
      expect(r.error_message).toMatch(/^the extraction strategy's records are at least \d+ characters, above this server's max_capture_bytes of 16384 bytes$/)
      const fine = await small.postJson('/crawl', { urls: [fx.url('/products')], crawler_config: { extraction_strategy: css(PRODUCT_SCHEMA) } })
      expect((fine.body.results[0] as CrawlResult).success).toBe(true)
    })
  })
})
