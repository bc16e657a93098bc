import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ManagedBrowser } from '../src/main/core/pool/managed-browser.js'
import { openFreshPage } from '../src/main/core/pool/page-reserve.js'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import { isAlive, killProcessTree, processTree } from '../src/main/core/system/process-tree.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { bounded, startService, TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * Pre-warmed pages (prewarm_pages) with real Chromium: a request takes a fresh context + page
 * made in the background, never one a request used before; the reserve refills, the janitor
 * closes it when idle, a killed browser or shutdown leaves nothing behind, and the monitor's
 * open_contexts / open_pages count the reserved pairs as the real contexts they are.
 */

const SIZE = 2
let fx: FixtureServer
let s: TestService
// Remembers the gates a test holds, so a failed assertion cannot leave one held for the next test.
const scope = new TestScope(() => fx)

beforeAll(async () => {
  fx = await startFixtureServer()
  s = await startService({ prewarm_pages: SIZE, allow_js_code: true, promote_after_uses: 1 })
})

afterEach(() => {
  scope.releaseGates()
})

afterAll(async () => {
  await s?.close()
  await fx?.close()
})

const permanent = () => s.runtime.pool.permanent() as ManagedBrowser
const reserve = () => s.runtime.reserve
/** The reserve of `b` is full and nothing else is open on it. */
const fullAndIdle = (b: ManagedBrowser) => reserve().readyOn(b.id) === SIZE && b.leases === 0 && b.browser.contexts().length === SIZE

async function openCounts(id: string): Promise<{ open_contexts: number; open_pages: number }> {
  const r = await s.get<{ browsers: Array<{ id: string; open_contexts: number; open_pages: number }> }>('/monitor/browsers')
  const row = r.body.browsers.find((b) => b.id === id)
  if (!row) throw new Error(`browser ${id} not in /monitor/browsers`)
  return { open_contexts: row.open_contexts, open_pages: row.open_pages }
}

interface HeldPair {
  svc: TestService
  b: ManagedBrowser
  /** Resolves when the first held pair starts being made. */
  reached: Promise<void>
  release: () => void
  /** Pairs started so far. */
  made: () => number
}

/**
 * A service of its own with one reserved pair, whose pair number n (0 = the one made at start) is
 * held while held(n), until release(). `body` runs once the reserve has filled and one request
 * (which takes the ready pair and so starts pair 1) has been served.
 */
async function withHeldPair(held: (n: number) => boolean, body: (h: HeldPair) => Promise<void>): Promise<void> {
  let made = 0
  let reach!: () => void
  const reached = new Promise<void>((r) => (reach = r))
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const openReservedPage = async (browser: ManagedBrowser) => {
    if (held(made++)) {
      reach()
      await released
    }
    return openFreshPage(browser)
  }
  const svc = await startService({ prewarm_pages: 1 }, { openReservedPage })
  try {
    const b = svc.runtime.pool.permanent() as ManagedBrowser
    await waitFor(() => svc.runtime.reserve.readyOn(b.id) === 1, 30_000, 'the reserve to fill')
    expect((await svc.postJson('/md', { url: fx.url('/') })).status).toBe(200)
    await body({ svc, b, reached, release, made: () => made })
  } finally {
    release()
    await svc.close()
  }
}

