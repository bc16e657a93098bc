import { app, BrowserWindow, screen } from 'electron'
import type { Logger } from '../core/logger.js'
import type { RendererLocation } from './app-url.js'
import { debouncedSaver, MIN_SIZE, readWindowState, restoreBounds, writeWindowState, type WindowState } from './window-state.js'

/*
 * The desktop app's window: created with locked-down webPreferences, its bounds and maximised state
 * restored at start and saved (debounced) as they change.
 */

export interface MainWindowDeps {
  /** Absolute path of the built preload (out/preload/index.cjs). */
  preload: string
  renderer: RendererLocation
  /** window-state.json in the user-data dir. */
  stateFile: string
  logger: Logger
  /** Quiet time before a move/resize is written (default 500 ms). */
  saveDelayMs?: number
}

/**
 * The one window. Its webPreferences are written out literally (not built elsewhere and spread
 * in) so Electronegativity's static checks can see every one of them.
 */
export function createMainWindow(deps: MainWindowDeps): BrowserWindow {
  const displays = screen.getAllDisplays().map((d) => d.workArea)
  const bounds = restoreBounds(readWindowState(deps.stateFile), displays)
  const win = new BrowserWindow({
    x: bounds.x,
    y: bounds.y,
    width: bounds.width,
    height: bounds.height,
    minWidth: MIN_SIZE.width,
    minHeight: MIN_SIZE.height,
    show: false,
    title: 'crawldeck',
    backgroundColor: '#0b0f14',
    webPreferences: {
      preload: deps.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      // Middle-click would otherwise ask for a new window; the window-open handler denies those
      // anyway, this closes the door one step earlier.
      disableBlinkFeatures: 'Auxclick',
      // A packaged build has no DevTools at all (the menu offers none either, see app-menu.ts);
      // an unpackaged run keeps them for development.
      devTools: !app.isPackaged,
    },
  })
  if (bounds.maximized) win.maximize()
  win.once('ready-to-show', () => win.show())

  // The normal bounds are kept while maximised, so un-maximising next time lands where it was.
  let last: WindowState = bounds
  const save = () => {
    try {
      writeWindowState(deps.stateFile, last)
    } catch (err) {
      deps.logger.warn({ err, file: deps.stateFile }, 'could not save the window state')
    }
  }
  const capture = () => {
    if (win.isDestroyed()) return
    const maximized = win.isMaximized()
    const normal = maximized ? last : win.getNormalBounds()
    last = { x: normal.x, y: normal.y, width: normal.width, height: normal.height, maximized }
  }
  const saver = debouncedSaver(save, deps.saveDelayMs ?? 500)
  const onChange = () => {
    capture()
    saver.schedule()
  }
  for (const event of ['move', 'resize', 'maximize', 'unmaximize'] as const) win.on(event as 'move', onChange)
  win.on('close', () => {
    capture()
    saver.flush()
  })

  // app://crawldeck/ (served by the app's protocol handler) or the dev server; never file://.
  const load = win.loadURL(deps.renderer.url)
  load.catch((err: unknown) => deps.logger.error({ err }, 'the window could not load the control center'))
  return win
}
