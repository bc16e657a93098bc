import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/*
 * Every temporary file of a crawldeck process (Chromium profiles, Playwright's artifact folders,
 * Chromium's own temp files) lives in one folder per run, under one root per user:
 *   <tmp>/crawldeck-<uid>/run-<pid>-<random>/
 * A process killed with SIGKILL cannot clean up after itself (two profiles and two launcher
 * folders per kill were left in /tmp for ever); the next start finds the runs whose process is
 * gone and removes them. Playwright and Chromium take their temp folder from TMPDIR, so pointing
 * it at the run folder is what moves them there.
 */

export interface TempRun {
  /** The root shared by this user's runs. */
  readonly root: string
  /** This process's own folder; TMPDIR points here. */
  readonly dir: string
  /** Runs of dead processes removed at start. */
  readonly swept: readonly string[]
  /** Removes this run's folder (at a clean exit) and points TMPDIR back where it was. */
  remove(): void
}

interface Owner {
  pid: number
  /** The process's start time as the kernel says it (Linux), so a reused PID is not taken for the owner. */
  started: string | null
}

const OWNER_FILE = 'owner.json'
/** A run folder without its owner file yet is left alone this long (its process may be writing it). */
const UNOWNED_GRACE_MS = 60_000

/** The kernel's start time of a process (Linux), or null where it cannot be read. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 22, counted after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

function alive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    // EPERM: it exists, it is someone else's.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  if (owner.started === null) return true
  const now = processStartTime(owner.pid)
  return now === null || now === owner.started
}

/**
 * The root, made owner-only. A root someone else made (a shared /tmp), or one that is a link or
 * open to others, is refused: files in it could be swapped under us.
 */
function ownRoot(base: string): string {
  const uid = process.getuid?.()
  const root = path.join(base, `crawldeck-${uid ?? os.userInfo().username}`)
  mkdirSync(root, { recursive: true, mode: 0o700 })
  const info = lstatSync(root)
  const problem = info.isSymbolicLink()
    ? 'is a symbolic link'
    : !info.isDirectory()
      ? 'is not a folder'
      : uid !== undefined && info.uid !== uid
        ? `belongs to uid ${info.uid}, not to this user (${uid})`
        : process.platform !== 'win32' && (info.mode & 0o077) !== 0
          ? `is open to other users (mode ${(info.mode & 0o777).toString(8)})`
          : null
  if (problem) throw new Error(`the temp folder ${root} ${problem}: remove it, or point TMPDIR elsewhere`)
  return root
}

/** Removes the runs under `root` whose process is gone; returns what was removed. */
export function sweepDeadRuns(root: string, now = Date.now()): string[] {
  const removed: string[] = []
  for (const name of readdirSync(root)) {
    if (!name.startsWith('run-')) continue
    const dir = path.join(root, name)
    let owner: Owner | null = null
    try {
      owner = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as Owner
    } catch {
      // No owner file: a run that died while starting, or one starting right now.
      try {
        if (now - statSync(dir).mtimeMs < UNOWNED_GRACE_MS) continue
      } catch {
        continue
      }
    }
    if (owner !== null && typeof owner.pid === 'number' && alive(owner)) continue
    rmSync(dir, { recursive: true, force: true })
    removed.push(dir)
  }
  return removed
}

/**
 * Claims this process's run folder, removes those of dead runs, and points TMPDIR (TMP and TEMP
 * on Windows) at it. Call once, at the start of an entry point, before any browser is launched.
 */
export function claimTempRun(base: string = os.tmpdir()): TempRun {
  const root = ownRoot(base)
  const swept = sweepDeadRuns(root)
  const dir = mkdtempSync(path.join(root, `run-${process.pid}-`))
  const owner: Owner = { pid: process.pid, started: processStartTime(process.pid) }
  writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600, flag: 'wx' })
  const vars = process.platform === 'win32' ? (['TMPDIR', 'TMP', 'TEMP'] as const) : (['TMPDIR'] as const)
  const before = vars.map((v) => [v, process.env[v]] as const)
  for (const v of vars) process.env[v] = dir
  return {
    root,
    dir,
    swept,
    remove() {
      rmSync(dir, { recursive: true, force: true })
      // The process may go on (the desktop app's tests, an embedder): its temp folder is the old one again.
      for (const [v, value] of before) {
        if (process.env[v] !== dir) continue
        if (value === undefined) delete process.env[v]
        else process.env[v] = value
      }
    },
  }
}
