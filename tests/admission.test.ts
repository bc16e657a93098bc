import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MemoryReading } from '../src/main/core/system/memory.js'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import type { HealthResponse } from '../src/shared/api-types.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * Admission (a bounded number of open pages, a bounded queue, 429 beyond it) and the memory
 * guard (503 instead of launching a browser when memory is full), through real HTTP.
 */

let fx: FixtureServer
const scope = new TestScope(() => fx)
const { serve, shutdown, gate } = scope

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterEach(() => {
  scope.releaseGates()
})

afterAll(async () => {
  await scope.closeAll()
  await fx?.close()
})

const md = (s: TestService, path: string, browserConfig?: object) =>
  s.postJson('/md', { url: fx.url(path), ...(browserConfig ? { browser_config: browserConfig } : {}) })

describe('admission (max_pages: 1, queue_size: 1)', () => {
  let s: TestService

  beforeAll(async () => {
    s = await serve({ max_pages: 1, queue_size: 1 })
  })

  it('queues one request, refuses the next with 429 + Retry-After, then serves the first two', async () => {
    const admission = s.runtime.admission
    const g = gate('adm-full')
    const first = md(s, '/gate/adm-full')
    await g.reached
    expect(admission.activeCount).toBe(1)
    expect(admission.queuedCount).toBe(0)

    const second = md(s, '/')
    await waitFor(() => admission.queuedCount === 1, 20_000, 'the second request to queue')

    const third = await md(s, '/about')
    expect(third.status).toBe(429)
    expect(third.body.code).toBe('queue_full')
    expect(typeof third.body.error).toBe('string')
    const retryAfter = third.headers.get('retry-after')
    expect(retryAfter).toMatch(/^\d+$/)
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    expect(s.eventsOf('admission:rejected')).toEqual([expect.objectContaining({ queued: 1, retry_after_seconds: Number(retryAfter) })])
    // The refused request never reached a browser, and did not disturb the other two.
    expect(admission.queuedCount).toBe(1)
    expect(admission.activeCount).toBe(1)
    // A full queue shows on /health.
    const degraded = await s.get<HealthResponse>('/health')
    expect(degraded.body.status).toBe('degraded')
    expect(degraded.body.problems.join(' ')).toMatch(/queue is full/)

    g.release()
    const [r1, r2] = await Promise.all([first, second])
    expect(r1.status).toBe(200)
    expect(r1.body.markdown).toContain('Gate adm-full released')
    expect(r2.status).toBe(200)
    expect(r2.body.markdown).toContain(FIXTURE_TEXT.homeUnique)
    expect(admission.queuedCount).toBe(0)
    expect(admission.activeCount).toBe(0)
    expect(s.eventsOf('request:finished').filter((f) => f.status_code === 429)).toHaveLength(1)
  })

  it('a full queue refuses a /crawl batch and a /crawl/stream with a plain 429, before any result', async () => {
    const admission = s.runtime.admission
    const g = gate('adm-batch')
    const first = md(s, '/gate/adm-batch')
    await g.reached
    const second = md(s, '/')
    await waitFor(() => admission.queuedCount === 1, 20_000, 'the second request to queue')
    for (const path of ['/crawl', '/crawl/stream']) {
      const res = await s.postNow(path, { urls: [fx.url('/about'), fx.url('/')] })
      expect(res.status, path).toBe(429)
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/)
      expect(res.headers.get('retry-after'), path).toMatch(/^\d+$/)
      expect(await res.json(), path).toMatchObject({ code: 'queue_full' })
    }
    g.release()
    const [r1, r2] = await Promise.all([first, second])
    expect(r1.status).toBe(200)
    expect(r2.status).toBe(200)
  })

  it('a queued request whose client aborts leaves the queue, and its place is not leaked', async () => {
    const admission = s.runtime.admission
    const g = gate('adm-abort')
    const first = md(s, '/gate/adm-abort')
    await g.reached

    const controller = new AbortController()
    const queued = s.post('/md', { url: fx.url('/') }, { signal: controller.signal }).then(
      (res) => ({ res, error: null }),
      (error: unknown) => ({ res: null, error }),
    )
    await waitFor(() => admission.queuedCount === 1, 20_000, 'the request to queue')
    const finishedBefore = s.eventsOf('request:finished').length
    controller.abort()
    const outcome = await queued
    expect(outcome.res).toBeNull()
    expect((outcome.error as Error).name).toBe('AbortError')
    await waitFor(() => admission.queuedCount === 0, 20_000, 'the aborted request to leave the queue')
    await waitFor(() => s.eventsOf('request:finished').length > finishedBefore, 20_000, 'the aborted request to be recorded')
    expect(s.eventsOf('request:finished').slice(finishedBefore)).toEqual([expect.objectContaining({ aborted: true, success: false, status_code: 499 })])
    expect(admission.activeCount).toBe(1)

    // The slot is free for the next caller once the held crawl ends; nothing is stuck.
    const next = md(s, '/about')
    await waitFor(() => admission.queuedCount === 1, 20_000, 'the next request to queue')
    g.release()
    expect((await first).status).toBe(200)
    expect((await next).status).toBe(200)
    expect(admission.activeCount).toBe(0)
    expect(admission.queuedCount).toBe(0)
  })

  afterAll(async () => {
    await shutdown(s)
  })
})

