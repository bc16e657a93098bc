import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EngineEventBus } from '../src/main/core/events.js'
import { INTERRUPTED_ERROR, WEBHOOK_LOG_SIZE, WebhookLog } from '../src/main/core/monitor/webhook-log.js'
import type { WebhooksResponse } from '../src/shared/monitor-webhooks.js'
import { WebhookConfigSchema } from '../src/shared/webhook-config.js'
import { freePort, startRedis, stopAllRedis } from './helpers/redis-server.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * /monitor/webhooks survives a restart: the recent deliveries (with their attempts) and the totals
 * are stored with the monitor's history, in the data dir's file or in Redis, bounded to the 200 kept.
 */

let receiver: Server
let origin: string
const hits = new Map<string, number>()
let redis: ChildProcess | undefined
let redisUrl: string
const dirs: string[] = []

beforeAll(async () => {
  // /flaky answers 502 once then 200; /gone answers 410 (not retried).
  receiver = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const path = req.url ?? '/'
      const n = hits.get(path) ?? 0
      hits.set(path, n + 1)
      res.writeHead(path.startsWith('/flaky') ? (n === 0 ? 502 : 200) : 410).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`
  const port = await freePort()
  redis = await startRedis(port)
  redisUrl = `redis://127.0.0.1:${port}`
}, 30_000)

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve))
  if (redis) await stopAllRedis()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const target = (url: string) => WebhookConfigSchema.parse({ webhook_url: url })
const payload = (task_id: string) => ({
  task_id,
  task_type: 'crawl' as const,
  status: 'completed' as const,
  timestamp: new Date().toISOString().replace('Z', '+00:00'),
  urls: ['https://example.com/'],
})

for (const backend of ['file', 'redis'] as const) {
  describe(`the webhook log across a restart (${backend} store)`, () => {
    it('lists the same deliveries, with their attempts, and the same totals', async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-webhooks-persist-'))
      dirs.push(dataDir)
      const config = {
        data_dir: dataDir,
        launch_permanent: false,
        ...(backend === 'redis' ? { redis_url: redisUrl, redis_prefix: `whlog-${Date.now()}:` } : {}),
      }
      const first: TestService = await startService(config, { webhookRetryDelayMs: 5 })
      let before: WebhooksResponse
      try {
        const delivered = await first.runtime.webhooks.send(target(`${origin}/flaky-${backend}`), payload('crawl_0000000a'))
        expect(delivered.status).toBe('delivered')
        const failed = await first.runtime.webhooks.send(target(`${origin}/gone`), payload('crawl_0000000b'))
        expect(failed.status).toBe('failed')
        before = (await first.get<WebhooksResponse>('/monitor/webhooks')).body
        expect(before.totals).toEqual({ delivered: 1, failed: 1, refused: 0, pending: 0, attempts: 3 })
      } finally {
        await first.close()
      }

      const second = await startService(config, { webhookRetryDelayMs: 5 })
      try {
        const after = (await second.get<WebhooksResponse>('/monitor/webhooks')).body
        expect(after.totals).toEqual(before.totals)
        expect(after.deliveries).toEqual(before.deliveries)
        const [gone, flaky] = after.deliveries
        expect(gone).toMatchObject({ task_id: 'crawl_0000000b', status: 'failed', attempts: 1, last_status_code: 410 })
        expect(flaky).toMatchObject({ task_id: 'crawl_0000000a', status: 'delivered', attempts: 2, last_status_code: 200, last_error: null })
        expect(flaky!.attempt_log.map((a) => a.status_code)).toEqual([502, 200])
        expect(flaky!.attempt_log[0]!.error).toMatch(/HTTP 502/)

        // New deliveries add to what was restored, and are kept for the next start too.
        await second.runtime.webhooks.send(target(`${origin}/gone`), payload('crawl_0000000c'))
        const more = (await second.get<WebhooksResponse>('/monitor/webhooks')).body
        expect(more.deliveries.map((d) => d.task_id)).toEqual(['crawl_0000000c', 'crawl_0000000b', 'crawl_0000000a'])
        expect(more.totals).toEqual({ delivered: 1, failed: 2, refused: 0, pending: 0, attempts: 4 })
      } finally {
        await second.close()
      }
      const third = await startService(config, { webhookRetryDelayMs: 5 })
      try {
        const last = (await third.get<WebhooksResponse>('/monitor/webhooks')).body
        expect(last.deliveries.map((d) => d.task_id)).toEqual(['crawl_0000000c', 'crawl_0000000b', 'crawl_0000000a'])
        expect(last.totals.failed).toBe(2)
      } finally {
        await third.close()
      }
    }, 60_000)
  })
}

describe('the stored webhook log', () => {
  /** A delivery as the sender announces it: one attempt, then its end (none for a pending one). */
  function deliver(events: EngineEventBus, i: number, end: 'delivered' | 'failed' | null): void {
    const id = `whd_${i.toString(16).padStart(16, '0')}`
    const task_id = `crawl_${i.toString(16).padStart(8, '0')}`
    const url = 'http://hooks.example/x'
    events.emit('webhook:attempt', {
      delivery_id: id,
      task_id,
      url,
      attempt: 1,
      status_code: 500,
      error: 'HTTP 500',
      duration_ms: 1,
      retry_in_ms: end ? null : 1000,
    })
    if (end)
      events.emit(end === 'delivered' ? 'webhook:delivered' : 'webhook:failed', {
        id,
        task_id,
        url,
        status: end,
        attempts: 1,
        last_status_code: 500,
        last_error: 'HTTP 500',
        started_at: 1_000_000 + i,
        finished_at: 1_000_001 + i,
        duration_ms: 1,
      })
  }

  it('keeps the last 200 with every total, and shows a delivery cut off by a stop as failed', () => {
    const events = new EngineEventBus()
    const log = new WebhookLog(events)
    log.start()
    for (let i = 0; i < WEBHOOK_LOG_SIZE + 5; i++) deliver(events, i, i % 2 === 0 ? 'delivered' : 'failed')
    deliver(events, 999, null)
    const stored = JSON.parse(JSON.stringify(log.stored()))
    expect(stored.deliveries).toHaveLength(WEBHOOK_LOG_SIZE)
    expect(stored.totals).toEqual({ delivered: 103, failed: 102, refused: 0, attempts: 206 })

    const restarted = new WebhookLog(new EngineEventBus())
    restarted.restore(stored)
    const view = restarted.read({ limit: 1000, status: 'all' }, false)
    expect(view.deliveries).toHaveLength(WEBHOOK_LOG_SIZE)
    // The pending one never ended: failed, saying why, and counted.
    expect(view.deliveries[0]).toMatchObject({ task_id: 'crawl_000003e7', status: 'failed', last_error: INTERRUPTED_ERROR })
    expect(view.totals).toEqual({ delivered: 103, failed: 103, refused: 0, pending: 0, attempts: 206 })

    // Whatever is not a delivery is left out, not shown broken.
    const odd = new WebhookLog(new EngineEventBus())
    odd.restore({ deliveries: [{ id: 1 }, null, 'x', { ...stored.deliveries[0], attempt_log: 'no' }], totals: { delivered: -4, failed: 'many' } })
    expect(odd.read({ limit: 10, status: 'all' }, false)).toEqual({
      deliveries: [],
      totals: { delivered: 0, failed: 0, refused: 0, pending: 0, attempts: 0 },
      signed: false,
    })
  })
})
