/**
 * The readings the monitor answers from: CPU, memory and network of the container or host, and
 * the memory of each browser's process tree, read from /proc and cgroups on the monitor's timers.
 */
import type { Logger } from '../logger.js'
import type { BrowserPool } from '../pool/pool.js'
import { CpuSampler } from '../system/cpu.js'
import type { MemoryReading } from '../system/memory.js'
import { NetworkSampler, type NetworkRates } from '../system/network.js'
import type { ProcessSource } from '../system/process-table.js'
import { ProcessTreeScanner, processTreesMemory } from '../system/process-tree.js'

/** Process trees and RSS are read every second; PSS (costly for the kernel) every this many seconds. */
const PSS_EVERY = 5

export interface BrowserMemory {
  /** PSS of the tree (RSS where PSS is unreadable), from the last PSS reading. */
  bytes: number
  /** Processes that PSS reading covered. */
  processes: number
  /** Private anonymous memory of the tree (process-tree.ts anon_bytes), refreshed every second, for mem_delta. */
  anon: number
}

export interface SamplerDeps {
  pool: Pick<BrowserPool, 'list' | 'get'>
  readMemory: () => MemoryReading
  logger: Logger
  /** Injected in tests; default reads /proc and cgroups. */
  cpu?: CpuSampler
  network?: NetworkSampler
  /** Where process trees are read; this platform's by default (/proc on Linux, the process table elsewhere). */
  processes?: ProcessSource
}

export class ResourceSampler {
  private readonly cpuSampler: CpuSampler
  private readonly networkSampler: NetworkSampler
  private lastCpu = 0
  private cpuSinceTick: number[] = []
  private lastMemory: MemoryReading
  private lastNetwork: NetworkRates
  private readonly browserMemory = new Map<string, BrowserMemory>()
  /** Finds the browsers' process trees each second without reading every process on the host. */
  private readonly treeScanner: ProcessTreeScanner
  private sampling: Promise<void> | null = null
  private resample: Promise<void> | null = null
  private secondsSampled = 0
  /** Scans of /proc started so far, and the number of the one whose readings browserMemory holds. */
  private started = 0
  private done = 0

  constructor(private readonly deps: SamplerDeps) {
    this.cpuSampler = deps.cpu ?? new CpuSampler()
    this.networkSampler = deps.network ?? new NetworkSampler()
    this.treeScanner = new ProcessTreeScanner(deps.processes)
    this.lastNetwork = this.networkSampler.sample()
    this.lastMemory = deps.readMemory()
  }

  /** CPU use at the last reading, in percent. */
  get cpu(): number {
    return this.lastCpu
  }

  /** The memory reading of the last sample (at most a second old). */
  get memory(): MemoryReading {
    return this.lastMemory
  }

  get network(): NetworkRates {
    return this.lastNetwork
  }

  /** Whether process trees come from a process table, which knows RSS only (no /proc). */
  private get rssOnly(): boolean {
    return typeof this.treeScanner.procRoot !== 'string'
  }

  /** Scans of the browsers' processes started so far. */
  get scansStarted(): number {
    return this.started
  }

  /** The number of the scan whose readings are held now (tests wait on it instead of sleeping). */
  get scansDone(): number {
    return this.done
  }

  /** /proc stat files the last scan read: the browsers' own processes and new ones, between full scans. */
  get lastScanStatReads(): number {
    return this.treeScanner.lastStatReads
  }

  /** A browser's memory at the last scan that found it; a cached number, no /proc read. */
  browser(id: string): BrowserMemory | undefined {
    return this.browserMemory.get(id)
  }

  forget(id: string): void {
    this.browserMemory.delete(id)
  }

  /** The once-a-second readings of the container or host: CPU, memory and network. */
  readHost(): void {
    this.lastCpu = this.cpuSampler.sample()
    this.cpuSinceTick.push(this.lastCpu)
    this.lastMemory = this.deps.readMemory()
    this.lastNetwork = this.networkSampler.sample()
  }

  /** Mean CPU use since the last call; the last reading when none was taken since. */
  takeCpuMean(): number {
    const cpu = this.cpuSinceTick.length > 0 ? this.cpuSinceTick.reduce((a, b) => a + b, 0) / this.cpuSinceTick.length : this.lastCpu
    this.cpuSinceTick = []
    return cpu
  }

  /** The once-a-second scan of the browsers: PSS on every PSS_EVERY-th, RSS and private memory on the others. */
  scanEverySecond(): Promise<void> {
    return this.scanBrowsers(this.secondsSampled++ % PSS_EVERY === 0)
  }

  /** Memory of every browser's process tree, from one scan of /proc. */
  scanBrowsers(withPss = true): Promise<void> {
    // A browser launched during a scan is not in it: scan once more right after.
    if (this.sampling) {
      this.resample ??= this.sampling.then(() => {
        this.resample = null
        return this.scanBrowsers(withPss)
      })
      return this.resample
    }
    this.sampling = (async () => {
      const scan = ++this.started
      try {
        const browsers = this.deps.pool.list().filter((b) => b.pid !== null)
        const trees = await processTreesMemory(
          browsers.map((b) => b.pid as number),
          { pss: withPss, scanner: this.treeScanner },
        )
        const live = new Set<string>()
        for (const b of browsers) {
          const tree = trees.get(b.pid as number)
          if (!tree) continue
          live.add(b.id)
          const previous = this.browserMemory.get(b.id)
          // Between PSS readings the last PSS reading stands (at most a few seconds old) with the
          // process count it was taken over, so memory_mb and processes always describe the same
          // tree and never flip between two measures of a different kind. Private memory (for
          // mem_delta) is refreshed every second. Where there is no PSS at all (a process table
          // instead of /proc: macOS, Windows) RSS is the one measure, and taken every time.
          const fromPss = tree.pss_bytes !== null || !previous || this.rssOnly
          this.browserMemory.set(b.id, {
            bytes: tree.pss_bytes ?? (fromPss ? tree.rss_bytes : (previous?.bytes ?? tree.rss_bytes)),
            processes: fromPss ? tree.processes : (previous?.processes ?? tree.processes),
            anon: tree.anon_bytes,
          })
        }
        for (const id of this.browserMemory.keys()) if (!live.has(id) && !this.deps.pool.get(id)) this.browserMemory.delete(id)
        this.done = scan
      } catch (err) {
        this.deps.logger.warn({ err }, 'browser memory sampling failed')
      } finally {
        this.sampling = null
      }
    })()
    return this.sampling
  }
}
