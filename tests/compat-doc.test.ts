import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { PARAMS_DOC_END, PARAMS_DOC_START, paramMarkdownTables } from '../src/shared/crawl4ai/param-doc.js'

const ROOT = path.resolve(import.meta.dirname, '..')

describe('docs/compat.md', () => {
  const doc = readFileSync(path.join(ROOT, 'docs/compat.md'), 'utf8')

  it('holds the parameter tables as the code has them (npx tsx scripts/compat-table.ts --write)', () => {
    const start = doc.indexOf(PARAMS_DOC_START)
    const end = doc.indexOf(PARAMS_DOC_END)
    expect(start, 'parameter table start marker').toBeGreaterThan(-1)
    expect(end, 'parameter table end marker').toBeGreaterThan(start)
    expect(doc.slice(start + PARAMS_DOC_START.length, end).trim()).toBe(paramMarkdownTables().trim())
  })

  it('is linked from the README', () => {
    expect(readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain('docs/compat.md')
  })
})
