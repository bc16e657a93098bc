import net from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT_UNSANDBOXED_WARNING } from '../src/main/core/chromium/sandbox.js'
import { chromiumDescendants, cleanups, READY_TIMEOUT_MS, expectAllGone, serve, serveDefaults, tempDir, waitExit, waitReady } from './helpers/serve-process.js'

/*
 * The headless entry as an operator runs it: a real process (node --import tsx src/main/serve.ts), its one
 * stdout line, its exit codes, its one-line errors, and no Chromium left behind.
 */

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '')
}

/** stderr without the start-up warning a service running as root logs (tests/sandbox.test.ts). */
function withoutSandboxWarning(stderr: string): string {
  return lines(stderr)
    .filter((l) => !l.includes(JSON.stringify(ROOT_UNSANDBOXED_WARNING)))
    .join('\n')
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
    // The engine started before the port was tried: as root it warned that browsers are unsandboxed.
    const line = expectOneLineError(withoutSandboxWarning(s.stderr))
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
    // Its own temp root: a test elsewhere that SIGKILLs a service leaves a folder in the shared
    // one, and this start would then rightly log that it swept it, a second line.
    const s = serveDefaults([], { CRAWLDECK_CHROMIUM: '/nonexistent/chrome', TMPDIR: tempDir() })
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
