import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

// One direction only: benchmarks may use the tests' fixtures (tests/helpers, tests/ui/feed-server.ts),
// but neither the tests nor the product import anything from bench/. Bench's own tests live here.

const root = join(import.meta.dirname, '../..')

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path))
    else if (/\.(ts|mts|vue|mjs)$/.test(name)) out.push(path)
  }
  return out
}

const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? '')

describe('bench/ and the rest', () => {
  it('nothing under tests/ or src/ imports from bench/', () => {
    const offenders: string[] = []
    for (const dir of ['tests', 'src']) {
      for (const file of sourceFiles(join(root, dir))) {
        for (const spec of importsOf(file)) if (/(^|\/)bench\//.test(spec)) offenders.push(`${relative(root, file)} imports ${spec}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('the scanner sees a real import from bench/ (guards the check above)', () => {
    expect(importsOf(join(root, 'bench/tests/entry.test.ts'))).toContain('../benches.js')
    expect(importsOf(join(root, 'bench/run.ts')).some((s) => s.includes('tests/helpers/fixture-server'))).toBe(true)
  })
})
