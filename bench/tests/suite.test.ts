import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeBenchSection } from '../docs-file.js'
import { closedLoop, type CellRun } from '../load.js'
import { niceCeil, renderThroughputChart } from '../suite/chart.js'
import type { ContenderId } from '../suite/contender.js'
import { renderSuiteMarkdown } from '../suite/markdown.js'
import { SUITE_END_MARKER, SUITE_START_MARKER } from '../suite/part.js'
import { measureAlone } from '../suite/run-suite.js'
import { cellFigures, cellKey, figuresOf, suiteVerdicts, type SuiteData } from '../suite/table.js'

const LABELS: Record<ContenderId, string> = {
  a: '(a) crawldeck',
  'a-batch': '(a-batch) crawldeck, 8 URLs/request',
  b: '(b) bare playwright-core loop',
  c: '(c) new browser per request',
  d: '(d) Crawlee, defaults',
  'd-incognito': '(d) Crawlee, useIncognitoPages',
}

/** A run of `pages` pages at `rate` pages/s whose latencies are `latencies`. */
function run(rate: number, latencies: number[], pages = 10): CellRun {
  return { pages, wallMs: (pages * 1000) / rate, latencies, failed: 0, errors: [] }
}

/** Suite data where every cell of `id` has one run per entry of `rates`, latencies from `latency`. */
function suite(spec: Partial<Record<ContenderId, { rates: number[]; latencies: number[] }>>, pages = ['/', '/article']): SuiteData {
  const cells: Record<string, CellRun[]> = {}
  for (const [id, s] of Object.entries(spec) as Array<[ContenderId, { rates: number[]; latencies: number[] }]>) {
    for (const path of pages) {
      for (const c of [1, 4, 8]) {
        if (id === 'a-batch' && c === 1) continue
        cells[cellKey(id, path, c)] = s.rates.map((r) => run(r, s.latencies))
      }
    }
  }
  return {
    contenders: (Object.keys(spec) as ContenderId[]).map((id) => ({
      id,
      label: LABELS[id],
      method: `does ${id}`,
      isolation: `isolation of ${id}`,
      concurrencies: id === 'a-batch' ? [4, 8] : [1, 4, 8],
    })),
    pages: pages.map((path) => ({ path, what: `page ${path}`, htmlBytes: 2048, images: 0, imageBytes: 0 })),
    concurrencies: [1, 4, 8],
    cells,
    pageWorkAlone: {},
    sanity: ['`/` via (a): same sizes'],
    notes: [],
    info: {
      date: '2026-11-28T07:00:00Z',
      cores: 2,
      machine: '2 × Test CPU, 4.0 GiB RAM',
      load: '1.00 / 1.00 / 1.00 at start, 2.00 / 1.00 / 1.00 at end',
      versions: 'Node v20',
      method: 'rounds',
      rounds: 3,
      durationS: 60,
    },
  }
}

describe('suite figures', () => {
  it('takes the median of the per-round rates and pools latencies over rounds', () => {
    const f = cellFigures([run(2, [100, 300]), run(8, [200]), run(4, [400, 500])])
    expect(f.rate).toBeCloseTo(4, 9)
    expect(f.p50).toBe(300)
    expect(f.p95).toBeCloseTo(480, 9)
    expect(f.pages).toBe(30)
  })

  it('gives the machine CPU per page over every round, or NaN when a run did not measure it', () => {
    const f = cellFigures([
      { ...run(2, [100]), machineCpuMs: 3000 },
      { ...run(4, [100]), machineCpuMs: 5000 },
    ])
    expect(f.cpuPerPage).toBeCloseTo(400, 9)
    expect(Number.isNaN(cellFigures([{ ...run(2, [100]), machineCpuMs: 3000 }, run(4, [100])]).cpuPerPage)).toBe(true)
  })

  it('gives every figure as a ratio to (b) in the same cell', () => {
    const data = suite({ a: { rates: [3, 4.5, 6], latencies: [150] }, b: { rates: [5, 5, 5], latencies: [100] } })
    const a = figuresOf(data, 'a', '/article', 4)
    expect(a?.rate).toBeCloseTo(4.5, 9)
    expect(a?.vsBare.rate).toBeCloseTo(0.9, 9)
    expect(a?.vsBare.p50).toBeCloseTo(1.5, 9)
    expect(figuresOf(data, 'a-batch', '/', 4)).toBeNull()
    const alone = suite({ a: { rates: [3], latencies: [150] } })
    expect(Number.isNaN(figuresOf(alone, 'a', '/', 1)?.vsBare.rate)).toBe(true)
  })
})

