import { mkdirSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { JobStatusResponse } from '../../src/shared/job-schemas.js'
import type { WebhooksResponse } from '../../src/shared/monitor-webhooks.js'
import { WebhookConfigSchema } from '../../src/shared/webhook-config.js'
import { startFixtureServer, type FixtureServer } from '../helpers/fixture-server.js'
import { ensureRendererBuild } from '../helpers/renderer-build.js'
import { startService, waitFor, type TestService } from '../helpers/service.js'

/*
 * The dashboard's Webhooks tab in Debian Chromium against the real service: deliveries of real
 * jobs to real receivers (one retried then delivered, one failed, one refused, one still
 * retrying), their attempts, the totals, and a live change without a reload. Screenshots at
 * 1440 and 375 px go to /tmp/shots.
 */

const SHOTS = '/tmp/shots'
const SECRET = 'webhooks-tab-secret-0123456789'
const testid = (id: string) => `[data-testid="${id}"]`

let fx: FixtureServer
let service: TestService
let browser: Browser
let receiver: Server
let internal: Server
let origin: string
let internalOrigin: string
/** The held answer of /slow's second attempt, released by the test. */
let releaseSlow: (() => void) | null = null
const hits = new Map<string, number>()
let problems: string[] = []

function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  req.on('end', () => {
    const path = req.url ?? '/'
    const n = hits.get(path) ?? 0
    hits.set(path, n + 1)
    if (path === '/flaky') res.writeHead(n === 0 ? 502 : 200).end()
    else if (path === '/slow' && n === 0) res.writeHead(503).end()
    else if (path === '/slow') releaseSlow = () => void (res.headersSent || res.writeHead(204).end())
    else res.writeHead(410).end('gone for good')
  })
}

async function listen(server: Server, host: string): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return `http://${host}:${(server.address() as AddressInfo).port}`
}

async function job(urls: string[], hook: string): Promise<string> {
  const res = await service.postJson('/crawl/job', { urls, webhook_config: { webhook_url: hook } })
  expect(res.status, JSON.stringify(res.body)).toBe(202)
  return res.body.task_id as string
}

async function finished(id: string): Promise<void> {
  await waitFor(async () => (await service.get<JobStatusResponse>(`/crawl/job/${id}`)).body.status === 'completed', 30_000, `job ${id} to complete`)
}

