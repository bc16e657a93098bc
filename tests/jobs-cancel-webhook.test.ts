import { createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ChildProcess } from 'node:child_process'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { JobStatusResponse } from '../src/shared/job-schemas.js'
import type { WebhooksResponse } from '../src/shared/monitor-webhooks.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { freePort, startRedis, stopAllRedis } from './helpers/redis-server.js'
import { TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * A cancelled job announces itself to its webhook_config's receiver, once, signed as usual: a
 * queued job at the DELETE, a running one once it stops. On both queues: embedded (LMDB) and
 * BullMQ on a private Redis.
 */

const SECRET = 'cancel-webhook-secret-0123456789'

interface Received {
  headers: IncomingHttpHeaders
  raw: Buffer
  body: Record<string, unknown>
}

let fx: FixtureServer
let receiver: Server
let hook: string
const received: Received[] = []
const scope = new TestScope(() => fx)
const { serve, gate } = scope
let redis: ChildProcess
let redisUrl: string

beforeAll(async () => {
  fx = await startFixtureServer()
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      received.push({ headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
  const port = await freePort()
  redis = await startRedis(port)
  redisUrl = `redis://127.0.0.1:${port}`
}, 30_000)

afterEach(() => {
  scope.releaseGates()
})

afterAll(async () => {
  await scope.closeAll()
  await new Promise((resolve) => receiver?.close(resolve))
  await fx?.close()
  if (redis) await stopAllRedis()
})

async function submit(s: TestService, body: unknown): Promise<string> {
  const res = await s.postJson('/crawl/job', body)
  expect(res.status, JSON.stringify(res.body)).toBe(202)
  return res.body.task_id as string
}

async function until(s: TestService, id: string, wanted: JobStatusResponse['status']): Promise<JobStatusResponse> {
  let last: JobStatusResponse | null = null
  await waitFor(
    async () => {
      last = (await s.get<JobStatusResponse>(`/crawl/job/${id}`)).body
      return last.status === wanted
    },
    40_000,
    `job ${id} to be ${wanted}`,
  )
  return last as unknown as JobStatusResponse
}

const del = (s: TestService, id: string) => fetch(`${s.url}/crawl/job/${id}`, { method: 'DELETE' })
const sent = (id: string) => received.filter((r) => r.body.task_id === id)

for (const backend of ['embedded', 'bullmq'] as const) {
  describe(`a cancelled job's webhook (${backend})`, () => {
    it('is sent once, signed, for a queued job at the DELETE and for a running one once it stops', async () => {
      const s = await serve({
        max_pages: 2,
        adaptive_admission: false,
        prewarm_pages: 0,
        webhook_secret: SECRET,
        ...(backend === 'bullmq' ? { redis_url: redisUrl, redis_prefix: `cancel-hook-${Date.now()}:` } : {}),
      })
      const webhook_config = { webhook_url: hook }
      const ga = gate(`${backend}-cancel-a`)
      const gb = gate(`${backend}-cancel-b`)
      // A: 8 URLs with the first held, so a cancel leaves some uncrawled; B holds the other slot.
      const aUrls = [fx.url(`/gate/${backend}-cancel-a`), ...Array.from({ length: 7 }, (_, i) => fx.url(`/cache/${backend}-cancel-a-${i}`))]
      const a = await submit(s, { urls: aUrls, webhook_config })
      await ga.reached
      const b = await submit(s, { urls: [fx.url(`/gate/${backend}-cancel-b`)] })
      await gb.reached
      const cUrls = [fx.url(`/cache/${backend}-cancel-c`)]
      const c = await submit(s, { urls: cUrls, webhook_config })
      expect((await s.get<JobStatusResponse>(`/crawl/job/${c}`)).body.status).toBe('queued')

      // Queued: announced at the DELETE, while A and B still hold both slots.
      const cancelC = await del(s, c)
      expect(cancelC.status).toBe(200)
      await waitFor(() => sent(c).length === 1, 20_000, "the queued job's cancelled webhook")
      const [hc] = sent(c)
      expect(hc!.body).toEqual({ task_id: c, task_type: 'crawl', status: 'cancelled', timestamp: expect.stringMatching(/\+00:00$/), urls: cUrls })
      expect(hc!.headers['x-crawldeck-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(hc!.raw).digest('hex')}`)
      // A second DELETE of a cancelled job announces nothing more.
      expect((await del(s, c)).status).toBe(200)

      // Running: announced once it has stopped, with the same shape (no data, no error).
      expect((await del(s, a)).status).toBe(200)
      expect(sent(a)).toHaveLength(0)
      ga.release()
      gb.release()
      await until(s, a, 'cancelled')
      await until(s, b, 'completed')
      await waitFor(() => sent(a).length === 1, 20_000, "the running job's cancelled webhook")
      const [ha] = sent(a)
      expect(ha!.body).toEqual({ task_id: a, task_type: 'crawl', status: 'cancelled', timestamp: expect.stringMatching(/\+00:00$/), urls: aUrls })
      expect(ha!.headers['x-crawldeck-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(ha!.raw).digest('hex')}`)

      // A last job's delivery comes after any stray repeat of the two would have been sent.
      const d = await submit(s, { urls: [fx.url(`/cache/${backend}-cancel-d`)], webhook_config })
      await until(s, d, 'completed')
      await waitFor(() => sent(d).length === 1, 20_000, "the last job's webhook")
      expect(sent(a)).toHaveLength(1)
      expect(sent(c)).toHaveLength(1)
      expect(sent(b)).toHaveLength(0)
      const log = (await s.get<WebhooksResponse>(`/monitor/webhooks?limit=10`)).body
      expect(log.deliveries.map((x) => x.task_id)).toEqual([d, a, c])
      expect(log.deliveries.every((x) => x.status === 'delivered')).toBe(true)
    }, 90_000)
  })
}
