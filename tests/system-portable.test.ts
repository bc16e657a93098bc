import os from 'node:os'
import { describe, expect, it, vi } from 'vitest'
import { CpuSampler } from '../src/main/core/system/cpu.js'
import { hostMemoryReader } from '../src/main/core/system/memory.js'
import { NetworkSampler, portableNetworkTotals } from '../src/main/core/system/network.js'
import { systemProcessTable, type ProcessRow, type ProcessTableReader } from '../src/main/core/system/process-table.js'
import {
  findProcessesWithArg,
  listProcesses,
  processTree,
  processTreeMemory,
  processTreesMemory,
  ProcessTreeScanner,
} from '../src/main/core/system/process-tree.js'
import type { SystemInfo } from '../src/main/core/system/system-info.js'

/*
 * The readings of macOS and Windows, run on Linux: systeminformation's answers faked (the shapes
 * it gives on those platforms), and what CPU, memory, network and the browsers' process trees make
 * of them. tests/system-portable-health.test.ts follows them into /monitor/health.
 */

const GiB = 1024 ** 3
const MiB = 1024 ** 2

/** A systeminformation that answers from these values and counts its calls; a missing one throws. */
function fakeSi(answers: Partial<{ load: number; total: number; available: number; net: Array<{ iface: string; rx_bytes: number; tx_bytes: number }> }>) {
  const calls = { currentLoad: 0, mem: 0, networkStats: 0, processes: 0 }
  const si: SystemInfo = {
    currentLoad: async () => {
      calls.currentLoad++
      if (answers.load === undefined) throw new Error('no load')
      return { currentLoad: answers.load }
    },
    mem: async () => {
      calls.mem++
      if (answers.total === undefined) throw new Error('no mem')
      return { total: answers.total, available: answers.available ?? 0 }
    },
    networkStats: async () => {
      calls.networkStats++
      if (!answers.net) throw new Error('no net')
      return answers.net
    },
    processes: async () => {
      calls.processes++
      throw new Error('no processes')
    },
  }
  return { si, calls, answers }
}

describe('CPU off Linux', () => {
  it("is systeminformation's current load, one reading late, clamped to 0..100", async () => {
    const { si, answers } = fakeSi({ load: 37.5 })
    const cpu = new CpuSampler({ platform: 'darwin', si })
    await vi.waitFor(() => expect(cpu.sample()).toBe(37.5))
    answers.load = 140
    await vi.waitFor(() => expect(cpu.sample()).toBe(100))
    answers.load = Number.NaN
    await vi.waitFor(() => expect(cpu.sample()).toBe(0))
  })

  it('keeps the last value when a reading fails', async () => {
    const { si, answers, calls } = fakeSi({ load: 12 })
    const cpu = new CpuSampler({ platform: 'win32', si })
    await vi.waitFor(() => expect(cpu.sample()).toBe(12))
    answers.load = undefined
    const before = calls.currentLoad
    // Two more readings started: the first of them began after the load went away, and failed.
    await vi.waitFor(() => {
      cpu.sample()
      expect(calls.currentLoad).toBeGreaterThanOrEqual(before + 2)
    })
    expect(cpu.sample()).toBe(12)
  })

  it('Linux never asks systeminformation', () => {
    const { si, calls } = fakeSi({ load: 50 })
    new CpuSampler({ platform: 'linux', si }).sample()
    expect(calls.currentLoad).toBe(0)
  })
})

describe('memory off Linux', () => {
  it('macOS: total and available from si.mem(), the file cache counted as available', async () => {
    const { si } = fakeSi({ total: 16 * GiB, available: 12 * GiB })
    const read = hostMemoryReader({ platform: 'darwin', si })
    await vi.waitFor(() => expect(read()).toEqual({ percent: 25, used_bytes: 4 * GiB, limit_bytes: 16 * GiB, source: 'host' }))
  })

  it('macOS: before the first answer, and after a failed one, a usable reading', async () => {
    const { si } = fakeSi({})
    const read = hostMemoryReader({ platform: 'darwin', si })
    const first = read()
    expect(first.limit_bytes).toBe(os.totalmem())
    expect(first.source).toBe('host')
    expect(first.percent).toBeGreaterThanOrEqual(0)
    expect(first.percent).toBeLessThanOrEqual(100)
  })

  it("Windows: the OS's own figures, without a PowerShell run per reading", () => {
    const { si, calls } = fakeSi({ total: 1, available: 1 })
    const reading = hostMemoryReader({ platform: 'win32', si })()
    expect(calls.mem).toBe(0)
    expect(reading.limit_bytes).toBe(os.totalmem())
    expect(reading.source).toBe('host')
  })
})