async function open(width: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } })
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`)
  })
  await page.goto(`${service.url}/dashboard/`)
  await page.click(testid('tab-webhooks'))
  await page.locator(testid('webhooks-tab')).waitFor()
  return page
}

beforeAll(async () => {
  ensureRendererBuild()
  mkdirSync(SHOTS, { recursive: true })
  receiver = createServer(answer)
  internal = createServer(answer)
  origin = await listen(receiver, '127.0.0.1')
  // 127.0.0.2 is loopback too, and refused by the private-target rules (127.0.0.1 alone is exempt).
  internalOrigin = await listen(internal, '127.0.0.2')
  fx = await startFixtureServer()
  service = await startService(
    { block_private_targets: true, private_targets_allowed: ['127.0.0.1/32'], webhook_secret: SECRET, max_pages: 2, adaptive_admission: false },
    { webhookRetryDelayMs: 50 },
  )
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
}, 240_000)

afterEach(() => {
  expect(problems).toEqual([])
  problems = []
})

afterAll(async () => {
  releaseSlow?.()
  await browser?.close()
  await service?.close()
  await fx?.close()
  await new Promise((r) => receiver?.close(r))
  await new Promise((r) => internal?.close(r))
})

describe('the Webhooks tab', () => {
  let flaky: string
  let gone: string
  let slow: string

  beforeAll(async () => {
    flaky = await job([fx.url('/')], `${origin}/flaky`)
    gone = await job([fx.url('/about')], `${origin}/gone`)
    await Promise.all([finished(flaky), finished(gone)])
    // A receiver refused at delivery (a job's is refused at submission already): sent by hand.
    await service.runtime.webhooks.send(WebhookConfigSchema.parse({ webhook_url: `${internalOrigin}/metadata` }), {
      task_id: 'crawl_0000dead',
      task_type: 'crawl',
      status: 'completed',
      timestamp: new Date().toISOString(),
      urls: ['https://example.com/'],
    })
    slow = await job([fx.url('/cache/slow')], `${origin}/slow`)
    await finished(slow)
    await waitFor(() => releaseSlow !== null, 20_000, "the slow receiver's second attempt")
    await waitFor(async () => (await service.get<WebhooksResponse>('/monitor/webhooks')).body.deliveries.length === 4, 20_000, 'four deliveries in the log')
  }, 120_000)

  it('lists each delivery with its task, receiver host, status, attempts and last error, and the totals', async () => {
    const page = await open(1440)
    const rows = page.locator(testid('webhook-row'))
    await expect.poll(() => rows.count()).toBe(4)
    const row = (status: string) => page.locator(`${testid('webhook-row')}[data-status="${status}"]`)
    const host = new URL(origin).host

    await expect.poll(() => row('pending').count()).toBe(1)
    expect(await row('pending').locator(testid('webhook-task')).textContent()).toBe(slow)
    expect(await row('pending').locator(testid('webhook-attempts')).textContent()).toContain('×1')
    expect(await row('pending').locator(testid('webhook-attempts')).textContent()).toContain('503')

    expect(await row('failed').locator(testid('webhook-task')).textContent()).toBe(gone)
    expect(await row('failed').locator(testid('webhook-host')).textContent()).toBe(host)
    expect(await row('failed').locator(testid('webhook-error')).textContent()).toContain('HTTP 410: gone for good')

    expect(await row('refused').locator(testid('webhook-task')).textContent()).toBe('crawl_0000dead')
    expect(await row('refused').locator(testid('webhook-host')).textContent()).toBe(new URL(internalOrigin).host)
    expect(await row('refused').locator(testid('webhook-error')).textContent()).toMatch(/127\.0\.0\.2.*loopback/)

    // The delivered one opens on its attempts: 502 then 200, each with its time.
    const delivered = row('delivered')
    expect(await delivered.locator(testid('webhook-task')).textContent()).toBe(flaky)
    await delivered.locator('.head').click()
    const attempts = delivered.locator(testid('webhook-attempt'))
    await expect.poll(() => attempts.count()).toBe(2)
    expect(await attempts.nth(0).textContent()).toContain('HTTP 502')
    expect(await attempts.nth(1).textContent()).toContain('HTTP 200')
    expect(await delivered.locator(testid('webhook-details')).textContent()).toContain(`${origin}/flaky`)

    const totals = await page.locator(testid('webhooks-totals')).textContent()
    expect(totals).toMatch(/1\s*delivered/)
    expect(totals).toMatch(/1\s*failed/)
    expect(totals).toMatch(/1\s*refused/)
    expect(totals).toMatch(/1\s*pending/)
    // flaky 2, gone 1, refused 0, slow 1 so far.
    expect(totals).toMatch(/4\s*attempts/)
    expect(await page.locator(testid('webhooks-note')).textContent()).toContain('signed')
    expect(await page.locator(testid('tab-webhooks')).textContent()).toContain('4')
    await page.screenshot({ path: `${SHOTS}/webhooks-1440.png`, fullPage: true })

    // Live: the retrying delivery ends while the tab is open, and the row follows without a reload.
    releaseSlow!()
    await expect.poll(() => row('pending').count(), { timeout: 20_000 }).toBe(0)
    expect(await page.locator(`${testid('webhook-row')}[data-status="delivered"]`).count()).toBe(2)
    await expect.poll(() => page.locator(testid('webhooks-totals')).textContent()).toMatch(/2\s*delivered/)
    await page.close()
  }, 60_000)

  it('fits a 375 px phone without scrolling sideways', async () => {
    const page = await open(375)
    await expect.poll(() => page.locator(testid('webhook-row')).count()).toBe(4)
    await page.locator(`${testid('webhook-row')}[data-status="failed"] .head`).click()
    await page.locator(testid('webhook-details')).waitFor()
    const overflow = await page.locator(testid('webhooks-tab')).evaluate((el) => el.scrollWidth - el.clientWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await page.screenshot({ path: `${SHOTS}/webhooks-375.png`, fullPage: true })
    await page.close()
  }, 60_000)

  it('a single instance without Redis shows its jobs in the Fleet tab', async () => {
    const page = await open(1440)
    await page.click(testid('tab-fleet'))
    // queued / active / completed / failed: the three jobs above completed here.
    await expect.poll(() => page.locator(testid('fleet-jobs')).textContent()).toBe('0/0/3/0')
    await page.close()
  }, 60_000)
})
