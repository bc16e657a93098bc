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

const SYSTEM_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
]

// Executable paths inside a Playwright revision directory, across the layouts Playwright has shipped.
const FULL_CHROMIUM_BINARIES = ['chrome-linux64/chrome', 'chrome-linux-arm64/chrome', 'chrome-linux/chrome']
const HEADLESS_SHELL_BINARIES = [
  'chrome-headless-shell-linux64/chrome-headless-shell',
  'chrome-headless-shell-linux-arm64/chrome-headless-shell',
  'chrome-linux/headless_shell',
]

/** Every path locateChromium would try, in order (the env override first when set). */
export function chromiumCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env.CRAWLDECK_CHROMIUM?.trim()
  return [...(fromEnv ? [path.resolve(fromEnv)] : []), ...defaultCandidates(env)]
}

export function locateChromium(opts: LocateOptions = {}): string {
  const env = opts.env ?? process.env
  const exists = opts.exists ?? isExecutable
  // A path someone typed is a decision, not a hint: falling back to another binary would hide the typo.
  const explicit = opts.explicit?.trim()
  // The options layer folds --chromium, CRAWLDECK_CHROMIUM and the config file into one value.
  if (explicit) return requireAt(path.resolve(explicit), 'given with --chromium, CRAWLDECK_CHROMIUM or the config file', exists)
  const fromEnv = env.CRAWLDECK_CHROMIUM?.trim()
  if (fromEnv) return requireAt(path.resolve(fromEnv), 'from CRAWLDECK_CHROMIUM', exists)

  const candidates = defaultCandidates(env)
  const found = candidates.find((p) => exists(p))
  if (found !== undefined) return found
  const cache = playwrightCacheDir(env)
  const searched = [...SYSTEM_PATHS, ...(cache ? [path.join(cache, 'chromium-*'), path.join(cache, 'chromium_headless_shell-*')] : [])]
  throw new ChromiumNotFoundError(
    `No Chromium found (looked in: ${searched.join(', ')}). ` +
      'Install one (Debian/Ubuntu: sudo apt-get install -y chromium) or set CRAWLDECK_CHROMIUM=/path/to/chrome.',
    searched,
  )
}

function requireAt(p: string, origin: string, exists: (p: string) => boolean): string {
  if (exists(p)) return p
  throw new ChromiumNotFoundError(
    `Chromium not found at ${p} (${origin}): it does not exist or is not executable. ` +
      'Fix the path, or unset it to let crawldeck search the usual install locations ' +
      '(Debian/Ubuntu: sudo apt-get install -y chromium).',
    [p],
  )
}

function defaultCandidates(env: NodeJS.ProcessEnv): string[] {
  const cache = playwrightCacheDir(env)
  if (cache === null) return [...SYSTEM_PATHS]
  // A full Chromium beats the headless shell: it renders exactly like the browser users run.
  return [
    ...SYSTEM_PATHS,
    ...revisionBinaries(cache, 'chromium', FULL_CHROMIUM_BINARIES),
    ...revisionBinaries(cache, 'chromium_headless_shell', HEADLESS_SHELL_BINARIES),
  ]
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
