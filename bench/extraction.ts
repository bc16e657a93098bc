import { performance } from 'node:perf_hooks'
import { startFixtureServer, type FixtureServer } from '../tests/helpers/fixture-server.js'
import { PRODUCT_SCHEMA } from '../tests/helpers/product-pages.js'
import type { BenchRun } from './benches.js'
import { closedLoop } from './load.js'
import { startBenchService, type BenchService } from './service-client.js'
import { quantile } from './stats.js'

/**
 * What crawler_config.extraction_strategy costs: the same POST /crawl of a product list of about
 * 100 KB (250 items) with a JsonCss schema (five fields: text, attribute, regex, nested, list) and
 * without, interleaved request by request in one closed loop so a slow phase of the machine hits
 * both. The target: at most 10 % more time per page. Prints only.
 *
 * Knobs: EXTRACTION_ROUNDS (6), EXTRACTION_PAGES (pages per variant and round, 60),
 * EXTRACTION_CONCURRENCY (1), EXTRACTION_ITEMS (items on the page, 250).
 */

const say = (m: string) => process.stderr.write(`[bench] ${m}\n`)
const intEnv = (name: string, fallback: number) => {
  const v = Number(process.env[name])
  return Number.isInteger(v) && v > 0 ? v : fallback
}

type Variant = 'plain' | 'extracting'

async function post(baseUrl: string, body: string, items: number | null): Promise<null> {
  const res = await fetch(`${baseUrl}/crawl`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const answer = (await res.json()) as { success?: boolean; error?: string; results?: Array<{ extracted_content: string | null }> }
  if (res.status !== 200 || answer.success !== true)
    throw new Error(`POST /crawl answered ${res.status}: ${answer.error ?? JSON.stringify(answer).slice(0, 200)}`)
  if (items !== null) {
    const got = JSON.parse(answer.results?.[0]?.extracted_content ?? '[]') as unknown[]
    if (got.length !== items) throw new Error(`the extraction gave ${got.length} records, not ${items}`)
  }
  return null
}

export async function runExtractionBench({ write }: BenchRun): Promise<void> {
  if (write) say('extraction writes no docs: it prints only')
  const rounds = intEnv('EXTRACTION_ROUNDS', 6)
  const pages = intEnv('EXTRACTION_PAGES', 60)
  const concurrency = intEnv('EXTRACTION_CONCURRENCY', 1)
  const items = intEnv('EXTRACTION_ITEMS', 250)
  let fixture: FixtureServer | undefined
  let service: BenchService | undefined
  try {
    fixture = await startFixtureServer()
    service = await startBenchService({ retire_after_pages: 1_000_000 })
    const url = fixture.url(`/products/big?n=${items}`)
    const size = (await (await fetch(url)).text()).length
    const texts: Record<Variant, string> = {
      plain: JSON.stringify({ urls: [url] }),
      extracting: JSON.stringify({
        urls: [url],
        crawler_config: { extraction_strategy: { type: 'JsonCssExtractionStrategy', params: { schema: PRODUCT_SCHEMA } } },
      }),
    }
    const base = service.url
    say(`page: ${items} items, ${(size / 1024).toFixed(0)} KiB; warm-up: ${2 * concurrency} pages per variant`)
    await closedLoop(() => post(base, texts.plain, null), 2 * concurrency, concurrency)
    await closedLoop(() => post(base, texts.extracting, items), 2 * concurrency, concurrency)

    const latencies: Record<Variant, number[]> = { plain: [], extracting: [] }
    for (let r = 0; r < rounds; r++) {
      const offset = r % 2
      const run = await closedLoop(
        async (i) => {
          const variant: Variant = (i + offset) % 2 === 0 ? 'plain' : 'extracting'
          const t0 = performance.now()
          await post(base, texts[variant], variant === 'extracting' ? items : null)
          latencies[variant].push(performance.now() - t0)
          return []
        },
        2 * Math.max(pages, concurrency),
        concurrency,
      )
      say(`round ${r + 1}/${rounds}: ${((2 * Math.max(pages, concurrency) * 1000) / run.wallMs).toFixed(2)} pages/s, both variants`)
    }
    const figures = (v: Variant) => {
      const own = latencies[v]
      const mean = own.reduce((a, b) => a + b, 0) / own.length
      return { pagesPerS: (concurrency * 1000) / mean, p50: quantile(own, 0.5), mean }
    }
    const plain = figures('plain')
    const extracting = figures('extracting')
    const cost = ((extracting.mean - plain.mean) / plain.mean) * 100
    const verdict = cost <= 10 ? 'within the target (≤ 10 % more time per page)' : 'OUTSIDE the target (≤ 10 % more time per page)'
    process.stdout.write(
      [
        `POST /crawl of a ${(size / 1024).toFixed(0)} KiB product list (${items} items) at c=${concurrency}, ${rounds} rounds × ${pages} pages per variant (interleaved request by request; pages/s = concurrency / mean latency)`,
        '',
        '| variant | pages/s | p50 ms | mean ms |',
        '|---|---:|---:|---:|',
        `| no extraction | ${plain.pagesPerS.toFixed(2)} | ${plain.p50.toFixed(1)} | ${plain.mean.toFixed(1)} |`,
        `| JsonCss, 5 fields × ${items} items | ${extracting.pagesPerS.toFixed(2)} | ${extracting.p50.toFixed(1)} | ${extracting.mean.toFixed(1)} |`,
        `| difference | ${cost >= 0 ? '+' : '−'}${Math.abs(cost).toFixed(1)} % time | ${extracting.p50 - plain.p50 >= 0 ? '+' : '−'}${Math.abs(extracting.p50 - plain.p50).toFixed(1)} | ${(extracting.mean - plain.mean).toFixed(1)} |`,
        '',
        `Extraction is ${verdict}.`,
        '',
      ].join('\n'),
    )
  } finally {
    await service?.close()
    await fixture?.close()
  }
}
