import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigSchema, type Config } from '../core/config.js'
import { urlHasCredentials } from '../core/redact.js'
import { VERSION } from '../core/version.js'

/**
 * Command-line options of the headless service. Every option is one row of OPTIONS below:
 * the parser, `--help` and the README table are all generated from it, so they cannot
 * disagree. Names, defaults and accepted values come from ConfigSchema.
 *
 * Precedence: defaults < config file (--config / CRAWLDECK_CONFIG) < environment < flags.
 */

export class OptionsError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'OptionsError'
  }
}

type Key = keyof Config

/** How a command-line or environment string becomes a config value. */
export type OptionType = 'string' | 'integer' | 'number' | 'boolean' | 'string-list'

export interface OptionSpec {
  /** The ConfigSchema key, also the config file key. */
  readonly key: Key
  /** Kebab-case flag without the leading `--`; null: config file only. */
  readonly flag: string | null
  /** Environment variables, most specific first (the first one set wins). */
  readonly env: readonly string[]
  readonly type: OptionType
  /** Placeholder of the value in --help (none for booleans). */
  readonly arg: string
  readonly help: string
  /** How a null default reads in --help and the README. */
  readonly noneLabel?: string
}

type Row = Omit<OptionSpec, 'key'>

// A Record over every ConfigSchema key: adding an option to the schema without a row here
// fails to compile.
const ROWS: Record<Key, Row> = {
  host: { flag: 'host', env: ['CRAWLDECK_HOST'], type: 'string', arg: 'HOST', help: 'Address the HTTP API listens on.' },
  port: { flag: 'port', env: ['CRAWLDECK_PORT'], type: 'integer', arg: 'PORT', help: 'TCP port of the HTTP API; 0 picks a free one.' },
  data_dir: {
    flag: 'data-dir',
    env: ['CRAWLDECK_DATA_DIR'],
    type: 'string',
    arg: 'DIR',
    help: "Directory for crawldeck's own data (monitor history in monitor.json when no Redis is set); created at start-up if missing.",
  },
  redis_url: {
    flag: 'redis-url',
    env: ['CRAWLDECK_REDIS_URL', 'REDIS_URL'],
    type: 'string',
    arg: 'URL',
    help: 'Keep monitor history in this Redis (e.g. redis://127.0.0.1:6379) instead of the data dir. If Redis goes away the service keeps serving and writes the pending history when it returns.',
    noneLabel: 'none',
  },
  redis_prefix: { flag: 'redis-prefix', env: ['CRAWLDECK_REDIS_PREFIX'], type: 'string', arg: 'PREFIX', help: 'Prefix of the Redis keys crawldeck writes (use one per instance sharing a Redis).' },
  log_level: {
    flag: 'log-level',
    env: ['CRAWLDECK_LOG_LEVEL'],
    type: 'string',
    arg: 'LEVEL',
    help: 'Least severe log level written. Logs are JSON on stderr, readable when stderr is a terminal.',
  },
  chromium: {
    flag: 'chromium',
    env: ['CRAWLDECK_CHROMIUM'],
    type: 'string',
    arg: 'PATH',
    help: 'Chromium/Chrome binary to drive; when set, the only one tried. Unset: auto-detect.',
    noneLabel: 'auto-detect',
  },
  max_pages: { flag: 'max-pages', env: ['CRAWLDECK_MAX_PAGES'], type: 'integer', arg: 'N', help: 'Most pages open at once, across all browsers.' },
  queue_size: {
    flag: 'queue-size',
    env: ['CRAWLDECK_QUEUE_SIZE'],
    type: 'integer',
    arg: 'N',
    help: 'Requests allowed to wait for a page slot; beyond this the answer is 429.',
  },
  memory_threshold_percent: {
    flag: 'memory-threshold',
    env: ['CRAWLDECK_MEMORY_THRESHOLD'],
    type: 'number',
    arg: 'PERCENT',
    help: 'No new browser is launched (503) at or above this memory use, in % of the cgroup limit or host RAM.',
  },
  idle_ttl_seconds: {
    flag: 'idle-ttl',
    env: ['CRAWLDECK_IDLE_TTL'],
    type: 'number',
    arg: 'SECONDS',
    help: 'Janitor TTL when memory is low: idle cold browsers close after this, hot ones after twice it.',
  },
  promote_after_uses: {
    flag: 'promote-after',
    env: ['CRAWLDECK_PROMOTE_AFTER'],
    type: 'integer',
    arg: 'N',
    help: 'Uses after which a cold browser becomes hot.',
  },
  retire_after_pages: {
    flag: 'retire-after-pages',
    env: ['CRAWLDECK_RETIRE_AFTER_PAGES'],
    type: 'integer',
    arg: 'N',
    help: 'Pages after which a browser is retired and replaced.',
  },
  allow_js_code: {
    flag: 'allow-js-code',
    env: ['CRAWLDECK_ALLOW_JS_CODE'],
    type: 'boolean',
    arg: '',
    help: 'Accept crawler_config.js_code, which runs arbitrary script in the page.',
  },
  max_page_timeout_ms: {
    flag: 'max-page-timeout',
    env: ['CRAWLDECK_MAX_PAGE_TIMEOUT'],
    type: 'integer',
    arg: 'MS',
    help: 'Upper bound on crawler_config.page_timeout, in milliseconds.',
  },
  body_limit_bytes: { flag: 'body-limit', env: ['CRAWLDECK_BODY_LIMIT'], type: 'integer', arg: 'BYTES', help: 'Largest JSON request body accepted, in bytes.' },
  launch_permanent: {
    flag: null,
    env: [],
    type: 'boolean',
    arg: '',
    help: 'Launch the permanent browser at start-up (config file only; turned off by some tests).',
  },
  chromium_nice: {
    flag: 'chromium-nice',
    env: ['CRAWLDECK_CHROMIUM_NICE'],
    type: 'integer',
    arg: 'N',
    help: 'CPU niceness of every browser (0-19; 0 = same priority as the service) so the API and monitor answer first under load.',
  },
  admin_tokens: {
    flag: 'admin-token',
    env: ['CRAWLDECK_ADMIN_TOKEN'],
    type: 'string-list',
    arg: 'TOKENS',
    help: 'Bearer tokens with every right, comma-separated (at least 16 characters each).',
  },
  crawl_tokens: {
    flag: 'crawl-token',
    env: ['CRAWLDECK_CRAWL_TOKEN'],
    type: 'string-list',
    arg: 'TOKENS',
    help: 'Bearer tokens that may crawl and read the monitor, comma-separated.',
  },
  read_tokens: {
    flag: 'read-token',
    env: ['CRAWLDECK_READ_TOKEN'],
    type: 'string-list',
    arg: 'TOKENS',
    help: 'Bearer tokens that may only read the monitor, /metrics and the dashboard, comma-separated.',
  },
  allowed_hosts: {
    flag: 'allowed-hosts',
    env: ['CRAWLDECK_ALLOWED_HOSTS'],
    type: 'string-list',
    arg: 'NAMES',
    help: 'Extra Host names the server answers to (comma-separated), e.g. a reverse proxy\'s name; loopback names and the bound address always work.',
  },
  cors_origins: {
    flag: 'cors-origins',
    env: ['CRAWLDECK_CORS_ORIGINS'],
    type: 'string-list',
    arg: 'ORIGINS',
    help: 'Origins allowed to call the API from a web page (CORS), comma-separated; none by default.',
  },
  trust_proxy: {
    flag: 'trust-proxy',
    env: ['CRAWLDECK_TRUST_PROXY'],
    type: 'boolean',
    arg: '',
    help: 'The service is behind a reverse proxy: the client address comes from the last X-Forwarded-For entry and https from X-Forwarded-Proto (sign-in lockout, Secure cookies). Never set it without such a proxy: clients could then claim any address.',
  },
  max_connections_per_client: {
    flag: 'max-connections-per-client',
    env: ['CRAWLDECK_MAX_CONNECTIONS_PER_CLIENT'],
    type: 'integer',
    arg: 'N',
    help: 'Open connections one connecting address may hold; further ones are closed at once. Behind a reverse proxy every connection comes from the proxy: raise it there.',
  },
  chromium_args: { flag: null, env: [], type: 'string-list', arg: '', help: 'Extra Chromium flags for every browser (config file only).' },
  monitor_completed_limit: {
    flag: 'completed-limit',
    env: ['CRAWLDECK_COMPLETED_LIMIT'],
    type: 'integer',
    arg: 'N',
    help: 'Completed requests the monitor keeps for /monitor/requests.',
  },
  block_private_targets: {
    flag: 'block-private-targets',
    env: ['CRAWLDECK_BLOCK_PRIVATE_TARGETS'],
    type: 'boolean',
    arg: '',
    help: 'Refuse private, loopback and link-local targets (SSRF defence): request URLs are checked and every browser goes through an egress proxy that also refuses redirects, subresources and names resolving there. Unset: on whenever others can reach the service, i.e. --host is not a loopback address, or any of --allowed-hosts (a reverse proxy), --cors-origins or a token is set; off only for a loopback bind without any of them. --block-private-targets=false turns it off.',
    noneLabel: 'on when others can reach the service',
  },
  private_targets_allowed: {
    flag: 'private-targets-allowed',
    env: ['CRAWLDECK_PRIVATE_TARGETS_ALLOWED'],
    type: 'string-list',
    arg: 'CIDRS',
    help: 'Networks exempt from --block-private-targets (comma-separated IPs or CIDRs, e.g. 10.20.0.0/16), to crawl an intranet on purpose.',
  },
  max_screenshot_height: {
    flag: 'max-screenshot-height',
    env: ['CRAWLDECK_MAX_SCREENSHOT_HEIGHT'],
    type: 'integer',
    arg: 'PX',
    help: 'Screenshots (full-page ones too) are clipped to this height, and to this width, in CSS pixels; a clipped result has screenshot_clipped true.',
  },
  max_capture_bytes: {
    flag: 'max-capture-bytes',
    env: ['CRAWLDECK_MAX_CAPTURE_BYTES'],
    type: 'integer',
    arg: 'BYTES',
    help: 'A URL whose result would be larger than this fails (HTTP 422, capture_too_large): a screenshot or PDF in bytes; the extracted fields together (HTML, cleaned HTML, links, images, metadata), the Markdown and js_code results in characters. Measured before anything is decoded.',
  },
  persist_interval_ms: {
    flag: 'persist-interval',
    env: ['CRAWLDECK_PERSIST_INTERVAL'],
    type: 'integer',
    arg: 'MS',
    help: 'How often monitor history is written to the store, in milliseconds (and once at shutdown).',
  },
  prewarm_pages: {
    flag: 'prewarm-pages',
    env: ['CRAWLDECK_PREWARM_PAGES'],
    type: 'integer',
    arg: 'N',
    help: 'Fresh context + page pairs kept ready per permanent or hot browser so a request skips page creation (never reused; 0 = off).',
  },
}

