import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import {
  findProcessesWithArg,
  isAlive,
  killProcessTree,
  listProcesses,
  processTree,
  processTreeMemory,
  processTreesMemory,
  ProcessTreeScanner,
} from '../src/main/core/system/process-tree.js'

// A stand-in for a browser: a root process carrying the marker switch, with two long-lived children.
const PARENT_SCRIPT = `
const { spawn } = require('node:child_process')
const kids = [0, 1].map(() => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }))
Promise.all(kids.map((k) => new Promise((resolve) => k.once('spawn', resolve)))).then(() => {
  process.stdout.write(JSON.stringify(kids.map((k) => k.pid)) + '\\n')
})
setInterval(() => {}, 1000)
`

const spawnedPids = new Set<number>()
const children: ChildProcess[] = []

afterEach(() => {
  for (const pid of spawnedPids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  spawnedPids.clear()
  children.length = 0
})

async function spawnTree(marker: string): Promise<{ child: ChildProcess; root: number; kids: number[] }> {
  const child = spawn(process.execPath, ['-e', PARENT_SCRIPT, '--', marker], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  const root = child.pid
  if (root === undefined) throw new Error('spawn failed')
  spawnedPids.add(root)
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string]
  const kids = JSON.parse(line) as number[]
  for (const pid of kids) spawnedPids.add(pid)
  return { child, root, kids }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return true
}

describe('process tree on real /proc', () => {
  it('finds, measures and kills a marked process tree', async () => {
    const marker = `--crawldeck-test-id=${randomUUID()}`
    const { child, root, kids } = await spawnTree(marker)

    expect(await findProcessesWithArg(marker, { parentPid: process.pid })).toEqual([root])
    // The prefix form is how the pool matches when it only knows the switch name.
    expect(await findProcessesWithArg(marker.slice(0, 20), { parentPid: process.pid })).toContain(root)
    expect(await findProcessesWithArg(marker)).toEqual([root])
    expect(await findProcessesWithArg(marker, { parentPid: root })).toEqual([])

    const tree = await processTree(root)
    expect(tree[0]).toBe(root)
    expect([...tree].sort()).toEqual([root, ...kids].sort())

    const mem = await processTreeMemory(root)
    expect(mem.processes).toBe(3)
    expect(mem.rss_bytes).toBeGreaterThan(0)
    // Our own children's smaps_rollup is always readable to us.
    expect(mem.pss_bytes).toBeGreaterThan(0)
    expect(mem.pss_bytes!).toBeLessThanOrEqual(mem.rss_bytes)
    expect(mem.anon_bytes).toBeGreaterThan(0)
    expect(mem.anon_bytes).toBeLessThan(mem.rss_bytes)

    const exited = once(child, 'exit')
    const signalled = await killProcessTree(root)
    expect([...signalled].sort()).toEqual([root, ...kids].sort())
    expect(signalled[signalled.length - 1]).toBe(root)
    const [, signal] = (await exited) as [number | null, NodeJS.Signals | null]
    expect(signal).toBe('SIGKILL')
    expect(await until(() => [root, ...kids].every((pid) => !isAlive(pid)), 5000)).toBe(true)

    expect(await processTree(root)).toEqual([])
    expect(await processTreeMemory(root)).toEqual({ rss_bytes: 0, anon_bytes: 0, pss_bytes: 0, processes: 0 })
    expect(await killProcessTree(root)).toEqual([])
  })

  it('follows a tree with the incremental scanner, reading only its own and new processes after the first scan', async () => {
    const { child, root, kids } = await spawnTree(`--crawldeck-test-id=${randomUUID()}`)
    const scanner = new ProcessTreeScanner()
    const first = (await scanner.trees([root])).get(root) ?? []
    expect([...first].sort()).toEqual([root, ...kids].sort())
    const everything = (await listProcesses()).length
    expect(scanner.lastStatReads).toBeGreaterThanOrEqual(everything - 20)

    const second = await processTreesMemory([root], { pss: false, scanner })
    expect([...(second.get(root)?.pids ?? [])].sort()).toEqual([root, ...kids].sort())
    expect(second.get(root)?.processes).toBe(3)
    expect(second.get(root)?.rss_bytes).toBeGreaterThan(0)
    // Its three processes plus whatever other tests started in between: far from every process.
    expect(scanner.lastStatReads).toBeLessThan(everything)

    // Gone once reaped: until then the root is a zombie, still listed in /proc with its children.
    const exited = once(child, 'exit')
    await killProcessTree(root)
    await exited
    expect(await until(() => [root, ...kids].every((pid) => !isAlive(pid)), 5000)).toBe(true)
    expect((await scanner.trees([root])).get(root)).toEqual(await processTree(root))
    expect(await processTree(root)).toEqual([])
  })

  it('lists this process with its parent', async () => {
    const me = (await listProcesses()).find((p) => p.pid === process.pid)
    expect(me?.ppid).toBe(process.ppid)
    expect(me?.state).toMatch(/^[A-Z]$/)
    expect(isAlive(process.pid)).toBe(true)
  })
})

describe('incremental tree scanner', () => {
  let tmp: string | undefined

  afterEach(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true })
    tmp = undefined
  })

  /** A fake /proc: `pid (comm) S ppid`, as the kernel writes it. */
  const setProc = async (pid: number, ppid: number) => {
    await mkdir(path.join(tmp!, String(pid)), { recursive: true })
    await writeFile(path.join(tmp!, String(pid), 'stat'), `${pid} (p${pid}) S ${ppid} ${pid} ${pid} 0 -1\n`)
  }
  const sorted = (pids: number[] | undefined) => [...(pids ?? [])].sort((a, b) => a - b)

  it('agrees with a full scan while reading only tree members and new processes', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'crawldeck-proc-'))
    // 200 unrelated processes, a "browser" 10 with a zygote 11 and a renderer 12, and 501 under 500.
    for (let pid = 1000; pid < 1200; pid++) await setProc(pid, 1)
    await setProc(10, 1)
    await setProc(11, 10)
    await setProc(12, 11)
    await setProc(500, 1)
    await setProc(501, 500)
    const scanner = new ProcessTreeScanner(tmp)
    const scan = async (roots: number[]) => {
      const trees = await scanner.trees(roots)
      // Whatever it read, the answer is the full scan's.
      for (const root of roots) expect(sorted(trees.get(root))).toEqual(sorted(await processTree(root, tmp)))
      return trees
    }

    expect(sorted((await scan([10])).get(10))).toEqual([10, 11, 12])
    expect(scanner.lastStatReads).toBe(205)
    await scan([10])
    expect(scanner.lastStatReads).toBe(3)

    // A new renderer under the zygote and a new unrelated process: both read once, one joins.
    await setProc(13, 11)
    await setProc(2000, 1)
    expect(sorted((await scan([10])).get(10))).toEqual([10, 11, 12, 13])
    expect(scanner.lastStatReads).toBe(5)

    // A renderer exits, another is orphaned (reparented to init): both leave the tree.
    await rm(path.join(tmp, '12'), { recursive: true })
    await setProc(13, 1)
    expect(sorted((await scan([10])).get(10))).toEqual([10, 11])
    expect(scanner.lastStatReads).toBe(3)

    // A root that was an unrelated process at the last scan: a full scan finds its old children.
    const both = await scan([10, 500])
    expect(sorted(both.get(500))).toEqual([500, 501])
    expect(scanner.lastStatReads).toBe(206)

    // The root goes away: its tree is empty.
    await rm(path.join(tmp, '500'), { recursive: true })
    expect((await scan([10, 500])).get(500)).toEqual([])
  })

  it('makes every n-th scan a full one', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'crawldeck-proc-'))
    for (let pid = 1000; pid < 1010; pid++) await setProc(pid, 1)
    await setProc(10, 1)
    const scanner = new ProcessTreeScanner(tmp, 3)
    const reads: number[] = []
    for (let i = 0; i < 7; i++) {
      await scanner.trees([10])
      reads.push(scanner.lastStatReads)
    }
    expect(reads).toEqual([11, 1, 1, 11, 1, 1, 11])
  })
})

