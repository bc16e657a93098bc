import { randomUUID } from 'node:crypto'
import { CrawldeckError } from '../errors.js'
import type { EngineEventBus, RequestPhase } from '../events.js'
import type { Lease } from '../pool/pool.js'
import { RequestWork, type ProducedConfig, type ProducedResult } from './request-work.js'

/**
 * The lifecycle of one API request as events: started -> phases -> finished. `finish` runs
 * exactly once however the request ends, so the monitor's active set can never keep a
 * request that is over.
 */
export class TrackedRequest {
  readonly id = randomUUID()
  readonly startTime = Date.now()
  private done = false
  private poolHit: boolean | null = null
  private queueWaitMs: number | null = null
  private browserSig: string | null = null
  private urlsServed = 0
  private urlsFromCache = 0
  private readonly work = new RequestWork()

  constructor(
    private readonly events: EngineEventBus,
    readonly endpoint: string,
    readonly url: string,
    urls: number,
    readonly configSig: string,
  ) {
    events.emit('request:started', { id: this.id, endpoint, url, urls, config_sig: configSig, start_time: this.startTime })
  }

  phase = (phase: RequestPhase): void => {
    if (!this.done) this.events.emit('request:phase', { id: this.id, phase })
  }

  /** The first lease decides pool_hit: a later URL of the same batch would always find a warm browser. */
  lease = (lease: Lease, queueWaitMs: number): void => {
    if (this.poolHit === null) {
      this.poolHit = lease.poolHit
      this.queueWaitMs = queueWaitMs + lease.waitMs
      this.browserSig = lease.browser.sig
    }
  }

  /** One URL of the request answered, from the result cache or not. */
  served = (fromCache: boolean): void => {
    this.urlsServed++
    if (fromCache) this.urlsFromCache++
  }

  /** One URL's result: what extraction and content filtering it ran (see request-work.ts). */
  produced = (cfg: ProducedConfig, result: ProducedResult | null): void => {
    this.work.add(cfg, result)
  }

  finish(outcome: { success: boolean; statusCode: number; error?: unknown }): void {
    if (this.done) return
    this.done = true
    const err = outcome.error
    const message = err === undefined || err === null ? null : err instanceof Error ? err.message : String(err)
    // Expected failures (a 404 page, a full queue) carry no stack worth showing; bugs do.
    const stack = err instanceof Error && !(err instanceof CrawldeckError) ? (err.stack ?? null) : null
    const end = Date.now()
    this.events.emit('request:finished', {
      id: this.id,
      endpoint: this.endpoint,
      url: this.url,
      config_sig: this.configSig,
      start_time: this.startTime,
      end_time: end,
      elapsed_ms: end - this.startTime,
      success: outcome.success,
      status_code: outcome.statusCode,
      error: message,
      stack,
      aborted: err instanceof CrawldeckError && err.code === 'client_aborted',
      pool_hit: this.poolHit,
      cache_hit: outcome.success && this.urlsServed > 0 && this.urlsFromCache === this.urlsServed,
      queue_wait_ms: this.queueWaitMs,
      browser_sig: this.browserSig,
      ...this.work.view(),
    })
  }
}
