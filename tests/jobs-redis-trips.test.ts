import type { ChildProcess } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobListResponse } from '../src/shared/job-schemas.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { freePort, startRedis, stopAllRedis } from './helpers/redis-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * The round trips a BullMQ job costs on its record: the worker claims the job and reads its
 * record in one script, and the last URL's progress is written by the move that ends the job.
 * Read with MONITOR on a private Redis: the commands clients send (not those scripts run) on
 * each job's record hash.
 */

const PREFIX = 'trips:'

let fx: FixtureServer
let redis: ChildProcess
let port: number
let service: TestService
let monitor: Socket

beforeAll(async () => {
  fx = await startFixtureServer()
  port = await freePort()
  redis = await startRedis(port)
  service = await startService({ redis_url: `redis://127.0.0.1:${port}`, redis_prefix: PREFIX, max_pages: 2, adaptive_admission: false, prewarm_pages: 0 })
}, 60_000)

afterAll(async () => {
  monitor?.destroy()
  await service?.close()
  await fx?.close()
  if (redis) await stopAllRedis()
})

describe('a BullMQ job on its record', () => {
  it('is created, claimed and ended by scripts alone: no separate read or write of its record', async () => {
    const sent: Array<{ source: string; args: string[] }> = []
    // MONITOR on a raw connection: each line `+<time> [<db> <source>] "cmd" "arg" ...`, source `lua`
    // for a command a script ran.
    monitor = connect(port, '127.0.0.1')
    let buffered = ''
    monitor.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      let end: number
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        const m = /^\+\S+ \[\d+ (\S+)\] "(.*)"$/.exec(line)
        if (m) sent.push({ source: m[1]!, args: m[2]!.split('" "') })
      }
    })
    monitor.write('MONITOR\r\n')
    // MONITOR is on once it reports a command of another client.
    const probe = new Redis({ host: '127.0.0.1', port })
    await waitFor(
      async () => {
        await probe.ping('monitor-on')
        return sent.some((c) => c.args[1] === 'monitor-on')
      },
      10_000,
      'MONITOR to report',
    )
    probe.disconnect()

    const ids: string[] = []
    for (let i = 0; i < 4; i++) {
      const res = await service.postJson('/crawl/job', { urls: [fx.url(`/cache/trips-${i}`)] })
      expect(res.status).toBe(202)
      ids.push(res.body.task_id as string)
    }
    // Waited on through the list (HMGET), not the status (HGETALL), so every HGETALL is a worker's.
    await waitFor(async () => (await service.get<JobListResponse>('/crawl/jobs?status=completed')).body.total === ids.length, 60_000, 'the jobs to complete')
    const list = (await service.get<JobListResponse>('/crawl/jobs?status=completed')).body.jobs
    for (const j of list) expect(j.progress).toEqual({ done: 1, total: 1 })

    // What clients sent on each record, besides this test's own list reads (HMGET) and the cancel
    // poll of a job running past its period (HGET): nothing. The record is created, claimed with
    // its read, and ended by scripts. Before, a submission looked the id up first (HGETALL) and
    // wrote it (MULTI HSET), the worker read the record back (HGETALL) and wrote the last URL's
    // progress (HSET).
    for (const id of ids) {
      const commands = sent
        .filter((c) => c.source !== 'lua' && c.args[1] === `${PREFIX}jobs:task:${id}`)
        .map((c) => `${c.args[0]} ${c.args[2] ?? ''}`.toLowerCase())
        .filter((c) => !c.startsWith('hmget ') && !c.startsWith('hget '))
      expect(commands, id).toEqual([])
      // The scripts did write it: created queued, claimed, completed.
      const scripted = sent.filter((c) => c.source === 'lua' && c.args[1] === `${PREFIX}jobs:task:${id}`).map((c) => c.args[0]!.toLowerCase())
      expect(scripted).toContain('hset')
      expect(scripted).toContain('hgetall')
    }
  }, 90_000)

  it('a submission with the id of a kept job stores nothing (the service draws another id)', async () => {
    const res = await service.postJson('/crawl/job', { urls: [fx.url('/cache/trips-kept')] })
    const id = res.body.task_id as string
    const kept = await service.runtime.jobs.get(id)
    expect(kept).not.toBeNull()
    const again = await service.runtime.jobs.submit({ ...kept!, request: { ...kept!.request, urls: ['http://other.example/'] }, status: 'queued' })
    expect(again).toBe(false)
    expect((await service.runtime.jobs.get(id))!.request.urls).toEqual([fx.url('/cache/trips-kept')])
  })
})
