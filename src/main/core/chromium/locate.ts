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
  /**
   * The path saved in Settings (chromium_path): used ahead of discovery, after an explicit path
   * and CRAWLDECK_CHROMIUM. Unlike those it falls back to discovery (with `warn`) when it stopped
   * working: the desktop app whose browser moved must still start, or nobody could fix the setting.
   */
  saved?: string | null
  env?: NodeJS.ProcessEnv
  /** Whether a path is a usable executable; defaults to a real X_OK check. */
  exists?: (p: string) => boolean
  /** Whose install locations to search; the running platform by default (tests search macOS's and Windows' on Linux). */
  platform?: NodeJS.Platform
  /** The entries of a directory (the Playwright cache); defaults to the real readdir. */
  readDir?: (dir: string) => string[]
  /** Told why the saved path is not used. */
  warn?: (message: string) => void
}

/**
 * Chromium's headless shell (Debian: `apt-get install chromium-headless-shell`): the old headless
 * implementation, without the full browser's UI layers. Playwright itself launches it for headless
 * Chromium. Here it costs 4.5-8x less CPU per isolated crawl (a new context's renderer starts far
 * cheaper): docs/benchmarks.md, "Which Chromium binary". The real binary first: Debian's /usr/bin script
 * keeps a shell process as the browser's parent.
 */
const LINUX_HEADLESS_SHELL_PATHS = ['/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium-headless-shell']

const LINUX_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium']

/*
 * macOS and Windows have no system headless shell: an installed browser serves headless and headed
 * browsers alike. Chromium first (someone installed it for this), then the stable browsers most
 * machines have, Canary (a nightly) and Brave last. Each is looked for in the machine-wide place
 * first, then the user's own.
 */
const MAC_APPS = ['Chromium', 'Google Chrome', 'Microsoft Edge', 'Google Chrome Canary', 'Brave Browser']

/** Under %ProgramFiles%, %ProgramFiles(x86)% and %LocalAppData%, where each installer puts its browser. */
const WINDOWS_BINARIES = [
  'Chromium\\Application\\chrome.exe',
  'Google\\Chrome\\Application\\chrome.exe',
  'Microsoft\\Edge\\Application\\msedge.exe',
  'Google\\Chrome SxS\\Application\\chrome.exe',
  'BraveSoftware\\Brave-Browser\\Application\\brave.exe',
]

// Executable paths inside a Playwright revision directory, across the layouts Playwright has shipped.
const REVISION_BINARIES: Record<'linux' | 'darwin' | 'win32', { full: string[]; shells: string[] }> = {
  linux: {
    full: ['chrome-linux64/chrome', 'chrome-linux-arm64/chrome', 'chrome-linux/chrome'],
    shells: ['chrome-headless-shell-linux64/chrome-headless-shell', 'chrome-headless-shell-linux-arm64/chrome-headless-shell', 'chrome-linux/headless_shell'],
  },
  darwin: {
    full: [
      'chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing',
      'chrome-mac-x64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing',
      'chrome-mac/Chromium.app/Contents/MacOS/Chromium',
    ],
    shells: ['chrome-headless-shell-mac-arm64/chrome-headless-shell', 'chrome-headless-shell-mac-x64/chrome-headless-shell', 'chrome-mac/headless_shell'],
  },
  win32: {
    full: ['chrome-win64\\chrome.exe', 'chrome-win\\chrome.exe'],
    shells: ['chrome-headless-shell-win64\\chrome-headless-shell.exe', 'chrome-win\\headless_shell.exe'],
  },
}

/** The binaries the pool launches: one for headless browsers, one (a full Chromium) for headed ones. */
export interface ChromiumBinaries {
  /** What every headless browser runs: the headless shell when there is one, else a full Chromium. */
  headless: string
  /** A full Chromium for `browser_config.headless: false`; null when only a headless shell is installed. */
  headed: string | null
}

interface Search {
  platform: NodeJS.Platform
  env: NodeJS.ProcessEnv
  readDir: (dir: string) => string[]
}

function searchOf(opts: Pick<LocateOptions, 'env' | 'platform' | 'readDir'>): Search {
  return { platform: opts.platform ?? process.platform, env: opts.env ?? process.env, readDir: opts.readDir ?? readdirSync }
}

/** Paths of the platform searched: Windows paths on a faked win32 too. */
const pathsOf = (platform: NodeJS.Platform): path.PlatformPath => (platform === 'win32' ? path.win32 : path.posix)

