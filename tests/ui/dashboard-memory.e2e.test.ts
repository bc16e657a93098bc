import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFeedServer, type FeedServer } from './feed-server.js'

/**
 * Ten minutes of 1 Hz updates, delivered as fast as the page takes them, must not make the
 * dashboard's memory grow: the real build in Debian Chromium, fed by a real SSE stream of a
 * synthetic monitor (100 completed requests, 50 browsers, a timeline point every 5 updates,
 * janitor events). The JS heap is read after forced garbage collections (CDP) at intervals and
 * must plateau; the store's lists must stay at their bounds.
 */

const repo = resolve(import.meta.dirname, '../..')
const artifacts = join(repo, 'test-artifacts')
const UPDATES = 600
const testid = (id: string) => `[data-testid="${id}"]`

let feed: FeedServer
let browser: Browser
let page: Page
let cdp: CDPSession
const problems: string[] = []

beforeAll(async () => {
  if (!existsSync(join(repo, 'out/renderer/index.html'))) {
    execFileSync('npx', ['vite', 'build', '--config', 'vite.renderer.config.ts'], { cwd: repo, stdio: 'ignore' })
  }
  feed = await startFeedServer({ janitorEvery: 3 })
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] })
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(`console ${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  cdp = await page.context().newCDPSession(page)
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await feed?.close()
})

/** The JS heap in use after two forced full collections. */
async function heapAfterGc(): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage')
  await cdp.send('HeapProfiler.collectGarbage')
  return (await cdp.send('Runtime.getHeapUsage')).usedSize
}

interface HeapCensus {
  /** JS objects, arrays and closures alive, by constructor name. */
  byName: Map<string, number>
  objects: number
  /** Bytes held by everything but compiled code and V8's own bookkeeping. */
  bytes: number
  /** DOM nodes and JS event listeners of the page. */
  dom: { nodes: number; listeners: number }
}

/** JS wrappers of live DOM elements: made whenever a script (the harness too) touches one; the DOM counters cover the nodes. */
const DOM_WRAPPER = /^(HTML|SVG|Text$|Comment$|CSS|DOM|NodeList|Attr$)/

/** One heap snapshot of the page, as its JSON text. */
async function heapSnapshot(): Promise<string> {
  const chunks: string[] = []
  const onChunk = (e: { chunk: string }) => void chunks.push(e.chunk)
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk)
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
  cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk)
  return chunks.join('')
}

/**
 * What the page's heap holds after a GC, from a heap snapshot, leaving out compiled code: V8
 * keeps compiling hotter functions for thousands of updates (its code grows, then levels off),
 * which says nothing about whether the app holds on to data.
 */
async function heapCensus(): Promise<HeapCensus> {
  // A first snapshot is thrown away: HeapProfiler.collectGarbage alone can leave garbage that a
  // snapshot's collection clears. On a slow host the census right after the warm-up counted
  // 1904 DOM nodes (the 100 seed rows and their listeners) and ~35 000 JS objects more than the
  // page held; the same census after one throwaway snapshot and a GC counted none of them, with
  // no update in between. Without this the test compared garbage, not growth.
  await heapSnapshot()
  await heapAfterGc()
  const snap = JSON.parse(await heapSnapshot()) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] }
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const [ti, ni, si] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')]
  const census: HeapCensus = { byName: new Map(), objects: 0, bytes: 0, dom: { nodes: 0, listeners: 0 } }
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + ti]!]!
    const name = snap.strings[snap.nodes[i + ni]!]!
    if (type === 'code' || name.startsWith('system / ')) continue
    census.bytes += snap.nodes[i + si]!
    if ((type === 'object' || type === 'closure' || type === 'array') && !DOM_WRAPPER.test(name)) {
      census.objects++
      const key = `${type}:${name.slice(0, 60)}`
      census.byName.set(key, (census.byName.get(key) ?? 0) + 1)
    }
  }
  const counters = await cdp.send('Memory.getDOMCounters')
  census.dom = { nodes: counters.nodes, listeners: counters.jsEventListeners }
  return census
}

/** The kinds of object that grew most between two censuses, for the failure message. */
function grownMost(a: HeapCensus, b: HeapCensus): string {
  return [...b.byName]
    .map(([k, n]) => [k, n - (a.byName.get(k) ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 8)
    .map(([k, d]) => `+${d} ${k}`)
    .join(', ')
}

/** Lengths of the monitor store's lists, read through the app's Pinia (exposed on #app by Vue). */
function storeLengths(p: Page) {
  return p.evaluate(() => {
    type Store = Record<'active' | 'completed' | 'janitor' | 'errors' | 'timeline', unknown[]> & { browsers: { browsers: unknown[] } }
    const app = (document.querySelector('#app') as unknown as { __vue_app__: { config: { globalProperties: { $pinia: { _s: Map<string, Store> } } } } })
      .__vue_app__
    const s = app.config.globalProperties.$pinia._s.get('monitor')!
    return {
      active: s.active.length,
      completed: s.completed.length,
      janitor: s.janitor.length,
      errors: s.errors.length,
      timeline: s.timeline.length,
      browsers: s.browsers.browsers.length,
    }
  })
}

/**
 * Pushes n one-second updates in one burst, then waits for the page to have applied the last one.
 * The page is asked as little as possible: every script the harness evaluates in it stays in
 * its heap (V8 keeps the compiled code), which would show up as growth that is not the app's.
 */
async function deliver(n: number): Promise<void> {
  let last = ''
  for (let i = 0; i < n; i++) last = (feed.step().find((m) => m.type === 'request_finished')!.data as { id: string }).id
  await page.locator(`${testid('completed-row')}[data-id="${last}"]`).waitFor({ timeout: 60_000 })
  // Let the chart redraws queued for the last point run (one per frame).
  await page.evaluate(
    () =>
      new Promise<void>((r) => {
        let frames = 8
        const next = () => (--frames > 0 ? requestAnimationFrame(next) : r())
        requestAnimationFrame(next)
      }),
  )
}

/** Collects the app's measures and the time of every animation frame, from before the app starts. */
const FRAME_PROBE = `(() => {
  const probe = (window.__probe = { measures: [], frames: [] });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) probe.measures.push({ name: e.name, start: e.startTime, detail: String(e.detail) });
  }).observe({ type: 'measure' });
  const frame = () => { probe.frames.push(performance.now()); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})();`

describe('dashboard chart updates', () => {
  it('redraws no chart on a health-only tick, and all four charts in one redraw, in a later frame than the message, on a new point', async () => {
    const p = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    await p.addInitScript(FRAME_PROBE)
    await p.goto(`${feed.url}/dashboard/`)
    await p.locator(testid('connection-state'), { hasText: 'live' }).waitFor({ timeout: 60_000 })
    type Probe = { measures: Array<{ name: string; start: number; detail: string }>; frames: number[] }
    const read = () => p.evaluate(() => (window as unknown as { __probe: Probe }).__probe)
    const reset = () => p.evaluate(() => void ((window as unknown as { __probe: Probe }).__probe.measures = []))
    const updatesSeen = async () => (await read()).measures.filter((m) => m.name === 'crawldeck:update').reduce((n, m) => n + m.detail.split('+').length, 0)
    const chartsSeen = async () => (await read()).measures.filter((m) => m.name === 'crawldeck:chart').length
    const framesPass = async (n: number) => {
      const now = (await read()).frames.length
      await expect.poll(async () => (await read()).frames.length, { timeout: 30_000 }).toBeGreaterThan(now + n)
    }
    // The snapshot's redraw runs in a frame after 'live': let it happen (and frames pass) before counting.
    await expect.poll(chartsSeen, { timeout: 30_000 }).toBeGreaterThanOrEqual(1)
    // Both timeline canvases are vue-echarts charts (its <x-vue-echarts> element around ECharts' canvas).
    expect(
      await p.evaluate(() =>
        [...document.querySelectorAll('[data-testid="timeline"] .echart')].map(
          (e) => e.querySelectorAll(':scope > x-vue-echarts > .echarts-host canvas').length,
        ),
      ),
    ).toEqual([1, 1])
    expect(await p.evaluate(() => customElements.get('x-vue-echarts') !== undefined)).toBe(true)
    await framesPass(8)
    // Step up to a point, and let its redraw run; the ticks of the next four steps carry none.
    await reset()
    let msgs = feed.step()
    while (!msgs.some((m) => m.type === 'tick' && m.data.timeline)) msgs = feed.step()
    await expect.poll(chartsSeen, { timeout: 30_000 }).toBe(1)
    await reset()
    msgs = feed.step()
    expect(msgs.find((m) => m.type === 'tick')!.data).toMatchObject({ timeline: null })
    await expect.poll(updatesSeen, { timeout: 30_000 }).toBe(msgs.length)
    // Frames go on; none of them redraws a chart.
    await framesPass(8)
    expect((await read()).measures.filter((m) => m.name === 'crawldeck:chart')).toEqual([])

    for (let i = 0; i < 3; i++) feed.step()
    await reset()
    msgs = feed.step()
    expect(msgs.find((m) => m.type === 'tick')!.data).toHaveProperty('timeline.timestamp')
    await expect.poll(chartsSeen, { timeout: 30_000 }).toBe(1)
    // Frames enough for any other redraw queued for this point to have run: there is none.
    await framesPass(8)
    const { measures, frames } = await read()
    const charts = measures.filter((m) => m.name === 'crawldeck:chart')
    expect(charts.map((m) => m.detail)).toEqual(['timeline'])
    // The redraw runs in a frame of its own, not inside the task that applied the tick.
    const tick = measures.find((m) => m.name === 'crawldeck:update' && m.detail.split('+').includes('tick'))!
    const frameOf = (t: number) => frames.filter((f) => f <= t).length
    expect(frameOf(charts[0]!.start)).toBeGreaterThan(frameOf(tick.start))
    await p.close()
    expect(problems).toEqual([])
  })

  it('paints no text on the data canvas for a new point: the minute labels are HTML, each under its minute', async () => {
    const p = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    // Every fillText/strokeText on a timeline canvas, by canvas: 'data' (the lines) or 'under' (the y axes).
    await p.addInitScript(`(() => {
      const texts = (window.__texts = { data: 0, under: 0 });
      for (const name of ['fillText', 'strokeText']) {
        const orig = CanvasRenderingContext2D.prototype[name];
        CanvasRenderingContext2D.prototype[name] = function (...args) {
          const host = this.canvas && this.canvas.closest && this.canvas.closest('[data-testid="timeline"] .echart');
          if (host) texts[host.classList.contains('under') ? 'under' : 'data']++;
          return orig.apply(this, args);
        };
      }
      window.__charts = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.name === 'crawldeck:chart') window.__charts++ }).observe({ type: 'measure' });
    })();`)
    await p.goto(`${feed.url}/dashboard/`)
    await p.locator(testid('connection-state'), { hasText: 'live' }).waitFor({ timeout: 60_000 })
    type Counts = { __texts: { data: number; under: number }; __charts: number }
    const counts = () => p.evaluate(() => ({ ...(window as unknown as Counts).__texts, charts: (window as unknown as Counts).__charts }))
    await expect.poll(async () => (await counts()).charts, { timeout: 30_000 }).toBeGreaterThanOrEqual(1)
    // The y labels are text on the canvas underneath: the counter does see canvas text.
    expect((await counts()).under).toBeGreaterThan(0)

    // Points until the minute labels change (a new minute enters the window): the redraws of all
    // those points paint no text on the data canvas.
    const labelTexts = () => p.locator(`${testid('chart-memory')} .tlabel`).allInnerTexts()
    const first = await labelTexts()
    const before = await counts()
    let charts = before.charts
    for (let i = 0; i < 12 && (await labelTexts()).join() === first.join(); i++) {
      let msgs = feed.step()
      while (!msgs.some((m) => m.type === 'tick' && m.data.timeline)) msgs = feed.step()
      await expect.poll(async () => (await counts()).charts, { timeout: 30_000 }).toBeGreaterThan(charts)
      charts = (await counts()).charts
    }
    expect(await labelTexts()).not.toEqual(first)
    expect((await counts()).data).toBe(before.data)

    // Each chart shows one HH:MM label per whole minute of the window, centred where that minute
    // falls in the plot (the slot less the 40 px y-label and 18 px right margins).
    const timeline = await p.evaluate(() => {
      const app = (
        document.querySelector('#app') as unknown as {
          __vue_app__: { config: { globalProperties: { $pinia: { _s: Map<string, { timeline: Array<{ timestamp: number }> }> } } } }
        }
      ).__vue_app__
      return app.config.globalProperties.$pinia._s.get('monitor')!.timeline.map((t) => t.timestamp)
    })
    const min = timeline[0]!
    const max = timeline[timeline.length - 1]!
    const minutes: number[] = []
    for (let t = Math.ceil(min / 60_000) * 60_000; t <= max; t += 60_000) minutes.push(t)
    expect(minutes.length).toBeGreaterThanOrEqual(4)
    for (const id of ['chart-memory', 'chart-cpu', 'chart-requests', 'chart-browsers']) {
      const slot = (await p.locator(`${testid(id)} .slot`).boundingBox())!
      const labels = p.locator(`${testid(id)} .tlabel`)
      expect(await labels.allInnerTexts()).toEqual(minutes.map((t) => new Date(t).toTimeString().slice(0, 5)))
      for (const [i, t] of minutes.entries()) {
        const box = (await labels.nth(i).boundingBox())!
        const expected = slot.x + 40 + (slot.width - 58) * ((t - min) / (max - min))
        expect(Math.abs(box.x + box.width / 2 - expected)).toBeLessThan(1.5)
        expect(box.y + box.height).toBeLessThanOrEqual(slot.y + slot.height)
        expect(box.y).toBeGreaterThan(slot.y + slot.height - 22)
      }
    }
    await p.close()
    expect(problems).toEqual([])
  })

  it("shows each chart's own tooltip (its series, its unit) and lights the hovered chart's border", async () => {
    const p = await browser.newPage({ viewport: { width: 1440, height: 900 } })
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
    p.on('dialog', (d) => {
      problems.push(`dialog ${d.type()}: ${d.message()}`)
      void d.dismiss()
    })
    await p.goto(`${feed.url}/dashboard/`)
    await p.locator(testid('connection-state'), { hasText: 'live' }).waitFor({ timeout: 60_000 })
    await p
      .locator(`${testid('timeline')} canvas`)
      .first()
      .waitFor()
    const tooltip = p.locator(testid('timeline-tooltip'))
    const expected: Record<string, RegExp> = {
      'chart-memory': /memory: \S+ %/,
      'chart-cpu': /cpu: \S+ %/,
      'chart-requests': /requests: \d+$/,
      'chart-browsers': /permanent: \d+ ● hot: \d+ ● cold: \d+$/,
    }
    for (const [id, text] of Object.entries(expected)) {
      const box = (await p.locator(testid(id)).boundingBox())!
      // The middle of the chart, a little right of centre: on a point, inside the plot.
      await p.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.6)
      await expect.poll(async () => (await tooltip.first().innerText()).replace(/\n/g, ' ').trim(), { timeout: 10_000 }).toMatch(text)
      expect(await p.locator(testid(id)).getAttribute('class')).toContain('hover')
      expect(await p.locator('.chart.hover').count()).toBe(1)
    }
    await p.mouse.move(5, 5)
    await expect.poll(() => p.locator('.chart.hover').count(), { timeout: 10_000 }).toBe(0)
    await p.close()
    expect(problems).toEqual([])
  })
})

describe('dashboard memory over 10 minutes of updates', () => {
  it('keeps its JS heap flat and its lists bounded through 600 updates', async () => {
    await page.goto(`${feed.url}/dashboard/`)
    await page.locator(testid('connection-state'), { hasText: 'live' }).waitFor({ timeout: 60_000 })
    await page.locator(testid('completed-row')).nth(99).waitFor({ timeout: 60_000 })

    // Warm-up: code paths compiled, every chart and table at its full size.
    await deliver(100)
    const samples: Array<{ updates: number; heap_mb: number }> = []
    let done = 100
    samples.push({ updates: done, heap_mb: (await heapAfterGc()) / 2 ** 20 })
    const early = await heapCensus()
    while (done < UPDATES) {
      await deliver(100)
      done += 100
      samples.push({ updates: done, heap_mb: (await heapAfterGc()) / 2 ** 20 })
      expect(await storeLengths(page)).toEqual({ active: 0, completed: 100, janitor: 200, errors: 100, timeline: 60, browsers: 50 })
    }
    const late = await heapCensus()
    expect(await page.locator(testid('completed-row')).count()).toBe(100)
    await page.click(testid('tab-janitor'))
    await expect.poll(() => page.locator(testid('janitor-row')).count(), { timeout: 30_000 }).toBe(200)
    await page.click(testid('tab-browsers'))
    await expect.poll(() => page.locator(testid('browser-row')).count(), { timeout: 30_000 }).toBe(50)
    await expect.poll(() => page.locator(testid('connection-state')).textContent()).toContain('live')

    mkdirSync(artifacts, { recursive: true })
    const growth = {
      objects: late.objects - early.objects,
      kb: (late.bytes - early.bytes) / 1024,
      dom_nodes: late.dom.nodes - early.dom.nodes,
      listeners: late.dom.listeners - early.dom.listeners,
    }
    const summary = {
      updates: UPDATES,
      heap_after_gc: samples,
      early: { ...early, byName: undefined },
      late: { ...late, byName: undefined },
      growth,
      grown_most: grownMost(early, late),
    }
    writeFileSync(join(artifacts, 'ui-memory.json'), `${JSON.stringify(summary, null, 2)}\n`)
    console.log(
      'dashboard heap after GC (MB) by updates applied:',
      samples.map((s) => `${s.updates}: ${s.heap_mb.toFixed(2)}`).join(', '),
      `| ${UPDATES - 100} updates added, compiled code aside: ${JSON.stringify(growth)}; most grown: ${summary.grown_most}`,
    )

    // A plateau. Not one JS object per update may stay behind: 500 updates leaking even a single
    // object each would add 500. The bytes allow for browser caches that fill and stop (shaped
    // text of the few new axis labels, the bounded performance-entry buffers).
    expect(growth.objects, summary.grown_most).toBeLessThan(250)
    expect(growth.kb).toBeLessThan(150)
    // The DOM is the same size after 500 updates: rows are replaced, not piled up, and no
    // listener is left behind by a row or chart that went away.
    expect(Math.abs(growth.dom_nodes)).toBeLessThan(50)
    expect(growth.listeners).toBeLessThanOrEqual(0)
    // The whole heap, compiled code included, is a loose sanity bound only: V8's code grows by
    // ~0.1 MB per 100 updates here and slows down (0.03 MB per 100 after 1500 updates).
    expect(samples.at(-1)!.heap_mb - samples[0]!.heap_mb).toBeLessThan(1.5)
    expect(problems).toEqual([])
  }, 600_000)
})
