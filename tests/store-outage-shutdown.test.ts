import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { waitFor } from './helpers/service.js'
import { freePort, redisGet, startRedis, stopAllRedis, stopRedis } from './helpers/redis-server.js'
import { serve, tempDir, waitExit, waitReady, type Served } from './helpers/serve-process.js'

/*
 * A clean stop while the monitor's store is away: the service as an operator runs it (a real
 * process), a real redis-server of our own stopped by PID, a data dir made unwritable for real
 * (chattr +i: we run as root, and root ignores permission bits). Counts must add up exactly
 * after the restart: the pending history goes to a file in the data dir and the next start
 * merges it. When even that file cannot be written the stop says how many requests were lost
 * and exits non-zero.
 */

let fx: FixtureServer
/** Paths made immutable: made mutable again whatever happens, or the temp dirs could not be removed. */
const immutable = new Set<string>()

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterEach(async () => {
  for (const p of immutable) mutable(p)
  await stopAllRedis()
})

afterAll(async () => {
  await fx?.close()
})

// ---- helpers -----------------------------------------------------------------------------

function freeze(p: string): void {
  execFileSync('chattr', ['+i', p])
  immutable.add(p)
}

function mutable(p: string): void {
  if (existsSync(p)) execFileSync('chattr', ['-i', p])
  immutable.delete(p)
}

const PASSWORD = 'outage-test-s3cret'

/** Our own redis-server with a password and no persistence (a restart starts empty). */

async function json<T = any>(url: string): Promise<{ status: number; body: T }> {
  const r = await fetch(url)
  return { status: r.status, body: (await r.json()) as T }
}

/** `n` crawls of the fixture, four at a time; every one must be answered 200. */
async function crawl(base: string, n: number): Promise<void> {
  let next = 0
  const statuses: number[] = []
  const worker = async () => {
    while (next < n) {
      next++
      const r = await fetch(`${base}/html`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: fx.url('/about') }),
      })
      await r.arrayBuffer()
      statuses.push(r.status)
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
  expect(
    statuses.filter((s) => s !== 200),
    `non-200 answers: ${statuses.join(',')}`,
  ).toEqual([])
  expect(statuses).toHaveLength(n)
}

const count = async (base: string) => (await json<Record<string, { count: number }>>(`${base}/monitor/endpoints/stats`)).body['/html']?.count ?? 0

/** Waits for a write to the store of a state taken after now (the persistence's last_flush). */
async function flushedAfter(base: string, t: number): Promise<void> {
  await waitFor(async () => ((await json(`${base}/monitor/health`)).body.persistence?.last_flush ?? 0) > t, 20_000, 'a flush after the crawls')
}

async function degraded(base: string): Promise<{ status: string; problems: string[] }> {
  await waitFor(async () => (await json(`${base}/health`)).body.status === 'degraded', 20_000, '/health to say degraded')
  return (await json(`${base}/health`)).body
}

const persistenceProblems = (problems: string[]) => problems.filter((p) => p.includes('monitor history'))

function pendingFiles(dataDir: string): string[] {
  return readdirSync(dataDir).filter((f) => /^monitor-pending-.*\.json$/.test(f))
}

function start(dataDir: string, extra: string[] = []): Served {
  return serve(['--port', '0', '--data-dir', dataDir, '--log-level', 'warn', '--persist-interval', '100', ...extra])
}

async function stop(s: Served): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  process.kill(s.pid, 'SIGTERM')
  return waitExit(s)
}

const N = 5
const MORE = 40

// ---- shutdown during an outage, as a process ------------------------------------------------------

