import { performance } from 'node:perf_hooks'
import { chromium, type Browser, type Page } from 'playwright-core'
import { bareCrawl, PAGE_TIMEOUT_MS, poolLaunchOptions } from '../bare-loop.js'
import { closedLoop } from '../load.js'
import type { Contender } from './contender.js'
import { crawlPageWork, type PageWorkResult } from './page-work.js'

export function describeWork(r: PageWorkResult): string {
  return `cleaned HTML ${r.cleanedHtmlChars} chars, Markdown ${r.markdownChars} chars, ${r.links} links`
}

/** bareCrawl's page work for the suite: what POST /crawl does (extraction + Markdown). */
const crawlWork = async (page: Page): Promise<number> => (await crawlPageWork(page)).markdownChars

/** One crawl that keeps the work's result, for the sanity line. */
async function probeWith(browser: Browser, url: string): Promise<string> {
  let result: PageWorkResult | null = null
  await bareCrawl(browser, url, undefined, async (page) => {
    result = await crawlPageWork(page)
    return result.markdownChars
  })
  return result ? describeWork(result) : 'no result'
}

/** (b): the practical limit. One warm browser launched like the pool's, a new context per page. */
export async function bareLoop(): Promise<Contender & { browser: Browser }> {
  const launch = poolLaunchOptions()
  const browser = await chromium.launch({ executablePath: launch.launchPath, args: launch.args })
  return {
    id: 'b',
    label: '(b) bare playwright-core loop',
    method: 'one warm browser; newContext → newPage → goto (domcontentloaded) → extraction + Markdown → context.close, in-process, no HTTP',
    isolation: 'new browser context per page, one warm browser',
    browser,
    supports: () => true,
    run: (url, pages, concurrency) =>
      closedLoop(
        async () => {
          await bareCrawl(browser, url, undefined, crawlWork)
          return null
        },
        pages,
        concurrency,
        true,
      ),
    probe: (url) => probeWith(browser, url),
    async dispose() {
      await browser.close()
      launch.dispose()
    },
  }
}

/** Pause so the machine has finished what the last step started (a renderer's set-up, a close). */
const SETTLE_MS = 200

/**
 * The page work alone, the least any pool that isolates requests can answer in: a context + page
 * made beforehand, the machine left to settle, then goto (domcontentloaded) + extraction +
 * Markdown timed with nothing else running, and the context closed (untimed, settled again).
 * Every contender does at least this per page, (c) after its launch. Returns `samples` durations, ms.
 */
export async function pageWorkAlone(browser: Browser, url: string, samples: number): Promise<number[]> {
  const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const out: number[] = []
  for (let i = 0; i < samples; i++) {
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await settle()
      const start = performance.now()
      // The same patience as every contender gets (crawldeck's default page_timeout).
      await page.goto(url, { waitUntil: 'domcontentloaded', timeout: PAGE_TIMEOUT_MS })
      await crawlPageWork(page)
      out.push(performance.now() - start)
    } finally {
      await context.close()
    }
    await settle()
  }
  return out
}

/**
 * (c): what a pool saves. Every request launches its own browser (same binary, flags and niceness
 * as the pool's), crawls the page in it like (b), and closes it; latency includes launch and close.
 */
export function browserPerRequest(): Contender {
  const launch = poolLaunchOptions()
  const once = async <T>(fn: (browser: Browser) => Promise<T>): Promise<T> => {
    const browser = await chromium.launch({ executablePath: launch.launchPath, args: launch.args })
    try {
      return await fn(browser)
    } finally {
      await browser.close()
    }
  }
  return {
    id: 'c',
    label: '(c) new browser per request',
    method: 'chromium.launch → newContext → newPage → goto → extraction + Markdown → browser.close, per request',
    isolation: 'a whole browser process per request (nothing shared)',
    supports: () => true,
    run: (url, pages, concurrency) =>
      closedLoop(
        async () => {
          await once((browser) => bareCrawl(browser, url, undefined, crawlWork))
          return null
        },
        pages,
        concurrency,
        true,
      ),
    probe: (url) => once((browser) => probeWith(browser, url)),
    dispose: async () => launch.dispose(),
  }
}
