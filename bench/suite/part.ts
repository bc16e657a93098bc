import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, relative } from 'node:path'
import { startFixtureServer, type FixtureServer } from '../../tests/helpers/fixture-server.js'
import { writeBenchSection } from '../docs-file.js'
import { startBenchService, type BenchService } from '../service-client.js'
import { renderThroughputChart } from './chart.js'
import { renderSuiteMarkdown } from './markdown.js'
import { runSuite, type SuiteOptions } from './run-suite.js'
import { suiteVerdicts } from './table.js'

export const SUITE_START_MARKER = '<!-- bench-suite:start -->'
export const SUITE_END_MARKER = '<!-- bench-suite:end -->'

export interface SuitePartOptions extends Omit<SuiteOptions, 'fixture' | 'service'> {
  docsFile: string
  chartFile: string
  /** False: print only, leave docs/ alone. */
  write: boolean
}

/**
 * `npm run bench`'s first part (the throughput suite): its own fixture site and crawldeck service (so
 * the parts after it start from a fresh pool), the rounds, then the markdown section and
 * the chart image. Returns the markdown (also printed by the caller).
 */
export async function runSuitePart(opts: SuitePartOptions): Promise<string> {
  const { log } = opts
  let fixture: FixtureServer | null = null
  let service: BenchService | null = null
  let markdown: string
  let svg: string
  try {
    fixture = await startFixtureServer()
    service = await startBenchService()
    log(`suite: fixture site at ${fixture.origin}, crawldeck at ${service.url}`)
    const relaunchesBefore = service.relaunches()
    const data = await runSuite({ ...opts, fixture, service })
    data.notes.push(
      `crawldeck's browser relaunches during the suite: ${service.relaunches() - relaunchesBefore} (the permanent browser is recycled after retire_after_pages, 500 by default; ` +
        'Crawlee retires its browser after 100 pages by default, and both count in their figures).',
    )
    markdown = renderSuiteMarkdown(data, relative(dirname(opts.docsFile), opts.chartFile))
    svg = renderThroughputChart(data)
    for (const v of suiteVerdicts(data))
      log(`suite: ${v.target}, ${v.page} c=${v.concurrency}: ${v.measured} -> ${v.pass === null ? 'not run' : v.pass ? 'PASS' : 'FAIL'}`)
  } finally {
    if (service) await service.close().catch((err) => log(`closing crawldeck failed: ${String(err)}`))
    if (fixture) await fixture.close().catch((err) => log(`closing the fixture server failed: ${String(err)}`))
  }
  if (opts.write) {
    await mkdir(dirname(opts.chartFile), { recursive: true })
    await writeFile(opts.chartFile, svg)
    await writeBenchSection(opts.docsFile, markdown, { start: SUITE_START_MARKER, end: SUITE_END_MARKER })
    log(`suite: wrote ${opts.chartFile} and its section of ${opts.docsFile}`)
  }
  return markdown
}