describe('listProcesses parsing', () => {
  let tmp: string | undefined

  afterEach(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true })
    tmp = undefined
  })

  it('parses comm with spaces and parentheses and skips vanished processes', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'crawldeck-proc-'))
    const proc = async (pid: number, stat: string | null, cmdline = '') => {
      await mkdir(path.join(tmp!, String(pid)))
      if (stat !== null) await writeFile(path.join(tmp!, String(pid), 'stat'), stat)
      await writeFile(path.join(tmp!, String(pid), 'cmdline'), cmdline)
    }
    await proc(10, '10 (weird) name (x)) S 1 10 10 0 -1 4194560 0 0\n', 'chrome\0--crawldeck-browser-id=abc\0--headless\0')
    await proc(11, '11 (Web Content) R 10 10 10 0 -1\n', 'renderer\0--type=renderer\0')
    await proc(12, null) // exited between readdir and read
    await mkdir(path.join(tmp, 'self'))

    const list = (await listProcesses(tmp)).sort((a, b) => a.pid - b.pid)
    expect(list).toEqual([
      { pid: 10, ppid: 1, comm: 'weird) name (x)', state: 'S' },
      { pid: 11, ppid: 10, comm: 'Web Content', state: 'R' },
    ])
    expect(await findProcessesWithArg('--crawldeck-browser-id=', { procRoot: tmp })).toEqual([10])
    expect(await findProcessesWithArg('--crawldeck-browser-id=abc', { parentPid: 1, procRoot: tmp })).toEqual([10])
    expect(await findProcessesWithArg('--crawldeck-browser-id=abc', { parentPid: 10, procRoot: tmp })).toEqual([])
    expect(await processTree(10, tmp)).toEqual([10, 11])
  })
})
