import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import { isAlive, killProcessTree, processTree } from '../src/main/core/system/process-tree.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * Nothing lost under faults, with real Chromium: every request answered (a success or a clear
 * error), none left active, the monitor's counts equal to what was sent, and the pool healthy
 * afterwards.
 */

let fx: FixtureServer
let s: TestService

beforeAll(async () => {
  // prewarm_pages 0: the tests wait for the browser to hold no context at all (no reserved pair).
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ max_pages: 4, queue_size: 200, prewarm_pages: 0, allow_js_code: true })])
  s.runtime.janitor.stop()
})

afterAll(async () => {
  await s?.close()
  await fx?.close()
})

const endpointCount = async (endpoint: string): Promise<{ count: number; errors: number }> => {
  const stats = (await s.get<any>('/monitor/endpoints/stats')).body
  const e = stats[endpoint] ?? { count: 0, errors: 0 }
  return { count: e.count, errors: e.errors }
}

describe('Chromium killed with SIGKILL again and again under load', () => {
  it('every crawl is answered, the counts are exact, the pool recovers after each kill', async () => {
    const configs = [undefined, { viewport_width: 801 }]
    const sigs = configs.map((c) => configSignature(normaliseBrowserConfig(c ?? {})))
    const TOTAL = 40
    const CONCURRENCY = 4
    const KILLS = 3
    const before = await endpointCount('/md')

    const answers: Array<{ status: number; body: any }> = []
    let next = 0
    const worker = async () => {
      while (next < TOTAL) {
        const i = next++
        const cfg = configs[i % configs.length]
        const path = i % 3 === 0 ? '/article' : '/'
        answers.push(await s.postJson('/md', { url: fx.url(path), ...(cfg ? { browser_config: cfg } : {}) }))
      }
    }
    const load = Promise.all(Array.from({ length: CONCURRENCY }, worker))

    // The killer: each round waits for a browser that is serving a crawl, and SIGKILLs its whole
    // process tree, alternating between the permanent browser and the other config's one.
    const killedTrees: number[][] = []
    const killedIds: string[] = []
    for (let k = 0; k < KILLS; k++) {
      const wantSig = sigs[k % sigs.length]
      await waitFor(
        () =>
          s.runtime.pool.list().some((b) => b.sig === wantSig && b.leases > 0 && b.state === 'active' && !killedIds.includes(b.id)) || answers.length >= TOTAL,
        60_000,
        `a busy browser to kill (round ${k + 1})`,
      )
      const victim = s.runtime.pool.list().find((b) => b.sig === wantSig && b.leases > 0 && b.state === 'active' && !killedIds.includes(b.id))
      if (!victim || victim.pid === null) break
      killedIds.push(victim.id)
      const tree = await processTree(victim.pid)
      killedTrees.push(tree)
      await killProcessTree(victim.pid, 'SIGKILL')
      // Let a few crawls complete after each kill, so every kill lands on a recovered pool.
      const answered = answers.length
      await waitFor(() => answers.length >= Math.min(TOTAL, answered + 4), 120_000, `crawls to be answered after kill ${k + 1}`)
    }
    // Every crawl must be answered; if one is not, say which and where it is stuck.
    await Promise.race([
      load,
      new Promise((_, reject) =>
        setTimeout(() => {
          const active = s.runtime.monitor.requests('active', 100).active
          const pool = s.runtime.pool.list().map((b) => ({ tier: b.tier, sig: b.shortSig, state: b.state, leases: b.leases }))
          const recent = s.log.slice(-40).map((e) => `${e.name} ${JSON.stringify(e.payload).slice(0, 140)}`)
          reject(
            new Error(
              `crawls not answered: ${TOTAL - answers.length}; active ${JSON.stringify(active)}; pool ${JSON.stringify(pool)}; last events:\n${recent.join('\n')}`,
            ),
          )
        }, 90_000).unref(),
      ),
    ])

    // Every request got an answer: a success, or a clear JSON error (the crawls on a killed browser).
    expect(answers).toHaveLength(TOTAL)
    const failures = answers.filter((a) => a.status !== 200)
    for (const f of failures) {
      expect([502, 503], JSON.stringify(f.body)).toContain(f.status)
      expect(typeof f.body.code).toBe('string')
      expect(f.body.error).toBeTruthy()
    }
    expect(killedIds.length).toBe(KILLS)
    // At least the crawls that were on the killed browsers failed, and not everything did.
    expect(failures.length).toBeGreaterThanOrEqual(1)
    expect(failures.length).toBeLessThan(TOTAL / 2)
    expect(s.eventsOf('browser:crashed').map((e) => e.id)).toEqual(expect.arrayContaining(killedIds))

    // The monitor's counts equal what was sent and answered; nothing is left active.
    await waitFor(async () => (await endpointCount('/md')).count === before.count + TOTAL, 20_000, 'endpoint stats to count every crawl')
    const after = await endpointCount('/md')
    expect(after.errors - before.errors).toBe(failures.length)
    expect((await s.get<any>('/monitor/requests?status=active')).body.active).toEqual([])

    // The pool recovered: health ok, a permanent browser up, no lease held, every config serves.
    await waitFor(async () => (await s.get<any>('/health')).body.status === 'ok', 60_000, '/health ok after the kills')
    expect(s.runtime.pool.list().every((b) => b.leases === 0)).toBe(true)
    expect(killedIds.every((id) => !s.runtime.pool.get(id))).toBe(true)
    for (const cfg of configs) {
      const r = await s.postJson('/md', { url: fx.url('/'), ...(cfg ? { browser_config: cfg } : {}) })
      expect(r.status, JSON.stringify(r.body)).toBe(200)
    }
    // No process of any killed tree is left running.
    await waitFor(() => killedTrees.flat().every((pid) => !isAlive(pid)), 20_000, 'every killed process to be gone')
    // A load test: 40 crawls and three relaunches take minutes on a busy 2-core machine.
  }, 300_000)
})

