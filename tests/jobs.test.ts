import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { JobListResponse, JobStatusResponse } from '../src/shared/job-schemas.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * Async crawl jobs without Redis (LMDB in the data dir), through real HTTP and Chromium:
 * Crawl4AI's submit and status shapes, cancel, list, TTL, bad input, and a restart.
 */

let fx: FixtureServer
const scope = new TestScope(() => fx)
const { serve, shutdown, gate } = scope

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterEach(() => {
  scope.releaseGates()
})

afterAll(async () => {
  await scope.closeAll()
  await fx?.close()
})

async function submit(s: TestService, body: unknown): Promise<string> {
  const res = await s.postJson('/crawl/job', body)
  expect(res.status, JSON.stringify(res.body)).toBe(202)
  expect(Object.keys(res.body)).toEqual(['task_id'])
  expect(res.body.task_id).toMatch(/^crawl_[0-9a-f]{8}$/)
  return res.body.task_id as string
}

async function status(s: TestService, id: string): Promise<JobStatusResponse> {
  const res = await s.get<JobStatusResponse>(`/crawl/job/${id}`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body
}

async function until(s: TestService, id: string, wanted: JobStatusResponse['status'], timeoutMs = 30_000): Promise<JobStatusResponse> {
  let last: JobStatusResponse | null = null
  await waitFor(
    async () => {
      last = await status(s, id)
      return last.status === wanted
    },
    timeoutMs,
    `job ${id} to be ${wanted}`,
  )
  return last as unknown as JobStatusResponse
}

const del = (s: TestService, id: string) => fetch(`${s.url}/crawl/job/${id}`, { method: 'DELETE' })

describe('jobs, embedded (max_pages: 2)', () => {
  let s: TestService

  beforeAll(async () => {
    s = await serve({ max_pages: 2, adaptive_admission: false })
  })

  it('submit answers 202 {task_id}; the job completes with the /crawl envelope, in Crawl4AI shape with working links', async () => {
    const urls = [fx.url('/'), fx.url('/about')]
    const id = await submit(s, { urls, crawler_config: { type: 'CrawlerRunConfig', params: {} } })
    const done = await until(s, id, 'completed')
    expect(Object.keys(done).sort()).toEqual(['_links', 'created_at', 'progress', 'result', 'status', 'task_id', 'url'])
    expect(done.task_id).toBe(id)
    expect(done.url).toBe(JSON.stringify(urls))
    expect(done.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/)
    expect(done.progress).toEqual({ done: 2, total: 2 })
    expect(done._links).toEqual({ self: { href: `${s.url}/crawl/job/${id}` }, refresh: { href: `${s.url}/crawl/job/${id}` } })
    const result = done.result!
    expect(result.success).toBe(true)
    expect(result.results.map((r) => r.url).sort()).toEqual([...urls].sort())
    expect(result.results.find((r) => r.url === fx.url('/'))!.markdown.raw_markdown).toContain(FIXTURE_TEXT.homeUnique)
    expect(typeof result.server_processing_time_s).toBe('number')
    // The link works: it is this job's status.
    const linked = await fetch(done._links.self.href)
    expect(linked.status).toBe(200)
    expect(((await linked.json()) as JobStatusResponse).task_id).toBe(id)
    // The monitor counted the job's URLs as one request of endpoint /crawl/job.
    expect(s.eventsOf('request:finished').filter((r) => r.endpoint === '/crawl/job')).toHaveLength(1)
  })

  it("a finished job is announced to its webhook_config's receiver, with the result when asked", async () => {
    const received: Array<{ headers: IncomingHttpHeaders; body: any }> = []
    const receiver = createServer((req, res) => {
      let text = ''
      req.on('data', (c: Buffer) => (text += c.toString()))
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(text) })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    try {
      const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
      const urls = [fx.url('/')]
      const id = await submit(s, { urls, webhook_config: { webhook_url: hook, webhook_data_in_payload: true, webhook_headers: { 'X-Job-Tag': 'test' } } })
      await until(s, id, 'completed')
      await waitFor(() => received.length === 1, 20_000, 'the webhook delivery')
      const { headers, body } = received[0]!
      expect(headers['x-job-tag']).toBe('test')
      expect(body).toMatchObject({ task_id: id, task_type: 'crawl', status: 'completed', urls })
      expect(body.timestamp).toMatch(/\+00:00$/)
      expect(body.data.results[0].url).toBe(urls[0])
    } finally {
      await new Promise((resolve) => receiver.close(resolve))
    }
  })

  it('an unknown id is 404 with a clear message; a malformed one is 400', async () => {
    const unknown = await s.get('/crawl/job/crawl_0badf00d')
    expect(unknown.status).toBe(404)
    expect(unknown.body.code).toBe('not_found')
    expect(unknown.body.error).toContain('no job crawl_0badf00d')
    const malformed = await s.get('/crawl/job/job-1')
    expect(malformed.status).toBe(400)
    expect(malformed.body.error).toContain('task_id')
    expect((await del(s, 'crawl_0badf00d')).status).toBe(404)
  })

  it('bad input is a 400 before anything is queued: bad URLs, bad webhook headers, unknown fields', async () => {
    const before = (await s.get<JobListResponse>('/crawl/jobs')).body.total
    for (const body of [
      { urls: [] },
      { urls: ['ftp://example.com/'] },
      { urls: 'http://example.com/' },
      { urls: [fx.url('/')], webhook_config: { webhook_url: 'file:///etc/passwd' } },
      { urls: [fx.url('/')], webhook_config: { webhook_url: 'http://127.0.0.1:9/hook', webhook_headers: { Host: 'evil' } } },
      { urls: [fx.url('/')], webhook_config: { webhook_url: 'http://127.0.0.1:9/hook', webhook_headers: { 'X-Ok': 'a\r\nInjected: 1' } } },
      { urls: [fx.url('/')], hooks: {} },
      { urls: [fx.url('/')], crawler_config: { js_code: ['1'] } },
    ]) {
      const res = await s.postJson('/crawl/job', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(typeof res.body.error).toBe('string')
    }
    expect((await s.get<JobListResponse>('/crawl/jobs')).body.total).toBe(before)
  })

  it('cancel: a queued job never runs; a running one stops after its URLs in progress and keeps them; lists and counts follow', async () => {
    const ga = gate('job-a')
    const gb = gate('job-b')
    // A: 8 URLs, the first held; B holds the other page slot.
    const aUrls = [fx.url('/gate/job-a'), ...Array.from({ length: 7 }, (_, i) => fx.url(`/cache/job-a-${i}`))]
    const a = await submit(s, { urls: aUrls })
    await ga.reached
    const b = await submit(s, { urls: [fx.url('/gate/job-b')] })
    await gb.reached
    // Both slots are held: C waits in the queue.
    const c = await submit(s, { urls: [fx.url('/cache/job-c')] })
    expect((await status(s, c)).status).toBe('queued')
    expect((await status(s, a)).status).toBe('processing')

    const cancelC = await del(s, c)
    expect(cancelC.status).toBe(200)
    expect(((await cancelC.json()) as JobStatusResponse).status).toBe('cancelled')
    const cancelA = await del(s, a)
    expect(cancelA.status).toBe(200)
    expect(((await cancelA.json()) as JobStatusResponse).status).toBe('processing')

    ga.release()
    gb.release()
    const aEnd = await until(s, a, 'cancelled')
    const kept = aEnd.result!.results
    expect(kept.length).toBeGreaterThanOrEqual(1)
    expect(kept.length).toBeLessThan(aUrls.length)
    expect(aEnd.progress).toEqual({ done: kept.length, total: aUrls.length })
    await until(s, b, 'completed')
    const cEnd = await status(s, c)
    expect(cEnd.status).toBe('cancelled')
    expect(cEnd.result).toBeUndefined()
    expect(fx.hits('/cache/job-c')).toBe(0)
    // A finished job cannot be cancelled.
    expect((await del(s, b)).status).toBe(409)

    const cancelled = await s.get<JobListResponse>('/crawl/jobs?status=cancelled')
    expect(cancelled.status).toBe(200)
    expect(cancelled.body.jobs.map((j) => j.task_id)).toEqual([c, a])
    expect(cancelled.body.jobs.every((j) => !('result' in j))).toBe(true)
    const all = await s.get<JobListResponse>('/crawl/jobs?limit=2')
    expect(all.body.jobs.map((j) => j.task_id)).toEqual([c, b])
    expect(all.body.total).toBeGreaterThanOrEqual(4)
    expect((await s.get('/crawl/jobs?status=finished')).status).toBe(400)

    const health = await s.get('/monitor/health')
    expect(health.body.jobs).toMatchObject({ backend: 'embedded', queued: 0, active: 0, cancelled: 2, failed: 0 })
    expect(health.body.jobs.completed).toBeGreaterThanOrEqual(2)
  })
})

describe('jobs, embedded, TTL and restart', () => {
  it('a finished job is gone (404) once its TTL has run out', async () => {
    const s = await serve({ job_ttl_seconds: 1, launch_permanent: false, prewarm_pages: 0 })
    const id = await submit(s, { urls: [fx.url('/')] })
    await until(s, id, 'completed')
    await waitFor(async () => (await s.get(`/crawl/job/${id}`)).status === 404, 10_000, 'the job to expire')
    expect((await s.get<JobListResponse>('/crawl/jobs')).body.total).toBe(0)
    await shutdown(s)
  })

  it('jobs queued or running when the runtime closes run when a new one opens on the same data dir', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-jobs-restart-'))
    try {
      const config = { data_dir: dataDir, max_pages: 1, adaptive_admission: false, job_drain_seconds: 0, prewarm_pages: 0 }
      const first = await serve(config)
      const held = gate('job-restart')
      const running = await submit(first, { urls: [fx.url('/gate/job-restart')] })
      await held.reached
      const queued = await submit(first, { urls: [fx.url('/about')] })
      expect((await status(first, queued)).status).toBe('queued')
      // Drain 0: the running job is stopped at once and handed back.
      await shutdown(first)
      held.release()

      const second = await serve(config)
      for (const id of [running, queued]) {
        const end = await until(second, id, 'completed')
        expect(end.result!.results).toHaveLength(1)
        expect(end.result!.results[0]!.success).toBe(true)
      }
      await shutdown(second)
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

describe('jobs: webhook receivers are checked at submission', () => {
  it('a webhook_url on a refused address is a 400 "URL blocked"', async () => {
    // The guard on (as on any exposed server); the job's own URL resolves to a public address,
    // so only the webhook's is refused.
    const s = await serve(
      { block_private_targets: true, launch_permanent: false, prewarm_pages: 0 },
      { egressLookup: async (host: string) => (host === 'public.example' ? [{ address: '93.184.216.34', family: 4 }] : []) },
    )
    const res = await s.postJson('/crawl/job', { urls: ['http://public.example/'], webhook_config: { webhook_url: 'http://127.0.0.1:9/hook' } })
    expect(res.status).toBe(400)
    expect(res.body.error).toMatch(/^URL blocked: /)
    expect((await s.get<JobListResponse>('/crawl/jobs')).body.total).toBe(0)
    await shutdown(s)
  })
})
