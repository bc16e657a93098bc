import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { EngineEventName, EngineEvents } from '../src/main/core/events.js'
import type { ManagedBrowser } from '../src/main/core/pool/managed-browser.js'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import { isAlive, killProcessTree, processTree } from '../src/main/core/system/process-tree.js'
import type { HealthResponse } from '../src/shared/api-types.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * Crash recovery with real Chromium: the test kills a browser's whole process tree with
 * SIGKILL (what the OOM killer or an operator's kill -9 does) and checks that the service
 * notices at once, fails only the crawls that were on that browser, and carries on.
 */

let fx: FixtureServer
let s: TestService
// Remembers the gates a test holds, so a failed assertion cannot leave one held for the next test.
const scope = new TestScope(() => fx)
const { gate } = scope

beforeAll(async () => {
  fx = await startFixtureServer()
  s = await startService({})
})

afterEach(() => {
  scope.releaseGates()
})

afterAll(async () => {
  await s?.close()
  await fx?.close()
})

function since<K extends EngineEventName>(mark: number, name: K): Array<EngineEvents[K]> {
  return s.log
    .slice(mark)
    .filter((e) => e.name === name)
    .map((e) => e.payload as EngineEvents[K])
}

const md = (path: string, browserConfig?: object) => s.postJson('/md', { url: fx.url(path), ...(browserConfig ? { browser_config: browserConfig } : {}) })

describe('crash recovery', () => {
  it('a cold browser killed with SIGKILL mid-crawl: that crawl answers 502 "crashed", the browser leaves the pool, the next request gets a new one', async () => {
    const pool = s.runtime.pool
    const cfg = { viewport_width: 831 }
    const sig = configSignature(normaliseBrowserConfig(cfg))
    const g = gate('crash-cold')
    const held = md('/gate/crash-cold', cfg)
    await g.reached
    const victim = pool.list().find((b) => b.sig === sig) as ManagedBrowser
    expect(victim).toBeDefined()
    expect(victim.leases).toBe(1)
    const tree = await processTree(victim.pid as number)
    expect(tree.length).toBeGreaterThan(1)

    const mark = s.log.length
    await killProcessTree(victim.pid as number, 'SIGKILL')

    // The held request answers on its own (the gate is never released): a clean 502, not a hang or a 500.
    const r = await held
    expect(r.status).toBe(502)
    expect(r.body.code).toBe('browser_crashed')
    expect(r.body.error).toMatch(/crashed/)
    expect(since(mark, 'browser:crashed')).toEqual([expect.objectContaining({ id: victim.id, sig, tier: 'cold', leases: 1 })])
    expect(since(mark, 'browser:closed')).toEqual([expect.objectContaining({ id: victim.id, reason: 'crashed' })])
    expect(pool.list()).not.toContain(victim)
    expect(victim.state).toBe('closed')
    expect(since(mark, 'request:finished')).toEqual([expect.objectContaining({ success: false, status_code: 502, config_sig: sig })])
    // The crashed crawl's lease was given back, and nothing else was disturbed.
    expect(since(mark, 'lease:released').filter((e) => e.id === victim.id)).toHaveLength(1)
    expect(pool.permanent()?.state).toBe('active')

    // The next request for that config succeeds on a new browser.
    const mark2 = s.log.length
    const next = await md('/', cfg)
    expect(next.status).toBe(200)
    expect(next.body.markdown).toContain(FIXTURE_TEXT.homeUnique)
    const launched = since(mark2, 'browser:launched')
    expect(launched).toEqual([expect.objectContaining({ sig, tier: 'cold' })])
    expect(launched[0]?.id).not.toBe(victim.id)
    expect(since(mark2, 'lease:acquired')).toEqual([expect.objectContaining({ id: launched[0]?.id, pool_hit: false })])

    // No process of the killed tree is left (zombies count as gone: they hold nothing and cannot run).
    await waitFor(() => tree.every((pid) => !isAlive(pid)), 20_000, 'every process of the killed tree to exit')
  })

  it('the permanent browser killed with SIGKILL while idle is relaunched, /health returns to ok, default crawls work', async () => {
    const pool = s.runtime.pool
    const old = pool.permanent() as ManagedBrowser
    expect(old.leases).toBe(0)
    const tree = await processTree(old.pid as number)
    expect(tree.length).toBeGreaterThan(1)

    // /health at the very moment of the crash (readHealth is synchronous): never "ok" then.
    let healthAtCrash: Promise<HealthResponse> | null = null
    const off = s.runtime.events.on('browser:crashed', (e) => {
      if (e.id === old.id) healthAtCrash = s.runtime.service.health({}, { signal: new AbortController().signal, transport: 'http' })
    })
    const mark = s.log.length
    const crashed = s.nextEvent('browser:crashed', (e) => e.id === old.id, 30_000)
    const relaunched = s.nextEvent('browser:launched', (e) => e.tier === 'permanent', 60_000)
    try {
      await killProcessTree(old.pid as number, 'SIGKILL')
      expect(await crashed).toMatchObject({ tier: 'permanent', leases: 0 })
      expect(healthAtCrash).not.toBeNull()
      const h = await (healthAtCrash as unknown as Promise<HealthResponse>)
      expect(h.status).toBe('error')
      expect(h.problems.join(' ')).toMatch(/permanent browser is down/)

      const fresh = await relaunched
      expect(fresh.id).not.toBe(old.id)
      expect(fresh.sig).toBe(pool.defaultSig)
      expect(since(mark, 'browser:closed').filter((e) => e.id === old.id)).toEqual([expect.objectContaining({ reason: 'crashed', tier: 'permanent' })])
      expect(pool.list()).not.toContain(old)
      expect(pool.permanent()?.id).toBe(fresh.id)
    } finally {
      off()
    }

    await waitFor(async () => (await s.get<HealthResponse>('/health')).body.status === 'ok', 30_000, '/health to return to ok')
    const health = await s.get<HealthResponse>('/health')
    expect(health.status).toBe(200)
    expect(health.body.permanent_browser).toMatchObject({ state: 'up', pid: pool.permanent()?.pid })

    const mark2 = s.log.length
    const r = await md('/')
    expect(r.status).toBe(200)
    expect(r.body.markdown).toContain(FIXTURE_TEXT.homeUnique)
    expect(since(mark2, 'lease:acquired')).toEqual([expect.objectContaining({ id: pool.permanent()?.id, pool_hit: true })])
    expect(since(mark2, 'browser:launching')).toHaveLength(0)

    await waitFor(() => tree.every((pid) => !isAlive(pid)), 20_000, 'every process of the killed tree to exit')
  })
})
