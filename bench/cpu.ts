import { readFile } from 'node:fs/promises'
import { listProcesses, processTree } from '../src/main/core/system/process-tree.js'

/*
 * CPU time, which a loaded machine inflates far less than wall time: a page that costs 30 ms of
 * CPU costs 30 ms whether it waited 10 ms or 500 ms for a core. Read from /proc (Linux only;
 * elsewhere every figure is NaN and the report says so).
 */

/** Linux USER_HZ: /proc/<pid>/stat counts CPU in these ticks. 100 on every mainstream kernel. */
const TICKS_PER_SECOND = 100

/** Node's own CPU (this process: the bench client, the Koa server and every playwright client), ms. */
export function nodeCpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * CPU the whole machine has used so far, ms: the busy columns of /proc/stat's first line (user,
 * nice, system, irq, softirq; not steal, which is time the hypervisor gave to someone else),
 * summed over all cores. Everything a contender runs is in it, wherever it runs: Node, its
 * browsers, renderers that already exited (a browser per request leaves nothing to read per
 * process afterwards). So is anything else the machine runs, which on the bench machine is idle
 * services. NaN where there is no /proc/stat.
 */
export async function machineCpuMs(): Promise<number> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => null)
  const cols = stat?.split('\n', 1)[0]?.trim().split(/\s+/) ?? []
  if (cols[0] !== 'cpu' || cols.length < 9) return Number.NaN
  const n = cols.slice(1).map(Number)
  const busy = (n[0] ?? 0) + (n[1] ?? 0) + (n[2] ?? 0) + (n[5] ?? 0) + (n[6] ?? 0)
  return (busy * 1000) / TICKS_PER_SECOND
}

/** Direct children of this process: the Chromium browsers we launched are among them. */
export async function childPids(): Promise<Set<number>> {
  try {
    return new Set((await listProcesses()).filter((p) => p.ppid === process.pid).map((p) => p.pid))
  } catch {
    return new Set()
  }
}

/**
 * CPU used so far by a process tree, ms: utime + stime of every live process plus cutime + cstime
 * (children that exited and were reaped, e.g. the renderers of closed contexts).
 */
export async function treeCpuMs(rootPid: number | null): Promise<number> {
  if (rootPid === null) return Number.NaN
  let pids: number[]
  try {
    pids = await processTree(rootPid)
  } catch {
    return Number.NaN
  }
  if (pids.length === 0) return Number.NaN
  const ticks = await Promise.all(
    pids.map(async (pid) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
      if (stat === null) return 0
      // Fields after the parenthesised command (which may hold spaces): state is field 3, utime 14.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return [11, 12, 13, 14].reduce((s, i) => s + Number(fields[i] ?? 0), 0)
    }),
  )
  return (ticks.reduce((a, b) => a + b, 0) * 1000) / TICKS_PER_SECOND
}

/**
 * CPU of everything this process launched, ms: every live child's tree plus the children already
 * reaped (this process's own cutime + cstime). Unlike one browser's tree it survives a browser
 * being retired and relaunched in the middle of a measurement.
 */
export async function childrenCpuMs(): Promise<number> {
  const self = await readFile('/proc/self/stat', 'utf8').catch(() => null)
  if (self === null) return Number.NaN
  const fields = self.slice(self.lastIndexOf(')') + 2).split(' ')
  const reaped = ((Number(fields[13] ?? 0) + Number(fields[14] ?? 0)) * 1000) / TICKS_PER_SECOND
  const live = await Promise.all([...(await childPids())].map((pid) => treeCpuMs(pid).then((ms) => (Number.isNaN(ms) ? 0 : ms))))
  return reaped + live.reduce((a, b) => a + b, 0)
}

/** Accumulated CPU of one side over its measured segments. */
export interface CpuTally {
  nodeMs: number
  browserMs: number
  pages: number
}

export function emptyTally(): CpuTally {
  return { nodeMs: 0, browserMs: 0, pages: 0 }
}

/** Run `segment` (which serves `pages` pages) and add the CPU it used to `tally`. */
export async function withCpu<T>(tally: CpuTally, browserPid: number | null, pages: number, segment: () => Promise<T>): Promise<T> {
  const b0 = await treeCpuMs(browserPid)
  const n0 = nodeCpuMs()
  const out = await segment()
  const n1 = nodeCpuMs()
  const b1 = await treeCpuMs(browserPid)
  tally.nodeMs += n1 - n0
  tally.browserMs += b1 - b0
  tally.pages += pages
  return out
}
