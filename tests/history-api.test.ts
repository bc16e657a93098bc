import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HistoryWritten } from '../src/main/core/history/history-keeper.js'
import { LmdbHistoryStore } from '../src/main/core/history/lmdb-history-store.js'
import { Rollups } from '../src/main/core/history/rollups.js'
import type { EndpointHistoryResponse, TimelineResponse } from '../src/shared/monitor-types.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { freePort, redisClient, startRedis, stopAllRedis, stopRedis } from './helpers/redis-server.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * The long history through the real service: 7 days of buckets fabricated in the data dir's
 * LMDB, a real start that loads them, /monitor/timeline at 24 h (1 min points) and 7 d (1 h
 * points) with nulls exactly where nothing was recorded, then a real crawl that lands in the
 * current bucket once the persister has written it, and is still there after a restart.
 */

const MIN = 60
const HOUR = 3600
let fx: FixtureServer
let dataDir: string
let s: TestService | null = null
/** Minute and hour starts (epoch s) at fabrication: ages are counted from them. */
let fabMinute = 0
let fabHour = 0
/** Ages with nothing recorded: minutes 100..159 ago, hours 30..35 ago. */
const minuteGap = (age: number) => age >= 100 && age < 160
const hourGap = (age: number) => age >= 30 && age < 36

beforeAll(async () => {
  ;[fx, dataDir] = await Promise.all([startFixtureServer(), mkdtemp(join(tmpdir(), 'crawldeck-history-api-'))])
  const now = Date.now() / 1000
  fabMinute = Math.floor(now / MIN) * MIN
  fabHour = Math.floor(now / HOUR) * HOUR
  const r = new Rollups()
  const tick = (sec: number, memory: number) => r.recordTick(sec * 1000, { memory, cpu: 5, limit: 4, queue: 0, browsers: { permanent: 1, hot: 0, cold: 0 } })
  for (let age = 1; age < 24 * 60; age++) if (!minuteGap(age)) tick(fabMinute - age * MIN + 5, 42)
  for (let age = 25; age < 7 * 24; age++) if (!hourGap(age)) tick(fabHour - age * HOUR + 5, 30)
  const store = new LmdbHistoryStore(dataDir)
  await store.write(r.takeDirty(Math.floor(now))!, Math.floor(now))
  await store.close()
})

afterAll(async () => {
  await s?.close()
  await stopAllRedis()
  await fx?.close()
  await rm(dataDir, { recursive: true, force: true })
})

async function timeline(metric: string, window: string): Promise<TimelineResponse> {
  const res = await s!.get<TimelineResponse>(`/monitor/timeline?metric=${metric}&window=${window}`)
  expect(res.status).toBe(200)
  return res.body
}

/** Resolves at the first history write that took its state at or after `sinceMs`. */
function writtenSince(svc: TestService, sinceMs: number): Promise<HistoryWritten> {
  return new Promise((resolve) => {
    const off = svc.runtime.history.onWritten((w) => {
      if (w.taken_at < sinceMs) return
      off()
      resolve(w)
    })
  })
}

