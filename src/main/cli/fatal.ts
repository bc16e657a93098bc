import { mkdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { ChromiumNotFoundError } from '../core/chromium/locate.js'
import { CrawldeckError } from '../core/errors.js'
import { errnoText, oneLine } from './errno-text.js'
import { OptionsError } from './parse-options.js'

/**
 * Start-up failures the operator can fix, each turned into one line that says what to do.
 * serve.ts prints `crawldeck: <line>` and exits 1; no stack trace for any of these.
 */

/** The data directory could not be created. */
export class DataDirError extends Error {
  constructor(
    readonly dir: string,
    cause: unknown,
  ) {
    super(`cannot create data directory ${dir}: ${errnoText(cause)}; pick another with --data-dir or CRAWLDECK_DATA_DIR`, { cause })
    this.name = 'DataDirError'
  }
}

/**
 * mkdir -p that always ends. Node 20's `mkdir(dir, {recursive: true})` spins forever on paths
 * the kernel refuses with ENOENT although their parent exists (e.g. under /proc), so we walk up
 * ourselves and give up when a parent exists but the child still cannot be made.
 */
export async function ensureDataDir(dir: string): Promise<void> {
  try {
    await makeDir(path.resolve(dir))
  } catch (err) {
    throw new DataDirError(dir, err)
  }
}

async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir)
    return
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return
      throw new Error('a file of that name is in the way', { cause: err })
    }
    const parent = path.dirname(dir)
    if (code !== 'ENOENT' || parent === dir) throw err
    await makeDir(parent)
  }
  await mkdir(dir)
}

export interface FatalContext {
  host: string
  port: number
}

/** Whether `err` is a failure we expected and explained; anything else is a bug worth a stack. */
export function isExpectedFatal(err: unknown): boolean {
  return (
    err instanceof OptionsError ||
    err instanceof DataDirError ||
    err instanceof ChromiumNotFoundError ||
    err instanceof CrawldeckError ||
    listenErrorText(err, { host: '', port: 0 }) !== null
  )
}

export function describeFatal(err: unknown, ctx: FatalContext): string {
  if (err instanceof OptionsError || err instanceof DataDirError || err instanceof ChromiumNotFoundError) return oneLine(err.message)
  const listen = listenErrorText(err, ctx)
  if (listen !== null) return listen
  if (err instanceof CrawldeckError) {
    // BrowserLaunchError, MemoryPressureError at start-up, ...: the engine already phrased them.
    // Playwright appends a multi-line call log to launch failures; its first line is the cause.
    const first = firstLine(err.message)
    if (err.code === 'browser_launch_failed') {
      return `Chromium could not start: ${first} (check the binary given with --chromium / CRAWLDECK_CHROMIUM or as the Chromium path in Settings, or run with --log-level debug for details)`
    }
    return first
  }
  const message = err instanceof Error ? firstLine(err.message) || err.name : oneLine(String(err))
  return `unexpected error: ${message} (run with --log-level debug for the stack trace)`
}

/** Node's listen() failures, recognised by their system error code. */
function listenErrorText(err: unknown, { host, port }: FatalContext): string | null {
  const { code, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown }
  // The same codes come from fs calls (EACCES on mkdir, ...): only listen/lookup failures are ours here.
  if (syscall !== undefined && syscall !== 'listen' && syscall !== 'bind' && syscall !== 'getaddrinfo') return null
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is already in use: stop the other process or pick another port with --port`
    case 'EACCES':
      return `not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges): pick another port with --port`
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${host}: no such address on this machine; pick another with --host (e.g. 127.0.0.1 or 0.0.0.0)`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host ${JSON.stringify(host)}: pick another with --host (e.g. 127.0.0.1 or 0.0.0.0)`
    default:
      return null
  }
}

function firstLine(text: string): string {
  return oneLine(text.split('\n').find((line) => line.trim() !== '') ?? '')
}
