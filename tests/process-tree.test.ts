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

  it('lists this process with its parent', async () => {
    const me = (await listProcesses()).find((p) => p.pid === process.pid)
    expect(me?.ppid).toBe(process.ppid)
    expect(me?.state).toMatch(/^[A-Z]$/)
    expect(isAlive(process.pid)).toBe(true)
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
