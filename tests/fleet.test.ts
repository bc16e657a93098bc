import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { afterAll, describe, expect, it } from 'vitest'
import type { FleetMember, FleetResponse } from '../src/shared/monitor-fleet.js'
import { redisClient } from './helpers/redis-server.js'
import { serveDefaults, waitReady } from './helpers/serve-process.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/**
 * The fleet registry on the real Redis at 127.0.0.1:6379, under a key prefix of this run alone:
 * two in-process services and one `serve` process register, the SIGKILLed process leaves the
 * list within its TTL, a clean shutdown leaves it at once.
 */

const REDIS_URL = 'redis://127.0.0.1:6379'
const PREFIX = `crawldeck-test-fleet-${randomBytes(4).toString('hex')}:`
const TTL_SECONDS = 3

const services: TestService[] = []

async function fleetOf(s: TestService): Promise<FleetResponse> {
  const { status, body } = await s.get<FleetResponse>('/monitor/fleet')
  expect(status).toBe(200)
  return body
}

const ids = (f: FleetResponse): string[] => f.instances.map((i) => i.id).sort()

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()))
  const redis = redisClient(6379)
  await redis.connect()
  const keys = await redis.keys(`${PREFIX}*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
})

describe('a fleet on one Redis', () => {
  it('lists every live instance, drops a SIGKILLed one within its TTL and a stopped one at once', async () => {
    const config = { launch_permanent: false, redis_url: REDIS_URL, redis_prefix: PREFIX, fleet_ttl_seconds: TTL_SECONDS }
    const [a, b] = await Promise.all([startService(config), startService(config)])
    services.push(a, b)
    const process = serveDefaults(['--redis-url', REDIS_URL, '--redis-prefix', PREFIX, '--fleet-ttl', String(TTL_SECONDS), '--max-pages', '1'])
    const { port } = await waitReady(process)

    // An instance registers at start-up, and again with its address once its HTTP door listens.
    await waitFor(
      async () => {
        const f = await fleetOf(a)
        return f.instances.length === 3 && f.instances.every((i) => i.address !== null)
      },
      10_000,
      'three instances in the fleet, each with its address',
    )
    const seen = await fleetOf(a)
    expect(seen.backend).toBe('redis')
    expect(seen.self).toBe(a.runtime.fleet.id)
    expect(seen.ttl_seconds).toBe(TTL_SECONDS)
    // The one that answered comes first, marked; the others are as their last heartbeat said.
    const [first, ...others] = seen.instances as [FleetMember, ...FleetMember[]]
    expect(first).toMatchObject({ id: a.runtime.fleet.id, self: true, address: new URL(a.url).host, url: a.url.replace(/\/$/, '') })
    expect(others.every((i) => !i.self)).toBe(true)
    const fromB = others.find((i) => i.id === b.runtime.fleet.id)!
    expect(fromB).toMatchObject({ address: new URL(b.url).host, pid: globalThis.process.pid, ttl_seconds: TTL_SECONDS })
    const served = others.find((i) => i.pid === process.pid)!
    expect(served.address).toBe(`127.0.0.1:${port}`)
    expect(served.load).toMatchObject({ active: 0, queued: 0 })
    expect(served.pool.permanent).toBe(1)
    expect(served.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(served.heartbeat_age_ms).toBeLessThan(TTL_SECONDS * 1000)
    for (const i of seen.instances) {
      expect(i.health.memory_percent).toBeGreaterThan(0)
      expect(i.requests).toMatchObject({ completed: expect.any(Number), per_minute: expect.any(Number) })
    }
    // B sees the same fleet, itself marked.
    const fromBView = await fleetOf(b)
    expect(ids(fromBView)).toEqual(ids(seen))
    expect(fromBView.instances[0]).toMatchObject({ id: b.runtime.fleet.id, self: true })

    // SIGKILL: no goodbye; its key expires after the TTL, and the fleet forgets it.
    const killedId = served.id
    const killedAt = Date.now()
    globalThis.process.kill(process.pid, 'SIGKILL')
    await waitFor(async () => !ids(await fleetOf(a)).includes(killedId), (TTL_SECONDS + 2) * 1000, 'the killed instance to leave the fleet')
    // Within its TTL after its last heartbeat (a heartbeat is at most ttl/3 older than the kill), plus polling slack.
    expect(Date.now() - killedAt).toBeLessThan(TTL_SECONDS * 1000 + 1500)
    expect(ids(await fleetOf(a))).toEqual([a.runtime.fleet.id, b.runtime.fleet.id].sort())

    // A clean shutdown removes its registration at once.
    const bId = b.runtime.fleet.id
    await b.close()
    services.splice(services.indexOf(b), 1)
    expect(ids(await fleetOf(a))).toEqual([a.runtime.fleet.id])
    const redis = redisClient(6379)
    await redis.connect()
    expect(await redis.exists(`${PREFIX}fleet:instance:${bId}`)).toBe(0)
    expect(await redis.sismember(`${PREFIX}fleet:members`, bId)).toBe(0)
    expect(await redis.sismember(`${PREFIX}fleet:members`, killedId)).toBe(0)
    redis.disconnect()
  }, 60_000)

  it('labels every /metrics series with the stable instance name the fleet record carries', async () => {
    const a = services[0]!
    const res = await fetch(`${a.url}/metrics`)
    expect(res.status).toBe(200)
    const samples = (await res.text()).split('\n').filter((line) => line !== '' && !line.startsWith('#'))
    expect(samples.length).toBeGreaterThan(20)
    const self = (await fleetOf(a)).instances.find((i) => i.self)!
    // Not given one: <hostname>:<port as configured>.
    expect(self.name).toBe(`${hostname()}:${a.runtime.config.port}`)
    const label = `instance="${self.name}"`
    expect(samples.filter((line) => !line.includes(label))).toEqual([])
  })
})

describe('without Redis', () => {
  it('is a fleet of one', async () => {
    const s = await startService({ launch_permanent: false })
    services.push(s)
    const fleet = await fleetOf(s)
    expect(fleet).toMatchObject({ backend: 'local', self: s.runtime.fleet.id, error: null })
    expect(fleet.instances).toHaveLength(1)
    expect(fleet.instances[0]).toMatchObject({ id: s.runtime.fleet.id, self: true, address: new URL(s.url).host, heartbeat_age_ms: 0 })
    expect(fleet.instances[0]!.jobs).toMatchObject({ queued: 0 })
  })
})
