import { median, p95 } from '../stats.js'
import type { CellRun } from '../load.js'
import type { ContenderId } from './contender.js'

/** The throughput targets the suite covers. */
export const SUITE_THROUGHPUT_FLOOR = 0.9
export const SUITE_LATENCY_BUDGET_MS = 25
export const SUITE_PER_REQUEST_BROWSER_FACTOR = 3

export interface ContenderInfo {
  id: ContenderId
  label: string
  method: string
  isolation: string
  /** Concurrencies it has a form at. */
  concurrencies: number[]
}

export interface PageInfo {
  path: string
  what: string
  htmlBytes: number
  images: number
  imageBytes: number
}

export interface SuiteInfo {
  date: string
  /** Logical CPUs of the machine: what a contender's CPU per page is spread over. */
  cores: number
  machine: string
  load: string
  versions: string
  method: string
  rounds: number
  durationS: number
}

/** Everything one suite run measured: per contender, page and concurrency, one CellRun per round. */
export interface SuiteData {
  contenders: ContenderInfo[]
  pages: PageInfo[]
  concurrencies: number[]
  cells: Record<string, CellRun[]>
  /** Per page path: durations of the page work alone (goto + extraction + Markdown, nothing else running), ms. */
  pageWorkAlone: Record<string, number[]>
  sanity: string[]
  notes: string[]
  info: SuiteInfo
}

export function cellKey(id: ContenderId, path: string, concurrency: number): string {
  return `${id} ${path} c=${concurrency}`
}

export interface CellFigures {
  /** Median over rounds of each round's pages / wall time. */
  rate: number
  /** Every page's latency of every round pooled. */
  p50: number
  p95: number
  pages: number
  /**
   * CPU the whole machine used per page, ms (the cell's machine CPU over its pages, rounds pooled):
   * everything the contender runs, renderers and launched browsers included. NaN when not measured.
   */
  cpuPerPage: number
  /** Each figure divided by (b)'s in the same cell; NaN when (b) did not run. */
  vsBare: { rate: number; p50: number; p95: number; cpuPerPage: number }
}

/** One cell's figures from its per-round runs (no ratios). */
export function cellFigures(runs: readonly CellRun[]): Omit<CellFigures, 'vsBare'> {
  const rates = runs.filter((r) => r.wallMs > 0).map((r) => (r.pages * 1000) / r.wallMs)
  const latencies = runs.flatMap((r) => r.latencies)
  const pages = runs.reduce((n, r) => n + r.pages, 0)
  const measured = runs.every((r) => r.machineCpuMs !== undefined && Number.isFinite(r.machineCpuMs))
  const cpuPerPage = measured && pages > 0 ? runs.reduce((ms, r) => ms + (r.machineCpuMs ?? 0), 0) / pages : Number.NaN
  return { rate: median(rates), p50: median(latencies), p95: p95(latencies), pages, cpuPerPage }
}

/** Figures of one contender in one cell with its ratios to (b); null when it has no runs there. */
export function figuresOf(data: SuiteData, id: ContenderId, path: string, concurrency: number): CellFigures | null {
  const runs = data.cells[cellKey(id, path, concurrency)]
  if (!runs || runs.length === 0) return null
  const own = cellFigures(runs)
  const bareRuns = data.cells[cellKey('b', path, concurrency)]
  const bare = bareRuns && bareRuns.length > 0 ? cellFigures(bareRuns) : null
  return {
    ...own,
    vsBare: bare
      ? { rate: own.rate / bare.rate, p50: own.p50 / bare.p50, p95: own.p95 / bare.p95, cpuPerPage: own.cpuPerPage / bare.cpuPerPage }
      : { rate: Number.NaN, p50: Number.NaN, p95: Number.NaN, cpuPerPage: Number.NaN },
  }
}

export interface SuiteVerdict {
  target: string
  page: string
  concurrency: number
  /** The measured figure, e.g. "0.97× (b)". */
  measured: string
  /** PASS / FAIL, or null when a side it needs did not run. */
  pass: boolean | null
}

const x = (v: number) => `${v.toFixed(2)}×`

/**
 * The targets this suite covers, per page and concurrency:
 * (a) throughput >= 0.9x (b) and >= each (d); (a) p50 at c=1 <= (b) + 25 ms and at least 3x lower than (c).
 */
export function suiteVerdicts(data: SuiteData): SuiteVerdict[] {
  const out: SuiteVerdict[] = []
  const ds = data.contenders.filter((c) => c.id === 'd' || c.id === 'd-incognito')
  for (const page of data.pages) {
    for (const c of data.concurrencies) {
      const a = figuresOf(data, 'a', page.path, c)
      const b = figuresOf(data, 'b', page.path, c)
      out.push({
        target: `(a) pages/s ≥ ${SUITE_THROUGHPUT_FLOOR}× (b)`,
        page: page.path,
        concurrency: c,
        measured: a && b ? `${x(a.vsBare.rate)} (b)` : '—',
        pass: a && b ? a.vsBare.rate >= SUITE_THROUGHPUT_FLOOR : null,
      })
      for (const d of ds) {
        const fd = figuresOf(data, d.id, page.path, c)
        out.push({
          target: `(a) pages/s ≥ ${d.label}`,
          page: page.path,
          concurrency: c,
          measured: a && fd ? `${x(a.rate / fd.rate)} (d)` : '—',
          pass: a && fd ? a.rate >= fd.rate : null,
        })
      }
    }
    const a1 = figuresOf(data, 'a', page.path, 1)
    const b1 = figuresOf(data, 'b', page.path, 1)
    const c1 = figuresOf(data, 'c', page.path, 1)
    const delta = a1 && b1 ? a1.p50 - b1.p50 : Number.NaN
    out.push({
      target: `(a) p50 ≤ (b) + ${SUITE_LATENCY_BUDGET_MS} ms`,
      page: page.path,
      concurrency: 1,
      measured: a1 && b1 ? `${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(1)} ms` : '—',
      pass: a1 && b1 ? delta <= SUITE_LATENCY_BUDGET_MS : null,
    })
    out.push({
      target: `(a) p50 ≥ ${SUITE_PER_REQUEST_BROWSER_FACTOR}× lower than (c)`,
      page: page.path,
      concurrency: 1,
      measured: a1 && c1 ? `(c) / (a) = ${x(c1.p50 / a1.p50)}` : '—',
      pass: a1 && c1 ? c1.p50 / a1.p50 >= SUITE_PER_REQUEST_BROWSER_FACTOR : null,
    })
  }
  return out
}