describe('suite verdicts', () => {
  it('passes when (a) keeps 0.9x (b), beats both (d) and keeps the latency targets', () => {
    const data = suite({
      a: { rates: [4.6], latencies: [120] },
      b: { rates: [5], latencies: [100] },
      c: { rates: [1], latencies: [360] },
      d: { rates: [4.5], latencies: [90] },
      'd-incognito': { rates: [3], latencies: [150] },
    })
    const v = suiteVerdicts(data)
    // Per page: 3 concurrencies x (vs b, vs d, vs d-incognito) + 2 latency checks.
    expect(v).toHaveLength(2 * (3 * 3 + 2))
    expect(v.every((x) => x.pass === true)).toBe(true)
    expect(v.find((x) => x.target.includes('+ 25 ms'))?.measured).toBe('+20.0 ms')
  })

  it('fails each target on its own figure', () => {
    const data = suite({
      a: { rates: [4.4], latencies: [130] },
      b: { rates: [5], latencies: [100] },
      c: { rates: [1], latencies: [380] },
      d: { rates: [4.5], latencies: [90] },
    })
    const failed = suiteVerdicts(data)
      .filter((x) => x.pass === false)
      .map((x) => x.target)
    // 0.88x (b) at 3 concurrencies x 2 pages, below (d) likewise, +30 ms and 380/130 = 2.9x per page.
    expect(failed.filter((t) => t.includes('0.9× (b)'))).toHaveLength(6)
    expect(failed.filter((t) => t.includes('Crawlee, defaults'))).toHaveLength(6)
    expect(failed.filter((t) => t.includes('+ 25 ms'))).toHaveLength(2)
    expect(failed.filter((t) => t.includes('lower than (c)'))).toHaveLength(2)
  })

  it('says "not run" rather than pass or fail when a side is missing', () => {
    const data = suite({ a: { rates: [5], latencies: [100] } })
    expect(suiteVerdicts(data).every((x) => x.pass === null)).toBe(true)
    expect(renderSuiteMarkdown(data, 'bench/throughput.svg')).toContain('| not run |')
  })
})

describe('suite markdown', () => {
  it('states the machine, every contender with its isolation, ratios to (b), the chart and the verdicts', () => {
    const data = suite({ a: { rates: [4.5], latencies: [110] }, b: { rates: [5], latencies: [100] }, 'a-batch': { rates: [6], latencies: [200] } })
    const md = renderSuiteMarkdown(data, 'bench/throughput.svg')
    expect(md).toContain('2 × Test CPU, 4.0 GiB RAM')
    expect(md).toContain('1.00 / 1.00 / 1.00 at start')
    for (const id of ['a', 'b', 'a-batch'] as const) expect(md).toContain(`| ${LABELS[id]} | does ${id} | isolation of ${id} |`)
    expect(md).toContain('| (a) crawldeck | 4.50 (0.90×) | 110 (1.10×) | 110 (1.10×) |')
    expect(md).toContain('| (a-batch) crawldeck, 8 URLs/request | — | — | — | 6.00 (1.20×)')
    expect(md).toContain('![Pages per second by contender and concurrency](bench/throughput.svg)')
    expect(md).toContain('**PASS**')
  })
})

