import { existsSync, writeFileSync } from 'node:fs'
import type { App } from 'electron'
import type { Logger } from '../core/logger.js'

/*
 * What closing the window means. With close_to_tray (the default) crawldeck is a service with a
 * window: closing the window leaves the engine, the REST API and /dashboard running, and the tray,
 * a second launch or (macOS) the dock icon bring a window back. Quitting is explicit: the tray's
 * Quit, the menu's Quit (Cmd/Ctrl+Q), which run the orderly shutdown. With close_to_tray off,
 * closing the last window quits, except on macOS, where an app stays in the dock by convention.
 */

export interface WindowLifecycleDeps {
  app: Pick<App, 'on' | 'quit'>
  platform: NodeJS.Platform
  closeToTray: () => boolean
  /** A quit under way: windows closing then are part of it. */
  isQuitting: () => boolean
  /** Show the window, creating it when it is gone. */
  openWindow: () => void
  /** The first time the app stays in the tray: tell the user where it went. */
  onFirstCloseToTray: () => void
}

export function installWindowLifecycle(deps: WindowLifecycleDeps): void {
  const { app } = deps
  // Listening at all replaces Electron's default, which is to quit here.
  app.on('window-all-closed', () => {
    if (deps.isQuitting()) return
    if (deps.closeToTray()) {
      deps.onFirstCloseToTray()
      return
    }
    if (deps.platform === 'darwin') return
    app.quit()
  })
  // macOS: a click on the dock icon with no window open.
  app.on('activate', () => {
    if (!deps.isQuitting()) deps.openWindow()
  })
}

/**
 * Runs `fn` once per install: a marker file in the user-data folder remembers it was done. A
 * marker that cannot be written only means it may run again next time.
 */
export function oncePerInstall(markerFile: string, fn: () => void, logger: Pick<Logger, 'warn'>): () => void {
  let done = existsSync(markerFile)
  return () => {
    if (done) return
    done = true
    try {
      writeFileSync(markerFile, `${new Date().toISOString()}\n`)
    } catch (err) {
      logger.warn({ err, file: markerFile }, 'could not remember that the tray hint was shown')
    }
    fn()
  }
}

export const TRAY_HINT = {
  title: 'crawldeck is still running in the tray',
  // Some Linux desktops hide tray icons: starting crawldeck again works everywhere.
  body: 'The engine, the REST API and /dashboard keep running. Open the window from the tray icon or by starting crawldeck again; quit from the tray menu.',
} as const
