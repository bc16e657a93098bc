import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, expect } from 'vitest'

/*
 * The headless entry as an operator runs it, for tests: `node --import tsx src/main/serve.ts` as
 * a real process, its stdout ready line and exit, and its process tree read from /proc. Importing
 * this module registers an afterEach that kills (by PID) whatever a failed test left running.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
// Exactly what `npm run serve` runs: tsx as a loader inside one node process, so signals reach
// the service itself (tsx's CLI would relay them and SIGKILL a child slow to acknowledge).
const SERVE = [process.execPath, '--import', 'tsx', 'src/main/serve.ts'] as const
const READY = /^crawldeck ready on (http:\/\/127\.0\.0\.1:(\d+))\n$/
// tsx compiles on first use and Chromium launches: generous, but bounded.
export const READY_TIMEOUT_MS = 45_000
const EXIT_TIMEOUT_MS = 45_000

export interface Served {
  child: ChildProcess
  pid: number
  stdout: string
  stderr: string
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  exited: boolean
}

const running = new Set<Served>()
export const cleanups: Array<() => void> = []

afterEach(() => {
  // Only reached with live processes when a test failed half-way: kill the whole tree by PID.
  for (const s of running) {
    if (s.exited) continue
    for (const pid of [...descendants(s.pid), s.pid]) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  running.clear()
  for (const fn of cleanups.splice(0)) fn()
})

export function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-serve-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The environment of the test run, without anything that would configure crawldeck. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('CRAWLDECK_') || k === 'REDIS_URL') continue
    env[k] = v
  }
  return { ...env, ...extra }
}

/** `as`: run it as another user (needs root); Node sets the ids itself, so `pid` is still the service's. */
export function serve(args: string[], extraEnv: Record<string, string> = {}, as: { uid: number; gid: number } | null = null): Served {
  const [node, ...nodeArgs] = SERVE
  const child = spawn(node, [...nodeArgs, ...args], { cwd: ROOT, env: cleanEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'], ...(as ?? {}) })
  if (child.pid === undefined) throw new Error('could not spawn node')
  const s: Served = {
    child,
    pid: child.pid,
    stdout: '',
    stderr: '',
    exited: false,
    exit: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        s.exited = true
        resolve({ code, signal })
      })
    }),
  }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (s.stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (s.stderr += chunk))
  running.add(s)
  return s
}

export function serveDefaults(extraArgs: string[] = [], extraEnv: Record<string, string> = {}): Served {
  return serve(['--port', '0', '--data-dir', path.join(tempDir(), 'data'), '--log-level', 'warn', ...extraArgs], extraEnv)
}

/** Resolves once stdout holds the ready line; fails at once if the process exits first. */
export function waitReady(s: Served): Promise<{ url: string; port: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no ready line within ${READY_TIMEOUT_MS} ms; stdout=${JSON.stringify(s.stdout)} stderr=${JSON.stringify(s.stderr)}`)),
      READY_TIMEOUT_MS,
    )
    const check = () => {
      const m = READY.exec(s.stdout)
      if (m) done(null, { url: m[1] as string, port: Number(m[2]) })
    }
    const onExit = (code: number | null) => done(new Error(`exited with ${code} before it was ready; stderr=${JSON.stringify(s.stderr)}`))
    function done(err: Error | null, value?: { url: string; port: number }) {
      clearTimeout(timer)
      s.child.stdout?.off('data', check)
      s.child.off('exit', onExit)
      if (err) reject(err)
      else resolve(value as { url: string; port: number })
    }
    s.child.stdout?.on('data', check)
    s.child.once('exit', onExit)
    check()
  })
}

/** The exit of the process, or a test failure after `ms`. */
export async function waitExit(s: Served, ms = EXIT_TIMEOUT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      s.exit,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not exit within ${ms} ms; stderr=${JSON.stringify(s.stderr)}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

// ---- /proc: the process tree, read directly ----

export interface ProcInfo {
  pid: number
  ppid: number
  state: string
  comm: string
}

export function readStat(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid ...": comm may itself hold spaces and parentheses.
    const close = stat.lastIndexOf(')')
    const [state, ppid] = stat.slice(close + 2).split(' ')
    return { pid, ppid: Number(ppid), state: state ?? '?', comm: stat.slice(stat.indexOf('(') + 1, close) }
  } catch {
    return null
  }
}

export function allProcesses(): ProcInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((p): p is ProcInfo => p !== null)
}

export function descendants(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const p of allProcesses()) {
    const list = children.get(p.ppid) ?? []
    list.push(p.pid)
    children.set(p.ppid, list)
  }
  const out: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      out.push(child)
      queue.push(child)
    }
  }
  return out
}

export function isChromium(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return /chrom/i.test(cmdline) || /chrom/i.test(readStat(pid)?.comm ?? '')
  } catch {
    return false
  }
}

export function chromiumDescendants(root: number): number[] {
  return descendants(root).filter(isChromium)
}

/** Still a live Chromium: not gone, not a zombie awaiting its reaper, not a PID reused by another program. */
export function liveChromium(pid: number): boolean {
  const info = readStat(pid)
  return info !== null && info.state !== 'Z' && info.state !== 'X' && isChromium(pid)
}

/** Polls /proc until every PID is gone, or fails listing the survivors. */
export async function expectAllGone(pids: number[], ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  let alive = pids.filter(liveChromium)
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    alive = alive.filter(liveChromium)
  }
  expect(alive, 'Chromium processes still running').toEqual([])
}