describe('suite CPU per page', () => {
  /** `data` with every run of `id` (every page and concurrency) given `cpuPerPage` ms of machine CPU per page. */
  function withCpu(data: SuiteData, id: ContenderId, cpuPerPage: number): SuiteData {
    for (const [key, runs] of Object.entries(data.cells)) {
      if (key.startsWith(`${id} `)) data.cells[key] = runs.map((r) => ({ ...r, machineCpuMs: cpuPerPage * r.pages }))
    }
    return data
  }

  it("tables each contender's CPU per page with its ratio to (b)", () => {
    const data = withCpu(withCpu(suite({ a: { rates: [4.5], latencies: [110] }, b: { rates: [5], latencies: [100] } }), 'a', 330), 'b', 300)
    const md = renderSuiteMarkdown(data, 'x.svg')
    expect(md).toContain('| `/article` | (a) crawldeck | 330 (1.10×) | 330 (1.10×) | 330 (1.10×) |')
    expect(md).toContain('| `/article` | (b) bare playwright-core loop | 300 (1.00×) | 300 (1.00×) | 300 (1.00×) |')
  })

  it('says where the c=1 floor of (a) lies against 3x lower than (c)', () => {
    // (a): 700 ms CPU per page on 2 cores -> no less than 350 ms per page; (c) p50 990 ms -> 330 ms needed.
    const data = withCpu(withCpu(suite({ a: { rates: [2.5], latencies: [400] }, c: { rates: [1], latencies: [990] } }), 'a', 700), 'c', 1800)
    const md = renderSuiteMarkdown(data, 'x.svg')
    expect(md).toContain(
      "`/article`: (a) used 700 ms of machine CPU per page at c=1, so one page after another on 2 cores cannot average under 350 ms per page; 3× lower than (c) (p50 990 ms, 1800 ms of CPU per page) needs 330 ms, below that floor; (a)'s p50 was 400 ms.",
    )
    // Without CPU figures there is no floor to state.
    expect(renderSuiteMarkdown(suite({ a: { rates: [2.5], latencies: [400] }, c: { rates: [1], latencies: [990] } }), 'x.svg')).not.toContain(
      'cannot average under',
    )
  })

  it('says how far below (c) the page work alone leaves room for (a)', () => {
    // (c) p50 990 ms; the page work alone 300 ms on /article (3.30x: room for 3x), 400 ms on / (2.48x: out of reach).
    const data = {
      ...suite({ a: { rates: [2.5], latencies: [400] }, c: { rates: [1], latencies: [990] } }),
      pageWorkAlone: { '/': [390, 400, 420], '/article': [280, 300, 900] },
    }
    const md = renderSuiteMarkdown(data, 'x.svg')
    expect(md).toContain(
      "- `/`: the page work alone (goto + extraction + Markdown on a page made beforehand, nothing else running, 3 times) took p50 400 ms, which (a) does and more; (c)'s p50 at c=1 (990 ms) is 2.48× that, so 3× lower than (c) is out of reach here for any pool that makes a fresh context per request.",
    )
    expect(md).toContain(
      "- `/article`: the page work alone (goto + extraction + Markdown on a page made beforehand, nothing else running, 3 times) took p50 300 ms, which (a) does and more; (c)'s p50 at c=1 (990 ms) is 3.30× that, which leaves room for 3× lower than (c) only while the pool's own work stays off the page's path.",
    )
    // Not measured (BENCH_SUITE_ALONE=0), or no (c) to compare with: no line.
    expect(renderSuiteMarkdown(suite({ a: { rates: [2.5], latencies: [400] }, c: { rates: [1], latencies: [990] } }), 'x.svg')).not.toContain(
      'the page work alone',
    )
    expect(renderSuiteMarkdown({ ...suite({ a: { rates: [2.5], latencies: [400] } }), pageWorkAlone: { '/': [400] } }, 'x.svg')).not.toContain(
      'the page work alone',
    )
  })

  it('measures the page work alone page by page, leaving a failed page out with a note', async () => {
    const notes: string[] = []
    const alone = await measureAlone(
      ['/', '/article', '/js'],
      async (path) => {
        if (path === '/article') throw new Error('page.goto: Timeout 60000ms exceeded.\nCall log: ...')
        return [path.length]
      },
      notes,
      () => undefined,
    )
    expect(alone).toEqual({ '/': [1], '/js': [3] })
    expect(notes).toEqual(['The page work alone on `/article` failed (page.goto: Timeout 60000ms exceeded.); its bound is not stated.'])
  })
})

