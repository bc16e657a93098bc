/**
 * `npm run bench -- soak`: thousands of crawls against the real service, run as an operator runs it (a
 * separate `node --import tsx src/main/serve.ts` process, so its RSS is the server's alone), from
 * a local fixture site, across four browser configs. Records failures (zero
 * unexplained), p50 / p95 latency and pages/s, server RSS at start / middle / end, and — after the
 * janitor's idle period — the Chromium process count and the pool back at baseline with no
 * context or page left open. With --write, puts the result into docs/reliability.md between soak markers.
 *
 *   SOAK_CRAWLS (5000)  SOAK_CONCURRENCY (8)  SOAK_IDLE_TTL (10 s)
 *   SOAK_PAGE_TIMEOUT (120000 ms, the service's max): the soak asks whether anything is lost, not how
 *   fast a page is; on a shared, loaded machine the 6000-link page can need more than the default 60 s.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { startFixtureServer } from '../tests/helpers/fixture-server.js'
import type { BenchRun } from './benches.js'
import { writeBenchSection } from './docs-file.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CRAWLS = Number(process.env.SOAK_CRAWLS ?? 5000)
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 8)
const IDLE_TTL = Number(process.env.SOAK_IDLE_TTL ?? 10)
const PAGE_TIMEOUT = Number(process.env.SOAK_PAGE_TIMEOUT ?? 120_000)
const DOC = path.join(ROOT, 'docs/reliability.md')

const CONFIGS: Array<Record<string, unknown> | undefined> = [
  undefined,
  { viewport_width: 801 },
  { viewport_width: 802, viewport_height: 700 },
  { user_agent: 'crawldeck-soak/1.0' },
]
const PAGES = ['/', '/article', '/js', '/many-links']

const log = (m: string) => process.stderr.write(`[soak] ${m}\n`)

function readStat(pid: number): { ppid: number; comm: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const close = stat.lastIndexOf(')')
    return { ppid: Number(stat.slice(close + 2).split(' ')[1]), comm: stat.slice(stat.indexOf('(') + 1, close) }
  } catch {
    return null
  }
}

/** Chromium processes below `root` by their `--type=` (no type: the browser process itself), from /proc. */
function chromiumBelow(root: number): Map<string, number> {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const st = readStat(Number(name))
    if (!st) continue
    children.set(st.ppid, [...(children.get(st.ppid) ?? []), Number(name)])
  }
  const byType = new Map<string, number>()
  const queue = [root]
  while (queue.length > 0) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      queue.push(c)
      try {
        // Chromium rewrites its argv as its process title: one string with spaces, not NUL-separated.
        const cmdline = readFileSync(`/proc/${c}/cmdline`, 'latin1').split(/[\0 ]/)
        if (!/chrom/i.test(cmdline[0] ?? '')) continue
        const type = cmdline.find((a) => a.startsWith('--type='))?.slice('--type='.length) ?? 'browser'
        const sub = cmdline.find((a) => a.startsWith('--utility-sub-type='))?.slice('--utility-sub-type='.length)
        const key = sub ? `${type}:${sub.replace(/^.*\./, '')}` : type
        byType.set(key, (byType.get(key) ?? 0) + 1)
      } catch {
        // gone
      }
    }
  }
  return byType
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)
const describeTypes = (m: Map<string, number>) =>
  [...m]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
const sameTypes = (a: Map<string, number>, b: Map<string, number>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v)

/**
 * The process count once it holds still: renderers of closed contexts exit a moment after the
 * context closes, and a browser starts its helpers (network service, storage, spare renderer)
 * a moment after its first page. Sampled every 500 ms until 3 s without change (at most 60 s).
 */
async function settledChromium(root: number): Promise<{ types: Map<string, number>; waitedS: number }> {
  const t0 = performance.now()
  let last = chromiumBelow(root)
  let stableSince = performance.now()
  while (performance.now() - stableSince < 3000 && performance.now() - t0 < 60_000) {
    await new Promise((r) => setTimeout(r, 500))
    const now = chromiumBelow(root)
    if (!sameTypes(now, last)) stableSince = performance.now()
    last = now
  }
  return { types: last, waitedS: (performance.now() - t0) / 1000 }
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number)
}

