import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../src/main/core/config.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'
import { freePort, startRedis, stopAllRedis, stopRedis } from './helpers/redis-server.js'

/**
 * Monitor history across restarts, for both stores, with a real service (real Chromium) and a
 * real redis-server of our own (never the shared one: these tests kill and restart it).
 * Survives: endpoint stats, timeline, janitor log, error log. Not: active requests.
 */

let fx: FixtureServer
let tmpRoot: string
const services = new Set<TestService>()
/** A service handed from one test to the next (closed by that test, or in afterAll). */
let carried: TestService | null = null

beforeAll(async () => {
  ;[fx, tmpRoot] = await Promise.all([startFixtureServer(), mkdtemp(join(tmpdir(), 'crawldeck-persist-'))])
})

afterEach(async () => {
  // Whatever a failed test left running: its services first (they talk to the redis), then the redis.
  await Promise.all([...services].map((s) => closeService(s)))
  await stopAllRedis()
})

afterAll(async () => {
  if (carried) await carried.close()
  await fx?.close()
  if (tmpRoot) await rm(tmpRoot, { recursive: true, force: true })
})

// ---- helpers -----------------------------------------------------------------------------

/** The instance name of every service here: its Redis history is `<prefix>monitor:instance:<name>:*`. */
const INSTANCE = 'persist-test'

async function open(config: ConfigInput, logger?: pino.Logger): Promise<TestService> {
  // Log level 'silent' is the helper's default; warnings are captured where a test reads them.
  const s = await startService({ persist_interval_ms: 100, instance_name: INSTANCE, ...config }, logger ? { logger } : {})
  services.add(s)
  return s
}

async function closeService(s: TestService): Promise<void> {
  services.delete(s)
  await s.close()
}

/** Two flushes: the first may be one already under way (started before our last change). */
async function flushNow(s: TestService): Promise<void> {
  await s.runtime.persister.flush()
  await s.runtime.persister.flush()
}

async function newDataDir(name: string): Promise<string> {
  const dir = join(tmpRoot, name)
  await mkdir(dir, { recursive: true })
  return dir
}

/** Our own redis-server (no persistence: a restart starts empty), answering PING when this resolves. */

