import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { commandHasArg, defaultProcessSource, type ProcessRow, type ProcessSource, type ProcessTableReader } from './process-table.js'

/*
 * playwright-core's chromium.launch() hides the browser's PID, so the pool tags each launch with
 * a unique marker switch (Chromium ignores unknown ones) and finds the browser here, by reading
 * /proc directly: no `ps` to spawn, and it works the same inside minimal containers.
 *
 * /proc files are generated in memory by the kernel and never block on a disk, so they are read
 * synchronously: one scan of a hundred processes costs about 1 ms of CPU that way, against 12 ms
 * through fs/promises (an open/read/close round trip through the thread pool per file), and the
 * monitor scans once a second. The async functions below work through their files in slices of
 * SLICE and yield to the event loop between slices, so no single turn of the loop is held for
 * long even on a machine with thousands of processes.
 *
 * Where there is no /proc (macOS, Windows) every function here takes its processes from one reading
 * of the process table instead (process-table.ts): the same trees, RSS in place of the /proc-only
 * figures (private memory, PSS). A `procRoot` parameter is that source: a /proc directory, or a
 * table reader (tests give a fake one on Linux).
 */

const SLICE = 64

/** The text of a /proc file, or null when the process went away (or is not ours to read). */
function readProc(file: string): string | null {
  try {
    return readFileSync(file, 'latin1')
  } catch {
    return null
  }
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** `fn` over every item, synchronously within a slice, yielding to the event loop between slices. */
async function mapSliced<T, R>(items: readonly T[], fn: (item: T) => R, slice = SLICE): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % slice === 0) await yieldToLoop()
    out.push(fn(items[i] as T))
  }
  return out
}

export interface ProcInfo {
  pid: number
  ppid: number
  comm: string
  /** Single-letter state from /proc/<pid>/stat ("R", "S", "Z", ...). */
  state: string
}

export interface TreeMemory {
  rss_bytes: number
  /**
   * Private anonymous memory (RssAnon: heaps, JS, decoded images), without the file-backed pages
   * every Chromium process maps (the ~100 MB binary, fonts, paks) that RSS counts once per process.
   * A renderer starting or exiting moves the RSS sum by 100-200 MB and this by its own 15-50 MB,
   * so a change of it is what the processes allocated (mem_delta). An approximation of PSS that
   * is cheap enough to read every second.
   */
  anon_bytes: number
  /** Proportional set size: shared pages split between sharers, so it sums honestly across a tree. */
  pss_bytes: number | null
  processes: number
}

export async function listProcesses(procRoot: ProcessSource = defaultProcessSource()): Promise<ProcInfo[]> {
  if (typeof procRoot !== 'string') return (await procRoot()).map(procInfoOf)
  return statsOf(listPids(procRoot), procRoot)
}

// The table has no process state; every process it lists is taken as running.
const procInfoOf = (row: ProcessRow): ProcInfo => ({ pid: row.pid, ppid: row.ppid, comm: row.command.split(/\s+/)[0] ?? '', state: 'S' })

/** The stat lines of these processes, skipping those gone since they were listed. */
async function statsOf(pids: readonly number[], procRoot: string): Promise<ProcInfo[]> {
  const infos = await mapSliced(pids, (pid) => {
    // A process may exit between readdir and the read; that is normal, not an error.
    const stat = readProc(path.join(procRoot, String(pid), 'stat'))
    return stat === null ? null : parseStat(pid, stat)
  })
  return infos.filter((p): p is ProcInfo => p !== null)
}

export async function findProcessesWithArg(marker: string, opts: { parentPid?: number; procRoot?: ProcessSource } = {}): Promise<number[]> {
  // An empty marker is a prefix of every argument and would match the whole machine.
  if (marker === '') throw new TypeError('findProcessesWithArg: marker must not be empty')
  const procRoot = opts.procRoot ?? defaultProcessSource()
  if (typeof procRoot !== 'string') {
    return (await procRoot()).filter((p) => (opts.parentPid === undefined || p.ppid === opts.parentPid) && commandHasArg(p.command, marker)).map((p) => p.pid)
  }
  const candidates =
    opts.parentPid === undefined ? listPids(procRoot) : (await listProcesses(procRoot)).filter((p) => p.ppid === opts.parentPid).map((p) => p.pid)
  const matches = await mapSliced(candidates, (pid) => {
    const cmdline = readProc(path.join(procRoot, String(pid), 'cmdline')) ?? ''
    return cmdline.split('\0').some((arg) => arg === marker || arg.startsWith(marker)) ? pid : null
  })
  return matches.filter((pid): pid is number => pid !== null)
}

