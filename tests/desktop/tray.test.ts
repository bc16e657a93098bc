import type { MenuItemConstructorOptions } from 'electron'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { MonitorHealth } from '../../src/shared/monitor-types.js'
import { IPC_CHANNELS } from '../../src/shared/ipc.js'
import { silentLogger } from '../../src/main/core/logger.js'
import { sendAppCommand } from '../../src/main/desktop/app-commands.js'
import { formatPoolSummary, poolSummaryFrom, type PoolSummary } from '../../src/main/desktop/pool-summary.js'
import { createTray, type TrayActions } from '../../src/main/desktop/tray.js'
import { fake, FakeBrowserWindow, resetFake, type FakeTray } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

beforeEach(() => {
  resetFake()
  vi.useFakeTimers()
})
afterEach(() => vi.useRealTimers())

function health(over: { permanent: boolean; hot: number; cold: number; active: number; memory: number }): MonitorHealth {
  return {
    container: {
      cpu_percent: 3,
      memory_percent: over.memory,
      memory_source: 'host',
      memory_used_mb: 1,
      memory_limit_mb: 2,
      network_sent_mb: 0,
      network_recv_mb: 0,
      network_sent_mb_per_sec: 0,
      network_recv_mb_per_sec: 0,
      uptime_seconds: 1,
    },
    pool: {
      permanent: { active: over.permanent, memory_mb: 100 },
      hot: { count: over.hot, memory_mb: 0 },
      cold: { count: over.cold, memory_mb: 0 },
      total_memory_mb: 100,
    },
    queue: { active: over.active, queued: 0, max_pages: 8, queue_size: 64 },
    admission: { limit: 8, max_limit: 8, min_limit: 1, adaptive: true, last_change: null },
    janitor: {
      memory_pressure: 'LOW',
      next_cleanup_estimate: 'adaptive',
      next_cleanup_in_seconds: 60,
      interval_seconds: 60,
      cold_ttl_seconds: 300,
      hot_ttl_seconds: 600,
    },
    persistence: { backend: 'file', ok: true, error: null, pending: false, last_flush: null },
    cache: { backend: 'lmdb', entries: 0, bytes: 0, max_bytes: 1024, ttl_seconds: 0, error: null },
  }
}

function setup(opts: { refreshMs?: number } = {}) {
  let summary: PoolSummary = poolSummaryFrom(health({ permanent: true, hot: 0, cold: 2, active: 3, memory: 41.3 }))
  let reads = 0
  const log: string[] = []
  const actions: TrayActions = {
    open: () => log.push('open'),
    setLivePaused: (p) => log.push(`paused:${p}`),
    forceCleanup: async () => log.push('cleanup'),
    quit: () => log.push('quit'),
  }
  const handle = createTray({
    icon: 'icon.png',
    readSummary: () => {
      reads++
      return summary
    },
    isLivePaused: () => false,
    actions,
    logger: silentLogger(),
    ...opts,
  })
  const tray = fake.trays.at(-1) as FakeTray
  return { handle, tray, log, reads: () => reads, setSummary: (s: PoolSummary) => (summary = s) }
}

const menuItems = (tray: FakeTray) => tray.menu?.template as MenuItemConstructorOptions[]
const item = (tray: FakeTray, label: string) => {
  const found = menuItems(tray).find((i) => i.label === label)
  if (!found) throw new Error(`no tray menu item ${label}`)
  return found
}
const click = (i: MenuItemConstructorOptions, menuItem: object = {}) => (i.click as unknown as (m: object) => void)(menuItem)

describe('tray', () => {
  it('shows the pool summary as tooltip and as the first menu line', () => {
    const { tray } = setup()
    expect(tray.tooltip).toBe('crawldeck — 1 permanent · 0 hot · 2 cold · 3 active · mem 41 %')
    expect(menuItems(tray)[0]).toMatchObject({ label: tray.tooltip, enabled: false })
  })

  it('refreshes from the engine at most once a second, even when asked for faster', () => {
    const { tray, reads, setSummary } = setup({ refreshMs: 50 })
    expect(reads()).toBe(1)
    setSummary(poolSummaryFrom(health({ permanent: false, hot: 1, cold: 0, active: 0, memory: 82 })))
    vi.advanceTimersByTime(999)
    expect(reads()).toBe(1)
    expect(tray.tooltip).toContain('2 cold')
    vi.advanceTimersByTime(1)
    expect(reads()).toBe(2)
    expect(tray.tooltip).toBe('crawldeck — 0 permanent · 1 hot · 0 cold · 0 active · mem 82 %')
    vi.advanceTimersByTime(10_000)
    expect(reads()).toBe(12)
  })

  it('stops refreshing once destroyed', () => {
    const { handle, tray, reads } = setup()
    handle.destroy()
    vi.advanceTimersByTime(5_000)
    expect(reads()).toBe(1)
    expect(tray.destroyed).toBe(true)
  })

  it('menu: Open, Pause live updates (checkbox), Force cleanup, Quit', async () => {
    const { tray, log } = setup()
    click(item(tray, 'Open crawldeck'))
    const pause = item(tray, 'Pause live updates')
    expect(pause).toMatchObject({ type: 'checkbox', checked: false })
    // Electron flips the checkbox before calling click with the item.
    click(pause, { checked: true })
    click(pause, { checked: false })
    click(item(tray, 'Force cleanup'))
    click(item(tray, 'Quit'))
    await Promise.resolve()
    expect(log).toEqual(['open', 'paused:true', 'paused:false', 'cleanup', 'quit'])
  })

  it('Open Log Folder, before Quit, when the app has a log folder', () => {
    const { tray } = setup()
    expect(menuItems(tray).some((i) => i.label === 'Open Log Folder')).toBe(false)
    const opened: string[] = []
    createTray({
      icon: 'icon.png',
      readSummary: () => poolSummaryFrom(health({ permanent: true, hot: 0, cold: 0, active: 0, memory: 1 })),
      isLivePaused: () => false,
      actions: {
        open: () => undefined,
        setLivePaused: () => undefined,
        forceCleanup: async () => undefined,
        quit: () => undefined,
        openLogFolder: () => opened.push('logs'),
      },
      logger: silentLogger(),
    })
    const withLogs = fake.trays.at(-1) as FakeTray
    const labels = menuItems(withLogs).map((i) => i.label ?? i.type)
    expect(labels.slice(-3)).toEqual(['Open Log Folder', 'separator', 'Quit'])
    click(item(withLogs, 'Open Log Folder'))
    expect(opened).toEqual(['logs'])
  })

  it('the summary format', () => {
    expect(formatPoolSummary({ permanent: 1, hot: 0, cold: 2, active: 3, memory_percent: 40.6 })).toBe(
      'crawldeck — 1 permanent · 0 hot · 2 cold · 3 active · mem 41 %',
    )
  })
})

describe('app commands', () => {
  it('reach the window on the app-command channel, and never a destroyed one', () => {
    const win = new FakeBrowserWindow({})
    expect(sendAppCommand(win as never, { type: 'set-live-paused', paused: true })).toBe(true)
    expect(win.webContents.sent).toEqual([{ channel: IPC_CHANNELS.appCommand, args: [{ type: 'set-live-paused', paused: true }] }])
    win.destroyed = true
    expect(sendAppCommand(win as never, { type: 'navigate', view: 'monitor' })).toBe(false)
    expect(sendAppCommand(null, { type: 'navigate', view: 'monitor' })).toBe(false)
    expect(win.webContents.sent).toHaveLength(1)
  })
})
