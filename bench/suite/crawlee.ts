import { performance } from 'node:perf_hooks'
import { chromium, type Page } from 'playwright-core'
import { bounded } from '../../tests/helpers/service.js'
import { poolLaunchOptions } from '../bare-loop.js'
import { noteFailure, type CellRun } from '../load.js'
import type { Contender } from './contender.js'
import { crawlPageWork, type PageWorkResult } from './page-work.js'
import { describeWork } from './playwright.js'

/** Crawlee's EventType.SYSTEM_INFO (a const enum, which this build cannot read at run time). */
const SYSTEM_INFO = 'systemInfo' as import('crawlee').EventType.SYSTEM_INFO

/** A request whose page work finished, waiting for its page to close (when (d) counts it done). */
interface Pending {
  started: number
  result: PageWorkResult | null
}

/**
 * (d): Crawlee 3's PlaywrightCrawler on the same Chromium, driven the way a Crawlee user drives it:
 * a request queue and a requestHandler. What we set, and why:
 * - launcher = playwright-core's chromium, executablePath = the pool's niced wrapper of the same
 *   binary, args = the pool's flags: the same browser at the same priority as (a), (b), (c);
 * - storage in memory (persistStorage false): no disk writes the others do not do;
 * - minConcurrency = maxConcurrency = c for each cell (the autoscaled pool's setters), no retries;
 * - waitUntil domcontentloaded (Crawlee's default is 'load') via a preNavigationHook, like (a);
 * - the requestHandler does the same page work as every other contender (extraction + Markdown);
 * - keepAlive: one crawler (one warm browser) serves every cell, requests added per cell; the
 *   autoscaled pool polls for new work every 50 ms instead of 500 ms, so a cell's start does not
 *   wait on the poll (within a cell, a finished task starts the next at once, as in Crawlee).
 * Everything else is Crawlee's default: session pool, browser fingerprints injected into every
 * page, a browser retired after 100 pages. `incognito` sets useIncognitoPages: a new context per
 * page, the isolation (a) gives; without it every page shares one persistent context.
 *
 * Latency of a page runs from Crawlee's prePageCreate hook to its postPageClose hook (the browser
 * pool's hooks, keyed by the request's id): the queue handling before the page is created is not
 * in it, which flatters (d) if anything. Throughput is pages over the cell's wall time.
 */
