import { createHmac } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AddressPolicy } from '../src/main/core/egress/address-policy.js'
import { EngineEventBus, type EngineEvents } from '../src/main/core/events.js'
import { WebhookSender, type WebhookPayload } from '../src/main/core/jobs/webhooks.js'
import { VERSION } from '../src/main/core/version.js'
import { WebhookConfigSchema, type WebhookConfig } from '../src/shared/webhook-config.js'
import { startService, type TestService } from './helpers/service.js'

/**
 * Job webhooks against real HTTP receivers. Receivers the sender may reach live on 127.0.0.1,
 * exempted with private_targets_allowed; the "internal" one lives on 127.0.0.2, which Linux
 * routes to lo like all of 127/8 and which the private-target rules refuse.
 */

const SECRET = 'webhook-test-secret-0123456789'

interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
}

type Answer = { status: number; headers?: Record<string, string> }

interface Receiver {
  origin: string
  port: number
  received: Received[]
  connections: number
  /** Answers the nth request (0-based) to `path`. */
  answer: (path: string, n: number) => Answer
  close(): Promise<void>
}

async function startReceiver(host: string, answer: Receiver['answer'] = () => ({ status: 200 })): Promise<Receiver> {
  const sockets = new Set<Socket>()
  const counts = new Map<string, number>()
  const receiver: Receiver = { origin: '', port: 0, received: [], connections: 0, answer, close: async () => {} }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const path = req.url ?? '/'
      receiver.received.push({ path, headers: req.headers, body: Buffer.concat(chunks) })
      const n = counts.get(path) ?? 0
      counts.set(path, n + 1)
      const a = receiver.answer(path, n)
      res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers })
      res.end(a.status >= 400 ? `answer ${a.status}` : 'ok')
    })
  })
  server.on('connection', (s: Socket) => {
    receiver.connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, host, () => r()))
  receiver.port = (server.address() as AddressInfo).port
  receiver.origin = `http://${host}:${receiver.port}`
  receiver.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      server.close(() => r())
    })
  return receiver
}

function payload(status: 'completed' | 'failed' = 'completed'): WebhookPayload {
  return {
    task_id: 'crawl_0123abcd',
    task_type: 'crawl',
    status,
    timestamp: new Date().toISOString().replace('Z', '+00:00'),
    urls: ['https://example.com/'],
    ...(status === 'failed' ? { error: 'boom' } : {}),
    data: { results: [{ url: 'https://example.com/', success: true }] },
  }
}

const target = (url: string, more: Partial<WebhookConfig> = {}): WebhookConfig => WebhookConfigSchema.parse({ webhook_url: url, ...more })

/** A sender under the private-target rules with 127.0.0.1 exempted, its events recorded. */
function sender(options: { secret?: string | null; lookup?: ConstructorParameters<typeof WebhookSender>[0]['lookup'] } = {}) {
  const events = new EngineEventBus()
  const log: Array<{ name: string; payload: unknown }> = []
  for (const name of ['webhook:attempt', 'webhook:delivered', 'webhook:failed'] as const) events.on(name, (p) => log.push({ name, payload: p }))
  const s = new WebhookSender({
    secret: options.secret === undefined ? SECRET : options.secret,
    policy: new AddressPolicy(['127.0.0.1/32']),
    lookup: options.lookup,
    events,
    baseDelayMs: 5,
  })
  const attempts = () => log.filter((e) => e.name === 'webhook:attempt').map((e) => e.payload as EngineEvents['webhook:attempt'])
  return { sender: s, log, attempts }
}

let receiver: Receiver
let internal: Receiver

beforeAll(async () => {
  internal = await startReceiver('127.0.0.2')
  receiver = await startReceiver('127.0.0.1')
})

afterAll(async () => {
  await receiver?.close()
  await internal?.close()
})

function reset(answer: Receiver['answer']): void {
  receiver.received.length = 0
  receiver.answer = answer
}