describe('a target that accepts connections and never answers', () => {
  it('times out with 504 and the browser stays healthy: the same browser serves the next crawl', async () => {
    await waitFor(() => s.runtime.pool.list().every((b) => b.leases === 0), 60_000, 'no crawl left from the test before')
    const permanent = s.runtime.pool.permanent()
    expect(permanent?.state).toBe('active')
    const crashesBefore = s.eventsOf('browser:crashed').length
    const r = await s.postJson('/md', { url: fx.url('/hang'), crawler_config: { page_timeout: 1000 } })
    expect(r.status).toBe(504)
    expect(r.body.code).toBeTruthy()
    expect(r.body.error).toMatch(/timeout|timed out/i)
    const ok = await s.postJson('/md', { url: fx.url('/') })
    expect(ok.status).toBe(200)
    expect(s.runtime.pool.permanent()?.id).toBe(permanent?.id)
    expect(s.eventsOf('browser:crashed')).toHaveLength(crashesBefore)
    expect(permanent?.leases).toBe(0)
  })
})

/**
 * Renderer processes of a browser's process tree (one per open page's site; none when it holds no
 * page). Read by substring: a renderer rewrites its command line into one space-separated string,
 * so findProcessesWithArg's per-argument match never sees `--type=renderer` there.
 */
async function renderers(browserPid: number): Promise<number[]> {
  const out: number[] = []
  for (const pid of await processTree(browserPid)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes('--type=renderer')) out.push(pid)
  }
  return out
}

describe('a page whose script never yields once it has loaded', () => {
  // page.evaluate has no timeout of its own: before the deadline raced it, these crawls waited
  // forever, holding the client, the admission slot, the lease and a renderer spinning a core.
  const cases = [
    { name: 'its extraction', url: () => fx.url('/spin'), config: {}, step: 'extraction' },
    { name: 'js_code that never settles', url: () => fx.url('/'), config: { js_code: ['new Promise(() => {})'] }, step: 'js_code[0]' },
  ]
  for (const c of cases) {
    it(`${c.name}: 504 at page_timeout, the renderer is closed, the same browser serves the next crawl`, async () => {
      await waitFor(() => s.runtime.pool.list().every((b) => b.leases === 0), 60_000, 'no crawl left from the test before')
      const permanent = s.runtime.pool.permanent()
      expect(permanent?.state).toBe('active')
      const pid = permanent?.pid as number
      const crashesBefore = s.eventsOf('browser:crashed').length
      const r = await s.postJson('/html', { url: c.url(), crawler_config: { page_timeout: 1500, ...c.config } })
      expect(r.status).toBe(504)
      expect(r.body.code).toBe('crawl_timeout')
      expect(r.body.error).toContain(`page_timeout (1500 ms) at ${c.step}`)
      await waitFor(() => permanent?.leases === 0 && permanent.browser.contexts().length === 0, 20_000, 'the lease to be released and the context closed')
      // Closing the context ends the spinning renderer instead of leaving it to burn a core.
      await waitFor(async () => (await renderers(pid)).length === 0, 20_000, 'the renderers to exit')
      const ok = await s.postJson('/html', { url: fx.url('/') })
      expect(ok.status).toBe(200)
      expect(s.runtime.pool.permanent()?.id).toBe(permanent?.id)
      expect(s.eventsOf('browser:crashed')).toHaveLength(crashesBefore)
      expect(s.runtime.admission.activeCount).toBe(0)
    })
  }
})

describe('a client that disconnects mid-crawl', () => {
  it('its context closes, its lease is released, and the request is recorded as aborted', async () => {
    const g = fx.gate('reliability-abort')
    const controller = new AbortController()
    const url = fx.url('/gate/reliability-abort')
    const pending = s.post('/md', { url }, { signal: controller.signal }).catch((err: unknown) => err)
    try {
      await g.reached
      const permanent = s.runtime.pool.permanent()
      expect(permanent?.leases).toBe(1)
      const finished = s.nextEvent('request:finished', (e) => e.url === url)
      controller.abort()
      expect(await pending).toBeInstanceOf(Error)
      const event = await finished
      expect(event).toMatchObject({ success: false, aborted: true })
      await waitFor(() => permanent?.leases === 0, 20_000, 'the lease to be released')
      // The crawl's context is closed: the browser holds no context any more.
      await waitFor(() => (permanent?.browser.contexts().length ?? -1) === 0, 20_000, 'the context to close')
      const record = (await s.get<any>('/monitor/requests?status=completed&limit=1000')).body.completed.find((r: any) => r.id === event.id)
      expect(record).toMatchObject({ aborted: true, success: false })
    } finally {
      g.release()
    }
  })
})
