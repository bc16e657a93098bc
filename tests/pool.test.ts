import { existsSync } from 'node:fs'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { locateChromium } from '../src/main/core/chromium/locate.js'
import { ROOT_UNSANDBOXED_WARNING } from '../src/main/core/chromium/sandbox.js'
import { ConflictError, ForbiddenError } from '../src/main/core/errors.js'
import type { EngineEventName, EngineEvents } from '../src/main/core/events.js'
import type { ManagedBrowser } from '../src/main/core/pool/managed-browser.js'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import type { MemoryReading } from '../src/main/core/system/memory.js'
import { isAlive, processTree, processTreeMemory } from '../src/main/core/system/process-tree.js'
import type { HealthResponse } from '../src/shared/api-types.js'
import type { BrowserConfigInput } from '../src/shared/crawl-schemas.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * The browser pool, end to end: real Chromium processes, real HTTP requests to the service,
 * pages from the local fixture site. Timings are never asserted; everything waits on events,
 * gates of the fixture server or the pool's own state.
 */

let fx: FixtureServer
const scope = new TestScope(() => fx)
const { serve, shutdown, gate } = scope
let hold: LaunchHold

beforeAll(async () => {
  fx = await startFixtureServer()
  hold = await createLaunchHold(locateChromium())
})

afterEach(() => {
  // A failed assertion must not leave a crawl (or a launch) hanging for the next test.
  scope.releaseGates()
})

afterAll(async () => {
  await hold?.releaseAll()
  await scope.closeAll()
  await fx?.close()
  await hold?.cleanup()
})

const sigOf = (cfg: BrowserConfigInput = {}) => configSignature(normaliseBrowserConfig(cfg))
/** A healthy service's problems: none, but as root the unsandboxed browsers are one (tests/sandbox.test.ts). */
const HEALTHY_PROBLEMS = process.getuid?.() === 0 ? [ROOT_UNSANDBOXED_WARNING] : []

function md(s: TestService, path: string, browserConfig?: BrowserConfigInput) {
  return s.postJson('/md', { url: fx.url(path), ...(browserConfig ? { browser_config: browserConfig } : {}) })
}

/** The events of one name emitted since `mark` (an index into the service's log). */
function since<K extends EngineEventName>(s: TestService, mark: number, name: K): Array<EngineEvents[K]> {
  return s.log
    .slice(mark)
    .filter((e) => e.name === name)
    .map((e) => e.payload as EngineEvents[K])
}

function activeFor(s: TestService, sig: string): ManagedBrowser | undefined {
  return s.runtime.pool.list().find((b) => b.sig === sig && b.state === 'active')
}

/** A memory reading the test controls; the engine reads it through `readMemory`. */
function fakeMemory(percent: number) {
  const m = {
    percent,
    read: (): MemoryReading => ({ percent: m.percent, used_bytes: m.percent * 1e8, limit_bytes: 100 * 1e8, source: 'host' }),
  }
  return m
}

/**
 * A Chromium wrapper that holds a launch until the test releases it. A browser config with
 * extra_args [arg(NAME)] makes the wrapper touch reached-KEY and wait for release-KEY before
 * exec'ing the real binary, so "a launch is in flight" is a state the test controls instead of a
 * race it hopes to win. Requests may only pass switches that change rendering, so arg(NAME) is
 * --font-render-hinting with a value of its own (KEY; /md does not care how glyphs are hinted):
 * four values, so at most four such holds per file.
 * `arm(NAME)` holds the next launch of any config (for browsers whose config the test does not
 * choose, like the permanent browser's replacement); its KEY is NAME.
 */
interface LaunchHold {
  path: string
  arg(name: string): string
  arm(name: string): Promise<void>
  reached(name: string): Promise<void>
  release(name: string): Promise<void>
  releaseAll(): Promise<void>
  cleanup(): Promise<void>
}

const HINTING = ['none', 'slight', 'medium', 'full'] as const

