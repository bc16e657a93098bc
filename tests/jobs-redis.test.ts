import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { JobListResponse, JobStatusResponse } from '../src/shared/job-schemas.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { TestScope, waitFor, type TestService } from './helpers/service.js'

/*
 * Async crawl jobs on BullMQ (the Redis on 127.0.0.1:6379, under a key prefix of this run's own):
 * two instances share one queue, every job is done exactly once, a job an instance hands back at
 * shutdown is finished by the other, and the status, cancel, list and TTL behave as without Redis.
 */

const REDIS_URL = 'redis://127.0.0.1:6379'
const PREFIX = `crawldeck-test-jobs-${randomBytes(4).toString('hex')}:`

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
  // Whatever this run wrote under its prefix goes.
  const redis = new Redis(REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
})

const config = (extra: Record<string, unknown> = {}) => ({
  redis_url: REDIS_URL,
  redis_prefix: PREFIX,
  max_pages: 2,
  adaptive_admission: false,
  prewarm_pages: 0,
  ...extra,
})

async function submit(s: TestService, body: unknown): Promise<string> {
  const res = await s.postJson('/crawl/job', body)
  expect(res.status, JSON.stringify(res.body)).toBe(202)
  return res.body.task_id as string
}

async function until(s: TestService, id: string, wanted: JobStatusResponse['status'], timeoutMs = 40_000): Promise<JobStatusResponse> {
  let last: JobStatusResponse | null = null
  await waitFor(
    async () => {
      const res = await s.get<JobStatusResponse>(`/crawl/job/${id}`)
      last = res.body
      return res.status === 200 && last.status === wanted
    },
    timeoutMs,
    `job ${id} to be ${wanted}`,
  )
  return last as unknown as JobStatusResponse
}

