/**
 * Full Chromium vs Chromium's headless shell, side by side in one run: `npx tsx bench/binaries.ts`.
 *
 * Why the pool prefers the headless shell for headless browsers (chromium/locate.ts): the same
 * isolated crawl as the bare loop (b) — new context, new page, goto (domcontentloaded), extraction +
 * Markdown, close the context — on each binary, launched like the pool launches (same flags, same
 * niceness), at concurrency 1 and 4, rounds rotated so load swings hit both. A shared context (new
 * page per request, no isolation; Crawlee's default) is shown for each binary as the reference.
 * Reported per cell: pages/s and the CPU the browsers used per page (every process this bench
 * launched, reaped renderers included), which a loaded machine inflates far less than wall time.
 * Knobs: BINARIES_PAGES (24 per cell and round), BINARIES_ROUNDS (2).
 */
import os from 'node:os'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startFixtureServer } from '../tests/helpers/fixture-server.js'
import { BASE_CHROMIUM_ARGS } from '../src/main/core/chromium/launch-args.js'
import { locateChromiumBinaries } from '../src/main/core/chromium/locate.js'
import { chromiumExecutable } from '../src/main/core/chromium/priority.js'
import { resolveConfig } from '../src/main/core/config.js'
import { bareCrawl } from './bare-loop.js'
import { childrenCpuMs } from './cpu.js'
import { closedLoop } from './load.js'
import { median } from './stats.js'
import { crawlPageWork } from './suite/page-work.js'

const PAGES = Number(process.env.BINARIES_PAGES ?? 24)
const ROUNDS = Number(process.env.BINARIES_ROUNDS ?? 2)
const PATHS = ['/', '/js'] as const
const CONCURRENCIES = [1, 4] as const

const env = { ...process.env }
delete env.CRAWLDECK_CHROMIUM
const found = locateChromiumBinaries({ env })
if (found.headed === null || found.headed === found.headless) throw new Error('needs both a full Chromium and a headless shell (apt-get install -y chromium chromium-headless-shell)')
const binaries = { full: found.headed, shell: found.headless }
type Binary = keyof typeof binaries
type Mode = 'isolated' | 'shared'

const work = async (page: Page): Promise<number> => (await crawlPageWork(page)).markdownChars
const fixture = await startFixtureServer()
const nice = resolveConfig().chromium_nice
const results = new Map<string, { pps: number[]; cpu: number[] }>()
const load = [os.loadavg()[0]!]

async function cell(browser: Browser, shared: BrowserContext | null, path: string, concurrency: number): Promise<{ pps: number; cpuPerPage: number }> {
  const url = fixture.url(path)
  const one = async (): Promise<null> => {
    if (shared === null) await bareCrawl(browser, url, undefined, work)
    else {
      const page = await shared.newPage()
      try {
        await page.goto(url, { waitUntil: 'domcontentloaded' })
        await work(page)
      } finally {
        await page.close()
      }
    }
    return null
  }
  const c0 = await childrenCpuMs()
  const run = await closedLoop(one, PAGES, concurrency)
  const c1 = await childrenCpuMs()
  return { pps: run.pages / (run.wallMs / 1000), cpuPerPage: (c1 - c0) / run.pages }
}

const sides: Array<{ binary: Binary; mode: Mode }> = (['full', 'shell'] as const).flatMap((binary) => (['isolated', 'shared'] as const).map((mode) => ({ binary, mode })))
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < sides.length; i++) {
      const { binary, mode } = sides[(i + round) % sides.length]!
      // One browser per side and round, so no side inherits the other's warm caches or leftovers.
      const exe = chromiumExecutable(binaries[binary], nice)
      const browser = await chromium.launch({ executablePath: exe.launchPath, args: [...BASE_CHROMIUM_ARGS] })
      try {
        const shared = mode === 'shared' ? await browser.newContext() : null
        for (const path of PATHS) await cell(browser, shared, path, 4) // warm-up
        for (const path of PATHS) {
          for (const c of CONCURRENCIES) {
            const r = await cell(browser, shared, path, c)
            const key = `${binary}|${mode}|${path}|${c}`
            const acc = results.get(key) ?? { pps: [], cpu: [] }
            acc.pps.push(r.pps)
            acc.cpu.push(r.cpuPerPage)
            results.set(key, acc)
            console.error(`round ${round + 1}: ${binary} ${mode} ${path} c=${c}: ${r.pps.toFixed(2)} pages/s, ${r.cpuPerPage.toFixed(0)} ms browser CPU/page`)
          }
        }
      } finally {
        await browser.close()
        exe.dispose()
      }
    }
    load.push(os.loadavg()[0]!)
  }
} finally {
  await fixture.close()
}

const fmt = (key: string): string => {
  const r = results.get(key)!
  return `${median(r.pps).toFixed(2)} p/s · ${median(r.cpu).toFixed(0)} ms`
}
const out: string[] = []
out.push(`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average (1 min) ${load.map((l) => l.toFixed(1)).join(' → ')}; ${ROUNDS} rounds of ${PAGES} pages per cell, medians.`)
out.push(`Full: \`${binaries.full}\`; shell: \`${binaries.shell}\`; both launched with the pool's flags at niceness ${nice}.`)
out.push('Each cell: pages/s · browser CPU per page.')
out.push('')
out.push('| page | c | full, isolated | shell, isolated | full, shared context | shell, shared context | shell ÷ full, isolated (pages/s) |')
out.push('|---|---|---|---|---|---|---|')
for (const path of PATHS) {
  for (const c of CONCURRENCIES) {
    const k = (b: Binary, m: Mode) => `${b}|${m}|${path}|${c}`
    const ratio = median(results.get(k('shell', 'isolated'))!.pps) / median(results.get(k('full', 'isolated'))!.pps)
    out.push(`| \`${path}\` | ${c} | ${fmt(k('full', 'isolated'))} | ${fmt(k('shell', 'isolated'))} | ${fmt(k('full', 'shared'))} | ${fmt(k('shell', 'shared'))} | ${ratio.toFixed(2)}× |`)
  }
}
console.log(out.join('\n'))
