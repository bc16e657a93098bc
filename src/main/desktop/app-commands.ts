import type { BrowserWindow } from 'electron'
import { IPC_CHANNELS, type AppCommand } from '../../shared/ipc.js'

/** The tray, the app menu and notifications drive the UI through this one channel. */
export function sendAppCommand(win: BrowserWindow | null, command: AppCommand): boolean {
  if (!win || win.isDestroyed() || win.webContents.isDestroyed()) return false
  win.webContents.send(IPC_CHANNELS.appCommand, command)
  return true
}
