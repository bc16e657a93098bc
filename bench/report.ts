import type { StepCell, StepRow } from './breakdown.js'
import type { CpuTally } from './cpu.js'
import { throughput, type LoadRun } from './load.js'
import { median, p95, spread, type Spread } from './stats.js'

/** The speed targets: the monitor's cost and crawldeck against a bare loop. */
export const LATENCY_BUDGET_MS = 25
export const THROUGHPUT_FLOOR = 0.9

/** Everything one page row measured: per side, one LoadRun per round at each concurrency. */
export interface PageMeasurements {
  path: string
  bytes: number
  a: { c1: LoadRun[]; c4: LoadRun[] }
  b: { c1: LoadRun[]; c4: LoadRun[] }
  steps: StepRow[]
  /** CPU used over every measured segment (both concurrencies). */
  cpu: { a: CpuTally; b: CpuTally }
}

export interface RunInfo {
  date: string
  machine: string
  load: string
  node: string
  chromium: string
  playwright: string
  method: string
  notes: string[]
  durationS: number
}

export interface PageVerdict {
  path: string
  latencyDeltaMs: number
  latencyPass: boolean
  throughputRatio: number
  throughputPass: boolean
}

interface Figures {
  c1Median: number
  c1P95: number
  c4Rate: number
  c4Median: number
  c4P95: number
}

function figures(side: { c1: LoadRun[]; c4: LoadRun[] }): Figures {
  const c1 = side.c1.flatMap((r) => r.latencies)
  const c4 = side.c4.flatMap((r) => r.latencies)
  return { c1Median: median(c1), c1P95: p95(c1), c4Rate: throughput(side.c4), c4Median: median(c4), c4P95: p95(c4) }
}

