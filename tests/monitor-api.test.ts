import { rmSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import type { MemoryReading } from '../src/main/core/system/memory.js'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import { listProcesses, processTreeMemory, processTreesMemory } from '../src/main/core/system/process-tree.js'
import type { BrowserConfigInput } from '../src/shared/crawl-schemas.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * The /monitor/* REST API against a real service (real Chromium, real Koa door, fixture pages
 * on 127.0.0.1). One service for the whole file, started with max_pages 2 / queue_size 2 so the
 * last test can saturate it; its janitor loop is stopped so a pass only runs when a test asks
 * (runOnce), and idle_ttl_seconds 0 makes such a pass close every idle cold browser. Memory
 * percent is fixed at 10 % so the janitor's policy (and the memory guard) never depend on how
 * busy the shared machine is; browser memory (memory_mb) is still read from /proc.
 *
 * The tests run in order and build on each other's browsers: A (promoted, then killed),
 * B (closed by the janitor), C1/C2 (signatures sharing a 4-hex prefix), and a restarted
 * permanent browser. Nothing asserts a duration; everything waits on gates, events or polls.
 */

/**
 * readFileSync of node:fs (the /proc reader reads synchronously), passed through untouched except
 * where a test installs a hook: used only to replay, deterministically, a process exiting in the
 * middle of a memory scan.
 */
const fsHooks = vi.hoisted(() => ({ readFileSync: null as null | ((path: string, read: () => unknown) => unknown) }))
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>()
  const readFileSync = ((path: unknown, ...rest: unknown[]) => {
    const read = () => (actual.readFileSync as (...a: unknown[]) => unknown)(path, ...rest)
    return fsHooks.readFileSync && typeof path === 'string' ? fsHooks.readFileSync(path, read) : read()
  }) as typeof actual.readFileSync
  return { ...actual, readFileSync, default: { ...actual, readFileSync } }
})

let fx: FixtureServer
let s: TestService
const openGates = new Set<string>()

const MEMORY: MemoryReading = { percent: 10, used_bytes: 10e8, limit_bytes: 100e8, source: 'host' }

beforeAll(async () => {
  ;[fx, s] = await Promise.all([
    startFixtureServer(),
    // prewarm_pages 0: open_contexts / open_pages are asserted exactly; the reserve's own counts are
    // tested in tests/prewarm.test.ts.
    startService({ max_pages: 2, adaptive_admission: false, queue_size: 2, idle_ttl_seconds: 0, prewarm_pages: 0 }, { readMemory: () => MEMORY }),
  ])
  s.runtime.janitor.stop()
})

afterEach(() => {
  // A failed assertion must not leave a crawl hanging at a gate for the next test.
  for (const name of openGates) fx.gate(name).release()
  openGates.clear()
})

afterAll(async () => {
  for (const name of openGates) fx.gate(name).release()
  await s?.close()
  await fx?.close()
})

// ---- helpers -------------------------------------------------------------------------------

function gate(name: string) {
  openGates.add(name)
  return fx.gate(name)
}

const sigOf = (cfg: BrowserConfigInput = {}) => configSignature(normaliseBrowserConfig(cfg))

function md(path: string, browserConfig?: BrowserConfigInput, crawlerConfig?: object, init?: RequestInit) {
  const body = { url: fx.url(path), ...(browserConfig ? { browser_config: browserConfig } : {}), ...(crawlerConfig ? { crawler_config: crawlerConfig } : {}) }
  return init ? s.post('/md', body, init) : s.postJson('/md', body)
}

/** Rejects instead of hanging the test when `p` does not settle in time. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Parses `value` with a zod schema; on mismatch fails with every issue and its path. */
function expectShape<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value)
  if (!r.success)
    throw new Error(
      `${what} does not have the documented shape:\n${r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}\n${JSON.stringify(value).slice(0, 2000)}`,
    )
  return r.data
}

