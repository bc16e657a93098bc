import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_ALERT_SETTINGS } from '../../src/shared/alert-settings.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { configSignature, normaliseBrowserConfig } from '../../src/main/core/pool/signature.js'
import { createRuntime } from '../../src/main/core/runtime.js'
import { tokenDigest } from '../../src/main/core/settings/model.js'
import { Authenticator } from '../../src/main/http/auth.js'
import type { SettingsChange } from '../../src/main/core/service/settings-service.js'
import type { MemoryReading } from '../../src/main/core/system/memory.js'
import type { HealthResponse } from '../../src/shared/api-types.js'
import type { SettingsAnswer } from '../../src/shared/settings.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { TestScope, waitFor, type TestService } from '../helpers/service.js'

/*
 * Settings applied through the real engine and real HTTP: GET/POST /settings, memory threshold and
 * idle TTL applied to the running pool and janitor, restart-only keys reported, tokens masked,
 * the onChange hook for the desktop shell, and saved values used by the next start.
 */

const ADMIN = 'admin-secret-token-A1b2'
const READ = 'read-secret-token-Z9y8'

let fx: FixtureServer
const scope = new TestScope(() => fx)
let s: TestService
let settingsDir: string
const percent = 50
const readMemory = (): MemoryReading => ({ percent, used_bytes: percent * 1e8, limit_bytes: 100 * 1e8, source: 'cgroup2' })

beforeAll(async () => {
  fx = await startFixtureServer()
  // Like the desktop app: settings.json in its own directory (Electron's userData), not the data dir.
  settingsDir = await mkdtemp(join(tmpdir(), 'crawldeck-userdata-'))
  s = await scope.serve({ launch_permanent: false }, { readMemory, settingsDir })
})

afterAll(async () => {
  await scope.closeAll()
  await fx?.close()
  await rm(settingsDir, { recursive: true, force: true })
})

const md = (viewport_width: number) => s.postJson('/md', { url: fx.url('/'), browser_config: { viewport_width } })
const save = (patch: unknown) => s.postJson<SettingsAnswer & { code?: string; details?: Array<{ path: string; message: string }> }>('/settings', patch)
const savedFile = async () => JSON.parse(await readFile(join(settingsDir, 'settings.json'), 'utf8')) as { version: number; settings: Record<string, unknown> }
const launchesOf = (width: number) =>
  s.eventsOf('browser:launching').filter((e) => e.sig === configSignature(normaliseBrowserConfig({ viewport_width: width })))

