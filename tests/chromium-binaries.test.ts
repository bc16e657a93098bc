import { realpathSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locateChromiumBinaries } from '../src/main/core/chromium/locate.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { TestScope, waitFor } from './helpers/service.js'

/*
 * Which binary a browser actually runs, read from the kernel (/proc/PID/exe), not from our own
 * bookkeeping: headless browsers run Chromium's headless shell when the machine has one (4.5-8x less
 * CPU per isolated crawl, docs/benchmarks.md), and a headed browser_config gets a clear refusal
 * when there is no full Chromium to show a window with.
 */

const SHELL = '/usr/lib/chromium/chromium-headless-shell'

let fx: FixtureServer
const scope = new TestScope(() => fx)

beforeAll(async () => {
  fx = await startFixtureServer()
})

afterAll(async () => {
  await scope.closeAll()
  await fx?.close()
})

describe('Chromium binaries', () => {
  it('this machine has both: the headless shell for headless browsers, the full Chromium for headed ones', () => {
    const env = { ...process.env }
    delete env.CRAWLDECK_CHROMIUM
    expect(locateChromiumBinaries({ env })).toEqual({ headless: SHELL, headed: '/usr/bin/chromium' })
  })

  it('headless browsers run the headless shell, and crawl with it', async () => {
    const s = await scope.serve()
    await waitFor(() => s.runtime.pool.list().some((b) => b.tier === 'permanent' && b.state === 'active' && b.pid !== null), 30_000, 'the permanent browser')
    const permanent = s.runtime.pool.list().find((b) => b.tier === 'permanent')!
    // Through the niced wrapper's exec: the browser process itself is the shell binary.
    expect(realpathSync(`/proc/${permanent.pid}/exe`)).toBe(SHELL)
    const res = await s.postJson('/md', { url: fx.url('/') })
    expect(res.status).toBe(200)
    expect(res.body.success).toBe(true)
    expect(res.body.markdown.length).toBeGreaterThan(0)
  })

  it('an explicit --chromium serves every browser: the shell is not preferred over a path someone chose', async () => {
    const s = await scope.serve({ chromium: '/usr/lib/chromium/chromium' })
    await waitFor(() => s.runtime.pool.list().some((b) => b.tier === 'permanent' && b.state === 'active' && b.pid !== null), 30_000, 'the permanent browser')
    const permanent = s.runtime.pool.list().find((b) => b.tier === 'permanent')!
    expect(realpathSync(`/proc/${permanent.pid}/exe`)).toBe('/usr/lib/chromium/chromium')
    expect(s.runtime.chromium.headed?.path).toBe('/usr/lib/chromium/chromium')
  })

  it('headless: false without a full Chromium is refused with what to install, and headless crawls go on', async () => {
    const s = await scope.serve({}, { chromiumBinaries: { headless: SHELL, headed: null } })
    const res = await s.postJson('/md', { url: fx.url('/'), browser_config: { headless: false } })
    expect(res.status).toBe(503)
    expect(res.body.error).toMatch(/headless: false needs a full Chromium/)
    expect(res.body.error).toContain(SHELL)
    expect(res.body.error).toContain('apt-get install -y chromium')
    const ok = await s.postJson('/md', { url: fx.url('/') })
    expect(ok.status).toBe(200)
  })
})