describe('delivery', () => {
  it('retries a receiver that fails twice with 500 and delivers exactly once, signed over the exact body', async () => {
    reset((path, n) => ({ status: path === '/flaky' && n < 2 ? 500 : 200 }))
    const { sender: s, log, attempts } = sender()
    const delivery = await s.send(target(`${receiver.origin}/flaky`, { webhook_headers: { 'X-Team': 'blue' } }), payload())

    expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200, last_error: null, task_id: 'crawl_0123abcd' })
    expect(receiver.received.map((r) => r.path)).toEqual(['/flaky', '/flaky', '/flaky'])
    const ok = receiver.received[2]!
    // The receiver's check, from the raw bytes it got.
    const expected = `sha256=${createHmac('sha256', SECRET).update(ok.body).digest('hex')}`
    expect(ok.headers['x-crawldeck-signature']).toBe(expected)
    expect(createHmac('sha256', 'another-secret-of-some-length').update(ok.body).digest('hex')).not.toBe(expected.slice(7))
    expect(ok.headers['content-type']).toBe('application/json')
    expect(ok.headers['user-agent']).toBe(`crawldeck-webhook/${VERSION}`)
    expect(ok.headers['x-crawldeck-event']).toBe('job.finished')
    expect(ok.headers['x-team']).toBe('blue')
    // One delivery id across its attempts, so a receiver can drop a duplicate.
    expect(new Set(receiver.received.map((r) => r.headers['x-crawldeck-delivery']))).toEqual(new Set([delivery.id]))
    const body = JSON.parse(ok.body.toString('utf8'))
    expect(body).toMatchObject({ task_id: 'crawl_0123abcd', task_type: 'crawl', status: 'completed', urls: ['https://example.com/'] })
    // data only when webhook_data_in_payload is set.
    expect(body).not.toHaveProperty('data')
    expect(body).not.toHaveProperty('error')

    expect(attempts().map((a) => [a.attempt, a.status_code, a.retry_in_ms])).toEqual([
      [1, 500, 5],
      [2, 500, 10],
      [3, 200, null],
    ])
    expect(log.filter((e) => e.name === 'webhook:delivered')).toHaveLength(1)
    expect(log.filter((e) => e.name === 'webhook:failed')).toHaveLength(0)
  })

  it('sends the result only when asked and the job completed, and the error only when it failed', async () => {
    reset(() => ({ status: 204 }))
    const { sender: s } = sender()
    await s.send(target(`${receiver.origin}/data`, { webhook_data_in_payload: true }), payload('completed'))
    await s.send(target(`${receiver.origin}/data`, { webhook_data_in_payload: true }), payload('failed'))
    const [completed, failed] = receiver.received.map((r) => JSON.parse(r.body.toString('utf8')))
    expect(completed.data).toEqual({ results: [{ url: 'https://example.com/', success: true }] })
    expect(failed).not.toHaveProperty('data')
    expect(failed.error).toBe('boom')
  })

  it('tries a 404 receiver once', async () => {
    reset(() => ({ status: 404 }))
    const { sender: s, log } = sender()
    const delivery = await s.send(target(`${receiver.origin}/gone`), payload())
    expect(delivery).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 404 })
    expect(delivery.last_error).toMatch(/HTTP 404/)
    expect(receiver.received).toHaveLength(1)
    expect(log.map((e) => e.name)).toEqual(['webhook:attempt', 'webhook:failed'])
  })

  it('gives up after 5 attempts at a receiver that keeps failing, the delays doubling', async () => {
    reset(() => ({ status: 503 }))
    const { sender: s, attempts } = sender()
    const delivery = await s.send(target(`${receiver.origin}/down`), payload())
    expect(delivery).toMatchObject({ status: 'failed', attempts: 5, last_status_code: 503 })
    expect(receiver.received).toHaveLength(5)
    expect(attempts().map((a) => a.retry_in_ms)).toEqual([5, 10, 20, 40, null])
  })

  it('retries a network error (nothing listening)', async () => {
    const closed = await startReceiver('127.0.0.1')
    const url = `${closed.origin}/`
    await closed.close()
    const { sender: s } = sender()
    const delivery = await s.send(target(url), payload())
    expect(delivery.status).toBe('failed')
    expect(delivery.attempts).toBe(5)
    expect(delivery.last_status_code).toBeNull()
    expect(delivery.last_error).toMatch(/ECONNREFUSED/)
  })

  it('follows a redirect on an allowed host, POSTing the body again', async () => {
    reset((path) => (path === '/moved' ? { status: 307, headers: { location: '/here' } } : { status: 200 }))
    const { sender: s } = sender()
    const delivery = await s.send(target(`${receiver.origin}/moved`), payload())
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1 })
    expect(receiver.received.map((r) => r.path)).toEqual(['/moved', '/here'])
    expect(receiver.received[1]!.body.equals(receiver.received[0]!.body)).toBe(true)
    expect(receiver.received[1]!.headers['x-crawldeck-signature']).toBe(receiver.received[0]!.headers['x-crawldeck-signature'])
  })

  it('stops at a redirect to a blocked address, without retrying or connecting there', async () => {
    reset(() => ({ status: 302, headers: { location: `${internal.origin}/metadata` } }))
    const before = internal.connections
    const { sender: s } = sender()
    const delivery = await s.send(target(`${receiver.origin}/bounce`), payload())
    expect(delivery.status).toBe('failed')
    expect(delivery.attempts).toBe(1)
    expect(delivery.last_error).toMatch(/redirected to a refused destination.*127\.0\.0\.2.*loopback/)
    expect(receiver.received).toHaveLength(1)
    expect(internal.connections).toBe(before)
  })

  it('sends no signature without a secret', async () => {
    reset(() => ({ status: 200 }))
    const { sender: s } = sender({ secret: null })
    expect(s.signs).toBe(false)
    await s.send(target(`${receiver.origin}/plain`), payload())
    expect(receiver.received[0]!.headers).not.toHaveProperty('x-crawldeck-signature')
    expect(receiver.received[0]!.headers['x-crawldeck-delivery']).toMatch(/^whd_[0-9a-f]{16}$/)
  })
})

