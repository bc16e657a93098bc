import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { parseExtracted, parseSchema, recordCell, recordColumns, usePlaygroundStore } from '../../src/renderer/src/stores/playground.js'
import type { CrawlResponse } from '../../src/shared/crawl-result.js'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { FakeTransport } from './fixtures.js'

/*
 * The Playground's store: what it sends for the cache mode, session, content filter and extraction
 * schema, and how the records it gets back become a table.
 */

let transport: FakeTransport

beforeEach(() => {
  setActivePinia(createPinia())
  transport = new FakeTransport({
    // Only the fields the Playground reads.
    crawl: () =>
      ({
        success: true,
        results: [
          {
            url: 'https://shop.test/',
            success: true,
            status_code: 200,
            error_message: null,
            cleaned_html: '',
            links: { internal: [], external: [] },
            media: { images: [], videos: [], audios: [] },
            metadata: null,
            screenshot: null,
            duration_ms: 5,
            markdown: { raw_markdown: '# raw', markdown_with_citations: '', references_markdown: '', fit_markdown: '# fit', fit_html: '' },
            extracted_content: '[{"title": "Chair", "brand": {"name": "Lumo"}}, {"price": "9"}]',
          },
        ],
      }) as unknown as CrawlResponse,
  })
  setTransport(transport)
})

describe('the Playground store', () => {
  it('sends cache_mode, session_id, a content filter and a JsonXPath schema to /crawl; reads fit markdown and records back', async () => {
    const pg = usePlaygroundStore()
    pg.form.urls = 'https://shop.test/'
    pg.form.cache_mode = 'read_only'
    pg.form.session_id = ' s1 '
    pg.form.content_filter = 'bm25'
    pg.form.filter_query = 'chairs'
    pg.form.extraction = 'xpath'
    pg.form.schema_text = '{"baseSelector": "//li", "fields": [{"name": "t", "type": "text"}]}'
    await pg.run()
    expect(pg.error).toBeNull()
    const sent = transport.calls[0]!.input as { crawler_config: Record<string, unknown> }
    expect(sent.crawler_config).toMatchObject({
      cache_mode: 'read_only',
      session_id: 's1',
      markdown_generator: { type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'BM25ContentFilter', params: { user_query: 'chairs' } } } },
      extraction_strategy: { type: 'JsonXPathExtractionStrategy', params: { schema: { baseSelector: '//li', fields: [{ name: 't', type: 'text' }] } } },
    })
    expect(pg.results[0]).toMatchObject({ markdown: '# raw', fit_markdown: '# fit', extracted: [{ title: 'Chair', brand: { name: 'Lumo' } }, { price: '9' }] })
  })

  it('an invalid schema is an error before anything is sent; none of it is sent with the extraction off', async () => {
    const pg = usePlaygroundStore()
    pg.form.urls = 'https://shop.test/'
    pg.form.extraction = 'css'
    pg.form.schema_text = '{"baseSelector": "li", "fields": ['
    expect(pg.schemaError).toMatch(/^not JSON/)
    await pg.run()
    expect(pg.error).toMatch(/^extraction schema: not JSON/)
    expect(transport.calls).toHaveLength(0)
    pg.form.extraction = 'none'
    expect(pg.schemaError).toBeNull()
    await pg.run()
    const sent = transport.calls[0]!.input as { crawler_config: Record<string, unknown> }
    expect(sent.crawler_config).not.toHaveProperty('extraction_strategy')
    expect(sent.crawler_config).not.toHaveProperty('markdown_generator')
    expect(sent.crawler_config).toMatchObject({ cache_mode: 'bypass', session_id: null })
  })

  it('schema checks, columns and cells', () => {
    expect(parseSchema('[]')).toEqual({ error: 'the schema is a JSON object: {"baseSelector": ..., "fields": [...]}' })
    expect(parseSchema('{"fields": []}')).toEqual({ error: 'the schema needs a "baseSelector" string' })
    expect(parseSchema('{"baseSelector": "li"}')).toEqual({ error: 'the schema needs a "fields" list' })
    const records = parseExtracted('[{"a": "1", "n": {"x": [1]}}, {"b": "2", "a": "3"}]')!
    expect(recordColumns(records)).toEqual(['a', 'n', 'b'])
    expect(recordCell(records[0], 'n')).toBe('{"x":[1]}')
    expect(recordCell(records[0], 'b')).toBe('')
    expect(parseExtracted(null)).toBeNull()
    expect(parseExtracted('not json')).toEqual([{ extracted_content: 'not json' }])
  })
})
