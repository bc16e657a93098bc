import { accessSync, constants, readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'

/*
 * We only use Chromium binaries that are already on the machine: the box has no network, and a
 * silent download at startup would hide a misconfiguration behind a long hang.
 */

export class ChromiumNotFoundError extends Error {
  constructor(
    message: string,
    readonly searched: readonly string[] = [],
  ) {
    super(message)
    this.name = 'ChromiumNotFoundError'
  }
}

export interface LocateOptions {
  /** The --chromium option; when set it is the only path considered. */
  explicit?: string | null
  env?: NodeJS.ProcessEnv
  /** Whether a path is a usable executable; defaults to a real X_OK check. */
  exists?: (p: string) => boolean
}

/**
 * Chromium's headless shell (Debian: `apt-get install chromium-headless-shell`): the old headless
 * implementation, without the full browser's UI layers. Playwright itself launches it for headless
 * Chromium. Here it costs 4.5-8x less CPU per isolated crawl (a new context's renderer starts far
 * cheaper): docs/benchmarks.md, "Which Chromium binary". The real binary first: Debian's /usr/bin script
 * keeps a shell process as the browser's parent.
 */
const SYSTEM_HEADLESS_SHELL_PATHS = ['/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium-headless-shell']

const SYSTEM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium']

// Executable paths inside a Playwright revision directory, across the layouts Playwright has shipped.
const FULL_CHROMIUM_BINARIES = ['chrome-linux64/chrome', 'chrome-linux-arm64/chrome', 'chrome-linux/chrome']
const HEADLESS_SHELL_BINARIES = [
  'chrome-headless-shell-linux64/chrome-headless-shell',
  'chrome-headless-shell-linux-arm64/chrome-headless-shell',
  'chrome-linux/headless_shell',
]

/** The binaries the pool launches: one for headless browsers, one (a full Chromium) for headed ones. */
export interface ChromiumBinaries {
  /** What every headless browser runs: the headless shell when there is one, else a full Chromium. */
  headless: string
  /** A full Chromium for `browser_config.headless: false`; null when only a headless shell is installed. */
  headed: string | null
}

/** Every path locateChromium would try for headless browsers, in order (the env override first when set). */
export function chromiumCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env.CRAWLDECK_CHROMIUM?.trim()
  const { shells, full } = defaultCandidates(env)
  return [...(fromEnv ? [path.resolve(fromEnv)] : []), ...shells, ...full]
}

/** The binary headless browsers run (see locateChromiumBinaries). */
export function locateChromium(opts: LocateOptions = {}): string {
  return locateChromiumBinaries(opts).headless
}

export function locateChromiumBinaries(opts: LocateOptions = {}): ChromiumBinaries {
  const env = opts.env ?? process.env
  const exists = opts.exists ?? isExecutable
  // A path someone typed is a decision, not a hint: falling back to another binary would hide the
  // typo. It serves headless and headed browsers alike (a headless shell given here cannot show a window).
  const explicit = opts.explicit?.trim()
  // The options layer folds --chromium, CRAWLDECK_CHROMIUM and the config file into one value.
  if (explicit) return both(requireAt(path.resolve(explicit), 'given with --chromium, CRAWLDECK_CHROMIUM or the config file', exists))
  const fromEnv = env.CRAWLDECK_CHROMIUM?.trim()
  if (fromEnv) return both(requireAt(path.resolve(fromEnv), 'from CRAWLDECK_CHROMIUM', exists))

  const { shells, full } = defaultCandidates(env)
  const headed = full.find((p) => exists(p)) ?? null
  const headless = shells.find((p) => exists(p)) ?? headed
  if (headless !== null) return { headless, headed }
  const cache = playwrightCacheDir(env)
  const searched = [
    ...SYSTEM_HEADLESS_SHELL_PATHS,
    ...SYSTEM_PATHS,
    ...(cache ? [path.join(cache, 'chromium-*'), path.join(cache, 'chromium_headless_shell-*')] : []),
  ]
  throw new ChromiumNotFoundError(
    `No Chromium found (looked in: ${searched.join(', ')}). ` +
      'Install one (Debian/Ubuntu: sudo apt-get install -y chromium chromium-headless-shell) or set CRAWLDECK_CHROMIUM=/path/to/chrome.',
    searched,
  )
}

const both = (p: string): ChromiumBinaries => ({ headless: p, headed: p })

function requireAt(p: string, origin: string, exists: (p: string) => boolean): string {
  if (exists(p)) return p
  throw new ChromiumNotFoundError(
    `Chromium not found at ${p} (${origin}): it does not exist or is not executable. ` +
      'Fix the path, or unset it to let crawldeck search the usual install locations ' +
      '(Debian/Ubuntu: sudo apt-get install -y chromium).',
    [p],
  )
}

/** Headless shells and full Chromiums, each list in the order they are tried (system installs first). */
function defaultCandidates(env: NodeJS.ProcessEnv): { shells: string[]; full: string[] } {
  const cache = playwrightCacheDir(env)
  if (cache === null) return { shells: [...SYSTEM_HEADLESS_SHELL_PATHS], full: [...SYSTEM_PATHS] }
  return {
    shells: [...SYSTEM_HEADLESS_SHELL_PATHS, ...revisionBinaries(cache, 'chromium_headless_shell', HEADLESS_SHELL_BINARIES)],
    full: [...SYSTEM_PATHS, ...revisionBinaries(cache, 'chromium', FULL_CHROMIUM_BINARIES)],
  }
}

/** `<cache>/<prefix>-<revision>/<binary>`, newest revision first (numerically: 1200 > 999). */
function revisionBinaries(cache: string, prefix: string, binaries: readonly string[]): string[] {
  let names: string[]
  try {
    names = readdirSync(cache)
  } catch {
    return []
  }
  const pattern = new RegExp(`^${prefix}-(\\d+)$`)
  return names
    .map((name) => ({ name, revision: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((d) => Number.isFinite(d.revision))
    .sort((a, b) => b.revision - a.revision)
    .flatMap((d) => binaries.map((bin) => path.join(cache, d.name, bin)))
}

// Mirrors Playwright's own registry lookup so we find browsers `npx playwright install` put there.
function playwrightCacheDir(env: NodeJS.ProcessEnv): string | null {
  const configured = env.PLAYWRIGHT_BROWSERS_PATH
  if (configured === '0') {
    try {
      const pkg = createRequire(import.meta.url).resolve('playwright-core/package.json')
      return path.join(path.dirname(pkg), '.local-browsers')
    } catch {
      return null
    }
  }
  if (configured) return path.resolve(env.INIT_CWD || process.cwd(), configured)
  const cacheHome = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache')
  return path.join(cacheHome, 'ms-playwright')
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK)
    // X_OK also passes for directories.
    return statSync(p).isFile()
  } catch {
    return false
  }
}
