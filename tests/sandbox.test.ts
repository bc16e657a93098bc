import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OPERATOR_UNSANDBOXED_WARNING, ROOT_UNSANDBOXED_WARNING, SANDBOX_UNAVAILABLE_HINT, sandboxPolicy } from '../src/main/core/chromium/sandbox.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { chromiumDescendants, cleanEnv, cleanups, descendants, readStat, ROOT, serve, waitExit, waitReady, type Served } from './helpers/serve-process.js'
import { startService, waitFor } from './helpers/service.js'

/*
 * Chromium's sandbox: on whenever the service is not root, off (with --no-sandbox, which Chromium
 * needs as root) and said so in the log and /health when it is. The integration tests read the
 * browsers' processes from /proc: their command lines, their seccomp mode and their namespaces.
 */

const isRoot = process.getuid?.() === 0
const NOBODY = { uid: 65534, gid: 65534 }

let fx: FixtureServer

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterAll(async () => {
  await fx?.close()
})

/** The command line as one string: a renderer rewrites its own into a single space-separated one. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
  } catch {
    return ''
  }
}

function statusField(pid: number, field: string): string | null {
  try {
    return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? null
  } catch {
    return null
  }
}

describe('sandboxPolicy', () => {
  it('turns the sandbox off only for root on Linux-like systems, with a warning that says how to avoid it', () => {
    expect(sandboxPolicy({ uid: 1000, platform: 'linux' })).toEqual({ sandbox: true, warning: null })
    expect(sandboxPolicy({ uid: 65534, platform: 'linux' })).toEqual({ sandbox: true, warning: null })
    expect(sandboxPolicy({ uid: 501, platform: 'darwin' })).toEqual({ sandbox: true, warning: null })
    // Chromium sandboxes as root on macOS; Windows has no getuid at all.
    expect(sandboxPolicy({ uid: 0, platform: 'darwin' })).toEqual({ sandbox: true, warning: null })
    expect(sandboxPolicy({ uid: undefined, platform: 'win32' })).toEqual({ sandbox: true, warning: null })
    expect(sandboxPolicy({ uid: 0, platform: 'linux' })).toEqual({ sandbox: false, warning: ROOT_UNSANDBOXED_WARNING })
    expect(sandboxPolicy({ uid: 0, platform: 'freebsd' }).sandbox).toBe(false)
    expect(ROOT_UNSANDBOXED_WARNING).toMatch(/runs as root/)
    expect(ROOT_UNSANDBOXED_WARNING).toMatch(/ordinary user .*non-root USER/)
  })

  it("reports the operator's own --no-sandbox the same way", () => {
    expect(sandboxPolicy({ uid: 1000, platform: 'linux' }, ['--lang=fr', '--no-sandbox'])).toEqual({ sandbox: false, warning: OPERATOR_UNSANDBOXED_WARNING })
    expect(sandboxPolicy({ uid: 1000, platform: 'linux' }, ['--lang=fr'])).toEqual({ sandbox: true, warning: null })
    // As root the reason is root.
    expect(sandboxPolicy({ uid: 0, platform: 'linux' }, ['--no-sandbox'])).toEqual({ sandbox: false, warning: ROOT_UNSANDBOXED_WARNING })
  })
})

describe('as root', () => {
  it('browsers run unsandboxed, and the start-up log and /health say so once, with status still ok', async (ctx) => {
    if (!isRoot) ctx.skip('this test process is not root: browsers are sandboxed here, nothing to warn about')
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
    const s = await startService({}, { logger })
    try {
      const pid = s.runtime.pool.permanent()?.pid
      if (pid == null) throw new Error('no permanent browser pid')
      expect(cmdline(pid)).toContain('--no-sandbox')
      const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((r) => r.msg === ROOT_UNSANDBOXED_WARNING)
      expect(warnings).toEqual([expect.objectContaining({ level: 40 })])
      const health = await s.get('/health')
      expect(health.body.status).toBe('ok')
      expect(health.body.problems).toEqual([ROOT_UNSANDBOXED_WARNING])
    } finally {
      await s.close()
    }
  })
})

describe('as an ordinary user (the service started as nobody)', () => {
  it('every browser process runs without --no-sandbox and the renderer is sandboxed (seccomp-bpf, own namespaces)', async (ctx) => {
    if (!isRoot) ctx.skip('starting the service as another user (nobody) needs root, and this test process is not root')
    // nobody's HOME, TMPDIR and data dir: Chromium writes its profile and shared memory there.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-nobody-'))
    chmodSync(dir, 0o777)
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const s = serve(['--port', '0', '--data-dir', path.join(dir, 'data'), '--log-level', 'warn'], { HOME: dir, TMPDIR: dir }, NOBODY)
    const { url } = await waitReady(s)
    expect(readStat(s.pid)).not.toBeNull()
    expect(statusField(s.pid, 'Uid')?.split(/\s+/)[0]).toBe('65534')

    // A crawl held open at its page: its renderer is alive while we look.
    const gate = fx.gate('sandboxed')
    const crawl = fetch(`${url}/md`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: fx.url('/gate/sandboxed') }),
    })
    await gate.reached

    const procs = chromiumDescendants(s.pid).map((pid) => ({ pid, cmd: cmdline(pid) }))
    const browser = procs.find((p) => p.cmd.includes('--crawldeck-browser='))
    const renderers = procs.filter((p) => p.cmd.includes('--type=renderer'))
    expect(browser, `browser among ${JSON.stringify(procs)}`).toBeDefined()
    expect(procs.some((p) => p.cmd.includes('--type=zygote'))).toBe(true)
    expect(renderers.length).toBeGreaterThan(0)
    expect(procs.filter((p) => p.cmd.includes('--no-sandbox'))).toEqual([])
    const browserUserNs = readlinkSync(`/proc/${browser?.pid}/ns/user`)
    for (const r of renderers) {
      // 2: a seccomp-bpf filter (0 would be none); Chromium's Linux sandbox puts every renderer under one.
      expect(statusField(r.pid, 'Seccomp'), `renderer ${r.pid}`).toBe('2')
      expect(statusField(r.pid, 'NoNewPrivs'), `renderer ${r.pid}`).toBe('1')
      // The namespace sandbox: a renderer lives in a user namespace of its own, not the browser's.
      expect(readlinkSync(`/proc/${r.pid}/ns/user`), `renderer ${r.pid}`).not.toBe(browserUserNs)
    }

    gate.release()
    const res = await crawl
    expect(res.status).toBe(200)
    expect(((await res.json()) as { markdown: string }).markdown).toContain('Gate sandboxed released')

    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; problems: string[] }
    expect(health).toMatchObject({ status: 'ok', problems: [] })
    expect(s.stderr).not.toContain('sandbox')

    s.child.kill('SIGTERM')
    expect(await waitExit(s)).toEqual({ code: 0, signal: null })
  }, 120_000)
})

/**
 * The service as nobody, in a user namespace of its own (ids mapped one to one) whose limit on
 * further user namespaces is 0: what a machine or container without unprivileged user namespaces
 * looks like to Chromium, which then has no sandbox to start.
 */
