/**
 * Prints docs/compat.md's parameter tables, generated from src/shared/crawl4ai/param-tables.ts.
 * `--write` replaces them in docs/compat.md in place.
 *
 *   npx tsx scripts/compat-table.ts           # print them
 *   npx tsx scripts/compat-table.ts --write   # update docs/compat.md
 *
 * tests/compat-doc.test.ts fails when the doc's tables differ from this output.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { PARAMS_DOC_END, PARAMS_DOC_START, paramMarkdownTables } from '../src/shared/crawl4ai/param-doc.js'

const tables = paramMarkdownTables()

if (process.argv.includes('--write')) {
  const docPath = fileURLToPath(new URL('../docs/compat.md', import.meta.url))
  const doc = readFileSync(docPath, 'utf8')
  const start = doc.indexOf(PARAMS_DOC_START)
  const end = doc.indexOf(PARAMS_DOC_END)
  if (start === -1 || end === -1 || end < start) {
    process.stderr.write(`docs/compat.md has no parameter table markers; add these two lines where they belong:\n${PARAMS_DOC_START}\n${PARAMS_DOC_END}\n`)
    process.exit(1)
  }
  const updated = `${doc.slice(0, start)}${PARAMS_DOC_START}\n\n${tables}\n${doc.slice(end)}`
  writeFileSync(docPath, updated)
  process.stderr.write(updated === doc ? 'docs/compat.md parameter tables already up to date\n' : 'docs/compat.md parameter tables updated\n')
} else {
  process.stdout.write(tables)
}
