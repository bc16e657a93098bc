import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { createRequire } from 'node:module'
import type { FixtureServer } from '../../tests/helpers/fixture-server.js'
import type { BenchService } from '../service-client.js'
import type { CellRun } from '../load.js'
import type { Contender, ContenderId } from './contender.js'
import { crawldeckBatch, crawldeckSingle } from './crawldeck.js'
import { crawleeContender } from './crawlee.js'
import { locateChromium } from '../../src/main/core/chromium/locate.js'
import { firstLine } from '../../src/main/core/errors.js'
import { machineCpuMs } from '../cpu.js'
import { bareLoop, browserPerRequest, pageWorkAlone } from './playwright.js'
import { cellKey, type SuiteData } from './table.js'

export const SUITE_PAGES = [
  { path: '/', what: 'small page' },
  { path: '/article', what: '~100 KB article, 5 images' },
  { path: '/js', what: 'content rendered by JavaScript' },
] as const
export const SUITE_CONCURRENCIES = [1, 4, 8] as const

export interface SuiteOptions {
  fixture: FixtureServer
  service: BenchService
  /** Measured rounds (each runs every cell once, contenders in a rotated order). */
  rounds: number
  /** Pages per cell and round (at least the concurrency). */
  requests: number
  /** Warm-up pages per contender and page, at c=4, before the rounds. */
  warmup: number
  /** URLs per POST /crawl of (a-batch). */
  batch: number
  /** Rounds stop starting (after the second) once this much wall time has gone. */
  maxSeconds: number
  /** Timings per page of the page work alone on (b)'s browser (pageWorkAlone); 0 skips them. */
  aloneSamples: number
  /** Skip contenders (e.g. BENCH_SUITE_SKIP=c,d-incognito while developing). */
  skip: readonly string[]
  log(msg: string): void
}

const loadAvg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')

