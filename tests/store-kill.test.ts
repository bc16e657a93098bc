import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { waitFor } from './helpers/service.js'
import { chromiumDescendants, expectAllGone, serve, tempDir, waitExit, waitReady } from './helpers/serve-process.js'

/*
 * The service SIGKILLed while it writes its embedded store, again and again: the file is never
 * corrupt, and every restart restores at least everything the last confirmed flush held. Real
 * processes (`node --import tsx src/main/serve.ts`), real Chromium, the store written every 50 ms.
 */

let fx: FixtureServer

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterAll(async () => {
  await fx?.close()
})

async function json<T = any>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await fetch(url, init)
  return { status: r.status, body: (await r.json()) as T }
}

const crawl = (base: string) =>
  fetch(`${base}/md`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: fx.url('/') }) }).then(
    (r) => r.status,
    () => 0, // cut off by the kill: no answer, as expected
  )

describe('embedded store under SIGKILL', () => {
  it('is never corrupted and restores everything up to the last flush, six kills in a row', async () => {
    const dataDir = path.join(tempDir(), 'data')
    const file = path.join(dataDir, 'monitor.json')
    /** Crawls whose count a flush confirmed before the kill: a restart must restore at least these. */
    let confirmed = 0
    /** Crawls the service answered or may have counted: a restart can never restore more. */
    let upperBound = 0
    for (let round = 1; round <= 6; round++) {
      const s = serve(['--port', '0', '--data-dir', dataDir, '--log-level', 'warn', '--persist-interval', '50'])
      const { url } = await waitReady(s)
      const restored = (await json<Record<string, { count: number }>>(`${url}/monitor/endpoints/stats`)).body['/md']?.count ?? 0
      expect(restored, `round ${round}: restored count`).toBeGreaterThanOrEqual(confirmed)
      expect(restored, `round ${round}: restored count`).toBeLessThanOrEqual(upperBound)

      // Two crawls, then wait for a flush that happened after both answers: those are confirmed.
      for (let i = 0; i < 2; i++) expect(await crawl(url)).toBe(200)
      const answeredAt = Date.now()
      await waitFor(async () => ((await json(`${url}/monitor/health`)).body.persistence?.last_flush ?? 0) > answeredAt, 20_000, 'a flush after the crawls')
      confirmed = restored + 2
      upperBound = restored + 2

      // More crawls in flight, the store being rewritten every 50 ms, and then SIGKILL.
      const inFlight = Array.from({ length: 3 }, () => crawl(url))
      upperBound += 3
      await waitFor(
        async () =>
          ((await json(`${url}/monitor/requests?status=active`)).body.active?.length ?? 0) > 0 ||
          (await json(`${url}/monitor/endpoints/stats`)).body['/md']?.count > confirmed,
        20_000,
        'crawls under way',
      )
      const browsers = chromiumDescendants(s.pid)
      process.kill(s.pid, 'SIGKILL')
      expect((await waitExit(s)).signal).toBe('SIGKILL')
      await Promise.all(inFlight)
      // Chromium notices its parent is gone (the pipe closes) and exits on its own.
      await expectAllGone(browsers, 20_000)

      // The file on disk parses and holds a complete snapshot; no temp file is mistaken for it.
      expect(existsSync(file)).toBe(true)
      const stored = JSON.parse(readFileSync(file, 'utf8'))
      expect(stored.version).toBe(1)
      expect(stored.endpoints['/md'].count).toBeGreaterThanOrEqual(confirmed)
      // A corrupt file would have been moved aside at the next start: there is none.
      expect(readdirSync(dataDir).filter((f) => f.includes('.corrupt-'))).toEqual([])
    }
    // One last start: everything confirmed is there, and the service serves.
    const s = serve(['--port', '0', '--data-dir', dataDir, '--log-level', 'warn'])
    const { url } = await waitReady(s)
    const final = (await json<Record<string, { count: number }>>(`${url}/monitor/endpoints/stats`)).body['/md']?.count ?? 0
    expect(final).toBeGreaterThanOrEqual(confirmed)
    expect(final).toBeLessThanOrEqual(upperBound)
    expect(await crawl(url)).toBe(200)
    process.kill(s.pid, 'SIGTERM')
    expect((await waitExit(s)).code).toBe(0)
    // Seven service processes start here, each compiling with tsx and launching Chromium: beside
    // the rest of the suite on a slow 2-core host that took more than the default 60 s.
  }, 180_000)
})