/** A short-lived client of our own redis for direct reads. */
async function withRedis<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 })
  r.on('error', () => undefined)
  await r.connect()
  try {
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

function uniquePrefix(tag: string): string {
  return `crawldeck-test:${tag}:${process.pid}:${Date.now()}:`
}

async function crawl(s: TestService, endpoint: '/md' | '/html', path: string, expectStatus = 200): Promise<void> {
  const { status, body } = await s.postJson(endpoint, { url: fx.url(path) })
  expect(status, `${endpoint} ${path}: ${JSON.stringify(body).slice(0, 300)}`).toBe(expectStatus)
}

/** Everything the monitor API says about history, read over HTTP. */
async function history(s: TestService) {
  const [stats, janitor, errors, memory, browsers, active] = await Promise.all([
    s.get('/monitor/endpoints/stats'),
    s.get('/monitor/logs/janitor?limit=500'),
    s.get('/monitor/logs/errors?limit=500'),
    s.get('/monitor/timeline?metric=memory&window=5m'),
    s.get('/monitor/timeline?metric=browsers&window=5m'),
    s.get('/monitor/requests?status=active'),
  ])
  for (const r of [stats, janitor, errors, memory, browsers, active]) expect(r.status).toBe(200)
  return {
    stats: stats.body,
    janitor: janitor.body.events as unknown[],
    errors: errors.body.errors as unknown[],
    groups: errors.body.groups as any[],
    memory: memory.body,
    browsers: browsers.body,
    active: active.body.active as unknown[],
  }
}

/** `older` appears in `newer` in the same relative order (other items may be interleaved). */
function expectSubsequence(newer: unknown[], older: unknown[], what: string): void {
  const keys = newer.map((x) => JSON.stringify(x))
  let at = 0
  for (const item of older) {
    const k = JSON.stringify(item)
    const found = keys.indexOf(k, at)
    expect(found, `${what}: entry missing or out of order: ${k.slice(0, 200)}`).toBeGreaterThanOrEqual(0)
    at = found + 1
  }
}

/** The timeline points of `before` are all in `after`, with the same values. */
function expectTimelineKept(before: any, after: any, what: string): void {
  const values = new Map<number, string>(after.timestamps.map((t: number, i: number) => [t, JSON.stringify(after.values[i])]))
  expect(before.timestamps.length, `${what}: no timeline point to compare`).toBeGreaterThan(0)
  before.timestamps.forEach((t: number, i: number) => {
    expect(values.has(t), `${what}: timeline point ${t} lost`).toBe(true)
    expect(values.get(t), `${what}: timeline point ${t} changed`).toBe(JSON.stringify(before.values[i]))
  })
}

/**
 * A timeline point now: the sampler ticks only every 5 s, so the test calls the (private)
 * sampler itself instead of waiting for a tick.
 */
function forceTimelinePoint(s: TestService): void {
  ;(s.runtime.monitor as any).sampleTimeline()
}

async function health(s: TestService) {
  const { status, body } = await s.get('/monitor/health')
  expect(status).toBe(200)
  return body.persistence as { backend: string; ok: boolean; error: string | null; pending: boolean; last_flush: number | null }
}

/** Crawls on /md, /html and a failing one, plus a janitor event (cleanup), then a timeline point. */
async function makeHistory(s: TestService): Promise<void> {
  await crawl(s, '/md', '/')
  await crawl(s, '/md', '/about')
  await crawl(s, '/html', '/article')
  await crawl(s, '/md', '/status/404', 502)
  const cleanup = await s.postJson('/monitor/actions/cleanup', {})
  expect(cleanup.status).toBe(200)
  forceTimelinePoint(s)
}

// ---- the embedded file store ---------------------------------------------------------------

describe('file store (data dir)', () => {
  let dir: string
  let before: Awaited<ReturnType<typeof history>>

  it('a restart with the same data dir restores endpoint stats exactly, the logs and the timeline; not active requests', async () => {
    dir = await newDataDir('file-roundtrip')
    const first = await open({ data_dir: dir })
    expect((await health(first)).backend).toBe('file')
    const t0 = Date.now()
    await makeHistory(first)
    await flushNow(first)
    const p = await health(first)
    expect(p).toMatchObject({ backend: 'file', ok: true, error: null, pending: false })
    expect(p.last_flush).toBeGreaterThanOrEqual(t0)

    before = await history(first)
    expect(before.stats['/md']).toMatchObject({ count: 3, errors: 1 })
    expect(before.stats['/html']).toMatchObject({ count: 1, errors: 0 })
    expect(before.janitor.some((e: any) => e.type === 'launch')).toBe(true)
    expect(before.janitor.some((e: any) => e.type === 'force_cleanup')).toBe(true)
    expect(before.errors.some((e: any) => e.url === fx.url('/status/404') && e.endpoint === '/md')).toBe(true)
    expect(before.groups.length).toBeGreaterThan(0)
    expect(before.memory.timestamps.length).toBeGreaterThan(0)

    // The file: valid JSON with every section, written atomically (no temp file left behind).
    const file = JSON.parse(await readFile(join(dir, 'monitor.json'), 'utf8'))
    expect(file.version).toBe(1)
    expect(Object.keys(file).sort()).toEqual(['endpoints', 'error_groups', 'errors', 'janitor', 'timeline', 'version'])
    expect(file.endpoints['/md'].count).toBe(3)
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([])

    await closeService(first)
    // The final flush at shutdown left a whole file too (beside the result cache's, the jobs' and the long history's folders).
    expect((await readdir(dir)).sort()).toEqual(['cache', 'history', 'jobs', 'monitor.json'])
    JSON.parse(await readFile(join(dir, 'monitor.json'), 'utf8'))

    const second = await open({ data_dir: dir })
    const after = await history(second)
    expect(after.stats).toEqual(before.stats)
    // The new run adds its own entries (the old run's shutdown close, this run's launch) on top.
    expect(after.janitor.length).toBeGreaterThan(before.janitor.length)
    expectSubsequence(after.janitor, before.janitor, 'janitor log')
    expectSubsequence(after.errors, before.errors, 'error log')
    expect(after.groups).toEqual(before.groups)
    expectTimelineKept(before.memory, after.memory, 'memory timeline')
    expectTimelineKept(before.browsers, after.browsers, 'browsers timeline')
    // Active requests died with the process: none restored, and none stored.
    expect(after.active).toEqual([])
    expect(file).not.toHaveProperty('active')
    expect((await health(second)).ok).toBe(true)
    // The next test resets stats on this very service.
    services.delete(second)
    carried = second
  })

  it('POST /monitor/stats/reset clears endpoint stats only, and that too survives a restart', async () => {
    expect(carried, 'needs the service of the previous test').not.toBeNull()
    const s = carried as TestService
    carried = null
    services.add(s)
    const reset = await s.postJson('/monitor/stats/reset', {})
    expect(reset.status).toBe(200)
    expect(reset.body.cleared).toEqual(['endpoint_stats'])
    expect(reset.body.requests).toBe(4)
    expect((await s.get('/monitor/endpoints/stats')).body).toEqual({})
    await flushNow(s)
    expect(JSON.parse(await readFile(join(dir, 'monitor.json'), 'utf8')).endpoints).toEqual({})
    await closeService(s)

    const third = await open({ data_dir: dir, launch_permanent: false })
    const after = await history(third)
    expect(after.stats).toEqual({})
    expectSubsequence(after.janitor, before.janitor, 'janitor log after reset')
    expectSubsequence(after.errors, before.errors, 'error log after reset')
    expect(after.groups).toEqual(before.groups)
    expectTimelineKept(before.memory, after.memory, 'timeline after reset')
  })

  it('an unwritable data dir: the service starts and serves, persistence reports the path, nothing crashes', async () => {
    // We run as root, and root ignores permission bits (chmod 0o500 would not stop a write).
    // A data dir *under a regular file* fails for everyone: mkdir/open give ENOTDIR.
    const afile = join(tmpRoot, 'afile')
    await writeFile(afile, 'not a directory')
    const dir = join(afile, 'data')
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
    const s = await open({ data_dir: dir }, logger)
    await crawl(s, '/md', '/')
    await crawl(s, '/html', '/about')
    await waitFor(async () => (await health(s)).ok === false, 10_000, 'persistence degraded')
    const p = await health(s)
    expect(p.backend).toBe('file')
    expect(p.pending).toBe(true)
    expect(p.error).toContain(join(dir, 'monitor.json'))
    expect(p.error).toMatch(/ENOTDIR|not a directory/)
    // The log says why: a warning naming the file and what the system answered. (Until history can
    // be read no write is tried — it would overwrite it — so the read failure is the reason.)
    const said = () =>
      lines
        .map((l) => JSON.parse(l))
        .filter(
          (e) =>
            e.level === 40 &&
            e.msg.includes('cannot read monitor history') &&
            e.msg.includes(join(dir, 'monitor.json')) &&
            /ENOTDIR|not a directory/.test(e.msg),
        )
    expect(said(), lines.join('\n')).toHaveLength(1)
    // Flushes keep failing quietly — once in the log, not once per retry; the service keeps counting and serving.
    await flushNow(s)
    await flushNow(s)
    expect(said()).toHaveLength(1)
    expect((await s.get('/monitor/endpoints/stats')).body['/md'].count).toBe(1)
    await crawl(s, '/md', '/about')
    expect((await s.get('/monitor/endpoints/stats')).body['/md'].count).toBe(2)
    expect((await health(s)).ok).toBe(false)
    // Shutdown with a store that cannot be written still closes cleanly.
    await closeService(s)
    expect(existsSync(dir)).toBe(false)
  })

  it('a corrupt monitor.json is moved aside and reported; the service serves and writes a fresh file', async () => {
    const dir = await newDataDir('file-corrupt')
    await writeFile(join(dir, 'monitor.json'), '{"version":1,"endpoints":{"/md":{"count":')
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) })
    // A long interval: the only flushes are the ones this test makes, so each state can be seen.
    const s = await open({ data_dir: dir, persist_interval_ms: 600_000 }, logger)

    const moved = (await readdir(dir)).filter((f) => f.startsWith('monitor.json.corrupt-'))
    expect(moved).toHaveLength(1)
    expect(await readFile(join(dir, moved[0] as string), 'utf8')).toBe('{"version":1,"endpoints":{"/md":{"count":')
    expect(existsSync(join(dir, 'monitor.json'))).toBe(false)
    // Reported: health says degraded, with the reason and where the bad file went, and a warning was logged.
    let p = await health(s)
    expect(p).toMatchObject({ backend: 'file', ok: false, pending: true })
    expect(p.error).toContain('not valid JSON')
    expect(p.error).toContain(moved[0])
    expect(lines.some((l) => l.includes('not valid JSON'))).toBe(true)

    await crawl(s, '/md', '/')
    // The next flush finds no file (it was moved), starts afresh and writes: persistence is ok again.
    await flushNow(s)
    p = await health(s)
    expect(p).toMatchObject({ backend: 'file', ok: true, error: null, pending: false })
    const file = JSON.parse(await readFile(join(dir, 'monitor.json'), 'utf8'))
    expect(file.endpoints['/md'].count).toBe(1)
    expect(file.janitor.some((e: any) => e.type === 'launch')).toBe(true)
    await closeService(s)
  })
})