export async function crawleeContender(incognito: boolean): Promise<Contender & { readonly quiet: boolean }> {
  // Crawlee is a devDependency and heavy to load: only the suite imports it, when it runs.
  const { PlaywrightCrawler, Configuration, log } = await import('crawlee')
  log.setLevel(log.LEVELS.ERROR)
  const launch = poolLaunchOptions()
  const config = new Configuration({ persistStorage: false, purgeOnStart: true })

  const pending = new Map<string, Pending>()
  /** The cell being measured: done once every request it added has closed its page or failed. */
  interface Cell {
    want: number
    latencies: number[]
    results: PageWorkResult[]
    failed: number
    errors: string[]
    done: () => void
  }
  let current: Cell | null = null
  const settle = (cell: Cell) => {
    if (cell.latencies.length + cell.failed >= cell.want) cell.done()
  }
  let seq = 0

  const crawler = new PlaywrightCrawler(
    {
      keepAlive: true,
      minConcurrency: 1,
      maxConcurrency: 1,
      maxRequestRetries: 0,
      autoscaledPoolOptions: { maybeRunIntervalSecs: 0.05 },
      launchContext: {
        launcher: chromium,
        useIncognitoPages: incognito,
        launchOptions: { executablePath: launch.launchPath, args: launch.args, headless: true },
      },
      browserPoolOptions: {
        prePageCreateHooks: [
          (pageId: string) => {
            pending.set(pageId, { started: performance.now(), result: null })
          },
        ],
        postPageCloseHooks: [
          (pageId: string) => {
            const p = pending.get(pageId)
            pending.delete(pageId)
            // A page whose handler did not finish is counted by failedRequestHandler.
            if (!p || !current || !p.result) return
            current.latencies.push(performance.now() - p.started)
            current.results.push(p.result)
            settle(current)
          },
        ],
      },
      preNavigationHooks: [
        async (_ctx, gotoOptions) => {
          if (gotoOptions) gotoOptions.waitUntil = 'domcontentloaded'
        },
      ],
      async requestHandler({ page, id }) {
        const result = await crawlPageWork(page as unknown as Page)
        const p = pending.get(id)
        if (p) p.result = result
      },
      failedRequestHandler({ request }, error) {
        if (!current) return
        noteFailure(current, new Error(`Crawlee failed ${request.url}: ${error.message}`))
        settle(current)
      },
    },
    config,
  )
  const running = crawler.run()

  /*
   * Between its cells the crawler keeps quiet, so its background work is not charged to whichever
   * contender is being measured: Crawlee's event manager spawns `ps` every second for a memory
   * snapshot (its own docs call that inefficient); two idle crawlers cost ~40 ms of machine CPU per
   * second (56 ms/s idle with both, 14-20 quiet), ~3 ms per page at c=1. Its pool is paused (no
   * task is started) and the event manager's intervals are stopped; both resume before the next
   * cell, so within its own cells Crawlee runs as it always does.
   */
  const events = config.getEventManager()
  let quiet = false
  async function hush(): Promise<void> {
    if (quiet) return
    // pause() waits for running tasks; after a cell they are only finishing. Bounded all the same
    // (by our own timer: pause's timeout argument is handed to setTimeout as milliseconds).
    await bounded(crawler.autoscaledPool?.pause() ?? Promise.resolve(), 30_000, 'pausing Crawlee').catch(() => undefined)
    await events.close()
    quiet = true
  }
  async function wake(): Promise<void> {
    if (!quiet) return
    // init() takes a memory snapshot at once (a `ps` spawn): let it finish before the cell's clock
    // starts, so waking adds nothing to (d)'s figures that a crawler running all along would not pay.
    let snapshotTaken = () => {}
    const snapshot = new Promise<void>((resolve) => (snapshotTaken = resolve))
    events.on(SYSTEM_INFO, snapshotTaken)
    await events.init()
    await bounded(snapshot, 5000, "Crawlee's first snapshot").catch(() => undefined)
    events.off(SYSTEM_INFO, snapshotTaken)
    crawler.autoscaledPool?.resume()
    quiet = false
  }

  /** Add `pages` requests for `url` (unique keys: the queue would drop repeats) and wait for all. */
  async function crawlMany(url: string, pages: number, concurrency: number): Promise<CellRun & { results: PageWorkResult[] }> {
    const pool = crawler.autoscaledPool
    if (pool) {
      // Order matters: the setters check min <= max.
      if (concurrency >= pool.maxConcurrency) {
        pool.maxConcurrency = concurrency
        pool.minConcurrency = concurrency
      } else {
        pool.minConcurrency = concurrency
        pool.maxConcurrency = concurrency
      }
      pool.desiredConcurrency = concurrency
    }
    const cell: Cell = { want: pages, latencies: [], results: [], failed: 0, errors: [], done: () => {} }
    const finished = new Promise<void>((resolve) => {
      cell.done = resolve
    })
    await wake()
    current = cell
    const started = performance.now()
    try {
      await crawler.addRequests(Array.from({ length: pages }, () => ({ url, uniqueKey: `${url}#${++seq}` })))
      await finished
      return {
        pages: cell.latencies.length,
        wallMs: performance.now() - started,
        latencies: cell.latencies,
        failed: cell.failed,
        errors: cell.errors,
        results: cell.results,
      }
    } finally {
      current = null
      await hush()
    }
  }

  return {
    id: incognito ? 'd-incognito' : 'd',
    label: incognito ? '(d) Crawlee, useIncognitoPages' : '(d) Crawlee, defaults',
    method:
      'Crawlee PlaywrightCrawler (keepAlive, request queue in memory), requestHandler = extraction + Markdown; ' +
      'min = max concurrency = c, no retries, waitUntil domcontentloaded',
    isolation: incognito
      ? 'new browser context per page (useIncognitoPages: true); fingerprint injected per page; session pool on'
      : 'Crawlee default: all pages share one persistent browser context (cookies, localStorage, cache shared); fingerprint injected per page; session pool on',
    supports: () => true,
    run: (url, pages, concurrency) => crawlMany(url, pages, concurrency),
    async probe(url) {
      const r = await crawlMany(url, 1, 1)
      if (!r.results[0]) throw new Error(r.errors[0] ?? 'no result')
      return describeWork(r.results[0])
    },
    /** True between cells, while the crawler is paused and its event manager stopped. */
    get quiet() {
      return quiet
    },
    async dispose() {
      await crawler.teardown()
      await running.catch(() => undefined)
      launch.dispose()
    },
  }
}