/** The one option table, in display order. */
export const OPTIONS: readonly OptionSpec[] = (Object.keys(ROWS) as Key[]).map((key) => ({ key, ...ROWS[key] }))

/** `--config`: not a config value itself, it says where more values come from. */
export const CONFIG_FILE_OPTION = {
  flag: 'config',
  env: ['CRAWLDECK_CONFIG'],
  arg: 'FILE',
  help: 'JSON file of options, keyed by the config file keys of this table.',
} as const

// ---------------------------------------------------------------------------------------
// What ConfigSchema accepts, read from the schema itself so messages never drift from it.

function fieldSchema(key: Key): z.ZodType {
  return ConfigSchema.shape[key]
}

function unwrapField(key: Key): { inner: z.ZodType; nullable: boolean } {
  let inner: z.ZodType = fieldSchema(key)
  let nullable = false
  for (;;) {
    if (inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType
    else if (inner instanceof z.ZodNullable) {
      nullable = true
      inner = inner.unwrap() as z.ZodType
    } else break
  }
  return { inner, nullable }
}

/** "an integer 0..65535", "one of fatal, error, ...": what a value of `key` must be. */
export function acceptedValues(key: Key, opts: { fromFile?: boolean } = {}): string {
  const { inner, nullable } = unwrapField(key)
  let text: string
  if (inner instanceof z.ZodNumber) {
    const range = inner.minValue !== null && inner.maxValue !== null ? ` ${inner.minValue}..${inner.maxValue}` : ''
    text = `${inner.isInt ? 'an integer' : 'a number'}${range}`
  } else if (inner instanceof z.ZodEnum) {
    text = `one of ${inner.options.join(', ')}`
  } else if (inner instanceof z.ZodBoolean) {
    text = opts.fromFile ? 'true or false' : 'true or false (or 1 / 0)'
  } else if (inner instanceof z.ZodString) {
    text = (inner.minLength ?? 0) > 0 ? 'a non-empty string' : 'a string'
  } else if (inner instanceof z.ZodArray) {
    text = 'a list of strings'
  } else {
    text = 'a valid value'
  }
  return nullable && opts.fromFile ? `${text} or null` : text
}

const DEFAULTS: Config = ConfigSchema.parse({})

export function defaultLabel(spec: OptionSpec): string {
  const value = DEFAULTS[spec.key]
  if (value === null) return spec.noneLabel ?? 'none'
  if (Array.isArray(value)) return JSON.stringify(value)
  return String(value)
}

// ---------------------------------------------------------------------------------------
// Help text, README table.

function flagUsage(flag: string, arg: string): string {
  return arg ? `--${flag} ${arg}` : `--${flag}`
}

export function helpText(): string {
  const accepts = (spec: OptionSpec): string => `${spec.help} Accepts ${acceptedValues(spec.key)}.`
  const rows: Array<[string, string, string, string, string]> = [
    [flagUsage(CONFIG_FILE_OPTION.flag, CONFIG_FILE_OPTION.arg), CONFIG_FILE_OPTION.env.join(', '), '-', 'none', CONFIG_FILE_OPTION.help],
    ...OPTIONS.filter((s) => s.flag !== null).map(
      (spec): [string, string, string, string, string] => [
        flagUsage(spec.flag as string, spec.arg),
        spec.env.join(', '),
        spec.key,
        `default ${defaultLabel(spec)}`,
        accepts(spec),
      ],
    ),
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
export const OPTIONS_TABLE_START = '<!-- options-table: generated from src/main/cli/options.ts by scripts/options-table.ts; do not edit by hand -->'
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
    lines.push(`| ${flag} | ${env} | ${code(spec.key)} | ${def} | ${spec.help.replaceAll('|', '\\|')} Accepts ${acceptedValues(spec.key, { fromFile: spec.flag === null })}. |`)
  }
  return lines.join('\n') + '\n'
}

// ---------------------------------------------------------------------------------------
// Parsing.

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
const SECRET_KEYS = new Set<Key>(['admin_tokens', 'crawl_tokens', 'read_tokens'])
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
      throw new OptionsError(`config file ${file}: ${key} must be ${acceptedValues(spec.key, { fromFile: true })}, got ${oneLine(JSON.stringify(value) ?? String(value))}`)
    }
    out[key] = value
  }
  return out
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'part of the path is a file, not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EEXIST: 'already exists',
}

/** `ENOENT (no such file)` for a node system error; the first line of the message otherwise. */
export function errnoText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    const text = ERRNO_TEXT[code]
    return text ? `${code} (${text})` : code
  }
  return oneLine(err instanceof Error ? err.message : String(err))
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
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
