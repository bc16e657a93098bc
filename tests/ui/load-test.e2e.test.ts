import { mkdirSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { ensureRendererBuild } from '../helpers/renderer-build.js'
import { startService, waitFor, type TestService } from '../helpers/service.js'

/*
 * The Playground's load test in Chromium against the real service: a run of 40 URLs at
 * concurrency 4 whose counts equal the monitor's, never more than the admission limit in flight;
 * Stop mid-run, after which nothing more reaches the server; a concurrency above the admission
 * limit capped with a message; and the raw JSON tab. Screenshots go to /tmp/shots.
 */

const ADMIN = 'load-test-admin-token-01'
const LIMIT = 4
const shots = '/tmp/shots'
const testid = (id: string) => `[data-testid="${id}"]`

let fx: FixtureServer
let s: TestService
let browser: Browser
/** Closed after each test, passed or not: a run left going would crawl into the next test's counts. */
const contexts: BrowserContext[] = []

beforeAll(async () => {
  ensureRendererBuild()
  mkdirSync(shots, { recursive: true })
  // A fixed admission limit: the adaptive one could move under the test and change the cap it checks.
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ admin_tokens: [ADMIN], max_pages: LIMIT, adaptive_admission: false })])
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
}, 240_000)

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close()
})

afterAll(async () => {
  await browser?.close()
  await s?.close()
  await fx?.close()
})

async function openLoadTest(width: number): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width, height: 1000 } })
  contexts.push(context)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`)
  })
  await page.goto(`${s.url}/dashboard/#/playground`)
  await page.locator(testid('sign-in-token')).fill(ADMIN)
  await page.locator(testid('sign-in-submit')).click()
  await page.locator(testid('pg-mode-load')).click()
  await page.locator(testid('load-test')).waitFor()
  // The admission limit comes from the monitor's live feed.
  await page.locator(testid('lt-admission'), { hasText: `/ ${LIMIT} pages` }).waitFor()
  return { page, problems }
}

/** /crawl and /crawl/stream requests the engine has started and finished so far. */
function crawlEvents() {
  const isCrawl = (e: string) => e === '/crawl' || e === '/crawl/stream'
  return {
    started: s.eventsOf('request:started').filter((e) => isCrawl(e.endpoint)),
    finished: s.eventsOf('request:finished').filter((e) => isCrawl(e.endpoint)),
  }
}

/** The most crawl requests the engine ever had running at once since the log's `from`-th event. */
function maxInFlight(from: number): number {
  let now = 0
  let max = 0
  for (const e of s.log.slice(from)) {
    const endpoint = (e.payload as { endpoint?: string }).endpoint
    if (endpoint !== '/crawl' && endpoint !== '/crawl/stream') continue
    if (e.name === 'request:started') max = Math.max(max, ++now)
    if (e.name === 'request:finished') now--
  }
  return max
}

const num = async (page: Page, id: string) => Number(await page.locator(testid(id)).innerText())

