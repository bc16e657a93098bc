import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MenuItemConstructorOptions } from 'electron'
import pino from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ProcessIdentity } from '../../src/main/core/chromium/sandbox.js'
import { openLogFile, type LogFile } from '../../src/main/core/log-file.js'
import { startDesktop, type DesktopApp } from '../../src/main/desktop/desktop-app.js'
import type { ErrorSource } from '../../src/main/desktop/crash-handling.js'
import { fake, resetFake, type FakeBrowserWindow, type FakeTray } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

/*
 * The desktop app as a service with a window (electron faked, engine and HTTP real): closing the
 * window keeps everything running, the tray / a second launch / the dock bring a window back,
 * Quit is explicit; start hidden, start at login, the Windows identity and the log folder.
 */

const RENDERER = '/app/out/renderer'
const LINUX: ProcessIdentity = { uid: 1000, platform: 'linux' }
let dir: string | null = null
let logFile: LogFile | null = null
let desktop: DesktopApp | null = null

afterEach(async () => {
  // Only reached with a live engine when a test failed before quitting.
  await desktop?.runtime.close()
  desktop = null
  await logFile?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = null
})

async function boot(opts: { identity?: ProcessIdentity; settings?: Record<string, unknown>; argv?: string[]; hintShownBefore?: boolean } = {}) {
  resetFake()
  dir = mkdtempSync(join(tmpdir(), 'crawldeck-tray-'))
  fake.app.userData = join(dir, 'user')
  fake.app.appData = join(dir, 'config')
  fake.app.isPackaged = true
  mkdirSync(fake.app.userData, { recursive: true })
  if (opts.hintShownBefore) writeFileSync(join(fake.app.userData, 'tray-hint-shown'), 'earlier\n')
  if (opts.settings) writeFileSync(join(fake.app.userData, 'settings.json'), JSON.stringify({ version: 1, settings: opts.settings }))
  logFile = openLogFile({ dir: join(dir, 'logs') })
  const errors = new EventEmitter()
  desktop = await startDesktop({
    logger: pino({ level: 'info', base: { service: 'crawldeck' } }, logFile.stream),
    logFile,
    preload: '/app/out/preload/index.cjs',
    rendererDir: RENDERER,
    trayIcon: '/none.png',
    identity: opts.identity ?? LINUX,
    config: { port: 0, launch_permanent: false, prewarm_pages: 0 },
    errorSource: errors as unknown as ErrorSource,
    argv: opts.argv ?? ['/opt/crawldeck/crawldeck'],
    execPath: '/opt/crawldeck/crawldeck',
  })
  if (!desktop) throw new Error('startDesktop returned null')
  return { desktop, errors }
}

async function quit(): Promise<number> {
  fake.app.quit()
  const code = await fake.app.exited
  desktop = null
  return code
}

const items = (template: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] =>
  template.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? items(i.submenu) : [])])
const click = (item: MenuItemConstructorOptions | undefined) => (item?.click as unknown as (m: object) => void)({})
const trayItem = (label: string) => ((fake.trays[0] as FakeTray).menu?.template as MenuItemConstructorOptions[]).find((i) => i.label === label)
const liveWindows = () => fake.windows.filter((w) => !w.destroyed)
/** The REST API answers, from the engine (its settings service). */
const health = async (d: DesktopApp) => (await fetch(`${d.httpUrl()}/settings`)).status
const update = (d: DesktopApp, patch: Record<string, unknown>) =>
  d.runtime.service.updateSettings(patch, { signal: new AbortController().signal, transport: 'ipc' })

