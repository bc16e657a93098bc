import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { DataDirError, describeFatal, ensureDataDir, isExpectedFatal } from '../src/main/cli/fatal.js'
import {
  CONFIG_FILE_OPTION,
  OPTIONS,
  OPTIONS_TABLE_END,
  OPTIONS_TABLE_START,
  OptionsError,
  defaultLabel,
  helpText,
  optionsMarkdownTable,
  parseOptions,
} from '../src/main/cli/options.js'
import { ChromiumNotFoundError } from '../src/main/core/chromium/locate.js'
import { ConfigSchema, type Config } from '../src/main/core/config.js'
import { BrowserLaunchError, MemoryPressureError } from '../src/main/core/errors.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const tmp = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

let fileCounter = 0
function configFile(content: unknown): string {
  const file = path.join(tmp, `config-${++fileCounter}.json`)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const parsed = parseOptions(argv, env)
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`)
  return parsed.config
}

/** The OptionsError message parseOptions throws; fails the test when it does not throw one. */
function optionsError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseOptions(argv, env)
  } catch (err) {
    expect(err).toBeInstanceOf(OptionsError)
    const message = (err as Error).message
    expect(message).not.toContain('\n')
    return message
  }
  throw new Error(`parseOptions(${JSON.stringify(argv)}) did not throw`)
}

describe('parseOptions: values and precedence', () => {
  it('gives ConfigSchema defaults with no flags, no environment and no config file', () => {
    const parsed = parseOptions([], {})
    expect(parsed).toEqual({ kind: 'run', config: ConfigSchema.parse({}), configFile: null, exposedSecrets: [] })
    const config = run([])
    expect(config.host).toBe('127.0.0.1')
    expect(config.port).toBe(11235)
    expect(config.data_dir).toBe('./.crawldeck')
  })

  it('merges defaults < config file < environment < flags', () => {
    const file = configFile({ host: '0.0.0.0', port: 1000, max_pages: 2, queue_size: 5, chromium_args: ['--lang=fr'] })
    const config = run(['--config', file, '--port', '3000'], { CRAWLDECK_PORT: '2000', CRAWLDECK_MAX_PAGES: '3' })
    expect(config.port).toBe(3000) // flag beats env and file
    expect(config.max_pages).toBe(3) // env beats file
    expect(config.host).toBe('0.0.0.0') // file beats default
    expect(config.queue_size).toBe(5)
    expect(config.chromium_args).toEqual(['--lang=fr'])
    expect(config.idle_ttl_seconds).toBe(300) // default
    expect(parseOptions(['--config', file], {})).toMatchObject({ configFile: file })
  })

  it('reads the config file named by CRAWLDECK_CONFIG; --config wins over it', () => {
    const fromEnv = configFile({ port: 4001 })
    const fromFlag = configFile({ port: 4002 })
    expect(run([], { CRAWLDECK_CONFIG: fromEnv }).port).toBe(4001)
    expect(run(['--config', fromFlag], { CRAWLDECK_CONFIG: fromEnv }).port).toBe(4002)
  })

  it('accepts --flag=value as well as --flag value', () => {
    const config = run(['--port=8080', '--host=0.0.0.0', '--data-dir=/tmp/x=y', '--memory-threshold=80.5', '--log-level', 'debug'])
    expect(config).toMatchObject({ port: 8080, host: '0.0.0.0', data_dir: '/tmp/x=y', memory_threshold_percent: 80.5, log_level: 'debug' })
    const file = configFile({ port: 4003 })
    expect(run([`--config=${file}`]).port).toBe(4003)
  })

  it('parses every flag into its config key', () => {
    const config = run([
      '--host',
      '::1',
      '--port',
      '0',
      '--data-dir',
      'data',
      '--redis-url',
      'redis://127.0.0.1:6380/2',
      '--redis-prefix',
      'x:',
      '--log-level',
      'warn',
      '--chromium',
      '/opt/chrome',
      '--max-pages',
      '16',
      '--queue-size',
      '0',
      '--memory-threshold',
      '90',
      '--idle-ttl',
      '12.5',
      '--promote-after',
      '5',
      '--retire-after-pages',
      '42',
      '--allow-js-code',
      '--max-page-timeout',
      '5000',
      '--body-limit',
      '2048',
    ])
    expect(config).toEqual({
      ...ConfigSchema.parse({}),
      host: '::1',
      port: 0,
      data_dir: 'data',
      redis_url: 'redis://127.0.0.1:6380/2',
      redis_prefix: 'x:',
      log_level: 'warn',
      chromium: '/opt/chrome',
      max_pages: 16,
      queue_size: 0,
      memory_threshold_percent: 90,
      idle_ttl_seconds: 12.5,
      promote_after_uses: 5,
      retire_after_pages: 42,
      allow_js_code: true,
      max_page_timeout_ms: 5000,
      body_limit_bytes: 2048,
    })
  })

  it('reads every environment variable into its config key', () => {
    const cases: Array<[string, string, keyof Config, unknown]> = [
      ['CRAWLDECK_HOST', '0.0.0.0', 'host', '0.0.0.0'],
      ['CRAWLDECK_PORT', '8081', 'port', 8081],
      ['CRAWLDECK_DATA_DIR', '/var/lib/crawldeck', 'data_dir', '/var/lib/crawldeck'],
      ['REDIS_URL', 'redis://a:1', 'redis_url', 'redis://a:1'],
      ['CRAWLDECK_REDIS_URL', 'redis://b:2', 'redis_url', 'redis://b:2'],
      ['CRAWLDECK_REDIS_PREFIX', 'p:', 'redis_prefix', 'p:'],
      ['CRAWLDECK_LOG_LEVEL', 'error', 'log_level', 'error'],
      ['CRAWLDECK_CHROMIUM', '/opt/chrome', 'chromium', '/opt/chrome'],
      ['CRAWLDECK_MAX_PAGES', '4', 'max_pages', 4],
      ['CRAWLDECK_QUEUE_SIZE', '9', 'queue_size', 9],
      ['CRAWLDECK_MEMORY_THRESHOLD', '70', 'memory_threshold_percent', 70],
      ['CRAWLDECK_IDLE_TTL', '0', 'idle_ttl_seconds', 0],
      ['CRAWLDECK_PROMOTE_AFTER', '2', 'promote_after_uses', 2],
      ['CRAWLDECK_RETIRE_AFTER_PAGES', '7', 'retire_after_pages', 7],
      ['CRAWLDECK_ALLOW_JS_CODE', 'true', 'allow_js_code', true],
      ['CRAWLDECK_ALLOW_JS_CODE', '1', 'allow_js_code', true],
      ['CRAWLDECK_MAX_PAGE_TIMEOUT', '30000', 'max_page_timeout_ms', 30000],
      ['CRAWLDECK_BODY_LIMIT', '4096', 'body_limit_bytes', 4096],
    ]
    for (const [name, value, key, expected] of cases) {
      expect(run([], { [name]: value })[key], name).toEqual(expected)
    }
  })

  it('prefers CRAWLDECK_REDIS_URL over REDIS_URL, and ignores empty variables', () => {
    expect(run([], { REDIS_URL: 'redis://generic:1', CRAWLDECK_REDIS_URL: 'redis://mine:2' }).redis_url).toBe('redis://mine:2')
    expect(run([], { REDIS_URL: 'redis://generic:1', CRAWLDECK_REDIS_URL: '' }).redis_url).toBe('redis://generic:1')
    expect(run([], { CRAWLDECK_PORT: '', CRAWLDECK_HOST: '' })).toEqual(ConfigSchema.parse({}))
  })

  it('takes booleans as a bare flag, --flag=true/false, or true/false/1/0 in the environment', () => {
    expect(run(['--allow-js-code']).allow_js_code).toBe(true)
    expect(run(['--allow-js-code=false']).allow_js_code).toBe(false)
    expect(run(['--allow-js-code=false'], { CRAWLDECK_ALLOW_JS_CODE: 'true' }).allow_js_code).toBe(false)
    expect(run([], { CRAWLDECK_ALLOW_JS_CODE: '0' }).allow_js_code).toBe(false)
    expect(run(['--config', configFile({ allow_js_code: true, launch_permanent: false })])).toMatchObject({ allow_js_code: true, launch_permanent: false })
  })

  it('lets a config file set nullable options to null', () => {
    expect(run(['--config', configFile({ redis_url: null, chromium: null })])).toMatchObject({ redis_url: null, chromium: null })
  })
})

describe('parseOptions: mistakes get one line that says what to do', () => {
  it('unknown flags', () => {
    expect(optionsError(['--prot', '1'])).toBe('unknown option --prot (did you mean --port? see --help)')
    expect(optionsError(['--frobnicate'])).toBe('unknown option --frobnicate (see --help)')
    expect(optionsError(['-p', '1'])).toBe('unknown option -p (see --help)')
    expect(optionsError(['serve'])).toContain('unexpected argument "serve"')
  })

  it('bad values from flags and the environment name their source and the accepted range', () => {
    expect(optionsError(['--port', 'abc'])).toBe('--port must be an integer 0..65535, got "abc"')
    expect(optionsError(['--port=70000'])).toBe('--port must be an integer 0..65535, got "70000"')
    expect(optionsError(['--port', '80.5'])).toBe('--port must be an integer 0..65535, got "80.5"')
    expect(optionsError([], { CRAWLDECK_PORT: 'abc' })).toBe('CRAWLDECK_PORT must be an integer 0..65535, got "abc"')
    expect(optionsError(['--max-pages', '0'])).toBe('--max-pages must be an integer 1..256, got "0"')
    expect(optionsError(['--memory-threshold', 'lots'])).toBe('--memory-threshold must be a number 0..100, got "lots"')
    expect(optionsError(['--log-level', 'loud'])).toBe('--log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"')
    expect(optionsError(['--allow-js-code=maybe'])).toContain('--allow-js-code must be true or false')
    expect(optionsError([], { CRAWLDECK_ALLOW_JS_CODE: 'maybe' })).toContain('CRAWLDECK_ALLOW_JS_CODE must be true or false')
    expect(optionsError(['--host='])).toBe('--host must be a non-empty string, got ""')
  })

  it('a flag without its value', () => {
    expect(optionsError(['--port'])).toBe('--port needs a value: --port PORT or --port=PORT (see --help)')
    expect(optionsError(['--host', '--port', '1'])).toContain('--host needs a value')
    expect(optionsError(['--config'])).toContain('--config needs a value')
  })

  it('a config file that cannot be read', () => {
    const missing = path.join(tmp, 'nope.json')
    expect(optionsError(['--config', missing])).toBe(
      `cannot read config file ${missing}: ENOENT (no such file); fix the path given with --config or CRAWLDECK_CONFIG`,
    )
    expect(optionsError(['--config', tmp])).toContain(`cannot read config file ${tmp}: EISDIR (is a directory)`)
    expect(optionsError([], { CRAWLDECK_CONFIG: missing })).toContain(`cannot read config file ${missing}: ENOENT (no such file)`)
  })

  it('a config file that is not valid JSON, even with a multi-line error', () => {
    const file = configFile('{\n  "port": 80,\n  oops\n}')
    expect(optionsError(['--config', file])).toMatch(new RegExp(`^config file ${escape(file)} is not valid JSON: \\S`))
    const empty = configFile('')
    expect(optionsError(['--config', empty])).toContain(`config file ${empty} is not valid JSON`)
  })

  it('a config file with an unknown key, a bad value or no object', () => {
    const typo = configFile({ prot: 80 })
    expect(optionsError(['--config', typo])).toBe(`config file ${typo}: unknown key "prot" (did you mean "port"?); keys are listed in --help`)
    const foo = configFile({ foo: 1 })
    expect(optionsError(['--config', foo])).toContain(`config file ${foo}: unknown key "foo"`)
    // The file takes config keys, not flag names.
    expect(optionsError(['--config', configFile({ 'max-pages': 2 })])).toContain('unknown key "max-pages" (did you mean "max_pages"?)')
    const bad = configFile({ port: 'abc' })
    expect(optionsError(['--config', bad])).toBe(`config file ${bad}: port must be an integer 0..65535, got "abc"`)
    expect(optionsError(['--config', configFile({ chromium_args: '--x' })])).toContain('chromium_args must be a list of strings, got "--x"')
    expect(optionsError(['--config', configFile({ redis_url: 5 })])).toContain('redis_url must be a non-empty string or null, got 5')
    expect(optionsError(['--config', configFile([1, 2])])).toContain('must hold a JSON object of options')
    expect(optionsError(['--config', configFile('null')])).toContain('must hold a JSON object of options')
  })

  it('a mistake in a flag is reported even when the config file is fine, and the reverse', () => {
    const good = configFile({ port: 1 })
    expect(optionsError(['--config', good, '--port', 'x'])).toContain('--port must be')
    const bad = configFile({ port: -1 })
    expect(optionsError(['--config', bad, '--port', '2'])).toContain(`config file ${bad}: port must be`)
  })
})

describe('help and version', () => {
  it('--help and -h win over everything else on the line', () => {
    expect(parseOptions(['--help'], {})).toEqual({ kind: 'help', text: helpText() })
    expect(parseOptions(['--port', 'abc', '-h'], {})).toMatchObject({ kind: 'help' })
    expect(parseOptions(['--nonsense', '--help'], {})).toMatchObject({ kind: 'help' })
  })

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(parseOptions(['--version'], {})).toEqual({ kind: 'version', text: `crawldeck ${pkg.version}\n` })
  })

  it('lists every option with its flag, environment variables, config key and ConfigSchema default', () => {
    const text = helpText()
    const defaults = ConfigSchema.parse({})
    for (const spec of OPTIONS) {
      const line = text
        .split('\n')
        .find((l) =>
          spec.flag
            ? l.trimStart().startsWith(`--${spec.flag} `) || l.trim() === `--${spec.flag}` || l.trimStart().startsWith(`--${spec.flag}  `)
            : l.trimStart().startsWith(spec.key),
        )
      expect(line, `help line of ${spec.key}`).toBeDefined()
      for (const env of spec.env) expect(line).toContain(env)
      if (spec.flag) expect(line).toContain(` ${spec.key} `)
      expect(line).toContain(`default ${defaultLabel(spec)}`)
      const value = defaults[spec.key]
      if (value !== null && !Array.isArray(value)) expect(line).toContain(`default ${String(value)}`)
    }
    for (const name of ['--config FILE', 'CRAWLDECK_CONFIG', '--help', '-h', '--version', '--port PORT', 'CRAWLDECK_PORT', 'default 11235', 'REDIS_URL']) {
      expect(text).toContain(name)
    }
  })

  it('the option table covers every ConfigSchema key exactly once, and every flag is unique', () => {
    expect(OPTIONS.map((s) => s.key).sort()).toEqual(Object.keys(ConfigSchema.shape).sort())
    const flags = OPTIONS.flatMap((s) => (s.flag ? [s.flag] : []))
    expect(new Set([...flags, CONFIG_FILE_OPTION.flag]).size).toBe(flags.length + 1)
    const envs = OPTIONS.flatMap((s) => s.env)
    expect(new Set(envs).size).toBe(envs.length)
    for (const flag of flags) expect(flag).toMatch(/^[a-z]+(-[a-z]+)*$/)
  })
})

describe('README', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')

  it('holds exactly the generated options table between its markers', () => {
    const start = readme.indexOf(OPTIONS_TABLE_START)
    const end = readme.indexOf(OPTIONS_TABLE_END)
    expect(start, 'options table start marker in README.md').toBeGreaterThan(-1)
    expect(end, 'options table end marker in README.md').toBeGreaterThan(start)
    const inReadme = readme.slice(start + OPTIONS_TABLE_START.length + 1, end)
    // On failure: npx tsx scripts/options-table.ts --write
    expect(inReadme).toBe(optionsMarkdownTable())
  })

  it('scripts/options-table.ts prints that same table', async () => {
    const { stdout } = await promisify(execFile)(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/options-table.ts'], { cwd: ROOT })
    expect(stdout).toBe(optionsMarkdownTable())
  })

  it('the README test command is what .ci/run runs', () => {
    const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8')
    expect(readme).toContain('\nnpm test\n')
    expect(ci.trimEnd().split('\n').at(-1)).toBe('npm test')
    expect(statSync(path.join(ROOT, '.ci/run')).mode & 0o111).not.toBe(0)
  })
})

describe('describeFatal', () => {
  const ctx = { host: '127.0.0.1', port: 11235 }

  it('passes an OptionsError through', () => {
    expect(describeFatal(new OptionsError('unknown option --prot (see --help)'), ctx)).toBe('unknown option --prot (see --help)')
  })

  it('explains a port already in use, from a real listen() failure', async () => {
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as net.AddressInfo).port
    const second = net.createServer()
    const err = await new Promise<Error>((resolve) => {
      second.once('error', resolve)
      second.listen(port, '127.0.0.1')
    })
    holder.close()
    expect(describeFatal(err, { host: '127.0.0.1', port })).toBe(
      `port ${port} on 127.0.0.1 is already in use: stop the other process or pick another port with --port`,
    )
    expect(isExpectedFatal(err)).toBe(true)
  })

  it('explains EACCES and EADDRNOTAVAIL from listen, not EACCES from elsewhere', () => {
    const listenErr = (code: string) => Object.assign(new Error(`listen ${code}`), { code, syscall: 'listen' })
    expect(describeFatal(listenErr('EACCES'), { host: '127.0.0.1', port: 80 })).toBe(
      'not allowed to listen on port 80 on 127.0.0.1 (ports below 1024 need privileges): pick another port with --port',
    )
    expect(describeFatal(listenErr('EADDRNOTAVAIL'), { host: '10.9.9.9', port: 80 })).toContain('cannot listen on 10.9.9.9')
    expect(describeFatal(listenErr('EADDRNOTAVAIL'), { host: '10.9.9.9', port: 80 })).toContain('--host')
    const fsErr = Object.assign(new Error('EACCES: permission denied, open'), { code: 'EACCES', syscall: 'open' })
    expect(describeFatal(fsErr, ctx)).toMatch(/^unexpected error: /)
  })

  it('passes a ChromiumNotFoundError through as one line', () => {
    const err = new ChromiumNotFoundError('No Chromium found (looked in: /usr/bin/chromium). Install one (Debian/Ubuntu: sudo apt-get install -y chromium).')
    expect(describeFatal(err, ctx)).toBe(err.message)
    expect(isExpectedFatal(err)).toBe(true)
  })

  it('reduces a multi-line browser launch failure to its first line and says where to look', () => {
    const err = new BrowserLaunchError(
      'could not launch Chromium (/usr/bin/chromium): browserType.launch: Target closed\nCall log:\n  - <launching> /usr/bin/chromium',
    )
    const line = describeFatal(err, ctx)
    expect(line).not.toContain('\n')
    expect(line).toContain('could not launch Chromium (/usr/bin/chromium): browserType.launch: Target closed')
    expect(line).toContain('--log-level debug')
    expect(line).not.toContain('Call log')
  })

  it('uses the message of other engine errors', () => {
    const err = new MemoryPressureError(97, 95, 'host')
    expect(describeFatal(err, ctx)).toBe(err.message)
  })

  it('explains a data directory that cannot be created', async () => {
    const file = path.join(tmp, 'a-file')
    writeFileSync(file, 'x')
    const inside = await ensureDataDir(path.join(file, 'sub')).then(
      () => null,
      (e: unknown) => e,
    )
    expect(inside).toBeInstanceOf(DataDirError)
    expect(describeFatal(inside, ctx)).toBe(
      `cannot create data directory ${path.join(file, 'sub')}: ENOTDIR (part of the path is a file, not a directory); pick another with --data-dir or CRAWLDECK_DATA_DIR`,
    )
    const itself = await ensureDataDir(file).then(
      () => null,
      (e: unknown) => e,
    )
    expect(describeFatal(itself, ctx)).toBe(
      `cannot create data directory ${file}: a file of that name is in the way; pick another with --data-dir or CRAWLDECK_DATA_DIR`,
    )
  })

  it('unexpected errors: one line, no stack', () => {
    const err = new TypeError('boom\nsecond line')
    const line = describeFatal(err, ctx)
    expect(line).toBe('unexpected error: boom (run with --log-level debug for the stack trace)')
    expect(isExpectedFatal(err)).toBe(false)
    expect(describeFatal('a string', ctx)).toBe('unexpected error: a string (run with --log-level debug for the stack trace)')
    expect(describeFatal(undefined, ctx)).toContain('unexpected error')
  })
})

describe('ensureDataDir', () => {
  it('creates nested directories and accepts an existing one', async () => {
    const dir = path.join(tmp, 'data', 'deep', 'er')
    await ensureDataDir(dir)
    expect(statSync(dir).isDirectory()).toBe(true)
    await ensureDataDir(dir)
  })

  // Node 20's recursive mkdir never returns on such a path; ours must give up.
  it.runIf(existsSync('/proc/self'))('gives up on a path the kernel refuses although its parent exists', async () => {
    await expect(ensureDataDir('/proc/crawldeck-test/data')).rejects.toBeInstanceOf(DataDirError)
  })
})

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
