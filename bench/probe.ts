/**
 * Diagnostic, not part of `npm run bench`: where does crawldeck's extra time per page come from?
 * Runs a chain of variants that add one of crawldeck's differences at a time, interleaved in
 * rotating order, at concurrency PROBE_C (default 1), on PROBE_PAGE (default '/'):
 *
 *   B        bare loop, bare browser, newContext()
 *   B+sw     bare loop, bare browser, newContext({serviceWorkers: 'block'})
 *   B+opts   bare loop, bare browser, the crawler's exact context options
 *   P+opts   bare loop on crawldeck's permanent browser, the crawler's context options
 *   C        runtime.service.html() in-process: the engine without HTTP
 *   A        POST /html over HTTP
 *
 * `npx tsx bench/probe.ts` (PROBE_ROUNDS, PROBE_REQUESTS, PROBE_PAGE, PROBE_C; PROBE_ONLY=A,B to run
 * a subset, e.g. under `node --cpu-prof --import tsx bench/probe.ts` to profile one side alone).
 */
import type { Browser, BrowserContextOptions } from 'playwright-core'
import { contract } from '../src/shared/contract.js'
import { extractFromPage } from '../src/main/core/crawl/extract.js'
import { startFixtureServer } from '../tests/helpers/fixture-server.js'
import { HTML_EXTRACTION, launchBareBrowser } from './bare-loop.js'
import { childPids, emptyTally, withCpu, type CpuTally } from './cpu.js'
import { runLoad } from './load.js'
import { postHtml, startBenchService } from './service-client.js'
import { median, p95 } from './stats.js'

const rounds = Number(process.env.PROBE_ROUNDS ?? 6)
const requests = Number(process.env.PROBE_REQUESTS ?? 10)
const pagePath = process.env.PROBE_PAGE ?? '/'
const concurrency = Number(process.env.PROBE_C ?? 1)

/** What crawler.ts contextOptions() returns for the default browser config. */
const CRAWLER_OPTIONS: BrowserContextOptions = {
  viewport: { width: 1280, height: 720 },
  userAgent: undefined,
  javaScriptEnabled: true,
  ignoreHTTPSErrors: false,
  locale: undefined,
  serviceWorkers: 'block',
}

async function loop(browser: Browser, url: string, options: BrowserContextOptions | undefined): Promise<void> {
  const context = await browser.newContext(options)
  try {
    const page = await context.newPage()
    await page.goto(url, { waitUntil: 'domcontentloaded' })
    await extractFromPage(page, HTML_EXTRACTION)
  } finally {
    await context.close()
  }
}

async function main(): Promise<void> {
  const fixture = await startFixtureServer()
  const svc = await startBenchService()
  const before = await childPids()
  const bareHandle = await launchBareBrowser()
  const bare = bareHandle.browser
  const barePid = [...(await childPids())].find((p) => !before.has(p)) ?? null
  const permanent = svc.runtime.pool.permanent()
  if (!permanent) throw new Error('no permanent browser')
  const url = fixture.url(pagePath)
  const input = contract.html.input.parse({ url })
  const call = { signal: new AbortController().signal, transport: 'http' as const }

  const only = process.env.PROBE_ONLY?.split(',').map((v) => v.trim())
  const all: Array<{ name: string; pid: number | null; run: () => Promise<void> }> = [
    { name: 'B', pid: barePid, run: () => loop(bare, url, undefined) },
    { name: 'B+sw', pid: barePid, run: () => loop(bare, url, { serviceWorkers: 'block' }) },
    { name: 'B+opts', pid: barePid, run: () => loop(bare, url, CRAWLER_OPTIONS) },
    { name: 'P+opts', pid: permanent.pid, run: () => loop(permanent.browser, url, CRAWLER_OPTIONS) },
    { name: 'C', pid: permanent.pid, run: () => svc.runtime.service.html(input, call).then(() => undefined) },
    { name: 'A', pid: permanent.pid, run: () => postHtml(svc.url, url).then(() => undefined) },
  ]
  const variants = only ? all.filter((v) => only.includes(v.name)) : all
  if (variants.length === 0) throw new Error(`PROBE_ONLY=${process.env.PROBE_ONLY} matches no variant`)
  const lat = new Map<string, number[]>(variants.map((v) => [v.name, []]))
  const wall = new Map<string, number>(variants.map((v) => [v.name, 0]))
  const cpu = new Map<string, CpuTally>(variants.map((v) => [v.name, emptyTally()]))
  try {
    for (const v of variants) await runLoad(() => v.run(), 6, concurrency) // warm-up
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no variant always follows the same neighbour.
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!)
      for (const v of order) {
        const run = await withCpu(cpu.get(v.name)!, v.pid, requests, () => runLoad(() => v.run(), requests, concurrency))
        lat.get(v.name)!.push(...run.latencies)
        wall.set(v.name, wall.get(v.name)! + run.wallMs)
      }
      process.stderr.write(`[probe] round ${r + 1}/${rounds}\n`)
    }
  } finally {
    await bareHandle.dispose()
    await svc.close()
    await fixture.close()
  }
  const base = median(lat.get(variants[0]!.name)!)
  console.log(`\nprobe ${pagePath} c=${concurrency}, ${rounds} rounds x ${requests} requests per variant\n`)
  console.log('| variant | median | p95 | median − first | pages/s | CPU/page Node | CPU/page Chromium | CPU/page total |')
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const v of variants) {
    const l = lat.get(v.name)!
    const t = cpu.get(v.name)!
    const f = (x: number) => x.toFixed(1)
    console.log(
      `| ${v.name} | ${f(median(l))} | ${f(p95(l))} | ${f(median(l) - base)} | ${f((l.length * 1000) / wall.get(v.name)!)} | ${f(t.nodeMs / t.pages)} | ${f(t.browserMs / t.pages)} | ${f((t.nodeMs + t.browserMs) / t.pages)} |`,
    )
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`probe broke: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exitCode = 1
})
