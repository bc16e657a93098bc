import type { BrowserContext } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../src/main/core/config.js'
import type { ManagedBrowser } from '../src/main/core/pool/managed-browser.js'
import { isAlive, processTree } from '../src/main/core/system/process-tree.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { bounded, TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * A crawl answers before its context has closed; the close runs in the background and only its
 * end gives back the admission slot and the pool lease. The runtime's closeContext seam lets a
 * test hold one close open (real Chromium, real HTTP) and watch what happens meanwhile.
 */

let fx: FixtureServer
const scope = new TestScope(() => fx)

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterEach(async () => {
  // A failed assertion must not leave a close held under the service being closed.
  for (const held of holds) held.release()
  holds.clear()
  next = null
  await scope.closeAll()
})

afterAll(async () => {
  await fx?.close()
})

/** The close the seam holds next; every other close goes straight through. */
let next: HeldClose | null = null
/** Every close a test made, released after each test whatever happened. */
const holds = new Set<HeldClose>()

/** One crawl close, held until released; it may fail after closing (a close that throws). */
class HeldClose {
  closed = false
  readonly reached: Promise<void>
  private reach!: () => void
  private readonly released: Promise<void>
  release!: () => void

  constructor(
    private readonly steps: string[],
    private readonly failure: Error | null = null,
  ) {
    this.reached = new Promise((r) => (this.reach = r))
    this.released = new Promise((r) => (this.release = r))
    holds.add(this)
  }

  async run(context: BrowserContext): Promise<void> {
    this.reach()
    await this.released
    await context.close()
    this.closed = true
    this.steps.push('context closed')
    if (this.failure) throw this.failure
  }
}

const closeContext = (context: BrowserContext): Promise<void> => {
  const held = next
  next = null
  return held ? held.run(context) : context.close()
}

/** What the engine reports after the crawl, in order, next to the seam's own 'context closed'. */
function recordSteps(s: TestService): string[] {
  const steps: string[] = []
  s.runtime.events.on('lease:released', () => steps.push('lease released'))
  s.runtime.events.on('admission:changed', (e) => {
    if (e.active === 0) steps.push('slot free')
  })
  s.runtime.events.on('browser:closed', (e) => steps.push(`browser closed (${e.reason})`))
  return steps
}

/**
 * POST over plain fetch: TestService.postJson waits for the service to settle after the answer,
 * which is the moment these tests look past.
 */
async function crawlMd(s: TestService, path: string): Promise<{ status: number; markdown: string }> {
  const res = await fetch(`${s.url}/md`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: fx.url(path) }) })
  const body = (await res.json()) as { markdown?: string }
  return { status: res.status, markdown: body.markdown ?? '' }
}

async function serve(config: ConfigInput = {}): Promise<{ s: TestService; steps: string[]; browser: ManagedBrowser }> {
  const s = await scope.serve(config, { closeContext })
  return { s, steps: recordSteps(s), browser: s.runtime.pool.permanent() as ManagedBrowser }
}