describe('a clean stop while the store is unreachable', () => {
  it('Redis stopped: /health degrades (no password in it), the stop keeps the pending counts in the data dir, the next start puts them in Redis: N + 40 exactly', async () => {
    const port = await freePort()
    const redis = await startRedis(port, { password: PASSWORD })
    const redisArgs = ['--redis-url', `redis://:${PASSWORD}@127.0.0.1:${port}`, '--redis-prefix', 'outage:', '--instance-name', 'solo']
    const dataDir = path.join(tempDir(), 'data')
    const first = start(dataDir, redisArgs)
    const { url } = await waitReady(first)
    expect((await json(`${url}/health`)).body.status).toBe('ok')
    await crawl(url, N)
    await flushedAfter(url, Date.now())
    expect(JSON.parse((await redisGet(port, 'outage:monitor:instance:solo:endpoints', PASSWORD)) as string)['/html'].count).toBe(N)

    await stopRedis(redis)
    await crawl(url, MORE)
    expect(await count(url)).toBe(N + MORE)
    const health = await degraded(url)
    const [problem] = persistenceProblems(health.problems)
    expect(problem, JSON.stringify(health.problems)).toContain(`127.0.0.1:${port}`)
    expect(JSON.stringify(health)).not.toContain(PASSWORD)

    const exit = await stop(first)
    expect(exit, first.stderr).toEqual({ code: 0, signal: null })
    const [file] = pendingFiles(dataDir)
    expect(file, `data dir: ${readdirSync(dataDir).join(', ')}`).toBeDefined()
    // The log says where the counts went, and never the password.
    expect(first.stderr).toContain(path.join(dataDir, file as string))
    expect(first.stderr).not.toContain('monitor history flushed')
    expect(first.stderr).not.toContain(PASSWORD)

    // Redis comes back empty (no persistence): the file holds the whole history, not only the 40.
    await startRedis(port, { password: PASSWORD })
    const second = start(dataDir, redisArgs)
    const { url: url2 } = await waitReady(second)
    expect(await count(url2)).toBe(N + MORE)
    // Merged and written before the service answered: in Redis, and the file gone.
    expect(JSON.parse((await redisGet(port, 'outage:monitor:instance:solo:endpoints', PASSWORD)) as string)['/html'].count).toBe(N + MORE)
    expect(pendingFiles(dataDir)).toEqual([])
    const after = (await json(`${url2}/health`)).body
    expect(persistenceProblems(after.problems)).toEqual([])
    expect((await stop(second)).code).toBe(0)
  }, 180_000)

  it('file store unwritable (monitor.json immutable): the same, and once it is writable again the next start has N + 40 exactly', async () => {
    const dataDir = path.join(tempDir(), 'data')
    const store = path.join(dataDir, 'monitor.json')
    const first = start(dataDir)
    const { url } = await waitReady(first)
    await crawl(url, N)
    await flushedAfter(url, Date.now())
    expect(JSON.parse(readFileSync(store, 'utf8')).endpoints['/html'].count).toBe(N)

    freeze(store)
    await crawl(url, MORE)
    const health = await degraded(url)
    expect(persistenceProblems(health.problems)[0], JSON.stringify(health.problems)).toContain(store)

    const exit = await stop(first)
    expect(exit, first.stderr).toEqual({ code: 0, signal: null })
    expect(pendingFiles(dataDir)).toHaveLength(1)
    // The store itself could not be written: it still says N.
    expect(JSON.parse(readFileSync(store, 'utf8')).endpoints['/html'].count).toBe(N)

    mutable(store)
    const second = start(dataDir)
    const { url: url2 } = await waitReady(second)
    expect(await count(url2)).toBe(N + MORE)
    expect(JSON.parse(readFileSync(store, 'utf8')).endpoints['/html'].count).toBe(N + MORE)
    expect(pendingFiles(dataDir)).toEqual([])
    expect((await stop(second)).code).toBe(0)
    // A third start adds nothing: the file was merged once.
    const third = start(dataDir)
    const { url: url3 } = await waitReady(third)
    expect(await count(url3)).toBe(N + MORE)
    expect((await stop(third)).code).toBe(0)
  }, 180_000)

  it('the data dir itself unwritable (immutable): the stop cannot keep the counts, says how many were lost, and exits non-zero', async () => {
    const dataDir = path.join(tempDir(), 'data')
    mkdirSync(dataDir, { recursive: true })
    const first = start(dataDir)
    const { url } = await waitReady(first)
    await crawl(url, N)
    await flushedAfter(url, Date.now())

    freeze(dataDir)
    await crawl(url, MORE)
    await degraded(url)
    const exit = await stop(first)
    expect(exit.code, first.stderr).not.toBe(0)
    expect(exit.code).not.toBeNull()
    // The error line with the count (pino JSON on stderr), and the plain line for whoever reads the exit.
    const errors = first.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((e) => e.level === 50)
    expect(errors.map((e) => e.msg).join('\n')).toContain(`monitor history not kept: ${MORE} request(s)`)
    expect(errors.find((e) => e.lost_requests !== undefined)?.lost_requests).toBe(MORE)
    expect(first.stderr).toContain(`crawldeck: monitor history not kept: ${MORE} request(s)`)
    expect(first.stderr).not.toContain('monitor history flushed')

    // What the line said is what happened: the next start has the N the store held, not N + 40.
    mutable(dataDir)
    expect(pendingFiles(dataDir)).toEqual([])
    const second = start(dataDir)
    const { url: url2 } = await waitReady(second)
    expect(await count(url2)).toBe(N)
    expect((await stop(second)).code).toBe(0)
  }, 180_000)
})
