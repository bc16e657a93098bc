import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { App } from 'electron'

/*
 * Start at login. macOS and Windows have login items (app.setLoginItemSettings); Electron has
 * none on Linux, where the freedesktop way is a .desktop file in the XDG autostart folder.
 */

/** A launch with this argument opens no window: what a login start uses when start_hidden is on. */
export const HIDDEN_ARG = '--hidden'
export const AUTOSTART_FILE = 'crawldeck.desktop'

export interface LoginItemPrefs {
  start_at_login: boolean
  start_hidden: boolean
}

export type LoginItemApp = Pick<App, 'setLoginItemSettings' | 'getPath' | 'getAppPath' | 'isPackaged'>

export interface LoginItemEnv {
  platform: NodeJS.Platform
  /** The executable (process.execPath). */
  execPath: string
  /** An AppImage runs from a mount that changes each start: the AppImage file itself is what to start. */
  appImage?: string | undefined
}

export interface LoginItemResult {
  kind: 'login-item' | 'autostart-file'
  /** The autostart file (Linux). */
  file?: string
}

/** The arguments a login start passes: the app folder when unpackaged (Electron needs it), and --hidden. */
export function loginArgs(app: Pick<LoginItemApp, 'isPackaged' | 'getAppPath'>, prefs: LoginItemPrefs): string[] {
  return [...(app.isPackaged ? [] : [app.getAppPath()]), ...(prefs.start_hidden ? [HIDDEN_ARG] : [])]
}

/**
 * Makes the system's login start match the settings (at every start too, so a moved app is
 * started from where it is now). Throws when the autostart file cannot be written.
 */
export function applyLoginItem(app: LoginItemApp, prefs: LoginItemPrefs, env: LoginItemEnv): LoginItemResult {
  const args = loginArgs(app, prefs)
  if (env.platform === 'linux' || env.platform === 'freebsd' || env.platform === 'openbsd') {
    // Electron's appData on Linux is $XDG_CONFIG_HOME, else ~/.config: where autostart lives.
    const dir = join(app.getPath('appData'), 'autostart')
    const file = join(dir, AUTOSTART_FILE)
    if (prefs.start_at_login) {
      mkdirSync(dir, { recursive: true })
      writeFileSync(file, autostartEntry(env.appImage ?? env.execPath, args), { mode: 0o644 })
    } else if (existsSync(file)) {
      rmSync(file, { force: true })
    }
    return { kind: 'autostart-file', file }
  }
  // Windows passes the arguments (--hidden) to the login start. macOS login items carry none
  // (SMAppService): there start_hidden itself keeps the window closed at every start.
  app.setLoginItemSettings({
    openAtLogin: prefs.start_at_login,
    path: env.execPath,
    // Windows writes them into one command line: a path with spaces needs its quotes.
    args: args.map((a) => (/\s/.test(a) ? `"${a}"` : a)),
  })
  return { kind: 'login-item' }
}

/** The XDG autostart entry (Desktop Entry Specification 1.5). */
export function autostartEntry(command: string, args: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Version=1.5',
    'Name=crawldeck',
    'Comment=Headless Chromium pool and crawl API',
    `Exec=${[command, ...args].map(execArgument).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n')
}

/**
 * One argument of an Exec key: quoted when it holds anything but plain characters, with ", `, $
 * and \ escaped inside the quotes, then the string escapes of any key value (\ doubled, newline
 * as \n) laid over that, as the spec orders; % doubled so it is no field code.
 */
export function execArgument(arg: string): string {
  const value = arg.replace(/%/g, '%%')
  const quoted = /^[A-Za-z0-9_./:@%+=,-]+$/.test(arg) ? value : `"${value.replace(/(["`$\\])/g, '\\$1')}"`
  return quoted.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
}

/** Whether this launch asked for no window (a login start with start_hidden on). */
export function launchedHidden(argv: readonly string[]): boolean {
  return argv.includes(HIDDEN_ARG)
}
