import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cgroupDirs } from './cgroup.js'
import { LatestReading, readsProc, systemInfo, type SystemInfo } from './system-info.js'

/*
 * CPU use for the monitor: our cgroup's usage against the CPUs it may use (its quota, if any),
 * or the host's, from /proc/stat, where there is no cgroup to read. Off Linux, the host's from
 * systeminformation (system-info.ts).
 */

export interface CpuSamplerOptions {
  cgroupRoot?: string
  procRoot?: string
  /** Monotonic milliseconds; injectable so tests can control the wall-clock delta. */
  now?: () => number
  /** Linux reads /proc and cgroups; any other platform asks `si` (tests run that path on Linux). */
  platform?: NodeJS.Platform
  si?: SystemInfo
}

interface Counter {
  /** CPU time consumed in microseconds (cgroup) or busy jiffies (/proc/stat). */
  busy: number
  /** What `busy` is measured against: wall microseconds (cgroup) or total jiffies (/proc/stat). */
  total: number
}

/**
 * CPU use between two calls, without ever sleeping: the caller decides the sampling interval
 * (a metrics tick), and each sample() is the busy share since the previous one (or since
 * construction). Prefers our own cgroup's counters (v2 cpu.stat, else v1 cpuacct.usage) so a
 * CPU-limited container reports against its quota rather than against host cores it may never
 * get; /proc/stat (the host) only when there is no cgroup to read.
 */
export class CpuSampler {
  private readonly cgroupRoot: string
  private readonly procRoot: string
  private readonly now: () => number
  private readonly useCgroup: boolean
  /** The usage counter of our own cgroup (v2 cpu.stat or v1 cpuacct.usage), found once. */
  private readonly usage: { file: string; kind: 'v2' | 'v1' } | null
  private readonly cgroupDirsV2: string[]
  private readonly cgroupDirsV1Cpu: string[]
  private last: Counter | null
  private lastPercent = 0
  /** Off Linux: systeminformation's load, each reading over the time since the one before. */
  private readonly portable: LatestReading<number> | null

  constructor(opts: CpuSamplerOptions = {}) {
    const si = opts.si ?? systemInfo
    this.portable = readsProc(opts.platform) ? null : new LatestReading(async () => clampPercent((await si.currentLoad()).currentLoad), 0)
    this.cgroupRoot = opts.cgroupRoot ?? '/sys/fs/cgroup'
    this.procRoot = opts.procRoot ?? '/proc'
    this.now = opts.now ?? (() => performance.now())
    this.cgroupDirsV2 = cgroupDirs(null, this.cgroupRoot, this.procRoot)
    this.cgroupDirsV1Cpu = cgroupDirs('cpu', this.cgroupRoot, this.procRoot)
    this.usage = this.findUsage()
    this.useCgroup = this.readCgroupUsage() !== null
    this.last = this.read()
  }

  /**
   * Percent (0..100) of the CPUs available to us, consumed since the previous sample. Off Linux
   * the answer of the reading the previous sample started (one sampling interval late).
   */
  sample(): number {
    if (this.portable) return this.portable.get()
    const current = this.read()
    const previous = this.last
    this.last = current
    if (current === null || previous === null) return this.lastPercent
    const busy = current.busy - previous.busy
    let capacity = current.total - previous.total
    if (this.useCgroup) capacity *= this.availableCpus()
    // Two calls in the same tick (or a counter reset) carry no information: repeat the last answer.
    if (capacity <= 0 || busy < 0) return this.lastPercent
    this.lastPercent = Math.min(100, Math.max(0, (busy / capacity) * 100))
    return this.lastPercent
  }

  private read(): Counter | null {
    if (this.useCgroup) {
      const usage = this.readCgroupUsage()
      return usage === null ? null : { busy: usage, total: this.now() * 1000 }
    }
    return this.readProcStat()
  }

  /** Our own cgroup's counter, nearest first: v2 cpu.stat, then v1 cpuacct.usage. */
  private findUsage(): { file: string; kind: 'v2' | 'v1' } | null {
    for (const dir of this.cgroupDirsV2) {
      const file = path.join(dir, 'cpu.stat')
      if (parseUsage(readText(file), 'v2') !== null) return { file, kind: 'v2' }
    }
    for (const dir of cgroupDirs('cpuacct', this.cgroupRoot, this.procRoot)) {
      const file = path.join(dir, 'cpuacct.usage')
      if (parseUsage(readText(file), 'v1') !== null) return { file, kind: 'v1' }
    }
    return null
  }

  /** CPU time used by our cgroup, in microseconds. */
  private readCgroupUsage(): number | null {
    return this.usage === null ? null : parseUsage(readText(this.usage.file), this.usage.kind)
  }

  // Re-read on every sample: the quota can be changed on a live container. The nearest cgroup
  // with a quota is the one that bites.
  private availableCpus(): number {
    const cpus = os.availableParallelism()
    for (const dir of this.cgroupDirsV2) {
      const [quota, period] = (readText(path.join(dir, 'cpu.max')) ?? '').trim().split(/\s+/)
      const q = Number(quota)
      const p = Number(period)
      if (quota !== 'max' && q > 0 && p > 0) return Math.min(q / p, cpus)
    }
    for (const dir of this.cgroupDirsV1Cpu) {
      const q = Number(readText(path.join(dir, 'cpu.cfs_quota_us'))?.trim())
      const p = Number(readText(path.join(dir, 'cpu.cfs_period_us'))?.trim())
      if (q > 0 && p > 0) return Math.min(q / p, cpus)
    }
    return cpus
  }

  private readProcStat(): Counter | null {
    const line = readText(path.join(this.procRoot, 'stat'))
      ?.split('\n')
      .find((l) => l.startsWith('cpu '))
    if (line === undefined) return null
    // user nice system idle iowait irq softirq steal; guest time is already folded into user/nice.
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
    const total = fields.reduce((a, b) => a + b, 0)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return { busy: total - idle, total }
  }
}

function clampPercent(n: number): number {
  return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0
}

function parseUsage(text: string | null, kind: 'v2' | 'v1'): number | null {
  if (text === null) return null
  if (kind === 'v1') {
    // cpuacct.usage is in nanoseconds.
    const ns = Number(text.trim())
    return Number.isFinite(ns) && text.trim() !== '' ? ns / 1000 : null
  }
  const match = /^usage_usec\s+(\d+)/m.exec(text)
  return match?.[1] === undefined ? null : Number(match[1])
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}
