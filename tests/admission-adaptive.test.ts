import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MonitorHealth } from '../src/shared/monitor-types.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * The adaptive page limit with real Chromium: heavy pages (a script that keeps a CPU busy for
 * HEAVY_MS) offered at 3x the ceiling at once, then light pages at the same
 * concurrency. Outcomes are counted, never timed against each other (bench/admission.ts compares
 * with fixed admission).
 */

const CEILING = 4
const OFFERED = 3 * CEILING
const PAGE_TIMEOUT = 45_000

const HEAVY_MS = 6000
const HEAVY = `<!doctype html><title>heavy</title><body><p id="out">working</p><script>
  // Busy for a fixed wall time, building strings all along: the CPUs are loaded whatever else
  // the machine runs, and a heavy page takes at least HEAVY_MS however slow light pages are
  // (a fixed amount of work would be only as much slower as the machine's other load allows).
  const parts = []
  let n = 0
  const end = Date.now() + ${HEAVY_MS}
  while (Date.now() < end) { let s = ''; for (let j = 0; j < 5000; j++) s += String.fromCharCode(97 + (j % 26)) + j; parts.push(s.length); n += s.length }
  document.getElementById('out').textContent = 'heavy done ' + n
</script></body>`
const LIGHT = '<!doctype html><title>light</title><body><p>light page</p></body>'

let pages: Server
let base = ''
let s: TestService

beforeAll(async () => {
  pages = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(req.url?.startsWith('/heavy') ? HEAVY : LIGHT)
  })
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`
  s = await startService({ max_pages: CEILING, min_pages: 1, queue_size: 2, prewarm_pages: 0 })
})

afterAll(async () => {
  await s?.close()
  await new Promise((resolve) => pages?.close(resolve))
})

interface Outcome {
  status: number
  ms: number
  success: boolean | null
}

async function offer(kind: 'heavy' | 'light', n: number): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const t0 = Date.now()
      const res = await s.postJson('/crawl', { urls: [`${base}/${kind}/${i}?t=${t0}`], crawler_config: { page_timeout: PAGE_TIMEOUT } })
      return { status: res.status, ms: Date.now() - t0, success: res.status === 200 ? Boolean(res.body.results?.[0]?.success) : null }
    }),
  )
}

const health = async () => (await s.get<MonitorHealth>('/monitor/health')).body

describe('adaptive admission (max_pages 4, queue_size 2)', () => {
  it('starts at the ceiling, and light pages with callers waiting keep it there', async () => {
    expect(s.runtime.admission.capacity.limit).toBe(CEILING)
    await waitFor(
      async () => {
        const out = await offer('light', OFFERED)
        expect(out.every((o) => o.status === 200 || o.status === 429)).toBe(true)
        return s.runtime.admission.capacity.limit === CEILING
      },
      40_000,
      'the limit to reach the ceiling on light pages',
    )
    const h = await health()
    expect(h.admission).toMatchObject({ limit: CEILING, max_limit: CEILING, min_limit: 1, adaptive: true })
  }, 60_000)

  it('heavy pages at 3x the ceiling: the admitted finish, the rest are refused fast, the limit falls with a reason', async () => {
    const changes: Array<{ from: number; to: number; reason: string }> = []
    const off = s.runtime.events.on('admission:changed', (e) => {
      if (e.change) changes.push(e.change)
    })
    try {
      const out = await offer('heavy', OFFERED)
      const done = out.filter((o) => o.status === 200)
      const refused = out.filter((o) => o.status === 429)
      expect(done.length + refused.length).toBe(OFFERED)
      // Admitted (at once or from the queue) and finished within page_timeout.
      expect(done.length).toBeGreaterThanOrEqual(1)
      expect(done.every((o) => o.success)).toBe(true)
      for (const r of refused) expect(r.ms).toBeLessThan(1000)
      expect(refused.length).toBeGreaterThanOrEqual(OFFERED - CEILING - 2)
      await waitFor(() => changes.some((c) => c.to < c.from), 30_000, 'the limit to fall')
      const fall = changes.find((c) => c.to < c.from)!
      expect(['latency', 'deadline', 'memory']).toContain(fall.reason)
      const h = await health()
      expect(h.admission.last_change).not.toBeNull()
      expect(h.admission.limit).toBeLessThan(CEILING)
    } finally {
      off()
    }
  }, 60_000)

  it('light pages at the same concurrency bring the limit back up; the gauge shows it', async () => {
    await waitFor(
      async () => {
        await offer('light', OFFERED)
        return s.runtime.admission.capacity.limit === CEILING
      },
      45_000,
      'the limit to climb back to the ceiling',
    )
    expect((await health()).admission.last_change).toMatchObject({ to: CEILING, reason: 'headroom' })
    const metrics = await fetch(`${s.url}/metrics`).then((r) => r.text())
    // Labels (an instance label in a fleet) may come before the value.
    expect(metrics).toMatch(new RegExp(`^crawldeck_admission_limit(\\{[^}]*\\})? ${CEILING}$`, 'm'))
  }, 60_000)
})