describe('a crawl answers before its context is closed', () => {
  it('the HTTP answer arrives while the close is held; the lease and the slot are released only after it', async () => {
    const { s, steps, browser } = await serve()
    const held = (next = new HeldClose(steps))
    const answer = crawlMd(s, '/')
    await held.reached

    const r = await bounded(answer, 20_000, 'the answer while its context close was held')
    expect(r.status).toBe(200)
    expect(r.markdown).toContain(FIXTURE_TEXT.homeUnique)
    // The context is still open, so it still counts: one slot and one lease held, nothing released.
    expect(held.closed).toBe(false)
    expect(s.runtime.admission.activeCount).toBe(1)
    expect(browser.leases).toBe(1)
    expect(steps).toEqual([])

    held.release()
    await waitFor(() => s.runtime.admission.activeCount === 0 && browser.leases === 0, 20_000, 'the slot and lease back')
    expect(steps).toEqual(['context closed', 'lease released', 'slot free'])
  })

  it('a close that fails is swallowed: the slot and lease still come back and the next crawl is served', async () => {
    const { s, steps, browser } = await serve()
    const held = (next = new HeldClose(steps, new Error('context close failed on purpose')))
    const answer = crawlMd(s, '/about')
    await held.reached
    held.release()
    expect((await answer).status).toBe(200)
    await waitFor(() => s.runtime.admission.activeCount === 0 && browser.leases === 0, 20_000, 'the slot and lease back')
    expect(steps).toEqual(['context closed', 'lease released', 'slot free'])

    const again = await crawlMd(s, '/')
    expect(again.status).toBe(200)
    expect(again.markdown).toContain(FIXTURE_TEXT.homeUnique)
  })

  it('with max_pages 1 and no queue, the next request waits for a slot that is only closing instead of a 429', async () => {
    const { s, steps } = await serve({ max_pages: 1, queue_size: 0 })
    const admission = s.runtime.admission
    const held = (next = new HeldClose(steps))
    const first = crawlMd(s, '/')
    await held.reached
    expect((await bounded(first, 20_000, 'the answer while its context close was held')).status).toBe(200)

    // The client sends its next request at once: the slot still counts, so it waits for it.
    const second = crawlMd(s, '/about')
    await waitFor(() => admission.queuedCount === 1, 20_000, 'the next request to wait for the slot')
    // The closing slot makes room for one waiter, no more: the queue bound still holds.
    expect((await crawlMd(s, '/')).status).toBe(429)

    held.release()
    expect((await second).status).toBe(200)
    await waitFor(() => admission.activeCount === 0 && admission.queuedCount === 0, 20_000, 'the slot back')
  })

  it('a kill without force does not wait for a crawl that has answered and only closes its context; one still running gets the 409', async () => {
    const { s, steps } = await serve()
    const cfg = { viewport_width: 1357 }
    const crawlCold = (path: string) =>
      fetch(`${s.url}/md`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: fx.url(path), browser_config: cfg }),
      })
    const cold = () => s.runtime.pool.list().find((b) => b.tier === 'cold')
    const kill = async (force = false) => {
      const res = await s.postNow('/monitor/actions/kill_browser', { sig: cold()!.sig, force })
      return { status: res.status, body: (await res.json()) as { killed?: { failed_crawls: number }; error?: string } }
    }

    // A crawl still running on the cold browser: the kill is refused, and says why.
    const gate = fx.gate('kill-running')
    const running = crawlCold('/gate/kill-running')
    await gate.reached
    const refused = await kill()
    expect(refused.status).toBe(409)
    expect(refused.body.error).toContain('serving 1 crawl')
    gate.release()
    expect((await running).status).toBe(200)
    await waitFor(() => cold()!.leases === 0, 20_000, 'the first crawl to release its lease')

    // A crawl that has answered, its context close held open: the lease still counts, but the kill goes through and fails nothing.
    const held = (next = new HeldClose(steps))
    const answered = crawlCold('/about')
    await held.reached
    expect((await bounded(answered, 20_000, 'the answer while its context close was held')).status).toBe(200)
    const browser = cold()!
    expect(browser.leases).toBe(1)
    expect(browser.servingLeases).toBe(0)
    const killed = await kill()
    expect(killed.status, JSON.stringify(killed.body)).toBe(200)
    expect(killed.body.killed?.failed_crawls).toBe(0)
    await waitFor(() => browser.state === 'closed', 20_000, 'the killed browser to be closed')
    // The held close then finds its browser gone: the lease and slot still come back.
    held.release()
    await waitFor(() => browser.leases === 0 && s.runtime.admission.activeCount === 0, 20_000, 'the lease and slot back')
  })

  it('shutdown waits for a close in flight before closing the browser, and leaves no Chromium process', async () => {
    const { s, steps, browser } = await serve()
    const pids = (await processTree(browser.pid as number)).filter(isAlive)
    expect(pids.length).toBeGreaterThan(1)
    const held = (next = new HeldClose(steps))
    const answer = crawlMd(s, '/')
    await held.reached
    expect((await bounded(answer, 20_000, 'the answer while its context close was held')).status).toBe(200)

    const shutdown = s.runtime.close()
    // The shutdown's reserve part is over; one turn of the event loop later a shutdown that did
    // not wait for the held close would already be closing the browser.
    await s.runtime.reserve.close()
    await new Promise((r) => setImmediate(r))
    expect(browser.state).toBe('active')
    expect(held.closed).toBe(false)

    held.release()
    await bounded(shutdown, 30_000, 'runtime.close()')
    expect(steps).toEqual(['context closed', 'lease released', 'slot free', 'browser closed (shutdown)'])
    expect(pids.filter(isAlive)).toEqual([])
  })
})
