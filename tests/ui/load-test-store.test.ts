import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { useLoadTestStore } from '../../src/renderer/src/stores/load-test.js'
import { useMonitorStore } from '../../src/renderer/src/stores/monitor.js'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { TransportError } from '../../src/renderer/src/transport/types.js'
import type { CrawlResponse } from '../../src/shared/crawl-schemas.js'
import type { EndpointStatsResponse } from '../../src/shared/monitor-types.js'
import { FakeTransport, health, snapshot } from './fixtures.js'

/*
 * The load test's scheduler against a transport whose answers the test releases one by one: it
 * never has more in flight than the admission limit allows now (which may move mid-run), counts
 * refusals apart, and after Stop sends nothing more (aborting streams).
 */

interface Pending {
  name: string
  urls: string[]
  signal: AbortSignal | null
  answer: (failedUrls?: number) => void
  refuse: (status: number) => void
}

class HeldTransport extends FakeTransport {
  pending: Pending[] = []
  monitorCount = 0
  monitorErrors = 0

  constructor() {
    super({
      // Only the fields the load test reads: the rest of EndpointStats and CrawlResult would be noise here.
      monitorEndpointStats: () => ({ '/crawl': { count: this.monitorCount, errors: this.monitorErrors } }) as unknown as EndpointStatsResponse,
      crawl: (input: unknown) =>
        new Promise((resolve, reject) => {
          const urls = (input as { urls: string[] }).urls
          this.pending.push({
            name: 'crawl',
            urls,
            signal: null,
            answer: (failed = 0) =>
              resolve({
                success: true,
                results: urls.map((url, i) => ({
                  url,
                  success: i >= failed,
                  status_code: i >= failed ? 200 : 404,
                  error_message: i >= failed ? null : 'not found',
                })),
              } as unknown as CrawlResponse),
            refuse: (status) => reject(new TransportError('queue full', status, 'queue_full', null)),
          })
        }),
    })
  }

  override async stream(name: never, input: unknown, onLine: (line: unknown) => void, signal?: AbortSignal): Promise<void> {
    const urls = (input as { urls: string[] }).urls
    let done = false
    await new Promise<void>((resolve, reject) => {
      // The server records a stream cut by its client as a failed request.
      signal?.addEventListener(
        'abort',
        () => {
          if (done) return
          this.monitorCount++
          this.monitorErrors++
          reject(new TransportError('network error: aborted', 0, 'network', null))
        },
        { once: true },
      )
      this.pending.push({
        name,
        urls,
        signal: signal ?? null,
        answer: () => {
          for (const url of urls) onLine({ url, success: true, status_code: 200, error_message: null })
          onLine({ status: 'completed' })
          done = true
          resolve()
        },
        refuse: (status) => reject(new TransportError('refused', status, null, null)),
      })
    })
  }

  /** Answers the oldest pending request, and counts it as the monitor would. */
  next(how: { failed?: number; refuse?: number } = {}): void {
    const p = this.pending.shift()
    if (!p) throw new Error('nothing pending')
    this.monitorCount++
    if (how.refuse) {
      this.monitorErrors++
      p.refuse(how.refuse)
    } else {
      if (how.failed) this.monitorErrors++
      p.answer(how.failed)
    }
  }
}

let t: HeldTransport

function setLimit(limit: number): void {
  const h = health()
  useMonitorStore().applySnapshot(snapshot({ health: { ...h, admission: { ...h.admission, limit, max_limit: 8 } } }))
}

beforeEach(() => {
  setActivePinia(createPinia())
  t = new HeldTransport()
  setTransport(t)
})

const settle = () => new Promise((r) => setTimeout(r, 0))

describe('load test store', () => {
  it('keeps in flight at most the concurrency, within the admission limit as it moves', async () => {
    setLimit(3)
    const lt = useLoadTestStore()
    lt.form = { urls: 'http://a.test/', source: 'repeat', count: 10, concurrency: 5, batch: 1, delivery: 'call' }
    expect(lt.plan.concurrency).toBe(3)
    const run = lt.start()
    await vi.waitFor(() => expect(t.pending).toHaveLength(3))
    // The limit falls to 1: answers free slots but nothing new is sent until one is left in flight.
    setLimit(1)
    t.next()
    await settle()
    expect(t.pending).toHaveLength(2)
    t.next()
    await settle()
    expect(t.pending).toHaveLength(1)
    t.next()
    await vi.waitFor(() => expect(t.pending).toHaveLength(1))
    // It rises to 8: the plan's own concurrency (3) holds.
    setLimit(8)
    await vi.waitFor(() => expect(t.pending).toHaveLength(3))
    while (t.pending.length > 0) {
      t.next(t.monitorCount === 4 ? { refuse: 429 } : t.monitorCount === 5 ? { failed: 1 } : {})
      await settle()
    }
    await run
    expect(lt.state).toBe('done')
    const sum = lt.summary!
    expect(sum.stats).toMatchObject({ requests: 10, ok: 8, failed: 1, refused: 1, pages: 8 })
    expect(sum.stats.errors.map((e) => e.key).sort()).toEqual(['HTTP 429 queue_full', 'page 404: not found'])
    expect(sum.monitor).toEqual({ count: 10, errors: 2 })
    expect(sum.monitorNote).toBeNull()
  })

  it('Stop sends nothing more and ends once the calls in flight are answered', async () => {
    setLimit(8)
    const lt = useLoadTestStore()
    lt.form = { urls: 'http://a.test/', source: 'repeat', count: 10, concurrency: 2, batch: 1, delivery: 'call' }
    const run = lt.start()
    await vi.waitFor(() => expect(t.pending).toHaveLength(2))
    t.next()
    await vi.waitFor(() => expect(t.pending).toHaveLength(2))
    lt.stop()
    expect(lt.state).toBe('stopping')
    t.next()
    t.next()
    await run
    expect(lt.state).toBe('stopped')
    expect(t.calls.filter((c) => c.name === 'crawl')).toHaveLength(3)
    expect(lt.summary).toMatchObject({ state: 'stopped', notSent: 7, aborted: 0, stats: { requests: 3, ok: 3 } })
  })

  it('Stop aborts the streams in flight, in batches of the chosen size', async () => {
    setLimit(8)
    const lt = useLoadTestStore()
    lt.form = {
      urls: 'http://a.test/1\nhttp://a.test/2\nhttp://a.test/3\nhttp://a.test/4\nhttp://a.test/5',
      source: 'list',
      count: 0,
      concurrency: 2,
      batch: 2,
      delivery: 'stream',
    }
    const run = lt.start()
    await vi.waitFor(() => expect(t.pending).toHaveLength(2))
    expect(t.pending.map((p) => p.urls)).toEqual([
      ['http://a.test/1', 'http://a.test/2'],
      ['http://a.test/3', 'http://a.test/4'],
    ])
    t.next()
    await vi.waitFor(() => expect(t.pending).toHaveLength(2))
    const inFlight = t.pending.map((p) => p.signal!)
    lt.stop()
    await run
    expect(inFlight.every((s) => s.aborted)).toBe(true)
    expect(lt.summary).toMatchObject({ state: 'stopped', notSent: 0, aborted: 2, stats: { requests: 3, ok: 1, failed: 2, pages: 2 } })
    expect(lt.summary!.stats.errors).toEqual([{ key: 'stopped: stream aborted in flight', count: 2 }])
    expect(lt.summary!.monitor).toEqual({ count: 3, errors: 2 })
  })
})