async function createLaunchHold(chromium: string): Promise<LaunchHold> {
  const dir = await mkdtemp(join(tmpdir(), 'crawldeck-hold-'))
  const script = join(dir, 'chromium-hold.sh')
  // NAME -> KEY of the files the wrapper touches and waits for.
  const keys = new Map<string, string>()
  const key = (name: string) => keys.get(name) ?? name
  await writeFile(
    script,
    `#!/bin/sh
hold() {
  : > "${dir}/reached-$1"
  while [ ! -e "${dir}/release-$1" ]; do sleep 0.05; done
}
# mv is atomic: exactly one launch claims an armed hold.
if mv "${dir}/arm" "${dir}/armed-$$" 2>/dev/null; then hold "$(cat "${dir}/armed-$$")"; fi
for arg in "$@"; do
  case "$arg" in
    --font-render-hinting=*) hold "\${arg#--font-render-hinting=}" ;;
  esac
done
exec "${chromium}" "$@"
`,
    { mode: 0o755 },
  )
  const release = async (name: string) => writeFile(join(dir, `release-${key(name)}`), '')
  return {
    path: script,
    arg: (name) => {
      if (!keys.has(name)) {
        const free = HINTING.filter((v) => ![...keys.values()].includes(v))
        if (free[0] === undefined) throw new Error('no --font-render-hinting value left for another launch hold')
        keys.set(name, free[0])
      }
      return `--font-render-hinting=${key(name)}`
    },
    arm: async (name) => {
      keys.set(name, name)
      await writeFile(join(dir, 'arm.tmp'), name)
      await rename(join(dir, 'arm.tmp'), join(dir, 'arm'))
    },
    reached: (name) => waitFor(() => existsSync(join(dir, `reached-${key(name)}`)), 30_000, `launch ${name} to reach the hold`),
    release,
    releaseAll: async () => {
      await Promise.all([...keys.keys()].map(release))
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

describe('pool (default tiers, one shared service)', () => {
  let s: TestService
  const mem = fakeMemory(10)

  beforeAll(async () => {
    s = await serve({ max_pages: 10, adaptive_admission: false, idle_ttl_seconds: 3600, chromium: hold.path }, { readMemory: mem.read })
    // The background loop is scheduled at start-up...
    expect(s.runtime.janitor.nextCleanupInSeconds()).toEqual(expect.any(Number))
    // ...but here the tests run every pass themselves (runOnce), so a pass never lands mid-test.
    s.runtime.janitor.stop()
  })

  afterEach(() => {
    mem.percent = 10
  })

  it('launches the permanent browser at start-up and serves default-config crawls with it', async () => {
    const pool = s.runtime.pool
    const all = pool.list()
    expect(all).toHaveLength(1)
    const permanent = all[0] as ManagedBrowser
    expect(permanent.tier).toBe('permanent')
    expect(permanent.sig).toBe(pool.defaultSig)
    expect(permanent.sig).toBe(sigOf({}))
    expect(pool.permanent()).toBe(permanent)
    expect(permanent.pid).toEqual(expect.any(Number))
    expect(isAlive(permanent.pid as number)).toBe(true)

    const mark = s.log.length
    for (let i = 0; i < 2; i++) {
      const r = await md(s, '/')
      expect(r.status).toBe(200)
      expect(r.body.markdown).toContain(FIXTURE_TEXT.homeUnique)
    }
    // Spelled-out defaults are the same browser as no browser_config at all.
    expect((await md(s, '/about', { viewport_width: 1280, headless: true, extra_args: [] })).status).toBe(200)

    const leases = since(s, mark, 'lease:acquired')
    expect(leases).toHaveLength(3)
    for (const l of leases) expect(l).toMatchObject({ id: permanent.id, pool_hit: true })
    for (const f of since(s, mark, 'request:finished')) expect(f).toMatchObject({ success: true, pool_hit: true, browser_sig: pool.defaultSig })
    expect(since(s, mark, 'browser:launching')).toHaveLength(0)
    expect(pool.list()).toEqual([permanent])
    expect(permanent.leases).toBe(0)
    expect(permanent.pagesServed).toBeGreaterThanOrEqual(3)
  })

  it('reads each browser memory from its real process tree', async () => {
    const permanent = s.runtime.pool.permanent() as ManagedBrowser
    const tree = await processTree(permanent.pid as number)
    expect(tree[0]).toBe(permanent.pid)
    expect(tree.length).toBeGreaterThan(1) // Chromium always forks helpers (zygote, utility, renderer...)
    const m = await processTreeMemory(permanent.pid as number)
    expect(m.rss_bytes).toBeGreaterThan(0)
    // Chromium starts and reaps helpers on its own, so the count may differ between two scans.
    expect(m.processes).toBeGreaterThan(1)
    if (m.pss_bytes !== null) expect(m.pss_bytes).toBeGreaterThan(0)
  })

  it('promotes a cold browser to hot on its third use; only the first use misses the pool', async () => {
    const cfg = { viewport_width: 813 }
    const sig = sigOf(cfg)
    const mark = s.log.length
    const r1 = await md(s, '/', cfg)
    expect(r1.status).toBe(200)
    const b = activeFor(s, sig) as ManagedBrowser
    expect(b).toBeDefined()
    expect(b.tier).toBe('cold')
    expect(since(s, mark, 'browser:launched')).toEqual([expect.objectContaining({ id: b.id, sig, tier: 'cold' })])
    // A cold browser's memory is real too.
    expect((await processTreeMemory(b.pid as number)).rss_bytes).toBeGreaterThan(0)

    expect((await md(s, '/about', cfg)).status).toBe(200)
    expect(b.tier).toBe('cold')
    expect(since(s, mark, 'browser:promoted')).toHaveLength(0)

    expect((await md(s, '/', cfg)).status).toBe(200)
    expect(b.tier).toBe('hot')
    expect(since(s, mark, 'browser:promoted')).toEqual([{ id: b.id, sig, from: 'cold', to: 'hot', uses: 3 }])

    const leases = since(s, mark, 'lease:acquired').filter((l) => l.sig === sig)
    expect(leases.map((l) => l.pool_hit)).toEqual([false, true, true])
    expect(leases.every((l) => l.id === b.id)).toBe(true)
    const finished = since(s, mark, 'request:finished').filter((f) => f.config_sig === sig)
    expect(finished.map((f) => f.pool_hit)).toEqual([false, true, true])
    // One launch for three uses.
    expect(since(s, mark, 'browser:launching').filter((e) => e.sig === sig)).toHaveLength(1)
  })

  it('single-flight: 10 simultaneous requests for a new config share one launch', async () => {
    const cfg = { viewport_width: 812, extra_args: [hold.arg('single-flight')] }
    const sig = sigOf(cfg)
    const mark = s.log.length
    const requests = Array.from({ length: 10 }, () => md(s, '/about', cfg))
    // The launch is held: every one of the ten is now waiting for a browser at the same time.
    await hold.reached('single-flight')
    expect(s.runtime.pool.isLaunching(sig)).toBe(true)
    await waitFor(
      () => {
        const ids = new Set(
          since(s, mark, 'request:started')
            .filter((e) => e.config_sig === sig)
            .map((e) => e.id),
        )
        return since(s, mark, 'request:phase').filter((p) => p.phase === 'acquiring' && ids.has(p.id)).length === 10
      },
      30_000,
      'all 10 requests to wait for a browser',
    )
    expect(since(s, mark, 'browser:launching').filter((e) => e.sig === sig)).toHaveLength(1)
    await hold.release('single-flight')

    const responses = await Promise.all(requests)
    for (const r of responses) expect(r.status).toBe(200)
    expect(since(s, mark, 'browser:launching').filter((e) => e.sig === sig)).toHaveLength(1)
    const launched = since(s, mark, 'browser:launched').filter((e) => e.sig === sig)
    expect(launched).toHaveLength(1)
    const leases = since(s, mark, 'lease:acquired').filter((l) => l.sig === sig)
    expect(leases).toHaveLength(10)
    expect(new Set(leases.map((l) => l.id))).toEqual(new Set([launched[0]?.id]))
    // All ten waited on the launch: none was served by an already-running browser.
    expect(leases.every((l) => l.pool_hit === false)).toBe(true)
    expect(s.runtime.pool.list().filter((b) => b.sig === sig)).toHaveLength(1)
  })

  it('holds no lock across a launch: while config A is launching, default and other new configs are served', async () => {
    const cfgA = { viewport_width: 811, extra_args: [hold.arg('slow-a')] }
    const sigA = sigOf(cfgA)
    const cfgB = { viewport_width: 810 }
    const sigB = sigOf(cfgB)
    const mark = s.log.length
    const reqA = md(s, '/', cfgA)
    await hold.reached('slow-a')
    expect(s.runtime.pool.isLaunching(sigA)).toBe(true)

    // Launch A is provably in flight (its Chromium has not even been exec'd yet).
    const viaDefault = await md(s, '/')
    expect(viaDefault.status).toBe(200)
    expect(s.runtime.pool.isLaunching(sigA)).toBe(true)
    // A second new config launches and is served in full while A is still held.
    const viaB = await md(s, '/', cfgB)
    expect(viaB.status).toBe(200)
    expect(since(s, mark, 'browser:launched').filter((e) => e.sig === sigB)).toHaveLength(1)
    expect(s.runtime.pool.isLaunching(sigA)).toBe(true)
    expect(since(s, mark, 'browser:launched').filter((e) => e.sig === sigA)).toHaveLength(0)
    const defaultFinished = since(s, mark, 'request:finished').filter((f) => f.config_sig === s.runtime.pool.defaultSig)
    expect(defaultFinished).toHaveLength(1)
    expect(defaultFinished[0]?.success).toBe(true)

    await hold.release('slow-a')
    const viaA = await reqA
    expect(viaA.status).toBe(200)
    expect(since(s, mark, 'browser:launched').filter((e) => e.sig === sigA)).toHaveLength(1)
    // Order of events: the default request and B both finished before A's browser existed.
    const order = s.log.slice(mark).map((e) => e.name === 'browser:launched' && (e.payload as EngineEvents['browser:launched']).sig === sigA)
    const launchedAAt = order.indexOf(true)
    const finishedIdx = s.log
      .slice(mark)
      .map((e, i) => (e.name === 'request:finished' && (e.payload as EngineEvents['request:finished']).config_sig !== sigA ? i : -1))
      .filter((i) => i >= 0)
    expect(finishedIdx).toHaveLength(2)
    for (const i of finishedIdx) expect(i).toBeLessThan(launchedAAt)
  })

  it('janitor: cold and hot browsers have their own TTLs, and the TTLs follow memory pressure', async () => {
    const pool = s.runtime.pool
    const janitor = s.runtime.janitor
    const coldCfg = { viewport_width: 815 }
    const hotCfg = { viewport_width: 816 }
    expect((await md(s, '/', coldCfg)).status).toBe(200)
    for (let i = 0; i < 3; i++) expect((await md(s, '/', hotCfg)).status).toBe(200)
    const cold = activeFor(s, sigOf(coldCfg)) as ManagedBrowser
    const hot = activeFor(s, sigOf(hotCfg)) as ManagedBrowser
    expect(cold.tier).toBe('cold')
    expect(hot.tier).toBe('hot')
    const permanent = pool.permanent() as ManagedBrowser

    // LOW pressure, idle_ttl 3600: nothing has been idle that long.
    expect(janitor.currentPolicy()).toEqual({ pressure: 'LOW', interval_seconds: 60, cold_ttl_seconds: 3600, hot_ttl_seconds: 7200 })
    expect(await janitor.runOnce()).toBe(0)
    expect(pool.list()).toEqual(expect.arrayContaining([cold, hot, permanent]))

    // An hour and a bit of idleness (lastUsedAt is the janitor's clock): past the cold TTL,
    // not past the hot one (2 x idle_ttl). The permanent browser is never a candidate.
    const mark = s.log.length
    const anHourAgo = Date.now() - 3601_000
    cold.lastUsedAt = anHourAgo
    hot.lastUsedAt = anHourAgo
    permanent.lastUsedAt = Date.now() - 10 * 3600_000
    expect(await janitor.runOnce()).toBe(1)
    expect(since(s, mark, 'browser:closed')).toEqual([expect.objectContaining({ id: cold.id, tier: 'cold', reason: 'idle', ttl_seconds: 3600 })])
    expect(pool.list()).not.toContain(cold)
    expect(pool.list()).toEqual(expect.arrayContaining([hot, permanent]))
    expect(since(s, mark, 'janitor:run').at(-1)).toMatchObject({ pressure: 'LOW', cold_ttl_seconds: 3600, hot_ttl_seconds: 7200, closed: 1 })

    // HIGH pressure (85 %): 10 s / 30 s / 120 s.
    mem.percent = 85
    expect(janitor.currentPolicy()).toEqual({ pressure: 'HIGH', interval_seconds: 10, cold_ttl_seconds: 30, hot_ttl_seconds: 120 })
    const mark2 = s.log.length
    hot.lastUsedAt = Date.now() - 100_000 // past the cold TTL, within the hot one
    await janitor.runOnce()
    expect(since(s, mark2, 'browser:closed').filter((e) => e.id === hot.id)).toHaveLength(0)
    expect(pool.list()).toContain(hot)
    hot.lastUsedAt = Date.now() - 121_000
    await janitor.runOnce()
    expect(since(s, mark2, 'browser:closed').filter((e) => e.id === hot.id)).toEqual([
      expect.objectContaining({ tier: 'hot', reason: 'idle', ttl_seconds: 120 }),
    ])
    expect(since(s, mark2, 'janitor:run').at(-1)).toMatchObject({ memory_percent: 85, pressure: 'HIGH', interval_seconds: 10 })
    expect(pool.list()).toContain(permanent)

    // MEDIUM pressure (70 %): 30 s / 60 s / 300 s.
    mem.percent = 70
    expect(janitor.currentPolicy()).toEqual({ pressure: 'MEDIUM', interval_seconds: 30, cold_ttl_seconds: 60, hot_ttl_seconds: 300 })
    mem.percent = 10
    expect(janitor.currentPolicy()).toEqual({ pressure: 'LOW', interval_seconds: 60, cold_ttl_seconds: 3600, hot_ttl_seconds: 7200 })
    expect(s.eventsOf('browser:closed').filter((e) => e.tier === 'permanent')).toHaveLength(0)
  })

  it('kill: never the permanent browser, never a busy one unless forced; a forced kill fails its crawl with 502', async () => {
    const pool = s.runtime.pool
    const permanent = pool.permanent() as ManagedBrowser
    const refused = await pool.kill(permanent.id).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ForbiddenError)
    expect(refused).toMatchObject({ status: 403, code: 'forbidden' })
    expect(pool.list()).toContain(permanent)

    const cfg = { viewport_width: 817 }
    const g = gate('kill-busy')
    const held = md(s, '/gate/kill-busy', cfg)
    await g.reached
    const busy = activeFor(s, sigOf(cfg)) as ManagedBrowser
    expect(busy.leases).toBe(1)
    const tree = await processTree(busy.pid as number)
    expect(tree.length).toBeGreaterThan(0)

    const conflict = await pool.kill(busy.id).catch((e: unknown) => e)
    expect(conflict).toBeInstanceOf(ConflictError)
    expect(conflict).toMatchObject({ status: 409, code: 'conflict', details: { leases: 1 } })
    expect((conflict as Error).message).toMatch(/serving 1 crawl/)
    expect((conflict as Error).message).toMatch(/force/)
    expect(pool.list()).toContain(busy)
    expect(busy.state).toBe('active')

    const mark = s.log.length
    await pool.kill(busy.id, { force: true })
    const r = await held
    expect(r.status).toBe(502)
    expect(r.body.code).toBe('browser_killed')
    expect(r.body.error).toMatch(/killed/)
    expect(pool.list()).not.toContain(busy)
    expect(busy.state).toBe('closed')
    expect(since(s, mark, 'browser:closed').filter((e) => e.id === busy.id)).toEqual([expect.objectContaining({ reason: 'killed', leases: 1 })])
    await waitFor(() => tree.every((pid) => !isAlive(pid)), 20_000, 'the killed browser processes to exit')
    // The config still works afterwards: a new browser.
    const again = await md(s, '/', cfg)
    expect(again.status).toBe(200)
    expect(activeFor(s, sigOf(cfg))?.id).not.toBe(busy.id)
  })

  it('closeIdleCold spares a busy cold browser and closes an idle one', async () => {
    const pool = s.runtime.pool
    const idleCfg = { viewport_width: 818 }
    const busyCfg = { viewport_width: 819 }
    expect((await md(s, '/', idleCfg)).status).toBe(200)
    const g = gate('cleanup-busy')
    const held = md(s, '/gate/cleanup-busy', busyCfg)
    await g.reached
    const idle = activeFor(s, sigOf(idleCfg)) as ManagedBrowser
    const busy = activeFor(s, sigOf(busyCfg)) as ManagedBrowser
    expect(idle.leases).toBe(0)
    expect(busy.leases).toBe(1)

    const mark = s.log.length
    const victims = await pool.closeIdleCold()
    expect(victims).toContain(idle)
    expect(victims).not.toContain(busy)
    expect(pool.list()).not.toContain(idle)
    expect(pool.list()).toContain(busy)
    expect(busy.state).toBe('active')
    expect(pool.list().filter((b) => b.tier === 'cold' && b.leases === 0)).toHaveLength(0)
    expect(since(s, mark, 'browser:closed').filter((e) => e.id === idle.id)).toEqual([expect.objectContaining({ reason: 'cleanup' })])
    expect(since(s, mark, 'browser:closed').filter((e) => e.id === busy.id || e.tier === 'permanent')).toHaveLength(0)

    g.release()
    expect((await held).status).toBe(200)
    expect(busy.leases).toBe(0)
  })

  it('restart of the permanent browser does not wait for its held crawl; the old one closes when that crawl ends', async () => {
    const pool = s.runtime.pool
    const old = pool.permanent() as ManagedBrowser
    const g = gate('restart-held')
    const held = md(s, '/gate/restart-held')
    await g.reached
    expect(old.leases).toBe(1)

    const mark = s.log.length
    const { old: returnedOld, fresh } = await pool.restart(old.id)
    // Resolved while the held crawl still holds the old browser.
    expect(old.leases).toBe(1)
    expect(returnedOld).toBe(old)
    expect(fresh.id).not.toBe(old.id)
    expect(fresh.tier).toBe('permanent')
    expect(fresh.sig).toBe(pool.defaultSig)
    expect(old.state).toBe('retired')
    expect(pool.permanent()).toBe(fresh)
    expect(since(s, mark, 'browser:retired')).toEqual([expect.objectContaining({ id: old.id, reason: 'restart' })])

    // The fresh browser serves default-config crawls at once, while the old one is still busy.
    const mark2 = s.log.length
    const r = await md(s, '/')
    expect(r.status).toBe(200)
    expect(since(s, mark2, 'lease:acquired')).toEqual([expect.objectContaining({ id: fresh.id, pool_hit: true })])
    expect(since(s, mark, 'browser:closed').filter((e) => e.id === old.id)).toHaveLength(0)
    expect(pool.list()).toContain(old)
    expect(isAlive(old.pid as number)).toBe(true)

    g.release()
    const heldResult = await held
    expect(heldResult.status).toBe(200)
    await waitFor(() => since(s, mark, 'browser:closed').some((e) => e.id === old.id), 20_000, 'the restarted browser to close')
    expect(since(s, mark, 'browser:closed').filter((e) => e.id === old.id)).toEqual([expect.objectContaining({ reason: 'restarted', tier: 'permanent' })])
    expect(pool.list()).not.toContain(old)
    expect(pool.permanent()).toBe(fresh)
    const health = await s.get<HealthResponse>('/health')
    expect(health.status).toBe(200)
    expect(health.body.status).toBe('ok')
  })
})

describe('pool with promote_after_uses: 2', () => {
  it('promotes on the second use', async () => {
    const s = await serve({ promote_after_uses: 2, launch_permanent: false })
    try {
      const cfg = { viewport_width: 821 }
      const sig = sigOf(cfg)
      expect((await md(s, '/', cfg)).status).toBe(200)
      const b = activeFor(s, sig) as ManagedBrowser
      expect(b.tier).toBe('cold')
      expect(s.eventsOf('browser:promoted')).toHaveLength(0)
      expect((await md(s, '/', cfg)).status).toBe(200)
      expect(b.tier).toBe('hot')
      expect(s.eventsOf('browser:promoted')).toEqual([{ id: b.id, sig, from: 'cold', to: 'hot', uses: 2 }])
      expect(s.eventsOf('lease:acquired').map((l) => l.pool_hit)).toEqual([false, true])
    } finally {
      await shutdown(s)
    }
  })
})

describe('lease safety (idle_ttl_seconds: 0)', () => {
  it('the janitor never closes a browser mid-crawl, closes it once idle, and never closes the permanent browser', async () => {
    const s = await serve({ idle_ttl_seconds: 0 }, { readMemory: fakeMemory(10).read })
    // Only the passes this test runs itself.
    s.runtime.janitor.stop()
    try {
      const janitor = s.runtime.janitor
      const pool = s.runtime.pool
      const permanent = pool.permanent() as ManagedBrowser
      expect(janitor.currentPolicy()).toMatchObject({ pressure: 'LOW', cold_ttl_seconds: 0, hot_ttl_seconds: 0 })

      const cfg = { viewport_width: 814 }
      const g = gate('lease-safety')
      const held = md(s, '/gate/lease-safety', cfg)
      await g.reached
      const b = activeFor(s, sigOf(cfg)) as ManagedBrowser
      expect(b.leases).toBe(1)

      expect(await janitor.runOnce()).toBe(0)
      expect(await janitor.runOnce()).toBe(0)
      expect(pool.list()).toContain(b)
      expect(b.leases).toBe(1)
      expect(b.state).toBe('active')
      expect(s.eventsOf('browser:closed')).toHaveLength(0)

      g.release()
      const r = await held
      expect(r.status).toBe(200)
      expect(r.body.markdown).toContain('Gate lease-safety released')

      expect(await janitor.runOnce()).toBe(1)
      expect(s.eventsOf('browser:closed')).toEqual([expect.objectContaining({ id: b.id, reason: 'idle', ttl_seconds: 0, leases: 0 })])
      expect(pool.list()).toEqual([permanent])
      // The permanent browser is idle and past a TTL of 0, and still never closed.
      expect(await janitor.runOnce()).toBe(0)
      expect(pool.list()).toEqual([permanent])
      expect(permanent.state).toBe('active')
    } finally {
      await shutdown(s)
    }
  })
})

describe('retirement (retire_after_pages: 3)', () => {
  let s: TestService

  beforeAll(async () => {
    s = await serve({ retire_after_pages: 3, chromium: hold.path })
  })

  it('a cold browser retires after 3 pages, takes no new lease, and closes when its last lease ends', async () => {
    const pool = s.runtime.pool
    const cfg = { viewport_width: 820 }
    const sig = sigOf(cfg)
    expect((await md(s, '/', cfg)).status).toBe(200)
    expect((await md(s, '/about', cfg)).status).toBe(200)
    const b = activeFor(s, sig) as ManagedBrowser
    expect(b.pagesServed).toBe(2)
    expect(s.eventsOf('browser:retired')).toHaveLength(0)

    const g = gate('retire-third')
    const held = md(s, '/gate/retire-third', cfg)
    await g.reached
    expect(s.eventsOf('browser:retired')).toEqual([expect.objectContaining({ id: b.id, pages_served: 3, reason: 'pages' })])
    expect(b.state).toBe('retired')
    expect(b.leases).toBe(1)
    expect(pool.list()).toContain(b)

    // The next request does not get the retired browser: a fresh one is launched.
    const mark = s.log.length
    expect((await md(s, '/', cfg)).status).toBe(200)
    const fresh = activeFor(s, sig) as ManagedBrowser
    expect(fresh.id).not.toBe(b.id)
    expect(since(s, mark, 'browser:launched')).toEqual([expect.objectContaining({ id: fresh.id, sig })])
    expect(since(s, mark, 'lease:acquired')).toEqual([expect.objectContaining({ id: fresh.id })])
    expect(s.eventsOf('browser:closed').filter((e) => e.id === b.id)).toHaveLength(0)

    g.release()
    expect((await held).status).toBe(200)
    await waitFor(() => s.eventsOf('browser:closed').some((e) => e.id === b.id), 20_000, 'the retired browser to close')
    expect(s.eventsOf('browser:closed').filter((e) => e.id === b.id)).toEqual([expect.objectContaining({ reason: 'retired' })])
    expect(pool.list()).not.toContain(b)
  })

  it('the permanent browser is replaced at once when it retires, stays up until the replacement is, and health stays ok', async () => {
    const pool = s.runtime.pool
    const runtime = s.runtime
    const old = pool.permanent() as ManagedBrowser
    expect(old.pagesServed).toBe(0)
    // Health as it is at the very moment of each pool change (readHealth runs synchronously).
    const snapshots: Array<{ at: string; health: Promise<HealthResponse> }> = []
    const snap = (at: string) => snapshots.push({ at, health: runtime.service.health({}, { signal: new AbortController().signal, transport: 'http' }) })
    const offs = [
      runtime.events.on('browser:retired', (e) => e.tier === 'permanent' && snap('retired')),
      runtime.events.on('browser:launching', (e) => e.tier === 'permanent' && snap('launching')),
      runtime.events.on('browser:launched', (e) => e.tier === 'permanent' && snap('launched')),
      runtime.events.on('browser:closed', (e) => e.id === old.id && snap('closed')),
      runtime.events.on('lease:released', (e) => e.id === old.id && old.state === 'retired' && snap('old lease released')),
    ]
    try {
      // The next launch (the replacement's) is held until the test says so.
      await hold.arm('permanent-replacement')
      const mark = s.log.length
      for (let i = 0; i < 3; i++) expect((await md(s, '/about')).status).toBe(200)
      expect(since(s, mark, 'browser:retired')).toEqual([expect.objectContaining({ id: old.id, tier: 'permanent', pages_served: 3, reason: 'pages' })])
      // The replacement launch started on retirement, not on the next request.
      await hold.reached('permanent-replacement')
      expect(pool.isLaunching(pool.defaultSig)).toBe(true)
      expect(since(s, mark, 'browser:launching')).toEqual([expect.objectContaining({ sig: pool.defaultSig, tier: 'permanent' })])

      // The retired browser's last lease has ended, but with no replacement up yet it stays:
      // retired (no new leases), still running, and /health still ok.
      expect(old.leases).toBe(0)
      expect(old.state).toBe('retired')
      expect(pool.list()).toContain(old)
      expect(since(s, mark, 'browser:closed')).toHaveLength(0)
      expect(isAlive(old.pid as number)).toBe(true)
      const during = await s.get<HealthResponse>('/health')
      expect(during.status).toBe(200)
      expect(during.body).toMatchObject({ status: 'ok', problems: HEALTHY_PROBLEMS, permanent_browser: { state: 'up', pid: old.pid } })

      // A default-config request now waits for the replacement: the retired browser takes no lease.
      const mark2 = s.log.length
      const waiting = md(s, '/')
      await waitFor(() => since(s, mark2, 'request:phase').some((p) => p.phase === 'acquiring'), 20_000, 'the request to wait for a browser')
      expect(since(s, mark2, 'lease:acquired')).toHaveLength(0)

      await hold.release('permanent-replacement')
      const r = await waiting
      expect(r.status).toBe(200)
      const launched = since(s, mark, 'browser:launched').filter((e) => e.tier === 'permanent')
      expect(launched).toHaveLength(1)
      const fresh = pool.permanent() as ManagedBrowser
      expect(fresh.id).toBe(launched[0]?.id)
      expect(fresh.id).not.toBe(old.id)
      expect(since(s, mark2, 'lease:acquired')).toEqual([expect.objectContaining({ id: fresh.id })])
      await waitFor(() => since(s, mark, 'browser:closed').some((e) => e.id === old.id), 20_000, 'the retired permanent to close')
      expect(since(s, mark, 'browser:closed')).toEqual([expect.objectContaining({ id: old.id, reason: 'retired', tier: 'permanent' })])
      expect(pool.list()).not.toContain(old)

      expect(snapshots.map((x) => x.at)).toEqual(['retired', 'launching', 'old lease released', 'launched', 'closed'])
      for (const { at, health } of snapshots) {
        const h = await health
        expect({ at, status: h.status, problems: h.problems }).toEqual({ at, status: 'ok', problems: HEALTHY_PROBLEMS })
      }
      const after = await s.get<HealthResponse>('/health')
      expect(after.body).toMatchObject({ status: 'ok', permanent_browser: { state: 'up', pid: fresh.pid } })
      const mark3 = s.log.length
      expect((await md(s, '/')).status).toBe(200)
      expect(since(s, mark3, 'lease:acquired')).toEqual([expect.objectContaining({ id: fresh.id, pool_hit: true })])
    } finally {
      for (const off of offs) off()
    }
  })
})
