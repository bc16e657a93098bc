import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { HistoryBatch, HistoryStore } from '../src/main/core/history/history-store.js'
import { LmdbHistoryStore } from '../src/main/core/history/lmdb-history-store.js'
import { RedisHistoryStore } from '../src/main/core/history/redis-history-store.js'
import { HOUR_SECONDS, RETENTION, Rollups } from '../src/main/core/history/rollups.js'
import { rng } from './helpers/rng.js'
import { freePort, redisClient, startRedis, stopAllRedis, stopRedis } from './helpers/redis-server.js'

/*
 * Both history back-ends, for real: LMDB in a temp data dir and a private Redis. Round trip,
 * trimming on write, per-instance keys in Redis, and the size bound of docs/history.md after 90
 * simulated days of traffic.
 */

/** docs/history.md's bound for the whole store, with up to 10 endpoints. */
const SIZE_BOUND_BYTES = 24 * 1024 * 1024

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'crawldeck-history-'))
  dirs.push(d)
  return d
}
afterAll(async () => {
  await stopAllRedis()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const NOW = Math.floor(Date.now() / 1000 / HOUR_SECONDS) * HOUR_SECONDS
const gauges = (m: number) => ({ memory: m, cpu: m / 2, limit: 8, queue: 1, browsers: { permanent: 1, hot: 1, cold: 2 } })

/** A small history: two minutes an hour apart, their hours, and an endpoint hour. */
function sample(now: number): HistoryBatch {
  const r = new Rollups()
  r.recordTick((now - HOUR_SECONDS) * 1000, gauges(10))
  r.recordTick(now * 1000, gauges(20))
  r.recordRequest('/md', { success: true, elapsed_ms: 120, pool_hit: true }, now * 1000)
  return r.takeDirty(now)!
}

async function roundTripAndTrim(store: HistoryStore): Promise<void> {
  const batch = sample(NOW)
  await store.write(batch, NOW)
  const back = await store.load(NOW)
  expect(back.minutes).toEqual(batch.minutes)
  expect(back.hours).toEqual(batch.hours)
  expect(back.endpoints).toEqual(batch.endpoints)
  // An upsert replaces the bucket.
  const changed = { ...batch, minutes: [{ ...batch.minutes[1]!, requests: 99 }], hours: [], endpoints: [] }
  await store.write(changed, NOW)
  expect((await store.load(NOW)).minutes.find((b) => b.t === NOW)?.requests).toBe(99)

  // 48 h later the minutes are gone (from the store, not only from the answer); hours stay.
  const later = NOW + RETENTION.minute + 2 * HOUR_SECONDS
  await store.write(sample(later), later)
  const after = await store.load(later)
  expect(after.minutes.map((b) => b.t)).toEqual([later - HOUR_SECONDS, later])
  expect(after.hours.map((b) => b.t)).toEqual([NOW - HOUR_SECONDS, NOW, later - HOUR_SECONDS, later])
  // Beyond the endpoints' 30 days and the hours' 90, those go too.
  const muchLater = NOW + RETENTION.hour + 3 * 86_400
  await store.write(sample(muchLater), muchLater)
  const last = await store.load(muchLater)
  expect(last.hours.map((b) => b.t)).toEqual([muchLater - HOUR_SECONDS, muchLater])
  expect(last.endpoints.map((e) => e.t)).toEqual([muchLater])
}

/**
 * 90 days (plus some, so trimming is at work) of a busy service, written the way the persister
 * does: 10 endpoints, latencies spread over three orders of magnitude, so histograms are wide.
 * Returns the store's size after each day.
 */
async function simulate(store: HistoryStore, days: number): Promise<number[]> {
  const rand = rng(7)
  const r = new Rollups()
  const start = NOW - days * 86_400
  const sizes: number[] = []
  for (let hour = 0; hour < days * 24; hour++) {
    const h0 = start + hour * HOUR_SECONDS
    // A tick every 15 s rather than the live 5 s: a bucket holds the same fields either way.
    for (let s = 0; s < HOUR_SECONDS; s += 15) {
      const t = (h0 + s) * 1000
      r.recordTick(t, gauges(40 + 20 * rand()))
      r.recordRequest(
        `/endpoint-${Math.floor(rand() * 10)}`,
        { success: rand() > 0.05, elapsed_ms: 20 * 200 ** rand(), pool_hit: true, cache_hit: rand() > 0.8 },
        t,
      )
    }
    // Written every 6 simulated hours: the same buckets as the persister's every few seconds (each
    // write replaces a bucket whole), with a few hundred store writes rather than thousands.
    if (hour % 6 !== 5) continue
    const now = h0 + HOUR_SECONDS
    await store.write(r.takeDirty(now)!, now)
    if (hour % 24 === 23) sizes.push(await store.bytes())
  }
  return sizes
}

describe('LMDB history store', () => {
  it('round-trips buckets and trims what is past its retention', async () => {
    const store = new LmdbHistoryStore(await tempDir())
    try {
      await roundTripAndTrim(store)
    } finally {
      await store.close()
    }
  })

  it('reopens with what was written (a restart)', async () => {
    const dir = await tempDir()
    const first = new LmdbHistoryStore(dir)
    const batch = sample(NOW)
    await first.write(batch, NOW)
    await first.close()
    const second = new LmdbHistoryStore(dir)
    try {
      expect((await second.load(NOW)).hours).toEqual(batch.hours)
    } finally {
      await second.close()
    }
  })

  it(`stays within ${SIZE_BOUND_BYTES} bytes after 90 simulated days (and stops growing)`, { timeout: 240_000 }, async () => {
    const store = new LmdbHistoryStore(await tempDir())
    try {
      const sizes = await simulate(store, 95)
      const peak = Math.max(...sizes)
      console.log(`LMDB history after 95 simulated days: ${sizes.at(-1)} bytes (peak ${peak})`)
      expect(peak).toBeLessThan(SIZE_BOUND_BYTES)
      // Past the longest retention the file reuses its freed pages: the last days add nothing much.
      expect(sizes.at(-1)!).toBeLessThanOrEqual(sizes[89]! * 1.1)
      const held = await store.load(NOW)
      expect(held.minutes.length).toBeLessThanOrEqual(RETENTION.minute / 60 + 1)
      expect(held.hours.length).toBeLessThanOrEqual(RETENTION.hour / HOUR_SECONDS + 1)
    } finally {
      await store.close()
    }
  })
})

describe('Redis history store', () => {
  it('round-trips and trims, each instance under its own keys', async () => {
    const port = await freePort()
    const redis = await startRedis(port)
    const url = `redis://127.0.0.1:${port}`
    const a = new RedisHistoryStore(url, 'test:', 'host-a')
    const b = new RedisHistoryStore(url, 'test:', 'host-b')
    const r = redisClient(port)
    try {
      await roundTripAndTrim(a)
      // The other instance's history is its own: empty.
      expect(await b.load(NOW)).toEqual({ minutes: [], hours: [], endpoints: [] })
      await r.connect()
      const keys = await r.keys('test:history:*')
      expect(keys.length).toBeGreaterThan(0)
      expect(keys.every((k) => k.startsWith('test:history:host-a:'))).toBe(true)
      // Every key expires: nothing is kept for ever if the instance never comes back.
      for (const k of keys) expect(await r.ttl(k)).toBeGreaterThan(0)
    } finally {
      r.disconnect()
      await a.close()
      await b.close()
      await stopRedis(redis)
    }
  })

  it(`stays within ${SIZE_BOUND_BYTES} bytes after 90 simulated days`, { timeout: 240_000 }, async () => {
    const port = await freePort()
    const redis = await startRedis(port)
    const store = new RedisHistoryStore(`redis://127.0.0.1:${port}`, 'crawldeck:', 'size-test')
    try {
      const sizes = await simulate(store, 95)
      const peak = Math.max(...sizes)
      console.log(`Redis history after 95 simulated days: ${sizes.at(-1)} bytes (peak ${peak})`)
      // Redis expires the days by its own clock, and the simulation ends now: at the end every
      // resolution holds its full retention (and its one extra day), the steady state.
      expect(sizes.at(-1)).toBe(peak)
      expect(peak).toBeLessThan(SIZE_BOUND_BYTES)
      const held = await store.load(NOW)
      expect(held.minutes.length).toBeGreaterThanOrEqual(RETENTION.minute / 60 - 60)
      expect(held.hours.length).toBeGreaterThanOrEqual(RETENTION.hour / HOUR_SECONDS - 24)
    } finally {
      await store.close()
      await stopRedis(redis)
    }
  })
})
