import { fork, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildShipped, repo, type ShippedBuild } from './shipped-build.js'

/*
 * The main process that ships (out/main/index.js from `electron-vite build`) imported by plain Node
 * in a child process, `electron` mapped to the test fake by a module resolve hook
 * (fixtures/shipped-main/). Unchanged, it must start on the fake's 'ready', register app:// as a
 * privileged scheme, open the window on app://crawldeck/, run the engine and the HTTP door on
 * 127.0.0.1 with a temp data dir, and end with exit code 0 when the fake app quits.
 */

let build: ShippedBuild
let userData: string
let child: ChildProcess
let stderr = ''
const messages: any[] = []
const waiters: Array<{ type: string; resolve: (m: any) => void }> = []

function next(type: string): Promise<any> {
  const found = messages.find((m) => m.type === type)
  if (found) {
    messages.splice(messages.indexOf(found), 1)
    return Promise.resolve(found)
  }
  return new Promise((resolve, reject) => {
    waiters.push({ type, resolve })
    child.once('exit', (code) => reject(new Error(`the main process exited (${code}) before '${type}':\n${stderr.slice(-4000)}`)))
  })
}

/** The desktop app refuses to run as root (root-refusal.ts): as root, the test runs it as nobody. */
const asRoot = process.getuid?.() === 0
const NOBODY = 65534

function forkMain(opts: { as?: number }): ChildProcess {
  const tsx = createRequire(import.meta.url).resolve('tsx')
  return fork(join(build.out, 'main/index.js'), [], {
    cwd: build.dir,
    execArgv: ['--import', tsx, '--import', join(repo, 'tests/desktop/fixtures/shipped-main/register.mjs')],
    env: { ...process.env, HOME: userData, CRAWLDECK_TEST_USER_DATA: userData, CRAWLDECK_LOG_LEVEL: 'info', ELECTRON_RENDERER_URL: 'http://127.0.0.1:9/' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    ...(opts.as === undefined ? {} : { uid: opts.as, gid: opts.as }),
  })
}

beforeAll(async () => {
  build = await buildShipped('crawldeck-shipped-main-')
  userData = mkdtempSync(join(tmpdir(), 'crawldeck-shipped-main-data-'))
  // Settings as a user could have saved them: the HTTP door on a free port of 127.0.0.1 only.
  writeFileSync(join(userData, 'settings.json'), JSON.stringify({ version: 1, settings: { host: '127.0.0.1', port: 0, http_enabled: true, redis_url: null } }))
  if (asRoot) {
    chmodSync(build.dir, 0o755)
    chownSync(userData, NOBODY, NOBODY)
    chownSync(join(userData, 'settings.json'), NOBODY, NOBODY)
  }
  child = forkMain(asRoot ? { as: NOBODY } : {})
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.on('message', (m: any) => {
    const w = waiters.find((x) => x.type === m?.type)
    if (w) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(m)
    } else messages.push(m)
  })
}, 180_000)

afterAll(() => {
  if (child && child.exitCode === null && child.pid) child.kill('SIGKILL')
  build?.remove()
  if (userData) rmSync(userData, { recursive: true, force: true })
})

describe('out/main/index.js under Node, electron faked', () => {
  let started: any

  it('starts: app:// registered before ready and handled, the window on app://crawldeck/ without DevTools', async () => {
    started = (await next('started')).state
    expect(started.privilegedSchemes).toEqual([
      {
        schemes: [{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true, supportFetchAPI: true, bypassCSP: false }) }],
        afterReady: false,
      },
    ])
    expect(started.protocolHandlers).toEqual(['app'])
    expect(started.windows).toBe(1)
    // Packaged: ELECTRON_RENDERER_URL (set above) is ignored, nothing but the app protocol is loaded.
    expect(started.loaded).toEqual({ url: 'app://crawldeck/' })
    expect(started.webPreferences).toMatchObject({ preload: join(build.out, 'preload/index.cjs'), sandbox: true, contextIsolation: true, devTools: false })
    expect(existsSync(started.webPreferences.preload)).toBe(true)
    expect(started.menu).not.toMatch(/toggleDevTools|"reload"/)
    expect(started.ipcHandlers.length).toBeGreaterThan(0)
    expect(started.errorBoxes).toEqual([])
  }, 180_000)

  it('serves the built renderer through the handler main registered', async () => {
    child.send({ type: 'serve', url: 'app://crawldeck/' })
    const home = await next('served')
    expect(home.status).toBe(200)
    expect(home.contentType).toBe('text/html; charset=utf-8')
    expect(home.csp).toMatch(/default-src 'self'/)
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(home.body)?.[1]
    expect(script).toBeDefined()
    child.send({ type: 'serve', url: `app://crawldeck/${script}` })
    expect(await next('served')).toMatchObject({ status: 200, contentType: 'text/javascript; charset=utf-8' })
    child.send({ type: 'serve', url: 'app://crawldeck/%2e%2e/main/index.js' })
    expect((await next('served')).status).toBe(404)
    child.send({ type: 'serve', url: 'app://crawldeck/..%2fmain%2findex.js' })
    expect((await next('served')).status).toBe(400)
  })

  it('runs the engine behind the HTTP door on 127.0.0.1, with its data in the temp user data', async () => {
    const url = /HTTP server listening[^\n]*?(http:\/\/127\.0\.0\.1:\d+)|(http:\/\/127\.0\.0\.1:\d+)[^\n]*HTTP server listening/.exec(stderr)
    const httpUrl = url?.[1] ?? url?.[2]
    expect(httpUrl, stderr.slice(-2000)).toBeDefined()
    const health = await fetch(`${httpUrl}/health`)
    expect(health.status).toBe(200)
    expect(readdirSync(userData)).toEqual(expect.arrayContaining(['data', 'logs', 'settings.json']))
    ;(started as { httpUrl?: string }).httpUrl = httpUrl
  })

  it.runIf(asRoot)('refuses to start as root: exit code 1 before any engine or window', async () => {
    const rootChild = forkMain({})
    const said: any[] = []
    rootChild.on('message', (m) => said.push(m))
    const code = await new Promise<number | null>((resolve) => rootChild.once('exit', (c) => resolve(c)))
    expect(code).toBe(1)
    expect(said).toEqual([{ type: 'exited', code: 1 }])
  })

  it("quits cleanly on the fake's quit: exit code 0, the HTTP door closed", async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.send({ type: 'quit' })
    expect(await next('exited')).toEqual({ type: 'exited', code: 0 })
    expect(await exited).toBe(0)
    await expect(fetch(`${(started as { httpUrl: string }).httpUrl}/health`)).rejects.toThrow()
    expect(stderr).not.toMatch(/could not start|uncaught/i)
  }, 120_000)
})
