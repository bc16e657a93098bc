import { app, type BrowserWindow } from 'electron'

/**
 * One crawldeck per user: a second one would fight the first for the port, the data dir and a
 * second pool of browsers. Returns false in the second instance (which then quits); the first
 * hears of every other launch attempt (with its arguments) and brings a window back.
 */
export function claimSingleInstance(onSecondLaunch: (argv: readonly string[]) => void): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit()
    return false
  }
  app.on('second-instance', (_event, argv) => onSecondLaunch(argv))
  return true
}

/** Restore if minimised, show if hidden, then focus. A destroyed window is the caller's to recreate. */
export function focusWindow(win: BrowserWindow | null): void {
  if (!win || win.isDestroyed()) return
  if (win.isMinimized()) win.restore()
  win.show()
  win.focus()
}
