import type { ServiceImpl } from '../../../shared/contract.js'
import type { JobsHealth } from '../../../shared/job-schemas.js'
import type { BrowserTier, RestartResponse } from '../../../shared/monitor-types.js'
import { ENDPOINT_HISTORY_MAX_SECONDS } from '../../../shared/monitor-schemas.js'
import { ConflictError, invalidInput, NotFoundError } from '../errors.js'
import type { EngineEventBus } from '../events.js'
import type { LiveFeed } from '../monitor/live.js'
import type { Monitor } from '../monitor/monitor.js'
import { coldCleanup } from '../pool/kill-rule.js'
import type { ManagedBrowser } from '../pool/managed-browser.js'
import type { BrowserPool } from '../pool/pool.js'
import type { SessionStore } from '../crawl/sessions.js'
import type { Registry } from 'prom-client'

/*
 * The /monitor/* operations and /metrics: reads and the live feed come from the monitor's memory;
 * the cleanup, kill and restart actions go through the pool.
 */

type MonitorOps = Pick<
  ServiceImpl,
  | 'monitorHealth'
  | 'monitorRequests'
  | 'monitorBrowsers'
  | 'monitorEndpointStats'
  | 'monitorTimeline'
  | 'monitorHistoryEndpoints'
  | 'monitorJanitorLog'
  | 'monitorErrors'
  | 'monitorCleanup'
  | 'monitorKillBrowser'
  | 'monitorRestartBrowser'
  | 'monitorResetStats'
  | 'monitorSessions'
  | 'monitorCloseSession'
  | 'monitorStream'
  | 'metrics'
>

export interface MonitorServiceDeps {
  monitor: Monitor
  live: LiveFeed
  pool: BrowserPool
  events: EngineEventBus
  registry: Registry
  /** Named sessions: listed and closed here, kept by the crawler. */
  sessions: SessionStore
  /** Async crawl jobs by status, for /monitor/health's `jobs`. */
  jobs?: () => Promise<JobsHealth>
}

/** Crawl4AI names a browser by the first 8 hex characters of its signature. */
const crawl4aiSig = (sig: string): string => sig.slice(0, 8)

/** Crawl4AI's `note` on a hot or cold restart, saying what crawldeck did instead. */
export const RESTART_NOTE = 'Browser relaunched with the same config; the old one finishes its crawls, then closes'

/**
 * The /monitor/* operations. Reads answer from memory (never queued behind crawls); actions
 * go through the pool, which alone decides what may be closed.
 */
