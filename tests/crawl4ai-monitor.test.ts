import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { MemoryReading } from '../src/main/core/system/memory.js'
import { RESTART_NOTE } from '../src/main/core/service/monitor-service.js'
import { MONITOR_WS_INTERVAL_MS, WS_UNAUTHORIZED } from '../src/main/http/monitor-ws.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * The monitor in Crawl4AI's names and units, against a real service (real Chromium, real HTTP and
 * WebSocket): epoch seconds under Crawl4AI's time names with the milliseconds beside them under
 * `_ms`, lists oldest first unless `order=newest`, Crawl4AI's keys on janitor events and action
 * answers, and /monitor/ws (message, cadence, auth, origin, spelling, shutdown).
 */

let fx: FixtureServer
let s: TestService
const MEMORY: MemoryReading = { percent: 10, used_bytes: 10e8, limit_bytes: 100e8, source: 'host' }
const gates = new Set<string>()

beforeAll(async () => {
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ idle_ttl_seconds: 0, prewarm_pages: 0 }, { readMemory: () => MEMORY })])
  // Janitor passes only when a test asks (runOnce).
  s.runtime.janitor.stop()
}, 60_000)

afterEach(() => {
  for (const g of gates) fx.gate(g).release()
  gates.clear()
})

afterAll(async () => {
  for (const g of gates) fx.gate(g).release()
  await s?.close()
  await fx?.close()
})

const md = (path: string, browser_config?: object) => s.postJson('/md', { url: fx.url(path), ...(browser_config ? { browser_config } : {}) })

