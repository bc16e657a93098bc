import { beforeEach, describe, expect, it, vi } from 'vitest'
import { claimSingleInstance, focusWindow } from '../../src/main/desktop/single-instance.js'
import { fake, FakeBrowserWindow, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

beforeEach(() => resetFake())

describe('single instance', () => {
  it('a second launch (lock refused) quits at once and installs nothing', () => {
    fake.app.lockGranted = false
    expect(claimSingleInstance(() => undefined)).toBe(false)
    expect(fake.app.callsOf('quit')).toHaveLength(1)
    expect(fake.app.listenerCount('second-instance')).toBe(0)
  })

  it('the first instance keeps running and hears of every other launch, with its arguments', () => {
    const launches: Array<readonly string[]> = []
    expect(claimSingleInstance((argv) => launches.push(argv))).toBe(true)
    expect(fake.app.callsOf('requestSingleInstanceLock')).toHaveLength(1)
    expect(fake.app.callsOf('quit')).toHaveLength(0)
    fake.app.emit('second-instance', {}, ['crawldeck'], '/home/u', {})
    fake.app.emit('second-instance', {}, ['crawldeck', '--hidden'], '/home/u', {})
    expect(launches).toEqual([['crawldeck'], ['crawldeck', '--hidden']])
  })

  it('focusWindow restores, shows and focuses a window, and leaves a destroyed one alone', () => {
    const win = new FakeBrowserWindow({})
    win.minimized = true
    focusWindow(win as never)
    expect(win.calls).toEqual(['restore', 'show', 'focus'])
    // Not minimised (e.g. hidden behind other windows): shown and focused only.
    win.calls.length = 0
    focusWindow(win as never)
    expect(win.calls).toEqual(['show', 'focus'])
    win.destroy()
    win.calls.length = 0
    expect(() => focusWindow(win as never)).not.toThrow()
    expect(() => focusWindow(null)).not.toThrow()
    expect(win.calls).toEqual([])
  })
})
