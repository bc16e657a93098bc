import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobListResponse, JobsHealth, JobStatusResponse } from '../src/shared/job-schemas.js'
import type { FleetResponse } from '../src/shared/monitor-fleet.js'
import type { EndpointStatsResponse } from '../src/shared/monitor-types.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { descendants, serveDefaults, waitExit, waitReady, type Served } from './helpers/serve-process.js'
import { waitFor } from './helpers/service.js'

/*
 * A fleet as operators run it: three `serve` processes on one Redis prefix (the real Redis on
 * 127.0.0.1:6379, a prefix of this run alone) take 300 one-URL jobs submitted through all three
 * HTTP doors. Once the third has finished some and is running several, it is SIGKILLed with its
 * whole process tree. Every job must still complete exactly once (taken over through BullMQ's
 * stalled-job check), the fleet view must drop the dead instance within its TTL, and the job
 * counts and endpoint stats of the survivors must add up with what the dead one did.
 */

const REDIS_URL = 'redis://127.0.0.1:6379'
const PREFIX = `crawldeck-test-fleet-jobs-${randomBytes(4).toString('hex')}:`
const JOBS = 300
const MAX_PAGES = 4
const FLEET_TTL_SECONDS = 3
/** The shortest lock the option allows: a dead instance's jobs run elsewhere within about 2 × 2 s. */
const JOB_LOCK_SECONDS = 2
/** Heartbeats go out every third of the TTL, at least every second. */
const HEARTBEAT_MS = Math.max(1000, Math.floor((FLEET_TTL_SECONDS * 1000) / 3))

let fx: FixtureServer
const instances: Array<{ served: Served; url: string; id: string }> = []

/** Most pages answer at once; every fifth one takes a while, so jobs are in flight when the kill comes. */
const pathOf = (i: number) => `/cache/fj-${i}`
const urlOf = (i: number) => fx.url(i % 5 === 4 ? `${pathOf(i)}?ms=${300 + (i % 3) * 300}` : pathOf(i))

