import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BenchRun } from './benches.js'
import { startBenchService } from './service-client.js'

/*
 * Goodput under overload: heavy pages (fixed CPU work and ~20 MB of strings each) offered at
 * ADMISSION_OVERLOAD x the machine's CPUs, continuously, for ADMISSION_SECONDS; completed pages per
 * second and admitted pages that timed out, with fixed --max-pages swept over ADMISSION_SWEEP and
 * with the adaptive limit. Then light pages at the same concurrency, adaptive against fixed at
 * max_pages. Printed as ratios (adaptive / best fixed); nothing is written.
 */

const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt)
const SECONDS = env('ADMISSION_SECONDS', 60)
const MAX_PAGES = env('ADMISSION_MAX_PAGES', 8)
const CLIENTS = env('ADMISSION_CLIENTS', 4 * MAX_PAGES)
const PAGE_TIMEOUT = env('ADMISSION_PAGE_TIMEOUT', 60_000)
const SWEEP = (process.env.ADMISSION_SWEEP ?? '1,2,3,4,8').split(',').map(Number)

const HEAVY = `<!doctype html><title>heavy</title><body><p id="out">working</p><script>
  const parts = []; let n = 0
  for (let i = 0; i < 80; i++) { let s = ''; for (let j = 0; j < 25000; j++) { s += String.fromCharCode(97 + ((i * j) % 26)) + j } parts.push(s); n += s.length }
  document.getElementById('out').textContent = 'heavy done ' + n
</script></body>`
const LIGHT = '<!doctype html><title>light</title><body><p>light page</p></body>'

interface Figures {
  label: string
  pagesPerSecond: number
  refused: number
  timedOut: number
  finalLimit: number
}

async function measure(base: string, kind: 'heavy' | 'light', config: { adaptive: boolean; maxPages: number }, label: string): Promise<Figures> {
  const s = await startBenchService({ max_pages: config.maxPages, adaptive_admission: config.adaptive, queue_size: MAX_PAGES })
  try {
    const end = Date.now() + SECONDS * 1000
    let done = 0
    let refused = 0
    let timedOut = 0
    let n = 0
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < end) {
          const res = await fetch(`${s.url}/crawl`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ urls: [`${base}/${kind}/${n++}`], crawler_config: { page_timeout: PAGE_TIMEOUT } }),
          })
          const body = (await res.json()) as { results?: Array<{ success: boolean }> }
          if (res.status === 429) {
            refused++
            // A client that honours Retry-After briefly, so refusals do not spin the CPU.
            await new Promise((r) => setTimeout(r, 200))
          } else if (res.status === 200 && body.results?.[0]?.success) done++
          else timedOut++
        }
      }),
    )
    return { label, pagesPerSecond: done / SECONDS, refused, timedOut, finalLimit: s.runtime.admission.capacity.limit }
  } finally {
    await s.close()
  }
}

export async function runAdmissionBench(_opts: BenchRun): Promise<void> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(req.url?.startsWith('/heavy') ? HEAVY : LIGHT)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    const fixed: Figures[] = []
    for (const p of SWEEP) fixed.push(await measure(base, 'heavy', { adaptive: false, maxPages: p }, `heavy fixed max_pages=${p}`))
    const adaptive = await measure(base, 'heavy', { adaptive: true, maxPages: MAX_PAGES }, `heavy adaptive ≤${MAX_PAGES}`)
    const best = fixed.reduce((a, b) => (b.pagesPerSecond > a.pagesPerSecond ? b : a))
    const lightFixed = await measure(base, 'light', { adaptive: false, maxPages: MAX_PAGES }, `light fixed max_pages=${MAX_PAGES}`)
    const lightAdaptive = await measure(base, 'light', { adaptive: true, maxPages: MAX_PAGES }, `light adaptive ≤${MAX_PAGES}`)
    for (const f of [...fixed, adaptive, lightFixed, lightAdaptive])
      console.log(
        `${f.label.padEnd(28)} ${f.pagesPerSecond.toFixed(2)} pages/s  refused ${f.refused}  failed/timed out ${f.timedOut}  limit at end ${f.finalLimit}`,
      )
    console.log(
      `heavy: adaptive / best fixed (${best.label}) = ${(adaptive.pagesPerSecond / best.pagesPerSecond).toFixed(3)} (target >= 0.9, no admitted page timing out)`,
    )
    console.log(`light: adaptive / fixed = ${(lightAdaptive.pagesPerSecond / lightFixed.pagesPerSecond).toFixed(3)} (target >= 0.97)`)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
}
