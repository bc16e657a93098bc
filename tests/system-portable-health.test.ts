import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MonitorHealth } from '../src/shared/monitor-types.js'
import { CpuSampler } from '../src/main/core/system/cpu.js'
import { hostMemoryReader } from '../src/main/core/system/memory.js'
import { NetworkSampler, portableNetworkTotals } from '../src/main/core/system/network.js'
import type { ProcessRow } from '../src/main/core/system/process-table.js'
import type { SystemInfo } from '../src/main/core/system/system-info.js'
import { TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * The macOS readings, end to end on Linux: a real engine and its real permanent browser, with
 * systeminformation's answers and the process table faked as a Mac would give them, read back
 * from GET /monitor/health. The table gives the real browser's PID a tree of made-up helpers.
 */

const MiB = 1024 ** 2
const GiB = 1024 ** 3

const si: SystemInfo = {
  currentLoad: async () => ({ currentLoad: 42.25 }),
  mem: async () => ({ total: 16 * GiB, available: 10 * GiB }),
  networkStats: async () => [
    { iface: 'en0', rx_bytes: 300 * MiB, tx_bytes: 100 * MiB },
    { iface: 'lo0', rx_bytes: 5000 * MiB, tx_bytes: 5000 * MiB },
  ],
  processes: async () => {
    throw new Error('the test hands the monitor its own table')
  },
}

const scope = new TestScope(() => {
  throw new Error('no fixture server in this file')
})
let s: TestService
/** The permanent browser's PID once launched: the root of the faked tree. */
let browserPid: number | null = null

/** The browser (250 MiB), its GPU helper (50 MiB) and two renderers (100 + 112 MiB), and a stranger. */
async function macTable(): Promise<ProcessRow[]> {
  if (browserPid === null) return []
  return [
    { pid: browserPid, ppid: process.pid, rss_bytes: 250 * MiB, command: '/Applications/Chromium.app/Contents/MacOS/Chromium --headless' },
    { pid: 900_001, ppid: browserPid, rss_bytes: 50 * MiB, command: 'Chromium Helper (GPU) --type=gpu-process' },
    { pid: 900_002, ppid: browserPid, rss_bytes: 100 * MiB, command: 'Chromium Helper (Renderer) --type=renderer' },
    { pid: 900_003, ppid: 900_002, rss_bytes: 112 * MiB, command: 'Chromium Helper (Renderer) --type=renderer' },
    { pid: 900_004, ppid: 1, rss_bytes: 4000 * MiB, command: '/Applications/Xcode.app/Contents/MacOS/Xcode' },
  ]
}

beforeAll(async () => {
  s = await scope.serve(
    {},
    {
      readMemory: hostMemoryReader({ platform: 'darwin', si }),
      system: {
        cpu: new CpuSampler({ platform: 'darwin', si }),
        network: new NetworkSampler(portableNetworkTotals(si)),
        processes: macTable,
      },
    },
  )
  await waitFor(() => s.runtime.pool.list().some((b) => b.tier === 'permanent' && b.pid !== null), 30_000, 'the permanent browser')
  browserPid = s.runtime.pool.list().find((b) => b.tier === 'permanent')!.pid
})

afterAll(() => scope.closeAll())

describe('/monitor/health from the macOS readings', () => {
  it('shows systeminformation’s CPU, memory and network, and the browser tree’s summed RSS', async () => {
    let health: MonitorHealth | null = null
    await waitFor(
      async () => {
        health = (await s.get<MonitorHealth>('/monitor/health')).body
        return health.container.cpu_percent === 42.3 && health.container.memory_used_mb === 6144 && health.pool.permanent.memory_mb === 512
      },
      20_000,
      'the faked readings in /monitor/health',
    )
    const h = health!
    expect(h.container).toMatchObject({
      cpu_percent: 42.3,
      memory_percent: 37.5,
      memory_source: 'host',
      memory_used_mb: 6144,
      memory_limit_mb: 16384,
      // Loopback left out.
      network_sent_mb: 100,
      network_recv_mb: 300,
    })
    // Constant counters: no traffic since the first reading.
    expect(h.container.network_sent_mb_per_sec).toBe(0)
    expect(h.pool.permanent).toEqual({ active: true, memory_mb: 512 })
    expect(h.pool.total_memory_mb).toBe(512)
    // The engine's memory guard reads the same figures.
    expect(s.runtime.readMemory()).toEqual({ percent: 37.5, used_bytes: 6 * GiB, limit_bytes: 16 * GiB, source: 'host' })
  })

  it('the browser list shows the tree’s memory and processes', async () => {
    const res = await s.get<{ browsers: Array<{ type: string; memory_mb: number; processes?: number }> }>('/monitor/browsers')
    const permanent = res.body.browsers.find((b) => b.type === 'permanent')
    expect(permanent?.memory_mb).toBe(512)
  })
})