function version(pkg: string): string {
  return (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version
}

/**
 * Pages a cell crawls: `requests`, but at least two per worker, so the cell is not all ramp-up and
 * tail (a batch contender rounds up to whole batches).
 */
export function cellPages(requests: number, concurrency: number): number {
  return Math.max(requests, 2 * concurrency)
}

/**
 * The page work alone for each page (`measure`), in turn. It is a bound for the report, not a
 * contender: a page whose measurement fails (a page timeout on an overloaded machine) is left out
 * with a note saying so, and the suite goes on.
 */
export async function measureAlone(
  paths: readonly string[],
  measure: (path: string) => Promise<number[]>,
  notes: string[],
  log: (msg: string) => void,
): Promise<Record<string, number[]>> {
  const alone: Record<string, number[]> = {}
  log(`suite: the page work alone on ${paths.join(', ')}`)
  for (const path of paths) {
    try {
      alone[path] = await measure(path)
    } catch (err) {
      const why = firstLine(err)
      notes.push(`The page work alone on \`${path}\` failed (${why}); its bound is not stated.`)
      log(`suite: the page work alone on ${path} failed: ${why}`)
    }
  }
  return alone
}

/**
 * The throughput suite: every contender on every fixture page at every concurrency, in rounds. Within a
 * round each (page, concurrency) cell runs all contenders back to back, the order rotated by one
 * each round, so a slow phase of the machine hits every contender in turn.
 */
export async function runSuite(opts: SuiteOptions): Promise<SuiteData> {
  const { fixture, service, log } = opts
  const began = performance.now()
  const loadStart = loadAvg()
  const contenders: Contender[] = []
  try {
    const b = await bareLoop()
    contenders.push(crawldeckSingle(service.url), crawldeckBatch(service.url, opts.batch), b, browserPerRequest())
    contenders.push(await crawleeContender(false), await crawleeContender(true))
    const active = contenders.filter((c) => !opts.skip.includes(c.id))
    const chromium = `Chromium ${b.browser.version()}`

    const pages = []
    const sanity: string[] = []
    for (const p of SUITE_PAGES) {
      const url = fixture.url(p.path)
      const html = await (await fetch(url)).text()
      const images = [...html.matchAll(/<img\s[^>]*src="([^"]+)"/g)].map((m) => m[1] as string)
      let imageBytes = 0
      for (const src of images) imageBytes += (await (await fetch(new URL(src, url))).arrayBuffer()).byteLength
      pages.push({ path: p.path, what: p.what, htmlBytes: Buffer.byteLength(html), images: images.length, imageBytes })
      for (const c of active) {
        const seen = await c.probe(url).catch((err: unknown) => `**FAILED** (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`)
        sanity.push(`\`${p.path}\` via ${c.label}: ${seen}`)
      }
    }

    log(`suite warm-up: ${opts.warmup} pages per contender and page at c=4`)
    for (const p of SUITE_PAGES) {
      for (const c of active) if (opts.warmup > 0) await c.run(fixture.url(p.path), opts.warmup, c.supports(4) ? 4 : 1)
    }

    const notes: string[] = []
    const alone =
      opts.aloneSamples > 0
        ? await measureAlone(
            SUITE_PAGES.map((p) => p.path),
            (path) => pageWorkAlone(b.browser, fixture.url(path), opts.aloneSamples),
            notes,
            log,
          )
        : {}

    const cells: Record<string, CellRun[]> = {}
    let roundsDone = 0
    const roundsStarted = performance.now()
    for (let r = 0; r < opts.rounds; r++) {
      const elapsedS = (performance.now() - began) / 1000
      const perRoundS = r > 0 ? (performance.now() - roundsStarted) / 1000 / r : 0
      if (r >= 2 && elapsedS + perRoundS > opts.maxSeconds) {
        notes.push(
          `Time budget: stopped after ${r} of ${opts.rounds} rounds (BENCH_SUITE_MAX_SECONDS=${opts.maxSeconds}; a round took ${perRoundS.toFixed(0)} s).`,
        )
        log(`suite time budget reached: stopping after ${r} of ${opts.rounds} rounds`)
        break
      }
      const shift = r % active.length
      const order = [...active.slice(shift), ...active.slice(0, shift)]
      for (const p of SUITE_PAGES) {
        for (const conc of SUITE_CONCURRENCIES) {
          const url = fixture.url(p.path)
          for (const c of order) {
            if (!c.supports(conc)) continue
            const cpu0 = await machineCpuMs()
            const run = await c.run(url, cellPages(opts.requests, conc), conc)
            run.machineCpuMs = (await machineCpuMs()) - cpu0
            const key = cellKey(c.id, p.path, conc)
            ;(cells[key] ??= []).push(run)
            log(
              `suite round ${r + 1}: ${p.path} c=${conc} ${c.label}: ${((run.pages * 1000) / run.wallMs).toFixed(2)} pages/s${run.failed > 0 ? `, ${run.failed} failed` : ''}`,
            )
          }
        }
      }
      roundsDone++
      log(`suite round ${r + 1}/${opts.rounds} done in ${((performance.now() - roundsStarted) / 1000).toFixed(0)} s total; load ${loadAvg()}`)
    }
    const cpus = os.cpus()
    return {
      contenders: active.map((c) => ({
        id: c.id as ContenderId,
        label: c.label,
        method: c.method,
        isolation: c.isolation,
        concurrencies: SUITE_CONCURRENCIES.filter((k) => c.supports(k)),
      })),
      pages,
      concurrencies: [...SUITE_CONCURRENCIES],
      cells,
      pageWorkAlone: alone,
      sanity,
      notes,
      info: {
        date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        cores: cpus.length,
        machine: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
        load: `${loadStart} at start, ${loadAvg()} at end`,
        versions: `Node ${process.version}, ${chromium} (${locateChromium()}), playwright-core ${version('playwright-core')}, crawlee ${version('crawlee')}`,
        method:
          `${opts.warmup} warm-up pages per contender and page at c=4, then ${roundsDone} rounds; in each round every (page, concurrency) cell runs ` +
          `every contender back to back (${opts.requests} pages per cell, at least 2c), the order rotated by one contender per round. ` +
          'pages/s is pages over wall time per cell, the median over rounds; p50/p95 latency pool every page of every round.',
        rounds: roundsDone,
        durationS: (performance.now() - began) / 1000,
      },
    }
  } finally {
    for (const c of contenders.reverse()) await c.dispose().catch((err) => log(`closing ${c.label} failed: ${String(err)}`))
  }
}
