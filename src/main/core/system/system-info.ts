/*
 * CPU, memory, network and the process table where there is no /proc: macOS and Windows, through
 * the `systeminformation` package (os.cpus() deltas for CPU; vm_stat on macOS and the OS counters
 * on Windows for memory and network; ps or Win32_Process for the process table).
 *
 * On Linux the engine reads /proc and cgroups itself (cpu.ts, memory.ts, network.ts,
 * process-tree.ts) and never loads this package. Measured (bench/system-readings.ts,
 * docs/benchmarks.md "System readings"): a CPU reading 55x slower through si.currentLoad() (it
 * runs `cat /proc/stat` as a synchronous child process, blocking the event loop for milliseconds),
 * network 58x slower through si.networkStats(); memory about even, but si.mem() is asynchronous
 * and blind to a container's cgroup limit, which is the one the memory guard must go by.
 */

/** The parts of systeminformation the engine reads, as it answers them; tests hand a fake. */
export interface SystemInfo {
  /** CPU use since the previous call, in percent of all cores. */
  currentLoad(): Promise<{ currentLoad: number }>
  /** Bytes; `available` counts what the OS would hand out without swapping (free + reclaimable cache). */
  mem(): Promise<{ total: number; available: number }>
  /** With '*': every interface, counters in bytes since boot. */
  networkStats(ifaces?: string): Promise<Array<{ iface: string; rx_bytes: number; tx_bytes: number }>>
  /** memRss in KiB; on macOS `command` is the program and `params` its arguments, on Windows `command` is the whole command line. */
  processes(): Promise<{ list: Array<{ pid: number; parentPid: number; memRss: number; command: string; params: string }> }>
}

/** The package itself, loaded on first use: Linux never pays for it. */
export const systemInfo: SystemInfo = {
  currentLoad: async () => (await load()).currentLoad(),
  mem: async () => (await load()).mem(),
  networkStats: async (ifaces) => (await load()).networkStats(ifaces),
  processes: async () => (await load()).processes(),
}

let loaded: Promise<typeof import('systeminformation')> | null = null
function load(): Promise<typeof import('systeminformation')> {
  loaded ??= import('systeminformation').then((m) => (m as { default?: typeof import('systeminformation') }).default ?? m)
  return loaded
}

/** Whether this platform's readings come from /proc (true) or from systeminformation. */
export function readsProc(platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'linux'
}

/**
 * The latest answer of an asynchronous reading, for callers that must not wait: the memory guard
 * runs right before each browser launch and never yields, and the monitor's readings are taken
 * synchronously once a second. get() answers at once with the last value and starts the next
 * reading unless one is under way, so the value is at most one reading old and a slow one (a
 * spawned process on Windows) never piles up behind itself.
 */
export class LatestReading<T> {
  private value: T
  private inFlight: Promise<T> | null = null
  private readAt = -Infinity
  /** Completed readings so far (tests wait on it). */
  readings = 0

  /**
   * `minIntervalMs`: get() starts no reading within this long of the last one's answer, for
   * readings that spawn a process (network counters, Windows) and are asked for on every launch.
   */
  constructor(
    private readonly read: () => Promise<T>,
    initial: T,
    private readonly opts: { minIntervalMs?: number; onError?: (err: unknown) => void } = {},
  ) {
    this.value = initial
  }

  get(): T {
    if (performance.now() - this.readAt >= (this.opts.minIntervalMs ?? 0)) void this.refresh()
    return this.value
  }

  /** The next reading (the one under way, if any); a failed one keeps the last value. */
  refresh(): Promise<T> {
    this.inFlight ??= this.read().then(
      (value) => {
        this.value = value
        this.readings++
        this.readAt = performance.now()
        this.inFlight = null
        return value
      },
      (err: unknown) => {
        this.readAt = performance.now()
        this.inFlight = null
        this.opts.onError?.(err)
        return this.value
      },
    )
    return this.inFlight
  }
}
