import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isAlive, processTree } from '../src/main/core/system/process-tree.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { bounded, startService, type TestService } from './helpers/service.js'

/*
 * Graceful shutdown: every Chromium process of every browser is gone when close() resolves,
 * and a crawl still in flight gets an answer instead of holding the shutdown hostage.
 */

let fx: FixtureServer
const services = new Set<TestService>()
const openGates = new Set<string>()

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterEach(async () => {
  for (const name of openGates) fx.gate(name).release()
  openGates.clear()
  // Only reached when a test failed before closing its own service.
  await Promise.all([...services].map((s) => s.close()))
  services.clear()
})

afterAll(async () => {
  await fx?.close()
})

function gate(name: string) {
  openGates.add(name)
  return fx.gate(name)
}

const md = (s: TestService, path: string, browserConfig?: object) =>
  s.postJson('/md', { url: fx.url(path), ...(browserConfig ? { browser_config: browserConfig } : {}) })

/** Settles with the HTTP answer or the transport error: either way, the caller was answered. */
function settle<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  )
}

/**
 * Every live PID of every browser's process tree. Chromium reaps its own short-lived helpers at
 * any time (a closed page's renderer lingers as a zombie for a moment), so only live ones count.
 */
async function allBrowserPids(s: TestService): Promise<number[]> {
  const trees = await Promise.all(s.runtime.pool.list().map((b) => processTree(b.pid as number)))
  for (const tree of trees) expect(tree.length).toBeGreaterThan(1)
  return trees.flat().filter(isAlive)
}

async function startWithTwoColdBrowsers(): Promise<TestService> {
  const s = await startService({})
  services.add(s)
  expect((await md(s, '/', { viewport_width: 851 })).status).toBe(200)
  expect((await md(s, '/', { viewport_width: 852 })).status).toBe(200)
  const browsers = s.runtime.pool.list()
  expect(browsers.map((b) => b.tier).sort()).toEqual(['cold', 'cold', 'permanent'])
  for (const b of browsers) expect(b.pid).toEqual(expect.any(Number))
  return s
}

describe('graceful shutdown', () => {
  it('service.close() (HTTP, then engine) leaves no Chromium process behind and answers the crawl in flight', async () => {
    const s = await startWithTwoColdBrowsers()
    const g = gate('shutdown-http-first')
    const held = settle(md(s, '/gate/shutdown-http-first', { viewport_width: 851 }))
    await g.reached
    const pids = await allBrowserPids(s)
    expect(pids.length).toBeGreaterThanOrEqual(6)

    await bounded(s.close(), 45_000, 'service.close()')
    services.delete(s)

    // Every process of every browser is gone the moment close() resolves: no polling.
    expect(pids.filter(isAlive)).toEqual([])
    expect(s.runtime.pool.list()).toEqual([])
    expect(
      s
        .eventsOf('browser:closed')
        .map((e) => e.reason)
        .sort(),
    ).toEqual(['shutdown', 'shutdown', 'shutdown'])

    // The held crawl was answered: an error status or a closed connection, never a hang.
    const outcome = await bounded(held, 10_000, 'the held crawl')
    if ('value' in outcome) {
      expect([502, 503]).toContain(outcome.value.status)
      expect(outcome.value.body).toEqual(expect.objectContaining({ error: expect.any(String), code: expect.any(String) }))
    } else {
      expect(outcome.error).toBeInstanceOf(TypeError) // fetch: "fetch failed" (socket closed)
    }
  })

  it('engine shutdown while a crawl is held answers it with a 503 JSON error, refuses new crawls, and leaves no process', async () => {
    const s = await startWithTwoColdBrowsers()
    const g = gate('shutdown-engine-first')
    const held = settle(md(s, '/gate/shutdown-engine-first', { viewport_width: 852 }))
    await g.reached
    const pids = await allBrowserPids(s)

    await bounded(s.runtime.close(), 30_000, 'runtime.close()')
    expect(pids.filter(isAlive)).toEqual([])
    expect(s.runtime.pool.list()).toEqual([])

    // The HTTP door is still up, so the held crawl gets a proper JSON answer.
    const outcome = await bounded(held, 10_000, 'the held crawl')
    expect('value' in outcome).toBe(true)
    if ('value' in outcome) {
      expect(outcome.value.status).toBe(503)
      expect(outcome.value.body.code).toBe('browser_shutdown')
      expect(outcome.value.body.error).toMatch(/shutting down/)
    }
    const late = await md(s, '/')
    expect(late.status).toBe(503)
    expect(late.body.code).toBe('shutting_down')

    await bounded(s.close(), 30_000, 'service.close()')
    services.delete(s)
  })
})