describe('Playground load test', () => {
  it('runs 40 URLs at concurrency 4 to the end; its counts equal the monitor’s, within the admission limit', async () => {
    const { page, problems } = await openLoadTest(1440)
    const logFrom = s.log.length
    const before = crawlEvents().finished.length
    await page.locator(testid('lt-source-repeat')).click()
    await page.locator(testid('lt-urls')).fill(fx.url('/'))
    await page.locator(testid('lt-count')).fill('40')
    await page.locator(testid('lt-concurrency')).fill('4')
    expect(await page.locator(testid('lt-cap-note')).count()).toBe(0)
    await page.locator(testid('lt-start')).click()
    // During the run: some answered, not all.
    await page.locator(testid('lt-state'), { hasText: 'running' }).waitFor()
    await waitFor(async () => (await num(page, 'lt-completed')) >= 8, 60_000, '8 answers')
    await page.screenshot({ path: `${shots}/playground-load-1440-during.png`, fullPage: true })

    // A crawl takes seconds on a loaded 2-core machine: 10 rounds of 4.
    await page.locator(testid('lt-state'), { hasText: 'done' }).waitFor({ timeout: 400_000 })
    await page.locator(testid('lt-summary')).waitFor()
    expect(await num(page, 'lt-completed')).toBe(40)
    expect(await num(page, 'lt-failed')).toBe(0)
    expect(await num(page, 'lt-refused')).toBe(0)
    expect(await num(page, 'lt-sum-requests')).toBe(40)
    // The monitor's side, as the page read it from /monitor/endpoints/stats ...
    expect(await num(page, 'lt-sum-monitor-count')).toBe(40)
    expect(await num(page, 'lt-sum-monitor-errors')).toBe(0)
    await page.locator(testid('lt-sum-match')).waitFor()
    // ... and as the engine itself recorded it.
    expect(crawlEvents().finished.length - before).toBe(40)
    expect(maxInFlight(logFrom)).toBeLessThanOrEqual(LIMIT)
    expect(await page.locator(testid('lt-p95')).innerText()).toMatch(/\d+(\.\d+)? (ms|s)$/)
    await page.screenshot({ path: `${shots}/playground-load-1440-after.png`, fullPage: true })
    await page.setViewportSize({ width: 375, height: 900 })
    await page.screenshot({ path: `${shots}/playground-load-375-after.png`, fullPage: true })
    expect(problems).toEqual([])
  }, 500_000)

  it('Stop mid-run aborts the streams in flight and sends nothing more', async () => {
    const { page, problems } = await openLoadTest(375)
    const startedBefore = crawlEvents().started.length
    await page.locator(testid('lt-urls')).fill(fx.url('/slow?ms=1500'))
    await page.locator(testid('lt-count')).fill('40')
    await page.locator(testid('lt-concurrency')).fill('2')
    await page.locator(testid('lt-delivery-stream')).click()
    await page.locator(testid('lt-start')).click()
    await waitFor(async () => (await num(page, 'lt-completed')) >= 2, 60_000, '2 answers')
    await page.screenshot({ path: `${shots}/playground-load-375-during.png`, fullPage: true })
    await page.locator(testid('lt-stop')).click()
    await page.locator(testid('lt-state'), { hasText: 'stopped' }).waitFor({ timeout: 120_000 })
    await page.locator(testid('lt-summary')).waitFor()
    const sentByPage = await num(page, 'lt-sum-requests')
    expect(sentByPage).toBeLessThan(40)
    await page.locator(testid('lt-sum-not-sent')).waitFor()
    // Every request the page sent reached the engine and finished; none started after.
    await waitFor(() => crawlEvents().finished.length >= crawlEvents().started.length, 30_000, 'the aborted streams to finish')
    const startedAfterStop = crawlEvents().started.length
    expect(startedAfterStop - startedBefore).toBe(sentByPage)
    // A round trip from the page after the stop settled: anything it had queued would be ahead of it.
    expect(await page.evaluate(async () => (await fetch('/monitor/endpoints/stats')).status)).toBe(200)
    expect(crawlEvents().started.length).toBe(startedAfterStop)
    // The monitor counted the same requests (the aborted ones as errors, as the page did).
    expect(await num(page, 'lt-sum-monitor-count')).toBe(sentByPage)
    expect(await num(page, 'lt-sum-monitor-errors')).toBe(await num(page, 'lt-sum-errors'))
    await page.screenshot({ path: `${shots}/playground-load-375-stopped.png`, fullPage: true })
    expect(problems).toEqual([])
  }, 300_000)

  it('caps a concurrency above the admission limit and says why', async () => {
    const { page, problems } = await openLoadTest(1440)
    await page.locator(testid('lt-urls')).fill(fx.url('/'))
    await page.locator(testid('lt-concurrency')).fill('12')
    await page.locator(testid('lt-cap-note'), { hasText: `concurrency capped at ${LIMIT}: the admission limit is ${LIMIT} pages now` }).waitFor()
    // Batches of 3 URLs: only one request fits in the limit.
    await page.locator(testid('lt-batch')).fill('3')
    await page.locator(testid('lt-cap-note'), { hasText: 'concurrency capped at 1: a request of 3 URLs holds 3 pages' }).waitFor()
    await page.locator(testid('lt-count')).fill('5000')
    await page.locator(testid('lt-cap-note'), { hasText: 'N capped at 1000' }).waitFor()
    await page.screenshot({ path: `${shots}/playground-load-1440-capped.png`, fullPage: true })
    expect(problems).toEqual([])
  }, 120_000)

  it('shows a crawl’s result as a JSON tree in the raw JSON tab', async () => {
    for (const width of [1440, 375]) {
      const { page, problems } = await openLoadTest(width)
      await page.locator(testid('lt-close')).click()
      await page.locator(testid('pg-urls')).fill(fx.url('/'))
      await page.locator(testid('pg-mode-crawl')).click()
      await page.locator(testid('pg-run')).click()
      await page.locator(testid('pg-tab-json')).click()
      const tree = page.locator(testid('json-view'))
      await tree.waitFor()
      // The server's answer as it came: the envelope's own fields, not only the Playground's result.
      await tree.getByText('"server_processing_time_s"').first().waitFor()
      const text = await tree.innerText()
      expect(text).toContain('"results"')
      expect(text).toContain('"success"')
      await page.screenshot({ path: `${shots}/playground-load-json-${width}.png`, fullPage: true })
      expect(problems).toEqual([])
    }
  }, 240_000)

  it('shows fit markdown beside the raw markdown it was pruned from', async () => {
    const { page, problems } = await openLoadTest(1440)
    await page.locator(testid('lt-close')).click()
    await page.locator(testid('pg-urls')).fill(fx.url('/article'))
    await page.locator(testid('pg-mode-crawl')).click()
    await page.locator(testid('pg-content-filter')).selectOption('pruning')
    await page.locator(testid('pg-run')).click()
    await page.locator(testid('pg-tab-fit')).click()
    const raw = await page.locator(testid('pg-fit-raw')).innerText()
    const fit = await page.locator(testid('pg-fit-markdown')).innerText()
    expect(fit.length).toBeGreaterThan(0)
    expect(raw.length).toBeGreaterThan(fit.length)
    await page.screenshot({ path: `${shots}/playground-load-fit-1440.png`, fullPage: true })
    expect(problems).toEqual([])
  }, 120_000)
})