/** Every path locateChromium would try for headless browsers, in order (the env override first when set). */
export function chromiumCandidates(env: NodeJS.ProcessEnv = process.env, opts: Pick<LocateOptions, 'platform' | 'readDir'> = {}): string[] {
  const search = searchOf({ ...opts, env })
  const fromEnv = env.CRAWLDECK_CHROMIUM?.trim()
  const { shells, full } = defaultCandidates(search)
  return [...(fromEnv ? [pathsOf(search.platform).resolve(fromEnv)] : []), ...shells, ...full]
}

/** The binary headless browsers run (see locateChromiumBinaries). */
export function locateChromium(opts: LocateOptions = {}): string {
  return locateChromiumBinaries(opts).headless
}

/**
 * Which binaries to launch, first that applies: an explicit path (--chromium, or the config file),
 * CRAWLDECK_CHROMIUM, the path saved in Settings, then the platform's usual install locations and
 * Playwright's browser cache.
 */
export function locateChromiumBinaries(opts: LocateOptions = {}): ChromiumBinaries {
  const search = searchOf(opts)
  const { env, platform } = search
  const resolve = pathsOf(platform).resolve
  const exists = opts.exists ?? isExecutable
  // A path someone typed is a decision, not a hint: falling back to another binary would hide the
  // typo. It serves headless and headed browsers alike (a headless shell given here cannot show a window).
  const explicit = opts.explicit?.trim()
  // The options layer folds --chromium, CRAWLDECK_CHROMIUM and the config file into one value.
  if (explicit) return both(requireAt(resolve(explicit), 'given with --chromium, CRAWLDECK_CHROMIUM or the config file', exists))
  const fromEnv = env.CRAWLDECK_CHROMIUM?.trim()
  if (fromEnv) return both(requireAt(resolve(fromEnv), 'from CRAWLDECK_CHROMIUM', exists))
  const saved = opts.saved?.trim()
  if (saved) {
    if (exists(saved)) return both(saved)
    opts.warn?.(`the Chromium path saved in Settings (${saved}) does not exist or is not executable: looking for Chromium in the usual places instead`)
  }

  const { shells, full } = defaultCandidates(search)
  const headed = full.find((p) => exists(p)) ?? null
  const headless = shells.find((p) => exists(p)) ?? headed
  if (headless !== null) return { headless, headed }
  const cache = playwrightCacheDir(search)
  const join = pathsOf(platform).join
  const searched = [
    ...installedShells(platform),
    ...installedBrowsers(search),
    ...(cache ? [join(cache, 'chromium-*'), join(cache, 'chromium_headless_shell-*')] : []),
  ]
  throw new ChromiumNotFoundError(`No Chromium found (looked in: ${searched.join(', ')}). ${INSTALL_HINT[platform] ?? INSTALL_HINT.linux}`, searched)
}

const INSTALL_HINT: Partial<Record<NodeJS.Platform, string>> = {
  linux:
    'Install one (Debian/Ubuntu: sudo apt-get install -y chromium chromium-headless-shell), ' +
    'or give its path in Settings (Chromium path) or with CRAWLDECK_CHROMIUM=/path/to/chrome.',
  darwin:
    'Install Google Chrome, Chromium (brew install --cask chromium) or Microsoft Edge, or give the program inside the app ' +
    'in Settings (Chromium path) or with CRAWLDECK_CHROMIUM, e.g. "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome".',
  win32:
    'Install Google Chrome or Microsoft Edge, or give its path in Settings (Chromium path) or with CRAWLDECK_CHROMIUM, ' +
    'e.g. C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe.',
}

/**
 * Why `p` cannot be the Chromium path saved in Settings, or null when it can: an absolute path to
 * an existing executable file. A macOS app bundle is a directory: the answer names the binary inside.
 */
