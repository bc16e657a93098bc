import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../../src/main/core/logger.js'
import { rendererLocation } from '../../src/main/desktop/app-url.js'
import { createMainWindow } from '../../src/main/desktop/main-window.js'
import { DEFAULT_SIZE, restoreBounds } from '../../src/main/desktop/window-state.js'
import { fake, resetFake, type FakeBrowserWindow } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

let dir: string
let stateFile: string
const logger = silentLogger()
const PRELOAD = '/app/out/preload/index.cjs'
const RENDERER = '/app/out/renderer'

beforeEach(() => {
  resetFake()
  dir = mkdtempSync(join(tmpdir(), 'crawldeck-window-'))
  stateFile = join(dir, 'window-state.json')
})

afterEach(() => {
  vi.useRealTimers()
  rmSync(dir, { recursive: true, force: true })
})

function open(renderer = rendererLocation({ root: RENDERER })): FakeBrowserWindow {
  createMainWindow({ preload: PRELOAD, renderer, stateFile, logger, saveDelayMs: 500 })
  const win = fake.windows.at(-1)
  if (!win) throw new Error('no window was created')
  return win
}

describe('main window', () => {
  it('is isolated, sandboxed, without Node, with web security and our preload', () => {
    const prefs = open().options.webPreferences
    expect(prefs).toMatchObject({
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
  })

  it('loads only app://crawldeck/ (the built renderer through the app protocol) in production and only the dev server URL in development', () => {
    expect(open().loaded).toEqual({ url: 'app://crawldeck/' })
    expect(open(rendererLocation({ root: RENDERER, devUrl: 'http://localhost:5173' })).loaded).toEqual({ url: 'http://localhost:5173/' })
    // An empty variable is no dev server; a non-web scheme is refused rather than loaded.
    expect(rendererLocation({ root: RENDERER, devUrl: '' })).toEqual({ kind: 'app', url: 'app://crawldeck/', root: RENDERER })
    expect(() => rendererLocation({ root: RENDERER, devUrl: 'file:///etc/passwd' })).toThrow(/http/)
    expect(() => rendererLocation({ root: RENDERER, devUrl: 'javascript:alert(1)' })).toThrow(/http/)
  })

  it('has DevTools only when the app is not packaged', () => {
    expect(open().options.webPreferences.devTools).toBe(true)
    fake.app.isPackaged = true
    expect(open().options.webPreferences.devTools).toBe(false)
  })

  it('restores the saved size and position', () => {
    writeFileSync(stateFile, JSON.stringify({ x: 100, y: 80, width: 1000, height: 700, maximized: false }))
    const win = open()
    expect(win.options).toMatchObject({ x: 100, y: 80, width: 1000, height: 700 })
    expect(win.calls).not.toContain('maximize')
  })

  it('re-maximises a window that was closed maximised', () => {
    writeFileSync(stateFile, JSON.stringify({ x: 100, y: 80, width: 1000, height: 700, maximized: true }))
    expect(open().calls).toContain('maximize')
  })

  it('clamps saved bounds to a connected display (a monitor unplugged since, a window bigger than the screen)', () => {
    fake.displays = [{ workArea: { x: 0, y: 0, width: 1366, height: 728 } }]
    // Last on a second monitor to the right that is gone now: centred on the remaining one.
    writeFileSync(stateFile, JSON.stringify({ x: 2500, y: 100, width: 1000, height: 700, maximized: false }))
    expect(open().options).toMatchObject({ x: 183, y: 14, width: 1000, height: 700 })
    // Half off the bottom-right edge and too large: shrunk to the work area and moved inside.
    writeFileSync(stateFile, JSON.stringify({ x: 900, y: 500, width: 1600, height: 900, maximized: false }))
    expect(open().options).toMatchObject({ x: 0, y: 0, width: 1366, height: 728 })
    // On the second of two displays: stays there, pulled fully inside it.
    fake.displays = [{ workArea: { x: 0, y: 0, width: 1920, height: 1040 } }, { workArea: { x: 1920, y: 0, width: 1280, height: 1000 } }]
    writeFileSync(stateFile, JSON.stringify({ x: 2800, y: 50, width: 800, height: 600, maximized: false }))
    expect(open().options).toMatchObject({ x: 2400, y: 50, width: 800, height: 600 })
  })

  it('opens at the default size, centred, without a state file or with a corrupt one', () => {
    expect(open().options).toMatchObject({ width: DEFAULT_SIZE.width, height: DEFAULT_SIZE.height, x: 320, y: 120 })
    writeFileSync(stateFile, '{"x": "left"')
    expect(open().options).toMatchObject({ width: DEFAULT_SIZE.width, height: DEFAULT_SIZE.height })
    expect(restoreBounds(null, [])).toMatchObject({ width: DEFAULT_SIZE.width, height: DEFAULT_SIZE.height })
  })

  it('saves moves and resizes debounced, and at once on close', () => {
    vi.useFakeTimers()
    const win = open()
    win.moveTo({ x: 10 })
    win.moveTo({ x: 20 })
    win.bounds = { ...win.bounds, width: 900 }
    win.emit('resize')
    vi.advanceTimersByTime(499)
    // A drag fires many events: nothing is written until it has been quiet for the delay.
    expect(existsSync(stateFile)).toBe(false)
    vi.advanceTimersByTime(1)
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ x: 20, width: 900, maximized: false })

    win.moveTo({ x: 30, y: 40 })
    win.emit('close')
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ x: 30, y: 40, width: 900 })
  })

  it('keeps the normal bounds while maximised, and remembers it was maximised', () => {
    const win = open()
    win.moveTo({ x: 50, y: 60 })
    win.maximized = true
    win.bounds = { x: 0, y: 0, width: 1920, height: 1040 }
    win.emit('maximize')
    win.emit('close')
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ x: 50, y: 60, maximized: true })
  })
})
