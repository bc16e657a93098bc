/**
 * The Linux fast path against systeminformation, per reading: CPU, memory and network as the
 * monitor takes them (/proc and cgroups read directly, src/main/core/system/*) and as
 * systeminformation takes them (si.currentLoad, si.mem, si.networkStats). Run alone, on an idle
 * machine: `npx tsx bench/system-readings.ts [calls]` (default 100 each; CPU readings 210 ms apart, so about a minute). It decides which path
 * Linux uses (system-info.ts); docs/benchmarks.md, "System readings", has the last run.
 */
import si from 'systeminformation'
import { CpuSampler } from '../src/main/core/system/cpu.js'
import { readMemoryUsage } from '../src/main/core/system/memory.js'
import { readNetworkTotals } from '../src/main/core/system/network.js'

const calls = Number(process.argv[2] ?? 100)

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Mean wall time of one call and the CPU this process spent in it, in microseconds, after a few
 * warm-up calls. `gapMs` between calls, outside the measured time: si.currentLoad answers a call
 * within 200 ms of the previous one from its cache, and the monitor reads once a second.
 */
async function measure(name: string, fn: () => unknown, gapMs = 0): Promise<{ name: string; wall_us: number; cpu_us: number }> {
  for (let i = 0; i < 5; i++) await fn()
  let wall = 0
  let cpuUs = 0
  for (let i = 0; i < calls; i++) {
    if (gapMs > 0) await pause(gapMs)
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await fn()
    wall += (performance.now() - t0) * 1000
    const used = process.cpuUsage(cpu0)
    cpuUs += used.user + used.system
  }
  return { name, wall_us: Math.round(wall / calls), cpu_us: Math.round(cpuUs / calls) }
}

const cpu = new CpuSampler()
const pairs: Array<[Awaited<ReturnType<typeof measure>>, Awaited<ReturnType<typeof measure>>]> = [
  [await measure('cpu /proc', () => cpu.sample(), 210), await measure('cpu si.currentLoad', () => si.currentLoad(), 210)],
  [await measure('memory /proc', () => readMemoryUsage()), await measure('memory si.mem', () => si.mem())],
  [await measure('network /proc', () => readNetworkTotals()), await measure("network si.networkStats('*')", () => si.networkStats('*'))],
]
for (const [proc, lib] of pairs) {
  console.log(
    `${proc.name.padEnd(16)} ${String(proc.wall_us).padStart(7)} µs   ${lib.name.padEnd(30)} ${String(lib.wall_us).padStart(7)} µs   ` +
      `si/proc ${(lib.wall_us / Math.max(1, proc.wall_us)).toFixed(1)}x wall, ${(lib.cpu_us / Math.max(1, proc.cpu_us)).toFixed(1)}x own CPU`,
  )
}