describe('private targets', () => {
  it('refuses a receiver on a blocked address in checkTarget and in send, connecting nowhere', async () => {
    const { sender: s, log } = sender()
    expect(await s.checkTarget(`${receiver.origin}/ok`)).toBeNull()
    const reason = await s.checkTarget(`${internal.origin}/hook`)
    expect(reason).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/hook is the address 127\.0\.0\.2.*127\.0\.0\.0\/8 \(loopback\)/)
    expect(await s.checkTarget('http://169.254.169.254/latest/meta-data/')).toMatch(/link-local/)
    expect(await s.checkTarget('http://[::ffff:10.0.0.1]/')).toMatch(/10\.0\.0\.0\/8 \(private\)/)
    expect(await s.checkTarget('ftp://example.com/')).toMatch(/only http: and https:/)

    const before = internal.connections
    const delivery = await s.send(target(`${internal.origin}/hook`), payload())
    expect(delivery).toMatchObject({ status: 'refused', attempts: 0, last_status_code: null })
    expect(internal.connections).toBe(before)
    expect(log.map((e) => e.name)).toEqual(['webhook:failed'])
  })

  it('refuses a name that resolves to a blocked address', async () => {
    const { sender: s } = sender({ lookup: async () => [{ address: '10.1.2.3', family: 4 }] })
    expect(await s.checkTarget('http://hooks.example.test/')).toMatch(/resolves to 10\.1\.2\.3, in 10\.0\.0\.0\/8 \(private\)/)
  })

  it('lets a name that does not resolve yet pass the check, and retries it at delivery', async () => {
    const lookup = async () => {
      throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' })
    }
    const { sender: s } = sender({ lookup })
    expect(await s.checkTarget('http://not-yet.example.test/')).toBeNull()
    const delivery = await s.send(target('http://not-yet.example.test/'), payload())
    expect(delivery).toMatchObject({ status: 'failed', attempts: 5, last_status_code: null })
    expect(delivery.last_error).toMatch(/does not resolve \(ENOTFOUND\)/)
  })

  it('connects to the address it checked: a name that rebinds after the check cannot move the POST', async () => {
    reset(() => ({ status: 200 }))
    let calls = 0
    // First answer allowed, every later one private: a second lookup would land on 127.0.0.2.
    const lookup = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '127.0.0.2', family: 4 }])
    const before = internal.connections
    const { sender: s } = sender({ lookup })
    const delivery = await s.send(target(`http://rebind.example.test:${receiver.port}/pinned`), payload())
    expect(delivery.status).toBe('delivered')
    expect(calls).toBe(1)
    expect(receiver.received[0]!.headers.host).toBe(`rebind.example.test:${receiver.port}`)
    expect(internal.connections).toBe(before)
  })
})

