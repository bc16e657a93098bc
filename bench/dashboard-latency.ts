/**
 * SSE → DOM latency of the control center against the real service (the target: a
 * finished request is visible in the dashboard's DOM within 250 ms at p95, in Chromium).
 *
 * The real service (engine + Koa, tests/helpers/service.ts) crawls a local fixture page; Debian
 * Chromium has /dashboard open on its Requests tab. For each request three moments are taken:
 * - server: when the engine emits `request:finished` (a listener on the runtime's event bus,
 *   which is also what feeds the monitor and its SSE stream);
 * - answered: when this process has read the whole HTTP answer of that POST /crawl;
 * - row: when the request's row (`completed-row[data-id=…]`) is inserted in the page's DOM
 *   (a MutationObserver installed before the app starts).
 * All three are wall-clock times in ms with sub-ms resolution (performance.timeOrigin +
 * performance.now(), in Node and in the page), on the same machine. The offset between the two
 * clocks is measured, not assumed: a few round trips read the page's clock, and the one with
 * the shortest round trip gives the offset (± half that round trip), which is subtracted.
 */
import { performance } from 'node:perf_hooks'
import type { Browser } from 'playwright-core'
import { startFixtureServer } from '../tests/helpers/fixture-server.js'
import { startService } from '../tests/helpers/service.js'

export interface LatencyRun {
  /** server `request:finished` → row in the DOM, per request (ms). */
  fromServer: number[]
  /** HTTP answer read by the client → row in the DOM (negative: the row came first). */
  fromAnswer: number[]
  /** Page clock minus this process's clock (ms), and its uncertainty (half the best round trip). */
  offset: number
  offsetError: number
  concurrency: number
}

/** Notes when each completed-request row is inserted, on a wall clock with sub-ms resolution. */
const ROW_PROBE = `(() => {
  const rows = (window.__rows = {});
  new MutationObserver((records) => {
    const t = performance.timeOrigin + performance.now();
    for (const r of records) for (const n of r.addedNodes) {
      if (n.nodeType === 1 && n.matches('[data-testid="completed-row"]')) {
        const id = n.getAttribute('data-id');
        if (id && !(id in rows)) rows[id] = t;
      }
    }
  }).observe(document, { childList: true, subtree: true });
})();`

const now = () => performance.timeOrigin + performance.now()

/**
 * Runs `requests` crawls (`concurrency` at a time) against the real service with the dashboard
 * open in `browser`, and returns each request's latencies.
 */
export async function measureLatency(browser: Browser, requests: number, concurrency = 2): Promise<LatencyRun> {
  const fixture = await startFixtureServer()
  const service = await startService()
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  try {
    await context.addInitScript(ROW_PROBE)
    const page = await context.newPage()
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()))
    await page.goto(`${service.url}/dashboard/`)
    await page.locator('[data-testid="connection-state"]', { hasText: 'live' }).waitFor({ timeout: 60_000 })

    // The clocks: the round trip with the least time in it bounds the offset best.
    let offset = 0
    let best = Infinity
    for (let i = 0; i < 20; i++) {
      const t0 = now()
      const pageTime = (await page.evaluate('performance.timeOrigin + performance.now()')) as number
      const t1 = now()
      if (t1 - t0 < best) {
        best = t1 - t0
        offset = pageTime - (t0 + t1) / 2
      }
    }

    // Keyed by URL (each crawl's URL is unique): the event gives the request's id, the answer does not.
    const finished = new Map<string, { id: string; at: number }>()
    const off = service.runtime.events.on('request:finished', (e) => void finished.set(e.url, { id: e.id, at: now() }))
    const answeredAt = new Map<string, number>()
    const crawlOne = async (i: number) => {
      const url = fixture.url(`/about?latency=${i}`)
      // postNow: the answer as the client gets it (post() also waits for the context's close).
      const res = await service.postNow('/crawl', { urls: [url] })
      const body = await res.text()
      answeredAt.set(url, now())
      if (res.status !== 200) throw new Error(`POST /crawl answered ${res.status}: ${body.slice(0, 200)}`)
    }
    // A warm-up crawl: the pool's first browser launch is not what is measured.
    await crawlOne(-1)
    finished.clear()
    answeredAt.clear()
    let next = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests) await crawlOne(next++)
      }),
    )
    off()
    const ids = [...finished.values()].map((f) => f.id)
    await page.waitForFunction((want) => want.every((id) => id in (window as unknown as { __rows: Record<string, number> }).__rows), ids, {
      timeout: 60_000,
      polling: 100,
    })
    const rows = (await page.evaluate('window.__rows')) as Record<string, number>
    if (problems.length) throw new Error(`page problems: ${problems.join('; ')}`)
    const toLocal = (pageTime: number) => pageTime - offset
    return {
      fromServer: [...finished.values()].map((f) => toLocal(rows[f.id]!) - f.at),
      fromAnswer: [...finished].map(([url, f]) => toLocal(rows[f.id]!) - answeredAt.get(url)!),
      offset,
      offsetError: best / 2,
      concurrency,
    }
  } finally {
    await context.close()
    await service.close()
    await fixture.close()
  }
}
