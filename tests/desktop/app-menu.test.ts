import type { MenuItemConstructorOptions } from 'electron'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { appMenuTemplate, installAppMenu, type AppMenuActions } from '../../src/main/desktop/app-menu.js'
import { fake, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

beforeEach(() => resetFake())

function actions(): AppMenuActions & { log: string[] } {
  const log: string[] = []
  return {
    log,
    navigate: (view) => log.push(`navigate:${view}`),
    toggleLivePaused: () => log.push('toggle-live'),
    forceCleanup: () => log.push('cleanup'),
    openLogFolder: () => log.push('open-logs'),
    quit: () => log.push('quit'),
  }
}

/** Every item of the template, submenus flattened. */
function items(template: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return template.flatMap((item) => [item, ...(Array.isArray(item.submenu) ? items(item.submenu) : [])])
}

function byAccelerator(template: MenuItemConstructorOptions[], accelerator: string): MenuItemConstructorOptions {
  const found = items(template).filter((i) => i.accelerator === accelerator)
  expect(found, accelerator).toHaveLength(1)
  return found[0] as MenuItemConstructorOptions
}

const click = (item: MenuItemConstructorOptions) => (item.click as unknown as () => void)()

describe('app menu', () => {
  for (const platform of ['linux', 'win32', 'darwin'] as const) {
    it(`binds every shortcut to its action (${platform})`, () => {
      const a = actions()
      const template = appMenuTemplate(a, platform)
      const expected: Array<[string, string, string]> = [
        ['View', 'CmdOrCtrl+1', 'navigate:monitor'],
        ['View', 'CmdOrCtrl+2', 'navigate:playground'],
        ['View', 'CmdOrCtrl+,', 'navigate:settings'],
        ['Control', 'CmdOrCtrl+P', 'toggle-live'],
        ['Control', 'CmdOrCtrl+Shift+K', 'cleanup'],
      ]
      for (const [menu, accelerator, action] of expected) {
        const top = template.find((m) => m.label === menu)
        expect(top, menu).toBeDefined()
        const item = byAccelerator(template, accelerator)
        expect((top?.submenu as MenuItemConstructorOptions[]).includes(item), `${accelerator} is under ${menu}`).toBe(true)
        a.log.length = 0
        click(item)
        expect(a.log).toEqual([action])
      }
      a.log.length = 0
      click(byAccelerator(template, 'CmdOrCtrl+Q'))
      expect(a.log).toEqual(['quit'])
      // Open Log Folder sits beside Quit (File menu, or the app menu on macOS).
      const logs = items(template).filter((i) => i.label === 'Open Log Folder')
      expect(logs).toHaveLength(1)
      expect((template[0]?.submenu as MenuItemConstructorOptions[]).includes(logs[0]!)).toBe(true)
      a.log.length = 0
      click(logs[0]!)
      expect(a.log).toEqual(['open-logs'])
    })
  }

  it('has the standard Edit and Window menus (copy/paste, minimise work in the window)', () => {
    const roles = appMenuTemplate(actions(), 'linux').map((m) => m.role)
    expect(roles).toContain('editMenu')
    expect(roles).toContain('windowMenu')
  })

  it('is installed as the application menu', () => {
    installAppMenu(actions())
    expect(fake.applicationMenu?.template.map((m: MenuItemConstructorOptions) => m.label ?? m.role)).toEqual(
      appMenuTemplate(actions()).map((m) => m.label ?? m.role),
    )
  })

  const roles = (template: MenuItemConstructorOptions[]) => items(template).map((i) => i.role)

  for (const platform of ['linux', 'win32', 'darwin'] as const) {
    it(`offers Reload and DevTools only when the app is not packaged (${platform})`, () => {
      expect(roles(appMenuTemplate(actions(), platform, { packaged: false }))).toEqual(expect.arrayContaining(['reload', 'toggleDevTools']))
      const packaged = roles(appMenuTemplate(actions(), platform, { packaged: true }))
      for (const role of ['reload', 'forceReload', 'toggleDevTools']) expect(packaged, role).not.toContain(role)
      // The rest of the View menu stays.
      expect(packaged).toEqual(expect.arrayContaining(['resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']))
    })
  }

  it("installs the menu for the app's packaged state", () => {
    fake.app.isPackaged = true
    installAppMenu(actions())
    expect(roles(fake.applicationMenu?.template ?? [])).not.toContain('toggleDevTools')
    expect(roles(fake.applicationMenu?.template ?? [])).not.toContain('reload')
    fake.app.isPackaged = false
    installAppMenu(actions())
    expect(roles(fake.applicationMenu?.template ?? [])).toEqual(expect.arrayContaining(['reload', 'toggleDevTools']))
  })
})