describe('close to tray (the default)', () => {
  it('closing the window keeps the engine and the REST API; tray Open and a second launch bring a window back; Quit is explicit', async () => {
    const { desktop: d } = await boot()
    expect(d.runtime.settings.current().close_to_tray).toBe(true)
    const first = fake.windows[0] as FakeBrowserWindow
    first.close()
    expect(first.destroyed).toBe(true)
    expect(d.window()).toBeNull()
    expect(fake.app.callsOf('quit')).toEqual([])
    expect(fake.app.exitCode).toBeNull()
    expect(await health(d)).toBe(200)
    // Told once where it went; a click on that notification opens the window again.
    expect(fake.notifications.map((n) => n.options.title)).toEqual(['crawldeck is still running in the tray'])
    fake.notifications[0]!.emit('click')
    expect(liveWindows()).toHaveLength(1)
    ;(liveWindows()[0] as FakeBrowserWindow).close()

    // The tray's Open recreates the window (the old one is gone for good).
    click(trayItem('Open crawldeck'))
    const second = liveWindows()[0] as FakeBrowserWindow
    expect(second).not.toBe(first)
    expect(second.loaded).toEqual({ url: 'app://crawldeck/' })
    expect(d.window()).toBe(second)
    second.close()
    // The hint is not repeated.
    expect(fake.notifications).toHaveLength(1)

    // A second launch recreates it too; with a window open it brings that one forward.
    fake.app.emit('second-instance', {}, ['/opt/crawldeck/crawldeck'], '/', {})
    const third = liveWindows()[0] as FakeBrowserWindow
    expect(third).toBeDefined()
    fake.app.emit('second-instance', {}, ['/opt/crawldeck/crawldeck'], '/', {})
    expect(liveWindows()).toEqual([third])
    expect(third.calls).toContain('focus')
    // A login start while running asks for no window.
    third.close()
    fake.app.emit('second-instance', {}, ['/opt/crawldeck/crawldeck', '--hidden'], '/', {})
    expect(liveWindows()).toEqual([])
    expect(await health(d)).toBe(200)

    // Open Log Folder, in the app menu and the tray.
    click(items(fake.applicationMenu?.template ?? []).find((i) => i.label === 'Open Log Folder'))
    click(trayItem('Open Log Folder'))
    expect(fake.openedPaths).toEqual([join(dir!, 'logs'), join(dir!, 'logs')])

    // Quit from the tray: the orderly shutdown, exit 0, the log file flushed and closed.
    const url = d.httpUrl()
    click(trayItem('Quit'))
    expect(await fake.app.exited).toBe(0)
    desktop = null
    await expect(fetch(`${url}/health`)).rejects.toThrow()
    // The log file got the engine's lines and was closed by the shutdown.
    expect(readFileSync(join(dir!, 'logs', 'crawldeck.log'), 'utf8')).toMatch(/"service":"crawldeck"/)
    expect(logFile!.stream.writableFinished).toBe(true)
    // The hint is remembered across starts.
    expect(existsSync(join(fake.app.userData, 'tray-hint-shown'))).toBe(true)
  })

  it('the tray hint is shown once per install, not once per start', async () => {
    // An earlier start showed it (and left its marker in the user-data folder).
    await boot({ hintShownBefore: true })
    ;(fake.windows[0] as FakeBrowserWindow).close()
    expect(fake.app.callsOf('quit')).toEqual([])
    expect(fake.notifications).toEqual([])
    expect(await quit()).toBe(0)
  })
})

describe('close to tray off', () => {
  it('closing the last window quits through the orderly shutdown (Linux, Windows)', async () => {
    const { desktop: d } = await boot()
    const answer = await update(d, { close_to_tray: false })
    expect(answer.applied).toEqual(['close_to_tray'])
    const url = d.httpUrl()
    ;(fake.windows[0] as FakeBrowserWindow).close()
    expect(fake.app.callsOf('quit')).toHaveLength(1)
    expect(await fake.app.exited).toBe(0)
    desktop = null
    await expect(fetch(`${url}/health`)).rejects.toThrow()
    expect(fake.notifications).toEqual([])
  })

  it('on macOS the app stays (in the dock) and activate reopens the window', async () => {
    const { desktop: d } = await boot({ identity: { uid: 501, platform: 'darwin' }, settings: { close_to_tray: false } })
    ;(fake.windows[0] as FakeBrowserWindow).close()
    expect(fake.app.callsOf('quit')).toEqual([])
    expect(fake.notifications).toEqual([])
    expect(await health(d)).toBe(200)
    fake.app.emit('activate')
    expect(liveWindows()).toHaveLength(1)
    // The app menu's Quit (Cmd+Q) is the way out.
    click(items(fake.applicationMenu?.template ?? []).find((i) => i.accelerator === 'CmdOrCtrl+Q'))
    expect(await fake.app.exited).toBe(0)
    desktop = null
  })
})

