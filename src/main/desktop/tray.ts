import { Menu, Tray, type MenuItemConstructorOptions, type NativeImage } from 'electron'
import type { Logger } from '../core/logger.js'
import { formatPoolSummary, type PoolSummary } from './pool-summary.js'

/*
 * The desktop app's tray icon: a pool summary refreshed every second (as tooltip and first menu
 * line) and a menu to open the window, pause live updates, force a cleanup or quit.
 */

export interface TrayActions {
  open(): void
  setLivePaused(paused: boolean): void
  forceCleanup(): Promise<unknown>
  /** The log folder in the file manager; no item when absent. */
  openLogFolder?(): void
  quit(): void
}

export interface TrayDeps {
  icon: NativeImage | string
  readSummary: () => PoolSummary
  isLivePaused: () => boolean
  actions: TrayActions
  logger: Logger
  /** Refresh period; never below one second (the monitor itself samples once a second). */
  refreshMs?: number
}

export const MIN_TRAY_REFRESH_MS = 1000

export interface AppTray {
  /** Re-read the summary and the pause state now (after a menu action changed it). */
  update(): void
  destroy(): void
}

/** The tray icon: the pool summary as tooltip and first menu line, and the four actions. */
export function createTray(deps: TrayDeps): AppTray {
  const tray = new Tray(deps.icon)
  let label = ''
  let paused: boolean | null = null

  const update = () => {
    let next: string
    try {
      next = formatPoolSummary(deps.readSummary())
    } catch (err) {
      deps.logger.warn({ err }, 'tray: could not read the pool summary')
      return
    }
    const nextPaused = deps.isLivePaused()
    // Rebuilding a native menu every second for nothing would flicker on some desktops.
    if (next === label && nextPaused === paused) return
    label = next
    paused = nextPaused
    tray.setToolTip(label)
    tray.setContextMenu(Menu.buildFromTemplate(trayMenuTemplate(label, paused, deps)))
  }

  update()
  const timer = setInterval(update, Math.max(MIN_TRAY_REFRESH_MS, deps.refreshMs ?? MIN_TRAY_REFRESH_MS))
  timer.unref()
  return {
    update,
    destroy() {
      clearInterval(timer)
      if (!tray.isDestroyed()) tray.destroy()
    },
  }
}

export function trayMenuTemplate(label: string, paused: boolean, deps: Pick<TrayDeps, 'actions' | 'logger'>): MenuItemConstructorOptions[] {
  const { actions, logger } = deps
  return [
    { label, enabled: false },
    { type: 'separator' },
    { label: 'Open crawldeck', click: () => actions.open() },
    { label: 'Pause live updates', type: 'checkbox', checked: paused, click: (item) => actions.setLivePaused(item.checked) },
    {
      label: 'Force cleanup',
      click: () => {
        actions.forceCleanup().catch((err: unknown) => logger.warn({ err }, 'tray: forced cleanup failed'))
      },
    },
    ...(actions.openLogFolder ? [{ label: 'Open Log Folder', click: () => actions.openLogFolder?.() }] : []),
    { type: 'separator' },
    { label: 'Quit', click: () => actions.quit() },
  ]
}
