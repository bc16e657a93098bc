import { performance } from 'node:perf_hooks'
import { chromium, type Browser } from 'playwright-core'
import { BASE_CHROMIUM_ARGS } from '../src/main/core/chromium/launch-args.js'
import { locateChromium } from '../src/main/core/chromium/locate.js'
import { chromiumExecutable } from '../src/main/core/chromium/priority.js'
import { resolveConfig } from '../src/main/core/config.js'
import { extractFromPage } from '../src/main/core/crawl/extract.js'

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
 * (B): a warm, bare playwright-core Chromium launched exactly like the pool launches its browsers:
 * same binary, same flags, same niceness (the default chromium_nice), so neither side's browser
 * gets a different share of the CPU against the Node process driving it.
 */
export async function launchBareBrowser(): Promise<{ browser: Browser; executablePath: string; dispose(): Promise<void> }> {
  const executablePath = locateChromium()
  const executable = chromiumExecutable(executablePath, resolveConfig().chromium_nice)
  const browser = await chromium.launch({ executablePath: executable.launchPath, args: [...BASE_CHROMIUM_ARGS] })
  return {
    browser,
    executablePath,
    async dispose() {
      await browser.close()
      executable.dispose()
    },
  }
}

/**
 * The same page work crawldeck does for POST /html, with nothing around it: a fresh context,
 * one page, navigate (domcontentloaded), extract, close the context. Returns the length of the
 * cleaned HTML so the work cannot be optimised away and can be sanity-checked.
 */
export async function bareCrawl(browser: Browser, url: string, traces?: BareTrace[]): Promise<number> {
  const start = performance.now()
  const context = await browser.newContext()
  const tContext = performance.now()
  let closed = false
  try {
    const page = await context.newPage()
    const tPage = performance.now()
    const response = await page.goto(url, { waitUntil: 'domcontentloaded' })
    const tGoto = performance.now()
    if (!response || response.status() !== 200) throw new Error(`bare loop: ${url} answered ${response?.status() ?? 'nothing'}`)
    const extracted = await extractFromPage(page, { cssSelector: null, excludedTags: [] })
    const tExtract = performance.now()
    await context.close()
    closed = true
    traces?.push({ start, context: tContext, page: tPage, goto: tGoto, extract: tExtract, closed: performance.now() })
    return extracted.cleaned_html.length
  } finally {
    // Only when a step threw: the context is closed however the crawl ends.
    if (!closed) await context.close().catch(() => undefined)
  }
}