export function createMonitorService(deps: MonitorServiceDeps): MonitorOps {
  const { monitor, live, pool, events, registry } = deps
  /**
   * Restarts in flight, by the id of the browser being replaced. Until the new browser is up the
   * old one is still active, so a second restart of it (a double click) would launch a second
   * replacement — and an extra permanent browser that nothing ever closes. It joins the first.
   */
  const restarting = new Map<string, Promise<RestartResponse>>()

  /**
   * A browser by full signature, unambiguous prefix, or id. Several browsers can share one
   * signature (a restarted one draining beside its replacement): the one taking leases wins.
   */
  function resolve(ref: string): ManagedBrowser {
    const needle = ref.toLowerCase()
    const all = pool.list()
    const byId = all.find((b) => b.id === needle)
    if (byId) return byId
    const matches = all.filter((b) => b.sig.startsWith(needle))
    if (matches.length === 0) throw new NotFoundError(`no browser matches sig ${JSON.stringify(ref)}`)
    const sigs = [...new Set(matches.map((b) => b.sig))]
    if (sigs.length > 1) {
      throw new ConflictError(`sig ${JSON.stringify(ref)} is ambiguous: it matches ${sigs.length} browsers; give more characters`, {
        matches: matches.map((b) => ({ sig: b.shortSig, full_sig: b.sig, type: b.tier })),
      })
    }
    return matches.find((b) => b.acceptsLeases) ?? (matches[0] as ManagedBrowser)
  }

  return {
    monitorHealth: async () => {
      const health = monitor.health()
      return deps.jobs ? { ...health, jobs: await deps.jobs() } : health
    },
    monitorRequests: async (q) => monitor.requests(q.status, q.limit, q.order),
    monitorBrowsers: async () => monitor.browsers(),
    monitorEndpointStats: async () => monitor.endpointStats(),
    monitorTimeline: async (q) => monitor.timeline(q.metric, q.window),
    monitorHistoryEndpoints: async (q) => {
      // The defaults are relative to now, so they are filled here; the schema checked a given pair.
      const to = q.to ?? Date.now() / 1000
      const from = q.from ?? to - 86_400
      if (from >= to) throw invalidInput([{ path: 'from', message: `from must be before to (${new Date(to * 1000).toISOString()})` }])
      if (to - from > ENDPOINT_HISTORY_MAX_SECONDS) throw invalidInput([{ path: 'to', message: 'from..to spans at most 30 days' }])
      return monitor.rollups.endpoints(from, to)
    },
    monitorJanitorLog: async (q) => monitor.janitorEvents(q.limit, q.order),
    monitorErrors: async (q) => monitor.errors(q.limit, q.order),

    async monitorCleanup() {
      const idleBefore = new Map(pool.list().map((b) => [b.id, b.idleSeconds()]))
      const spared = coldCleanup(pool.list()).busy
      const closed = await pool.closeIdleCold('cleanup')
      events.emit('browser:cleanup', { closed: closed.map((b) => b.sig), spared_busy: spared.map((b) => b.sig) })
      return {
        success: true,
        killed_browsers: closed.length,
        closed: closed.map((b) => ({ sig: b.shortSig, id: b.id, idle_seconds: Math.round((idleBefore.get(b.id) ?? 0) * 10) / 10 })),
        spared_busy: spared.map((b) => ({ sig: b.shortSig, id: b.id, leases: b.leases })),
      }
    },

    async monitorKillBrowser(input) {
      const target = resolve(input.sig)
      // The pool decides (pool/kill-rule.ts): 403 for the permanent browser, 409 for a busy one
      // without force. Crawls that have answered and only close their context do not fail with it.
      const leases = target.servingLeases
      await pool.kill(target.id, { force: input.force })
      return {
        success: true,
        killed_sig: crawl4aiSig(target.sig),
        pool_type: target.tier,
        killed: { sig: target.shortSig, full_sig: target.sig, id: target.id, type: target.tier, forced: input.force, failed_crawls: leases },
      }
    },

    async monitorRestartBrowser(input) {
      const target = input.sig === 'permanent' ? pool.permanent() : resolve(input.sig)
      if (!target) throw new NotFoundError('there is no permanent browser right now (it is being relaunched)')
      const inflight = restarting.get(target.id)
      if (inflight) return inflight
      const tier: BrowserTier = target.tier
      const run = (async (): Promise<RestartResponse> => {
        const { old, fresh } = await pool.restart(target.id)
        events.emit('browser:restarted', { old_id: old.id, new_id: fresh.id, sig: fresh.sig, tier })
        const details = { sig: fresh.shortSig, full_sig: fresh.sig, type: tier, old_id: old.id, new_id: fresh.id, old_leases_draining: old.leases }
        // Crawl4AI's keys. Its hot/cold restart only closes the browser ("will be recreated on next
        // request"); this one is relaunched already, and the note says so.
        return tier === 'permanent'
          ? { success: true, restarted: 'permanent', restarted_sig: crawl4aiSig(fresh.sig), details }
          : { success: true, restarted_sig: crawl4aiSig(fresh.sig), note: RESTART_NOTE, details }
      })().finally(() => restarting.delete(target.id))
      restarting.set(target.id, run)
      return run
    },

    monitorSessions: async () => ({ sessions: deps.sessions.views() }),

    async monitorCloseSession(input) {
      if (!(await deps.sessions.close(input.session_id))) throw new NotFoundError(`no session "${input.session_id}" is open`)
      return { success: true, closed: input.session_id }
    },

    monitorResetStats: async () => ({ success: true, message: 'Endpoint stats reset', ...monitor.resetStats() }),
    monitorStream: async () => live.subscribe(),
    // prom-client prints an empty gauge as "Nan"; the exposition format spells it "NaN".
    metrics: async () => ({ contentType: registry.contentType, body: (await registry.metrics()).replace(/ Nan$/gm, ' NaN') }),
  }
}