describe('history through the service', () => {
  it('loads the stored history at start: 24h at 1 min, 7d at 1 h, nulls where the service was down', async () => {
    s = await startService({ data_dir: dataDir, launch_permanent: false })
    const day = await timeline('memory', '24h')
    expect(day).toMatchObject({ metric: 'memory', window: '86400s', resolution_seconds: 60 })
    expect(day.timestamps).toHaveLength(1440)
    expect(day.timestamps_ms).toEqual(day.timestamps.map((t) => t * 1000))
    let checked = 0
    for (const [i, t] of day.timestamps.entries()) {
      const age = (fabMinute - t) / MIN
      if (age < 1 || age >= 24 * 60) continue
      checked++
      expect(day.values[i], `minute ${age} ago`).toBe(minuteGap(age) ? null : 42)
    }
    expect(checked).toBeGreaterThan(1400)

    const week = await timeline('memory', '7d')
    expect(week).toMatchObject({ resolution_seconds: 3600, window: '604800s' })
    expect(week.timestamps).toHaveLength(168)
    for (const [i, t] of week.timestamps.entries()) {
      const age = (fabHour - t) / HOUR
      if (age >= 25) expect(week.values[i], `hour ${age} ago`).toBe(hourGap(age) ? null : 30)
      // The last day's hours are folded from the fabricated minutes: up, at their average.
      else if (age >= 3 && age < 24) expect(week.values[i], `hour ${age} ago`).toBe(42)
    }
    // The live window is untouched: 5 s points from the ring.
    expect((await timeline('memory', '5m')).resolution_seconds).toBe(5)
  })

  it('a real crawl lands in the current bucket once the persister has written it, and survives a restart', async () => {
    const before = Date.now()
    const finished = s!.nextEvent('request:finished')
    expect((await s!.postJson('/md', { url: fx.url('/about') })).status).toBe(200)
    await finished
    // The monitor counted it when the event fired: the first write whose state was taken since holds it.
    await writtenSince(s!, Date.now())
    const sum = (tl: TimelineResponse) => (tl.values as Array<number | null>).reduce<number>((n, v) => n + (v ?? 0), 0)
    expect(sum(await timeline('requests', '1h'))).toBe(1)
    expect(sum(await timeline('requests', '7d'))).toBe(1)
    const p50 = (await timeline('latency_p50', '1h')).values as Array<number | null>
    expect(p50.some((v) => v !== null && v > 0)).toBe(true)
    const hours = await s!.get<EndpointHistoryResponse>(`/monitor/history/endpoints?from=${Math.floor(before / 1000) - HOUR}`)
    expect(hours.status).toBe(200)
    expect(hours.body.resolution_seconds).toBe(3600)
    expect(hours.body.hours).toHaveLength(1)
    expect(hours.body.hours[0]!.endpoints['/md']).toMatchObject({ count: 1, errors: 0 })

    // A restart: the store gives it back, and the time down is a gap (no new point was invented).
    await s!.close()
    s = await startService({ data_dir: dataDir, launch_permanent: false })
    expect(sum(await timeline('requests', '1h'))).toBe(1)
    const iso = new Date(before - HOUR * 1000).toISOString()
    const again = await s.get<EndpointHistoryResponse>(`/monitor/history/endpoints?from=${encodeURIComponent(iso)}&to=${Math.ceil(Date.now() / 1000) + 1}`)
    expect(again.body.hours[0]!.endpoints['/md']).toMatchObject({ count: 1 })
  })

  it('refuses bad windows, metrics and ranges with a 400 that says what is accepted', async () => {
    const bad = async (path: string, why: RegExp) => {
      const res = await s!.get<{ error?: string; message?: string; detail?: string }>(path)
      expect(res.status, path).toBe(400)
      expect(JSON.stringify(res.body), path).toMatch(why)
    }
    await bad('/monitor/timeline?window=1w', /accepted: .*5m, 1h, 24h, 7d, 30d/)
    await bad('/monitor/timeline?window=4s', /at least 5s/)
    await bad('/monitor/timeline?window=301s', /whole minutes/)
    await bad('/monitor/timeline?window=91d', /at most 90d/)
    await bad('/monitor/timeline?metric=disk&window=1h', /metric/)
    await bad('/monitor/history/endpoints?from=yesterday', /from must be epoch seconds or an ISO 8601 time/)
    await bad('/monitor/history/endpoints?from=200&to=100', /from must be before to/)
    await bad('/monitor/history/endpoints?from=0&to=31536000', /at most 30 days/)
    await bad(`/monitor/history/endpoints?from=${Math.floor(Date.now() / 1000) + 10 * HOUR}`, /from must be before to/)
    await bad('/monitor/history/endpoints?to=2026-13-45T00:00:00Z', /to must be epoch seconds or an ISO 8601 time/)
  })
})

describe('history in Redis through the service', () => {
  it("keeps this instance's buckets under its own keys and gives them back after a restart", async () => {
    await s?.close()
    s = null
    const port = await freePort()
    const redis = await startRedis(port)
    const config = { redis_url: `redis://127.0.0.1:${port}`, redis_prefix: 'hist:', instance_name: 'node-a', launch_permanent: false }
    const r = redisClient(port)
    try {
      s = await startService(config)
      const finished = s.nextEvent('request:finished')
      expect((await s.postJson('/md', { url: fx.url('/about') })).status).toBe(200)
      await finished
      await writtenSince(s, Date.now())
      await r.connect()
      const keys = await r.keys('hist:history:*')
      expect(keys.length).toBeGreaterThanOrEqual(3)
      expect(keys.every((k) => k.startsWith('hist:history:node-a:'))).toBe(true)
      await s.close()
      s = await startService(config)
      const sum = (tl: TimelineResponse) => (tl.values as Array<number | null>).reduce<number>((n, v) => n + (v ?? 0), 0)
      expect(sum(await timeline('requests', '1h'))).toBe(1)
      expect(sum(await timeline('requests', '30d'))).toBe(1)
    } finally {
      r.disconnect()
      await s?.close()
      s = null
      await stopRedis(redis)
    }
  })
})
