import type { HealthResponse } from '../../../shared/api-types.js'
import type { MonitorHealth } from '../../../shared/monitor-types.js'
import type { Admission } from '../admission.js'
import type { FixedConfig } from '../config.js'
import type { BrowserPool } from '../pool/pool.js'
import type { LiveSettings } from '../settings/live.js'
import type { MemoryReading } from '../system/memory.js'

/*
 * The health operation (GET /health): ok, degraded or error, with the problems behind it, read from
 * the pool, admission, memory, the sandbox, the egress guard and the monitor's persistence.
 */

export interface HealthDeps {
  config: FixedConfig
  /** The memory threshold as Settings have it now (the one the pool refuses launches at). */
  live: Pick<LiveSettings, 'memoryThresholdPercent'>
  pool: BrowserPool
  admission: Admission
  readMemory: () => MemoryReading
  startedAt: number
  version: string
  /** Set when browsers run without Chromium's sandbox (as root): reported, see readHealth. */
  sandboxWarning: string | null
  /** Why the egress guard should be on but is not yet (tokens added live to a service started without it), or null. */
  guardPending?: () => string | null
  /** The monitor's persistence state (the persister reports it); its error names the store by its redacted location only. */
  persistence?: Readonly<Pick<MonitorHealth['persistence'], 'ok' | 'error'>>
}

/**
 * GET /health. Never "ok" while the permanent browser is down: that is the one browser the
 * service cannot work without, and users have been burnt by a green /health over a dead pool.
 */
export function readHealth(deps: HealthDeps): HealthResponse {
  const { pool, admission, config } = deps
  const threshold = deps.live.memoryThresholdPercent
  const now = Date.now()
  const permanent = pool.permanent()
  const connected = permanent?.browser.isConnected() ?? false
  const launching = pool.isLaunching(pool.defaultSig)
  const problems: string[] = []
  let status: HealthResponse['status'] = 'ok'
  if (!permanent || !connected) {
    status = 'error'
    problems.push(
      launching
        ? 'the permanent browser is down and being relaunched'
        : `the permanent browser is down${pool.permanentLaunchError ? `: ${pool.permanentLaunchError}` : ''}`,
    )
  }
  const memory = deps.readMemory()
  if (status === 'ok' && memory.percent >= threshold) {
    status = 'degraded'
    problems.push(`memory use ${memory.percent.toFixed(1)} % is at or above the ${threshold} % threshold: new browsers are refused`)
  }
  if (status === 'ok' && admission.queuedCount >= admission.capacity.queue_limit && admission.capacity.queue_limit > 0) {
    status = 'degraded'
    problems.push('the crawl queue is full: new crawls get 429')
  }
  // A problem to fix, but not a degraded service: crawls work as well as ever, and a status that
  // stays 'degraded' for as long as the process lives would teach everyone to ignore it.
  if (deps.sandboxWarning !== null) problems.push(deps.sandboxWarning)
  // Crawls work, but a crawl token can still reach private addresses until the restart.
  const guardPending = deps.guardPending?.() ?? null
  if (guardPending !== null) {
    if (status === 'ok') status = 'degraded'
    problems.push(guardPending)
  }
  // Crawls work, but history is only in memory: a crash, or a stop whose fallback file cannot be
  // written either, would lose the counts. Degraded until a write succeeds again.
  if (deps.persistence && !deps.persistence.ok) {
    if (status === 'ok') status = 'degraded'
    problems.push(
      `monitor history is not being saved (kept in memory, written once the store answers): ${deps.persistence.error ?? 'the store did not answer'}`,
    )
  }
  return {
    status,
    timestamp: now / 1000,
    problems,
    version: deps.version,
    uptime_seconds: (now - deps.startedAt) / 1000,
    permanent_browser: {
      state: permanent && connected ? 'up' : launching ? 'launching' : 'down',
      sig: pool.defaultSig,
      pid: permanent?.pid ?? null,
      age_seconds: permanent ? (now - permanent.launchedAt) / 1000 : null,
      pages_served: permanent?.pagesServed ?? null,
      last_launch_error: pool.permanentLaunchError,
    },
    pool: {
      browsers: pool.list().length,
      ...pool.tierCounts(),
      pages_active: admission.activeCount,
      queued: admission.queuedCount,
      max_pages: config.max_pages,
      queue_size: config.queue_size,
    },
    memory: { percent: memory.percent, source: memory.source, threshold_percent: threshold },
  }
}
