import { createHmac } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AlertRuleId, AlertSettingsPatch } from '../src/shared/alert-settings.js'
import type { AlertRecord, AlertsResponse } from '../src/shared/monitor-alerts.js'
import type { EngineEvents } from '../src/main/core/events.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { ALL_RULES_OFF } from './helpers/alert-rules.js'
import { bounded, startService, type TestService } from './helpers/service.js'

/**
 * Alerts against the real service: real memory readings, real crawls of fixture pages, a real
 * admission queue and a real permanent browser, with thresholds forced through POST /settings.
 * Each rule fires once and resolves once, reaches a webhook receiver on 127.0.0.1 signed, in the
 * format chosen, and is listed by GET /monitor/alerts.
 */

const SECRET = 'alert-test-secret-0123456789'

interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
}

let receiver: { origin: string; received: Received[]; close(): Promise<void> }
let fixture: FixtureServer
let service: TestService

async function startReceiver(): Promise<typeof receiver> {
  const sockets = new Set<Socket>()
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) })
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('ok')
    })
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

const ALL_OFF = { rules: ALL_RULES_OFF }

beforeAll(async () => {
  receiver = await startReceiver()
  fixture = await startFixtureServer()
  service = await startService(
    {
      launch_permanent: true,
      block_private_targets: true,
      // The fixture pages and the receiver live on 127.0.0.1; 127.0.0.2 stays refused.
      private_targets_allowed: ['127.0.0.1/32'],
      webhook_secret: SECRET,
      max_pages: 1,
      adaptive_admission: false,
      queue_size: 0,
      prewarm_pages: 0,
      alerts: ALL_OFF,
    },
    { webhookRetryDelayMs: 5, alertIntervalMs: 50 },
  )
}, 60_000)

afterAll(async () => {
  await service?.close()
  await fixture?.close()
  await receiver?.close()
})

async function settings(alerts: AlertSettingsPatch): Promise<{ status: number; body: any }> {
  return service.postJson('/settings', { alerts })
}