async function getJson<T>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}${path}`)
  if (res.status !== 200) throw new Error(`GET ${base}${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

function killTree(pid: number): void {
  // Children first are read before the parent dies (once it is gone they are re-parented).
  for (const p of [...descendants(pid), pid]) {
    try {
      process.kill(p, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}

beforeAll(async () => {
  fx = await startFixtureServer()
  const args = [
    '--redis-url',
    REDIS_URL,
    '--redis-prefix',
    PREFIX,
    '--fleet-ttl',
    String(FLEET_TTL_SECONDS),
    '--job-lock',
    String(JOB_LOCK_SECONDS),
    '--max-pages',
    String(MAX_PAGES),
    // A fixed page limit: each instance takes exactly MAX_PAGES jobs at once, whatever its CPU reads.
    '--adaptive-admission=false',
  ]
  const served = [serveDefaults(args), serveDefaults(args), serveDefaults(args)]
  const ready = await Promise.all(served.map(waitReady))
  for (const [i, s] of served.entries()) {
    const url = ready[i]!.url
    instances.push({ served: s, url, id: (await getJson<FleetResponse>(url, '/monitor/fleet')).self })
  }
}, 120_000)

afterAll(async () => {
  // Survivors stop as an operator stops them; the helper SIGKILLs whatever is left after a failure.
  for (const i of instances) if (!i.served.exited) i.served.child.kill('SIGTERM')
  await Promise.all(instances.map((i) => waitExit(i.served, 30_000).catch(() => undefined)))
  await fx?.close()
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
}, 60_000)

describe('a fleet of three serve processes on one Redis', () => {
  it('finishes 300 jobs exactly once although one instance is SIGKILLed mid-run, and its monitor adds up', async () => {
    const [a, b, victim] = instances as [(typeof instances)[0], (typeof instances)[0], (typeof instances)[0]]
    const survivors = [a, b]
    // What the monitors held before the jobs (a start may load stats another instance persisted).
    const before = await Promise.all(survivors.map((s) => getJson<EndpointStatsResponse>(s.url, '/monitor/endpoints/stats')))
    const baseline = before.map((stats) => stats['/crawl/job']?.count ?? 0)

    // Submitted through every door, 30 at a time.
    const ids: string[] = new Array(JOBS)
    for (let start = 0; start < JOBS; start += 30) {
      await Promise.all(
        Array.from({ length: Math.min(30, JOBS - start) }, async (_, k) => {
          const i = start + k
          const door = instances[i % 3]!.url
          const res = await fetch(`${door}/crawl/job`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ urls: [urlOf(i)] }),
          })
          expect(res.status, await res.clone().text()).toBe(202)
          ids[i] = ((await res.json()) as { task_id: string }).task_id
        }),
      )
    }
    const jobOf = new Map(ids.map((id, i) => [id, i]))

    // The kill comes once the victim has finished some jobs and is running several.
    let inFlight: string[] = []
    await waitFor(
      async () => {
        const [running, done] = await Promise.all([
          getJson<JobListResponse>(a.url, '/crawl/jobs?status=processing&limit=500'),
          getJson<JobListResponse>(a.url, '/crawl/jobs?status=completed&limit=500'),
        ])
        inFlight = running.jobs.filter((j) => j.instance === victim.id).map((j) => j.task_id)
        return inFlight.length >= 2 && done.jobs.filter((j) => j.instance === victim.id).length >= 20
      },
      60_000,
      'the victim to have finished 20 jobs and to be running 2',
    )
    const killedAt = Date.now()
    killTree(victim.served.pid)
    expect((await waitExit(victim.served, 10_000)).signal).toBe('SIGKILL')
    // Those of them it had not finished when it died (it writes nothing any more): they must be taken over.
    const held = await Promise.all(inFlight.map((id) => getJson<JobStatusResponse>(a.url, `/crawl/job/${id}`)))
    inFlight = held.filter((r) => r.status === 'processing' && r.instance === victim.id).map((r) => r.task_id)
    expect(inFlight.length, 'jobs running on the victim when it died').toBeGreaterThan(0)

    // The fleet view forgets it within its TTL after its last heartbeat (sent at most one interval before the kill).
    const gone = waitFor(
      async () => !(await getJson<FleetResponse>(a.url, '/monitor/fleet')).instances.some((i) => i.id === victim.id),
      (FLEET_TTL_SECONDS + 5) * 1000,
      'the killed instance to leave /monitor/fleet',
    ).then(() => Date.now() - killedAt)
    // Awaited below, after the jobs; a failure meanwhile is not an unhandled rejection.
    gone.catch(() => undefined)

    // Every job completes: the shared store's counts say so on either survivor.
    await waitFor(async () => (await getJson<{ jobs: JobsHealth }>(a.url, '/monitor/health')).jobs.completed === JOBS, 90_000, `${JOBS} jobs completed`)
    const leftAfter = await gone
    expect(leftAfter, 'ms from the kill until /monitor/fleet dropped the instance').toBeLessThan(FLEET_TTL_SECONDS * 1000 + HEARTBEAT_MS + 500)
    for (const s of survivors) {
      const fleet = await getJson<FleetResponse>(s.url, '/monitor/fleet')
      expect(fleet.instances.map((i) => i.id).sort()).toEqual([a.id, b.id].sort())
      const { jobs } = await getJson<{ jobs: JobsHealth }>(s.url, '/monitor/health')
      expect(jobs).toEqual({ backend: 'bullmq', queued: 0, active: 0, completed: JOBS, failed: 0, cancelled: 0 })
    }

    // Each job: completed, one result for its one URL; who ran it is in its record.
    const ranBy = new Map<string, number>()
    // Read 30 at a time: an instance closes a client's connections beyond max_connections_per_client (128).
    const records: JobStatusResponse[] = []
    for (let start = 0; start < JOBS; start += 30)
      records.push(
        ...(await Promise.all(ids.slice(start, start + 30).map((id, k) => getJson<JobStatusResponse>(survivors[(start + k) % 2]!.url, `/crawl/job/${id}`)))),
      )
    for (const [i, r] of records.entries()) {
      expect(r.status, `job ${i}`).toBe('completed')
      expect(r.progress).toEqual({ done: 1, total: 1 })
      expect(r.result!.results, `job ${i}`).toHaveLength(1)
      expect(r.result!.results[0]!.success, `job ${i}`).toBe(true)
      expect(new URL(r.result!.results[0]!.url).pathname).toBe(pathOf(jobOf.get(r.task_id)!))
      expect([a.id, b.id, victim.id]).toContain(r.instance)
      ranBy.set(r.instance!, (ranBy.get(r.instance!) ?? 0) + 1)
    }
    // The jobs the victim held when it died were taken over and finished by a survivor.
    for (const id of inFlight) expect([a.id, b.id], `job ${id}, running on the victim at the kill`).toContain(records[jobOf.get(id)!]!.instance)

    // Every page fetched; a page fetched twice can only be one of the victim's in-flight jobs,
    // run again from the start elsewhere (its stored result is still one).
    const hits = ids.map((_, i) => fx.hits(pathOf(i)))
    expect(hits.filter((h) => h < 1)).toEqual([])
    const twice = hits.filter((h) => h > 1).length
    expect(twice).toBeLessThanOrEqual(MAX_PAGES)

    // The counts add up: the survivors ran every job the victim had not completed, and no more than all of them.
    const deadCompleted = ranBy.get(victim.id) ?? 0
    expect(deadCompleted).toBeGreaterThanOrEqual(20)
    const after = await Promise.all(survivors.map((s) => getJson<EndpointStatsResponse>(s.url, '/monitor/endpoints/stats')))
    const survivorRuns = after.reduce((sum, stats, k) => sum + (stats['/crawl/job']?.count ?? 0) - baseline[k]!, 0)
    expect(survivorRuns).toBeLessThanOrEqual(JOBS)
    expect(survivorRuns).toBeGreaterThanOrEqual(JOBS - deadCompleted)
    expect(after.map((stats) => stats['/crawl/job']?.errors ?? 0)).toEqual([0, 0])
    expect((ranBy.get(a.id) ?? 0) + (ranBy.get(b.id) ?? 0)).toBe(JOBS - deadCompleted)
    console.info(
      `fleet-jobs: kill after ${deadCompleted} done by the victim with ${inFlight.length} in flight; left /monitor/fleet ${leftAfter} ms after; ` +
        `survivors ran ${survivorRuns} (a ${ranBy.get(a.id)}, b ${ranBy.get(b.id)}); pages fetched twice: ${twice}`,
    )
  }, 150_000)
})