describe('jobs on BullMQ', () => {
  let a: TestService
  let b: TestService

  beforeAll(async () => {
    a = await serve(config())
    b = await serve(config())
  }, 60_000)

  it('two instances on one prefix take 20 jobs between them, each done exactly once', async () => {
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push(await submit(i % 2 === 0 ? a : b, { urls: [fx.url(`/cache/bull-${i}`)] }))
    for (const id of ids) {
      const end = await until(a, id, 'completed')
      expect(end.result!.results).toHaveLength(1)
      expect(end.result!.results[0]!.success).toBe(true)
      expect(end.progress).toEqual({ done: 1, total: 1 })
    }
    // Each page was fetched once, and the two engines ran 20 job requests between them.
    for (let i = 0; i < 20; i++) expect(fx.hits(`/cache/bull-${i}`), `/cache/bull-${i}`).toBe(1)
    const ranBy = [a, b].map((s) => s.eventsOf('request:finished').filter((r) => r.endpoint === '/crawl/job').length)
    expect(ranBy[0]! + ranBy[1]!).toBe(20)
    expect(Math.min(...ranBy), `jobs run by each instance: ${ranBy.join(', ')}`).toBeGreaterThan(0)

    // Either instance answers for any job, with links to itself.
    const fromB = await b.get<JobStatusResponse>(`/crawl/job/${ids[0]}`)
    expect(fromB.body._links.self.href).toBe(`${b.url}/crawl/job/${ids[0]}`)
    const health = await a.get('/monitor/health')
    expect(health.body.jobs).toMatchObject({ backend: 'bullmq', queued: 0, active: 0, failed: 0 })
    expect(health.body.jobs.completed).toBeGreaterThanOrEqual(20)
  }, 90_000)

  it('cancel a queued job (never runs) and a running one (keeps what finished); list by status', async () => {
    // Fill every slot of both instances (2 + 2) with held pages, then queue one more. The first
    // job has more URLs than a batch starts at once, so a cancel leaves some of them uncrawled.
    const holds = ['ba', 'bb', 'bc', 'bd'].map((n) => ({ name: `job-${n}`, gate: gate(`job-${n}`) }))
    const held: string[] = []
    for (const [i, h] of holds.entries())
      held.push(await submit(a, { urls: [fx.url(`/gate/${h.name}`), ...Array.from({ length: i === 0 ? 7 : 0 }, (_, j) => fx.url(`/cache/${h.name}-${j}`))] }))
    await Promise.all(holds.map((h) => h.gate.reached))
    const queued = await submit(b, { urls: [fx.url('/cache/bull-queued')] })
    expect((await a.get<JobStatusResponse>(`/crawl/job/${queued}`)).body.status).toBe('queued')

    const cancelQueued = await fetch(`${b.url}/crawl/job/${queued}`, { method: 'DELETE' })
    expect(cancelQueued.status).toBe(200)
    expect(((await cancelQueued.json()) as JobStatusResponse).status).toBe('cancelled')
    // Cancelled through the instance that runs it, which stops taking its URLs at once (another
    // instance's DELETE reaches it within CANCEL_POLL_MS, too late to tell for pages this fast).
    const running = held[0] as string
    const runner = [a, b].find((s) => s.eventsOf('request:started').some((r) => r.endpoint === '/crawl/job' && r.url === fx.url('/gate/job-ba')))
    expect(runner).toBeDefined()
    expect((await fetch(`${runner!.url}/crawl/job/${running}`, { method: 'DELETE' })).status).toBe(200)
    await waitFor(async () => (await a.get<JobListResponse>('/crawl/jobs?status=processing')).body.jobs.length === 4, 10_000, 'four jobs processing')

    for (const h of holds) h.gate.release()
    const end = await until(a, running, 'cancelled')
    expect(end.result!.results.length).toBeGreaterThanOrEqual(1)
    expect(end.result!.results.length).toBeLessThan(8)
    for (const id of held.slice(1)) await until(a, id, 'completed')
    expect(fx.hits('/cache/bull-queued')).toBe(0)

    const cancelled = await b.get<JobListResponse>('/crawl/jobs?status=cancelled')
    expect(cancelled.body.jobs.map((j) => j.task_id)).toEqual([queued, running])
    expect(cancelled.body.total).toBe(2)
  }, 90_000)

  it('a job running on an instance that shuts down is handed back and finished by the other', async () => {
    // A and B have every slot held, so the job submitted next can only run on C.
    const holds = ['hb1', 'hb2', 'ha1', 'ha2'].map((n) => ({ name: `job-${n}`, gate: gate(`job-${n}`) }))
    const holders: string[] = []
    for (const h of holds) holders.push(await submit(a, { urls: [fx.url(`/gate/${h.name}`)] }))
    await Promise.all(holds.map((h) => h.gate.reached))
    const c = await serve(config({ job_drain_seconds: 0 }))
    const g = gate('job-handback')
    const id = await submit(c, { urls: [fx.url('/gate/job-handback')] })
    await g.reached
    expect(c.eventsOf('request:started').some((r) => r.endpoint === '/crawl/job')).toBe(true)
    await shutdown(c)
    // Back in the queue, not failed.
    expect(['queued', 'processing']).toContain((await a.get<JobStatusResponse>(`/crawl/job/${id}`)).body.status)
    g.release()
    for (const h of holds) h.gate.release()
    const end = await until(a, id, 'completed')
    expect(end.result!.results[0]!.success).toBe(true)
    for (const h of holders) await until(a, h, 'completed')
  }, 90_000)
})

describe('jobs on BullMQ: TTL', () => {
  it('a finished job is gone (404) once its TTL has run out', async () => {
    const s = await serve(config({ redis_prefix: `${PREFIX}ttl:`, job_ttl_seconds: 1, launch_permanent: false }))
    const id = await submit(s, { urls: [fx.url('/')] })
    await until(s, id, 'completed')
    await waitFor(async () => (await s.get(`/crawl/job/${id}`)).status === 404, 10_000, 'the job to expire')
    const health = await s.get('/monitor/health')
    expect(health.body.jobs).toMatchObject({ backend: 'bullmq', completed: 0 })
    await shutdown(s)
  }, 60_000)
})