/** The deliveries of `rule`'s `status` that reached the receiver, each checked for a valid signature. */
function deliveriesOf(path: string, event: string): Array<Record<string, any>> {
  return receiver.received
    .filter((r) => r.path === path && r.headers['x-crawldeck-event'] === event)
    .map((r) => {
      const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`
      expect(r.headers['x-crawldeck-signature']).toBe(expected)
      return JSON.parse(r.body.toString('utf8')) as Record<string, any>
    })
}

/**
 * Switches `rule` on with `limits`, runs `trigger`, waits for the fired alert and its delivery,
 * then runs `clear`, waits for the resolve and its delivery; checks that exactly one of each
 * happened and that /monitor/alerts lists the episode.
 */
async function episode(
  rule: AlertRuleId,
  limits: Record<string, number | boolean>,
  format: 'json' | 'slack' | 'discord',
  trigger: () => Promise<unknown>,
  clear: () => Promise<unknown>,
): Promise<{ fired: AlertRecord; resolved: AlertRecord; bodies: Array<Record<string, any>> }> {
  const path = `/hook/${rule}`
  const before = service.eventsOf('alert:fired').filter((e) => e.alert === rule).length
  const fired = service.nextEvent('alert:fired', (e) => e.alert === rule, 30_000)
  const firedDelivered = service.nextEvent('webhook:delivered', (d) => d.task_id === `alert:${rule}:firing`, 30_000)
  const saved = await settings({
    ...ALL_OFF,
    rules: { ...ALL_OFF.rules, [rule]: { ...limits, enabled: true } },
    webhooks: [{ url: receiver.origin + path, format }],
  })
  expect(saved.status).toBe(200)
  expect(saved.body.applied).toContain('alerts')
  await trigger()
  const f = await fired
  await firedDelivered

  const listed = await service.get<AlertsResponse>('/monitor/alerts')
  expect(listed.status).toBe(200)
  expect(listed.body.active.map((a) => a.alert)).toEqual([rule])
  expect(listed.body.rules.find((r) => r.id === rule)?.state).toMatch(/firing|resolving/)

  const resolved = service.nextEvent('alert:resolved', (e) => e.alert === rule, 30_000)
  const resolvedDelivered = service.nextEvent('webhook:delivered', (d) => d.task_id === `alert:${rule}:resolved`, 30_000)
  await clear()
  const r = await resolved
  await resolvedDelivered
  // Switched off again so nothing more can happen; then exactly one fired and one resolved.
  expect((await settings(ALL_OFF)).status).toBe(200)
  await service.runtime.alerts.settled()
  expect(service.eventsOf('alert:fired').filter((e) => e.alert === rule)).toHaveLength(before + 1)
  expect(service.eventsOf('alert:resolved').filter((e) => e.alert === rule)).toHaveLength(before + 1)
  expect(r.id).toBe(f.id)

  const after = await service.get<AlertsResponse>('/monitor/alerts')
  expect(after.body.active.find((a) => a.alert === rule)).toBeUndefined()
  const record = after.body.history.find((h) => h.id === f.id)
  expect(record).toMatchObject({ alert: rule, status: 'resolved', fired_at: f.fired_at, resolved_at: r.resolved_at })
  // Newest first.
  expect(after.body.history[0]!.id).toBe(f.id)

  const bodies = [...deliveriesOf(path, 'alert.firing'), ...deliveriesOf(path, 'alert.resolved')]
  expect(bodies).toHaveLength(2)
  return { fired: f, resolved: r, bodies }
}

describe('alert rules against the real service', () => {
  it('memory_high: fires at a 1 % threshold on the real reading, resolves at 100 %; generic JSON, signed', async () => {
    const { bodies, fired } = await episode(
      'memory_high',
      { threshold: 1, hysteresis: 0.5, for_seconds: 0, resolve_after_seconds: 0 },
      'json',
      async () => undefined,
      () => settings({ rules: { memory_high: { threshold: 100 } } }),
    )
    expect(fired.value).toBeGreaterThanOrEqual(1)
    expect(bodies[0]).toMatchObject({ alert: 'memory_high', status: 'firing', threshold: 1, resolved_at: null, instance: service.runtime.fleet.id })
    expect(typeof bodies[0]!.value).toBe('number')
    expect(bodies[0]!.summary).toContain('memory use')
    expect(bodies[1]).toMatchObject({ alert: 'memory_high', status: 'resolved' })
    expect(Date.parse(bodies[1]!.resolved_at)).toBeGreaterThanOrEqual(Date.parse(bodies[1]!.started_at))
  }, 60_000)

  // First crawl of this service: no earlier request can be in its window.
  it('latency_p95: a crawl over a 1 ms threshold fires it; a window with no request resolves it; Discord body', async () => {
    const { bodies } = await episode(
      'latency_p95',
      { threshold: 1, hysteresis: 0.5, window_seconds: 1, min_requests: 1, for_seconds: 0, resolve_after_seconds: 0 },
      'discord',
      () => service.postJson('/md', { url: fixture.url('/') }),
      async () => undefined,
    )
    expect(bodies[0]!.content).toContain('FIRING latency_p95')
    expect(bodies[0]!.embeds[0].color).toBe(0xd9534f)
    expect(bodies[1]!.content).toContain('RESOLVED latency_p95')
  }, 60_000)

  it('error_rate: crawls of a failing page fire it, good crawls resolve it; Slack body', async () => {
    const crawl = async (path: string) => service.postJson('/md', { url: fixture.url(path) })
    const { bodies, fired } = await episode(
      'error_rate',
      { threshold: 50, hysteresis: 10, window_requests: 4, min_requests: 4, for_seconds: 0, resolve_after_seconds: 0 },
      'slack',
      async () => {
        for (let i = 0; i < 4; i++) await crawl('/status/500')
      },
      async () => {
        for (let i = 0; i < 4; i++) await crawl('/')
      },
    )
    expect(fired.value).toBeGreaterThanOrEqual(50)
    expect(bodies[0]!.text).toContain('FIRING error_rate')
    expect(Array.isArray(bodies[0]!.blocks)).toBe(true)
    expect(bodies[1]!.text).toContain('RESOLVED error_rate')
  }, 90_000)

  it('admission_rejections: a 429 with max_pages 1 and no queue fires it; it resolves once the window passes', async () => {
    const gate = fixture.gate('alerts-hold')
    let held: Promise<unknown> | null = null
    await episode(
      'admission_rejections',
      { threshold: 1, hysteresis: 0, window_seconds: 1, for_seconds: 0, resolve_after_seconds: 0 },
      'json',
      async () => {
        held = service.postJson('/md', { url: fixture.url('/gate/alerts-hold') })
        await gate.reached
        const refused = await service.postJson('/md', { url: fixture.url('/') })
        expect(refused.status).toBe(429)
      },
      async () => {
        gate.release()
        await held
      },
    )
  }, 60_000)

  it('permanent_browser_down: killing the permanent browser fires it; its relaunch resolves it', async () => {
    const crashed = service.nextEvent('browser:crashed', (e) => e.tier === 'permanent', 30_000)
    const { fired } = await episode(
      'permanent_browser_down',
      { for_seconds: 0, resolve_after_seconds: 0 },
      'json',
      async () => {
        const pid = service.runtime.pool.permanent()?.pid
        expect(pid).toBeTypeOf('number')
        process.kill(pid as number, 'SIGKILL')
        await crashed
      },
      // The pool relaunches it on its own.
      async () => undefined,
    )
    expect(fired.value).toBe(1)
  }, 60_000)
})

describe('alert settings and listing', () => {
  it('a bad value is a 400 naming the field; a private receiver is refused; nothing is saved', async () => {
    const cases: Array<[unknown, string]> = [
      [{ rules: { memory_high: { threshold: 'high' } } }, 'alerts.rules.memory_high.threshold'],
      [{ rules: { memory_high: { threshold: 150 } } }, 'alerts.rules.memory_high.threshold'],
      [{ rules: { memory_high: { threshold: 10, hysteresis: 10 } } }, 'alerts.rules.memory_high.hysteresis'],
      [{ rules: { no_such_rule: {} } }, 'alerts.rules'],
      [{ webhooks: [{ url: 'ftp://127.0.0.1/x' }] }, 'alerts.webhooks.0.url'],
      [{ webhooks: [{ url: 'https://h.example/x', format: 'teams' }] }, 'alerts.webhooks.0.format'],
      [{ webhooks: [{ url: receiver.origin }, { url: 'http://127.0.0.2:9/hook' }] }, 'alerts.webhooks.1.url'],
    ]
    const before = (await service.get('/settings')).body.settings.alerts
    for (const [alerts, field] of cases) {
      const res = await service.postJson('/settings', { alerts })
      expect(res.status, JSON.stringify(alerts)).toBe(400)
      expect(JSON.stringify(res.body), JSON.stringify(alerts)).toContain(field)
    }
    expect((await service.get('/settings')).body.settings.alerts).toEqual(before)
  })

  it('GET /monitor/alerts lists every rule with its settings and state, and /metrics has crawldeck_alerts_firing', async () => {
    const { status, body } = await service.get<AlertsResponse>('/monitor/alerts')
    expect(status).toBe(200)
    expect(body.rules.map((r) => r.id).sort()).toEqual(
      ['admission_rejections', 'error_rate', 'fleet_instance_gone', 'latency_p95', 'memory_high', 'permanent_browser_down', 'persistence_degraded'].sort(),
    )
    expect(body.rules.every((r) => r.state === 'disabled')).toBe(true)
    const metrics = await bounded(
      fetch(`${service.url}/metrics`).then((r) => r.text()),
      10_000,
      'GET /metrics',
    )
    expect(metrics).toMatch(/crawldeck_alerts_firing\{[^}]*alert="memory_high"[^}]*\} 0/)
  })
})

describe('alert history across a restart', () => {
  it('is kept in alerts.json: an episode firing at the stop comes back closed, with its times', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-alerts-'))
    try {
      const rules = { ...ALL_OFF.rules, memory_high: { enabled: true, threshold: 1, hysteresis: 0.5, for_seconds: 0, resolve_after_seconds: 0 } }
      const first = await startService({ launch_permanent: false, data_dir: dataDir, alerts: { rules } }, { alertIntervalMs: 50 })
      let fired: AlertRecord
      try {
        fired = await first.nextEvent('alert:fired', (e) => e.alert === 'memory_high')
        await first.runtime.alerts.settled()
      } finally {
        await first.close()
      }
      const second = await startService({ launch_permanent: false, data_dir: dataDir, alerts: ALL_OFF })
      try {
        const { body } = await second.get<AlertsResponse>('/monitor/alerts')
        expect(body.active).toEqual([])
        expect(body.history[0]).toMatchObject({ id: fired.id, alert: 'memory_high', status: 'resolved', fired_at: fired.fired_at })
        expect(body.history[0]!.summary).toContain('closed by a restart')
      } finally {
        await second.close()
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  }, 60_000)
})

// Keeps the event payload type honest: what the desktop shell and the receivers are built on.
const _shape: EngineEvents['alert:fired'] extends AlertRecord ? true : never = true
void _shape
