/**
 * The /monitor/health and /monitor/browsers answers: the container, the pool and each browser as
 * the sampler last read them, so an answer never waits on /proc or cgroup files.
 */
import type { BrowsersResponse, BrowserView, CacheHealth, MonitorHealth } from '../../../shared/monitor-types.js'
import type { Admission } from '../admission.js'
import type { Config } from '../config.js'
import { janitorPolicy, type Janitor } from '../pool/janitor.js'
import { busyText, killBlocker, PERMANENT_NOT_KILLABLE } from '../pool/kill-rule.js'
import type { ManagedBrowser } from '../pool/managed-browser.js'
import type { BrowserPool } from '../pool/pool.js'
import { round } from './endpoint-stats.js'
import type { ResourceSampler } from './sampling.js'

const MB = 1024 * 1024

export interface HealthSources {
  config: Config
  pool: BrowserPool
  admission: Admission
  janitor: Janitor
  startedAt: number
  sampler: ResourceSampler
  /** The result cache's size; absent in monitors built without one (tests). */
  cache?: { health(): CacheHealth }
}

/** What a monitor without a result cache shows. */
const NO_CACHE: CacheHealth = { backend: 'none', entries: 0, bytes: 0, max_bytes: 0, ttl_seconds: 0, error: null }

export function healthView(src: HealthSources, persistence: MonitorHealth['persistence']): MonitorHealth {
  const { config, pool, admission, janitor, startedAt, sampler } = src
  // Readings from the once-a-second sampler keep /monitor/* cheap while the pool is saturated.
  const mem = sampler.memory
  const policy = janitorPolicy(mem.percent, config.idle_ttl_seconds)
  const tiers = { permanent: { active: false, memory_mb: 0 }, hot: { count: 0, memory_mb: 0 }, cold: { count: 0, memory_mb: 0 } }
  let total = 0
  for (const b of pool.list()) {
    const mb = memoryMbOf(sampler, b)
    total += mb
    if (b.tier === 'permanent') {
      tiers.permanent.active ||= b.browser.isConnected()
      tiers.permanent.memory_mb += mb
    } else {
      tiers[b.tier].count++
      tiers[b.tier].memory_mb += mb
    }
  }
  const net = sampler.network
  const nextCleanup = janitor.nextCleanupInSeconds()
  return {
    container: {
      cpu_percent: round(sampler.cpu, 1),
      memory_percent: round(mem.percent, 1),
      memory_source: mem.source,
      memory_used_mb: round(mem.used_bytes / MB, 1),
      memory_limit_mb: round(mem.limit_bytes / MB, 1),
      network_sent_mb: round(net.sent_bytes / MB),
      network_recv_mb: round(net.recv_bytes / MB),
      network_sent_mb_per_sec: round(net.sent_bytes_per_sec / MB, 3),
      network_recv_mb_per_sec: round(net.recv_bytes_per_sec / MB, 3),
      uptime_seconds: round((Date.now() - startedAt) / 1000, 1),
    },
    pool: {
      permanent: { active: tiers.permanent.active, memory_mb: round(tiers.permanent.memory_mb, 1) },
      hot: { count: tiers.hot.count, memory_mb: round(tiers.hot.memory_mb, 1) },
      cold: { count: tiers.cold.count, memory_mb: round(tiers.cold.memory_mb, 1) },
      total_memory_mb: round(total, 1),
    },
    queue: { active: admission.activeCount, queued: admission.queuedCount, max_pages: config.max_pages, queue_size: config.queue_size },
    admission: admission.state,
    janitor: {
      memory_pressure: policy.pressure,
      next_cleanup_estimate: nextCleanup === null ? 'adaptive' : round(Date.now() / 1000 + nextCleanup, 1),
      next_cleanup_in_seconds: nextCleanup === null ? null : round(nextCleanup, 1),
      interval_seconds: policy.interval_seconds,
      cold_ttl_seconds: policy.cold_ttl_seconds,
      hot_ttl_seconds: policy.hot_ttl_seconds,
    },
    persistence: { ...persistence },
    cache: src.cache?.health() ?? NO_CACHE,
  }
}

/** Every browser in the pool; `leases` (hits of all) gives the reuse rate. */
export function browsersView(pool: BrowserPool, sampler: ResourceSampler, leases: { hits: number; total: number }): BrowsersResponse {
  const now = Date.now()
  const views: BrowserView[] = pool.list().map((b) => {
    // What the pool's kill without force would say (pool/kill-rule.ts), in the dashboard's words.
    const blocker = killBlocker(b)
    const reason =
      blocker?.kind === 'permanent' ? PERMANENT_NOT_KILLABLE : blocker?.kind === 'busy' ? `busy: ${busyText(blocker)}; kill with force to end them` : null
    return {
      id: b.id,
      type: b.tier,
      sig: b.shortSig,
      full_sig: b.sig,
      config: { ...b.config },
      state: b.state,
      pid: b.pid,
      launched_at: b.launchedAt,
      age_seconds: round((now - b.launchedAt) / 1000, 1),
      last_used_seconds: round((now - b.lastUsedAt) / 1000, 1),
      memory_mb: memoryMbOf(sampler, b),
      processes: sampler.browser(b.id)?.processes ?? 0,
      hits: b.uses,
      leases: b.leases,
      pages_served: b.pagesServed,
      ...openOf(b),
      killable: reason === null,
      not_killable_reason: reason,
    }
  })
  return {
    browsers: views,
    summary: {
      total_count: views.length,
      total_memory_mb: round(
        views.reduce((s, v) => s + v.memory_mb, 0),
        1,
      ),
      reuse_rate_percent: leases.total === 0 ? 0 : round((100 * leases.hits) / leases.total),
    },
  }
}

function memoryMbOf(sampler: ResourceSampler, b: ManagedBrowser): number {
  return round((sampler.browser(b.id)?.bytes ?? 0) / MB, 1)
}

/** Contexts and pages a browser holds open, as Playwright's client lists them (no round trip). */
function openOf(b: ManagedBrowser): { open_contexts: number; open_pages: number } {
  if (b.state === 'closed') return { open_contexts: 0, open_pages: 0 }
  const contexts = b.browser.contexts()
  return { open_contexts: contexts.length, open_pages: contexts.reduce((n, c) => n + c.pages().length, 0) }
}