async function getJson<T = any>(url: string): Promise<T> {
  const r = await fetch(url)
  return (await r.json()) as T
}

export async function runSoakBench({ write }: BenchRun): Promise<void> {
  const fixture = await startFixtureServer()
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-soak-'))
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/main/serve.ts',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--idle-ttl',
      String(IDLE_TTL),
      '--max-pages',
      String(CONCURRENCY),
      '--log-level',
      'warn',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const pid = child.pid as number
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c
      const m = /crawldeck ready on (\S+)/.exec(out)
      if (m) resolve(m[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`service exited with ${code} before it was ready`)))
  })
  log(`service pid ${pid} at ${url}; ${CRAWLS} crawls at concurrency ${CONCURRENCY} over ${CONFIGS.length} configs`)
  const began = Date.now()
  const loadAtStart = os.loadavg()[0] ?? 0
  try {
    // Baseline = the idle service after a little work, once its process count holds still: a fresh
    // Chromium has not started its helper processes (network service, spare renderer) yet, a warm one keeps them.
    for (const page of PAGES)
      await fetch(`${url}/md`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: fixture.url(page) }) })
    const settledBaseline = await settledChromium(pid)
    const baseline = { chromium: settledBaseline.types, browsers: (await getJson(`${url}/monitor/browsers`)).browsers.length as number }
    log(
      `baseline: ${baseline.browsers} browser(s); Chromium processes ${describeTypes(baseline.chromium)} (settled after ${settledBaseline.waitedS.toFixed(1)} s)`,
    )
    const latencies: number[] = []
    const failures = new Map<string, number>()
    const rss: Array<{ at: string; crawls: number; mb: number }> = []
    let next = 0
    let done = 0
    const marks = new Set([Math.floor(CRAWLS * 0.1), Math.floor(CRAWLS / 2), CRAWLS])
    const t0 = performance.now()
    const worker = async () => {
      while (next < CRAWLS) {
        const i = next++
        const cfg = CONFIGS[i % CONFIGS.length]
        const page = PAGES[Math.floor(i / CONFIGS.length) % PAGES.length] as string
        const s = performance.now()
        let outcome: string
        try {
          const r = await fetch(`${url}/md`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ url: fixture.url(page), crawler_config: { page_timeout: PAGE_TIMEOUT }, ...(cfg ? { browser_config: cfg } : {}) }),
          })
          const body = (await r.json()) as { code?: string; error?: string }
          outcome = r.status === 200 ? 'ok' : `${r.status} ${body.code ?? ''}: ${(body.error ?? '').slice(0, 80)}`
        } catch (err) {
          outcome = `transport: ${(err as Error).message}`
        }
        if (outcome === 'ok') latencies.push(performance.now() - s)
        else failures.set(outcome, (failures.get(outcome) ?? 0) + 1)
        done++
        if (marks.has(done)) {
          rss.push({ at: done === CRAWLS ? 'end' : done === Math.floor(CRAWLS / 2) ? 'middle' : 'start (warm, 10 %)', crawls: done, mb: rssMb(pid) })
          log(`${done} crawls, server RSS ${rssMb(pid).toFixed(0)} MB`)
        }
        if (done % 500 === 0) log(`${done}/${CRAWLS}`)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    const wallS = (performance.now() - t0) / 1000

    // The janitor's idle period: cold browsers close after IDLE_TTL, hot ones after twice that.
    const idleStart = performance.now()
    let after = await getJson(`${url}/monitor/browsers`)
    while (after.browsers.length > baseline.browsers && performance.now() - idleStart < (IDLE_TTL * 2 + 60) * 1000) {
      await new Promise((r) => setTimeout(r, 1000))
      after = await getJson(`${url}/monitor/browsers`)
    }
    const idleWaitS = (performance.now() - idleStart) / 1000
    const views = after.browsers as Array<{ open_contexts?: number; open_pages?: number }>
    // Counted by the service itself (Playwright's own list of contexts and pages per browser).
    const leftover = views.every((b) => typeof b.open_contexts === 'number' && typeof b.open_pages === 'number')
      ? views.reduce((s, b) => ({ contexts: s.contexts + (b.open_contexts as number), pages: s.pages + (b.open_pages as number) }), { contexts: 0, pages: 0 })
      : { contexts: Number.NaN, pages: Number.NaN }
    const active = (await getJson(`${url}/monitor/requests?status=active`)).active.length as number
    const stats = (await getJson(`${url}/monitor/endpoints/stats`))['/md'] as { count: number; errors: number }
    const settledAfter = await settledChromium(pid)
    const chromiumAfter = settledAfter.types
    const failed = [...failures.values()].reduce((a, b) => a + b, 0)

    const lines: string[] = []
    const cpus = os.cpus()
    lines.push(`## Soak run (\`npm run bench -- soak\`)`, '')
    lines.push(
      `${new Date(began).toISOString()} on ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average (1 min) at the start ${loadAtStart.toFixed(1)}, at the end ${os.loadavg()[0]?.toFixed(1)}. ${CRAWLS} \`POST /md\` (page_timeout ${PAGE_TIMEOUT} ms) at concurrency ${CONCURRENCY} across ${CONFIGS.length} browser configs (default, two viewports, a user agent) and ${PAGES.length} fixture pages (${PAGES.join(', ')}); service started with \`--max-pages ${CONCURRENCY} --idle-ttl ${IDLE_TTL}\` in its own process.`,
      '',
    )
    lines.push('| figure | value |', '|---|---|')
    lines.push(`| crawls answered | ${done} of ${CRAWLS} |`)
    lines.push(`| failures | ${failed}${failed ? ` (${[...failures].map(([k, v]) => `${v}× ${k}`).join('; ')})` : ''} |`)
    lines.push(`| pages/s | ${(latencies.length / wallS).toFixed(2)} (${wallS.toFixed(0)} s wall) |`)
    lines.push(`| latency p50 / p95 | ${pct(latencies, 50).toFixed(0)} / ${pct(latencies, 95).toFixed(0)} ms |`)
    lines.push(`| server RSS | ${rss.map((r) => `${r.at}: ${r.mb.toFixed(0)} MB`).join(' · ')} |`)
    lines.push(`| monitor's count for /md | ${stats?.count ?? 0} = ${CRAWLS} + ${PAGES.length} warm-up (errors ${stats?.errors ?? 0}) |`)
    lines.push(`| active requests after | ${active} |`)
    lines.push(`| browsers: baseline → after ${idleWaitS.toFixed(0)} s idle | ${baseline.browsers} → ${after.browsers.length} |`)
    lines.push(
      `| Chromium processes: baseline → after (each once it held still for 3 s) | ${total(baseline.chromium)} (${describeTypes(baseline.chromium)}) → ${total(chromiumAfter)} (${describeTypes(chromiumAfter)}) |`,
    )
    lines.push(`| open contexts / pages after | ${leftover.contexts} / ${leftover.pages} |`)
    const warm = rss[0]?.mb ?? Number.NaN
    const end = rss[rss.length - 1]?.mb ?? Number.NaN
    const verdict = [
      failed === 0 ? 'no failures' : `${failed} failures`,
      stats?.count === CRAWLS + PAGES.length
        ? `counts exact (${CRAWLS} + ${PAGES.length} warm-up)`
        : `monitor counted ${stats?.count} for ${CRAWLS} + ${PAGES.length} warm-up`,
      `RSS end/warm ${(end / warm).toFixed(2)}×`,
      after.browsers.length === baseline.browsers ? 'pool back to baseline' : 'pool NOT back to baseline',
      sameTypes(chromiumAfter, baseline.chromium)
        ? 'Chromium processes back to baseline, type by type'
        : `Chromium processes ${describeTypes(baseline.chromium)} → ${describeTypes(chromiumAfter)}`,
      Number.isNaN(leftover.contexts)
        ? 'open contexts not reported by this service'
        : leftover.contexts === 0 && leftover.pages === 0
          ? 'nothing left open'
          : 'contexts or pages left open',
    ]
    lines.push('', `**Verdict:** ${verdict.join('; ')}.`)
    const md = lines.join('\n')
    process.stdout.write(`${md}\n`)
    if (write) {
      await writeBenchSection(DOC, md, { start: '<!-- soak:start -->', end: '<!-- soak:end -->', intro: '# Reliability\n' })
      log(`wrote ${DOC}`)
    }
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    await fixture.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
