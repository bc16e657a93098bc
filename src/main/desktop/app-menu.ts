import { app, Menu, type MenuItemConstructorOptions } from 'electron'
import type { AppCommand } from '../../shared/ipc.js'

/*
 * The desktop app's application menu: switching views, pausing live updates and forcing a cleanup,
 * each with a keyboard shortcut, beside the usual File (or macOS app), Edit and Window menus.
 */

type View = Extract<AppCommand, { type: 'navigate' }>['view']

export interface AppMenuActions {
  navigate(view: View): void
  toggleLivePaused(): void
  forceCleanup(): void
  /** The folder of the log files, in the system's file manager. */
  openLogFolder(): void
  quit(): void
}

/**
 * The application menu; its shortcuts are the keyboard way into every desktop action. Reload and
 * DevTools exist only in an unpackaged run (`packaged` false): in a shipped app a reload would
 * only drop the live state, and DevTools are a console into the renderer's privileges.
 */
export function appMenuTemplate(
  actions: AppMenuActions,
  platform: NodeJS.Platform = process.platform,
  opts: { packaged: boolean } = { packaged: app.isPackaged },
): MenuItemConstructorOptions[] {
  const quit: MenuItemConstructorOptions = { label: 'Quit crawldeck', accelerator: 'CmdOrCtrl+Q', click: () => actions.quit() }
  const openLogs: MenuItemConstructorOptions = { label: 'Open Log Folder', click: () => actions.openLogFolder() }
  const template: MenuItemConstructorOptions[] = []
  if (platform === 'darwin') {
    // macOS puts About/Hide/Quit under the app's own menu.
    template.push({
      label: 'crawldeck',
      submenu: [
        { role: 'about' },
        { type: 'separator' },
        openLogs,
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        quit,
      ],
    })
  } else {
    template.push({ label: 'File', submenu: [openLogs, { type: 'separator' }, quit] })
  }
  template.push(
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { label: 'Monitor', accelerator: 'CmdOrCtrl+1', click: () => actions.navigate('monitor') },
        { label: 'Playground', accelerator: 'CmdOrCtrl+2', click: () => actions.navigate('playground') },
        { label: 'Settings', accelerator: 'CmdOrCtrl+,', click: () => actions.navigate('settings') },
        ...(opts.packaged ? [] : ([{ type: 'separator' }, { role: 'reload' }, { role: 'toggleDevTools' }] satisfies MenuItemConstructorOptions[])),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      label: 'Control',
      submenu: [
        { label: 'Pause/resume live updates', accelerator: 'CmdOrCtrl+P', click: () => actions.toggleLivePaused() },
        { label: 'Force cleanup', accelerator: 'CmdOrCtrl+Shift+K', click: () => actions.forceCleanup() },
      ],
    },
    { role: 'windowMenu' },
  )
  return template
}

export function installAppMenu(actions: AppMenuActions): void {
  Menu.setApplicationMenu(Menu.buildFromTemplate(appMenuTemplate(actions, process.platform, { packaged: app.isPackaged })))
}
