/**
 * Diagnostic, not part of `npm run bench`: crawldeck's Node-side cost per request with the
 * browser taken out. The real Koa app, body parser, zod validation, request tracking, events
 * and admission answer POST /html from a stub crawler that returns a real, pre-extracted result
 * at once; so what is measured is exactly what (A) adds on top of (B) in this process.
 *
 * `npx tsx bench/overhead.ts` (OVERHEAD_REQUESTS, default 1000 per page and concurrency).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { Admission } from '../src/main/core/admission.js'
import { resolveConfig } from '../src/main/core/config.js'
import type { Crawler, CrawlOutcome } from '../src/main/core/crawl/crawler.js'
import { emptyResult } from '../src/main/core/crawl/crawler.js'
import { extractFromPage } from '../src/main/core/crawl/extract.js'
import { EngineEventBus } from '../src/main/core/events.js'
import { silentLogger } from '../src/main/core/logger.js'
import type { Runtime } from '../src/main/core/runtime.js'
import { createCrawlService } from '../src/main/core/service/crawl-service.js'
import { Authenticator } from '../src/main/http/auth.js'
import { createApp } from '../src/main/http/app.js'
import { contract } from '../src/shared/contract.js'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { startFixtureServer } from '../tests/helpers/fixture-server.js'
import { launchBareBrowser } from './bare-loop.js'
import { nodeCpuMs } from './cpu.js'
import { runLoad } from './load.js'
import { postHtml } from './service-client.js'
import { median, p95 } from './stats.js'

const N = Number(process.env.OVERHEAD_REQUESTS ?? 1000)

async function main(): Promise<void> {
  const fixture = await startFixtureServer()
  // Real extraction results to answer with, taken once.
  const canned = new Map<string, CrawlResult>()
  const bareHandle = await launchBareBrowser()
  const { browser } = bareHandle
  try {
    for (const path of ['/', '/article']) {
      const url = fixture.url(path)
      const context = await browser.newContext()
      const page = await context.newPage()
      const response = await page.goto(url, { waitUntil: 'domcontentloaded' })
      const result = { ...emptyResult(url), ...(await extractFromPage(page, { cssSelector: null, excludedTags: [] })) }
      result.status_code = response?.status() ?? null
      result.success = true
      canned.set(url, result)
      await context.close()
    }
  } finally {
    await bareHandle.dispose()
  }

  const config = resolveConfig({ data_dir: '/nonexistent-unused', port: 0 })
  const events = new EngineEventBus()
  const admission = new Admission(config.max_pages, config.queue_size, events)
  const stub = {
    async crawl(url: string, _b: unknown, _c: unknown, _w: unknown, ctx: { onPhase?: (p: 'queued' | 'acquiring' | 'navigating' | 'extracting') => void }): Promise<CrawlOutcome> {
      ctx.onPhase?.('queued')
      const slot = await admission.acquire({})
      try {
        ctx.onPhase?.('acquiring')
        ctx.onPhase?.('navigating')
        ctx.onPhase?.('extracting')
        const result = canned.get(url)
        if (!result) throw new Error(`no canned result for ${url}`)
        return { result: { ...result }, failure: null }
      } finally {
        slot.release()
      }
    },
  } as unknown as Crawler
  const service = { ...createCrawlService({ config, events, crawler: stub }), health: async () => ({}) as never }
  const runtime = { config, service } as unknown as Runtime
  const server = createServer(createApp(runtime, silentLogger(), { bindHost: '127.0.0.1', auth: new Authenticator({ admin: [], crawl: [], read: [] }) }).callback())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const call = { signal: new AbortController().signal, transport: 'http' as const }

  console.log(`\nNode-side cost of (A) without a browser, ${N} requests each (CPU = this process, user+sys)\n`)
  console.log('| page | path | c | median | p95 | req/s | CPU/request |')
  console.log('|---|---|---:|---:|---:|---:|---:|')
  try {
    for (const path of ['/', '/article']) {
      const url = fixture.url(path)
      const input = contract.html.input.parse({ url })
      const variants = [
        { name: 'service.html() in-process', run: () => service.html(input, call).then(() => undefined) },
        { name: 'POST /html over HTTP', run: () => postHtml(base, url).then(() => undefined) },
      ]
      for (const v of variants) {
        for (const c of [1, 4]) {
          await runLoad(() => v.run(), 100, c) // warm-up (JIT)
          const cpu0 = nodeCpuMs()
          const t0 = performance.now()
          const run = await runLoad(() => v.run(), N, c)
          const cpu = (nodeCpuMs() - cpu0) / N
          const rate = (N * 1000) / (performance.now() - t0)
          console.log(`| \`${path}\` | ${v.name} | ${c} | ${median(run.latencies).toFixed(2)} ms | ${p95(run.latencies).toFixed(2)} ms | ${rate.toFixed(0)} | ${cpu.toFixed(2)} ms |`)
        }
      }
    }
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    admission.close()
    await fixture.close()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`overhead broke: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
