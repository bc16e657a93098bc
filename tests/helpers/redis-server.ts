import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { waitFor } from './service.js'

/*
 * Redis servers a test starts and stops itself, by PID, on a free port of 127.0.0.1: nothing
 * kept on disk unless the test gives a folder, so a restart starts empty. `stopAllRedis` in an
 * afterAll ends whatever a failed test left running.
 */

const running = new Set<ChildProcess>()

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

/** A client that fails at once instead of retrying: tests ask yes/no questions of it. */
export function redisClient(port: number, password?: string): Redis {
  const r = new Redis({
    host: '127.0.0.1',
    port,
    password,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    enableOfflineQueue: false,
  })
  r.on('error', () => undefined)
  return r
}

export async function redisAnswers(port: number, password?: string): Promise<boolean> {
  const r = redisClient(port, password)
  try {
    await r.connect()
    return (await r.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    r.disconnect()
  }
}

export async function redisGet(port: number, key: string, password?: string): Promise<string | null> {
  const r = redisClient(port, password)
  await r.connect()
  try {
    return await r.get(key)
  } finally {
    r.disconnect()
  }
}

/** Starts redis-server on `port`; resolves once it answers PING. `dir`: where it may keep a dump (SAVE). */
export async function startRedis(port: number, opts: { password?: string; dir?: string } = {}): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  if (opts.password) args.push('--requirepass', opts.password)
  if (opts.dir) args.push('--dir', opts.dir, '--dbfilename', 'dump.rdb')
  const proc = spawn('redis-server', args, { stdio: 'ignore' })
  running.add(proc)
  proc.once('exit', () => running.delete(proc))
  await waitFor(() => redisAnswers(port, opts.password), 15_000, `redis-server on port ${port} to answer PING`)
  return proc
}

/** Kills it (SIGKILL: an outage, not a clean stop) and waits for the exit. */
export async function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    if (proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL')
    await exited
  }
  running.delete(proc)
}

export async function stopAllRedis(): Promise<void> {
  await Promise.all([...running].map((p) => stopRedis(p)))
}