async function getOk<T = any>(path: string): Promise<T> {
  const r = await s.get<T>(path)
  expect(r.status, `${path} -> ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200)
  return r.body
}

async function expect400(path: string, mentions: RegExp): Promise<void> {
  const r = await s.get(path)
  expect(r.status, `GET ${path}`).toBe(400)
  expect(r.body.code, `GET ${path}`).toBe('invalid_input')
  expect(r.body.error, `GET ${path}`).toMatch(mentions)
}

const completed = async (): Promise<any[]> => (await getOk('/monitor/requests?status=completed&limit=1000')).completed
const activeSet = async (): Promise<any[]> => (await getOk('/monitor/requests?status=active')).active
const browsers = async (): Promise<any> => getOk('/monitor/browsers')
const byId = (list: any[], id: string) => list.find((b: any) => b.id === id)

/** The completed record of the request made since log index `mark` for this endpoint and URL. */
async function completedFor(mark: number, endpoint: string, url: string): Promise<any> {
  await waitFor(
    () => s.log.slice(mark).some((e) => e.name === 'request:finished' && (e.payload as any).endpoint === endpoint && (e.payload as any).url === url),
    20_000,
    `request:finished for ${endpoint} ${url}`,
  )
  const finished = s.log.slice(mark).filter((e) => e.name === 'request:finished' && (e.payload as any).endpoint === endpoint && (e.payload as any).url === url)
  expect(finished).toHaveLength(1)
  const id = (finished[0]!.payload as any).id as string
  const record = (await completed()).find((r) => r.id === id)
  expect(record, `completed record ${id}`).toBeDefined()
  return record
}

// ---- documented shapes -----------------------------------------------------------------------

const num = z.number().finite()
const nonNeg = num.min(0)
const int = z.number().int().min(0)
const sha = z.string().regex(/^[0-9a-f]{64}$/)
const tier = z.enum(['permanent', 'hot', 'cold'])
const tierCounts = z.object({ permanent: int, hot: int, cold: int })

const ActiveRequestShape = z.object({
  id: z.uuid(),
  endpoint: z.string().startsWith('/'),
  url: z.string(),
  urls: int.min(1),
  config_sig: sha,
  start_time: num,
  start_time_ms: num,
  elapsed: nonNeg,
  status: z.literal('running'),
  phase: z.enum(['queued', 'acquiring', 'navigating', 'extracting']),
})
const CompletedRequestShape = z.object({
  id: z.uuid(),
  endpoint: z.string().startsWith('/'),
  url: z.string(),
  urls: int.min(1),
  config_sig: sha,
  start_time: num,
  start_time_ms: num,
  end_time: num,
  end_time_ms: num,
  elapsed: nonNeg,
  status: z.enum(['success', 'error']),
  success: z.boolean(),
  status_code: z.number().int(),
  error: z.string().nullable(),
  aborted: z.boolean(),
  pool_hit: z.boolean().nullable(),
  cache_hit: z.boolean(),
  queue_wait_ms: nonNeg.nullable(),
  browser_sig: sha.nullable(),
  mem_delta: num.nullable(),
})
const RequestsShape = z.object({ active: z.array(ActiveRequestShape), completed: z.array(CompletedRequestShape) })
const BrowserShape = z.object({
  id: z.uuid(),
  type: tier,
  sig: z.string().regex(/^[0-9a-f]{12}$/),
  full_sig: sha,
  config: z.record(z.string(), z.unknown()),
  state: z.enum(['active', 'retired', 'closing', 'closed']),
  pid: z.number().int().positive().nullable(),
  launched_at: num,
  age_seconds: nonNeg,
  last_used_seconds: nonNeg,
  memory_mb: nonNeg,
  processes: int,
  hits: int,
  leases: int,
  pages_served: int,
  open_contexts: int,
  open_pages: int,
  killable: z.boolean(),
  not_killable_reason: z.string().nullable(),
})
const BrowsersShape = z.object({
  browsers: z.array(BrowserShape),
  summary: z.object({ total_count: int, total_memory_mb: nonNeg, reuse_rate_percent: nonNeg.max(100) }),
})
const EndpointStatsShape = z.record(
  z.string().startsWith('/'),
  z.object({
    count: int,
    avg_latency_ms: nonNeg,
    p50_latency_ms: nonNeg,
    p95_latency_ms: nonNeg,
    success_rate_percent: nonNeg.max(100),
    pool_hit_rate_percent: nonNeg.max(100),
    cache_hit_rate_percent: nonNeg.max(100),
    errors: int,
  }),
)
const TimelineShape = z.object({
  metric: z.enum(['memory', 'cpu', 'requests', 'browsers']),
  window: z.string(),
  resolution_seconds: z.literal(5),
  timestamps: z.array(num).max(60),
  timestamps_ms: z.array(num).max(60),
  values: z.union([z.array(num).max(60), z.array(tierCounts).max(60)]),
})
const JanitorEventShape = z.object({
  timestamp: num,
  timestamp_ms: num,
  type: z.enum(['close_cold', 'close_hot', 'promote', 'launch', 'retire', 'crash', 'kill_browser', 'restart_browser', 'force_cleanup', 'close']),
  sig: z.string(),
  details: z.record(z.string(), z.unknown()),
})
const ErrorEntryShape = z.object({
  timestamp: num,
  timestamp_ms: num,
  endpoint: z.string().startsWith('/'),
  url: z.string(),
  error: z.string().min(1),
  stack: z.string().nullable(),
  request_id: z.uuid(),
  status_code: z.number().int(),
})
const ErrorGroupShape = z.object({
  signature: z.string().min(1),
  example: z.string().min(1),
  endpoints: z.array(z.string()),
  count: int.min(1),
  first_seen: num,
  last_seen: num,
})
const ErrorsShape = z.object({ errors: z.array(ErrorEntryShape), groups: z.array(ErrorGroupShape) })
const HealthShape = z.object({
  container: z.object({
    cpu_percent: nonNeg.max(100),
    memory_percent: nonNeg.max(100),
    memory_source: z.enum(['cgroup2', 'cgroup1', 'host']),
    memory_used_mb: nonNeg,
    memory_limit_mb: nonNeg,
    network_sent_mb: nonNeg,
    network_recv_mb: nonNeg,
    network_sent_mb_per_sec: nonNeg,
    network_recv_mb_per_sec: nonNeg,
    uptime_seconds: nonNeg,
  }),
  pool: z.object({
    permanent: z.object({ active: z.boolean(), memory_mb: nonNeg }),
    hot: z.object({ count: int, memory_mb: nonNeg }),
    cold: z.object({ count: int, memory_mb: nonNeg }),
    total_memory_mb: nonNeg,
  }),
  queue: z.object({ active: int, queued: int, max_pages: int, queue_size: int }),
  janitor: z.object({
    memory_pressure: z.enum(['LOW', 'MEDIUM', 'HIGH']),
    next_cleanup_estimate: z.union([num, z.literal('adaptive')]),
    next_cleanup_in_seconds: nonNeg.nullable(),
    interval_seconds: nonNeg,
    cold_ttl_seconds: nonNeg,
    hot_ttl_seconds: nonNeg,
  }),
  persistence: z.object({
    backend: z.enum(['file', 'redis', 'memory']),
    ok: z.boolean(),
    error: z.string().nullable(),
    pending: z.boolean(),
    last_flush: num.nullable(),
  }),
  cache: z.object({
    backend: z.enum(['lmdb', 'redis', 'none']),
    entries: int.nullable(),
    bytes: int.nullable(),
    max_bytes: int.nullable(),
    ttl_seconds: int,
    error: z.string().nullable(),
  }),
})

const GET_ROUTES = [
  '/monitor/health',
  '/monitor/requests',
  '/monitor/browsers',
  '/monitor/endpoints/stats',
  '/monitor/timeline',
  '/monitor/logs/janitor',
  '/monitor/logs/errors',
]
const CRAWL_ENDPOINTS = ['/crawl', '/crawl/stream', '/md', '/html', '/screenshot', '/pdf']

// Ids and signatures the tests below hand to each other, in file order.
const shared: {
  aSig?: string
  bSig?: string
  c1?: { cfg: BrowserConfigInput; sig: string }
  c2?: { cfg: BrowserConfigInput; sig: string }
  prefix?: string
  restart?: { old_id: string; new_id: string }
} = {}

describe('monitor API (one real service)', () => {
  it('refuses bad queries with 400 and a message that names the problem', async () => {
    await expect400('/monitor/requests?limit=0', /limit must be at least 1/)
    await expect400('/monitor/requests?limit=1001', /limit must be at most 1000/)
    await expect400('/monitor/requests?limit=abc', /limit must be a number/)
    await expect400('/monitor/requests?limit=2.5', /limit must be an integer/)
    await expect400('/monitor/requests?status=bogus', /status: .*expected one of "all"\|"active"\|"completed"\|"success"\|"error"/)
    await expect400('/monitor/timeline?metric=disk', /metric: .*expected one of/)
    await expect400('/monitor/timeline?window=1w', /window looks like 90s, 5m, 24h or 7d/)
    await expect400('/monitor/timeline?window=301s', /a window over 5m must be whole minutes/)
    await expect400('/monitor/timeline?window=4s', /window must be at least 5s/)
    await expect400('/monitor/logs/janitor?limit=0', /limit must be at least 1/)
    await expect400('/monitor/logs/janitor?limit=1001', /limit must be at most 1000/)
    await expect400('/monitor/logs/errors?limit=-3', /limit must be at least 1/)
    // A parameter no route knows (a cache-buster, a typo) is ignored, as Crawl4AI's clients expect.
    for (const path of [
      '/monitor/requests?stauts=all',
      '/monitor/timeline?metric=cpu&color=red',
      '/monitor/browsers?verbose=1',
      '/monitor/endpoints/stats?x=1',
      '/monitor/health?x=1',
    ]) {
      expect((await s.get(path)).status, path).toBe(200)
    }
    // Every limit from 1 to 1000 is accepted (the edges and a middle value).
    for (const limit of [1, 500, 1000]) expect((await s.get(`/monitor/requests?limit=${limit}`)).status).toBe(200)
    for (const status of ['all', 'active', 'completed', 'success', 'error']) {
      const body = await getOk(`/monitor/requests?status=${status}`)
      expectShape(RequestsShape, body, `/monitor/requests?status=${status}`)
    }
  })

  it('pool_hit, config_sig, age, hits, pages_served and memory are true for a second browser', async () => {
    const startView = expectShape(BrowsersShape, await browsers(), '/monitor/browsers')
    const permanent = startView.browsers.find((b) => b.type === 'permanent')!
    expect(permanent).toBeDefined()
    // Memory is sampled in the background; wait for a reading instead of sleeping.
    await waitFor(async () => byId((await browsers()).browsers, permanent.id)?.memory_mb > 0, 20_000, 'a memory sample of the permanent browser')
    // The second browser is launched well after the first, so their ages must differ.
    await waitFor(() => Date.now() - permanent.launched_at >= 1500, 5_000, 'the permanent browser to be 1.5 s old')
    const before = await browsers()
    const totalBefore = before.summary.total_memory_mb as number
    expect(totalBefore).toBeGreaterThan(0)

    const cfgA = { viewport_width: 1111 }
    const sigA = sigOf(cfgA)
    shared.aSig = sigA
    const mark = s.log.length
    expect((await md('/', cfgA)).status).toBe(200)
    const first = await completedFor(mark, '/md', fx.url('/'))
    // A cold launch is not a pool hit, and the request carries its real config signature.
    expect(first).toMatchObject({ pool_hit: false, success: true, config_sig: sigA, browser_sig: sigA })
    expect(first.queue_wait_ms).toEqual(expect.any(Number))

    let view = expectShape(BrowsersShape, await browsers(), '/monitor/browsers')
    let a = view.browsers.find((b) => b.full_sig === first.config_sig)!
    expect(a, 'the browser whose full_sig is the request config_sig').toBeDefined()
    expect(a).toMatchObject({
      type: 'cold',
      sig: sigA.slice(0, 12),
      hits: 1,
      pages_served: 1,
      leases: 0,
      killable: true,
      not_killable_reason: null,
      state: 'active',
    })
    expect(a.config).toMatchObject({ viewport_width: 1111 })
    expect(a.id).not.toBe(permanent.id)
    // Age is the browser's own, not the server's uptime.
    const health = expectShape(HealthShape, await getOk('/monitor/health'), '/monitor/health')
    const permNow = view.browsers.find((b) => b.id === permanent.id)!
    expect(a.launched_at - permanent.launched_at).toBeGreaterThanOrEqual(1500)
    expect(a.age_seconds).toBeLessThan(permNow.age_seconds)
    expect(permNow.age_seconds - a.age_seconds).toBeGreaterThanOrEqual(1)
    expect(a.age_seconds).toBeLessThan(health.container.uptime_seconds - 1)

    // Memory is measured: the new browser reports some, and the total rises with it. (The
    // permanent browser has served no crawl yet, so its own figure is not falling meanwhile as
    // renderers of finished crawls exit.)
    await waitFor(async () => (await browsers()).browsers.find((b: any) => b.id === a.id)?.memory_mb > 0, 20_000, 'a memory sample of browser A')
    view = await browsers()
    a = view.browsers.find((b) => b.id === a.id)!
    expect(a.processes).toBeGreaterThan(1) // Chromium forks helpers: the whole tree is counted
    const totalWithA = view.summary.total_memory_mb
    // A is counted on top of the permanent browser. Not against the reading before A: PSS splits
    // shared pages among every process mapping them, so Chromium processes of other tests coming
    // and going move the permanent browser's own figure (CI read 94.8 MB before A, 92 with it).
    expect(totalWithA).toBeGreaterThan(view.browsers.find((b) => b.type === 'permanent')!.memory_mb)
    expect(totalWithA).toBeCloseTo(
      view.browsers.reduce((sum, b) => sum + b.memory_mb, 0),
      0,
    )
    // Not a constant: it comes to agree with an independent PSS read of the same process tree in
    // /proc. The monitor's figure is its last PSS scan (every 5 s; a young browser's first figure
    // is an RSS sum), so it is compared once a scan has seen the settled tree, not at once: the
    // renderer of the crawl above may still be exiting, a helper exiting mid-scan turns a reading
    // into an RSS sum (see the BUG test at the end), and an early reading of a browser still
    // starting can have as many processes as the settled tree but half its memory (CI: 37 MB
    // against 81).
    let ownMb = 0
    const agree = await waitFor(
      async () => {
        const own = await processTreeMemory(a.pid!)
        const mine = (await browsers()).browsers.find((b: any) => b.id === a.id)
        if (own.pss_bytes === null || mine.processes !== own.processes) return false
        ownMb = own.pss_bytes / 1024 / 1024
        a = mine
        return a.memory_mb > ownMb / 2 && a.memory_mb < ownMb * 2
      },
      20_000,
      'the monitor and an independent PSS read of browser A to agree within 2x',
    ).then(
      () => true,
      () => false,
    )
    expect(agree, `monitor ${a.memory_mb} MB against ${ownMb.toFixed(1)} MB read from /proc`).toBe(true)
    const h2 = await getOk('/monitor/health')
    expect(h2.pool.cold.count).toBe(1)
    expect(h2.pool.cold.memory_mb).toBeGreaterThan(0)

    // Second use: a pool hit; hits and pages_served grow.
    const mark2 = s.log.length
    expect((await md('/about', cfgA)).status).toBe(200)
    expect(await completedFor(mark2, '/md', fx.url('/about'))).toMatchObject({ pool_hit: true, config_sig: sigA, browser_sig: sigA })
    a = (await browsers()).browsers.find((b: any) => b.id === a.id)
    expect(a).toMatchObject({ hits: 2, pages_served: 2, type: 'cold' })
    // Third use promotes it (promote_after_uses 3).
    const mark3 = s.log.length
    expect((await md('/article', cfgA)).status).toBe(200)
    expect(await completedFor(mark3, '/md', fx.url('/article'))).toMatchObject({ pool_hit: true })
    view = await browsers()
    a = view.browsers.find((b) => b.id === a.id)!
    expect(a).toMatchObject({ hits: 3, pages_served: 3, type: 'hot' })
    // reuse_rate_percent is the true share of leases served by a running browser.
    const leases = s.eventsOf('lease:acquired')
    const hitShare = (100 * leases.filter((l) => l.pool_hit).length) / leases.length
    expect(view.summary.reuse_rate_percent).toBeCloseTo(hitShare, 1)
    expect(view.summary.reuse_rate_percent).toBeLessThan(100)
    expect(view.summary.total_count).toBe(view.browsers.length)

    // Killed, it is gone and so is its memory.
    const totalBeforeKill = view.summary.total_memory_mb
    const kill = await s.postJson('/monitor/actions/kill_browser', { sig: sigA })
    expect(kill.status, JSON.stringify(kill.body)).toBe(200)
    expect(kill.body).toMatchObject({
      success: true,
      killed_sig: sigA.slice(0, 8),
      pool_type: 'hot',
      killed: { id: a.id, full_sig: sigA, sig: sigA.slice(0, 12), type: 'hot', forced: false, failed_crawls: 0 },
    })
    view = await browsers()
    expect(byId(view.browsers, a.id)).toBeUndefined()
    expect(view.summary.total_memory_mb).toBeLessThan(totalBeforeKill)
    expect((await getOk('/monitor/health')).pool.hot.count).toBe(0)
  })

  it('tracks every crawl endpoint with true success, counts, error rates and latencies', async () => {
    const mark = s.log.length
    // endpoint -> [count, errors] made here
    const made: Record<string, [number, number]> = {}
    const tally = (endpoint: string, ok: boolean) => {
      const t = (made[endpoint] ??= [0, 0])
      t[0]++
      if (!ok) t[1]++
    }

    expect((await s.postJson('/md', { url: fx.url('/') })).status).toBe(200)
    tally('/md', true)
    expect((await s.postJson('/html', { url: fx.url('/about') })).status).toBe(200)
    tally('/html', true)
    expect((await s.postJson('/screenshot', { url: fx.url('/') })).status).toBe(200)
    tally('/screenshot', true)
    expect((await s.postJson('/pdf', { url: fx.url('/about') })).status).toBe(200)
    tally('/pdf', true)
    const crawl = await s.postJson('/crawl', { urls: [fx.url('/')] })
    expect(crawl.status).toBe(200)
    expect(crawl.body.success).toBe(true)
    tally('/crawl', true)
    const stream = await s.post('/crawl/stream', { urls: [fx.url('/'), fx.url('/about')] })
    expect(stream.status).toBe(200)
    const lines = (await stream.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines.at(-1)).toEqual({ status: 'completed' })
    tally('/crawl/stream', true)

    // Failures: a 404 page through /md and /html (two URLs, one error shape), and a /crawl
    // whose only URL fails (HTTP 200 with success false: the request did not succeed).
    const md404 = await s.postJson('/md', { url: fx.url('/status/404') })
    expect(md404.status).toBe(502)
    tally('/md', false)
    const html404 = await s.postJson('/html', { url: fx.url('/no-such-page') })
    expect(html404.status).toBe(502)
    tally('/html', false)
    const crawlFail = await s.postJson('/crawl', { urls: [fx.url('/status/410')] })
    expect(crawlFail.status).toBe(200)
    expect(crawlFail.body.success).toBe(false)
    tally('/crawl', false)

    // --- /monitor/requests: success is true only when the crawl really succeeded
    const mdOk = await completedFor(mark, '/md', fx.url('/'))
    expect(mdOk).toMatchObject({
      success: true,
      status: 'success',
      status_code: 200,
      error: null,
      aborted: false,
      pool_hit: true,
      config_sig: sigOf({}),
      browser_sig: sigOf({}),
    })
    const mdFail = await completedFor(mark, '/md', fx.url('/status/404'))
    expect(mdFail).toMatchObject({ success: false, status: 'error', status_code: 502, aborted: false })
    expect(mdFail.error).toContain('404')
    const crawlFailRecord = await completedFor(mark, '/crawl', fx.url('/status/410'))
    expect(crawlFailRecord).toMatchObject({ success: false, status: 'error' })
    expect(crawlFailRecord.error).toContain('410')
    const streamRecord = await completedFor(mark, '/crawl/stream', fx.url('/'))
    expect(streamRecord).toMatchObject({ success: true, status: 'success', urls: 2 })

    // Filters: success / error split the completed list; active lists no completed ones.
    const all = await getOk('/monitor/requests?status=all&limit=1000')
    expectShape(RequestsShape, all, '/monitor/requests')
    const succ = (await getOk('/monitor/requests?status=success&limit=1000')).completed as any[]
    const errs = (await getOk('/monitor/requests?status=error&limit=1000')).completed as any[]
    expect(succ.every((r) => r.success === true && r.status === 'success')).toBe(true)
    expect(errs.every((r) => r.success === false && r.status === 'error')).toBe(true)
    expect(succ.length + errs.length).toBe(all.completed.length)
    expect(errs.map((r) => r.id)).toEqual(expect.arrayContaining([mdFail.id, crawlFailRecord.id]))
    expect((await getOk('/monitor/requests?status=active')).completed).toEqual([])
    expect((await getOk('/monitor/requests?status=completed')).active).toEqual([])
    // Oldest first (Crawl4AI's order), and limit keeps the newest.
    const ends = (all.completed as any[]).map((r) => r.end_time)
    expect([...ends].sort((a, b) => a - b)).toEqual(ends)
    const one = await getOk('/monitor/requests?status=completed&limit=1')
    expect(one.completed).toHaveLength(1)
    expect(one.completed[0].id).toBe(all.completed.at(-1).id)
    // Errors and 4xx/5xx answers never stay in the active set.
    expect(all.active).toEqual([])

    // --- /monitor/endpoints/stats: every crawl endpoint; each figure recomputed from the
    // completed records of this service (fewer than the 100 kept, so they are all of them).
    const records = (await getOk('/monitor/requests?status=completed&limit=1000')).completed as any[]
    expect(records.length).toBeLessThan(100)
    const stats = expectShape(EndpointStatsShape, await getOk('/monitor/endpoints/stats'), '/monitor/endpoints/stats')
    for (const endpoint of CRAWL_ENDPOINTS) {
      const st = stats[endpoint]
      expect(st, `stats of ${endpoint}`).toBeDefined()
      const mine = records.filter((r) => r.endpoint === endpoint)
      expect(mine.length, endpoint).toBeGreaterThanOrEqual(made[endpoint]![0])
      const count = mine.length
      const errors = mine.filter((r) => !r.success).length
      expect(errors, endpoint).toBeGreaterThanOrEqual(made[endpoint]![1])
      const known = mine.filter((r) => r.pool_hit !== null)
      const hits = known.filter((r) => r.pool_hit === true).length
      const ms = mine.map((r) => r.elapsed * 1000).sort((x, y) => x - y)
      const exact = (p: number) => ms[Math.max(1, Math.ceil(p * ms.length)) - 1]!
      expect(st!.count, endpoint).toBe(count)
      expect(st!.errors, endpoint).toBe(errors)
      expect(st!.success_rate_percent, endpoint).toBeCloseTo((100 * (count - errors)) / count, 1)
      expect(st!.pool_hit_rate_percent, endpoint).toBeCloseTo(known.length === 0 ? 0 : (100 * hits) / known.length, 1)
      expect(st!.avg_latency_ms, endpoint).toBeCloseTo(ms.reduce((x, y) => x + y, 0) / count, 0)
      // Percentiles come from ~4 %-wide buckets: never below the true value, at most a bucket above.
      for (const [p, reported] of [
        [0.5, st!.p50_latency_ms],
        [0.95, st!.p95_latency_ms],
      ] as const) {
        expect(reported, `${endpoint} p${p * 100}`).toBeGreaterThanOrEqual(exact(p) - 0.01)
        expect(reported, `${endpoint} p${p * 100}`).toBeLessThanOrEqual(exact(p) * 1.04 + 0.01)
      }
      expect(st!.p50_latency_ms, endpoint).toBeGreaterThan(0)
      expect(st!.p50_latency_ms, endpoint).toBeLessThanOrEqual(st!.p95_latency_ms)
    }
    // Everything here was served by the already-running permanent browser.
    for (const endpoint of ['/html', '/screenshot', '/pdf', '/crawl', '/crawl/stream']) expect(stats[endpoint]!.pool_hit_rate_percent, endpoint).toBe(100)
    expect(stats['/md']!.success_rate_percent).toBeLessThan(100)
    // Not crawl endpoints: the monitor's own routes are not counted.
    expect(Object.keys(stats).filter((k) => k.startsWith('/monitor'))).toEqual([])

    // --- the errors log: the 404 is there, without a stack, tied to its request
    const errorsView = expectShape(ErrorsShape, await getOk('/monitor/logs/errors?limit=100'), '/monitor/logs/errors')
    const entry = errorsView.errors.find((x) => x.request_id === mdFail.id)
    expect(entry, 'error entry of the /md 404').toBeDefined()
    expect(entry).toMatchObject({ endpoint: '/md', url: fx.url('/status/404'), stack: null, status_code: 502, error: mdFail.error })
    const htmlFail = await completedFor(mark, '/html', fx.url('/no-such-page'))
    const entry2 = errorsView.errors.find((x) => x.request_id === htmlFail.id)
    expect(entry2?.stack).toBeNull()
    // Two 404s on different URLs (and endpoints) are one group of count 2.
    const group = errorsView.groups.find((g) => g.example === entry2!.error || g.example === entry!.error)
    expect(group, `a group for ${entry!.error}`).toBeDefined()
    expect(group!.count).toBe(2)
    expect(group!.endpoints.sort()).toEqual(['/html', '/md'])
    expect(group!.first_seen).toBeLessThanOrEqual(group!.last_seen)
    expect(errorsView.groups.filter((g) => g.example === entry!.error || g.example === entry2!.error)).toHaveLength(1)
    // ?limit= bounds the list.
    expect((await getOk('/monitor/logs/errors?limit=1')).errors).toHaveLength(1)
  })

  it("mem_delta: the serving browser's private-memory change for a request alone on it; null when another request shared the browser", async () => {
    const scansFrom = async (n: number) => {
      const start = s.runtime.monitor.memoryScans
      await waitFor(() => s.runtime.monitor.memoryScans >= start + n, 20_000, `${n} memory scans`)
    }
    // The once-a-second scan reads the stat files of the browsers' processes and of processes new
    // since the last scan, not of every process on the host (a full scan comes now and then: of
    // two scans in a row, at most one).
    const reads: number[] = []
    for (let i = 0; i < 2; i++) {
      await scansFrom(1)
      reads.push(s.runtime.monitor.lastScanStatReads)
    }
    expect(Math.min(...reads), `stat files read per scan: ${reads.join(', ')}`).toBeLessThan((await listProcesses()).length)
    // At least the permanent browser's own processes.
    expect(Math.min(...reads)).toBeGreaterThan(1)
    // Alone: nothing else used the permanent browser since the scan taken as "before" began.
    await scansFrom(2)
    const mark = s.log.length
    expect((await md('/')).status).toBe(200)
    const alone = await completedFor(mark, '/md', fx.url('/'))
    // Measured in the background after the answer: null until the next scan settles it.
    await waitFor(async () => typeof (await completed()).find((r) => r.id === alone.id)?.mem_delta === 'number', 20_000, 'mem_delta of a lone crawl')
    // A small page: its renderer's own memory, not the 100-200 MB of mapped binary a renderer
    // coming or going adds to an RSS sum.
    const delta = (await completed()).find((r) => r.id === alone.id)?.mem_delta as number
    expect(Math.abs(delta), `mem_delta ${delta} MB for a small page`).toBeLessThan(80)

    // Shared: a crawl held on the permanent browser while another one runs on it.
    await scansFrom(2)
    const mark2 = s.log.length
    const g = gate('mem-delta-shared')
    const held = md('/gate/mem-delta-shared')
    await within(g.reached, 30_000, 'gate mem-delta-shared reached')
    expect((await md('/about')).status).toBe(200)
    g.release()
    expect((await held).status).toBe(200)
    const a = await completedFor(mark2, '/md', fx.url('/gate/mem-delta-shared'))
    const b = await completedFor(mark2, '/md', fx.url('/about'))
    expect(a.browser_sig).toBe(b.browser_sig)
    await scansFrom(2)
    const after = await completed()
    expect(after.find((r) => r.id === a.id)?.mem_delta).toBeNull()
    expect(after.find((r) => r.id === b.id)?.mem_delta).toBeNull()
  })

  it('the janitor closes an idle cold browser (close_cold) when a pass runs with idle_ttl_seconds 0', async () => {
    const cfgB = { viewport_width: 1113 }
    const sigB = sigOf(cfgB)
    shared.bSig = sigB
    expect((await md('/about', cfgB)).status).toBe(200)
    const b = (await browsers()).browsers.find((x: any) => x.full_sig === sigB)
    expect(b).toMatchObject({ type: 'cold', leases: 0 })
    expect(await s.runtime.janitor.runOnce()).toBeGreaterThanOrEqual(1)
    expect(byId((await browsers()).browsers, b.id)).toBeUndefined()
    const events = (await getOk('/monitor/logs/janitor?limit=500')).events as any[]
    const close = events.find((e) => e.type === 'close_cold' && e.details.id === b.id)
    expect(close, 'a close_cold event for B').toBeDefined()
    expect(close).toMatchObject({ sig: sigB.slice(0, 12), details: { full_sig: sigB, reason: 'idle', ttl_seconds: 0, tier: 'cold' } })
    expect(close.details.idle_seconds).toEqual(expect.any(Number))
  })

  it('the active set shows a held crawl navigating with a growing elapsed, and is empty after timeouts, 4xx and client aborts', async () => {
    // --- a crawl held at a gate is active, navigating, and its elapsed grows
    const g = gate('active-held')
    const url = fx.url('/gate/active-held')
    const held = md('/gate/active-held')
    await within(g.reached, 30_000, 'gate active-held reached')
    const first = (await activeSet()).find((r) => r.url === url)
    expect(first, 'the held crawl in the active set').toBeDefined()
    expectShape(ActiveRequestShape, first, 'an active request')
    expect(first).toMatchObject({ endpoint: '/md', status: 'running', phase: 'navigating', config_sig: sigOf({}), urls: 1 })
    await waitFor(async () => (await activeSet()).find((r) => r.url === url)?.elapsed > first.elapsed, 10_000, 'elapsed to grow')
    // The held crawl's context and page are counted on its browser, and are gone once it ends.
    const permanentId = s.runtime.pool.permanent()?.id
    expect(byId((await browsers()).browsers, permanentId as string)).toMatchObject({ open_contexts: 1, open_pages: 1 })
    const filtered = await getOk('/monitor/requests?status=completed')
    expect(filtered.active).toEqual([])
    g.release()
    expect((await held).status).toBe(200)
    expect(await activeSet()).toEqual([])
    await waitFor(async () => byId((await browsers()).browsers, permanentId as string)?.open_contexts === 0, 10_000, 'the context to close')
    expect(byId((await browsers()).browsers, permanentId as string)).toMatchObject({ open_contexts: 0, open_pages: 0 })

    const mark = s.log.length
    // --- a timeout
    const timeout = await md('/hang', undefined, { page_timeout: 500 })
    expect(timeout.status).toBe(504)
    const timeoutRecord = await completedFor(mark, '/md', fx.url('/hang'))
    expect(timeoutRecord).toMatchObject({ success: false, status: 'error', status_code: 504, aborted: false })
    expect(await activeSet()).toEqual([])

    // --- a 4xx raised inside the crawl (bad css_selector): tracked, and it leaves the active set
    const css = await md('/about', undefined, { css_selector: '[[[' })
    expect(css.status).toBe(400)
    expect(await completedFor(mark, '/md', fx.url('/about'))).toMatchObject({ success: false, status_code: 400 })
    expect(await activeSet()).toEqual([])

    // --- 400s refused before the service runs are not crawls: never tracked, never active
    const bad = await s.postJson('/md', { url: 'file:///etc/passwd' })
    expect(bad.status).toBe(400)
    const tooLong = await md('/', undefined, { page_timeout: 600_000 })
    expect(tooLong.status).toBe(400)
    const started = s.log
      .slice(mark)
      .filter((e) => e.name === 'request:started')
      .map((e) => (e.payload as any).url)
    expect(started).not.toContain('file:///etc/passwd')
    expect(started).not.toContain(fx.url('/'))
    expect(await activeSet()).toEqual([])

    // --- a client that goes away while its page is held
    const ga = gate('active-abort')
    const abortUrl = fx.url('/gate/active-abort')
    const finished = s.nextEvent('request:finished', (p) => p.url === abortUrl, 30_000)
    const controller = new AbortController()
    const pending = md('/gate/active-abort', undefined, undefined, { signal: controller.signal }).catch((err: unknown) => err)
    await within(ga.reached, 30_000, 'gate active-abort reached')
    expect((await activeSet()).map((r) => r.url)).toContain(abortUrl)
    controller.abort()
    await pending
    await finished
    await waitFor(async () => (await activeSet()).length === 0, 10_000, 'the active set to empty after the abort')
    expect(await completedFor(mark, '/md', abortUrl)).toMatchObject({ success: false, status: 'error', aborted: true, status_code: 499 })
  })

  it('kill_browser: bad bodies -> 400, unknown -> 404, ambiguous prefix -> 409 listing matches, permanent -> 403', async () => {
    // Two configs whose signatures share their first 4 hex characters (and no live browser's).
    const live = () => s.runtime.pool.list().map((b) => b.sig)
    const seen = new Map<string, number>()
    let pair: [number, number] | null = null
    for (let w = 2000; w <= 7680 && !pair; w++) {
      const p = sigOf({ viewport_width: w }).slice(0, 4)
      if (live().some((x) => x.startsWith(p)) || [shared.aSig, shared.bSig].some((x) => x?.startsWith(p))) continue
      const other = seen.get(p)
      if (other !== undefined) pair = [other, w]
      else seen.set(p, w)
    }
    expect(pair, 'two viewport widths whose signatures share 4 hex chars').not.toBeNull()
    const [w1, w2] = pair!
    const c1 = { cfg: { viewport_width: w1 }, sig: sigOf({ viewport_width: w1 }) }
    const c2 = { cfg: { viewport_width: w2 }, sig: sigOf({ viewport_width: w2 }) }
    const prefix = c1.sig.slice(0, 4)
    expect(c2.sig.startsWith(prefix)).toBe(true)
    Object.assign(shared, { c1, c2, prefix })
    const [r1, r2] = await Promise.all([md('/about', c1.cfg), md('/about', c2.cfg)])
    expect(r1.status).toBe(200)
    expect(r2.status).toBe(200)
    const view = await browsers()
    expect(view.browsers.filter((b: any) => b.full_sig === c1.sig || b.full_sig === c2.sig)).toHaveLength(2)

    const kill = (body: unknown) => s.postJson('/monitor/actions/kill_browser', body)
    // Bad bodies.
    for (const [body, mention] of [
      [{}, /sig: .*expected string/],
      [{ sig: '../../etc/passwd' }, /hex signature/],
      [{ sig: 'zz' }, /sig needs at least 4 characters/],
      [{ sig: 'zzzzzz' }, /hex signature/],
      [{ sig: c1.sig, extra: true }, /Unrecognized key: "extra"/],
      [{ sig: c1.sig, force: 'yes' }, /force: .*expected boolean/],
      [{ sig: 'a'.repeat(65) }, /at most 64/],
    ] as Array<[unknown, RegExp]>) {
      const r = await kill(body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      expect(r.body.code).toBe('invalid_input')
      expect(r.body.error, JSON.stringify(body)).toMatch(mention)
    }
    expect((await s.post('/monitor/actions/kill_browser', 'not json')).status).toBe(400)
    // Unknown: a full signature no browser has.
    let unknown = ''
    for (let w = 100; ; w++) {
      unknown = sigOf({ viewport_width: w, viewport_height: 101 })
      if (!live().some((x) => x.startsWith(unknown.slice(0, 4)))) break
    }
    const r404 = await kill({ sig: unknown })
    expect(r404.status).toBe(404)
    expect(r404.body.code).toBe('not_found')
    expect((await kill({ sig: unknown.slice(0, 6) })).status).toBe(404)
    // Ambiguous prefix: 409 and both matches listed; nothing killed.
    const amb = await kill({ sig: prefix })
    expect(amb.status).toBe(409)
    expect(amb.body.error).toMatch(/ambiguous/)
    expect((amb.body.details.matches as any[]).map((m) => m.full_sig).sort()).toEqual([c1.sig, c2.sig].sort())
    expect((await browsers()).browsers.filter((b: any) => b.full_sig === c1.sig || b.full_sig === c2.sig)).toHaveLength(2)
    // The permanent browser: 403, by full signature and by prefix.
    const perm = await kill({ sig: sigOf({}) })
    expect(perm.status).toBe(403)
    expect(perm.body.error).toMatch(/permanent/)
    expect((await kill({ sig: sigOf({}).slice(0, 8) })).status).toBe(403)
    const permView = (await browsers()).browsers.find((b: any) => b.type === 'permanent')
    expect(permView).toMatchObject({ killable: false, not_killable_reason: expect.stringMatching(/permanent/) })
  })

  it('busy browsers: kill without force -> 409 with the lease count; cleanup spares it; a forced kill fails its crawl with 502', async () => {
    const { c1, c2 } = shared
    expect(c1 && c2, 'C1 and C2 from the previous test').toBeTruthy()
    const g = gate('busy-c1')
    const heldUrl = fx.url('/gate/busy-c1')
    const mark = s.log.length
    const held = md('/gate/busy-c1', c1!.cfg)
    await within(g.reached, 30_000, 'gate busy-c1 reached')
    const b1 = (await browsers()).browsers.find((b: any) => b.full_sig === c1!.sig)
    const b2 = (await browsers()).browsers.find((b: any) => b.full_sig === c2!.sig)
    expect(b1).toMatchObject({ leases: 1, killable: false, not_killable_reason: expect.stringMatching(/busy/) })
    expect(b2).toMatchObject({ leases: 0, killable: true })

    const busy = await s.postJson('/monitor/actions/kill_browser', { sig: c1!.sig.slice(0, 10) })
    expect(busy.status).toBe(409)
    expect(busy.body.error).toMatch(/serving 1 crawl/)
    expect(busy.body.error).toMatch(/force/)
    expect(busy.body.details).toMatchObject({ leases: 1 })
    expect(byId((await browsers()).browsers, b1.id)).toBeDefined()

    // Cleanup: closes the idle cold one, spares the busy one, and says so.
    const cleanup = await s.postJson('/monitor/actions/cleanup', {})
    expect(cleanup.status, JSON.stringify(cleanup.body)).toBe(200)
    expect(cleanup.body.success).toBe(true)
    expect(cleanup.body.closed).toEqual([{ sig: c2!.sig.slice(0, 12), id: b2.id, idle_seconds: expect.any(Number) }])
    expect(cleanup.body.spared_busy).toEqual([{ sig: c1!.sig.slice(0, 12), id: b1.id, leases: 1 }])
    let view = await browsers()
    expect(byId(view.browsers, b2.id)).toBeUndefined()
    expect(byId(view.browsers, b1.id)).toMatchObject({ leases: 1 })
    expect((await s.postJson('/monitor/actions/cleanup', { all: true })).status).toBe(400)

    // Forced: the held crawl fails cleanly, saying why.
    const forced = await s.postJson('/monitor/actions/kill_browser', { sig: c1!.sig, force: true })
    expect(forced.status, JSON.stringify(forced.body)).toBe(200)
    expect(forced.body.killed).toMatchObject({ id: b1.id, forced: true, failed_crawls: 1, type: 'cold' })
    const answer = (await within(held, 30_000, 'the held crawl to answer')) as { status: number; body: any }
    expect(answer.status).toBe(502)
    expect(answer.body.code).toBe('browser_killed')
    expect(answer.body.error).toMatch(/was killed/)
    const record = await completedFor(mark, '/md', heldUrl)
    expect(record).toMatchObject({ success: false, status: 'error', status_code: 502, aborted: false })
    expect(record.error).toMatch(/was killed/)
    view = await browsers()
    expect(byId(view.browsers, b1.id)).toBeUndefined()
    expect(await activeSet()).toEqual([])
  })

  it('restart_browser permanent: answers while a crawl is held on it, the new browser serves at once, the old one closes when released', async () => {
    const bad = await s.postJson('/monitor/actions/restart_browser', { sig: 'perm' })
    expect(bad.status).toBe(400)
    expect((await s.postJson('/monitor/actions/restart_browser', {})).status).toBe(400)
    expect((await s.postJson('/monitor/actions/restart_browser', { sig: 'permanent', force: true })).status).toBe(400)
    expect((await s.postJson('/monitor/actions/restart_browser', { sig: 'abcdef0123' })).status).toBe(404)

    const old = (await browsers()).browsers.find((b: any) => b.type === 'permanent' && b.state === 'active')
    const g = gate('restart-held')
    const held = md('/gate/restart-held')
    await within(g.reached, 30_000, 'gate restart-held reached')
    expect(byId((await browsers()).browsers, old.id)).toMatchObject({ leases: 1 })

    // The gate stays closed: if restart waited for the held crawl, this would time out.
    const restart = await within(s.postJson('/monitor/actions/restart_browser', { sig: 'permanent' }), 45_000, 'restart_browser to answer')
    expect(restart.status, JSON.stringify(restart.body)).toBe(200)
    const r = restart.body.details
    expect(restart.body).toMatchObject({ success: true, restarted: 'permanent' })
    expect(r).toMatchObject({ type: 'permanent', full_sig: sigOf({}), sig: sigOf({}).slice(0, 12), old_id: old.id, old_leases_draining: 1 })
    expect(r.new_id).not.toBe(old.id)
    shared.restart = { old_id: old.id, new_id: r.new_id }

    let view = await browsers()
    expect(byId(view.browsers, old.id)).toMatchObject({ state: 'retired', leases: 1 })
    expect(byId(view.browsers, r.new_id)).toMatchObject({ type: 'permanent', state: 'active' })

    // A default-config crawl now is served by the new browser, at once (no launch awaited).
    const mark = s.log.length
    const now = await within(md('/about'), 30_000, 'a default crawl during the restart')
    expect(now.status).toBe(200)
    const record = await completedFor(mark, '/md', fx.url('/about'))
    expect(record).toMatchObject({ success: true, pool_hit: true })
    const lease = s.log.slice(mark).find((e) => e.name === 'lease:acquired' && (e.payload as any).request_id === record.id)
    expect((lease?.payload as any)?.id).toBe(r.new_id)
    expect(byId((await browsers()).browsers, r.new_id).hits).toBeGreaterThanOrEqual(1)
    // The old browser is still up, draining its one crawl.
    expect(byId((await browsers()).browsers, old.id)).toMatchObject({ leases: 1 })

    g.release()
    expect((await held).status).toBe(200)
    await waitFor(async () => byId((await browsers()).browsers, old.id) === undefined, 30_000, 'the old permanent browser to leave the pool')
    await waitFor(
      async () => (await getOk('/monitor/logs/janitor?limit=50')).events.some((e: any) => e.details.id === old.id && e.details.reason === 'restarted'),
      30_000,
      'the old permanent browser close to be logged',
    )
    view = await browsers()
    expect(view.browsers.filter((b: any) => b.type === 'permanent')).toHaveLength(1)
    expect((await getOk('/monitor/health')).pool.permanent.active).toBe(true)
  })

  it('two restart_browser permanent at once (a double click) leave exactly one permanent browser', async () => {
    const old = (await browsers()).browsers.find((b: any) => b.type === 'permanent' && b.state === 'active')
    const restart = () => s.postJson('/monitor/actions/restart_browser', { sig: 'permanent' })
    const answers = await within(Promise.all([restart(), restart()]), 60_000, 'two concurrent restarts')
    for (const a of answers) expect([200, 409], JSON.stringify(a.body)).toContain(a.status)
    const ok = answers.filter((a) => a.status === 200)
    expect(ok.length).toBeGreaterThanOrEqual(1)
    for (const a of ok) expect(a.body.details.old_id).toBe(old.id)
    await waitFor(async () => byId((await browsers()).browsers, old.id) === undefined, 30_000, 'the old permanent browser to leave the pool')
    await waitFor(
      async () => (await getOk('/monitor/logs/janitor?limit=50')).events.some((e: any) => e.details.id === old.id && e.details.reason === 'restarted'),
      30_000,
      'the old permanent browser close to be logged',
    )
    const permanents = (await browsers()).browsers.filter((b: any) => b.type === 'permanent')
    expect(
      permanents.map((b: any) => b.id),
      'permanent browsers after two concurrent restarts',
    ).toHaveLength(1)
    expect(ok.map((a) => a.body.details.new_id)).toContain(permanents[0].id)
    expect(s.runtime.pool.list().filter((b) => b.tier === 'permanent')).toHaveLength(1)
  })

  it('the janitor log records launch, promote, close_cold, kill_browser, restart_browser and force_cleanup, newest first when asked', async () => {
    const body = await getOk('/monitor/logs/janitor?limit=500&order=newest')
    const events = expectShape(z.object({ events: z.array(JanitorEventShape) }), body, '/monitor/logs/janitor').events
    const stamps = events.map((e) => e.timestamp)
    expect([...stamps].sort((a, b) => b - a)).toEqual(stamps)
    const of = (type: string, sig?: string) => events.filter((e) => e.type === type && (sig === undefined || e.details.full_sig === sig))
    const { aSig, bSig, c1, c2, restart } = shared
    expect(of('launch', sigOf({}))).toHaveLength(3) // start-up and the two restarts
    expect(of('launch', aSig)).toHaveLength(1)
    expect(of('launch', aSig)[0]!.sig).toBe(aSig!.slice(0, 12))
    expect(of('promote', aSig)).toEqual([expect.objectContaining({ details: expect.objectContaining({ from: 'cold', to: 'hot', uses: 3 }) })])
    expect(of('kill_browser', aSig)).toHaveLength(1)
    expect(of('kill_browser', c1!.sig)).toHaveLength(1)
    expect(of('close_cold', bSig)).toHaveLength(1)
    // Two restarts: the one under load and the double click (which is one restart, not two).
    const restarted = of('restart_browser', sigOf({}))
    expect(restarted).toHaveLength(2)
    expect(restarted.find((e) => e.details.old_id === restart!.old_id)?.details).toMatchObject({ new_id: restart!.new_id, tier: 'permanent' })
    // Each replaced permanent browser closed once its last lease ended, and that is logged too.
    expect(
      of('close', sigOf({}))
        .filter((e) => e.details.reason === 'restarted')
        .map((e) => e.details.id),
    ).toContain(restart!.old_id)
    expect(of('close', sigOf({})).filter((e) => e.details.reason === 'restarted')).toHaveLength(2)
    const cleanup = of('force_cleanup')
    expect(cleanup).toHaveLength(1)
    expect(cleanup[0]!.details).toMatchObject({ closed: [c2!.sig], spared_busy: [c1!.sig] })
    // ?limit= bounds it to the newest, in either order.
    const two = (await getOk('/monitor/logs/janitor?limit=2&order=newest')).events
    expect(two).toEqual(events.slice(0, 2))
    expect((await getOk('/monitor/logs/janitor?limit=2')).events).toEqual(events.slice(0, 2).reverse())
  })

  it('every GET route answers 200 with every documented field', async () => {
    expectShape(HealthShape, await getOk('/monitor/health'), '/monitor/health')
    for (const status of ['all', 'active', 'completed', 'success', 'error'])
      expectShape(RequestsShape, await getOk(`/monitor/requests?status=${status}&limit=1000`), `/monitor/requests?status=${status}`)
    const view = expectShape(BrowsersShape, await browsers(), '/monitor/browsers')
    expect(view.browsers.length).toBeGreaterThanOrEqual(1)
    const stats = expectShape(EndpointStatsShape, await getOk('/monitor/endpoints/stats'), '/monitor/endpoints/stats')
    expect(Object.keys(stats).length).toBeGreaterThan(0)
    // The timeline is sampled every 5 s in the background: wait for a point, then check each metric.
    await waitFor(async () => (await getOk('/monitor/timeline')).timestamps.length > 0, 20_000, 'a timeline point')
    for (const metric of ['memory', 'cpu', 'requests', 'browsers']) {
      const t = expectShape(TimelineShape, await getOk(`/monitor/timeline?metric=${metric}`), `/monitor/timeline?metric=${metric}`)
      expect(t.metric).toBe(metric)
      expect(t.window).toBe('300s') // the default window, 5m
      expect(t.values.length).toBe(t.timestamps.length)
      expect(t.timestamps.length).toBeGreaterThan(0)
      expect([...t.timestamps].sort((a, b) => a - b)).toEqual(t.timestamps)
      for (const v of t.values) {
        if (metric === 'browsers') expect(v).toEqual({ permanent: expect.any(Number), hot: expect.any(Number), cold: expect.any(Number) })
        else expect(typeof v).toBe('number')
      }
      if (metric === 'memory') expect(t.values.every((v) => v === 10)).toBe(true) // the injected reading
      if (metric === 'browsers') expect(t.values.every((v) => (v as { permanent: number }).permanent >= 1)).toBe(true)
    }
    expect((await getOk('/monitor/timeline?window=5m')).window).toBe('300s')
    expect((await getOk('/monitor/timeline?metric=cpu&window=90s')).timestamps.length).toBeLessThanOrEqual(18)
    expectShape(z.object({ events: z.array(JanitorEventShape) }), await getOk('/monitor/logs/janitor'), '/monitor/logs/janitor')
    expectShape(ErrorsShape, await getOk('/monitor/logs/errors'), '/monitor/logs/errors')
  })

  it('POST /monitor/stats/reset zeroes the endpoint stats, says what it cleared, and leaves the janitor and error logs alone', async () => {
    const stats = await getOk('/monitor/endpoints/stats')
    const endpoints = Object.keys(stats)
    expect(endpoints.length).toBeGreaterThan(0)
    const total = Object.values(stats).reduce((n: number, st: any) => n + st.count, 0)
    const janitorBefore = await getOk('/monitor/logs/janitor?limit=500')
    const errorsBefore = await getOk('/monitor/logs/errors?limit=100')
    expect(errorsBefore.errors.length).toBeGreaterThan(0)
    expect((await s.postJson('/monitor/stats/reset', { endpoints: ['/md'] })).status).toBe(400)

    const reset = await s.postJson('/monitor/stats/reset', {})
    expect(reset.status).toBe(200)
    expect(reset.body).toEqual({ success: true, message: 'Endpoint stats reset', cleared: ['endpoint_stats'], endpoints: expect.any(Array), requests: total })
    expect([...reset.body.endpoints].sort()).toEqual([...endpoints].sort())
    expect(await getOk('/monitor/endpoints/stats')).toEqual({})
    expect(await getOk('/monitor/logs/janitor?limit=500')).toEqual(janitorBefore)
    expect(await getOk('/monitor/logs/errors?limit=100')).toEqual(errorsBefore)
    // Counting starts again from zero.
    expect((await md('/about')).status).toBe(200)
    expect((await getOk('/monitor/endpoints/stats'))['/md']).toMatchObject({ count: 1, errors: 0, success_rate_percent: 100 })
  })

  it('answers every GET /monitor/* while the pool is saturated (2 held, 2 queued); a 5th crawl gets 429; then the active set empties', async () => {
    const ga = gate('sat-a')
    const gb = gate('sat-b')
    const mark = s.log.length
    const heldA = md('/gate/sat-a')
    const heldB = md('/gate/sat-b')
    await within(Promise.all([ga.reached, gb.reached]), 30_000, 'both gates reached')
    const queued = [md('/'), md('/article')]
    await waitFor(async () => (await getOk('/monitor/health')).queue.queued === 2, 20_000, 'two queued crawls')
    const health = await getOk('/monitor/health')
    expect(health.queue).toEqual({ active: 2, queued: 2, max_pages: 2, queue_size: 2 })

    // Every monitor read answers while every page slot is taken and the queue is full.
    for (const path of [...GET_ROUTES, '/monitor/requests?status=active', '/monitor/timeline?metric=browsers', '/metrics']) {
      const res = await within(fetch(s.url + path), 10_000, `GET ${path} while saturated`)
      expect(res.status, path).toBe(200)
      await res.text()
    }
    const controller = new AbortController()
    const live = await within(fetch(s.url + '/monitor/stream', { signal: controller.signal }), 10_000, 'GET /monitor/stream while saturated')
    expect(live.status).toBe(200)
    expect(live.headers.get('content-type')).toMatch(/text\/event-stream/)
    controller.abort()
    await live.body?.cancel().catch(() => undefined)

    const active = await activeSet()
    expect(active).toHaveLength(4)
    expect(
      active
        .filter((r) => r.phase === 'navigating')
        .map((r) => r.url)
        .sort(),
    ).toEqual([fx.url('/gate/sat-a'), fx.url('/gate/sat-b')].sort())
    expect(active.filter((r) => r.phase === 'queued')).toHaveLength(2)

    // The 5th is refused at once; a 429 is a finished request too.
    const fifth = await md('/about')
    expect(fifth.status).toBe(429)
    expect(fifth.body.code).toBe('queue_full')
    expect(await completedFor(mark, '/md', fx.url('/about'))).toMatchObject({
      success: false,
      status: 'error',
      status_code: 429,
      pool_hit: null,
      browser_sig: null,
    })
    expect(await activeSet()).toHaveLength(4)

    ga.release()
    gb.release()
    const answers = await within(Promise.all([heldA, heldB, ...queued]), 60_000, 'the held and queued crawls')
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200])
    await waitFor(async () => (await activeSet()).length === 0, 10_000, 'the active set to empty')
    expect(s.runtime.monitor.activeCount()).toBe(0)
  })
})

describe('memory_mb sampling', () => {
  // Renderers exit after every crawl; one that exits between its status and smaps_rollup reads
  // once voided the PSS of the whole tree, so memory_mb jumped to the RSS sum (4-5x). This
  // replays that exit deterministically on a fake /proc.
  it('a helper that exits between its status and smaps_rollup reads does not turn the tree reading into an RSS sum', async () => {
    const proc = await mkdtemp(join(tmpdir(), 'crawldeck-fake-proc-'))
    try {
      const kb = (n: number) => `${n} kB`
      const fakeProcess = async (pid: number, ppid: number, rssKb: number, pssKb: number) => {
        await mkdir(join(proc, String(pid)))
        await writeFile(join(proc, String(pid), 'stat'), `${pid} (chrome) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0`)
        await writeFile(join(proc, String(pid), 'status'), `Name:\tchrome\nVmRSS:\t  ${kb(rssKb)}\nRssAnon:\t  ${kb(rssKb / 4)}\n`)
        await writeFile(join(proc, String(pid), 'smaps_rollup'), `Rss:  ${kb(rssKb)}\nPss:  ${kb(pssKb)}\n`)
      }
      await fakeProcess(100, 1, 300_000, 60_000) // the browser process
      await fakeProcess(101, 100, 200_000, 20_000) // a helper that stays
      await fakeProcess(102, 100, 150_000, 15_000) // a renderer that exits mid-scan
      expect(await processTreeMemory(100, proc)).toEqual({ rss_bytes: 650_000 * 1024, anon_bytes: 162_500 * 1024, pss_bytes: 95_000 * 1024, processes: 3 })

      // Replay the race: 102's status is read, then it exits before its smaps_rollup is read.
      let statusOf102Read = false
      fsHooks.readFileSync = (path, read) => {
        if (path === join(proc, '102', 'status')) {
          const out = read()
          statusOf102Read = true
          return out
        }
        if (path === join(proc, '102', 'smaps_rollup') && statusOf102Read) rmSync(join(proc, '102'), { recursive: true, force: true })
        return read()
      }
      const m = await processTreeMemory(100, proc)
      // The two processes still there have a known PSS; the one that exited holds no memory.
      expect(m.pss_bytes, 'PSS of the tree (null means the reading silently became an RSS sum)').toBe(80_000 * 1024)
    } finally {
      fsHooks.readFileSync = null
      await rm(proc, { recursive: true, force: true })
    }
  })

  // mem_delta once came from the RSS sum of the tree, where every Chromium process counts the
  // ~100 MB of the binary it maps: a renderer exiting inside a request's window showed as -400 MB
  // for a small page. The once-a-second reading (statm) now also gives the private part.
  it('the once-a-second reading gives private memory: resident minus the file-backed and shared pages', async () => {
    const proc = await mkdtemp(join(tmpdir(), 'crawldeck-fake-proc-'))
    try {
      const fakeProcess = async (pid: number, ppid: number, residentPages: number, sharedPages: number) => {
        await mkdir(join(proc, String(pid)))
        await writeFile(join(proc, String(pid), 'stat'), `${pid} (chrome) S ${ppid} ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0`)
        // statm: size resident shared text lib data dt, in 4 KiB pages.
        await writeFile(join(proc, String(pid), 'statm'), `900000 ${residentPages} ${sharedPages} 40000 0 60000 0\n`)
      }
      await fakeProcess(100, 1, 25_000, 21_000) // the browser: ~98 MB resident, 16 MB its own
      await fakeProcess(101, 100, 40_000, 28_000) // a renderer: ~156 MB resident, 47 MB its own
      const trees = await processTreesMemory([100], { procRoot: proc, pss: false })
      expect(trees.get(100)).toMatchObject({ rss_bytes: 65_000 * 4096, anon_bytes: 16_000 * 4096, pss_bytes: null, processes: 2 })
    } finally {
      await rm(proc, { recursive: true, force: true })
    }
  })
})