/** The root first, then its descendants breadth-first; empty when the root is gone. */
export async function processTree(rootPid: number, procRoot: ProcessSource = defaultProcessSource()): Promise<number[]> {
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

/** A scan in this many is a full one even when nothing asks for it (see ProcessTreeScanner). */
const FULL_SCAN_EVERY = 30

/**
 * The process trees under a few root PIDs, scanned again and again (the monitor does it every
 * second) without reading every process's stat file each time. A scan lists /proc (one readdir)
 * and reads the stat files of only two kinds of process: those in a tree at the last scan (to see
 * them exit or leave) and those that were not there at the last scan (to see which tree they
 * join). A process that was there and outside every tree stays outside: Linux only ever reparents
 * an orphan to one of its own ancestors (init or the nearest subreaper), so no process moves into a
 * tree it was not already in, and its children are new processes, read when they appear. So on a
 * host with thousands of processes a scan reads a handful of files, where a full scan reads
 * thousands.
 *
 * A full scan runs first, whenever a root is added (its existing descendants were classified as
 * outside before it was a root), and every FULL_SCAN_EVERY scans. The last bounds what could slip
 * through: a PID reused between two scans by a process of ours, which needs the kernel's PID
 * counter to wrap around within one interval.
 */
export class ProcessTreeScanner {
  private seen = new Set<number>()
  private members = new Set<number>()
  private roots = new Set<number>()
  private scans = 0
  /** Stat files the last scan read: what makes an incremental scan cheap (tests check it). */
  lastStatReads = 0
  /** From a process table: the rows of the last scan, by PID (their RSS is the trees' memory). */
  lastRows = new Map<number, ProcessRow>()

  constructor(
    readonly procRoot: ProcessSource = defaultProcessSource(),
    private readonly fullEvery = FULL_SCAN_EVERY,
  ) {}

  /** Each root's tree (root first, then descendants breadth-first; empty when the root is gone). */
  async trees(rootPids: readonly number[]): Promise<Map<number, number[]>> {
    if (typeof this.procRoot !== 'string') return this.tableTrees(this.procRoot, rootPids)
    const pids = listPids(this.procRoot)
    const full = this.scans++ % this.fullEvery === 0 || rootPids.some((root) => !this.roots.has(root))
    const toRead = full ? pids : pids.filter((pid) => this.members.has(pid) || !this.seen.has(pid))
    const infos = await statsOf(toRead, this.procRoot)
    this.lastStatReads = toRead.length
    const children = childrenMap(infos)
    const out = new Map<number, number[]>()
    const members = new Set<number>()
    for (const root of rootPids) {
      const tree = treeOf(infos, root, children)
      out.set(root, tree)
      for (const pid of tree) members.add(pid)
    }
    this.seen = new Set(pids)
    this.members = members
    this.roots = new Set(rootPids)
    return out
  }

  /** A table is read whole each time (one process spawned by the library): nothing to skip. */
  private async tableTrees(table: ProcessTableReader, rootPids: readonly number[]): Promise<Map<number, number[]>> {
    const rows = await table()
    this.lastRows = new Map(rows.map((r) => [r.pid, r]))
    this.lastStatReads = rows.length
    const infos = rows.map(procInfoOf)
    const children = childrenMap(infos)
    return new Map(rootPids.map((root) => [root, treeOf(infos, root, children)]))
  }
}

export async function processTreeMemory(rootPid: number, procRoot: ProcessSource = defaultProcessSource()): Promise<TreeMemory> {
  if (typeof procRoot !== 'string') {
    const scanner = new ProcessTreeScanner(procRoot)
    const pids = (await scanner.trees([rootPid])).get(rootPid) ?? []
    return tableMemory(pids, scanner.lastRows)
  }
  return memoryOf(await processTree(rootPid, procRoot), procRoot)
}

/**
 * A tree's memory from a process table: the sum of its processes' RSS. The table has neither
 * private memory nor PSS, so RSS stands for the private part too (mem_delta then counts a
 * renderer's shared pages as well: an over-estimate, never a miss) and PSS is unknown.
 */
function tableMemory(pids: readonly number[], rows: ReadonlyMap<number, ProcessRow>): TreeMemory {
  const rss = pids.reduce((sum, pid) => sum + (rows.get(pid)?.rss_bytes ?? 0), 0)
  return { rss_bytes: rss, anon_bytes: rss, pss_bytes: null, processes: pids.length }
}

/**
 * Memory of several trees from one scan of /proc: what the monitor's sampler needs per tick. With
 * a scanner the scan is its incremental one, on the scanner's procRoot; without, a full one.
 */
export async function processTreesMemory(
  rootPids: number[],
  opts: { procRoot?: ProcessSource; pss?: boolean; scanner?: ProcessTreeScanner } = {},
): Promise<Map<number, TreeMemory & { pids: number[] }>> {
  // A new scanner's first scan is a full one.
  const scanner = opts.scanner ?? new ProcessTreeScanner(opts.procRoot)
  const procRoot = scanner.procRoot
  const trees = await scanner.trees(rootPids)
  const out = new Map<number, TreeMemory & { pids: number[] }>()
  for (const root of rootPids) {
    const pids = trees.get(root) ?? []
    if (typeof procRoot !== 'string') {
      out.set(root, { ...tableMemory(pids, scanner.lastRows), pids })
      continue
    }
    // PSS makes the kernel walk every page table: worth it now and then, not every second.
    const memory = opts.pss === false ? { ...(await residentMemory(pids, procRoot)), pss_bytes: null, processes: pids.length } : await memoryOf(pids, procRoot)
    out.set(root, { ...memory, pids })
  }
  return out
}

function stillThere(procDir: string): boolean {
  const status = readProc(path.join(procDir, 'status'))
  return status !== null && !/^State:\s+[ZX]/m.test(status)
}

async function memoryOf(pids: number[], procRoot: string): Promise<TreeMemory> {
  // smaps_rollup makes the kernel walk a process's page tables (a millisecond or so for a big
  // renderer), hence the small slices.
  const per = await mapSliced(
    pids,
    (pid) => {
      const dir = path.join(procRoot, String(pid))
      const status = readProc(path.join(dir, 'status'))
      if (status === null) return null // exited since the scan
      const rollup = readProc(path.join(dir, 'smaps_rollup'))
      // Renderers exit after every crawl: one that went between the two reads holds no memory
      // any more and must not void the PSS of the whole tree.
      if (rollup === null && !stillThere(dir)) return null
      // Zombies and kernel threads have no VmRSS/Pss lines: they hold no memory, so 0 is right.
      return { rss: kbField(status, 'VmRSS') ?? 0, anon: kbField(status, 'RssAnon') ?? 0, pss: rollup === null ? null : (kbField(rollup, 'Pss') ?? 0) }
    },
    4,
  )
  const alive = per.filter((m) => m !== null)
  // A partial PSS sum would silently under-report, so any unreadable smaps_rollup voids it.
  const pssKnown = alive.every((m) => m.pss !== null)
  return {
    rss_bytes: alive.reduce((sum, m) => sum + m.rss, 0),
    anon_bytes: alive.reduce((sum, m) => sum + m.anon, 0),
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

function listPids(procRoot: string): number[] {
  const names = readdirSync(procRoot)
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
 * to take every second (the tree itself is cached by the caller). statm's `shared` is the
 * file-backed and shmem part of `resident`, so resident − shared is RssAnon.
 */
export async function residentMemory(pids: number[], procRoot = '/proc'): Promise<{ rss_bytes: number; anon_bytes: number }> {
  const sizes = await mapSliced(pids, (pid) => {
    const text = readProc(path.join(procRoot, String(pid), 'statm'))
    if (text === null) return { rss: 0, anon: 0 }
    const [, resident = 0, shared = 0] = text.split(' ').map(Number)
    return { rss: resident * PAGE_SIZE, anon: Math.max(0, resident - shared) * PAGE_SIZE }
  })
  return { rss_bytes: sizes.reduce((a, b) => a + b.rss, 0), anon_bytes: sizes.reduce((a, b) => a + b.anon, 0) }
}
