/*
 * The command line, the environment and the config file turned into one Config, each value
 * checked on its own with a message that names where it came from.
 *
 * Precedence: defaults < config file (--config / CRAWLDECK_CONFIG) < environment < flags.
 */
import { readFileSync } from 'node:fs'
import { ConfigSchema, type Config } from '../core/config.js'
import { urlHasCredentials } from '../core/redact.js'
import { VERSION } from '../core/version.js'
import { errnoText, oneLine } from './errno-text.js'
import { helpText } from './help.js'
import { acceptedValues, CONFIG_FILE_OPTION, fieldSchema, OPTIONS, type OptionSpec } from './option-table.js'

/** A mistake in the options, said so that it can be fixed: serve.ts prints it as one line (fatal.ts). */
export class OptionsError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OptionsError'
  }
}

type Key = keyof Config

export type ParsedOptions =
  | { kind: 'help'; text: string }
  | { kind: 'version'; text: string }
  | {
      kind: 'run'
      config: Config
      configFile: string | null
      /** Flags that carried a secret (a token, a URL with a password): any local user can read them in a process listing. */
      exposedSecrets: string[]
    }

const BY_FLAG = new Map(OPTIONS.filter((s) => s.flag !== null).map((s) => [s.flag as string, s]))
const BY_KEY = new Map(OPTIONS.map((s) => [s.key as string, s]))

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedOptions {
  // Help and version win over everything else on the line, including mistakes.
  for (const arg of argv) {
    if (arg === '--') break
    if (arg === '--help' || arg === '-h') return { kind: 'help', text: helpText() }
    if (arg === '--version') return { kind: 'version', text: `crawldeck ${VERSION}\n` }
  }

  const flags = parseArgv(argv)
  const configFile = flags.configFile ?? nonEmpty(env[CONFIG_FILE_OPTION.env[0]]) ?? null

  const input: Record<string, unknown> = {}
  if (configFile !== null) Object.assign(input, readConfigFile(configFile))

  for (const spec of OPTIONS) {
    for (const name of spec.env) {
      const raw = nonEmpty(env[name])
      if (raw === null) continue
      input[spec.key] = convert(spec, raw, name)
      break
    }
  }
  for (const [spec, raw, source] of flags.values) input[spec.key] = convert(spec, raw, source)

  const result = ConfigSchema.safeParse(input)
  if (!result.success) {
    // Each value was checked on its own above; this only catches rules across fields.
    const issue = result.error.issues[0]
    throw new OptionsError(`invalid configuration: ${issue ? `${issue.path.join('.') || 'options'}: ${issue.message}` : 'rejected'} (see --help)`)
  }
  const exposedSecrets = flags.values.filter(([spec, raw]) => carriesSecret(spec.key, raw)).map(([, , flag]) => flag)
  return { kind: 'run', config: result.data, configFile, exposedSecrets: [...new Set(exposedSecrets)] }
}

/** Options whose value is a secret whatever it is, and those that are one when they hold credentials. */
const SECRET_KEYS = new Set<Key>(['admin_tokens', 'crawl_tokens', 'read_tokens', 'webhook_secret'])
const URL_KEYS = new Set<Key>(['redis_url'])

function carriesSecret(key: Key, raw: string): boolean {
  return SECRET_KEYS.has(key) || (URL_KEYS.has(key) && urlHasCredentials(raw))
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value
}

interface ParsedArgv {
  configFile: string | null
  values: Array<[OptionSpec, string, string]>
}

