import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MenuItemConstructorOptions } from 'electron'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { IPC_CHANNELS } from '../../src/shared/ipc.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { readMemoryUsage } from '../../src/main/core/system/memory.js'
import { isAlive, processTree } from '../../src/main/core/system/process-tree.js'
import { startDesktop, type DesktopApp } from '../../src/main/desktop/desktop-app.js'
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { waitFor } from '../helpers/service.js'
import { fake, resetFake, type FakeBrowserWindow, type FakeTray } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

/*
 * The whole desktop shell around a real engine (real Chromium, real Koa on 127.0.0.1), with only
 * electron faked: what the window, tray and menu are wired to, and that quitting closes every
 * browser and flushes the monitor history.
 */

const RENDERER = '/app/out/renderer'
// The app refuses to start as root (tests/desktop/root-refusal.test.ts) and tests often run as
// root: these start it as the ordinary user it is meant to run as.
const USER = { uid: 1000, platform: 'linux' } as const
let userData: string
let fx: FixtureServer
let desktop: DesktopApp | null = null

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterAll(async () => {
  // Only reached with a live engine when a test failed before quitting.
  await desktop?.runtime.close()
  await fx?.close()
  if (userData) rmSync(userData, { recursive: true, force: true })
})

const items = (template: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
  template.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? items(i.submenu) : [])])
const click = (item: MenuItemConstructorOptions | undefined, menuItem: object = {}) => (item?.click as unknown as (m: object) => void)(menuItem)
const appCommands = (win: FakeBrowserWindow) => win.webContents.sent.filter((s) => s.channel === IPC_CHANNELS.appCommand).map((s) => s.args[0])