// ---- Redis ----------------------------------------------------------------------------------

describe('Redis store', () => {
  it('a restart from the same Redis restores the history; every key is under the prefix', async () => {
    const port = await freePort()
    await startRedis(port)
    const redis_url = `redis://127.0.0.1:${port}`
    const redis_prefix = uniquePrefix('roundtrip')
    const first = await open({ redis_url, redis_prefix })
    expect((await health(first)).backend).toBe('redis')
    await makeHistory(first)
    await flushNow(first)
    expect(await health(first)).toMatchObject({ backend: 'redis', ok: true, error: null, pending: false })
    const before = await history(first)

    const keys = await withRedis(port, (r) => r.keys('*'))
    // /md writes its results to the cache (c "0": write_only), under the same prefix.
    expect(keys.filter((k) => k.startsWith(`${redis_prefix}cache:`))).not.toEqual([])
    // Beside the monitor's sections: the cache, the job queue (bull:) and the fleet registry (fleet:).
    expect(keys.filter((k) => k.startsWith(`${redis_prefix}monitor:instance:${INSTANCE}:`)).sort()).toEqual(
      ['endpoints', 'error_groups', 'errors', 'janitor', 'timeline'].map((k) => `${redis_prefix}monitor:instance:${INSTANCE}:${k}`),
    )
    expect(keys.filter((k) => !/^(cache|monitor|bull|fleet|jobs|history):/.test(k.slice(redis_prefix.length)))).toEqual([])
    expect(keys.every((k) => k.startsWith(redis_prefix))).toBe(true)
    const stored = await withRedis(port, (r) => r.get(`${redis_prefix}monitor:instance:${INSTANCE}:endpoints`))
    expect(JSON.parse(stored as string)['/md'].count).toBe(3)

    await closeService(first)
    const second = await open({ redis_url, redis_prefix, launch_permanent: false })
    const after = await history(second)
    expect(after.stats).toEqual(before.stats)
    expectSubsequence(after.janitor, before.janitor, 'janitor log')
    expectSubsequence(after.errors, before.errors, 'error log')
    expect(after.groups).toEqual(before.groups)
    expectTimelineKept(before.memory, after.memory, 'timeline')
    expect(after.active).toEqual([])
    // Another prefix on the same Redis is another history.
    const other = await open({ redis_url, redis_prefix: uniquePrefix('other'), launch_permanent: false })
    expect((await other.get('/monitor/endpoints/stats')).body).toEqual({})
    await closeService(second)
    await closeService(other)
  })

  it('Redis stopped mid-run: the service serves on, health degrades, and once Redis is back the totals are exact', async () => {
    const N = 3
    const M = 2
    const port = await freePort()
    let redis = await startRedis(port)
    const redis_url = `redis://127.0.0.1:${port}`
    const redis_prefix = uniquePrefix('outage')
    const s = await open({ redis_url, redis_prefix })
    for (let i = 0; i < N; i++) await crawl(s, '/md', i % 2 ? '/about' : '/')
    await crawl(s, '/md', '/status/404', 502) // an error entry, so the error log has history too
    forceTimelinePoint(s)
    await flushNow(s)
    expect((await health(s)).ok).toBe(true)
    const beforeOutage = await history(s)

    await stopRedis(redis)
    for (let i = 0; i < M; i++) await crawl(s, '/md', '/')
    await waitFor(async () => (await health(s)).ok === false, 20_000, 'persistence to report Redis gone')
    const down = await health(s)
    expect(down.backend).toBe('redis')
    expect(down.pending).toBe(true)
    expect(typeof down.error).toBe('string')
    expect(down.error).toContain(`127.0.0.1:${port}`)
    // Still serving while Redis is away.
    await crawl(s, '/html', '/about')

    redis = await startRedis(port) // starts empty: --save ""
    await waitFor(async () => (await health(s)).ok === true, 30_000, 'persistence to recover once Redis is back')
    expect(await health(s)).toMatchObject({ backend: 'redis', ok: true, error: null, pending: false })
    const stored = JSON.parse((await withRedis(port, (r) => r.get(`${redis_prefix}monitor:instance:${INSTANCE}:endpoints`))) as string)
    expect(stored['/md'].count).toBe(N + 1 + M) // N + M successes, plus the 404
    expect(stored['/md'].errors).toBe(1)
    expect(stored['/html'].count).toBe(1)

    // Restarted (empty) once more, now while nothing was being written, so no write failed and the
    // service had nothing pending: the first write after the reconnect still puts all history back.
    await stopRedis(redis)
    await startRedis(port)
    const key = (section: string) => `${redis_prefix}monitor:instance:${INSTANCE}:${section}`
    await waitFor(
      async () => {
        forceTimelinePoint(s) // something to write
        await flushNow(s)
        return (await withRedis(port, (r) => r.exists(key('timeline')))) === 1
      },
      30_000,
      'a write to the restarted Redis',
    )
    const keys = (await withRedis(port, (r) => r.keys(`${redis_prefix}monitor:instance:${INSTANCE}:*`))).sort()
    expect(keys).toEqual(['endpoints', 'error_groups', 'errors', 'janitor', 'timeline'].map(key))

    const live = await history(s)
    expect(live.stats['/md'].count).toBe(N + 1 + M)
    await closeService(s)

    // A new service from that Redis sees the same stats, and the history from before the outage.
    const next = await open({ redis_url, redis_prefix, launch_permanent: false })
    const after = await history(next)
    expect(after.stats).toEqual(live.stats)
    expectSubsequence(after.janitor, beforeOutage.janitor, 'janitor log written before the outage')
    expectSubsequence(after.errors, beforeOutage.errors, 'error log written before the outage')
    expectTimelineKept(beforeOutage.memory, after.memory, 'timeline written before the outage')
    await closeService(next)
    await withRedis(port, async (r) => {
      const keys = await r.keys(`${redis_prefix}*`)
      if (keys.length > 0) await r.del(...keys)
    })
  })

  it('Redis killed and restarted under concurrent load: every crawl answered, health degrades and recovers, totals exact', async () => {
    const WORKERS = 4
    const port = await freePort()
    let redis = await startRedis(port)
    const redis_url = `redis://127.0.0.1:${port}`
    const redis_prefix = uniquePrefix('load')
    const s = await open({ redis_url, redis_prefix, max_pages: WORKERS })
    const paths = ['/', '/about', '/article']
    // Load that runs through the whole outage: WORKERS crawls in flight at all times, each answer
    // kept, until the test says stop.
    const answers: number[] = []
    const sent = { '/md': 0, '/html': 0 }
    let stop = false
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const endpoint = (w + i) % 2 ? '/html' : '/md'
        // A refused connection counts as an answer that is not 200 (the assertion below names it).
        const status = await s.postJson(endpoint, { url: fx.url(paths[(w + i) % paths.length] as string) }).then(
          (r) => r.status,
          () => -1,
        )
        sent[endpoint]++
        answers.push(status)
      }
    }
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)))
    const answered = (n: number, what: string) => waitFor(() => answers.length >= n, 120_000, what)
    try {
      await answered(WORKERS * 2, 'load under way')
      expect((await health(s)).ok).toBe(true)

      await stopRedis(redis)
      const atKill = answers.length
      await waitFor(async () => (await health(s)).ok === false, 20_000, 'health to report Redis gone while under load')
      expect((await health(s)).error).toContain(`127.0.0.1:${port}`)
      // Serving throughout: crawls keep being answered while Redis is away.
      await answered(atKill + WORKERS * 2, 'crawls answered while Redis is down')

      redis = await startRedis(port) // starts empty: --save ""
      await waitFor(async () => (await health(s)).ok === true, 30_000, 'persistence to recover under load')
      const atRecovery = answers.length
      await answered(atRecovery + WORKERS * 2, 'crawls answered after recovery')
    } finally {
      stop = true
      await load
    }

    // Every crawl answered with a success: none lost, none stuck.
    expect(
      answers.filter((st) => st !== 200),
      `non-200 answers: ${answers.join(',')}`,
    ).toEqual([])
    // The monitor's totals are exactly what was sent, and so is what Redis holds after recovery.
    const live = await history(s)
    expect(live.active).toEqual([])
    expect(live.stats['/md']).toMatchObject({ count: sent['/md'], errors: 0 })
    expect(live.stats['/html']).toMatchObject({ count: sent['/html'], errors: 0 })
    await flushNow(s)
    const stored = JSON.parse((await withRedis(port, (r) => r.get(`${redis_prefix}monitor:instance:${INSTANCE}:endpoints`))) as string)
    expect(stored['/md'].count).toBe(sent['/md'])
    expect(stored['/html'].count).toBe(sent['/html'])
    expect(await health(s)).toMatchObject({ backend: 'redis', ok: true, error: null, pending: false })
    await closeService(s)
    await withRedis(port, async (r) => {
      const keys = await r.keys(`${redis_prefix}*`)
      if (keys.length > 0) await r.del(...keys)
    })
  }, 300_000)

  it('Redis unreachable at start-up: the service starts and serves; the pending state is written once Redis answers', async () => {
    const port = await freePort() // nothing listens here yet
    const redis_url = `redis://127.0.0.1:${port}`
    const redis_prefix = uniquePrefix('late')
    const s = await open({ redis_url, redis_prefix })
    let p = await health(s)
    expect(p).toMatchObject({ backend: 'redis', ok: false, pending: true })
    expect(p.error).toContain(`127.0.0.1:${port}`)
    await crawl(s, '/md', '/')
    await crawl(s, '/md', '/about')
    await crawl(s, '/html', '/')
    await flushNow(s)
    expect((await health(s)).ok).toBe(false)

    await startRedis(port)
    await waitFor(async () => (await health(s)).ok === true, 30_000, 'persistence to recover once Redis answers')
    p = await health(s)
    expect(p).toMatchObject({ backend: 'redis', ok: true, error: null, pending: false })
    const values = await withRedis(port, (r) =>
      r.mget(`${redis_prefix}monitor:instance:${INSTANCE}:endpoints`, `${redis_prefix}monitor:instance:${INSTANCE}:janitor`),
    )
    const endpoints = JSON.parse(values[0] as string)
    expect(endpoints['/md'].count).toBe(2)
    expect(endpoints['/html'].count).toBe(1)
    // The launch of the permanent browser happened while Redis was away; it is in the store too.
    expect(JSON.parse(values[1] as string).some((e: any) => e.type === 'launch')).toBe(true)
    await closeService(s)
  })
})
