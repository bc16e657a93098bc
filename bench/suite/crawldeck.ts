import type { CrawlResponse } from '../../src/shared/crawl-schemas.js'
import { closedLoop } from '../load.js'
import type { Contender } from './contender.js'

/**
 * URLs of one POST /crawl batch that the engine crawls side by side (BATCH_CONCURRENCY in
 * src/main/core/service/crawl-service.ts): a batch request keeps this many pages in flight.
 */
export const ENGINE_BATCH_CONCURRENCY = 4

const ISOLATION = "new browser context per URL (no cookies, storage or cache shared), pool's warm permanent browser"

/** POST /crawl {urls} with Node's fetch (keep-alive), JSON parsed; throws unless every URL succeeded. */
async function postCrawl(baseUrl: string, urls: string[]): Promise<CrawlResponse> {
  const res = await fetch(`${baseUrl}/crawl`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ urls }),
  })
  const body = (await res.json()) as CrawlResponse & { error?: string }
  if (res.status !== 200 || body.success !== true || !Array.isArray(body.results) || body.results.length !== urls.length) {
    const failed = Array.isArray(body.results) ? body.results.find((r) => !r.success) : undefined
    const why = body.error ?? (failed ? `${failed.url}: ${failed.error_message ?? 'failed'}` : JSON.stringify(body).slice(0, 300))
    throw new Error(`POST /crawl (${urls.length} URL${urls.length === 1 ? '' : 's'}) answered ${res.status}: ${why}`)
  }
  return body
}

function describe(body: CrawlResponse): string {
  const r = body.results[0]
  return r
    ? `cleaned HTML ${r.cleaned_html.length} chars, Markdown ${r.markdown.raw_markdown.length} chars, ${r.links.internal.length + r.links.external.length} links`
    : 'no result'
}

/** (a): one URL per POST /crawl, `concurrency` clients in a closed loop; latency seen by the client. */
export function crawldeckSingle(baseUrl: string): Contender {
  return {
    id: 'a',
    label: '(a) crawldeck',
    method: 'POST /crawl {"urls": [url]} over HTTP (fetch, keep-alive), one URL per request, JSON parsed',
    isolation: ISOLATION,
    supports: () => true,
    run: (url, pages, concurrency) =>
      closedLoop(
        async () => {
          await postCrawl(baseUrl, [url])
          return null
        },
        pages,
        concurrency,
        true,
      ),
    probe: async (url) => describe(await postCrawl(baseUrl, [url])),
    dispose: async () => undefined,
  }
}

/**
 * (a-batch): POST /crawl with `batch` URLs per request. The engine crawls a batch
 * ENGINE_BATCH_CONCURRENCY URLs at a time, so concurrency c is c / 4 clients each sending batches;
 * c=1 has no batch form. Latency per page is the engine's own duration_ms of each URL (asking for
 * a browser to result): the client only sees the whole batch.
 */
export function crawldeckBatch(baseUrl: string, batch: number): Contender {
  return {
    id: 'a-batch',
    label: `(a-batch) crawldeck, ${batch} URLs/request`,
    method: `POST /crawl with ${batch} URLs per request; ${ENGINE_BATCH_CONCURRENCY} crawled at a time per request, so c/${ENGINE_BATCH_CONCURRENCY} clients give c pages in flight`,
    isolation: ISOLATION,
    supports: (c) => c >= ENGINE_BATCH_CONCURRENCY && c % ENGINE_BATCH_CONCURRENCY === 0,
    run: (url, pages, concurrency) => {
      const urls = Array.from({ length: batch }, () => url)
      const requests = Math.max(1, Math.ceil(pages / batch))
      return closedLoop(async () => (await postCrawl(baseUrl, urls)).results.map((r) => r.duration_ms), requests, concurrency / ENGINE_BATCH_CONCURRENCY, true)
    },
    probe: async (url) => describe(await postCrawl(baseUrl, [url, url])),
    dispose: async () => undefined,
  }
}
