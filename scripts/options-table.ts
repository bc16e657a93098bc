/**
 * Prints the README's options table, generated from the one option table in
 * src/main/cli/option-table.ts. `--write` replaces the table in README.md in place.
 *
 *   npx tsx scripts/options-table.ts           # print it
 *   npx tsx scripts/options-table.ts --write   # update README.md
 *
 * tests/cli-options.test.ts fails when the README's table differs from this output.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { OPTIONS_TABLE_END, OPTIONS_TABLE_START, optionsMarkdownTable } from '../src/main/cli/options.js'

const table = optionsMarkdownTable()

if (process.argv.includes('--write')) {
  const readmePath = fileURLToPath(new URL('../README.md', import.meta.url))
  const readme = readFileSync(readmePath, 'utf8')
  const start = readme.indexOf(OPTIONS_TABLE_START)
  const end = readme.indexOf(OPTIONS_TABLE_END)
  if (start === -1 || end === -1 || end < start) {
    process.stderr.write(`README.md has no options table markers; add these two lines where it belongs:\n${OPTIONS_TABLE_START}\n${OPTIONS_TABLE_END}\n`)
    process.exit(1)
  }
  const updated = `${readme.slice(0, start)}${OPTIONS_TABLE_START}\n${table}${readme.slice(end)}`
  writeFileSync(readmePath, updated)
  process.stderr.write(updated === readme ? 'README.md options table already up to date\n' : 'README.md options table updated\n')
} else {
  process.stdout.write(table)
}