describe('memory guard', () => {
  it('memory_threshold_percent: 1 -> running browsers still serve, a new config gets 503 memory_pressure without a launch, /health is degraded', async () => {
    const s = await serve({ memory_threshold_percent: 1 })
    try {
      // Real memory use is above 1 %: the guard bites, yet the permanent browser (already running) serves.
      expect(s.runtime.readMemory().percent).toBeGreaterThanOrEqual(1)
      const ok = await md(s, '/')
      expect(ok.status).toBe(200)
      expect(ok.body.markdown).toContain(FIXTURE_TEXT.homeUnique)

      const cfg = { viewport_width: 841 }
      const sig = configSignature(normaliseBrowserConfig(cfg))
      const refused = await md(s, '/', cfg)
      expect(refused.status).toBe(503)
      expect(refused.body.code).toBe('memory_pressure')
      expect(refused.body.error).toMatch(/threshold/)
      expect(refused.body.error).toMatch(/\b1 %/)
      expect(s.eventsOf('browser:launching').filter((e) => e.sig === sig)).toHaveLength(0)
      expect(s.runtime.pool.list().filter((b) => b.sig === sig)).toHaveLength(0)
      // The refusal gave its page slot back.
      expect(s.runtime.admission.activeCount).toBe(0)

      const health = await s.get<HealthResponse>('/health')
      expect(health.status).toBe(200)
      expect(health.body.status).toBe('degraded')
      expect(health.body.problems.join(' ')).toMatch(/memory/)
      expect(health.body.memory.threshold_percent).toBe(1)
    } finally {
      await shutdown(s)
    }
  })

  it('reads memory through the readMemory function each time (99 % -> 503, 10 % -> launches)', async () => {
    let percent = 99
    const readMemory = (): MemoryReading => ({ percent, used_bytes: percent * 1e8, limit_bytes: 100 * 1e8, source: 'cgroup2' })
    // Default threshold (95 %). No permanent browser: only the guard in front of a launch matters here.
    const s = await serve({ launch_permanent: false }, { readMemory })
    try {
      const cfg = { viewport_width: 842 }
      const sig = configSignature(normaliseBrowserConfig(cfg))
      const refused = await md(s, '/', cfg)
      expect(refused.status).toBe(503)
      expect(refused.body.code).toBe('memory_pressure')
      expect(refused.body.error).toMatch(/99\.0 %/)
      expect(refused.body.error).toMatch(/95 % threshold/)
      expect(s.eventsOf('browser:launching')).toHaveLength(0)

      percent = 10
      const served = await md(s, '/', cfg)
      expect(served.status).toBe(200)
      expect(s.eventsOf('browser:launched').filter((e) => e.sig === sig)).toHaveLength(1)
    } finally {
      await shutdown(s)
    }
  })
})
