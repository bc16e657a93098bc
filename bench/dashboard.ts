/**
 * How much work one live update costs the control center, measured inside Debian Chromium.
 *
 * `npm run build:web && npm run bench -- dashboard [--updates 100 --requests 60 --write]`
 *
 * The built renderer (out/renderer, or CRAWLDECK_RENDERER_DIR) is served by the real dashboard
 * middleware next to a synthetic monitor (tests/ui/feed-server.ts): 100 completed requests,
 * 50 browsers, 200 janitor events, 100 errors, 60 timeline points — 50 browsers cannot be
 * launched on this machine, so the data is made up, but the stream is real SSE and the page is
 * the real build. Once a second the feed pushes what the service pushes each second (tick with
 * a timeline point, the 50-row browsers table, a finished request, the endpoint table; every
 * 10th second a janitor event and an error too).
 *
 * In the page, the monitor store marks every applied message with a Performance API measure
 * (`crawldeck:update` / `crawldeck:snapshot`) from the message's arrival to the end of the Vue
 * flush it causes, ECharts' setOption included; a PerformanceObserver collects them, another
 * one counts long tasks (> 50 ms).
 *
 * Then, against the real service (bench/dashboard-latency.ts; it serves out/renderer), the SSE →
 * DOM latency: a finished request's engine event → its row in the dashboard's DOM, over
 * `--requests` crawls (`--concurrency` at a time; --no-latency skips it). With --write the tables
 * go into docs/benchmarks.md between the dashboard-bench markers.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { chromium, type Page } from 'playwright-core'
import { startFeedServer, type FeedServer } from '../tests/ui/feed-server.js'
import type { BenchRun } from './benches.js'
import { measureLatency } from './dashboard-latency.js'
import { quantile } from './stats.js'

const repo = resolve(import.meta.dirname, '..')
const START = '<!-- dashboard-bench:start -->'

interface Entry {
  name: string
  start: number
  duration: number
  detail: string
}

/**
 * Installed before the app loads: collects the store's measures and the long tasks. A string,
 * not a function: tsx would wrap a named function with a helper the page does not have.
 */
const COLLECTOR = `
  window.__bench = { measures: [], longtasks: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.measures.push({ name: e.name, start: e.startTime, duration: e.duration, detail: String(e.detail) });
  }).observe({ type: 'measure' });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask' });
`

/** Resolves after six animation frames. A string for the same reason as COLLECTOR. */
const SIX_FRAMES = `new Promise((done) => { let n = 6; const next = () => (--n > 0 ? requestAnimationFrame(next) : done()); requestAnimationFrame(next) })`

const take = (page: Page) =>
  page.evaluate(() => {
    const b = (window as unknown as { __bench: { measures: Entry[]; longtasks: Array<{ start: number; duration: number }> } }).__bench
    const out = { measures: b.measures, longtasks: b.longtasks }
    b.measures = []
    b.longtasks = []
    return out
  })

/** Waits (polling the page) until `n` more update measures have been taken. */
async function waitForMeasures(page: Page, n: number, name = 'crawldeck:update'): Promise<void> {
  await page
    .waitForFunction(
      ([count, nm]) => {
        const list = (window as unknown as { __bench: { measures: Entry[] } }).__bench.measures
        return list.filter((m) => m.name === nm).reduce((k, m) => k + m.detail.split('+').length, 0) >= (count as number)
      },
      [n, name] as const,
      { timeout: 60_000, polling: 20 },
    )
    .catch(async (err: unknown) => {
      const seen = await page.evaluate(() => JSON.stringify((window as unknown as { __bench: unknown }).__bench))
      throw new Error(`${n} ${name} measures not seen: ${seen.slice(0, 2000)}`, { cause: err })
    })
}

/**
 * Waits for the chart redraws of a new point: the first one, then frames enough for any others
 * queued behind it (the frame queue runs one per frame). Whatever number of redraws a build does
 * per point (4 before the charts shared one canvas, 1 now), all of them are counted.
 */