describe('network off Linux', () => {
  it('sums every interface but loopback, by any of its names', async () => {
    const { si } = fakeSi({
      net: [
        { iface: 'en0', rx_bytes: 5 * MiB, tx_bytes: 2 * MiB },
        { iface: 'lo0', rx_bytes: 900 * MiB, tx_bytes: 900 * MiB },
        { iface: 'Loopback Pseudo-Interface 1', rx_bytes: 800 * MiB, tx_bytes: 800 * MiB },
        { iface: 'Ethernet 2', rx_bytes: 3 * MiB, tx_bytes: 1 * MiB },
        { iface: 'utun3', rx_bytes: -1, tx_bytes: Number.NaN },
      ],
    })
    const read = portableNetworkTotals(si)
    await vi.waitFor(() => expect(read()).toMatchObject({ recv_bytes: 8 * MiB, sent_bytes: 3 * MiB }))
    expect(read().at).toBeGreaterThan(0)
  })

  it('rates come from the times the counters were read, not the times they were handed over', () => {
    const readings = [
      { sent_bytes: 0, recv_bytes: 0, at: 0 },
      { sent_bytes: 1000, recv_bytes: 4000, at: 2000 },
      // The same reading handed over again (the next one is still under way): no new rate.
      { sent_bytes: 1000, recv_bytes: 4000, at: 2000 },
      { sent_bytes: 3000, recv_bytes: 4000, at: 3000 },
    ]
    let i = 0
    const sampler = new NetworkSampler(
      () => readings[Math.min(i++, readings.length - 1)]!,
      () => 999_999,
    )
    expect(sampler.sample()).toEqual({ sent_bytes: 1000, recv_bytes: 4000, sent_bytes_per_sec: 500, recv_bytes_per_sec: 2000 })
    expect(sampler.sample()).toMatchObject({ sent_bytes_per_sec: 500, recv_bytes_per_sec: 2000 })
    expect(sampler.sample()).toMatchObject({ sent_bytes_per_sec: 2000, recv_bytes_per_sec: 0 })
  })
})

/*
 * A machine with two browsers and other processes. Browser A (100): GPU process 101, a zygote 102
 * with renderer 103. Browser B (200): renderer 201. 150 is this service, 300 and 301 unrelated (301
 * once a child of an old 200 that exited: PIDs are reused, trees are taken as they are now).
 */
const MARK_A = '--crawldeck-browser=aaaa-1111'
const MARK_B = '--crawldeck-browser=bbbb-2222'
const TABLE: ProcessRow[] = [
  { pid: 1, ppid: 0, rss_bytes: 10 * MiB, command: '/sbin/launchd' },
  { pid: 150, ppid: 1, rss_bytes: 90 * MiB, command: '/usr/local/bin/node crawldeck serve' },
  { pid: 100, ppid: 150, rss_bytes: 120 * MiB, command: `/Applications/Google Chrome.app/Contents/MacOS/Google Chrome --headless ${MARK_A} --no-first-run` },
  { pid: 101, ppid: 100, rss_bytes: 60 * MiB, command: 'Google Chrome Helper (GPU) --type=gpu-process' },
  { pid: 102, ppid: 100, rss_bytes: 20 * MiB, command: 'Google Chrome Helper --type=zygote' },
  { pid: 103, ppid: 102, rss_bytes: 200 * MiB, command: 'Google Chrome Helper (Renderer) --type=renderer' },
  { pid: 200, ppid: 150, rss_bytes: 110 * MiB, command: `"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" "${MARK_B}" --headless` },
  { pid: 201, ppid: 200, rss_bytes: 150 * MiB, command: 'chrome.exe --type=renderer' },
  { pid: 300, ppid: 1, rss_bytes: 500 * MiB, command: '/Applications/Slack.app/Contents/MacOS/Slack' },
  { pid: 301, ppid: 300, rss_bytes: 300 * MiB, command: 'Slack Helper' },
]
const table = (rows: ProcessRow[] = TABLE): ProcessTableReader & { reads: number } => {
  const reader = Object.assign(async () => ((reader.reads += 1), rows.map((r) => ({ ...r }))), { reads: 0 })
  return reader
}

