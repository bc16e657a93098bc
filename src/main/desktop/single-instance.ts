import { app, type BrowserWindow } from 'electron'

/**
 * One crawldeck per user: a second one would fight the first for the port, the data dir and a
 * second pool of browsers. Returns false in the second instance (which then quits); the first
 * brings its window forward whenever another launch is attempted.
 */
export function claimSingleInstance(getWindow: () => BrowserWindow | null): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit()
    return false
  }
  app.on('second-instance', () => focusWindow(getWindow()))
  return true
}

/** Restore if minimised, show if hidden (tray), then focus. */
export function focusWindow(win: BrowserWindow | null): void {
  if (!win || win.isDestroyed()) return
  if (win.isMinimized()) win.restore()
  win.show()
  win.focus()
}
