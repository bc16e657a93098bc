import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cgroupDirs } from '../src/main/core/system/cgroup.js'
import { CpuSampler } from '../src/main/core/system/cpu.js'
import { readMemoryUsage } from '../src/main/core/system/memory.js'

/** Fake /sys/fs/cgroup and /proc trees: our process sits in a nested cgroup, as in a container. */
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-cgroup-'))
  dirs.push(root)
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true })
    writeFileSync(path.join(root, rel), content)
  }
  return root
}

const GiB = 1024 ** 3
const meminfo = `MemTotal: ${64 * 1024 * 1024} kB\nMemAvailable: ${60 * 1024 * 1024} kB\n`

describe('own cgroup, not the mount root', () => {
  it('lists our cgroup and its ancestors, nearest first, then the mount', () => {
    const proc = tree({ 'self/cgroup': '4:memory:/pod/abc\n0::/x/y\n' })
    expect(cgroupDirs('memory', '/sys/fs/cgroup', proc)).toEqual(['/sys/fs/cgroup/memory/pod/abc', '/sys/fs/cgroup/memory/pod', '/sys/fs/cgroup/memory'])
    expect(cgroupDirs(null, '/cg', proc)).toEqual(['/cg/x/y', '/cg/x', '/cg'])
    expect(cgroupDirs('cpu', '/cg', proc)).toEqual(['/cg/cpu'])
  })

  it('memory (v1): the limit of our own cgroup counts, though the mount root is unlimited', () => {
    const proc = tree({ 'self/cgroup': '4:memory:/pod/abc\n', meminfo })
    const cg = tree({
      'memory/memory.limit_in_bytes': '9223372036854771712',
      'memory/memory.usage_in_bytes': String(40 * GiB),
      'memory/memory.stat': 'total_inactive_file 0\n',
      'memory/pod/abc/memory.limit_in_bytes': String(4 * GiB),
      'memory/pod/abc/memory.usage_in_bytes': String(3 * GiB),
      'memory/pod/abc/memory.stat': `total_inactive_file ${1 * GiB}\n`,
    })
    const r = readMemoryUsage({ cgroupRoot: cg, procRoot: proc })
    expect(r.source).toBe('cgroup1')
    expect(r.limit_bytes).toBe(4 * GiB)
    expect(r.percent).toBeCloseTo(50, 5)
  })

  it('memory (v2): a limit set on an ancestor applies when our own cgroup has none', () => {
    const proc = tree({ 'self/cgroup': '0::/pod/abc\n', meminfo })
    const cg = tree({
      'pod/abc/memory.max': 'max',
      'pod/memory.max': String(8 * GiB),
      'pod/memory.current': String(2 * GiB),
      'pod/memory.stat': 'inactive_file 0\n',
    })
    const r = readMemoryUsage({ cgroupRoot: cg, procRoot: proc })
    expect(r.source).toBe('cgroup2')
    expect(r.percent).toBeCloseTo(25, 5)
  })

  it('CPU (v1): cpuacct.usage of our cgroup against the cfs quota', () => {
    const proc = tree({ 'self/cgroup': '2:cpuacct:/pod\n1:cpu:/pod\n', stat: 'cpu  1 0 1 100 0 0 0 0 0 0\n' })
    const cg = tree({
      'cpuacct/pod/cpuacct.usage': '0',
      'cpu/pod/cpu.cfs_quota_us': '50000',
      'cpu/pod/cpu.cfs_period_us': '100000',
    })
    let now = 0
    const sampler = new CpuSampler({ cgroupRoot: cg, procRoot: proc, now: () => now })
    // 0.25 s of CPU in 1 s of wall time, against half a CPU of quota: 50 %.
    writeFileSync(path.join(cg, 'cpuacct/pod/cpuacct.usage'), String(250_000_000))
    now = 1000
    expect(sampler.sample()).toBeCloseTo(50, 5)
  })
})