describe('start hidden and start at login', () => {
  it('start_hidden: no window at boot, the tray and the engine run; a second launch opens the window', async () => {
    const { desktop: d } = await boot({ settings: { start_hidden: true, start_at_login: true } })
    expect(fake.windows).toEqual([])
    expect(fake.trays).toHaveLength(1)
    expect(await health(d)).toBe(200)
    // Start at login on Linux: the autostart file, starting hidden.
    const autostart = join(dir!, 'config', 'autostart', 'crawldeck.desktop')
    expect(readFileSync(autostart, 'utf8')).toContain('\nExec=/opt/crawldeck/crawldeck --hidden\n')
    fake.app.emit('second-instance', {}, ['/opt/crawldeck/crawldeck'], '/', {})
    expect(liveWindows()).toHaveLength(1)
    // Both apply while running.
    const off = await update(d, { start_hidden: false })
    expect(off.applied).toEqual(['start_hidden'])
    expect(readFileSync(autostart, 'utf8')).toContain('\nExec=/opt/crawldeck/crawldeck\n')
    expect((await update(d, { start_at_login: false })).applied).toEqual(['start_at_login'])
    expect(existsSync(autostart)).toBe(false)
    expect(await quit()).toBe(0)
  })

  it('a login start with --hidden opens no window even with start_hidden off', async () => {
    await boot({ argv: ['/opt/crawldeck/crawldeck', '--hidden'] })
    expect(fake.windows).toEqual([])
    expect(fake.trays).toHaveLength(1)
    expect(await quit()).toBe(0)
  })

  it('Windows: the AppUserModelId is set before anything else, and the login item follows the settings', async () => {
    const { desktop: d } = await boot({ identity: { uid: undefined, platform: 'win32' } })
    const names = fake.app.calls.map((c) => c.name)
    expect(names.indexOf('setAppUserModelId')).toBeGreaterThan(-1)
    expect(names.indexOf('setAppUserModelId')).toBeLessThan(names.indexOf('setLoginItemSettings'))
    expect(fake.app.appUserModelId).toBe('dev.crawldeck.app')
    expect(fake.app.loginItemSettings).toEqual([{ openAtLogin: false, path: '/opt/crawldeck/crawldeck', args: [] }])
    await update(d, { start_at_login: true, start_hidden: true })
    expect(fake.app.loginItemSettings.at(-1)).toEqual({ openAtLogin: true, path: '/opt/crawldeck/crawldeck', args: ['--hidden'] })
    expect(existsSync(join(dir!, 'config', 'autostart'))).toBe(false)
    expect(await quit()).toBe(0)
  })
})

describe('crashes on the desktop path', () => {
  it('a gone renderer is reloaded and reported; an uncaught exception is shown and quits through the shutdown (exit 1)', async () => {
    const { desktop: d, errors } = await boot()
    const win = fake.windows[0] as FakeBrowserWindow
    win.webContents.processGone('crashed', 139)
    expect(win.webContents.reloads).toBe(1)
    expect(fake.notifications.map((n) => n.options.title)).toContain('The crawldeck window crashed')
    // A helper process gone: logged only.
    fake.app.emit('child-process-gone', {}, { type: 'GPU', reason: 'crashed', exitCode: 11 })
    const url = d.httpUrl()
    errors.emit('uncaughtException', new Error('boom'), 'uncaughtException')
    expect(fake.errorBoxes.map((b) => b.title)).toEqual(['crawldeck hit an unexpected error and quits'])
    expect(await fake.app.exited).toBe(1)
    desktop = null
    await expect(fetch(`${url}/health`)).rejects.toThrow()
    expect(errors.listenerCount('uncaughtException')).toBe(0)
    // Everything on the way is in the log file, flushed before the exit.
    const lines = readFileSync(join(dir!, 'logs', 'crawldeck.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string })
      .map((l) => l.msg)
    expect(lines).toEqual(
      expect.arrayContaining(['the window renderer is gone', 'a helper process is gone', 'uncaught exception in the main process: crawldeck quits']),
    )
  })
})
