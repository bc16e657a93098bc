import { readFileSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

/*
 * playwright-core's chromium.launch() hides the browser's PID, so the pool tags each launch with
 * a unique marker switch (Chromium ignores unknown ones) and finds the browser here, by reading
 * /proc directly: no `ps` to spawn, and it works the same inside minimal containers.
 */

export interface ProcInfo {
  pid: number
  ppid: number
  comm: string
  /** Single-letter state from /proc/<pid>/stat ("R", "S", "Z", ...). */
  state: string
}

export interface TreeMemory {
  rss_bytes: number
  /** Proportional set size: shared pages split between sharers, so it sums honestly across a tree. */
  pss_bytes: number | null
  processes: number
}

export async function listProcesses(procRoot = '/proc'): Promise<ProcInfo[]> {
  const pids = await listPids(procRoot)
  const infos = await Promise.all(
    pids.map(async (pid) => {
      // A process may exit between readdir and readFile; that is normal, not an error.
      const stat = await readFile(path.join(procRoot, String(pid), 'stat'), 'utf8').catch(() => null)
      return stat === null ? null : parseStat(pid, stat)
    }),
  )
  return infos.filter((p): p is ProcInfo => p !== null)
}

export async function findProcessesWithArg(marker: string, opts: { parentPid?: number; procRoot?: string } = {}): Promise<number[]> {
  // An empty marker is a prefix of every argument and would match the whole machine.
  if (marker === '') throw new TypeError('findProcessesWithArg: marker must not be empty')
  const procRoot = opts.procRoot ?? '/proc'
  const candidates =
    opts.parentPid === undefined
      ? await listPids(procRoot)
      : (await listProcesses(procRoot)).filter((p) => p.ppid === opts.parentPid).map((p) => p.pid)
  const matches = await Promise.all(
    candidates.map(async (pid) => {
      const cmdline = await readFile(path.join(procRoot, String(pid), 'cmdline'), 'utf8').catch(() => '')
      return cmdline.split('\0').some((arg) => arg === marker || arg.startsWith(marker)) ? pid : null
    }),
  )
  return matches.filter((pid): pid is number => pid !== null)
}

/** The root first, then its descendants breadth-first; empty when the root is gone. */
export async function processTree(rootPid: number, procRoot = '/proc'): Promise<number[]> {
  return treeOf(await listProcesses(procRoot), rootPid)
}

function treeOf(processes: ProcInfo[], rootPid: number, children = childrenMap(processes)): number[] {
  if (!processes.some((p) => p.pid === rootPid)) return []
  const tree = [rootPid]
  for (let i = 0; i < tree.length; i++) {
    for (const child of children.get(tree[i] as number) ?? []) tree.push(child)
  }
  return tree
}

function childrenMap(processes: ProcInfo[]): Map<number, number[]> {
  const children = new Map<number, number[]>()
  for (const p of processes) {
    const siblings = children.get(p.ppid)
    if (siblings) siblings.push(p.pid)
    else children.set(p.ppid, [p.pid])
  }
  return children
}

export async function processTreeMemory(rootPid: number, procRoot = '/proc'): Promise<TreeMemory> {
  return memoryOf(await processTree(rootPid, procRoot), procRoot)
}

/** Memory of several trees from one scan of /proc: what the monitor's sampler needs per tick. */
export async function processTreesMemory(
  rootPids: number[],
  opts: { procRoot?: string; pss?: boolean } = {},
): Promise<Map<number, TreeMemory & { pids: number[] }>> {
  const procRoot = opts.procRoot ?? '/proc'
  const processes = await listProcesses(procRoot)
  const children = childrenMap(processes)
  const out = new Map<number, TreeMemory & { pids: number[] }>()
  await Promise.all(
    rootPids.map(async (root) => {
      const pids = treeOf(processes, root, children)
      // PSS makes the kernel walk every page table: worth it now and then, not every second.
      const memory = opts.pss === false ? { rss_bytes: await residentBytes(pids, procRoot), pss_bytes: null, processes: pids.length } : await memoryOf(pids, procRoot)
      out.set(root, { ...memory, pids })
    }),
  )
  return out
}

async function stillThere(procDir: string): Promise<boolean> {
  const status = await readFile(path.join(procDir, 'status'), 'utf8').catch(() => null)
  return status !== null && !/^State:\s+[ZX]/m.test(status)
}

async function memoryOf(pids: number[], procRoot: string): Promise<TreeMemory> {
  const per = await Promise.all(
    pids.map(async (pid) => {
      const dir = path.join(procRoot, String(pid))
      const [status, rollup] = await Promise.all([
        readFile(path.join(dir, 'status'), 'utf8').catch(() => null),
        readFile(path.join(dir, 'smaps_rollup'), 'utf8').catch(() => null),
      ])
      if (status === null) return null // exited since the scan
      // Renderers exit after every crawl: one that went between the two reads holds no memory
      // any more and must not void the PSS of the whole tree.
      if (rollup === null && !(await stillThere(dir))) return null
      // Zombies and kernel threads have no VmRSS/Pss lines: they hold no memory, so 0 is right.
      return { rss: kbField(status, 'VmRSS') ?? 0, pss: rollup === null ? null : (kbField(rollup, 'Pss') ?? 0) }
    }),
  )
  const alive = per.filter((m) => m !== null)
  // A partial PSS sum would silently under-report, so any unreadable smaps_rollup voids it.
  const pssKnown = alive.every((m) => m.pss !== null)
  return {
    rss_bytes: alive.reduce((sum, m) => sum + m.rss, 0),
    pss_bytes: pssKnown ? alive.reduce((sum, m) => sum + (m.pss ?? 0), 0) : null,
    processes: alive.length,
  }
}

/**
 * Leaves before parents, root last: the root is the process callers wait on, so once it is gone
 * the rest already is. A process forked after the scan is not signalled.
 */
export async function killProcessTree(rootPid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<number[]> {
  const order = (await processTree(rootPid)).reverse()
  const signalled: number[] = []
  let failure: unknown = null
  for (const pid of order) {
    try {
      process.kill(pid, signal)
      signalled.push(pid)
    } catch (err) {
      if (errnoCode(err) !== 'ESRCH') failure ??= err
    }
  }
  // Finish signalling the rest before reporting, so one EPERM does not spare the whole tree.
  if (failure !== null) throw failure
  return signalled
}

/** True while the process exists and is not a zombie (a zombie holds no memory and cannot run). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if (errnoCode(err) !== 'EPERM') return false
  }
  try {
    const stat = parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'))
    return stat?.state !== 'Z' && stat?.state !== 'X'
  } catch {
    // No /proc here, or it exited a moment ago: kill(0) already answered, the next poll will tell.
    return true
  }
}

async function listPids(procRoot: string): Promise<number[]> {
  const names = await readdir(procRoot)
  return names.filter((n) => /^\d+$/.test(n)).map(Number)
}

// comm is free text (may hold spaces and parentheses), so split on the LAST ')'.
function parseStat(pid: number, stat: string): ProcInfo | null {
  const open = stat.indexOf('(')
  const close = stat.lastIndexOf(')')
  if (open < 0 || close < open) return null
  const [state, ppid] = stat.slice(close + 2).split(' ')
  if (state === undefined || ppid === undefined) return null
  return { pid, ppid: Number(ppid), comm: stat.slice(open + 1, close), state }
}

function kbField(text: string, key: string): number | null {
  const match = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text)
  return match?.[1] === undefined ? null : Number(match[1]) * 1024
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code
}

const PAGE_SIZE = 4096

/**
 * Resident memory of known PIDs from /proc/<pid>/statm: a handful of tiny reads, cheap enough
 * to take around every request (the tree itself is cached by the caller).
 */
export async function residentBytes(pids: number[], procRoot = '/proc'): Promise<number> {
  const sizes = await Promise.all(
    pids.map((pid) =>
      readFile(path.join(procRoot, String(pid), 'statm'), 'utf8').then(
        (text) => Number(text.split(' ')[1] ?? 0) * PAGE_SIZE,
        () => 0,
      ),
    ),
  )
  return sizes.reduce((a, b) => a + b, 0)
}