async function getOk<T = any>(path: string): Promise<T> {
  const r = await s.get<T>(path)
  expect(r.status, `${path} -> ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200)
  return r.body
}

/** A Crawl4AI time in epoch seconds, with its milliseconds beside it. */
function expectSecondsWithMs(seconds: unknown, ms: unknown, what: string): void {
  expect(typeof seconds, what).toBe('number')
  expect(typeof ms, what).toBe('number')
  // Seconds: within a minute of now (this file's events are recent), never milliseconds.
  expect(Math.abs((seconds as number) - Date.now() / 1000), `${what} is epoch seconds`).toBeLessThan(300)
  expect(Math.abs((seconds as number) * 1000 - (ms as number)), `${what}_ms = ${what} × 1000`).toBeLessThan(1)
}

const sorted = (xs: number[], dir: 1 | -1) => [...xs].sort((a, b) => dir * (a - b))

describe('Crawl4AI names and units on /monitor/*', () => {
  it('/monitor/requests: active and completed entries carry Crawl4AI fields, start_time/end_time in epoch seconds with _ms beside', async () => {
    gates.add('c4m-active')
    const g = fx.gate('c4m-active')
    const held = md('/gate/c4m-active')
    await g.reached
    const { active } = await getOk('/monitor/requests?status=active')
    const entry = active.find((r: any) => r.url === fx.url('/gate/c4m-active'))
    expect(entry).toMatchObject({ id: expect.any(String), endpoint: '/md', config_sig: expect.any(String), status: 'running', elapsed: expect.any(Number) })
    expect(Math.abs(entry.start_time - Date.now() / 1000)).toBeLessThan(30)
    expectSecondsWithMs(entry.start_time, entry.start_time_ms, 'active start_time')
    expect(entry.elapsed).toBeGreaterThanOrEqual(0)
    expect(entry.elapsed).toBeLessThan(30)
    g.release()
    expect((await held).status).toBe(200)

    const { completed } = await getOk('/monitor/requests?status=completed')
    const done = completed.find((r: any) => r.id === entry.id)
    for (const key of ['id', 'endpoint', 'url', 'start_time', 'config_sig', 'end_time', 'elapsed', 'mem_delta', 'success', 'error', 'status_code', 'pool_hit'])
      expect(done, `completed has ${key}`).toHaveProperty(key)
    expect(done).toMatchObject({ success: true, error: null, status_code: 200 })
    expectSecondsWithMs(done.start_time, done.start_time_ms, 'completed start_time')
    expectSecondsWithMs(done.end_time, done.end_time_ms, 'completed end_time')
    expect(done.start_time).toBe(entry.start_time)
    // elapsed is seconds: end - start.
    expect(Math.abs(done.elapsed - (done.end_time - done.start_time))).toBeLessThan(0.01)
    expect(done.end_time).toBeLessThanOrEqual(Date.now() / 1000 + 1)
  })

  it('lists are oldest first by default; order=newest reverses them; limit keeps the newest entries either way', async () => {
    for (const path of ['/', '/about', '/article']) expect((await md(path)).status).toBe(200)
    const all = (await getOk('/monitor/requests?status=completed&limit=1000')).completed as any[]
    expect(all.length).toBeGreaterThanOrEqual(4)
    const ends = all.map((r) => r.end_time_ms)
    expect(ends).toEqual(sorted(ends, 1))
    expect(all.at(-1).url).toBe(fx.url('/article'))

    const newest = (await getOk('/monitor/requests?status=completed&limit=1000&order=newest')).completed as any[]
    expect(newest.map((r) => r.id)).toEqual([...all].reverse().map((r) => r.id))

    const lastTwo = (await getOk('/monitor/requests?status=completed&limit=2')).completed as any[]
    expect(lastTwo.map((r) => r.url)).toEqual([fx.url('/about'), fx.url('/article')])
    const lastTwoNewest = (await getOk('/monitor/requests?status=completed&limit=2&order=newest')).completed as any[]
    expect(lastTwoNewest.map((r) => r.url)).toEqual([fx.url('/article'), fx.url('/about')])
    // Unknown parameters stay ignored; a wrong order is a 400 naming it.
    expect((await s.get('/monitor/requests?limit=2&sort=desc')).status).toBe(200)
    const bad = await s.get('/monitor/requests?order=desc')
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatch(/order/)
    expect((await s.get('/monitor/logs/janitor?order=up')).status).toBe(400)

    // The errors log, the same way.
    for (const code of [404, 410]) expect((await md(`/status/${code}`)).status).not.toBe(200)
    const errors = (await getOk('/monitor/logs/errors')).errors as any[]
    expect(errors.length).toBeGreaterThanOrEqual(2)
    for (const e of errors) expectSecondsWithMs(e.timestamp, e.timestamp_ms, 'error timestamp')
    expect(errors.map((e) => e.timestamp)).toEqual(
      sorted(
        errors.map((e) => e.timestamp),
        1,
      ),
    )
    expect(errors.at(-1).url).toBe(fx.url('/status/410'))
    const errorsNewest = (await getOk('/monitor/logs/errors?order=newest&limit=1')).errors as any[]
    expect(errorsNewest.map((e) => e.url)).toEqual([fx.url('/status/410')])
    expect((await getOk('/monitor/logs/errors?limit=1')).errors.map((e: any) => e.url)).toEqual([fx.url('/status/410')])

    // And the janitor log.
    const events = (await getOk('/monitor/logs/janitor')).events as any[]
    expect(events.length).toBeGreaterThanOrEqual(1)
    for (const e of events) expectSecondsWithMs(e.timestamp, e.timestamp_ms, 'janitor timestamp')
    expect(events.map((e) => e.timestamp)).toEqual(
      sorted(
        events.map((e) => e.timestamp),
        1,
      ),
    )
    const newestEvents = (await getOk('/monitor/logs/janitor?order=newest')).events as any[]
    expect(newestEvents.map((e) => e.timestamp_ms)).toEqual(events.map((e) => e.timestamp_ms).reverse())
  })

  it('/monitor/health: janitor.next_cleanup_estimate is "adaptive" while no pass is scheduled, memory_pressure LOW|MEDIUM|HIGH', async () => {
    const h = await getOk('/monitor/health')
    expect(h.janitor.next_cleanup_estimate).toBe('adaptive')
    expect(h.janitor.next_cleanup_in_seconds).toBeNull()
    expect(h.janitor.memory_pressure).toBe('LOW')
  })

  it('/monitor/timeline: timestamps are epoch seconds, timestamps_ms the same instants in milliseconds', async () => {
    await waitFor(async () => (await getOk('/monitor/timeline')).timestamps.length > 0, 20_000, 'a timeline point')
    for (const metric of ['memory', 'requests', 'browsers']) {
      const t = await getOk(`/monitor/timeline?metric=${metric}`)
      expect(t.timestamps_ms).toHaveLength(t.timestamps.length)
      t.timestamps.forEach((sec: number, i: number) => expectSecondsWithMs(sec, t.timestamps_ms[i], 'timeline timestamp'))
    }
  })

  it('actions and janitor events answer with Crawl4AI keys: killed_sig/pool_type, killed_browsers, ttl, count, killed, pool, note, message', async () => {
    const browsers = async () => (await getOk('/monitor/browsers')).browsers as any[]
    // A cold browser, then killed by its signature.
    expect((await md('/', { viewport_width: 1001 })).status).toBe(200)
    const cold = (await browsers()).find((b) => b.config.viewport_width === 1001)
    expect(cold.type).toBe('cold')
    const kill = await s.postJson('/monitor/actions/kill_browser', { sig: cold.full_sig })
    expect(kill.status, JSON.stringify(kill.body)).toBe(200)
    expect(kill.body).toMatchObject({ success: true, killed_sig: cold.full_sig.slice(0, 8), pool_type: 'cold', killed: { id: cold.id } })
    expect(kill.body.killed_sig).toMatch(/^[0-9a-f]{8}$/)

    // A cold browser closed by cleanup.
    expect((await md('/', { viewport_width: 1002 })).status).toBe(200)
    const cleanup = await s.postJson('/monitor/actions/cleanup', {})
    expect(cleanup.status).toBe(200)
    expect(cleanup.body).toMatchObject({ success: true, killed_browsers: 1 })
    expect(cleanup.body.closed).toHaveLength(1)

    // A cold browser closed by the janitor (idle_ttl_seconds 0), and one promoted on its 3rd use.
    expect((await md('/', { viewport_width: 1003 })).status).toBe(200)
    for (let i = 0; i < 3; i++) expect((await md('/', { viewport_width: 1004 })).status).toBe(200)
    const hot = (await browsers()).find((b) => b.config.viewport_width === 1004)
    expect(hot.type).toBe('hot')

    // Restart the hot browser: Crawl4AI's restarted_sig and note, crawldeck's details.
    const hotNow = hot
    const rh = await s.postJson('/monitor/actions/restart_browser', { sig: hotNow.full_sig })
    expect(rh.status, JSON.stringify(rh.body)).toBe(200)
    expect(rh.body).toEqual({
      success: true,
      restarted_sig: hotNow.full_sig.slice(0, 8),
      note: RESTART_NOTE,
      details: expect.objectContaining({ type: 'hot', old_id: hotNow.id }),
    })
    // The permanent browser: restarted "permanent".
    const rp = await s.postJson('/monitor/actions/restart_browser', { sig: 'permanent' })
    expect(rp.status, JSON.stringify(rp.body)).toBe(200)
    expect(rp.body).toMatchObject({
      success: true,
      restarted: 'permanent',
      restarted_sig: expect.stringMatching(/^[0-9a-f]{8}$/),
      details: { type: 'permanent' },
    })
    expect(rp.body.note).toBeUndefined()
    // Every idle browser but the permanent one goes (idle_ttl_seconds 0): the cold one as close_cold.
    expect(await s.runtime.janitor.runOnce()).toBeGreaterThanOrEqual(1)

    const events = (await getOk('/monitor/logs/janitor?limit=1000')).events as any[]
    const of = (type: string, sig?: string) => events.filter((e) => e.type === type && (sig === undefined || e.details.full_sig === sig))
    expect(of('kill_browser', cold.full_sig)[0]?.details).toMatchObject({ pool: 'cold', manual: true })
    expect(of('force_cleanup').at(-1)?.details).toMatchObject({ killed: 1 })
    const idle = events.find((e) => e.type === 'close_cold' && e.details.tier === 'cold')
    expect(idle?.details).toMatchObject({ ttl: expect.any(Number), idle_seconds: expect.any(Number) })
    expect(idle.details.ttl).toBe(idle.details.ttl_seconds)
    expect(of('promote', hot.full_sig)[0]?.details).toMatchObject({ count: 3, uses: 3 })
    const restarts = of('restart_browser')
    expect(restarts.map((e) => e.details.pool)).toEqual(expect.arrayContaining(['hot', 'permanent']))

    const reset = await s.postJson('/monitor/stats/reset', {})
    expect(reset.status).toBe(200)
    expect(reset.body).toMatchObject({ success: true, message: 'Endpoint stats reset', cleared: ['endpoint_stats'] })
  }, 120_000)
})

// ---- /monitor/ws ---------------------------------------------------------------------------------

const wsUrl = (svc: TestService, path = '/monitor/ws') => svc.url.replace(/^http/, 'ws') + path

/** Opens a socket and collects what it receives until closed. */
function openWs(url: string, opts: WebSocket.ClientOptions = {}) {
  const ws = new WebSocket(url, opts)
  const messages: Array<{ at: number; data: any }> = []
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  const refused = new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)))
  ws.on('message', (raw) => messages.push({ at: Date.now(), data: JSON.parse(raw.toString()) }))
  ws.on('error', () => undefined)
  return { ws, messages, closed, refused }
}

describe('/monitor/ws', () => {
  it('sends Crawl4AI’s message at once and then every 2 s; client frames are ignored, oversized ones close the socket', async () => {
    const c = openWs(wsUrl(s))
    await waitFor(() => c.messages.length >= 1, 10_000, 'the first message')
    const m = c.messages[0]!.data
    expect(Object.keys(m).sort()).toEqual(['browsers', 'errors', 'health', 'janitor', 'requests', 'timeline', 'timestamp'])
    expect(Math.abs(m.timestamp - Date.now() / 1000)).toBeLessThan(5)
    expect(m.health).toMatchObject({ container: expect.any(Object), pool: expect.any(Object), janitor: { next_cleanup_estimate: 'adaptive' } })
    expect(Array.isArray(m.requests.active)).toBe(true)
    expect(m.requests.completed.length).toBeGreaterThan(0)
    expect(m.requests.completed.length).toBeLessThanOrEqual(10)
    expect(m.requests.completed[0]).toHaveProperty('end_time_ms')
    expect(Array.isArray(m.browsers)).toBe(true)
    expect(m.browsers.some((b: any) => b.type === 'permanent')).toBe(true)
    expect(Object.keys(m.timeline).sort()).toEqual(['browsers', 'memory', 'requests'])
    expect(m.timeline.memory).toMatchObject({ timestamps: expect.any(Array), values: expect.any(Array) })
    expect(m.janitor.length).toBeGreaterThan(0)
    expect(m.janitor.length).toBeLessThanOrEqual(10)
    expect(m.errors.length).toBeLessThanOrEqual(10)
    // Oldest first, as the GET routes.
    expect(m.janitor.map((e: any) => e.timestamp)).toEqual(
      sorted(
        m.janitor.map((e: any) => e.timestamp),
        1,
      ),
    )
    // The message holds the log's last 10 events as they were when it was sent: the janitor may
    // have logged more since, so compare with the log up to the message's newest event.
    const log = (await getOk('/monitor/logs/janitor?limit=1000')).events as any[]
    const newest = m.janitor.at(-1).timestamp_ms
    const asSent = log.filter((e) => e.timestamp_ms <= newest).slice(-m.janitor.length)
    expect(m.janitor.map((e: any) => e.timestamp_ms)).toEqual(asSent.map((e) => e.timestamp_ms))

    c.ws.send('{"ignored": true}')
    await waitFor(() => c.messages.length >= 2, 10_000, 'the second message')
    const gap = c.messages[1]!.at - c.messages[0]!.at
    expect(gap).toBeGreaterThanOrEqual(MONITOR_WS_INTERVAL_MS - 500)
    expect(gap).toBeLessThan(MONITOR_WS_INTERVAL_MS + 1500)
    expect(c.ws.readyState).toBe(WebSocket.OPEN)

    c.ws.send('x'.repeat(64 * 1024))
    expect((await c.closed).code).toBe(1009)
    await waitFor(() => s.http.monitorWs.clientCount === 0, 5_000, 'the server to let the socket go')
  }, 30_000)

  it('refuses another origin (403) and other spellings (404); a plain GET is 426', async () => {
    const cross = openWs(wsUrl(s), { origin: 'http://evil.example' })
    expect(await cross.refused).toBe(403)
    const same = openWs(wsUrl(s), { origin: s.url })
    await waitFor(() => same.messages.length >= 1, 10_000, 'a same-origin message')
    same.ws.close()
    for (const path of ['/Monitor/ws', '/monitor/ws/', '/monitor/WS', '//monitor/ws', '/monitor/%77s']) {
      const c = openWs(wsUrl(s, path))
      expect(await c.refused, path).toBe(404)
    }
    const plain = await fetch(s.url + '/monitor/ws')
    expect(plain.status).toBe(426)
    expect(plain.headers.get('upgrade')).toBe('websocket')
    expect((await fetch(s.url + '/monitor/ws', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(404)
  })
})

describe('/monitor/ws with tokens', () => {
  const READ = 'read-token-for-ws-rrrrrrrr'
  const ADMIN = 'admin-token-for-ws-aaaaaaa'
  let t: TestService
  beforeAll(async () => {
    t = await startService({ launch_permanent: false, prewarm_pages: 0, admin_tokens: [ADMIN], read_tokens: [READ], max_connections_per_client: 6 })
  }, 60_000)
  afterAll(async () => {
    await t?.close()
  })

  it("/monitor/health: next_cleanup_estimate is the epoch second of the janitor's next pass while one is scheduled", async () => {
    const res = await fetch(`${t.url}/monitor/health`, { headers: { authorization: `Bearer ${READ}` } })
    const h = (await res.json()) as any
    expect(h.janitor.next_cleanup_in_seconds).toEqual(expect.any(Number))
    expect(h.janitor.next_cleanup_estimate).toEqual(expect.any(Number))
    expect(Math.abs(h.janitor.next_cleanup_estimate - (Date.now() / 1000 + h.janitor.next_cleanup_in_seconds))).toBeLessThan(2)
  })

  it('closes with 4401 without a valid token; accepts the read token by header, by ?token= and by session cookie', async () => {
    const none = openWs(wsUrl(t))
    expect((await none.closed).code).toBe(WS_UNAUTHORIZED)
    expect(none.messages).toEqual([])
    const wrong = openWs(wsUrl(t) + '?token=not-a-valid-token-xxxx')
    expect((await wrong.closed).code).toBe(WS_UNAUTHORIZED)
    // The header wins over the query, as in Crawl4AI.
    const headerWins = openWs(wsUrl(t) + `?token=${READ}`, { headers: { authorization: 'Bearer not-a-valid-token-yyyy' } })
    expect((await headerWins.closed).code).toBe(WS_UNAUTHORIZED)

    const byHeader = openWs(wsUrl(t), { headers: { authorization: `Bearer ${READ}` } })
    const byQuery = openWs(wsUrl(t) + `?token=${READ}`)
    const signIn = await fetch(`${t.url}/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: READ }),
    })
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string
    const byCookie = openWs(wsUrl(t), { headers: { cookie }, origin: t.url })
    for (const c of [byHeader, byQuery, byCookie]) await waitFor(() => c.messages.length >= 1, 10_000, 'a message to an authorized client')
    expect(byQuery.messages[0]!.data).toHaveProperty('health')
    expect(t.http.monitorWs.clientCount).toBe(3)

    // Sockets count toward the per-client connection limit (6 here, the sign-in's kept-alive
    // connection and those above included): opening more, one is cut before any message.
    const more: Array<ReturnType<typeof openWs>> = []
    let cut: ReturnType<typeof openWs> | null = null
    for (let i = 0; i < 6 && cut === null; i++) {
      const c = openWs(wsUrl(t), { headers: { authorization: `Bearer ${READ}` } })
      const first = await Promise.race([c.closed.then(() => 'closed' as const), new Promise<'open'>((r) => c.ws.once('message', () => r('open')))])
      if (first === 'closed') cut = c
      else more.push(c)
    }
    expect(cut, 'a socket past the limit').not.toBeNull()
    expect(cut!.messages).toEqual([])
    expect(3 + more.length).toBeLessThanOrEqual(6)

    // Closing the service closes the sockets.
    const open = [byHeader, byQuery, byCookie, ...more]
    const closing = t.close()
    const codes = await Promise.all(open.map((c) => c.closed))
    await closing
    t = undefined as unknown as TestService
    for (const c of codes) expect([1001, 1006]).toContain(c.code)
  }, 60_000)
})
