import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CompletedRequest, EndpointStatsResponse, RequestsResponse } from '../src/shared/monitor-types.js'
import { startMarkdownPages, type PageServer } from './helpers/markdown-pages.js'
import { startService, type TestService } from './helpers/service.js'

/**
 * The monitor's request records say what ran beyond the crawl: the extraction strategy and the
 * records it gave, the content filter and how much of the Markdown it kept. Over HTTP
 * (/monitor/requests), on the real engine; endpoint stats go on counting as before.
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

const ITEMS = { name: 'items', baseSelector: 'li.item', fields: [{ name: 'text', type: 'text' }] }

async function record(id: string): Promise<CompletedRequest> {
  const requests = (await service.get('/monitor/requests?status=completed')).body as RequestsResponse
  const found = requests.completed.find((r) => r.id === id)
  expect(found, `request ${id} in /monitor/requests`).toBeDefined()
  return found as CompletedRequest
}

async function crawl(crawler_config: Record<string, unknown>, urls = [pages.url('/md/options')]): Promise<CompletedRequest> {
  const finished = service.nextEvent('request:finished', (e) => e.endpoint === '/crawl')
  const r = await service.postJson('/crawl', { urls, crawler_config })
  expect(r.status, JSON.stringify(r.body).slice(0, 400)).toBe(200)
  return record((await finished).id)
}

describe('request records show extraction and content filtering', () => {
  it('a crawl with a schema and a content filter: strategy and records, filter and fit of raw characters', async () => {
    const r = await crawl({
      extraction_strategy: { type: 'JsonCssExtractionStrategy', params: { schema: ITEMS } },
      markdown_generator: { type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'PruningContentFilter', params: {} } } },
    })
    expect(r.extraction).toEqual({ strategy: 'JsonCssExtractionStrategy', records: 3 })
    expect(r.content_filter?.type).toBe('PruningContentFilter')
    expect(r.content_filter?.raw_chars).toBeGreaterThan(500)
    expect(r.content_filter?.fit_chars).toBeGreaterThan(0)
    expect(r.content_filter?.fit_chars).toBeLessThanOrEqual(r.content_filter?.raw_chars ?? 0)
    expect(r.cache_hit).toBe(false)
  })

  it('summed over the URLs of a batch; a plain crawl records neither', async () => {
    const both = await crawl({ extraction_strategy: { type: 'JsonCssExtractionStrategy', params: { schema: ITEMS } } }, [
      pages.url('/md/options'),
      pages.url('/md/options?again'),
    ])
    expect(both.extraction).toEqual({ strategy: 'JsonCssExtractionStrategy', records: 6 })
    expect(both.content_filter).toBeNull()
    const plain = await crawl({})
    expect(plain.extraction).toBeNull()
    expect(plain.content_filter).toBeNull()
  })

  it('a cache hit is marked, and says what ran without reading the stored result', async () => {
    const cfg = {
      cache_mode: 'enabled',
      markdown_generator: { type: 'DefaultMarkdownGenerator', params: { content_filter: { type: 'BM25ContentFilter', params: { user_query: 'guide' } } } },
    }
    const url = [pages.url('/md/options?cached')]
    const miss = await crawl(cfg, url)
    expect(miss.cache_hit).toBe(false)
    expect(miss.content_filter?.type).toBe('BM25ContentFilter')
    expect(miss.content_filter?.raw_chars).toBeGreaterThan(0)
    const hit = await crawl(cfg, url)
    expect(hit.cache_hit).toBe(true)
    expect(hit.content_filter).toEqual({ type: 'BM25ContentFilter', fit_chars: null, raw_chars: null })
  })

  it('/md with f=fit records its Pruning filter; endpoint stats still count every request', async () => {
    const finished = service.nextEvent('request:finished', (e) => e.endpoint === '/md')
    const r = await service.postJson('/md', { url: pages.url('/md/options'), f: 'fit' })
    expect(r.status).toBe(200)
    const md = await record((await finished).id)
    expect(md.content_filter?.type).toBe('PruningContentFilter')
    const stats = (await service.get('/monitor/endpoints/stats')).body as EndpointStatsResponse
    expect(stats['/crawl']?.count).toBe(5)
    expect(stats['/crawl']?.cache_hit_rate_percent).toBe(20)
    expect(stats['/md']?.count).toBe(1)
  })
})