describe('webhook_config rules', () => {
  const issues = (value: unknown): string[] => {
    const r = WebhookConfigSchema.safeParse(value)
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  }

  it('accepts a plain config with its defaults', () => {
    expect(WebhookConfigSchema.parse({ webhook_url: 'https://hooks.example.com/x' })).toEqual({
      webhook_url: 'https://hooks.example.com/x',
      webhook_data_in_payload: false,
      webhook_headers: null,
    })
  })

  it('refuses bad URLs, names, values, counts and the forbidden names, each with a clear message', () => {
    expect(issues({ webhook_url: 'file:///etc/passwd' })).toEqual([expect.stringMatching(/webhook_url must be an http: or https: URL, not file:/)])
    expect(issues({ webhook_url: 'not a url' })).toEqual([expect.stringMatching(/not a valid absolute URL/)])
    expect(issues({})).toEqual([expect.stringMatching(/^webhook_url: /)])
    expect(issues({ webhook_url: 'https://h.example/', webhook_headers: { 'Bad Name': 'x' } })).toEqual([
      expect.stringMatching(/header name "Bad Name" must be 1 to 64 letters, digits or hyphens/),
    ])
    expect(issues({ webhook_url: 'https://h.example/', webhook_headers: { 'X-A': 'a\r\nInjected: 1' } })).toEqual([expect.stringMatching(/line break or NUL/)])
    expect(issues({ webhook_url: 'https://h.example/', webhook_headers: { 'X-A': 'x'.repeat(2049) } })).toEqual([
      expect.stringMatching(/2049 characters, more than 2048/),
    ])
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']))
    expect(issues({ webhook_url: 'https://h.example/', webhook_headers: many })).toEqual([expect.stringMatching(/at most 20 webhook headers, got 21/)])
    for (const name of [
      'Host',
      'content-length',
      'Transfer-Encoding',
      'connection',
      'Content-Type',
      'proxy-authorization',
      'Authorization',
      'cookie',
      'expect',
      'upgrade',
      'te',
      'trailer',
    ]) {
      expect(issues({ webhook_url: 'https://h.example/', webhook_headers: { [name]: 'x' } })).toEqual([
        expect.stringMatching(/cannot be set: the sender writes it/),
      ])
    }
    expect(issues({ webhook_url: 'https://h.example/', webhook_headers: { 'X-Crawldeck-Signature': 'sha256=forged' } })).toEqual([
      expect.stringMatching(/crawldeck signs and identifies every delivery/),
    ])
    expect(issues({ webhook_url: 'https://h.example/', webhook_headers: { 'X-A': 1 } })).toEqual([expect.stringMatching(/must be a string/)])
    expect(issues({ webhook_url: 'https://h.example/', webhook_data_in_payload: 'yes' })).toEqual([expect.stringMatching(/true or false/)])
    expect(issues({ webhook_url: 'https://h.example/', extra: 1 })).toHaveLength(1)
  })
})

describe('GET /monitor/webhooks', () => {
  let service: TestService

  beforeAll(async () => {
    service = await startService(
      { launch_permanent: false, block_private_targets: true, private_targets_allowed: ['127.0.0.1/32'], webhook_secret: SECRET },
      { webhookRetryDelayMs: 5 },
    )
  })

  afterAll(async () => {
    await service?.close()
  })

  it('lists every delivery with its attempts, newest first, without credentials in the URL', async () => {
    reset((path, n) => ({ status: path === '/monitored' && n === 0 ? 502 : path === '/monitored' ? 200 : 410 }))
    const url = `http://user:hunter2@127.0.0.1:${receiver.port}/monitored`
    const delivered = await service.runtime.webhooks.send(target(url), { ...payload(), task_id: 'crawl_aaaaaaaa' })
    expect(delivered.status).toBe('delivered')
    // Credentials in the URL become Basic auth for the receiver, and never reach the monitor.
    expect(receiver.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('user:hunter2').toString('base64')}`)
    const gone = await service.runtime.webhooks.send(target(`${receiver.origin}/gone`), { ...payload('failed'), task_id: 'crawl_bbbbbbbb' })
    expect(gone.status).toBe('failed')
    const refused = await service.runtime.webhooks.send(target(`${internal.origin}/x`), { ...payload(), task_id: 'crawl_cccccccc' })
    expect(refused.status).toBe('refused')

    const { status, body } = await service.get('/monitor/webhooks')
    expect(status).toBe(200)
    expect(body.signed).toBe(true)
    expect(body.totals).toEqual({ delivered: 1, failed: 1, refused: 1, pending: 0, attempts: 3 })
    expect(body.deliveries.map((d: { task_id: string }) => d.task_id)).toEqual(['crawl_cccccccc', 'crawl_bbbbbbbb', 'crawl_aaaaaaaa'])
    const [r, g, d] = body.deliveries
    expect(d).toMatchObject({
      id: delivered.id,
      status: 'delivered',
      attempts: 2,
      last_status_code: 200,
      last_error: null,
      url: `http://127.0.0.1:${receiver.port}/monitored`,
    })
    expect(d.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([502, 200])
    expect(d.attempt_log[0].error).toMatch(/HTTP 502/)
    expect(d.duration_ms).toBeGreaterThanOrEqual(0)
    expect(JSON.stringify(body)).not.toContain('hunter2')
    expect(g).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 410 })
    expect(r).toMatchObject({ status: 'refused', attempts: 0, attempt_log: [] })
    expect(r.last_error).toMatch(/is the address 127\.0\.0\.2, in 127\.0\.0\.0\/8 \(loopback\)/)

    const failedOnly = await service.get('/monitor/webhooks?status=failed&limit=5')
    expect(failedOnly.body.deliveries.map((x: { task_id: string }) => x.task_id)).toEqual(['crawl_bbbbbbbb'])
    const byTask = await service.get('/monitor/webhooks?task_id=crawl_aaaaaaaa')
    expect(byTask.body.deliveries).toHaveLength(1)
    expect((await service.get('/monitor/webhooks?limit=0')).status).toBe(400)
    expect((await service.get('/monitor/webhooks?status=bogus')).status).toBe(400)
  })
})