const ms = (v: number) => `${v.toFixed(1)} ms`
const signedMs = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)} ms`
const rate = (v: number) => `${v.toFixed(1)} pages/s`
const ratio = (v: number) => `${v.toFixed(2)}×`
const verdict = (pass: boolean) => (pass ? '**PASS**' : '**FAIL**')
const spreadOf = (s: Spread, fmt: (v: number) => string) => `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}`

function cell(v: StepCell): string {
  if (v === null) return '—'
  if (typeof v === 'number') return Number.isFinite(v) ? ms(v) : '—'
  return `${v[0].toFixed(1)} / ${v[1].toFixed(1)} ms`
}

export function verdicts(pages: readonly PageMeasurements[]): PageVerdict[] {
  return pages.map((p) => {
    const a = figures(p.a)
    const b = figures(p.b)
    const latencyDeltaMs = a.c1Median - b.c1Median
    const throughputRatio = a.c4Rate / b.c4Rate
    return {
      path: p.path,
      latencyDeltaMs,
      latencyPass: latencyDeltaMs <= LATENCY_BUDGET_MS,
      throughputRatio,
      throughputPass: throughputRatio >= THROUGHPUT_FLOOR,
    }
  })
}

/** The generated section of docs/benchmarks.md (also printed on stdout). */
export function renderMarkdown(info: RunInfo, pages: readonly PageMeasurements[]): string {
  const out: string[] = []
  const v = verdicts(pages)
  out.push(`### Run of ${info.date}`, '')
  out.push(`- Machine: ${info.machine}`)
  out.push(`- Load average (1/5/15 min): ${info.load}`)
  out.push(`- Node ${info.node}, ${info.chromium}, playwright-core ${info.playwright}`)
  out.push(`- Method: ${info.method}`)
  for (const note of info.notes) out.push(`- ${note}`)
  out.push(`- Bench wall time: ${info.durationS.toFixed(0)} s`, '')

  out.push('A = crawldeck `POST /html {url}` over HTTP; B = bare playwright-core loop (same Chromium, same args, new context per page).', '')
  out.push('| page | figure | A crawldeck | B bare loop | A vs B | target | result |')
  out.push('|---|---|---:|---:|---:|---|---|')
  pages.forEach((p, i) => {
    const a = figures(p.a)
    const b = figures(p.b)
    const r = v[i] as PageVerdict
    const label = `\`${p.path}\` (${(p.bytes / 1024).toFixed(1)} KB)`
    out.push(
      `| ${label} | c=1 median latency | ${ms(a.c1Median)} | ${ms(b.c1Median)} | ${signedMs(r.latencyDeltaMs)} | ≤ +${LATENCY_BUDGET_MS} ms | ${verdict(r.latencyPass)} |`,
    )
    out.push(`| ${label} | c=1 p95 latency | ${ms(a.c1P95)} | ${ms(b.c1P95)} | ${signedMs(a.c1P95 - b.c1P95)} | — | — |`)
    out.push(
      `| ${label} | c=4 throughput | ${rate(a.c4Rate)} | ${rate(b.c4Rate)} | ${ratio(r.throughputRatio)} | ≥ ${THROUGHPUT_FLOOR}× | ${verdict(r.throughputPass)} |`,
    )
    out.push(
      `| ${label} | c=4 median / p95 latency | ${ms(a.c4Median)} / ${ms(a.c4P95)} | ${ms(b.c4Median)} / ${ms(b.c4P95)} | ${signedMs(a.c4Median - b.c4Median)} / ${signedMs(a.c4P95 - b.c4P95)} | — | — |`,
    )
  })
  out.push('')

  out.push('Per-round spread (min / median / max over rounds; each round runs A and B back to back):', '')
  out.push('| page | c=1 median latency delta A − B | c=4 throughput ratio A / B |')
  out.push('|---|---|---|')
  for (const p of pages) {
    const deltas = p.a.c1.map((run, i) => median(run.latencies) - median((p.b.c1[i] as LoadRun).latencies))
    const ratios = p.a.c4.map((run, i) => throughput([run]) / throughput([p.b.c4[i] as LoadRun]))
    out.push(`| \`${p.path}\` | ${spreadOf(spread(deltas), signedMs)} | ${spreadOf(spread(ratios), ratio)} |`)
  }
  out.push('')

  out.push("Where the time goes at c=1 (medians per step; A from the engine's own request events, B from the loop's timestamps):", '')
  out.push(`| step | ${pages.map((p) => `A \`${p.path}\` | B \`${p.path}\``).join(' | ')} |`)
  out.push(`|---|${pages.map(() => '---:|---:').join('|')}|`)
  const first = pages[0]
  if (first) {
    first.steps.forEach((row, i) => {
      const cells = pages.map((p) => {
        const r = p.steps[i] as StepRow
        return `${cell(r.a)} | ${cell(r.b)}`
      })
      out.push(`| ${row.step} | ${cells.join(' | ')} |`)
    })
  }
  out.push('')

  out.push(
    'CPU time per page, both concurrencies pooled (waiting for a core costs wall time but not CPU time, so this is less noisy than ' +
      'latency, though contention still inflates it). Node = this whole process (bench client, crawldeck, playwright clients), ' +
      "Chromium = the serving browser's process tree:",
    '',
  )
  out.push('| page | A Node | A Chromium | A total | B Node | B Chromium | B total | A / B total |')
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const p of pages) {
    const per = (t: CpuTally) => ({ node: t.nodeMs / t.pages, browser: t.browserMs / t.pages, total: (t.nodeMs + t.browserMs) / t.pages })
    const a = per(p.cpu.a)
    const b = per(p.cpu.b)
    out.push(
      `| \`${p.path}\` | ${ms(a.node)} | ${ms(a.browser)} | ${ms(a.total)} | ${ms(b.node)} | ${ms(b.browser)} | ${ms(b.total)} | ${ratio(a.total / b.total)} |`,
    )
  }
  out.push('')

  const failed = v.flatMap((r) => [
    ...(r.latencyPass ? [] : [`\`${r.path}\` c=1 median latency ${signedMs(r.latencyDeltaMs)} (budget +${LATENCY_BUDGET_MS} ms)`]),
    ...(r.throughputPass ? [] : [`\`${r.path}\` c=4 throughput ${ratio(r.throughputRatio)} (floor ${THROUGHPUT_FLOOR}×)`]),
  ])
  out.push(failed.length === 0 ? '**All targets PASS.**' : `**FAIL:** ${failed.join('; ')}.`)
  return out.join('\n')
}
