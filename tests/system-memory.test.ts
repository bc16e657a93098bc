import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CpuSampler } from '../src/main/core/system/cpu.js'
import { readHostMemory, readMemoryUsage } from '../src/main/core/system/memory.js'

const GiB = 1024 ** 3

let tmp: string
let cgroupRoot: string
let procRoot: string

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'crawldeck-sys-'))
  cgroupRoot = path.join(tmp, 'cgroup')
  procRoot = path.join(tmp, 'proc')
  await mkdir(path.join(cgroupRoot, 'memory'), { recursive: true })
  await mkdir(procRoot, { recursive: true })
  // 16 GiB host, 4 GiB available -> 75 % used.
  await writeMeminfo(16 * GiB, 4 * GiB)
})

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true })
})

async function writeMeminfo(total: number, available: number): Promise<void> {
  const kb = (n: number) => `${Math.round(n / 1024)} kB`
  const text = [`MemTotal:       ${kb(total)}`, `MemFree:        ${kb(available / 2)}`, `MemAvailable:   ${kb(available)}`, 'Buffers:        1024 kB', ''].join(
    '\n',
  )
  await writeFile(path.join(procRoot, 'meminfo'), text)
}

async function put(rel: string, content: string): Promise<void> {
  await writeFile(path.join(cgroupRoot, rel), content)
}

describe('readMemoryUsage', () => {
  it('reads a limited cgroup v2 as working set over memory.max', async () => {
    await put('memory.max', `${2 * GiB}\n`)
    await put('memory.current', `${1.5 * GiB}\n`)
    await put('memory.stat', `anon 123\nfile 456\ninactive_file ${0.5 * GiB}\nactive_file 42\n`)
    const r = readMemoryUsage({ cgroupRoot, procRoot })
    expect(r).toEqual({ percent: 50, used_bytes: 1 * GiB, limit_bytes: 2 * GiB, source: 'cgroup2' })
  })

  it('treats cgroup v2 memory.max "max" as no limit and reports the host', async () => {
    await put('memory.max', 'max\n')
    await put('memory.current', `${1 * GiB}\n`)
    await put('memory.stat', 'inactive_file 0\n')
    const r = readMemoryUsage({ cgroupRoot, procRoot })
    expect(r.source).toBe('host')
    expect(r.limit_bytes).toBe(16 * GiB)
    expect(r.percent).toBeCloseTo(75, 5)
  })

  it('uses the host when the cgroup v2 limit exceeds physical memory', async () => {
    await put('memory.max', `${64 * GiB}\n`)
    await put('memory.current', `${1 * GiB}\n`)
    expect(readMemoryUsage({ cgroupRoot, procRoot }).source).toBe('host')
  })

  it('reads a limited cgroup v1 as usage minus total_inactive_file', async () => {
    await put('memory/memory.limit_in_bytes', `${4 * GiB}\n`)
    await put('memory/memory.usage_in_bytes', `${3 * GiB}\n`)
    await put('memory/memory.stat', `inactive_file 7\ntotal_inactive_file ${1 * GiB}\n`)
    const r = readMemoryUsage({ cgroupRoot, procRoot })
    expect(r).toEqual({ percent: 50, used_bytes: 2 * GiB, limit_bytes: 4 * GiB, source: 'cgroup1' })
  })

  it('treats the cgroup v1 "unlimited" sentinel as no limit', async () => {
    await put('memory/memory.limit_in_bytes', '9223372036854771712\n')
    await put('memory/memory.usage_in_bytes', `${3 * GiB}\n`)
    const r = readMemoryUsage({ cgroupRoot, procRoot })
    expect(r.source).toBe('host')
    expect(r.percent).toBeCloseTo(75, 5)
  })

  it('treats a cgroup v1 limit above host MemTotal as no limit', async () => {
    await put('memory/memory.limit_in_bytes', `${32 * GiB}\n`)
    await put('memory/memory.usage_in_bytes', `${3 * GiB}\n`)
    expect(readMemoryUsage({ cgroupRoot, procRoot }).source).toBe('host')
  })

  it('computes host usage as (MemTotal - MemAvailable) / MemTotal', async () => {
    await writeMeminfo(8 * GiB, 6 * GiB)
    expect(readHostMemory(procRoot)).toEqual({ total_bytes: 8 * GiB, available_bytes: 6 * GiB })
    const r = readMemoryUsage({ cgroupRoot: path.join(tmp, 'absent'), procRoot })
    expect(r).toEqual({ percent: 25, used_bytes: 2 * GiB, limit_bytes: 8 * GiB, source: 'host' })
  })

  it('reads this machine', () => {
    const r = readMemoryUsage()
    expect(['cgroup2', 'cgroup1', 'host']).toContain(r.source)
    expect(r.percent).toBeGreaterThan(0)
    expect(r.percent).toBeLessThan(100)
    expect(r.used_bytes).toBeGreaterThan(0)
    expect(r.limit_bytes).toBeGreaterThan(r.used_bytes)
  })
})

describe('CpuSampler', () => {
  it('reports cgroup v2 usage against the cpu.max quota', async () => {
    let now = 10_000
    await put('cpu.stat', 'usage_usec 1000000\nuser_usec 800000\nsystem_usec 200000\n')
    await put('cpu.max', '50000 100000\n') // half a CPU
    const sampler = new CpuSampler({ cgroupRoot, procRoot, now: () => now })
    // 1 s of wall time, 0.25 s of CPU, on a 0.5 CPU quota -> 50 %.
    now += 1000
    await put('cpu.stat', 'usage_usec 1250000\n')
    expect(sampler.sample()).toBeCloseTo(50, 5)
    // The next sample is measured from the previous one, not from construction.
    now += 2000
    await put('cpu.stat', 'usage_usec 1350000\n')
    expect(sampler.sample()).toBeCloseTo(10, 5)
  })

  it('uses every available CPU when cpu.max has no quota', async () => {
    let now = 0
    await put('cpu.stat', 'usage_usec 0\n')
    await put('cpu.max', 'max 100000\n')
    const sampler = new CpuSampler({ cgroupRoot, procRoot, now: () => now })
    now += 1000
    await put('cpu.stat', 'usage_usec 1000000\n') // one full CPU-second
    expect(sampler.sample()).toBeCloseTo(100 / os.availableParallelism(), 5)
  })

  it('falls back to /proc/stat busy over total jiffies', async () => {
    const stat = (user: number, idle: number) => `cpu  ${user} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 ${user} 0 0 ${idle} 0 0 0 0 0 0\n`
    await writeFile(path.join(procRoot, 'stat'), stat(100, 900))
    const sampler = new CpuSampler({ cgroupRoot: path.join(tmp, 'absent'), procRoot })
    await writeFile(path.join(procRoot, 'stat'), stat(400, 1600)) // +300 busy of +1000
    expect(sampler.sample()).toBeCloseTo(30, 5)
  })

  it('samples this machine without blocking', () => {
    const sampler = new CpuSampler()
    const started = performance.now()
    const first = sampler.sample()
    let spin = 0
    for (let i = 0; i < 2_000_000; i++) spin += i
    const second = sampler.sample()
    expect(spin).toBeGreaterThan(0)
    expect(performance.now() - started).toBeLessThan(1000)
    for (const v of [first, second]) {
      expect(Number.isFinite(v)).toBe(true)
      expect(v).toBeGreaterThanOrEqual(0)
      expect(v).toBeLessThanOrEqual(100)
    }
  })
})