function serveWithoutUserNamespaces(dir: string): Served {
  const fifo = path.join(dir, 'go')
  spawnSync('mkfifo', [fifo])
  const inner = [
    'echo 0 > /proc/sys/user/max_user_namespaces',
    `exec setpriv --reuid=65534 --regid=65534 --clear-groups ${process.execPath} --import tsx src/main/serve.ts --port 0 --data-dir ${path.join(dir, 'data')} --log-level warn`,
  ].join(' && ')
  // sh waits for the id maps, then execs again so that it holds its capabilities in the namespace as its root.
  const child = spawn('unshare', ['-U', 'sh', '-c', `read go < ${fifo}; exec sh -c '${inner}'`], {
    cwd: ROOT,
    env: cleanEnv({ HOME: dir, TMPDIR: dir }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (child.pid === undefined) throw new Error('could not spawn unshare')
  const s: Served = {
    child,
    pid: child.pid,
    stdout: '',
    stderr: '',
    exited: false,
    exit: new Promise((resolve) => child.once('exit', (code, signal) => ((s.exited = true), resolve({ code, signal })))),
  }
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (s.stdout += c))
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (s.stderr += c))
  cleanups.push(() => {
    if (s.exited) return
    for (const pid of [...descendants(s.pid), s.pid]) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
  return s
}

describe('where the sandbox cannot start', () => {
  it('an ordinary user without user namespaces: start-up fails with one line that says how to fix it', async (ctx) => {
    if (!isRoot) ctx.skip('making a user namespace without further user namespaces needs root, and this test process is not root')
    for (const tool of ['unshare', 'setpriv', 'mkfifo']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) ctx.skip(`${tool} (util-linux, coreutils) is not installed`)
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-nouserns-'))
    chmodSync(dir, 0o777)
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const s = serveWithoutUserNamespaces(dir)
    const ownUserNs = readlinkSync('/proc/self/ns/user')
    await waitFor(() => readlinkSync(`/proc/${s.pid}/ns/user`) !== ownUserNs, 10_000, 'unshare to enter its user namespace')
    writeFileSync(`/proc/${s.pid}/uid_map`, '0 0 65536')
    writeFileSync(`/proc/${s.pid}/gid_map`, '0 0 65536')
    writeFileSync(path.join(dir, 'go'), 'go\n')

    expect(await waitExit(s)).toEqual({ code: 1, signal: null })
    expect(s.stdout).toBe('')
    const errorLines = s.stderr.split('\n').filter((l) => l.startsWith('crawldeck: '))
    expect(errorLines, s.stderr).toHaveLength(1)
    expect(errorLines[0]).toContain(SANDBOX_UNAVAILABLE_HINT)
  }, 120_000)
})