function parseArgv(argv: readonly string[]): ParsedArgv {
  const out: ParsedArgv = { configFile: null, values: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--') {
      const rest = argv[i + 1]
      if (rest === undefined) continue
      throw unexpectedArgument(rest)
    }
    if (!arg.startsWith('-') || arg === '-') throw unexpectedArgument(arg)
    if (!arg.startsWith('--')) throw new OptionsError(unknownOption(arg))
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    const inline = eq === -1 ? null : arg.slice(eq + 1)
    const spec = BY_FLAG.get(name)
    if (name !== CONFIG_FILE_OPTION.flag && spec === undefined) throw new OptionsError(unknownOption(`--${name}`))

    let value: string
    if (spec?.type === 'boolean') {
      value = inline ?? 'true'
    } else if (inline !== null) {
      value = inline
    } else {
      const next = argv[i + 1]
      if (next === undefined || next.startsWith('--')) {
        const arg = spec ? spec.arg : CONFIG_FILE_OPTION.arg
        throw new OptionsError(`--${name} needs a value: --${name} ${arg} or --${name}=${arg} (see --help)`)
      }
      value = next
      i++
    }
    if (spec === undefined) {
      if (value === '') throw new OptionsError('--config needs a file name (see --help)')
      out.configFile = value
    } else {
      out.values.push([spec, value, `--${name}`])
    }
  }
  return out
}

function unexpectedArgument(arg: string): OptionsError {
  return new OptionsError(`unexpected argument ${JSON.stringify(arg)}: options start with -- (see --help)`)
}

function unknownOption(arg: string): string {
  const known = ['help', 'version', CONFIG_FILE_OPTION.flag, ...BY_FLAG.keys()]
  const guess = closest(arg.replace(/^-+/, ''), known)
  return `unknown option ${arg} (${guess ? `did you mean --${guess}? ` : ''}see --help)`
}

/** Turns one string from a flag or the environment into a value ConfigSchema accepts. */
function convert(spec: OptionSpec, raw: string, source: string): unknown {
  const bad = (): OptionsError => new OptionsError(`${source} must be ${acceptedValues(spec.key)}, got ${JSON.stringify(raw)}`)
  let value: unknown
  switch (spec.type) {
    case 'integer':
      if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw bad()
      value = Number(raw)
      break
    case 'number':
      if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(raw)) throw bad()
      value = Number(raw)
      break
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (['true', '1', 'yes', 'on'].includes(v)) value = true
      else if (['false', '0', 'no', 'off'].includes(v)) value = false
      else throw bad()
      break
    }
    case 'string':
      value = raw
      break
    case 'string-list':
      // Comma- or whitespace-separated, as in CRAWLDECK_ALLOWED_HOSTS=a.example,b.example.
      value = raw.split(/[\s,]+/).filter(Boolean)
      break
  }
  if (!fieldSchema(spec.key).safeParse(value).success) throw bad()
  return value
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new OptionsError(`cannot read config file ${file}: ${errnoText(err)}; fix the path given with --config or CRAWLDECK_CONFIG`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw new OptionsError(`config file ${file} is not valid JSON: ${oneLine(err instanceof Error ? err.message : String(err))}`)
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const got = data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data
    throw new OptionsError(`config file ${file} must hold a JSON object of options, e.g. {"port": 8080}; got ${got}`)
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(data)) {
    const spec = BY_KEY.get(key)
    if (spec === undefined) {
      const guess = closest(key, [...BY_KEY.keys()])
      throw new OptionsError(`config file ${file}: unknown key ${JSON.stringify(key)}${guess ? ` (did you mean "${guess}"?)` : ''}; keys are listed in --help`)
    }
    if (!fieldSchema(spec.key).safeParse(value).success) {
      throw new OptionsError(
        `config file ${file}: ${key} must be ${acceptedValues(spec.key, { fromFile: true })}, got ${oneLine(JSON.stringify(value) ?? String(value))}`,
      )
    }
    out[key] = value
  }
  return out
}

/** The nearest known name within two edits, for "did you mean". */
function closest(name: string, known: readonly string[]): string | null {
  let best: string | null = null
  let bestDistance = 3
  for (const candidate of known) {
    const d = editDistance(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1))
    }
    prev = cur
  }
  return prev[b.length] as number
}
