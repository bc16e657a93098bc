import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../src/main/core/config.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'
import { freePort, redisClient, redisGet, startRedis, stopAllRedis, stopRedis } from './helpers/redis-server.js'

/*
 * The pending-history file a stop leaves when the store is away, merged by the next start:
 * exactly once, whichever way the store came back, and even when a start wrote it to the store
 * and could not delete it (which is what a crash between the two leaves). Also: /health says
 * degraded while history cannot be written, and ok again once it can. The real service in this
 * process, real Chromium, a redis-server of our own, chattr +i for a store that refuses writes
 * (we run as root: permission bits would not stop a write).
 */

let fx: FixtureServer
let root: string
const services = new Set<TestService>()
const immutable = new Set<string>()

beforeAll(async () => {
  ;[fx, root] = await Promise.all([startFixtureServer(), mkdtemp(join(tmpdir(), 'crawldeck-fallback-'))])
})

afterEach(async () => {
  for (const p of immutable) mutable(p)
  await Promise.all([...services].map((s) => close(s)))
  await stopAllRedis()
})

afterAll(async () => {
  await fx?.close()
  if (root) await rm(root, { recursive: true, force: true })
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

async function open(config: ConfigInput): Promise<{ s: TestService; lines: string[] }> {
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
  // Its Redis history is `<prefix>monitor:instance:solo:*`.
  const s = await startService({ persist_interval_ms: 100, instance_name: 'solo', ...config }, { logger })
  services.add(s)
  return { s, lines }
}

async function close(s: TestService): Promise<void> {
  services.delete(s)
  await s.close()
}

async function dataDir(name: string): Promise<string> {
  const dir = join(root, name)
  await mkdir(dir, { recursive: true })
  return dir
}

const PASSWORD = 'merge-test-s3cret'

/** With `dir`, what a SAVE wrote there is loaded at start (a Redis that keeps its data across restarts). */

async function withRedis<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = redisClient(port, PASSWORD)
  await r.connect()
  try {
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

async function crawl(s: TestService, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const { status } = await s.postJson('/html', { url: fx.url('/about') })
    expect(status).toBe(200)
  }
}

const count = async (s: TestService) => ((await s.get('/monitor/endpoints/stats')).body as Record<string, { count: number }>)['/html']?.count ?? 0

/** Two flushes: the first may be one already under way (started before our last change). */
async function flushNow(s: TestService): Promise<boolean> {
  await s.runtime.persister.flush()
  return s.runtime.persister.flush()
}

function pendingFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^monitor-pending-.*\.json$/.test(f))
}

const persistenceProblems = (problems: string[]) => problems.filter((p) => p.includes('monitor history'))

// ---- /health ----------------------------------------------------------------------------------

describe('/health and the store', () => {
  it('Redis away: degraded with the reason (no password); Redis back: ok again', async () => {
    const port = await freePort()
    const redis = await startRedis(port, { password: PASSWORD })
    const { s } = await open({ redis_url: `redis://:${PASSWORD}@127.0.0.1:${port}`, redis_prefix: 'health:', data_dir: await dataDir('health-redis') })
    await crawl(s, 1)
    expect(await flushNow(s)).toBe(true)
    let h = (await s.get('/health')).body
    expect(h.status).toBe('ok')
    expect(persistenceProblems(h.problems)).toEqual([])

    await stopRedis(redis)
    await crawl(s, 1)
    await waitFor(async () => (await s.get('/health')).body.status === 'degraded', 20_000, '/health to degrade')
    h = (await s.get('/health')).body
    const [problem] = persistenceProblems(h.problems)
    expect(problem, JSON.stringify(h.problems)).toContain('not being saved')
    expect(problem).toContain(`redis://:***@127.0.0.1:${port}`)
    expect(JSON.stringify(h)).not.toContain(PASSWORD)

    await startRedis(port, { password: PASSWORD })
    await waitFor(async () => (await s.get('/health')).body.status === 'ok', 30_000, '/health to be ok once Redis is back')
    expect(persistenceProblems((await s.get('/health')).body.problems)).toEqual([])
    expect(JSON.parse((await redisGet(port, 'health:monitor:instance:solo:endpoints', PASSWORD)) as string)['/html'].count).toBe(2)
    await close(s)
  })

  it('monitor.json unwritable: degraded with the reason; writable again: ok again', async () => {
    const dir = await dataDir('health-file')
    const { s } = await open({ data_dir: dir })
    await crawl(s, 1)
    expect(await flushNow(s)).toBe(true)
    expect((await s.get('/health')).body.status).toBe('ok')
    const store = join(dir, 'monitor.json')
    freeze(store)
    await crawl(s, 1)
    await waitFor(async () => (await s.get('/health')).body.status === 'degraded', 20_000, '/health to degrade')
    expect(persistenceProblems((await s.get('/health')).body.problems)[0]).toContain(store)
    mutable(store)
    await waitFor(async () => (await s.get('/health')).body.status === 'ok', 20_000, '/health to be ok once the file is writable')
    expect(JSON.parse(readFileSync(store, 'utf8')).endpoints['/html'].count).toBe(2)
    await close(s)
  })
})

