import { describe, expect, it } from 'vitest'
import {
  defaultProcessSource,
  throttledProcessTable,
  WINDOWS_PROCESS_TABLE_INTERVAL_MS,
  type ProcessRow,
  type ThrottledProcessTable,
} from '../src/main/core/system/process-table.js'
import { findProcessesWithArg } from '../src/main/core/system/process-tree.js'
import type { SystemInfo } from '../src/main/core/system/system-info.js'

/*
 * Windows' process table costs a PowerShell launch per reading (systeminformation's processes()),
 * so there it is read at most every 5 s and reused in between, its age measured. The platform's
 * answers are faked (the shape Win32_Process gives) and the clock is the test's.
 */

const MARK = '--crawldeck-browser=b'

function windowsSi() {
  const state = { calls: 0, pid: 200, fail: false }
  const si = {
    processes: async () => {
      state.calls++
      if (state.fail) throw new Error('powershell failed')
      return {
        list: [
          { pid: state.pid, parentPid: 4, memRss: 1024, command: `"C:\\Chromium\\chrome.exe" ${MARK}`, params: '' },
          { pid: state.pid + 1, parentPid: state.pid, memRss: 2048, command: 'chrome.exe --type=renderer', params: '' },
        ],
      }
    },
  } as unknown as SystemInfo
  return { si, state }
}

describe('throttled process table (Windows)', () => {
  it('reads the system at most once per interval, reuses the rows in between and measures their age', async () => {
    let t = 1_000
    let reads = 0
    let pid = 1
    const reader = throttledProcessTable(
      async (): Promise<ProcessRow[]> => {
        reads++
        return [{ pid: pid++, ppid: 0, rss_bytes: 1, command: 'x' }]
      },
      { minIntervalMs: 5_000, now: () => t },
    )
    expect(reader.staleness()).toBeNull()
    expect((await reader())[0]?.pid).toBe(1)
    expect(reader.staleness()).toBe(0)
    t += 1_000
    expect((await reader())[0]?.pid).toBe(1)
    t += 3_999
    expect((await reader())[0]?.pid).toBe(1)
    expect(reads).toBe(1)
    // The rows served are that old.
    expect(reader.staleness()).toBe(4_999)
    t += 1
    expect((await reader())[0]?.pid).toBe(2)
    expect(reads).toBe(2)
    expect(reader.staleness()).toBe(0)
  })

  it('shares one reading between callers at the same time, and keeps no failed reading', async () => {
    let t = 0
    let reads = 0
    let fail = true
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    const reader = throttledProcessTable(
      async () => {
        reads++
        await gate
        if (fail) throw new Error('powershell failed')
        return []
      },
      { minIntervalMs: 5_000, now: () => t },
    )
    const both = Promise.allSettled([reader(), reader()])
    release()
    expect((await both).map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(reads).toBe(1)
    // The failure is not cached: the next call, even at once, reads again.
    fail = false
    t += 1
    await expect(reader()).resolves.toEqual([])
    expect(reads).toBe(2)
  })

  it("is what Windows' default process source is; macOS reads every time", async () => {
    const win = windowsSi()
    const source = defaultProcessSource('win32', win.si)
    expect(typeof source).toBe('function')
    expect(typeof (source as ThrottledProcessTable).staleness).toBe('function')
    expect(WINDOWS_PROCESS_TABLE_INTERVAL_MS).toBe(5_000)
    // The process-tree scans work over it as over any table; back-to-back scans read once.
    expect(await findProcessesWithArg(MARK, { procRoot: source })).toEqual([200])
    win.state.pid = 300
    expect(await findProcessesWithArg(MARK, { procRoot: source })).toEqual([200])
    expect(win.state.calls).toBe(1)

    const mac = windowsSi()
    const macSource = defaultProcessSource('darwin', mac.si)
    await findProcessesWithArg(MARK, { procRoot: macSource })
    mac.state.pid = 300
    expect(await findProcessesWithArg(MARK, { procRoot: macSource })).toEqual([300])
    expect(mac.state.calls).toBe(2)
    // The shared Windows reader (no si given) is one object for every caller.
    expect(defaultProcessSource('win32')).toBe(defaultProcessSource('win32'))
    expect(defaultProcessSource('linux')).toBe('/proc')
  })
})
