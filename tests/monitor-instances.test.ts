import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EndpointStatsResponse } from '../src/shared/monitor-types.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { freePort, redisClient, startRedis, stopAllRedis } from './helpers/redis-server.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * Instances sharing a Redis prefix keep their own monitor history, each under its stable name
 * (`<prefix>monitor:instance:<name>:<section>`), across restarts; the shared keys an older version
 * wrote are taken over by exactly one instance.
 */

let fx: FixtureServer
let redis: ChildProcess
let port: number
let redisUrl: string
const dirs: string[] = []

beforeAll(async () => {
  fx = await startFixtureServer()
  port = await freePort()
  redis = await startRedis(port)
  redisUrl = `redis://127.0.0.1:${port}`
}, 30_000)

afterAll(async () => {
  await fx?.close()
  if (redis) await stopAllRedis()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/** A service of that name on the shared prefix, each start with a data dir of its own (as on separate machines). */
async function instance(name: string, prefix: string): Promise<TestService> {
  const dataDir = await mkdtemp(join(tmpdir(), `crawldeck-instance-${name}-`))
  dirs.push(dataDir)
  return startService({ redis_url: redisUrl, redis_prefix: prefix, instance_name: name, data_dir: dataDir, launch_permanent: false, max_pages: 2 })
}

async function call(s: TestService, endpoint: '/md' | '/html', path: string): Promise<void> {
  const res = await s.postJson(endpoint, { url: fx.url(path) })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
}

const stats = async (s: TestService) => (await s.get<EndpointStatsResponse>('/monitor/endpoints/stats')).body

async function keys(pattern: string): Promise<string[]> {
  const r = redisClient(port)
  await r.connect()
  try {
    return (await r.keys(pattern)).sort()
  } finally {
    r.disconnect()
  }
}

describe('monitor history per instance on one Redis prefix', () => {
  it('two instances with different names each keep their own endpoint counts across a restart', async () => {
    const prefix = 'fleet-history:'
    let alpha = await instance('alpha', prefix)
    let beta = await instance('beta', prefix)
    await call(alpha, '/md', '/')
    await call(alpha, '/md', '/about')
    await call(beta, '/html', '/')
    // Both write on close, one after the other: before, the second overwrote the first's history.
    await alpha.close()
    await beta.close()
    expect(await keys(`${prefix}monitor:*endpoints`)).toEqual([`${prefix}monitor:instance:alpha:endpoints`, `${prefix}monitor:instance:beta:endpoints`])

    alpha = await instance('alpha', prefix)
    beta = await instance('beta', prefix)
    try {
      const a = await stats(alpha)
      const b = await stats(beta)
      expect(Object.keys(a)).toEqual(['/md'])
      expect(a['/md']!.count).toBe(2)
      expect(Object.keys(b)).toEqual(['/html'])
      expect(b['/html']!.count).toBe(1)
      // /metrics labels each with its name.
      const metrics = await (await fetch(`${alpha.url}/metrics`)).text()
      expect(metrics).toContain('instance="alpha"')
      expect(metrics).not.toContain('instance="beta"')
    } finally {
      await alpha.close()
      await beta.close()
    }
  }, 120_000)

  it('the shared history of an older version is taken over once, by the first instance that starts', async () => {
    const prefix = 'legacy-history:'
    // The layout of a version before per-instance history: <prefix>monitor:<section>.
    const old = await instance('old', prefix)
    await call(old, '/md', '/')
    await old.close()
    const r = redisClient(port)
    await r.connect()
    try {
      for (const k of await r.keys(`${prefix}monitor:instance:old:*`)) await r.rename(k, k.replace('instance:old:', ''))
      expect(await r.exists(`${prefix}monitor:endpoints`)).toBe(1)
    } finally {
      r.disconnect()
    }

    const first = await instance('first', prefix)
    try {
      expect((await stats(first))['/md']?.count).toBe(1)
      // Moved, not copied: a second instance starts its own history instead of counting it again.
      expect(await keys(`${prefix}monitor:endpoints`)).toEqual([])
      expect(await keys(`${prefix}monitor:instance:first:endpoints`)).toHaveLength(1)
      const second = await instance('second', prefix)
      try {
        expect(await stats(second)).toEqual({})
      } finally {
        await second.close()
      }
    } finally {
      await first.close()
    }
    // And the first keeps it across its own restart.
    const again = await instance('first', prefix)
    try {
      expect((await stats(again))['/md']?.count).toBe(1)
    } finally {
      await again.close()
    }
  }, 120_000)

  it('refuses an instance name that cannot be a key part or a label', async () => {
    await expect(startService({ instance_name: 'has space', launch_permanent: false })).rejects.toThrow(/instance_name must be 1 to 128 letters/)
    await expect(startService({ instance_name: 'a'.repeat(129), launch_permanent: false })).rejects.toThrow(/instance_name/)
  })
})
