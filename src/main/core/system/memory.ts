import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cgroupDirs } from './cgroup.js'
import { LatestReading, readsProc, systemInfo, type SystemInfo } from './system-info.js'

/*
 * How full memory is, for the container (cgroup v2 or v1) or the host: the reading behind the
 * pool's launch threshold, the janitor's pressure, /health and the monitor. Off Linux, the host's
 * from systeminformation.
 */

export interface MemoryReading {
  percent: number
  used_bytes: number
  limit_bytes: number
  source: 'cgroup2' | 'cgroup1' | 'host'
}

export interface HostMemory {
  total_bytes: number
  available_bytes: number
}

export interface MemoryRoots {
  cgroupRoot?: string
  procRoot?: string
  /** Linux reads /proc and cgroups; any other platform the host's memory from systeminformation. */
  platform?: NodeJS.Platform
}

// cgroup v1 reports "no limit" as a page-rounded 2^63-1; anything this large cannot be a real limit.
const V1_UNLIMITED = 2 ** 60

/**
 * How full memory is, as the container sees it. Synchronous on purpose: it runs right before
 * each browser launch and must never yield, and it only reads a handful of tiny pseudo-files.
 * "Used" is the working set (usage minus inactive file cache), like kubelet and `docker stats`,
 * because page cache is reclaimable and would otherwise make an idle box look full.
 */
export function readMemoryUsage(roots: MemoryRoots = {}): MemoryReading {
  if (!readsProc(roots.platform)) {
    portableMemory ??= hostMemoryReader({ platform: roots.platform })
    return portableMemory()
  }
  const cgroupRoot = roots.cgroupRoot ?? '/sys/fs/cgroup'
  const procRoot = roots.procRoot ?? '/proc'
  const host = readHostMemory(procRoot)
  // The nearest cgroup (ours, then each ancestor) that has a limit is the one that bites.
  for (const dir of cgroupDirs(null, cgroupRoot, procRoot)) {
    const r = readCgroup2(dir, host)
    if (r) return r
  }
  for (const dir of cgroupDirs('memory', cgroupRoot, procRoot)) {
    const r = readCgroup1(dir, host)
    if (r) return r
  }
  return hostReading(host)
}

export function readHostMemory(procRoot = '/proc'): HostMemory {
  const text = readText(path.join(procRoot, 'meminfo'))
  if (text === null) {
    // Not Linux (or /proc hidden): libuv's numbers are the best we have.
    return { total_bytes: os.totalmem(), available_bytes: os.freemem() }
  }
  const kb = parseKeyValues(text)
  const total = (kb.get('MemTotal') ?? 0) * 1024
  // MemAvailable is missing on kernels older than 3.14; approximate it the way `free` used to.
  const availableKb = kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0)
  return { total_bytes: total, available_bytes: Math.min(availableKb * 1024, total) }
}

let portableMemory: (() => MemoryReading) | null = null

/**
 * The host's memory where there is no /proc, synchronously (the memory guard never waits).
 *
 * macOS: si.mem(), whose `available` counts the reclaimable file cache (from vm_stat) like
 * MemAvailable on Linux; os.freemem() there is only the free pages, so an idle Mac would look
 * nearly full to the launch threshold. Each call answers the last reading and starts the next
 * (at most one a second: vm_stat is a spawned process); libuv's numbers until the first answer.
 *
 * Windows: os.totalmem() and os.freemem() (GlobalMemoryStatusEx's available physical memory),
 * which are exactly what si.mem() answers there for these two figures; it adds a PowerShell run
 * for the page file, which we do not use, so it is not asked.
 */
export function hostMemoryReader(opts: { platform?: NodeJS.Platform; si?: SystemInfo; onError?: (err: unknown) => void } = {}): () => MemoryReading {
  const fromOs = () => hostReading({ total_bytes: os.totalmem(), available_bytes: os.freemem() })
  if ((opts.platform ?? process.platform) === 'win32') return fromOs
  const si = opts.si ?? systemInfo
  const latest = new LatestReading(
    async () => {
      const m = await si.mem()
      return hostReading({ total_bytes: m.total, available_bytes: Math.min(m.available, m.total) })
    },
    fromOs(),
    { minIntervalMs: 1000, onError: opts.onError },
  )
  void latest.refresh()
  return () => latest.get()
}

function readCgroup2(root: string, host: HostMemory): MemoryReading | null {
  const max = readText(path.join(root, 'memory.max'))?.trim()
  // "max" means unlimited: a percentage of infinity is meaningless, so the host is what bounds us.
  if (max === undefined || max === 'max') return null
  const limit = Number(max)
  const current = readNumber(path.join(root, 'memory.current'))
  if (!isUsableLimit(limit, host) || current === null) return null
  const inactive = readStat(path.join(root, 'memory.stat'), 'inactive_file')
  return reading(current - inactive, limit, 'cgroup2')
}

function readCgroup1(dir: string, host: HostMemory): MemoryReading | null {
  const limit = readNumber(path.join(dir, 'memory.limit_in_bytes'))
  const usage = readNumber(path.join(dir, 'memory.usage_in_bytes'))
  if (limit === null || limit >= V1_UNLIMITED || !isUsableLimit(limit, host) || usage === null) return null
  // total_* includes descendant cgroups, which is what usage_in_bytes counts too.
  const inactive = readStat(path.join(dir, 'memory.stat'), 'total_inactive_file')
  return reading(usage - inactive, limit, 'cgroup1')
}

function hostReading(host: HostMemory): MemoryReading {
  return reading(host.total_bytes - host.available_bytes, host.total_bytes, 'host')
}

// A cgroup limit above physical RAM never bites before the host runs out, so the host is the real bound.
function isUsableLimit(limit: number, host: HostMemory): boolean {
  return Number.isFinite(limit) && limit > 0 && (host.total_bytes <= 0 || limit <= host.total_bytes)
}

function reading(used: number, limit: number, source: MemoryReading['source']): MemoryReading {
  const usedBytes = Math.max(0, used)
  const percent = limit > 0 ? Math.min(100, (usedBytes / limit) * 100) : 0
  return { percent, used_bytes: usedBytes, limit_bytes: limit, source }
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

function readNumber(file: string): number | null {
  const text = readText(file)?.trim()
  if (text === undefined || text === '') return null
  const n = Number(text)
  return Number.isFinite(n) ? n : null
}

function readStat(file: string, key: string): number {
  const text = readText(file)
  return text === null ? 0 : (parseKeyValues(text).get(key) ?? 0)
}

/** Parses both "key value" (memory.stat) and "Key:   value kB" (meminfo) lines. */
function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^([\w()]+):?\s+(\d+)/.exec(line)
    if (match?.[1] !== undefined && match[2] !== undefined) out.set(match[1], Number(match[2]))
  }
  return out
}
