import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ManagedBrowser } from '../../src/main/core/pool/managed-browser.js'
import { openFreshPage } from '../../src/main/core/pool/page-reserve.js'
import { configSignature, normaliseBrowserConfig } from '../../src/main/core/pool/signature.js'
import type { MemoryReading } from '../../src/main/core/system/memory.js'
import type { HealthResponse } from '../../src/shared/api-types.js'
import type { MonitorHealth } from '../../src/shared/monitor-types.js'
import type { SettingsAnswer } from '../../src/shared/settings.js'
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { TestScope, waitFor, type TestService } from '../helpers/service.js'

/*
 * Every reader of a live setting acts on the value saved through POST /settings at once, on the
 * real engine with real Chromium and real HTTP: the pool and the page reserve (memory threshold),
 * /health, the janitor and the monitor (idle TTL) and the HTTP door (token lists). Admission reads
 * no live setting (max_pages and queue_size are not Settings), so it has no case here.
 *
 * The reserve is the reader that used to keep a copy: it was handed the threshold as a number when
 * the engine started, and went on making pairs above a threshold lowered since.
 */

const ADMIN = 'live-admin-token-0001'
const ADMIN2 = 'live-admin-token-0002'
const READ = 'live-read-token-00003'
const CRAWL = 'live-crawl-token-0004'

let fx: FixtureServer
const scope = new TestScope(() => fx)
/** Permanent browser with a reserve of one pair: the memory threshold's readers. */
let s: TestService
/** No permanent browser, no reserve: the janitor's and the HTTP door's, apart so no case leans on another's leftovers. */
let t: TestService
const percent = 50
const readMemory = (): MemoryReading => ({ percent, used_bytes: percent * 1e8, limit_bytes: 100 * 1e8, source: 'cgroup2' })
/** Pairs the page reserve has started to make: it calls this synchronously when it decides to make one. */
let pairsStarted = 0

beforeAll(async () => {
  fx = await startFixtureServer()
  const openReservedPage = (browser: ManagedBrowser) => {
    pairsStarted++
    return openFreshPage(browser)
  }
  s = await scope.serve({ prewarm_pages: 1, block_private_targets: false }, { readMemory, openReservedPage })
  t = await scope.serve({ launch_permanent: false, prewarm_pages: 0, block_private_targets: false }, { readMemory })
})

afterAll(async () => {
  await scope.closeAll()
  await fx?.close()
})

const save = (patch: unknown, svc = s) => svc.postJson<SettingsAnswer>('/settings', patch)
const md = (viewport_width?: number, svc = s) => svc.postJson('/md', { url: fx.url('/'), ...(viewport_width ? { browser_config: { viewport_width } } : {}) })
const launchesOf = (width: number) =>
  s.eventsOf('browser:launching').filter((e) => e.sig === configSignature(normaliseBrowserConfig({ viewport_width: width })))
const permanent = () => s.runtime.pool.permanent() as ManagedBrowser
const statusWith = async (path: string, token?: string) => (await fetch(t.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} })).status