describe('throughput chart', () => {
  it('renders an SVG with a background, every contender in the legend and one bar per measured cell', () => {
    const data = suite(
      {
        a: { rates: [4.5], latencies: [110] },
        'a-batch': { rates: [6], latencies: [200] },
        b: { rates: [5], latencies: [100] },
        d: { rates: [7.25], latencies: [90] },
      },
      ['/', '/article', '/js'],
    )
    const svg = renderThroughputChart(data)
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg).toMatch(/<rect[^>]*fill="#ffffff"/)
    for (const id of ['a', 'a-batch', 'b', 'd'] as const) expect(svg).toContain(LABELS[id])
    expect(svg).not.toContain(LABELS.c)
    // 3 pages x (3 concurrencies x 3 contenders + 2 for a-batch, which has no c=1 form).
    const bars = svg.match(/<path [^>]*ecmeta_ssr_type="chart"/g) ?? []
    expect(bars).toHaveLength(3 * (3 * 3 + 2))
    // Value labels on the bars, one decimal.
    expect(svg).toContain('>7.3</text>')
  })

  it('rounds the axis up to a readable maximum', () => {
    expect(niceCeil(12.7)).toBe(15)
    expect(niceCeil(0.42)).toBe(0.5)
    expect(niceCeil(8)).toBe(8)
    expect(niceCeil(0)).toBe(1)
  })
})

describe('closed loop', () => {
  it("runs every task once with at most `concurrency` in flight, counting a batch task's own latencies", async () => {
    let inFlight = 0
    let peak = 0
    const seen: number[] = []
    const cell = await closedLoop(
      async (i) => {
        inFlight++
        peak = Math.max(peak, inFlight)
        await new Promise((resolve) => setImmediate(resolve))
        seen.push(i)
        inFlight--
        return i % 2 === 0 ? [10, 20] : null
      },
      6,
      3,
    )
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5])
    expect(peak).toBe(3)
    // Three tasks returned two page latencies each, three counted their own wall time.
    expect(cell.pages).toBe(9)
    expect(cell.latencies.filter((l) => l === 10 || l === 20)).toHaveLength(6)
  })

  it('aborts the cell on the first failure, unless told to count failures', async () => {
    const task = async (i: number) => (i % 2 === 0 ? Promise.reject(new Error(`page ${i % 4} failed\nstack`)) : null)
    await expect(closedLoop(task, 5, 2)).rejects.toThrow('page 0 failed')
    const cell = await closedLoop(task, 7, 2, true)
    expect(cell.failed).toBe(4)
    expect(cell.pages).toBe(3)
    expect(cell.errors.sort()).toEqual(['page 0 failed', 'page 2 failed'])
  })

  it('reports failed requests per contender in the markdown', () => {
    const data = suite({ a: { rates: [4.5], latencies: [110] }, b: { rates: [5], latencies: [100] } })
    expect(renderSuiteMarkdown(data, 'x.svg')).toContain('- Failed requests: none.')
    const cell = data.cells[cellKey('a', '/article', 8)] as CellRun[]
    cell[0] = { ...(cell[0] as CellRun), failed: 2, errors: ['page_timeout'] }
    expect(renderSuiteMarkdown(data, 'x.svg')).toContain('- **Failed requests** of (a) crawldeck: 2 (60 pages succeeded): page_timeout')
  })
})

describe('docs section', () => {
  it("replaces only the suite's section, keeping the other sections and the hand-written text", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-suite-docs-'))
    try {
      const file = join(dir, 'benchmarks.md')
      await writeFile(file, `# Bench\n\nintro\n\n${SUITE_START_MARKER}\nold suite\n${SUITE_END_MARKER}\n\n<!-- bench:start -->\nissue 2\n<!-- bench:end -->\n`)
      await writeBenchSection(file, 'new suite', { start: SUITE_START_MARKER, end: SUITE_END_MARKER })
      const text = await readFile(file, 'utf8')
      expect(text).toBe(`# Bench\n\nintro\n\n${SUITE_START_MARKER}\nnew suite\n${SUITE_END_MARKER}\n\n<!-- bench:start -->\nissue 2\n<!-- bench:end -->\n`)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