describe('process trees from a process table', () => {
  it("each browser's memory is the RSS of its whole tree, and nothing else", async () => {
    const trees = await processTreesMemory([100, 200], { procRoot: table() })
    expect(trees.get(100)).toEqual({ rss_bytes: 400 * MiB, anon_bytes: 400 * MiB, pss_bytes: null, processes: 4, pids: [100, 101, 102, 103] })
    expect(trees.get(200)).toEqual({ rss_bytes: 260 * MiB, anon_bytes: 260 * MiB, pss_bytes: null, processes: 2, pids: [200, 201] })
    expect(await processTreeMemory(100, table())).toEqual({ rss_bytes: 400 * MiB, anon_bytes: 400 * MiB, pss_bytes: null, processes: 4 })
  })

  it('a scanner reads the table once per scan and follows it: a renderer gone, a browser gone', async () => {
    const rows = TABLE.filter((r) => r.pid !== 103 && r.pid !== 200 && r.pid !== 201)
    const reader = table(rows)
    const scanner = new ProcessTreeScanner(reader)
    const trees = await processTreesMemory([100, 200], { pss: false, scanner })
    expect(reader.reads).toBe(1)
    expect(trees.get(100)).toMatchObject({ rss_bytes: 200 * MiB, processes: 3, pids: [100, 101, 102] })
    expect(trees.get(200)).toMatchObject({ rss_bytes: 0, processes: 0, pids: [] })
  })

  it("finds a browser by its marker switch in macOS's and Windows' command lines", async () => {
    expect(await findProcessesWithArg(MARK_A, { procRoot: table(), parentPid: 150 })).toEqual([100])
    expect(await findProcessesWithArg(MARK_B, { procRoot: table(), parentPid: 150 })).toEqual([200])
    expect(await findProcessesWithArg('--crawldeck-browser=', { procRoot: table() })).toEqual([100, 200])
    expect(await findProcessesWithArg(MARK_A, { procRoot: table(), parentPid: 1 })).toEqual([])
    // Inside another argument is not an argument.
    expect(await findProcessesWithArg('--type=gpu', { procRoot: table() })).toEqual([101])
    expect(await findProcessesWithArg('gpu-process', { procRoot: table() })).toEqual([])
  })

  it('lists processes and walks a tree breadth-first, as from /proc', async () => {
    expect((await listProcesses(table())).find((p) => p.pid === 103)).toEqual({ pid: 103, ppid: 102, comm: 'Google', state: 'S' })
    expect(await processTree(100, table())).toEqual([100, 101, 102, 103])
    expect(await processTree(999, table())).toEqual([])
  })

  it("reads systeminformation's processes() as macOS and Windows give it", async () => {
    const si = {
      ...fakeSi({}).si,
      processes: async () => ({
        list: [
          // macOS: the program in `command`, its arguments in `params`; memRss in KiB.
          { pid: 100, parentPid: 150, memRss: 122_880, command: '/Applications/Chromium.app/Contents/MacOS/Chromium', params: `--headless ${MARK_A}` },
          // Windows: the whole command line in `command`, no `params`; the working set in KiB.
          { pid: 200, parentPid: 150, memRss: 1024, command: `"C:\\Chromium\\chrome.exe" ${MARK_B}`, params: '' },
          { pid: 201, parentPid: 200, memRss: 2048, command: 'chrome.exe --type=renderer', params: '' },
        ],
      }),
    }
    const reader = systemProcessTable(si)
    expect(await reader()).toEqual([
      { pid: 100, ppid: 150, rss_bytes: 120 * MiB, command: `/Applications/Chromium.app/Contents/MacOS/Chromium --headless ${MARK_A}` },
      { pid: 200, ppid: 150, rss_bytes: 1 * MiB, command: `"C:\\Chromium\\chrome.exe" ${MARK_B}` },
      { pid: 201, ppid: 200, rss_bytes: 2 * MiB, command: 'chrome.exe --type=renderer' },
    ])
    expect(await findProcessesWithArg(MARK_A, { procRoot: reader })).toEqual([100])
    expect(await findProcessesWithArg(MARK_B, { procRoot: reader })).toEqual([200])
    expect((await processTreesMemory([200], { procRoot: reader })).get(200)).toMatchObject({ rss_bytes: 3 * MiB, processes: 2 })
  })
})