describe('settings on a running engine', () => {
  it('GET /settings answers the engine defaults with nothing pending', async () => {
    const res = await s.get<SettingsAnswer>('/settings')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      settings: {
        http_enabled: true,
        host: '127.0.0.1',
        port: 0,
        redis_url: null,
        memory_threshold_percent: 95,
        idle_ttl_seconds: 300,
        chromium_path: null,
        tokens: { admin: [], crawl: [], read: [] },
        notifications: { crash: true, memory_high: true, error_burst: true },
        alerts: DEFAULT_ALERT_SETTINGS,
        close_to_tray: true,
        start_at_login: false,
        start_hidden: false,
      },
      applied: [],
      restart_required: [],
    })
  })

  it('a new memory threshold refuses the next browser launch at once, and lifts it again', async () => {
    const first = await md(851)
    expect(first.status).toBe(200)
    expect(first.body.markdown).toContain(FIXTURE_TEXT.homeUnique)

    const lowered = await save({ memory_threshold_percent: 40 })
    expect(lowered.status).toBe(200)
    expect(lowered.body.applied).toEqual(['memory_threshold_percent'])
    expect(lowered.body.restart_required).toEqual([])
    expect((await s.get<SettingsAnswer>('/settings')).body.settings.memory_threshold_percent).toBe(40)

    // 50 % used, threshold 40 %: a config without a browser is refused without a launch...
    const refused = await md(852)
    expect(refused.status).toBe(503)
    expect(refused.body.code).toBe('memory_pressure')
    expect(refused.body.error).toMatch(/40 % threshold/)
    expect(launchesOf(852)).toHaveLength(0)
    expect((await s.get<HealthResponse>('/health')).body.memory.threshold_percent).toBe(40)
    // ...while the running browser still serves.
    expect((await md(851)).status).toBe(200)

    expect((await save({ memory_threshold_percent: 60 })).body.applied).toEqual(['memory_threshold_percent'])
    expect((await md(852)).status).toBe(200)
    expect(launchesOf(852)).toHaveLength(1)
  })

  it('a new idle TTL is the one the janitor uses on its next pass', async () => {
    await waitFor(() => s.runtime.pool.list().every((b) => b.leases === 0), 20_000, 'idle browsers')
    const idle = s.runtime.pool.list().length
    expect(idle).toBeGreaterThanOrEqual(2)
    // 300 s: nothing is that idle yet.
    expect(await s.runtime.janitor.runOnce()).toBe(0)

    const res = await save({ idle_ttl_seconds: 0 })
    expect(res.body.applied).toEqual(['idle_ttl_seconds'])
    expect(s.runtime.janitor.currentPolicy().cold_ttl_seconds).toBe(0)
    // The janitor's own timer may run this pass first; runOnce then shares it. Either way the
    // pass uses the new TTL and closes every idle browser.
    await s.runtime.janitor.runOnce()
    await waitFor(() => s.runtime.pool.list().length === 0, 30_000, 'the idle browsers to close')
    const closed = s.eventsOf('browser:closed').filter((e) => e.reason === 'idle')
    expect(closed).toHaveLength(idle)
    expect(closed.every((e) => e.ttl_seconds === 0)).toBe(true)
    expect(s.eventsOf('janitor:run').at(-1)).toMatchObject({ cold_ttl_seconds: 0, hot_ttl_seconds: 0 })
  })

  it('bind address, port, HTTP on/off and Redis URL are saved but wait for a restart; GET keeps saying so', async () => {
    const res = await save({ host: '0.0.0.0', port: 12_345, http_enabled: false, redis_url: 'redis://127.0.0.1:1' })
    expect(res.status).toBe(200)
    expect(res.body.applied).toEqual([])
    expect(res.body.restart_required).toEqual(['http_enabled', 'host', 'port', 'redis_url'])
    expect(res.body.settings).toMatchObject({ host: '0.0.0.0', port: 12_345, http_enabled: false, redis_url: 'redis://127.0.0.1:1' })
    // Still answering where it was, and the engine's config did not move under it.
    const again = await s.get<SettingsAnswer>('/settings')
    expect(again.body.restart_required).toEqual(['http_enabled', 'host', 'port', 'redis_url'])
    expect(s.runtime.config.port).toBe(0)
    // Back to the running values: nothing is pending any more.
    const back = await save({ host: '127.0.0.1', http_enabled: true, redis_url: null })
    expect(back.body.restart_required).toEqual(['port'])
    expect((await savedFile()).settings).toMatchObject({ port: 12_345, redis_url: null })
  })

  it('never returns tokens whole; saves only their digests; a masked token sent back keeps the saved one', async () => {
    const res = await save({ tokens: { admin: [ADMIN], read: [READ] } })
    expect(res.status).toBe(200)
    expect(res.body.applied).toEqual(['tokens.admin', 'tokens.read'])
    expect(res.body.settings.tokens).toEqual({ admin: ['********A1b2'], crawl: [], read: ['********Z9y8'] })
    const got = await s.get<SettingsAnswer>('/settings')
    expect(JSON.stringify(got.body)).not.toContain(ADMIN)
    expect(JSON.stringify(got.body)).not.toContain(READ)
    expect((await savedFile()).settings.tokens).toEqual({ admin: [tokenDigest(ADMIN)], read: [tokenDigest(READ)] })
    const onDisk = await readFile(join(settingsDir, 'settings.json'), 'utf8')
    expect(onDisk).not.toContain(ADMIN)
    expect(onDisk).not.toContain(READ)
    expect(tokenDigest(ADMIN)).toMatch(/^sha256:[0-9a-f]{64}:A1b2$/)

    // The form sends what it was given (masked) plus a new one.
    const added = await save({ tokens: { admin: ['********A1b2', 'another-admin-token'] } })
    expect(added.body.applied).toEqual(['tokens.admin'])
    expect((await savedFile()).settings.tokens).toEqual({ admin: [tokenDigest(ADMIN), tokenDigest('another-admin-token')], read: [tokenDigest(READ)] })
    expect(s.runtime.settings.current().tokens.admin).toEqual([ADMIN, 'another-admin-token'])

    const unknown = await save({ tokens: { read: ['********nope'] } })
    expect(unknown.status).toBe(400)
    expect(unknown.body.code).toBe('invalid_input')
    expect(unknown.body.details).toEqual([{ path: 'tokens.read.0', message: expect.stringMatching(/full value/) }])
    expect(s.runtime.settings.current().tokens.read).toEqual([READ])
  })

  it('a bad value gets the same 400 as any other bad input, and changes nothing', async () => {
    const before = await savedFile()
    const res = await save({ memory_threshold_percent: 'lots', idle_ttl_seconds: -5, colour: 'pink' })
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('invalid_input')
    expect(res.body.details!.map((d) => d.path).sort()).toEqual(['(body)', 'idle_ttl_seconds', 'memory_threshold_percent'])
    expect((res.body as unknown as { error: string }).error).toMatch(/^invalid input: /)
    expect(await savedFile()).toEqual(before)
    expect(s.runtime.config.memory_threshold_percent).toBe(60)
  })

  it('onChange: the desktop shell gets full values and can put the HTTP keys into effect itself', async () => {
    const seen: SettingsChange[] = []
    const off = s.runtime.settings.onChange((change) => {
      seen.push(change)
      return ['host', 'port']
    })
    try {
      const res = await save({ port: 23_456, notifications: { crash: false } })
      expect(res.body.applied).toEqual(['port', 'notifications.crash'])
      expect(res.body.restart_required).toEqual([])
      expect(s.runtime.config.port).toBe(23_456)
      expect(seen).toHaveLength(1)
      expect(seen[0]!.changed).toEqual(['port', 'notifications.crash'])
      expect(seen[0]!.previous.port).toBe(12_345)
      expect(seen[0]!.settings.tokens.admin).toEqual([ADMIN, 'another-admin-token'])
    } finally {
      off()
    }
    const failing = s.runtime.settings.onChange(() => {
      throw new Error('port in use')
    })
    try {
      const res = await save({ port: 23_457 })
      expect(res.status).toBe(200)
      expect(res.body.applied).toEqual([])
      expect(res.body.restart_required).toEqual(['port'])
    } finally {
      failing()
    }
    // Removed listeners hear nothing more.
    await save({ notifications: { crash: true } })
    expect(seen).toHaveLength(1)
  })

  it('a move from loopback to a reachable address waits for the restart that turns the egress guard on', async () => {
    expect(s.runtime.egress).toBeNull()
    const seen: SettingsChange[] = []
    const off = s.runtime.settings.onChange((change) => {
      seen.push(change)
      return ['host', 'port']
    })
    try {
      const res = await save({ host: '0.0.0.0' })
      expect(res.status).toBe(200)
      expect(res.body.applied).toEqual([])
      expect(res.body.restart_required).toContain('host')
      // The host was not offered to the shell: nothing rebinds beyond loopback while browsers run unguarded.
      expect(seen.every((c) => !c.changed.includes('host') && c.settings.host === '127.0.0.1')).toBe(true)
      expect(s.runtime.config.host).toBe('127.0.0.1')
      // Another loopback address is no such move: offered and applied at once.
      const loop = await save({ host: '127.0.0.2' })
      expect(loop.body.applied).toEqual(['host'])
      expect(seen.at(-1)!.settings.host).toBe('127.0.0.2')
      const back = await save({ host: '127.0.0.1' })
      expect(back.body.applied).toEqual(['host'])
      expect(back.body.restart_required).not.toContain('host')
    } finally {
      off()
    }
  })

  it('the next start uses what was saved, and the saved digests let the tokens in', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-data-'))
    const next = await createRuntime({ data_dir: dataDir, launch_permanent: false, port: 0 }, { logger: silentLogger(), readMemory, settingsDir })
    try {
      expect(next.config).toMatchObject({ memory_threshold_percent: 60, idle_ttl_seconds: 0, port: 23_457, host: '127.0.0.1', redis_url: null })
      const answer = await next.service.settings({}, { signal: new AbortController().signal, transport: 'ipc' })
      expect(answer.restart_required).toEqual([])
      expect(answer.settings.tokens.admin).toEqual(['********A1b2', '********oken'])
      const auth = new Authenticator(() => next.settings.live.tokens)
      expect(auth.scopeOfToken(ADMIN)).toBe('admin')
      expect(auth.scopeOfToken(READ)).toBe('read')
      expect(auth.scopeOfToken(tokenDigest(ADMIN))).toBeNull()
    } finally {
      await next.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

describe('a settings.json from before digests', () => {
  it('is rewritten with digests at start, and its tokens still work', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crawldeck-userdata-old-'))
    const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-data-'))
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ version: 1, settings: { tokens: { admin: [ADMIN], read: [READ] } } }))
    const rt = await createRuntime({ data_dir: dataDir, launch_permanent: false, port: 0 }, { logger: silentLogger(), readMemory, settingsDir: dir })
    try {
      const text = await readFile(join(dir, 'settings.json'), 'utf8')
      expect(text).not.toContain(ADMIN)
      expect(text).not.toContain(READ)
      expect(JSON.parse(text).settings.tokens).toEqual({ admin: [tokenDigest(ADMIN)], read: [tokenDigest(READ)] })
      const auth = new Authenticator(() => rt.settings.live.tokens)
      expect(auth.scopeOfToken(ADMIN)).toBe('admin')
      expect(auth.scopeOfToken(READ)).toBe('read')
    } finally {
      await rt.close()
      await rm(dir, { recursive: true, force: true })
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

describe('npm run serve', () => {
  it('listens on the port saved in settings.json of its data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-serve-settings-'))
    const port = await freePort()
    await writeFile(join(dataDir, 'settings.json'), JSON.stringify({ version: 1, settings: { port } }))
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ launch_permanent: false }))
    const root = fileURLToPath(new URL('../..', import.meta.url))
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/main/serve.ts', '--data-dir', dataDir, '--config', join(dataDir, 'config.json'), '--port', '0', '--log-level', 'silent'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    try {
      await waitFor(() => stdout.includes('\n') || child.exitCode !== null, 60_000, 'the ready line')
      expect(stderr).toBe('')
      expect(stdout).toBe(`crawldeck ready on http://127.0.0.1:${port}\n`)
      const res = await fetch(`http://127.0.0.1:${port}/settings`)
      expect(((await res.json()) as SettingsAnswer).settings.port).toBe(port)
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
      await rm(dataDir, { recursive: true, force: true })
    }
  }, 90_000)
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}
