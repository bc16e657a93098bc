import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface CpuSamplerOptions {
  cgroupRoot?: string
  procRoot?: string
  /** Monotonic milliseconds; injectable so tests can control the wall-clock delta. */
  now?: () => number
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
 * construction). Prefers the cgroup v2 counters so a CPU-limited container reports against its
 * quota rather than against host cores it may never get.
 */
export class CpuSampler {
  private readonly cgroupRoot: string
  private readonly procRoot: string
  private readonly now: () => number
  private readonly useCgroup: boolean
  private last: Counter | null
  private lastPercent = 0

  constructor(opts: CpuSamplerOptions = {}) {
    this.cgroupRoot = opts.cgroupRoot ?? '/sys/fs/cgroup'
    this.procRoot = opts.procRoot ?? '/proc'
    this.now = opts.now ?? (() => performance.now())
    this.useCgroup = this.readCgroupUsage() !== null
    this.last = this.read()
  }

  /** Percent (0..100) of the CPUs available to us, consumed since the previous sample. */
  sample(): number {
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

  private readCgroupUsage(): number | null {
    const text = readText(path.join(this.cgroupRoot, 'cpu.stat'))
    const match = text === null ? null : /^usage_usec\s+(\d+)/m.exec(text)
    return match?.[1] === undefined ? null : Number(match[1])
  }

  // Re-read on every sample: the quota can be changed on a live container.
  private availableCpus(): number {
    const cpus = os.availableParallelism()
    const [quota, period] = (readText(path.join(this.cgroupRoot, 'cpu.max')) ?? '').trim().split(/\s+/)
    const q = Number(quota)
    const p = Number(period)
    if (quota === 'max' || !(q > 0) || !(p > 0)) return cpus
    return Math.min(q / p, cpus)
  }

  private readProcStat(): Counter | null {
    const line = readText(path.join(this.procRoot, 'stat'))?.split('\n').find((l) => l.startsWith('cpu '))
    if (line === undefined) return null
    // user nice system idle iowait irq softirq steal; guest time is already folded into user/nice.
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number)
    const total = fields.reduce((a, b) => a + b, 0)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return { busy: total - idle, total }
  }
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}
