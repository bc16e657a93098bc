/*
 * The option table as people read it: the `--help` text and the README's options table, both
 * generated from OPTIONS (option-table.ts).
 */
import { VERSION } from '../core/version.js'
import { acceptedValues, CONFIG_FILE_OPTION, DEFAULTS, defaultLabel, OPTIONS, type OptionSpec } from './option-table.js'

function flagUsage(flag: string, arg: string): string {
  return arg ? `--${flag} ${arg}` : `--${flag}`
}

/** `--help`: every option with its flag, environment variable, config file key, default and accepted values. */
export function helpText(): string {
  const accepts = (spec: OptionSpec): string => `${spec.help} Accepts ${acceptedValues(spec.key)}.`
  const rows: Array<[string, string, string, string, string]> = [
    [flagUsage(CONFIG_FILE_OPTION.flag, CONFIG_FILE_OPTION.arg), CONFIG_FILE_OPTION.env.join(', '), '-', 'none', CONFIG_FILE_OPTION.help],
    ...OPTIONS.filter((s) => s.flag !== null).map((spec): [string, string, string, string, string] => [
      flagUsage(spec.flag as string, spec.arg),
      spec.env.join(', '),
      spec.key,
      `default ${defaultLabel(spec)}`,
      accepts(spec),
    ]),
  ]
  const width = (i: number): number => Math.max(...rows.map((r) => r[i]?.length ?? 0)) + 2
  const [w0, w1, w2] = [width(0), width(1), width(2)]
  const lines: string[] = [
    `crawldeck ${VERSION}: a pool of headless Chromium browsers behind a crawl API.`,
    '',
    'Usage: npm run serve -- [options]',
    '',
    'Options (flag, environment variable, config file key, default):',
  ]
  for (const [flag, env, key, def, help] of rows) {
    lines.push(`  ${flag.padEnd(w0)}${env.padEnd(w1)}${key.padEnd(w2)}${def}`)
    lines.push(`      ${help}`)
  }
  lines.push(`  ${'--help, -h'.padEnd(w0)}Print this help and exit.`)
  lines.push(`  ${'--version'.padEnd(w0)}Print the version and exit.`)
  lines.push('', 'Config file only (no flag or environment variable):')
  for (const spec of OPTIONS.filter((s) => s.flag === null)) {
    lines.push(`  ${spec.key.padEnd(w0)}default ${defaultLabel(spec)}`)
    lines.push(`      ${spec.help} Accepts ${acceptedValues(spec.key, { fromFile: true })}.`)
  }
  lines.push(
    '',
    'Precedence: defaults < config file < environment < flags. "--flag value" and "--flag=value" both work;',
    'a boolean flag alone means true ("--allow-js-code=false" turns it off). Empty environment variables are ignored.',
    'The config file is a JSON object of config file keys, e.g. {"port": 8080, "allow_js_code": true}.',
    'Relative paths (config file, data dir, Chromium) are resolved from the working directory.',
  )
  return lines.join('\n') + '\n'
}

/** The README's options table sits between these two lines; `npx tsx scripts/options-table.ts --write` rewrites it. */
export const OPTIONS_TABLE_START = '<!-- options-table: generated from src/main/cli/option-table.ts by scripts/options-table.ts; do not edit by hand -->'
export const OPTIONS_TABLE_END = '<!-- /options-table -->'

/** The README's options table (scripts/options-table.ts prints it; a test keeps the README equal). */
export function optionsMarkdownTable(): string {
  const code = (s: string): string => `\`${s}\``
  const lines = ['| Flag | Environment | Config file key | Default | Meaning |', '|---|---|---|---|---|']
  lines.push(
    `| ${code(flagUsage(CONFIG_FILE_OPTION.flag, CONFIG_FILE_OPTION.arg))} | ${CONFIG_FILE_OPTION.env.map(code).join(', ')} | - | none | ${CONFIG_FILE_OPTION.help} |`,
  )
  // Options with a flag first, config-file-only ones last, as in --help.
  for (const spec of [...OPTIONS.filter((o) => o.flag !== null), ...OPTIONS.filter((o) => o.flag === null)]) {
    const flag = spec.flag === null ? 'config file only' : code(flagUsage(spec.flag, spec.arg))
    const env = spec.env.length === 0 ? '-' : spec.env.map(code).join(', ')
    const def = DEFAULTS[spec.key] === null ? defaultLabel(spec) : code(defaultLabel(spec))
    lines.push(
      `| ${flag} | ${env} | ${code(spec.key)} | ${def} | ${spec.help.replaceAll('|', '\\|')} Accepts ${acceptedValues(spec.key, { fromFile: spec.flag === null })}. |`,
    )
  }
  return lines.join('\n') + '\n'
}
