import { beforeEach, describe, expect, it, vi } from 'vitest'
import { claimSingleInstance } from '../../src/main/desktop/single-instance.js'
import { fake, FakeBrowserWindow, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

beforeEach(() => resetFake())

describe('single instance', () => {
  it('a second launch (lock refused) quits at once and installs nothing', () => {
    fake.app.lockGranted = false
    expect(claimSingleInstance(() => null)).toBe(false)
    expect(fake.app.callsOf('quit')).toHaveLength(1)
    expect(fake.app.listenerCount('second-instance')).toBe(0)
  })

  it('the first instance keeps running and, on a second launch, restores, shows and focuses its window', () => {
    const win = new FakeBrowserWindow({})
    win.minimized = true
    expect(claimSingleInstance(() => win as never)).toBe(true)
    expect(fake.app.callsOf('requestSingleInstanceLock')).toHaveLength(1)
    expect(fake.app.callsOf('quit')).toHaveLength(0)
    fake.app.emit('second-instance', {}, ['crawldeck'], '/home/u', {})
    expect(win.calls).toEqual(['restore', 'show', 'focus'])
    // Not minimised (e.g. hidden behind other windows or in the tray): shown and focused only.
    win.calls.length = 0
    fake.app.emit('second-instance', {}, ['crawldeck'], '/home/u', {})
    expect(win.calls).toEqual(['show', 'focus'])
  })

  it('a second launch while the window is gone does not throw', () => {
    expect(claimSingleInstance(() => null)).toBe(true)
    expect(() => fake.app.emit('second-instance', {}, [], '/', {})).not.toThrow()
  })
})