async function chartRedrawsDone(page: Page): Promise<void> {
  await waitForMeasures(page, 1, 'crawldeck:chart')
  await page.evaluate(SIX_FRAMES)
}

interface Run {
  /** Vue-side cost of each message kind ('tick+' = a tick carrying a new timeline point). */
  perMessage: Map<string, number[]>
  /** One chart redraw each (in a later frame than the message's own task). */
  charts: number[]
  /** Everything one second of updates cost: its messages plus the chart redraws they caused. */
  perSecond: number[]
  /** The same, for the seconds that brought a new timeline point only (1 in 5): the heaviest ones. */
  pointSeconds: number[]
  /** The largest single piece of that second: what one frame had to absorb. */
  largest: number[]
  longtasks: number[]
}

/** n seconds of 1 Hz updates; each second's messages and chart redraws are measured and summed. */
async function updates(page: Page, feed: FeedServer, n: number): Promise<Run> {
  const run: Run = { perMessage: new Map(), charts: [], perSecond: [], pointSeconds: [], largest: [], longtasks: [] }
  await take(page)
  for (let i = 0; i < n; i++) {
    const started = Date.now()
    const msgs = feed.step()
    const point = msgs.some((m) => m.type === 'tick' && m.data.timeline)
    await waitForMeasures(page, msgs.length)
    if (point) await chartRedrawsDone(page)
    const { measures, longtasks } = await take(page)
    let total = 0
    let largest = 0
    for (const m of measures) {
      total += m.duration
      largest = Math.max(largest, m.duration)
      if (m.name === 'crawldeck:chart') run.charts.push(m.duration)
      else {
        const kind = m.detail === 'tick' && point ? 'tick+' : m.detail
        const list = run.perMessage.get(kind) ?? []
        list.push(m.duration)
        run.perMessage.set(kind, list)
      }
    }
    run.perSecond.push(total)
    if (point) run.pointSeconds.push(total)
    run.largest.push(largest)
    run.longtasks.push(...longtasks.map((t) => t.duration))
    await sleep(Math.max(0, 1000 - (Date.now() - started)))
  }
  return run
}

async function snapshots(page: Page, feed: FeedServer, n: number): Promise<number[]> {
  const costs: number[] = []
  await take(page)
  for (let i = 0; i < n; i++) {
    feed.endStreams()
    await waitForMeasures(page, 1, 'crawldeck:snapshot')
    const { measures } = await take(page)
    costs.push(...measures.filter((m) => m.name === 'crawldeck:snapshot').map((m) => m.duration))
  }
  return costs
}

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—')
const row = (label: string, v: number[]) => `| ${label} | ${v.length} | ${f(quantile(v, 0.5))} | ${f(quantile(v, 0.95))} | ${f(Math.max(...v))} |`

