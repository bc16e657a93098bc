import { median } from '../stats.js'
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

/**
 * Why a c=1 latency cannot go lower: a closed loop at c=1 runs one page after another, so all the
 * CPU a page costs (its own work, and the work a pool does per request in the background: the next
 * page made, the last one closed) has to fit between one answer and the next. Spread perfectly over
 * every core, a page still takes CPU per page / cores on average. One line per page where (a) and
 * (c) both ran with CPU measured.
 */
export function cpuFloorLines(data: SuiteData): string[] {
  const lines: string[] = []
  const cores = data.info.cores
  for (const page of data.pages) {
    const a = figuresOf(data, 'a', page.path, 1)
    const c = figuresOf(data, 'c', page.path, 1)
    if (!a || !c || !Number.isFinite(a.cpuPerPage) || !(cores > 0)) continue
    const floor = a.cpuPerPage / cores
    const needed = c.p50 / SUITE_PER_REQUEST_BROWSER_FACTOR
    lines.push(
      `\`${page.path}\`: (a) used ${ms(a.cpuPerPage)} ms of machine CPU per page at c=1, so one page after another on ${cores} cores ` +
        `cannot average under ${ms(floor)} ms per page; ${SUITE_PER_REQUEST_BROWSER_FACTOR}× lower than (c) (p50 ${ms(c.p50)} ms, ` +
        `${ms(c.cpuPerPage)} ms of CPU per page) needs ${ms(needed)} ms, ${floor > needed ? 'below that floor' : 'above it'}; (a)'s p50 was ${ms(a.p50)} ms.`,
    )
  }
  return lines
}

/**
 * The other bound: (a) does the page work (goto + extraction + Markdown) and more, so its p50 at
 * c=1 cannot go under the page work timed alone on a page made beforehand; (c) does the same work
 * after its launch. p50(c) / p50(alone) is therefore the most "(c) / (a)" can be on this machine,
 * for any pool that makes a fresh context per request. One line per page with both measured.
 */
export function pageWorkAloneLines(data: SuiteData): string[] {
  const lines: string[] = []
  for (const page of data.pages) {
    const samples = data.pageWorkAlone[page.path] ?? []
    const c = figuresOf(data, 'c', page.path, 1)
    if (samples.length === 0 || !c) continue
    const alone = median(samples)
    const most = c.p50 / alone
    const reach =
      most < SUITE_PER_REQUEST_BROWSER_FACTOR
        ? `so ${SUITE_PER_REQUEST_BROWSER_FACTOR}× lower than (c) is out of reach here for any pool that makes a fresh context per request`
        : `which leaves room for ${SUITE_PER_REQUEST_BROWSER_FACTOR}× lower than (c) only while the pool's own work stays off the page's path`
    lines.push(
      `\`${page.path}\`: the page work alone (goto + extraction + Markdown on a page made beforehand, nothing else running, ` +
        `${samples.length} times) took p50 ${ms(alone)} ms, which (a) does and more; (c)'s p50 at c=1 (${ms(c.p50)} ms) is ${ratio(most)} that, ${reach}.`,
    )
  }
  return lines
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

  out.push("Results: pages/s (median over rounds), p50 and p95 latency in ms (every page of every round); in brackets, the same figure divided by (b)'s.", '')
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

  out.push(
    "Machine CPU per page in ms (all cores, everything the contender runs: Node, browsers, renderers; rounds pooled); in brackets, divided by (b)'s:",
    '',
  )
  out.push(`| page | contender | ${data.concurrencies.map((c) => `c=${c}`).join(' | ')} |`)
  out.push(`|---|---|${data.concurrencies.map(() => '---:').join('|')}|`)
  for (const page of data.pages) {
    for (const c of data.contenders) {
      const cells = data.concurrencies.map((k) => {
        const f = figuresOf(data, c.id, page.path, k)
        return f && Number.isFinite(f.cpuPerPage) ? `${ms(f.cpuPerPage)} (${ratio(f.vsBare.cpuPerPage)})` : '—'
      })
      out.push(`| \`${page.path}\` | ${c.label} | ${cells.join(' | ')} |`)
    }
  }
  out.push('')

  const verdicts = suiteVerdicts(data)
  out.push(
    `Targets: (a) pages/s ≥ ${SUITE_THROUGHPUT_FLOOR}× (b) and ≥ (d) at every concurrency; (a) p50 at c=1 ≤ (b) + ${SUITE_LATENCY_BUDGET_MS} ms ` +
      `and at least ${SUITE_PER_REQUEST_BROWSER_FACTOR}× lower than (c). Checked per page.`,
    '',
  )
  out.push('| target | page | c | measured | result |')
  out.push('|---|---|---:|---:|---|')
  for (const v of verdicts) out.push(`| ${v.target} | \`${v.page}\` | ${v.concurrency} | ${v.measured} | ${verdictText(v.pass)} |`)
  out.push('')
  const failed = verdicts.filter((v) => v.pass === false)
  const passed = verdicts.filter((v) => v.pass === true)
  out.push(
    failed.length === 0
      ? `**Suite: all ${passed.length} checks PASS.**`
      : `**Suite: ${failed.length} of ${passed.length + failed.length} checks FAIL** (${passed.length} PASS).`,
    '',
  )
  const bounds = [...cpuFloorLines(data), ...pageWorkAloneLines(data)]
  if (bounds.length > 0) {
    out.push(
      "What bounds (a)'s latency at c=1 from below: the CPU it spends per page (requests back to back, so each page's CPU, the pool's " +
        'per-request work in the background included, must fit before the next answer), and the page work itself:',
      '',
    )
    for (const line of bounds) out.push(`- ${line}`)
    out.push('')
  }

  out.push('Sanity (one crawl of each page by each contender, before the rounds; the same page work everywhere gives the same sizes):', '')
  for (const s of data.sanity) out.push(`- ${s}`)
  return out.join('\n')
}
