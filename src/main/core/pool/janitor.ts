import type { EngineEventBus } from '../events.js'
import type { Logger } from '../logger.js'
import type { LiveSettings } from '../settings/live.js'
import type { MemoryReading } from '../system/memory.js'
import type { PageReserve } from './page-reserve.js'
import type { BrowserPool } from './pool.js'

/*
 * The janitor: closes idle browsers (and idle reserved pages) on a schedule and with idle limits
 * that tighten as memory fills, so browsers nobody uses give their memory back.
 */

export type MemoryPressure = 'LOW' | 'MEDIUM' | 'HIGH'

export interface JanitorPolicy {
  pressure: MemoryPressure
  interval_seconds: number
  cold_ttl_seconds: number
  hot_ttl_seconds: number
}

/** The rows of the table are "> 80 %" and "> 60 %": a boundary value belongs to the row below. */
export function memoryPressure(percent: number): MemoryPressure {
  return percent > 80 ? 'HIGH' : percent > 60 ? 'MEDIUM' : 'LOW'
}

/** The adaptive table: the fuller memory is, the sooner idle browsers go. */
export function janitorPolicy(memoryPercent: number, idleTtlSeconds: number): JanitorPolicy {
  // One comparison decides both the label and the numbers, so they can never disagree.
  const pressure = memoryPressure(memoryPercent)
  if (pressure === 'HIGH') return { pressure, interval_seconds: 10, cold_ttl_seconds: 30, hot_ttl_seconds: 120 }
  if (pressure === 'MEDIUM') return { pressure, interval_seconds: 30, cold_ttl_seconds: 60, hot_ttl_seconds: 300 }
  return { pressure, interval_seconds: 60, cold_ttl_seconds: idleTtlSeconds, hot_ttl_seconds: 2 * idleTtlSeconds }
}

/**
 * Background loop that closes idle cold, then hot, browsers. It never touches the permanent
 * browser or a browser holding leases. The idle TTL is read from `live` at each pass: Settings
 * change it while the janitor runs.
 */
export class Janitor {
  private timer: NodeJS.Timeout | null = null
  private nextRunAt: number | null = null
  private running: Promise<number> | null = null
  private stopped = false

  constructor(
    private readonly pool: BrowserPool,
    private readonly live: Pick<LiveSettings, 'idleTtlSeconds'>,
    private readonly events: EngineEventBus,
    private readonly logger: Logger,
    private readonly readMemory: () => MemoryReading,
    private readonly reserve: PageReserve | null = null,
  ) {}

  start(): void {
    this.stopped = false
    this.schedule(janitorPolicy(this.readMemory().percent, this.live.idleTtlSeconds).interval_seconds)
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.nextRunAt = null
  }

  nextCleanupInSeconds(now = Date.now()): number | null {
    return this.nextRunAt === null ? null : Math.max(0, (this.nextRunAt - now) / 1000)
  }

  currentPolicy(): JanitorPolicy {
    return janitorPolicy(this.readMemory().percent, this.live.idleTtlSeconds)
  }

  /** One pass; returns how many browsers it closed. Concurrent calls share the pass in progress. */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = null))
    return this.running
  }

  private async pass(): Promise<number> {
    const memory = this.readMemory()
    const policy = janitorPolicy(memory.percent, this.live.idleTtlSeconds)
    const now = Date.now()
    const closing: Promise<void>[] = []
    for (const tier of ['cold', 'hot'] as const) {
      const ttl = tier === 'cold' ? policy.cold_ttl_seconds : policy.hot_ttl_seconds
      for (const browser of this.pool.list()) {
        if (browser.tier !== tier || !browser.acceptsLeases || browser.leases > 0) continue
        if (browser.idleSeconds(now) < ttl) continue
        closing.push(this.pool.close(browser, 'idle', ttl))
      }
    }
    // Reserved pages of browsers idle as long as a cold browser may be: the permanent browser
    // never closes, but its reserve should not hold renderers for a service nobody uses.
    const reservesClosed = this.reserve ? this.reserve.closeIdle(policy.cold_ttl_seconds, now) : Promise.resolve(0)
    const [, reservedPages] = await Promise.all([Promise.all(closing), reservesClosed])
    if (reservedPages > 0) this.logger.debug({ closed: reservedPages, pressure: policy.pressure }, 'janitor closed idle reserved pages')
    this.events.emit('janitor:run', {
      memory_percent: memory.percent,
      pressure: policy.pressure,
      interval_seconds: policy.interval_seconds,
      cold_ttl_seconds: policy.cold_ttl_seconds,
      hot_ttl_seconds: policy.hot_ttl_seconds,
      closed: closing.length,
    })
    if (closing.length > 0) this.logger.info({ closed: closing.length, pressure: policy.pressure }, 'janitor closed idle browsers')
    return closing.length
  }

  private schedule(seconds: number): void {
    if (this.stopped) return
    this.nextRunAt = Date.now() + seconds * 1000
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err) => this.logger.error({ err }, 'janitor pass failed'))
        .finally(() => this.schedule(this.currentPolicy().interval_seconds))
    }, seconds * 1000)
    this.timer.unref()
  }
}
