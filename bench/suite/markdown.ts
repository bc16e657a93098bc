import { figuresOf, suiteVerdicts, SUITE_LATENCY_BUDGET_MS, SUITE_PER_REQUEST_BROWSER_FACTOR, SUITE_THROUGHPUT_FLOOR, type SuiteData } from './table.js'

const rate = (v: number) => v.toFixed(2)
const ms = (v: number) => v.toFixed(0)
const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '—')
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`
const verdictText = (pass: boolean | null) => (pass === null ? 'not run' : pass ? '**PASS**' : '**FAIL**')

/**
 * Failed requests per contender over the whole run (a failed request adds no page, its time stays
 * in the cell's wall time), with the first messages; "none" when nothing failed.
 */
export function failureLines(data: SuiteData): string[] {
  const lines: string[] = []
  for (const c of data.contenders) {
    const runs = Object.entries(data.cells)
      .filter(([key]) => key.startsWith(`${c.id} `))
      .flatMap(([, r]) => r)
    const failed = runs.reduce((n, r) => n + r.failed, 0)
    if (failed === 0) continue
    const pages = runs.reduce((n, r) => n + r.pages, 0)
    const errors = [...new Set(runs.flatMap((r) => r.errors))].slice(0, 3)
    lines.push(`**Failed requests** of ${c.label}: ${failed} (${pages} pages succeeded): ${errors.join('; ')}`)
  }
  return lines.length > 0 ? lines : ['Failed requests: none.']
}

/** The suite's generated section of docs/benchmarks.md; `chartPath` is the chart image relative to the docs file. */
export function renderSuiteMarkdown(data: SuiteData, chartPath: string): string {
  const out: string[] = []
  const { info } = data
  out.push(`### Suite run of ${info.date}`, '')
  out.push(`- Machine: ${info.machine}`)
  out.push(`- Load average (1/5/15 min): ${info.load}`)
  out.push(`- ${info.versions}`)
  out.push(`- Method: ${info.method}`)
  for (const note of data.notes) out.push(`- ${note}`)
  for (const line of failureLines(data)) out.push(`- ${line}`)
  out.push(`- Suite wall time: ${info.durationS.toFixed(0)} s`, '')

  out.push('Pages of the fixture site (each served on 127.0.0.1 by `tests/helpers/fixture-server.ts`):', '')
  out.push('| page | what | HTML | images |')
  out.push('|---|---|---:|---:|')
  for (const p of data.pages) out.push(`| \`${p.path}\` | ${p.what} | ${kb(p.htmlBytes)} | ${p.images === 0 ? '—' : `${p.images} (${kb(p.imageBytes)})`} |`)
  out.push('')

  out.push('Contenders and what each request shares with the others:', '')
  out.push('| contender | what it does | isolation |')
  out.push('|---|---|---|')
  for (const c of data.contenders) out.push(`| ${c.label} | ${c.method} | ${c.isolation} |`)
  out.push('')

  out.push(`![Pages per second by contender and concurrency](${chartPath})`, '')

  out.push('Results: pages/s (median over rounds), p50 and p95 latency in ms (every page of every round); in brackets, the same figure divided by (b)\'s.', '')
  for (const page of data.pages) {
    out.push(`**\`${page.path}\`** (${page.what})`, '')
    out.push(`| contender | ${data.concurrencies.map((c) => `c=${c} pages/s | c=${c} p50 | c=${c} p95`).join(' | ')} |`)
    out.push(`|---|${data.concurrencies.map(() => '---:|---:|---:').join('|')}|`)
    for (const c of data.contenders) {
      const cells = data.concurrencies.map((k) => {
        const f = figuresOf(data, c.id, page.path, k)
        if (!f) return '— | — | —'
        return `${rate(f.rate)} (${ratio(f.vsBare.rate)}) | ${ms(f.p50)} (${ratio(f.vsBare.p50)}) | ${ms(f.p95)} (${ratio(f.vsBare.p95)})`
      })
      out.push(`| ${c.label} | ${cells.join(' | ')} |`)
    }
    out.push('')
  }

  const verdicts = suiteVerdicts(data)
  out.push(
    `Targets (issue 7): (a) pages/s ≥ ${SUITE_THROUGHPUT_FLOOR}× (b) and ≥ (d) at every concurrency; (a) p50 at c=1 ≤ (b) + ${SUITE_LATENCY_BUDGET_MS} ms ` +
      `and at least ${SUITE_PER_REQUEST_BROWSER_FACTOR}× lower than (c). Checked per page.`,
    '',
  )
  out.push('| target | page | c | measured | result |')
  out.push('|---|---|---:|---:|---|')
  for (const v of verdicts) out.push(`| ${v.target} | \`${v.page}\` | ${v.concurrency} | ${v.measured} | ${verdictText(v.pass)} |`)
  out.push('')
  const failed = verdicts.filter((v) => v.pass === false)
  const passed = verdicts.filter((v) => v.pass === true)
  out.push(failed.length === 0 ? `**Suite: all ${passed.length} checks PASS.**` : `**Suite: ${failed.length} of ${passed.length + failed.length} checks FAIL** (${passed.length} PASS).`, '')

  out.push('Sanity (one crawl of each page by each contender, before the rounds; the same page work everywhere gives the same sizes):', '')
  for (const s of data.sanity) out.push(`- ${s}`)
  return out.join('\n')
}