describe('live settings: every reader acts on the new value at once', () => {
  it('memory threshold: the pool refuses a launch, the reserve makes no pair above it and makes one below it, /health reports it', async () => {
    await waitFor(() => s.runtime.reserve.readyOn(permanent().id) === 1, 30_000, 'the reserve of the permanent browser to fill')
    const started = pairsStarted

    // 50 % in use, threshold 40 %.
    const lowered = await save({ memory_threshold_percent: 40 })
    expect(lowered.status).toBe(200)
    expect(lowered.body.applied).toEqual(['memory_threshold_percent'])

    // The pool: a config without a browser is refused, and nothing is launched for it.
    const refused = await md(861)
    expect(refused.status).toBe(503)
    expect(refused.body.code).toBe('memory_pressure')
    expect(refused.body.error).toMatch(/40 % threshold/)
    expect(launchesOf(861)).toHaveLength(0)

    // The reserve: a request on the permanent browser takes its ready pair; the replacement would
    // be started right then, and is not, at 50 % over a 40 % threshold.
    const served = s.runtime.reserve.stats().served
    expect((await md()).status).toBe(200)
    expect(s.runtime.reserve.stats().served).toBe(served + 1)
    expect(pairsStarted).toBe(started)
    expect(s.runtime.reserve.readyOn(permanent().id)).toBe(0)

    expect((await s.get<HealthResponse>('/health')).body.memory.threshold_percent).toBe(40)

    // Raised above what is in use: the reserve makes its pair at once, and the pool launches again.
    expect((await save({ memory_threshold_percent: 60 })).body.applied).toEqual(['memory_threshold_percent'])
    await waitFor(() => s.runtime.reserve.readyOn(permanent().id) === 1, 30_000, 'the reserve to make its pair under the raised threshold')
    expect(pairsStarted).toBe(started + 1)
    expect((await md(861)).status).toBe(200)
    expect(launchesOf(861)).toHaveLength(1)
    expect((await s.get<HealthResponse>('/health')).body.memory.threshold_percent).toBe(60)
  })

  it('idle TTL: the janitor closes an idle browser by the new TTL, and the monitor reports it', async () => {
    expect((await md(871, t)).status).toBe(200)
    const [cold] = t.runtime.pool.list()
    expect(cold).toMatchObject({ tier: 'cold', leases: 0 })
    // 300 s: the browser that has just served is not that idle.
    expect(await t.runtime.janitor.runOnce()).toBe(0)
    expect(t.runtime.pool.get(cold!.id)).toBeDefined()

    const res = await save({ idle_ttl_seconds: 0 }, t)
    expect(res.body.applied).toEqual(['idle_ttl_seconds'])
    expect((await t.get<MonitorHealth>('/monitor/health')).body.janitor).toMatchObject({ cold_ttl_seconds: 0, hot_ttl_seconds: 0 })

    const closed = t.nextEvent('browser:closed', (e) => e.id === cold!.id)
    // The janitor's own timer may run this pass first; runOnce then shares it.
    await t.runtime.janitor.runOnce()
    expect(await closed).toMatchObject({ reason: 'idle', ttl_seconds: 0 })
  })

  it("the runtime's config is frozen, and its live keys read what Settings hold now", async () => {
    const { config } = t.runtime
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.chromium_args)).toBe(true)
    expect(() => ((config as { max_pages: number }).max_pages = 1)).toThrow(TypeError)
    expect(() => ((config as { idle_ttl_seconds: number }).idle_ttl_seconds = 1)).toThrow(TypeError)
    expect((await save({ memory_threshold_percent: 88 }, t)).status).toBe(200)
    expect(config.memory_threshold_percent).toBe(88)
    expect(t.runtime.settings.live.memoryThresholdPercent).toBe(88)
  })

  it('tokens: the HTTP door lets a new token in at once and refuses a removed one at once', async () => {
    // Loopback with no token: open.
    expect(await statusWith('/monitor/health')).toBe(200)

    const added = await save({ tokens: { admin: [ADMIN], crawl: [CRAWL], read: [READ] } }, t)
    expect(added.status).toBe(200)
    expect(await statusWith('/monitor/health')).toBe(401)
    for (const token of [ADMIN, CRAWL, READ]) expect(await statusWith('/monitor/health', token)).toBe(200)
    expect(await statusWith('/settings', ADMIN)).toBe(200)
    expect(await statusWith('/settings', READ)).toBe(403)

    // The admin token rotated, the crawl and read tokens removed (sent with the admin token, which
    // the helper takes from the runtime's config: the live list).
    const rotated = await save({ tokens: { admin: [ADMIN2], crawl: [], read: [] } }, t)
    expect(rotated.status).toBe(200)
    for (const token of [ADMIN, CRAWL, READ]) expect(await statusWith('/monitor/health', token)).toBe(401)
    expect(await statusWith('/settings', ADMIN2)).toBe(200)
  })
})