// ---- merging exactly once -----------------------------------------------------------------------

describe('pending history merged exactly once', () => {
  it('Redis unreachable for a whole run: the stop keeps what that run counted (a delta), added to what Redis holds, once, even when the merging start could not delete the file', async () => {
    const port = await freePort()
    const dir = await dataDir('delta-redis')
    const redisDir = await dataDir('delta-redis-rdb')
    const config = { redis_url: `redis://:${PASSWORD}@127.0.0.1:${port}`, redis_prefix: 'delta:', data_dir: dir }
    // History in Redis first: 4 requests, saved to disk so a restarted Redis has them again.
    const redis = await startRedis(port, { password: PASSWORD, dir: redisDir })
    const first = await open(config)
    await crawl(first.s, 4)
    await close(first.s)
    expect(await withRedis(port, (r) => r.save())).toBe('OK')
    await stopRedis(redis)

    // A run that never reaches Redis: 3 requests, and a stop that keeps them in the data dir.
    const away = await open(config)
    await crawl(away.s, 3)
    await close(away.s)
    const [name] = pendingFiles(dir)
    expect(name, away.lines.join('\n')).toBeDefined()
    const file = join(dir, name as string)
    const pending = JSON.parse(readFileSync(file, 'utf8'))
    // It never read the store: what it holds is only its own counts, to be added.
    expect(pending.kind).toBe('delta')
    expect(pending.snapshot.endpoints['/html'].count).toBe(3)
    expect(readFileSync(file, 'utf8')).not.toContain(PASSWORD)

    // Redis is back with its 4. The next start adds the 3 and writes them to Redis, but cannot
    // delete the file: what a crash between the write and the delete would leave.
    await startRedis(port, { password: PASSWORD, dir: redisDir })
    expect(JSON.parse((await redisGet(port, 'delta:monitor:instance:solo:endpoints', PASSWORD)) as string)['/html'].count).toBe(4)
    freeze(file)
    const second = await open(config)
    expect(await count(second.s)).toBe(7)
    expect(JSON.parse((await redisGet(port, 'delta:monitor:instance:solo:endpoints', PASSWORD)) as string)['/html'].count).toBe(7)
    expect(JSON.parse((await redisGet(port, 'delta:monitor:instance:solo:applied_fallbacks', PASSWORD)) as string)).toContain(pending.id)
    expect(second.lines.some((l) => l.includes('cannot delete merged pending monitor history'))).toBe(true)
    await crawl(second.s, 2)
    expect(await flushNow(second.s)).toBe(true)
    await close(second.s)
    expect(existsSync(file)).toBe(true)

    // The file is found again: its id is in Redis, so its 3 are not added a second time, and it goes.
    mutable(file)
    const next = await open({ ...config, launch_permanent: false })
    expect(await count(next.s)).toBe(9)
    expect(existsSync(file)).toBe(false)
    await close(next.s)
  })

  it('file store: the whole history kept at the stop replaces the older stored one, and a start that wrote it but could not delete the file does not lose later counts', async () => {
    const dir = await dataDir('full-file')
    const store = join(dir, 'monitor.json')
    const first = await open({ data_dir: dir })
    await crawl(first.s, 2)
    expect(await flushNow(first.s)).toBe(true)
    freeze(store)
    await crawl(first.s, 3)
    await close(first.s)
    mutable(store)
    const [name] = pendingFiles(dir)
    expect(name, first.lines.join('\n')).toBeDefined()
    const file = join(dir, name as string)
    const pending = JSON.parse(readFileSync(file, 'utf8'))
    // It had read the store: it holds the whole history (2 stored + 3), which replaces the 2.
    expect(pending.kind).toBe('full')
    expect(pending.snapshot.endpoints['/html'].count).toBe(5)
    expect(JSON.parse(readFileSync(store, 'utf8')).endpoints['/html'].count).toBe(2)

    // Merged and written, but the file cannot be deleted (as after a crash between the two).
    freeze(file)
    const second = await open({ data_dir: dir })
    expect(await count(second.s)).toBe(5)
    await crawl(second.s, 1)
    expect(await flushNow(second.s)).toBe(true)
    const stored = JSON.parse(readFileSync(store, 'utf8'))
    expect(stored.endpoints['/html'].count).toBe(6)
    expect(stored.applied_fallbacks).toContain(pending.id)
    await close(second.s)
    expect(existsSync(file)).toBe(true)

    // Found again: already in the store, so it neither replaces the 6 with its 5 nor adds.
    mutable(file)
    const third = await open({ data_dir: dir, launch_permanent: false })
    expect(await count(third.s)).toBe(6)
    expect(existsSync(file)).toBe(false)
    await close(third.s)
  })

  it("a file merged by a start that then lost the store too is carried by that start's own file, and counted once even when Redis comes back empty", async () => {
    const port = await freePort()
    const dir = await dataDir('includes-redis')
    const config = { redis_url: `redis://:${PASSWORD}@127.0.0.1:${port}`, redis_prefix: 'includes:', data_dir: dir }
    // A run that never reaches Redis: a delta of 3.
    const away = await open(config)
    await crawl(away.s, 3)
    await close(away.s)
    const [deltaName] = pendingFiles(dir)
    expect(deltaName, away.lines.join('\n')).toBeDefined()
    const delta = join(dir, deltaName as string)
    const deltaId = JSON.parse(readFileSync(delta, 'utf8')).id

    // The next run merges it (3) and writes it, but the file stays (cannot be deleted); then Redis
    // goes away (losing everything: no persistence), 2 more requests, and the stop keeps 5 in a file.
    const redis = await startRedis(port, { password: PASSWORD })
    freeze(delta)
    const second = await open(config)
    expect(await count(second.s)).toBe(3)
    await crawl(second.s, 1)
    await stopRedis(redis)
    await crawl(second.s, 1)
    await close(second.s)
    const fullName = pendingFiles(dir).find((f) => join(dir, f) !== delta)
    expect(fullName, second.lines.join('\n')).toBeDefined()
    const full = JSON.parse(readFileSync(join(dir, fullName as string), 'utf8'))
    expect(full).toMatchObject({ kind: 'full', includes: [deltaId] })
    expect(full.snapshot.endpoints['/html'].count).toBe(5)
    mutable(delta)

    // Redis is back empty, so it cannot say the delta was merged; the newer file does.
    await startRedis(port, { password: PASSWORD })
    const next = await open({ ...config, launch_permanent: false })
    expect(await count(next.s)).toBe(5)
    expect(pendingFiles(dir)).toEqual([])
    expect(JSON.parse((await redisGet(port, 'includes:monitor:instance:solo:endpoints', PASSWORD)) as string)['/html'].count).toBe(5)
    await close(next.s)
  })

  it('a whole history kept for Redis is not merged into the file store (another history): left in place, with a warning', async () => {
    const port = await freePort()
    const dir = await dataDir('lineage')
    const redis = await startRedis(port, { password: PASSWORD })
    const onRedis = await open({ redis_url: `redis://:${PASSWORD}@127.0.0.1:${port}`, redis_prefix: 'lineage:', data_dir: dir })
    await crawl(onRedis.s, 2)
    await stopRedis(redis)
    await crawl(onRedis.s, 1)
    await close(onRedis.s)
    const [name] = pendingFiles(dir)
    expect(name, onRedis.lines.join('\n')).toBeDefined()
    expect(JSON.parse(readFileSync(join(dir, name as string), 'utf8'))).toMatchObject({ kind: 'full', lineage: 'redis:lineage:' })

    // The same data dir, now with the file store: its history is not Redis's.
    const onFile = await open({ data_dir: dir, launch_permanent: false })
    expect(await count(onFile.s)).toBe(0)
    expect(pendingFiles(dir)).toEqual([name])
    expect(onFile.lines.some((l) => l.includes('belongs to another store'))).toBe(true)
    await close(onFile.s)
  })
})
