import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

/*
 * The headless entry as an operator runs it: a real process (node --import tsx src/main/serve.ts), its one
 * stdout line, its exit codes, its one-line errors, and no Chromium left behind.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url))
// Exactly what `npm run serve` runs: tsx as a loader inside one node process, so signals reach
// the service itself (tsx's CLI would relay them and SIGKILL a child slow to acknowledge).
const SERVE = [process.execPath, '--import', 'tsx', 'src/main/serve.ts'] as const
const READY = /^crawldeck ready on (http:\/\/127\.0\.0\.1:(\d+))\n$/
// tsx compiles on first use and Chromium launches: generous, but bounded.
const READY_TIMEOUT_MS = 45_000
const EXIT_TIMEOUT_MS = 45_000

interface Served {
  child: ChildProcess
  pid: number
  stdout: string
  stderr: string
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  exited: boolean
}

const running = new Set<Served>()
const cleanups: Array<() => void> = []

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

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-serve-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The environment of the test run, without anything that would configure crawldeck. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('CRAWLDECK_') || k === 'REDIS_URL') continue
    env[k] = v
  }
  return { ...env, ...extra }
}

function serve(args: string[], extraEnv: Record<string, string> = {}): Served {
  const [node, ...nodeArgs] = SERVE
  const child = spawn(node, [...nodeArgs, ...args], { cwd: ROOT, env: cleanEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] })
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

function serveDefaults(extraArgs: string[] = [], extraEnv: Record<string, string> = {}): Served {
  return serve(['--port', '0', '--data-dir', path.join(tempDir(), 'data'), '--log-level', 'warn', ...extraArgs], extraEnv)
}

/** Resolves once stdout holds the ready line; fails at once if the process exits first. */
function waitReady(s: Served): Promise<{ url: string; port: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ready line within ${READY_TIMEOUT_MS} ms; stdout=${JSON.stringify(s.stdout)} stderr=${JSON.stringify(s.stderr)}`)), READY_TIMEOUT_MS)
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
async function waitExit(s: Served, ms = EXIT_TIMEOUT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
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

interface ProcInfo {
  pid: number
  ppid: number
  state: string
  comm: string
}

function readStat(pid: number): ProcInfo | null {
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

function allProcesses(): ProcInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((p): p is ProcInfo => p !== null)
}

function descendants(root: number): number[] {
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

function isChromium(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return /chrom/i.test(cmdline) || /chrom/i.test(readStat(pid)?.comm ?? '')
  } catch {
    return false
  }
}

function chromiumDescendants(root: number): number[] {
  return descendants(root).filter(isChromium)
}

/** Still a live Chromium: not gone, not a zombie awaiting its reaper, not a PID reused by another program. */
function liveChromium(pid: number): boolean {
  const info = readStat(pid)
  return info !== null && info.state !== 'Z' && info.state !== 'X' && isChromium(pid)
}

/** Polls /proc until every PID is gone, or fails listing the survivors. */
async function expectAllGone(pids: number[], ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  let alive = pids.filter(liveChromium)
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    alive = alive.filter(liveChromium)
  }
  expect(alive, 'Chromium processes still running').toEqual([])
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '')
}

/** The one-line error contract: exactly one line, `crawldeck: ...`, and no stack frame. */
function expectOneLineError(stderr: string): string {
  const all = lines(stderr)
  expect(all, `stderr: ${stderr}`).toHaveLength(1)
  const line = all[0] as string
  expect(line).toMatch(/^crawldeck: /)
  expect(stderr).not.toContain('    at ')
  return line
}

describe('npm run serve (src/main/serve.ts) as a process', () => {
  it('prints one ready line with the real port, and GET /health answers 200; logs are JSON lines on stderr', async () => {
    const s = serve(['--port', '0', '--data-dir', path.join(tempDir(), 'data'), '--log-level', 'info'])
    const { url, port } = await waitReady(s)
    expect(port).toBeGreaterThan(0)
    expect(s.stdout).toBe(`crawldeck ready on ${url}\n`)
    const res = await fetch(`${url}/health`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { status: string }
    expect(body.status).toBe('ok')
    s.child.kill('SIGTERM')
    expect(await waitExit(s)).toEqual({ code: 0, signal: null })
    // stderr is not a terminal here: every line is one structured JSON record.
    const records = lines(s.stderr).map((l) => JSON.parse(l) as { level: number; msg: string; time: number })
    expect(records.length).toBeGreaterThan(0)
    for (const r of records) {
      expect(typeof r.level).toBe('number')
      expect(typeof r.msg).toBe('string')
      expect(typeof r.time).toBe('number')
    }
    const messages = records.map((r) => r.msg)
    expect(messages).toContain('engine started')
    expect(messages.some((m) => m.startsWith('engine stopped'))).toBe(true)
  }, 90_000)

  it('SIGTERM: exit code 0 and no Chromium process it started is left', async () => {
    const s = serveDefaults()
    await waitReady(s)
    const chromium = chromiumDescendants(s.pid)
    expect(chromium.length, 'Chromium processes under the service before SIGTERM').toBeGreaterThan(0)
    s.child.kill('SIGTERM')
    expect(await waitExit(s)).toEqual({ code: 0, signal: null })
    await expectAllGone(chromium)
    // Still exactly the one stdout line.
    expect(lines(s.stdout)).toHaveLength(1)
    // --log-level warn: the info records of start-up and shutdown are not written.
    expect(s.stderr).not.toContain('"level":30')
  }, 90_000)

  it('a port already in use: exit 1 with one line saying so, and the browser it launched is closed', async () => {
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => holder.close())
    const port = (holder.address() as net.AddressInfo).port

    const s = serve(['--port', String(port), '--data-dir', path.join(tempDir(), 'data'), '--log-level', 'warn'])
    // The runtime (and its Chromium) starts before the port is tried: note every Chromium seen meanwhile.
    const seen = new Set<number>()
    const sampler = setInterval(() => {
      for (const pid of chromiumDescendants(s.pid)) seen.add(pid)
    }, 50)
    let result
    try {
      result = await waitExit(s, READY_TIMEOUT_MS)
    } finally {
      clearInterval(sampler)
    }
    expect(result.code).toBe(1)
    const line = expectOneLineError(s.stderr)
    expect(line).toContain('already in use')
    expect(line).toContain(`port ${port} on 127.0.0.1`)
    expect(line).toContain('--port')
    expect(s.stdout).toBe('')
    await expectAllGone([...seen])
  }, 90_000)

  it('--config /nonexistent.json: exit 1 with one line', async () => {
    const s = serveDefaults(['--config', '/nonexistent.json'])
    expect((await waitExit(s)).code).toBe(1)
    const line = expectOneLineError(s.stderr)
    expect(line).toBe('crawldeck: cannot read config file /nonexistent.json: ENOENT (no such file); fix the path given with --config or CRAWLDECK_CONFIG')
    expect(s.stdout).toBe('')
  })

  it('CRAWLDECK_CHROMIUM pointing nowhere: exit 1 with one line that says what to do', async () => {
    const s = serveDefaults([], { CRAWLDECK_CHROMIUM: '/nonexistent/chrome' })
    expect((await waitExit(s)).code).toBe(1)
    const line = expectOneLineError(s.stderr)
    expect(line).toContain('/nonexistent/chrome')
    expect(line).toMatch(/CRAWLDECK_CHROMIUM|apt-get/)
    expect(s.stdout).toBe('')
  })

  it('a bad flag: exit 1 with one line, before anything starts', async () => {
    const s = serveDefaults(['--prot', '80'])
    expect((await waitExit(s)).code).toBe(1)
    expect(expectOneLineError(s.stderr)).toContain('unknown option --prot')
  })

  it('--help: exit 0, lists the options on stdout', async () => {
    const s = serve(['--help'])
    expect((await waitExit(s)).code).toBe(0)
    expect(s.stdout).toContain('--port PORT')
    expect(s.stdout).toContain('CRAWLDECK_PORT')
    expect(s.stdout).toContain('--data-dir DIR')
    expect(s.stderr).toBe('')
  })
})
