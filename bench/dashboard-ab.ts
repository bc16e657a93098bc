/**
 * Side-by-side A/B of the timeline redraw of two renderer builds, in one run:
 * `npx tsx bench/dashboard-ab.ts <build-dir-A> <build-dir-B> [points=40]`.
 *
 * Each build gets its own synthetic feed (tests/ui/feed-server.ts, a timeline point on every
 * update) and its own page in one Chromium, 1440×900; the two are stepped in turn, so both see
 * the same machine load. Per point, the sum of the page's `crawldeck:chart` measures (all the
 * redraws that point caused, whatever their number) is taken once its redraws are done.
 */
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { chromium, type Page } from 'playwright-core'
import { startFeedServer, type FeedServer } from '../tests/ui/feed-server.js'
import { quantile } from './stats.js'

const [a, b, n] = process.argv.slice(2)
if (!a || !b) throw new Error('usage: dashboard-ab.ts <build-dir-A> <build-dir-B> [points]')
const POINTS = Number(n ?? 40)
const WARMUP = 5
// Strings, not functions: tsx would wrap named inner functions with a helper the page does not have.
const COLLECT = `window.__m = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.name === 'crawldeck:chart') window.__m.push(e.duration) }).observe({ type: 'measure' });`
const SIX_FRAMES = `new Promise((done) => { let n = 6; const next = () => (--n > 0 ? requestAnimationFrame(next) : done()); requestAnimationFrame(next) })`

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] })
const runs: Array<{ dir: string; feed: FeedServer; page: Page; sums: number[] }> = []
const load = [loadavg()[0]!]
try {
  for (const dir of [a, b]) {
    const feed = await startFeedServer({ root: resolve(dir), pointEvery: 1 })
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    await ctx.addInitScript(COLLECT)
    const page = await ctx.newPage()
    runs.push({ dir, feed, page, sums: [] })
    await page.goto(`${feed.url}/dashboard/`)
    await page.locator('[data-testid="connection-state"]', { hasText: 'live' }).waitFor({ timeout: 60_000 })
  }
  for (let i = 0; i < POINTS + WARMUP; i++) {
    for (const r of runs) {
      await r.page.evaluate(() => void ((window as unknown as { __m: number[] }).__m = []))
      r.feed.step()
      await r.page.waitForFunction(() => (window as unknown as { __m: number[] }).__m.length > 0, undefined, { polling: 10, timeout: 60_000 })
      await r.page.evaluate(SIX_FRAMES)
      const m = await r.page.evaluate(() => (window as unknown as { __m: number[] }).__m)
      if (i >= WARMUP) r.sums.push(m.reduce((x, y) => x + y, 0))
    }
  }
  load.push(loadavg()[0]!)
  const f = (v: number) => v.toFixed(1)
  console.log(`load average (1 min) ${load.map(f).join(' → ')}; ${POINTS} points each`)
  console.log('| build | redraw work per new point, p50 | p95 | mean |\n|---|---|---|---|')
  for (const r of runs) console.log(`| ${r.dir} | ${f(quantile(r.sums, 0.5))} | ${f(quantile(r.sums, 0.95))} | ${f(r.sums.reduce((x, y) => x + y, 0) / r.sums.length)} |`)
} finally {
  await browser.close()
  for (const r of runs) await r.feed.close()
}