export function chromiumPathProblem(p: string, platform: NodeJS.Platform = process.platform): string | null {
  const paths = pathsOf(platform)
  if (!paths.isAbsolute(p)) return `give an absolute path (${platform === 'win32' ? 'C:\\...\\chrome.exe' : '/.../chrome'})`
  let stat
  try {
    stat = statSync(p)
  } catch {
    return `${p} does not exist`
  }
  if (stat.isDirectory()) {
    const app = /([^/]+)\.app\/?$/.exec(p)
    if (app) return `${p} is an app bundle: give the program inside it, ${paths.join(p, 'Contents', 'MacOS', app[1] ?? '')}`
    return `${p} is a directory, not a Chromium program`
  }
  if (!isExecutable(p)) return `${p} is not an executable file`
  return null
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

/** Installed headless shells: a Linux package only. */
function installedShells(platform: NodeJS.Platform): string[] {
  return platform === 'darwin' || platform === 'win32' ? [] : [...LINUX_HEADLESS_SHELL_PATHS]
}

/** Installed full browsers of the platform, in the order they are tried. */
function installedBrowsers({ platform, env }: Search): string[] {
  if (platform === 'darwin') {
    const home = homeOf(env, platform)
    const roots = ['/Applications', path.posix.join(home, 'Applications')]
    return MAC_APPS.flatMap((app) => roots.map((root) => path.posix.join(root, `${app}.app`, 'Contents', 'MacOS', app)))
  }
  if (platform === 'win32') {
    const roots = [
      envOf(env, 'ProgramFiles') ?? 'C:\\Program Files',
      envOf(env, 'ProgramFiles(x86)') ?? 'C:\\Program Files (x86)',
      envOf(env, 'LOCALAPPDATA') ?? path.win32.join(homeOf(env, platform), 'AppData', 'Local'),
    ]
    // Two variables can name one directory (a 32-bit Windows): try it once.
    const unique = [...new Set(roots.map((r) => path.win32.normalize(r)))]
    return WINDOWS_BINARIES.flatMap((bin) => unique.map((root) => path.win32.join(root, bin)))
  }
  return [...LINUX_PATHS]
}

/** Headless shells and full Chromiums, each list in the order they are tried (system installs first). */
function defaultCandidates(search: Search): { shells: string[]; full: string[] } {
  const cache = playwrightCacheDir(search)
  const shells = installedShells(search.platform)
  const full = installedBrowsers(search)
  if (cache === null) return { shells, full }
  const layout = REVISION_BINARIES[search.platform === 'darwin' || search.platform === 'win32' ? search.platform : 'linux']
  return {
    shells: [...shells, ...revisionBinaries(search, cache, 'chromium_headless_shell', layout.shells)],
    full: [...full, ...revisionBinaries(search, cache, 'chromium', layout.full)],
  }
}

/** `<cache>/<prefix>-<revision>/<binary>`, newest revision first (numerically: 1200 > 999). */
function revisionBinaries(search: Search, cache: string, prefix: string, binaries: readonly string[]): string[] {
  let names: string[]
  try {
    names = search.readDir(cache)
  } catch {
    return []
  }
  const join = pathsOf(search.platform).join
  const pattern = new RegExp(`^${prefix}-(\\d+)$`)
  return names
    .map((name) => ({ name, revision: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((d) => Number.isFinite(d.revision))
    .sort((a, b) => b.revision - a.revision)
    .flatMap((d) => binaries.map((bin) => join(cache, d.name, bin)))
}

// Mirrors Playwright's own registry lookup so we find browsers `npx playwright install` put there.
function playwrightCacheDir({ env, platform }: Search): string | null {
  const paths = pathsOf(platform)
  const configured = env.PLAYWRIGHT_BROWSERS_PATH
  if (configured === '0') {
    try {
      const pkg = createRequire(import.meta.url).resolve('playwright-core/package.json')
      return path.join(path.dirname(pkg), '.local-browsers')
    } catch {
      return null
    }
  }
  if (configured) return paths.resolve(env.INIT_CWD || process.cwd(), configured)
  const home = homeOf(env, platform)
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Caches', 'ms-playwright')
  if (platform === 'win32') return path.win32.join(envOf(env, 'LOCALAPPDATA') ?? path.win32.join(home, 'AppData', 'Local'), 'ms-playwright')
  const cacheHome = env.XDG_CACHE_HOME || path.posix.join(home, '.cache')
  return path.posix.join(cacheHome, 'ms-playwright')
}

function homeOf(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  return (platform === 'win32' ? envOf(env, 'USERPROFILE') : env.HOME) || os.homedir()
}

/** Windows' environment names are case-insensitive (process.env knows; a plain object given in a test does not). */
function envOf(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const key = Object.keys(env).find((k) => k.toLowerCase() === name.toLowerCase())
  const value = key === undefined ? undefined : env[key]?.trim()
  return value ? value : undefined
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
