import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** What bench/growth-server.ts answers to a 'gc' message. */
export interface GrowthServerReply {
  type: 'memory'
  memory: NodeJS.MemoryUsage
}

export interface GrowthServer {
  pid: number
  url: string
  /** Full GC in the server, then its process.memoryUsage(). */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage>
  /** utime + stime of the server process alone (not its Chromium children), ms, from /proc. */
  cpuMs(): number
  /** Resident memory of the server process alone, bytes, from /proc (no GC, no IPC). */
  rssBytes(): number
  stop(): Promise<void>
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const READY_TIMEOUT_MS = 90_000
/** Linux USER_HZ: /proc/<pid>/stat counts CPU in these ticks. */
const TICKS_PER_SECOND = 100

/**
 * Fork the service (bench/growth-server.ts, i.e. src/main/serve.ts) under `node --expose-gc`
 * with `flags`, in a temp data dir, and wait for its ready line.
 */
export async function startGrowthServer(flags: string[]): Promise<GrowthServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-growth-'))
  const child: ChildProcess = fork(path.join(ROOT, 'bench/growth-server.ts'), ['--port', '0', '--data-dir', dataDir, ...flags], {
    cwd: ROOT,
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  const pid = child.pid as number
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let url: string
  try {
    url = await new Promise<string>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`the service was not ready within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS)
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk
        const m = /crawldeck ready on (\S+)/.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(m[1] as string)
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the service exited with ${code} before it was ready`))
      })
    })
  } catch (err) {
    child.kill('SIGKILL')
    await exited
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }

  return {
    pid,
    url,
    memoryAfterGc: () =>
      new Promise((resolve, reject) => {
        const onMessage = (m: unknown) => {
          const reply = m as GrowthServerReply
          if (reply?.type !== 'memory') return
          child.off('message', onMessage)
          resolve(reply.memory)
        }
        child.on('message', onMessage)
        child.send('gc', (err) => {
          if (err) {
            child.off('message', onMessage)
            reject(err)
          }
        })
      }),
    cpuMs: () => processCpuMs(pid),
    rssBytes: () => processRssBytes(pid),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** utime + stime of one process (fields 14 and 15 of /proc/<pid>/stat), ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command (which may hold spaces): state is field 3, utime 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
}

/** Resident pages of one process (field 2 of /proc/<pid>/statm) in bytes. */
export function processRssBytes(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_BYTES
}
const PAGE_BYTES = 4096

/**
 * RSS once it holds still: read every `everyMs` until two readings in a row differ by under 1 %,
 * at most `maxMs`. After a full GC V8 and the allocator hand freed pages back over the next
 * seconds, not at once: a reading taken right then counts memory on its way out.
 */
export async function settledRss(read: () => number, everyMs = 500, maxMs = 10_000): Promise<{ bytes: number; waitedMs: number }> {
  const start = Date.now()
  let last = read()
  for (;;) {
    await new Promise((r) => setTimeout(r, everyMs))
    const now = read()
    if (Math.abs(now - last) < 0.01 * last || Date.now() - start >= maxMs) return { bytes: now, waitedMs: Date.now() - start }
    last = now
  }
}
