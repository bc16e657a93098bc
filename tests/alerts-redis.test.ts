import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import type { AlertsResponse } from '../src/shared/monitor-alerts.js'
import { ALL_RULES_OFF } from './helpers/alert-rules.js'
import { freePort, redisClient, startRedis, stopAllRedis } from './helpers/redis-server.js'
import { serveDefaults, waitReady } from './helpers/serve-process.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/**
 * The alert rules that need Redis, against real ones: persistence_degraded with a Redis that is not
 * there yet and then starts; fleet_instance_gone with a `serve` process SIGKILLed out of a fleet on
 * the Redis at 127.0.0.1:6379 (under a key prefix of this run alone), and an instance closed
 * cleanly, which must not fire it.
 */

const PREFIX = `crawldeck-test-alerts-${randomBytes(4).toString('hex')}:`
const services: TestService[] = []

afterAll(async () => {
  await Promise.all(services.map((s) => s.close()))
  await stopAllRedis()
  const redis = redisClient(6379)
  await redis.connect()
  const keys = await redis.keys(`${PREFIX}*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
})

describe('alerts that need Redis', () => {
  it('persistence_degraded fires while the Redis of the monitor history is missing and resolves once it answers', async () => {
    const port = await freePort() // nothing listens here yet
    const s = await startService(
      {
        launch_permanent: false,
        redis_url: `redis://127.0.0.1:${port}`,
        redis_prefix: `${PREFIX}p:`,
        persist_interval_ms: 100,
        alerts: { rules: { ...ALL_RULES_OFF, persistence_degraded: { enabled: true, for_seconds: 0, resolve_after_seconds: 0 } } },
      },
      { alertIntervalMs: 50 },
    )
    services.push(s)
    // It may fire during start-up, before a listener could be added here: the log has every event.
    await waitFor(() => s.eventsOf('alert:fired').some((e) => e.alert === 'persistence_degraded'), 30_000, 'persistence_degraded to fire')
    const listed = await s.get<AlertsResponse>('/monitor/alerts')
    expect(listed.body.active.map((a) => a.alert)).toEqual(['persistence_degraded'])
    expect(listed.body.active[0]!.summary).toContain('not being saved')

    const resolved = s.nextEvent('alert:resolved', (e) => e.alert === 'persistence_degraded', 40_000)
    await startRedis(port)
    await resolved
    await s.runtime.alerts.settled()
    expect(s.eventsOf('alert:fired').filter((e) => e.alert === 'persistence_degraded')).toHaveLength(1)
    expect(s.eventsOf('alert:resolved').filter((e) => e.alert === 'persistence_degraded')).toHaveLength(1)
  }, 90_000)

  it('fleet_instance_gone fires once for a SIGKILLed member, not for one that shut down cleanly, and resolves after its window', async () => {
    const ttl = 3
    const fleet = { redis_url: 'redis://127.0.0.1:6379', redis_prefix: `${PREFIX}f:`, fleet_ttl_seconds: ttl, launch_permanent: false }
    const watcher = await startService(
      {
        ...fleet,
        alerts: { rules: { ...ALL_RULES_OFF, fleet_instance_gone: { enabled: true, window_seconds: 2, for_seconds: 0, resolve_after_seconds: 0 } } },
      },
      { alertIntervalMs: 100 },
    )
    services.push(watcher)
    const leaver = await startService({ ...fleet, alerts: { rules: ALL_RULES_OFF } })
    const killed = serveDefaults(['--redis-url', fleet.redis_url, '--redis-prefix', fleet.redis_prefix, '--fleet-ttl', String(ttl), '--max-pages', '1'])
    await waitReady(killed)
    const members = async () => (await watcher.runtime.fleet.list()).instances.length
    await waitFor(async () => (await members()) === 3, 15_000, 'three instances in the fleet')
    // Seen by the alert rule too (it reads the fleet every third of the TTL).
    await waitFor(() => watcher.runtime.alerts.fleetMembers().length === 2, 15_000, 'the alert rule to know both other members')

    // A clean shutdown removes its registration at once: no alert.
    await leaver.close()
    await waitFor(async () => (await members()) === 2, 10_000, 'the cleanly stopped instance to leave')

    const fired = watcher.nextEvent('alert:fired', (e) => e.alert === 'fleet_instance_gone', (ttl + 10) * 1000)
    process.kill(killed.pid, 'SIGKILL')
    const f = await fired
    expect(f.value).toBe(1)
    expect(f.summary).toContain('without a clean shutdown')
    await watcher.nextEvent('alert:resolved', (e) => e.alert === 'fleet_instance_gone', 20_000)
    await watcher.runtime.alerts.settled()
    expect(watcher.eventsOf('alert:fired').filter((e) => e.alert === 'fleet_instance_gone')).toHaveLength(1)
    expect(watcher.eventsOf('alert:resolved').filter((e) => e.alert === 'fleet_instance_gone')).toHaveLength(1)
  }, 120_000)
})
