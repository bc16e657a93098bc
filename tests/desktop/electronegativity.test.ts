import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

/*
 * scripts/electronegativity.mjs (npm run lint:electron): its verdict logic on samples, and the
 * real scan on a deliberately insecure fixture and on our own sources with the committed waivers.
 */

interface Finding {
  id: string
  file: string
  line: number
  column: number
  severity: string
  confidence: string
  description: string
}
interface Waiver {
  check: string
  file: string
  reason: string
}
interface Verdict {
  ok: boolean
  unwaived: Finding[]
  waived: Array<{ finding: Finding; waiver: Waiver }>
  stale: Waiver[]
}
interface EngScript {
  parseWaivers(value: unknown): Waiver[]
  evaluateFindings(findings: Finding[], waivers: Waiver[]): Verdict
  scan(dir: string): Promise<{ findings: Finding[]; parseErrors: Array<{ file: string; message: string }> }>
}

const root = join(import.meta.dirname, '../..')
const script = (await import(join(root, 'scripts/electronegativity.mjs') as string)) as EngScript

const finding = (id: string, file: string): Finding => ({ id, file, line: 3, column: 4, severity: 'MEDIUM', confidence: 'FIRM', description: id })
const waiver = (check: string, file: string): Waiver => ({ check, file, reason: 'reviewed: this is why it is acceptable here' })

describe('electronegativity verdict', () => {
  it('fails on a finding that is not waived', () => {
    const verdict = script.evaluateFindings(
      [finding('PRELOAD_JS_CHECK', 'src/main/desktop/main-window.ts'), finding('NODE_INTEGRATION_JS_CHECK', 'src/main/desktop/main-window.ts')],
      [waiver('PRELOAD_JS_CHECK', 'src/main/desktop/main-window.ts')],
    )
    expect(verdict.ok).toBe(false)
    expect(verdict.unwaived.map((f) => f.id)).toEqual(['NODE_INTEGRATION_JS_CHECK'])
  })

  it('passes when every finding is waived', () => {
    const verdict = script.evaluateFindings(
      [finding('PRELOAD_JS_CHECK', 'src/main/desktop/main-window.ts'), finding('CSP_GLOBAL_CHECK', 'src/renderer/index.html')],
      [waiver('PRELOAD_JS_CHECK', 'src/main/desktop/main-window.ts'), waiver('CSP_GLOBAL_CHECK', 'src/renderer/index.html')],
    )
    expect(verdict).toMatchObject({ ok: true, unwaived: [], stale: [] })
    expect(verdict.waived).toHaveLength(2)
  })

  it('a waiver covers one check in one file only, and one that matches nothing fails the run', () => {
    const verdict = script.evaluateFindings([finding('PRELOAD_JS_CHECK', 'src/main/other.ts')], [waiver('PRELOAD_JS_CHECK', 'src/main/desktop/main-window.ts')])
    expect(verdict.ok).toBe(false)
    expect(verdict.unwaived).toHaveLength(1)
    expect(verdict.stale).toHaveLength(1)
  })

  it('refuses blanket or unexplained waivers', () => {
    expect(() => script.parseWaivers({})).toThrow(/array/)
    expect(() => script.parseWaivers([{ check: '*', file: 'src/a.ts', reason: 'reviewed: fine for every check' }])).toThrow(/check/)
    expect(() => script.parseWaivers([{ check: 'PRELOAD_JS_CHECK', file: 'src/**', reason: 'reviewed: fine for every file' }])).toThrow(/file/)
    expect(() => script.parseWaivers([{ check: 'PRELOAD_JS_CHECK', file: 'src/main/', reason: 'reviewed: fine for a directory' }])).toThrow(/file/)
    expect(() => script.parseWaivers([{ check: 'PRELOAD_JS_CHECK', file: 'src/a.ts', reason: 'ok' }])).toThrow(/reason/)
    expect(() => script.parseWaivers([{ check: 'PRELOAD_JS_CHECK', file: 'src/a.ts' }])).toThrow(/reason/)
  })

  it('the committed waivers are well-formed', () => {
    const waivers = script.parseWaivers(JSON.parse(readFileSync(join(root, 'electronegativity-waivers.json'), 'utf8')))
    expect(waivers.length).toBeGreaterThan(0)
  })
})

describe('electronegativity scan (the real tool)', () => {
  it('catches an insecure window', async () => {
    const result = await script.scan(join(root, 'tests/desktop/fixtures/insecure-app'))
    const ids = result.findings.map((f) => f.id)
    for (const id of ['CONTEXT_ISOLATION_JS_CHECK', 'SANDBOX_JS_CHECK', 'WEB_SECURITY_JS_CHECK', 'HTTP_RESOURCES_JS_CHECK', 'LIMIT_NAVIGATION_GLOBAL_CHECK'])
      expect(ids).toContain(id)
    expect(result.findings.find((f) => f.id === 'CONTEXT_ISOLATION_JS_CHECK')?.file).toBe('tests/desktop/fixtures/insecure-app/main.js')
    expect(script.evaluateFindings(result.findings, []).ok).toBe(false)
  }, 120_000)

  it('our sources have no finding that is not waived, and no stale waiver', async () => {
    const result = await script.scan(join(root, 'src'))
    expect(result.parseErrors).toEqual([])
    const waivers = script.parseWaivers(JSON.parse(readFileSync(join(root, 'electronegativity-waivers.json'), 'utf8')))
    const verdict = script.evaluateFindings(result.findings, waivers)
    expect(verdict.unwaived).toEqual([])
    expect(verdict.stale).toEqual([])
  }, 120_000)
})
