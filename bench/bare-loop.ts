import { performance } from 'node:perf_hooks'
import { chromium, type Browser, type Page } from 'playwright-core'
import { BASE_CHROMIUM_ARGS } from '../src/main/core/chromium/launch-args.js'
import { locateChromium } from '../src/main/core/chromium/locate.js'
import { chromiumExecutable } from '../src/main/core/chromium/priority.js'
import { resolveConfig } from '../src/main/core/config.js'
import { extractFromPage } from '../src/main/core/crawl/extract.js'
import { CrawlerConfigSchema } from '../src/shared/crawl-schemas.js'

/** crawldeck's default page_timeout. */
export const PAGE_TIMEOUT_MS = CrawlerConfigSchema.parse({}).page_timeout

/** Step timestamps of one bare crawl (performance.now() ms), for the "where the time goes" table. */
export interface BareTrace {
  start: number
  context: number
  page: number
  goto: number
  extract: number
  closed: number
}

/**
 * How the pool launches its browsers: same binary, same flags, same niceness (the default
 * chromium_nice, through the pool's own wrapper script), so no side's browser gets a different
 * share of the CPU against the Node process driving it. dispose() removes the wrapper.
 */
export function poolLaunchOptions(): { executablePath: string; launchPath: string; nice: number; args: string[]; dispose(): void } {
  const executablePath = locateChromium()
  const executable = chromiumExecutable(executablePath, resolveConfig().chromium_nice)
  return { executablePath, launchPath: executable.launchPath, nice: executable.nice, args: [...BASE_CHROMIUM_ARGS], dispose: () => executable.dispose() }
}

/** (B): a warm, bare playwright-core Chromium launched exactly like the pool launches its browsers. */
export async function launchBareBrowser(): Promise<{ browser: Browser; executablePath: string; dispose(): Promise<void> }> {
  const launch = poolLaunchOptions()
  const browser = await chromium.launch({ executablePath: launch.launchPath, args: launch.args })
  return {
    browser,
    executablePath: launch.executablePath,
    async dispose() {
      await browser.close()
      launch.dispose()
    },
  }
}

/** POST /html's extraction options (its answer holds cleaned_html only). */
const HTML_EXTRACTION = { cssSelector: null, excludedTags: [], cleanedOnly: true }

/** What POST /html does with a loaded page: the extraction of cleaned HTML only. Returns its length. */
export async function htmlWork(page: Page): Promise<number> {
  return (await extractFromPage(page, HTML_EXTRACTION)).cleaned_html.length
}

/**
 * A crawl with nothing around it: a fresh context, one page, navigate (domcontentloaded), the
 * page work (by default POST /html's: extraction), close the context. Returns what the work
 * returns (a size) so the work cannot be optimised away and can be sanity-checked.
 */
export async function bareCrawl(browser: Browser, url: string, traces?: BareTrace[], work: (page: Page) => Promise<number> = htmlWork): Promise<number> {
  const start = performance.now()
  const context = await browser.newContext()
  const tContext = performance.now()
  let closed = false
  try {
    const page = await context.newPage()
    const tPage = performance.now()
    // crawldeck's default page_timeout (60 s), not Playwright's 30 s: on a loaded machine both sides get the same patience.
    const response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: PAGE_TIMEOUT_MS })
    const tGoto = performance.now()
    if (!response || response.status() !== 200) throw new Error(`bare loop: ${url} answered ${response?.status() ?? 'nothing'}`)
    const size = await work(page)
    const tExtract = performance.now()
    await context.close()
    closed = true
    traces?.push({ start, context: tContext, page: tPage, goto: tGoto, extract: tExtract, closed: performance.now() })
    return size
  } finally {
    // Only when a step threw: the context is closed however the crawl ends.
    if (!closed) await context.close().catch(() => undefined)
  }
}
