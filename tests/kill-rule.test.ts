import type { Browser } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import type { Admission } from '../src/main/core/admission.js'
import type { Config } from '../src/main/core/config.js'
import { ConflictError, ForbiddenError } from '../src/main/core/errors.js'
import { EngineEventBus, type BrowserTier } from '../src/main/core/events.js'
import { silentLogger } from '../src/main/core/logger.js'
import { Monitor } from '../src/main/core/monitor/monitor.js'
import type { Janitor } from '../src/main/core/pool/janitor.js'
import { ManagedBrowser, type BrowserState } from '../src/main/core/pool/managed-browser.js'
import { BrowserPool, type PoolDeps } from '../src/main/core/pool/pool.js'
import type { CpuSampler } from '../src/main/core/system/cpu.js'
import type { MemoryReading } from '../src/main/core/system/memory.js'
import { NetworkSampler } from '../src/main/core/system/network.js'

/*
 * "Can this browser be killed?" is asked twice: the dashboard's kill button (the monitor's
 * `killable`) and the kill action itself (the pool). For every kind of browser the two must give
 * the same answer, with and without force. No Chromium: the browsers are stand-ins whose close
 * answers at once.
 */

interface Case {
  name: string
  tier: BrowserTier
  state?: BrowserState
  leases?: number
  /** Of `leases`, those whose crawl has answered and only closes its context. */
  closingLeases?: number
  /** What the pool does: without force, and with force. */
  expect: { plain: Outcome; forced: Outcome }
}
type Outcome = 'killed' | 'forbidden' | 'conflict'

const CASES: Case[] = [
  { name: 'idle cold', tier: 'cold', expect: { plain: 'killed', forced: 'killed' } },
  { name: 'idle hot', tier: 'hot', expect: { plain: 'killed', forced: 'killed' } },
  { name: 'busy cold', tier: 'cold', leases: 2, expect: { plain: 'conflict', forced: 'killed' } },
  { name: 'busy hot', tier: 'hot', leases: 1, expect: { plain: 'conflict', forced: 'killed' } },
  {
    name: 'cold whose crawl has answered and only closes its context',
    tier: 'cold',
    leases: 1,
    closingLeases: 1,
    expect: { plain: 'killed', forced: 'killed' },
  },
  { name: 'cold with one crawl running and one closing', tier: 'cold', leases: 2, closingLeases: 1, expect: { plain: 'conflict', forced: 'killed' } },
  { name: 'idle permanent', tier: 'permanent', expect: { plain: 'forbidden', forced: 'forbidden' } },
  { name: 'busy permanent', tier: 'permanent', leases: 1, expect: { plain: 'forbidden', forced: 'forbidden' } },
  { name: 'retiring hot, draining a crawl', tier: 'hot', state: 'retired', leases: 1, expect: { plain: 'conflict', forced: 'killed' } },
  { name: 'retiring hot, drained', tier: 'hot', state: 'retired', expect: { plain: 'killed', forced: 'killed' } },
  {
    name: 'retiring permanent (its replacement launching)',
    tier: 'permanent',
    state: 'retired',
    leases: 1,
    expect: { plain: 'forbidden', forced: 'forbidden' },
  },
]

const fakeBrowser = { close: async () => {}, contexts: () => [], isConnected: () => true } as unknown as Browser
const memory: MemoryReading = { percent: 10, used_bytes: 1e9, limit_bytes: 1e10, source: 'host' }

/** A pool holding exactly `c`'s browser, and a monitor over it (not started: no timers, no /proc). */
function setUp(c: Case): { pool: BrowserPool; monitor: Monitor; browser: ManagedBrowser } {
  const events = new EngineEventBus()
  const pool = new BrowserPool({ events, logger: silentLogger(), readMemory: () => memory } as unknown as PoolDeps)
  const browser = new ManagedBrowser(`id-${c.tier}`, 'f'.repeat(64), {} as never, c.tier, fakeBrowser, null, Date.now(), 1)
  browser.state = c.state ?? 'active'
  browser.leases = c.leases ?? 0
  browser.closingLeases = c.closingLeases ?? 0
  ;(pool as unknown as { entries: Map<string, ManagedBrowser> }).entries.set(browser.id, browser)
  const monitor = new Monitor({
    config: { monitor_completed_limit: 10 } as Config,
    events,
    pool,
    admission: {} as Admission,
    janitor: {} as Janitor,
    readMemory: () => memory,
    logger: silentLogger(),
    startedAt: Date.now(),
    cpu: { sample: () => 0 } as unknown as CpuSampler,
    network: new NetworkSampler(() => ({ sent_bytes: 0, recv_bytes: 0 })),
  })
  return { pool, monitor, browser }
}

async function kill(c: Case, force: boolean): Promise<Outcome> {
  const { pool, browser } = setUp(c)
  try {
    await pool.kill(browser.id, { force })
    return 'killed'
  } catch (err) {
    if (err instanceof ForbiddenError) return 'forbidden'
    if (err instanceof ConflictError) return 'conflict'
    throw err
  }
}

describe('kill rule: the monitor shows what the pool does', () => {
  it.each(CASES)('$name', async (c) => {
    const view = setUp(c).monitor.browsers().browsers[0]!
    const plain = await kill(c, false)
    const forced = await kill(c, true)
    expect({ plain, forced }).toEqual(c.expect)
    // The kill button (a kill without force) is enabled exactly when the pool's kill succeeds.
    expect(view.killable).toBe(plain === 'killed')
    expect(view.not_killable_reason === null).toBe(plain === 'killed')
    // A refusal says which way out there is: force when force would do, a restart when nothing would.
    if (plain === 'conflict') expect(view.not_killable_reason).toMatch(/busy.*force/)
    if (plain === 'forbidden') expect(view.not_killable_reason).toMatch(/permanent.*restart/)
  })
})