describe('pre-warmed pages', () => {
  it('the permanent browser fills its reserve at start, and /monitor/browsers counts the reserved pairs', async () => {
    await waitFor(() => fullAndIdle(permanent()), 30_000, 'the reserve to fill')
    expect(await openCounts(permanent().id)).toEqual({ open_contexts: SIZE, open_pages: SIZE })
  })

  it('a request is served from the reserve with a page no request used before: storage set by one crawl is invisible to the next', async () => {
    await waitFor(() => fullAndIdle(permanent()), 30_000, 'the reserve to fill')
    const write = `document.cookie = 'secret=42; path=/'; localStorage.setItem('k', 'v'); sessionStorage.setItem('s', 't'); [document.cookie, localStorage.getItem('k')]`
    const read = `[document.cookie, localStorage.getItem('k'), sessionStorage.getItem('s')]`
    const before = reserve().stats()
    const first = await s.postJson('/crawl', { urls: [fx.url('/about')], crawler_config: { js_code: write } })
    expect(first.status).toBe(200)
    expect(first.body.results[0].js_results[0]).toEqual(['secret=42', 'v'])
    const second = await s.postJson('/crawl', { urls: [fx.url('/about')], crawler_config: { js_code: read } })
    expect(second.status).toBe(200)
    expect(second.body.results[0].js_results[0]).toEqual(['', null, null])
    const after = reserve().stats()
    // Both came from the reserve (the reserve had SIZE = 2 ready), and none made its own page.
    expect(after.served - before.served).toBe(2)
    expect(after.missed - before.missed).toBe(0)
  })

  it('the reserve refills after use, and the used pair is closed: the browser holds exactly the reserve again', async () => {
    const b = permanent()
    await waitFor(() => fullAndIdle(b), 30_000, 'the reserve to fill')
    const created = reserve().stats().created
    const r = await s.postJson('/md', { url: fx.url('/') })
    expect(r.status).toBe(200)
    expect(r.body.markdown).toContain(FIXTURE_TEXT.homeUnique)
    await waitFor(() => fullAndIdle(b), 30_000, 'the reserve to refill')
    expect(reserve().stats().created).toBe(created + 1)
    expect(await openCounts(b.id)).toEqual({ open_contexts: SIZE, open_pages: SIZE })
  })

  it('while a crawl holds its page, open_contexts / open_pages count it plus the (refilled) reserve', async () => {
    const b = permanent()
    await waitFor(() => fullAndIdle(b), 30_000, 'the reserve to fill')
    const name = 'prewarm-held'
    const g = scope.gate(name)
    const held = s.postJson('/md', { url: fx.url(`/gate/${name}`) })
    await g.reached
    // The held request took one pair; the reserve made its replacement meanwhile.
    await waitFor(() => reserve().readyOn(b.id) === SIZE, 30_000, 'the replacement pair')
    expect(b.browser.contexts()).toHaveLength(SIZE + 1)
    expect(await openCounts(b.id)).toEqual({ open_contexts: SIZE + 1, open_pages: SIZE + 1 })
    g.release()
    expect((await held).status).toBe(200)
    await waitFor(async () => (await openCounts(b.id)).open_contexts === SIZE, 10_000, 'the used context to close')
  })

  it('a hot browser keeps a reserve made with its own context options, dropped when the browser is killed', async () => {
    // promote_after_uses is 1: the first use of a new config promotes its browser to hot.
    const hotCfg = { user_agent: 'crawldeck-prewarm-test/1', viewport_width: 777 }
    const hotSig = configSignature(normaliseBrowserConfig(hotCfg))
    const ua = `[navigator.userAgent, window.innerWidth]`
    const first = await s.postJson('/crawl', { urls: [fx.url('/about')], browser_config: hotCfg, crawler_config: { js_code: ua } })
    expect(first.status).toBe(200)
    const hot = s.runtime.pool.list().find((b) => b.sig === hotSig) as ManagedBrowser
    expect(hot.tier).toBe('hot')
    await waitFor(() => fullAndIdle(hot), 30_000, 'the hot browser reserve to fill')
    const served = reserve().stats().served
    const second = await s.postJson('/crawl', { urls: [fx.url('/about')], browser_config: hotCfg, crawler_config: { js_code: ua } })
    expect(second.status).toBe(200)
    expect(reserve().stats().served).toBe(served + 1)
    expect(second.body.results[0].js_results[0]).toEqual(['crawldeck-prewarm-test/1', 777])
    await s.runtime.pool.kill(hot.id)
    expect(reserve().readyOn(hot.id)).toBe(0)
    // A browser launch and two crawls: on a loaded 2-core machine the launch alone took 40 s.
  }, 180_000)

  it('a cold browser keeps no reserve', async () => {
    // A second service whose promotion needs more uses than the test gives: the browser stays cold.
    const svc = await startService({ prewarm_pages: SIZE, promote_after_uses: 5 })
    try {
      const coldCfg = { viewport_width: 833 }
      const r = await svc.postJson('/md', { url: fx.url('/'), browser_config: coldCfg })
      expect(r.status).toBe(200)
      const b = svc.runtime.pool.list().find((x) => x.sig === configSignature(normaliseBrowserConfig(coldCfg))) as ManagedBrowser
      expect(b.tier).toBe('cold')
      // The same request did refill the permanent browser's reserve (it runs on every admission change).
      const p = svc.runtime.pool.permanent() as ManagedBrowser
      await waitFor(() => svc.runtime.reserve.readyOn(p.id) === SIZE, 30_000, 'the permanent reserve')
      expect(svc.runtime.reserve.readyOn(b.id)).toBe(0)
      await waitFor(() => b.browser.contexts().length === 0, 10_000, 'the cold browser context to close')
    } finally {
      await svc.close()
    }
  }, 120_000)

  it("the janitor's idle pass closes the reserve; the next request fills it again", async () => {
    const svc = await startService({ prewarm_pages: SIZE, idle_ttl_seconds: 0 })
    try {
      const b = svc.runtime.pool.permanent() as ManagedBrowser
      await waitFor(() => svc.runtime.reserve.readyOn(b.id) === SIZE && b.browser.contexts().length === SIZE, 30_000, 'the reserve to fill')
      const discarded = svc.runtime.reserve.stats().discarded
      await svc.runtime.janitor.runOnce()
      expect(svc.runtime.reserve.readyOn(b.id)).toBe(0)
      expect(svc.runtime.reserve.stats().discarded).toBe(discarded + SIZE)
      expect(b.browser.contexts()).toHaveLength(0)
      // Nothing refills an idle browser's reserve behind the janitor's back.
      const r1 = await svc.get<{ browsers: Array<{ id: string; open_contexts: number }> }>('/monitor/browsers')
      expect(r1.body.browsers.find((x) => x.id === b.id)?.open_contexts).toBe(0)
      const r = await svc.postJson('/md', { url: fx.url('/') })
      expect(r.status).toBe(200)
      await waitFor(() => svc.runtime.reserve.readyOn(b.id) === SIZE && b.leases === 0 && b.browser.contexts().length === SIZE, 30_000, 'the reserve to refill')
    } finally {
      await svc.close()
    }
  }, 120_000)

  it('the permanent browser SIGKILLed with a full reserve: its reserve is dropped without a leak, the next request succeeds', async () => {
    const old = permanent()
    await waitFor(() => fullAndIdle(old), 30_000, 'the reserve to fill')
    const tree = await processTree(old.pid as number)
    const discarded = reserve().stats().discarded
    const crashed = s.nextEvent('browser:crashed', (e) => e.id === old.id, 30_000)
    const relaunched = s.nextEvent('browser:launched', (e) => e.tier === 'permanent', 60_000)
    await killProcessTree(old.pid as number, 'SIGKILL')
    await crashed
    expect(reserve().readyOn(old.id)).toBe(0)
    expect(reserve().stats().discarded).toBe(discarded + SIZE)
    const fresh = await relaunched
    const r = await s.postJson('/md', { url: fx.url('/') })
    expect(r.status).toBe(200)
    expect(r.body.markdown).toContain(FIXTURE_TEXT.homeUnique)
    const b = s.runtime.pool.get(fresh.id) as ManagedBrowser
    await waitFor(() => fullAndIdle(b), 30_000, 'the new browser reserve to fill')
    // Every ready pair is on a live browser: the killed one's pairs are not counted anywhere.
    expect(reserve().stats().ready).toBe(SIZE * s.runtime.pool.list().filter((x) => x.tier !== 'cold').length)
    await waitFor(() => tree.every((pid) => !isAlive(pid)), 20_000, 'every process of the killed tree to exit')
  })

  it('a request that takes a reserved page of a browser killed a moment before fails as crashed, not hanging', async () => {
    const b = permanent()
    await waitFor(() => fullAndIdle(b), 30_000, 'the reserve to fill')
    // Kill the browser the moment the request's lease is taken: the reserved page it takes is dead.
    const off = s.runtime.events.on('lease:acquired', (e) => {
      if (e.id === b.id) void killProcessTree(b.pid as number, 'SIGKILL')
    })
    try {
      const r = await s.postJson('/md', { url: fx.url('/') })
      expect(r.status).toBe(502)
      expect(JSON.stringify(r.body)).toMatch(/crashed|closed/)
    } finally {
      off()
    }
    await waitFor(() => s.runtime.pool.permanent()?.acceptsLeases === true && s.runtime.pool.permanent()?.id !== b.id, 60_000, 'a new permanent browser')
    const r = await s.postJson('/md', { url: fx.url('/') })
    expect(r.status).toBe(200)
  })

  it('shutdown closes every reserved pair before the browsers and leaves no Chromium process', async () => {
    const svc = await startService({ prewarm_pages: SIZE })
    const b = svc.runtime.pool.permanent() as ManagedBrowser
    await waitFor(() => svc.runtime.reserve.readyOn(b.id) === SIZE, 30_000, 'the reserve to fill')
    const tree = await processTree(b.pid as number)
    let contextsAtClose = -1
    svc.runtime.events.on('browser:closed', (e) => {
      if (e.id === b.id) contextsAtClose = svc.runtime.reserve.stats().ready
    })
    await svc.close()
    expect(contextsAtClose).toBe(0)
    expect(svc.runtime.reserve.stats()).toMatchObject({ ready: 0, discarded: SIZE })
    await waitFor(() => tree.every((pid) => !isAlive(pid)), 20_000, 'every Chromium process to exit')
  }, 120_000)

  it('at or above memory_threshold_percent no pair is made; below it the reserve fills', async () => {
    const memory = { percent: 97, used_bytes: 97, limit_bytes: 100, source: 'host' as const }
    const svc = await startService({ prewarm_pages: SIZE, memory_threshold_percent: 95 }, { readMemory: () => memory })
    try {
      const b = svc.runtime.pool.permanent() as ManagedBrowser
      // A request goes through (the permanent browser needs no launch) and makes its own page.
      const r = await svc.postJson('/md', { url: fx.url('/') })
      expect(r.status).toBe(200)
      await waitFor(() => b.leases === 0 && b.browser.contexts().length === 0, 10_000, 'the context to close')
      expect(svc.runtime.reserve.stats()).toMatchObject({ ready: 0, created: 0, served: 0, missed: 1 })
      memory.percent = 50
      const again = await svc.postJson('/md', { url: fx.url('/') })
      expect(again.status).toBe(200)
      await waitFor(() => svc.runtime.reserve.readyOn(b.id) === SIZE, 30_000, 'the reserve to fill')
    } finally {
      await svc.close()
    }
  }, 120_000)

  it('a request that finds the reserve empty while its next pair is being made waits for that pair; one more makes its own page', async () => {
    // The pair made after the first request takes the ready one is held until the test lets it go.
    await withHeldPair(
      (n) => n === 1,
      async ({ svc, reached, release }) => {
        await reached
        const before = svc.runtime.reserve.stats()

        // The second request finds no pair ready, one being made: it waits for that one.
        const leased = svc.nextEvent('lease:acquired')
        const second = svc.postJson('/md', { url: fx.url('/about') })
        const secondId = (await leased).request_id
        // Only one request waits per pair being made: the third makes its own page and is served meanwhile.
        const third = await svc.postJson('/md', { url: fx.url('/') })
        expect(third.status).toBe(200)
        expect(third.body.markdown).toContain(FIXTURE_TEXT.homeUnique)
        const navigated = (id: string | null) => svc.eventsOf('request:phase').some((e) => e.id === id && e.phase === 'navigating')
        expect(navigated(secondId)).toBe(false)
        expect(svc.runtime.reserve.stats()).toMatchObject({ served: before.served, missed: before.missed + 1 })

        release()
        expect((await second).status).toBe(200)
        expect(navigated(secondId)).toBe(true)
        expect(svc.runtime.reserve.stats()).toMatchObject({ served: before.served + 1, missed: before.missed + 1 })
      },
    )
  }, 120_000)

  it('a request waiting for the pair being made gives up at its page_timeout and when its caller goes away; the pair is not lost', async () => {
    // Every pair after the first is held until the test lets it go.
    await withHeldPair(
      (n) => n > 0,
      async ({ svc, b, release }) => {
        // The deadline: the wait for the held pair is part of the URL's budget.
        const timedOut = await bounded(
          svc.postJson('/crawl', { urls: [fx.url('/about')], crawler_config: { page_timeout: 1500 } }),
          30_000,
          'the crawl waiting for a held pair',
        )
        expect(timedOut.body.results[0].success).toBe(false)
        expect(timedOut.body.results[0].error_message).toContain('waiting for a pre-warmed page')

        // The caller going away ends the wait at once, and gives back its slot and lease.
        const leased = svc.nextEvent('lease:acquired')
        const controller = new AbortController()
        const abandoned = svc.postNow('/md', { url: fx.url('/about') }, { signal: controller.signal }).catch((err: unknown) => err)
        await leased
        controller.abort()
        await abandoned
        await waitFor(() => svc.runtime.admission.activeCount === 0 && b.leases === 0, 10_000, 'the abandoned request to give back its slot and lease')
        expect(svc.runtime.reserve.readyOn(b.id)).toBe(0)

        // The held pair, made after both gave up, is ready for the next request, which is served from it.
        const before = svc.runtime.reserve.stats()
        release()
        await waitFor(() => svc.runtime.reserve.readyOn(b.id) === 1, 30_000, 'the held pair to join the reserve')
        expect((await svc.postJson('/md', { url: fx.url('/about') })).status).toBe(200)
        expect(svc.runtime.reserve.stats()).toMatchObject({ served: before.served + 1, missed: before.missed })
      },
    )
  }, 120_000)

  it('a pair handed over in the same moment its request gives up is not leaked', async () => {
    await withHeldPair(
      (n) => n === 1,
      async ({ svc, b, release, made }) => {
        // The bound gives up only once the held pair has been handed to it: the worst moment.
        const lateGiveUp = svc.runtime.reserve.take(b, (claimed) => claimed.then(() => Promise.reject(new Error('gave up'))))
        release()
        await expect(lateGiveUp).rejects.toThrow('gave up')
        // The refill made one more pair meanwhile; the handed-over one is closed, not left open.
        await waitFor(() => svc.runtime.reserve.readyOn(b.id) === 1 && made() === 3, 30_000, 'the refill')
        await waitFor(() => b.browser.contexts().length === 1, 10_000, 'the handed-over pair to close')
      },
    )
  }, 120_000)

  it("a request served from the reserve extracts through the pair's own CDP session: no new session, no page.evaluate on its clock", async () => {
    const pairs: Array<{ sessions: number; evaluates: number }> = []
    const openReservedPage = async (browser: ManagedBrowser) => {
      const pair = await openFreshPage(browser)
      expect(pair.session).toBeDefined()
      const counts = { sessions: 0, evaluates: 0 }
      pairs.push(counts)
      const newSession = pair.context.newCDPSession.bind(pair.context)
      pair.context.newCDPSession = ((...args: Parameters<typeof newSession>) => {
        counts.sessions++
        return newSession(...args)
      }) as typeof newSession
      const evaluate = pair.page.evaluate.bind(pair.page)
      pair.page.evaluate = ((...args: Parameters<typeof evaluate>) => {
        counts.evaluates++
        return evaluate(...args)
      }) as typeof evaluate
      return pair
    }
    const svc = await startService({ prewarm_pages: 1 }, { openReservedPage })
    try {
      const b = svc.runtime.pool.permanent() as ManagedBrowser
      await waitFor(() => svc.runtime.reserve.readyOn(b.id) === 1, 30_000, 'the reserve to fill')
      const served = svc.runtime.reserve.stats().served
      const r = await svc.postJson('/crawl', { urls: [fx.url('/article')] })
      expect(r.status).toBe(200)
      expect(r.body.results[0].markdown.raw_markdown).toContain(FIXTURE_TEXT.articleTableCell)
      expect(svc.runtime.reserve.stats().served).toBe(served + 1)
      const used = pairs[0]!
      expect({ sessions: used.sessions, evaluates: used.evaluates }).toEqual({ sessions: 0, evaluates: 0 })
    } finally {
      await svc.close()
    }
  }, 120_000)

  it('prewarm_pages 0: no reserve, requests make their own pages, nothing stays open', async () => {
    const svc = await startService({ prewarm_pages: 0 })
    try {
      const b = svc.runtime.pool.permanent() as ManagedBrowser
      const r = await svc.postJson('/md', { url: fx.url('/') })
      expect(r.status).toBe(200)
      expect(svc.runtime.reserve.stats()).toMatchObject({ ready: 0, created: 0, served: 0 })
      await waitFor(() => b.browser.contexts().length === 0, 10_000, 'the context to close')
    } finally {
      await svc.close()
    }
  }, 120_000)
})
