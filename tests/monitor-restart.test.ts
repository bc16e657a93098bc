import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { LiveMessage } from '../src/shared/monitor-types.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * The monitor, the live feed and the persister can be stopped and started again (the bench
 * toggles them), and a start() while already started must not subscribe or time anything twice:
 * the bench did exactly that for a day, recording every request once per extra start.
 */

let fx: FixtureServer
let s: TestService

beforeAll(async () => {
  ;[fx, s] = await Promise.all([startFixtureServer(), startService()])
})

afterAll(async () => {
  await s?.close()
  await fx?.close()
})

const mdCount = async () => ((await s.get('/monitor/endpoints/stats')).body as Record<string, { count: number }>)['/md']?.count ?? 0

describe('monitor start / stop', () => {
  it('a second start() of the monitor, the live feed and the persister records and pushes each request once', async () => {
    const rt = s.runtime
    // No second set of timers (samplers, ticks, flushes) either.
    const timers = vi.spyOn(globalThis, 'setInterval')
    try {
      rt.monitor.start()
      rt.live.start()
      await rt.persister.start()
      expect(timers).not.toHaveBeenCalled()
    } finally {
      timers.mockRestore()
    }

    const sub = rt.live.subscribe()
    const seen: LiveMessage[] = []
    const reading = (async () => {
      for await (const m of sub) seen.push(m)
    })()
    const url = fx.url('/about?restart=once')
    expect((await s.postJson('/md', { url })).status).toBe(200)
    expect(await mdCount()).toBe(1)
    // The feed is ordered: once a later request's request_finished has arrived, a duplicate of
    // the first one would have arrived before it.
    const later = fx.url('/about?restart=later')
    expect((await s.postJson('/md', { url: later })).status).toBe(200)
    const finished = (u: string) => seen.filter((m) => m.type === 'request_finished' && m.data.url === u)
    await waitFor(() => finished(later).length > 0, 10_000, 'the later request_finished message')
    expect(finished(url)).toHaveLength(1)
    expect(await mdCount()).toBe(2)
    sub.close()
    await reading

    // Stopped, a request is not recorded; started again, the next one is, once.
    rt.live.stop()
    rt.monitor.stop()
    await rt.persister.stop()
    expect((await s.postJson('/md', { url: fx.url('/about?restart=off') })).status).toBe(200)
    rt.monitor.start()
    rt.live.start()
    await rt.persister.start()
    expect((await s.postJson('/md', { url: fx.url('/about?restart=again') })).status).toBe(200)
    expect(await mdCount()).toBe(3)
  })
})
