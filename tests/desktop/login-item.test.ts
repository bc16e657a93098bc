import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { APP_USER_MODEL_ID, applyAppIdentity } from '../../src/main/desktop/app-identity.js'
import { applyLoginItem, autostartEntry, execArgument, launchedHidden } from '../../src/main/desktop/login-item.js'
import { fake, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

/* Start at login (login items on macOS/Windows, an XDG autostart file on Linux) and the Windows identity. */

let dir: string
beforeEach(() => {
  resetFake()
  dir = mkdtempSync(join(tmpdir(), 'crawldeck-autostart-'))
  fake.app.appData = dir
  fake.app.isPackaged = true
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const linux = { platform: 'linux' as const, execPath: '/opt/crawldeck/crawldeck' }

describe('start at login on Linux: an XDG autostart file', () => {
  it('is written in <appData>/autostart when on, with --hidden when start_hidden is on, and removed when off', () => {
    const file = join(dir, 'autostart', 'crawldeck.desktop')
    const r = applyLoginItem(fake.app as never, { start_at_login: true, start_hidden: false }, linux)
    expect(r).toEqual({ kind: 'autostart-file', file })
    expect(readFileSync(file, 'utf8')).toBe(
      [
        '[Desktop Entry]',
        'Type=Application',
        'Version=1.5',
        'Name=crawldeck',
        'Comment=Headless Chromium pool and crawl API',
        'Exec=/opt/crawldeck/crawldeck',
        'Terminal=false',
        'X-GNOME-Autostart-enabled=true',
        '',
      ].join('\n'),
    )
    expect(statSync(file).mode & 0o777).toBe(0o644)
    applyLoginItem(fake.app as never, { start_at_login: true, start_hidden: true }, linux)
    expect(readFileSync(file, 'utf8')).toContain('\nExec=/opt/crawldeck/crawldeck --hidden\n')
    applyLoginItem(fake.app as never, { start_at_login: false, start_hidden: true }, linux)
    expect(existsSync(file)).toBe(false)
    // Off when already off: nothing to remove, nothing thrown.
    expect(() => applyLoginItem(fake.app as never, { start_at_login: false, start_hidden: false }, linux)).not.toThrow()
    expect(fake.app.loginItemSettings).toEqual([])
  })

  it('starts the AppImage file (not its temporary mount) and, unpackaged, passes the app folder', () => {
    applyLoginItem(fake.app as never, { start_at_login: true, start_hidden: false }, { ...linux, appImage: '/home/u/Apps/crawldeck.AppImage' })
    expect(readFileSync(join(dir, 'autostart', 'crawldeck.desktop'), 'utf8')).toContain('\nExec=/home/u/Apps/crawldeck.AppImage\n')
    fake.app.isPackaged = false
    fake.app.appPath = '/src/crawl deck'
    applyLoginItem(fake.app as never, { start_at_login: true, start_hidden: true }, { ...linux, execPath: '/src/node_modules/electron/dist/electron' })
    expect(readFileSync(join(dir, 'autostart', 'crawldeck.desktop'), 'utf8')).toContain(
      '\nExec=/src/node_modules/electron/dist/electron "/src/crawl deck" --hidden\n',
    )
  })

  it('quotes and escapes Exec arguments as the Desktop Entry Specification says', () => {
    expect(execArgument('/usr/bin/crawldeck')).toBe('/usr/bin/crawldeck')
    expect(execArgument('/home/u/My Apps/crawldeck')).toBe('"/home/u/My Apps/crawldeck"')
    // Inside quotes " ` $ \ get a backslash; then every backslash of the value is doubled.
    expect(execArgument('/a"b')).toBe('"/a\\\\"b"')
    expect(execArgument('/a$b`c')).toBe('"/a\\\\$b\\\\`c"')
    expect(execArgument('C:\\x')).toBe('"C:\\\\\\\\x"')
    // % would be a field code.
    expect(execArgument('/100%')).toBe('/100%%')
    expect(autostartEntry('/x y', ['--hidden'])).toContain('\nExec="/x y" --hidden\n')
  })

  it('a login start with --hidden is recognised', () => {
    expect(launchedHidden(['/opt/crawldeck/crawldeck', '--hidden'])).toBe(true)
    expect(launchedHidden(['/opt/crawldeck/crawldeck'])).toBe(false)
  })
})

describe('start at login on macOS and Windows: login items', () => {
  it('Windows: openAtLogin with the executable, and --hidden as argument when start_hidden is on', () => {
    const win = { platform: 'win32' as const, execPath: 'C:\\Program Files\\crawldeck\\crawldeck.exe' }
    expect(applyLoginItem(fake.app as never, { start_at_login: true, start_hidden: true }, win)).toEqual({ kind: 'login-item' })
    applyLoginItem(fake.app as never, { start_at_login: false, start_hidden: false }, win)
    expect(fake.app.loginItemSettings).toEqual([
      { openAtLogin: true, path: win.execPath, args: ['--hidden'] },
      { openAtLogin: false, path: win.execPath, args: [] },
    ])
    // Unpackaged, Electron needs the app folder, quoted as one argument of the command line.
    fake.app.isPackaged = false
    fake.app.appPath = 'C:\\src\\crawl deck'
    applyLoginItem(fake.app as never, { start_at_login: true, start_hidden: false }, win)
    expect(fake.app.loginItemSettings.at(-1)).toEqual({ openAtLogin: true, path: win.execPath, args: ['"C:\\src\\crawl deck"'] })
    expect(existsSync(join(dir, 'autostart'))).toBe(false)
  })

  it('macOS: a login item, no file', () => {
    applyLoginItem(
      fake.app as never,
      { start_at_login: true, start_hidden: false },
      { platform: 'darwin', execPath: '/Applications/crawldeck.app/Contents/MacOS/crawldeck' },
    )
    expect(fake.app.loginItemSettings).toEqual([{ openAtLogin: true, path: '/Applications/crawldeck.app/Contents/MacOS/crawldeck', args: [] }])
    expect(existsSync(join(dir, 'autostart'))).toBe(false)
  })
})

describe('Windows AppUserModelId', () => {
  it("is electron-builder's appId, set on Windows only", () => {
    const builder = readFileSync(join(import.meta.dirname, '../../electron-builder.yml'), 'utf8')
    expect(builder).toMatch(new RegExp(`^appId: ${APP_USER_MODEL_ID.replace(/\./g, '\\.')}$`, 'm'))
    applyAppIdentity(fake.app as never, 'linux')
    applyAppIdentity(fake.app as never, 'darwin')
    expect(fake.app.appUserModelId).toBeNull()
    applyAppIdentity(fake.app as never, 'win32')
    expect(fake.app.appUserModelId).toBe('dev.crawldeck.app')
  })
})
