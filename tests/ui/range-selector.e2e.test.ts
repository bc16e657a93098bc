import { mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { LmdbHistoryStore } from '../../src/main/core/history/lmdb-history-store.js'
import { Rollups } from '../../src/main/core/history/rollups.js'
import { ensureRendererBuild } from '../helpers/renderer-build.js'
import { startService, type TestService } from '../helpers/service.js'

/*
 * The timeline's range selector in Debian Chromium against the real service: 30 days of history
 * fabricated in the data dir (with down time), each range fetched through the dashboard's
 * transport and drawn, the down time drawn as gaps, zoom with the wheel, and back to live.
 * Screenshots at 1440 and 375 px go to /tmp/shots/history-*.png.
 */

const SHOTS = '/tmp/shots'
const MIN = 60
const HOUR = 3600
let service: TestService
let browser: Browser
let dataDir: string
let problems: string[] = []
let page: Page | null = null

beforeAll(async () => {
  ensureRendererBuild()
  mkdirSync(SHOTS, { recursive: true })
  dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-range-'))
  const now = Date.now() / 1000
  const minute = Math.floor(now / MIN) * MIN
  const hour = Math.floor(now / HOUR) * HOUR
  const r = new Rollups()
  // A day-and-night wave, so the lines have a shape; a tick per bucket is enough for a point.
  const tick = (sec: number, wave: number) =>
    r.recordTick(sec * 1000, {
      memory: 45 + 25 * Math.sin(wave),
      cpu: 30 + 20 * Math.sin(wave * 1.7),
      limit: 8,
      queue: 0,
      browsers: { permanent: 1, hot: Math.round(2 + 2 * Math.sin(wave)), cold: Math.round(1 + Math.cos(wave)) },
    })
  // Minutes: the last 48 h, down from 10 to 13 h ago and from 30 to 31 h ago.
  for (let age = 1; age < 48 * 60; age++) {
    if ((age >= 600 && age < 780) || (age >= 1800 && age < 1860)) continue
    tick(minute - age * MIN + 5, age / 90)
  }
  // Hours beyond: down for a day and a half, 5 to 6.5 days ago, and 20 to 21 days ago.
  for (let age = 49; age < 30 * 24; age++) {
    if ((age >= 120 && age < 156) || (age >= 480 && age < 504)) continue
    tick(hour - age * HOUR + 5, age / 4)
  }
  for (let age = 1; age < 30 * 24; age += 3) r.recordRequest('/crawl', { success: true, elapsed_ms: 400, pool_hit: true }, (hour - age * HOUR + 30) * 1000)
  const store = new LmdbHistoryStore(dataDir)
  await store.write(r.takeDirty(Math.floor(now))!, Math.floor(now))
  await store.close()
  service = await startService({ data_dir: dataDir })
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await service?.close()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

afterEach(async () => {
  await page?.close()
  page = null
  expect(problems).toEqual([])
  problems = []
})

async function open(width: number, height = 900): Promise<Page> {
  const p = await browser.newPage({ viewport: { width, height } })
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
  })
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  p.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`)
  })
  await p.goto(`${service.url}/dashboard/`)
  await p.locator('[data-testid="range-selector"]').waitFor()
  return p
}

const charts = (p: Page) => p.locator('[data-testid="history-charts"]')

/** Choose a range and wait until its answer is drawn. */
async function choose(p: Page, key: string): Promise<void> {
  await p.click(`[data-testid="range-${key}"]`)
  await expect.poll(() => p.locator(`[data-testid="range-${key}"]`).getAttribute('aria-selected')).toBe('true')
  await expect.poll(async () => Number((await charts(p).getAttribute('data-drawn')) ?? 0), { timeout: 20_000 }).toBeGreaterThan(0)
}

async function shot(p: Page, name: string): Promise<void> {
  await p.locator('[data-testid="timeline"]').screenshot({ path: join(SHOTS, `history-${name}.png`) })
}

describe('timeline range selector', () => {
  it('switches windows on a 1440 px screen, draws the down time as gaps, zooms, and goes back to live', async () => {
    page = await open(1440)
    const p = page
    // Live by default: the 5-s charts, no history.
    await expect.poll(() => p.locator('[data-testid="range-live"]').getAttribute('aria-selected')).toBe('true')
    expect(await charts(p).count()).toBe(0)
    await expect.poll(() => p.locator('[data-testid="timeline-window"]').textContent()).toContain('5 min · 5 s')

    await choose(p, '24h')
    expect(await charts(p).getAttribute('data-window')).toBe('24h')
    await expect.poll(() => p.locator('[data-testid="timeline-window"]').textContent()).toContain('1 min')
    // One down stretch inside the last 24 h (10-13 h ago): the memory line is drawn in two parts at least.
    expect(Number(await charts(p).getAttribute('data-segments'))).toBeGreaterThanOrEqual(2)
    expect(await p.locator('[data-testid="chart-memory"]').isVisible()).toBe(false)
    await shot(p, '24h-1440')

    await choose(p, '7d')
    await expect.poll(() => p.locator('[data-testid="timeline-window"]').textContent()).toContain('1 h')
    expect(Number(await charts(p).getAttribute('data-segments'))).toBeGreaterThanOrEqual(2)

    await choose(p, '30d')
    expect(await charts(p).getAttribute('data-window')).toBe('30d')
    // The day and a half down 5 days ago and the day 20 days ago: three stretches or more.
    expect(Number(await charts(p).getAttribute('data-segments'))).toBeGreaterThanOrEqual(3)
    await shot(p, '30d-1440')
    const draws = await p.evaluate(() => performance.getEntriesByName('crawldeck:history-chart').map((e) => Math.round(e.duration)))
    console.log(`history chart draws (ms, 24h/7d/30d): ${draws.join(', ')}`)

    // Zoom: the wheel over a chart narrows every time axis at once.
    const box = (await p.locator('[data-testid="history-charts"] canvas').first().boundingBox())!
    await p.mouse.move(box.x + box.width * 0.3, box.y + 80)
    await p.mouse.wheel(0, -600)
    await expect.poll(() => charts(p).getAttribute('data-zoom')).not.toBe('0-100')
    await shot(p, '30d-zoomed-1440')

    await choose(p, '1h')
    await expect.poll(() => charts(p).getAttribute('data-window')).toBe('1h')

    await p.click('[data-testid="range-live"]')
    await expect.poll(() => charts(p).count()).toBe(0)
    expect(await p.locator('[data-testid="chart-memory"]').isVisible()).toBe(true)
  })

  it('works on a 375 px phone: the selector wraps under the title and the charts stack', async () => {
    page = await open(375, 1400)
    const p = page
    const selector = await p.locator('[data-testid="range-selector"]').boundingBox()
    expect(selector!.x + selector!.width).toBeLessThanOrEqual(375)
    await choose(p, '7d')
    expect(Number(await charts(p).getAttribute('data-segments'))).toBeGreaterThanOrEqual(2)
    const box = await charts(p).boundingBox()
    expect(box!.width).toBeLessThanOrEqual(375)
    // Stacked: one chart per row, four rows.
    expect(box!.height).toBeGreaterThan(600)
    await shot(p, '7d-375')
  })
})