describe('desktop app (electron faked, engine real)', () => {
  it('a second instance quits without starting an engine or a window', async () => {
    resetFake()
    fake.app.lockGranted = false
    expect(await startDesktop({ logger: silentLogger(), preload: '/p.cjs', rendererDir: RENDERER, trayIcon: '/none.png', identity: USER })).toBeNull()
    expect(fake.windows).toHaveLength(0)
    expect(fake.app.callsOf('quit')).toHaveLength(1)
  })

  it('boots, wires window, IPC door, HTTP, menu, tray and notifications; quitting closes every browser and flushes stats', async () => {
    resetFake()
    userData = mkdtempSync(join(tmpdir(), 'crawldeck-desktop-'))
    fake.app.userData = userData
    desktop = await startDesktop({
      logger: silentLogger(),
      preload: '/app/out/preload/index.cjs',
      rendererDir: RENDERER,
      trayIcon: '/none.png',
      identity: USER,
      config: { port: 0 },
    })
    if (!desktop) throw new Error('startDesktop returned null with the lock granted')
    const { runtime } = desktop
    // Temp folders (browser profiles) in a run folder of the app's own, gone after the quit.
    const runDir = process.env.TMPDIR as string
    expect(runDir).toMatch(/[\\/]crawldeck-[^\\/]+[\\/]run-\d+-[^\\/]+$/)
    expect(readdirSync(runDir).some((n) => n.startsWith('playwright'))).toBe(true)

    // Window: hardened (the web-contents-created hook ran), loading the built renderer.
    expect(fake.windows).toHaveLength(1)
    const win = fake.windows[0] as FakeBrowserWindow
    expect(win.loaded).toEqual({ url: 'app://crawldeck/' })
    // app:// registered as a privileged standard, secure scheme before 'ready', then handled.
    expect(fake.privilegedSchemes).toEqual([
      { schemes: [{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true, bypassCSP: false }) }], afterReady: false },
    ])
    expect([...fake.protocolHandlers.keys()]).toEqual(['app'])
    expect(win.webContents.windowOpenHandler).not.toBeNull()
    expect(fake.defaultSession.permissionRequestHandler).not.toBeNull()
    // The IPC door answers on the shared channels.
    expect(fake.ipcMain.handlers.has(IPC_CHANNELS.call)).toBe(true)
    expect(fake.ipcMain.handlers.has(IPC_CHANNELS.appInfo)).toBe(true)

    // Koa for remote use, on the engine the window uses.
    const httpUrl = desktop.httpUrl()
    expect(httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const md = await fetch(`${httpUrl}/md`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: fx.url('/') }) })
    expect(md.status).toBe(200)

    // Settings switch the HTTP server off and on again without a restart.
    const off = await runtime.service.updateSettings({ http_enabled: false }, { signal: new AbortController().signal, transport: 'ipc' })
    expect(off.restart_required).not.toContain('http_enabled')
    expect(desktop.httpUrl()).toBeNull()
    await expect(fetch(`${httpUrl}/health`)).rejects.toThrow()
    await runtime.service.updateSettings({ http_enabled: true }, { signal: new AbortController().signal, transport: 'ipc' })
    expect(desktop.httpUrl()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    // Tray: the pool summary from the engine, and its actions reach the window and the engine.
    const tray = fake.trays[0] as FakeTray
    await waitFor(() => tray.tooltip.includes('1 permanent'), 30_000)
    const trayItem = (label: string) => (tray.menu?.template as MenuItemConstructorOptions[]).find((i) => i.label === label)
    click(trayItem('Pause live updates'), { checked: true })
    expect(appCommands(win)).toEqual([{ type: 'set-live-paused', paused: true }])
    expect(trayItem('Pause live updates')?.checked).toBe(true)
    const cleaned = new Promise((resolve) => runtime.events.on('browser:cleanup', resolve))
    click(trayItem('Force cleanup'))
    await cleaned

    // App menu: shortcuts drive the window.
    const menu = items(fake.applicationMenu?.template ?? [])
    click(menu.find((i) => i.accelerator === 'CmdOrCtrl+P'))
    click(menu.find((i) => i.accelerator === 'CmdOrCtrl+,'))
    expect(appCommands(win).slice(1)).toEqual([
      { type: 'set-live-paused', paused: false },
      { type: 'navigate', view: 'settings' },
    ])

    // Notifications: a crash of a browser is shown natively.
    runtime.events.emit('browser:crashed', { id: 'x', sig: 'deadbeefdeadbeef', tier: 'cold', leases: 0 })
    expect(fake.notifications.map((n) => n.options.title)).toContain('A browser crashed')

    // Quit: every process of every browser is gone and the history is on disk.
    const pids = (await Promise.all(runtime.pool.list().map((b) => processTree(b.pid as number)))).flat().filter(isAlive)
    expect(pids.length).toBeGreaterThan(0)
    fake.app.quit()
    fake.app.quit()
    expect(await fake.app.exited).toBe(0)
    expect(fake.app.callsOf('exit')).toEqual([[0]])
    expect(pids.filter(isAlive)).toEqual([])
    expect(runtime.pool.list()).toEqual([])
    expect(existsSync(runDir)).toBe(false)
    expect(process.env.TMPDIR).not.toBe(runDir)
    const stored = join(userData, 'data', 'monitor.json')
    expect(existsSync(stored)).toBe(true)
    const history = JSON.parse(readFileSync(stored, 'utf8'))
    expect(history.endpoints['/md'].count).toBe(1)
    // Written after the pool closed: the shutdown closes themselves are in the stored history.
    expect(
      history.janitor.filter((e: { type: string; details: { reason?: string } }) => e.type === 'close' && e.details.reason === 'shutdown').length,
    ).toBeGreaterThan(0)
    expect(tray.destroyed).toBe(true)
    expect(fake.ipcMain.handlers.has(IPC_CHANNELS.call)).toBe(false)
    desktop = null
  })

  it('a quit during start-up closes the engine being started and opens no window', async () => {
    resetFake()
    const dir = mkdtempSync(join(tmpdir(), 'crawldeck-desktop-'))
    fake.app.userData = dir
    try {
      // Quit from inside createRuntime: its first memory reading happens while the engine starts.
      let quitSent = false
      const readMemory = () => {
        if (!quitSent) {
          quitSent = true
          queueMicrotask(() => fake.app.quit())
        }
        return readMemoryUsage()
      }
      const starting = startDesktop({
        logger: silentLogger(),
        preload: '/p.cjs',
        rendererDir: RENDERER,
        trayIcon: '/none.png',
        identity: USER,
        config: { port: 0 },
        runtimeDeps: { readMemory },
      })
      expect(await starting).toBeNull()
      expect(await fake.app.exited).toBe(0)
      expect(fake.windows).toHaveLength(0)
      expect(fake.trays).toHaveLength(0)
      expect(quitSent).toBe(true)
      // The permanent browser it launched was closed by the shutdown, and that is on disk.
      const history = JSON.parse(readFileSync(join(dir, 'data', 'monitor.json'), 'utf8'))
      const types = history.janitor.map((e: { type: string; details: { reason?: string } }) => `${e.type}:${e.details.reason ?? ''}`)
      expect(types).toEqual(['launch:', 'close:shutdown'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