export async function runDashboardBench({ args, write }: BenchRun): Promise<void> {
  const flag = (name: string) => args.includes(`--${name}`)
  const option = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`)
    if (i < 0) return dflt
    const v = Number(args[i + 1])
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a whole number, got ${args[i + 1]}`)
    return v
  }
  // 100 s per tab: 20 seconds with a new point each, so their p95 is not simply the largest of 12.
  const UPDATES = option('updates', 100)
  const SNAPSHOTS = option('snapshots', 10)
  /** Crawls for the SSE → DOM latency part (0 or --no-latency: skipped), and how many at a time. */
  const REQUESTS = flag('no-latency') ? 0 : option('requests', 60)
  const CONCURRENCY = option('concurrency', 2)
  const root = process.env.CRAWLDECK_RENDERER_DIR ?? resolve(repo, 'out/renderer')
  const feed = await startFeedServer({ root, janitorEvery: 10 })
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  })
  const load = [loadavg()[0]!]
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    await context.addInitScript(COLLECTOR)
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()))
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => flag('verbose') && console.error(`page ${m.type()}: ${m.text()}`))
    await page.goto(`${feed.url}/dashboard/`)
    await page.locator('[data-testid="connection-state"]', { hasText: 'live' }).waitFor({ timeout: 60_000 })
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="completed-row"]').length === 100, undefined, { timeout: 60_000 })
    await updates(page, feed, 5) // warm-up: JIT, first chart layouts

    const requestsTab = await updates(page, feed, UPDATES)
    load.push(loadavg()[0]!)
    await page.click('[data-testid="tab-browsers"]')
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="browser-row"]').length === 50, undefined, { timeout: 60_000 })
    const browsersTab = await updates(page, feed, UPDATES)
    load.push(loadavg()[0]!)
    const snaps = await snapshots(page, feed, SNAPSHOTS)
    load.push(loadavg()[0]!)
    if (problems.length) throw new Error(`page problems: ${problems.join('; ')}`)
    await context.close()
    const latency = REQUESTS > 0 ? await measureLatency(browser, REQUESTS, CONCURRENCY) : null
    if (latency) load.push(loadavg()[0]!)

    const label: Record<string, string> = {
      tick: '`tick` (health only; 4 ticks in 5)',
      'tick+': '`tick` with a new timeline point (1 in 5), Vue part',
      browsers: '`browsers` (50 rows)',
      request_finished: '`request_finished`',
      endpoints: '`endpoints`',
    }
    const section = (title: string, r: Run) => [
      row(`**${title}: one second of updates, total work**`, r.perSecond),
      row('· the seconds with a new timeline point only (1 in 5), total work', r.pointSeconds),
      row('· its largest single piece (what one frame absorbs)', r.largest),
      ...Object.keys(label)
        .filter((k) => r.perMessage.has(k))
        .map((k) => row(`· ${label[k]}`, r.perMessage.get(k)!)),
      row('· timeline redraw (one per new point: the four charts on the data canvas; the y-axis canvas only when a count scale changes)', r.charts),
    ]
    const longtasks = [...requestsTab.longtasks, ...browsersTab.longtasks]
    const lines = [
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} cores, load average (1 min) ${load.map((l) => l.toFixed(1)).join(' → ')}; Chromium ${browser.version()}, 1440×900, ${UPDATES} updates per tab.`,
      '',
      '| work (ms) | n | p50 | p95 | max |',
      '|---|---|---|---|---|',
      ...section('Requests tab open', requestsTab),
      ...section('Browsers tab open', browsersTab),
      row('**full snapshot** (everything replaced, on (re)connection)', snaps),
      '',
      `Long tasks (> 50 ms) during the ${2 * UPDATES} seconds of updates: ${longtasks.length}${longtasks.length ? ` (longest ${f(Math.max(...longtasks))} ms)` : ''}.`,
      ...(latency
        ? [
            '',
            `SSE → DOM, real service, ${latency.fromServer.length} crawls of a local page, ${latency.concurrency} at a time (clock offset page − bench ${latency.offset.toFixed(2)} ± ${latency.offsetError.toFixed(2)} ms, subtracted):`,
            '',
            '| latency (ms) | n | p50 | p95 | max |',
            '|---|---|---|---|---|',
            row("**engine `request:finished` → its row in the dashboard's DOM**", latency.fromServer),
            row('· HTTP answer of the POST /crawl read by the client → its row in the DOM', latency.fromAnswer),
          ]
        : []),
    ]
    const table = lines.join('\n')
    console.log(table)
    if (write) await writeSection(resolve(repo, 'docs/benchmarks.md'), table)
  } finally {
    await browser.close()
    await feed.close()
  }
}

/** Replaces the generated part of the dashboard section (between the table markers) only. */
async function writeSection(file: string, table: string): Promise<void> {
  const text = await readFile(file, 'utf8')
  const a = text.indexOf('<!-- dashboard-bench:table -->')
  const b = text.indexOf('<!-- /dashboard-bench:table -->')
  if (text.indexOf(START) < 0 || a < 0 || b < a) throw new Error(`${file} has no dashboard-bench section with table markers`)
  await writeFile(file, `${text.slice(0, a)}<!-- dashboard-bench:table -->\n${table}\n${text.slice(b)}`)
}
