import { defineStore } from 'pinia'
import { computed, nextTick, ref, shallowRef } from 'vue'
import type {
  ActiveRequest,
  BrowsersResponse,
  CompletedRequest,
  EndpointStatsResponse,
  ErrorEntry,
  ErrorGroupView,
  JanitorEvent,
  LiveMessage,
  MonitorHealth,
  MonitorSnapshotView,
  SessionView,
  TierCounts,
  TimelineTick,
} from '../../../shared/monitor-types'
import { fetchSnapshot } from '../transport/snapshot'
import type { LiveState } from '../transport/types'
import { useTransport } from './transport'

/*
 * The Monitor view's store: health, requests, browsers, endpoints, janitor log, errors and timeline
 * as the live feed keeps them, the control actions, and what applying each update costs.
 */

export const LIMITS = { completed: 100, janitor: 200, errors: 100, timeline: 60 } as const

export type ConnectionState = LiveState | 'connecting' | 'offline'

/** Cost of applying live updates, render included, in milliseconds. */
export interface UpdateCost {
  last: number
  max: number
  avg: number
  samples: number
}

export interface ActionOutcome {
  ok: boolean
  message: string
  at: number
}

/** Newest first, bounded; always a new array so watchers see a replacement. */
function prepend<T>(item: T, list: readonly T[], max: number): T[] {
  const next = [item, ...list]
  if (next.length > max) next.length = max
  return next
}

/** The charts' points, timed in epoch milliseconds (`timestamps_ms`; `timestamps` are Crawl4AI's whole seconds). */
function timelineFromSnapshot(s: MonitorSnapshotView): TimelineTick[] {
  const mem = s.timeline.memory
  const byTs = (metric: 'cpu' | 'requests' | 'browsers' | 'limit') => {
    const t = s.timeline[metric]
    const map = new Map<number, number | TierCounts>()
    t.timestamps_ms.forEach((ts, i) => map.set(ts, t.values[i] as number | TierCounts))
    return map
  }
  const cpu = byTs('cpu')
  const req = byTs('requests')
  const br = byTs('browsers')
  // Absent from snapshots of servers older than the adaptive limit.
  const lim = s.timeline.limit ? byTs('limit') : new Map<number, number>()
  const points: TimelineTick[] = mem.timestamps_ms.map((ts, i) => ({
    timestamp: ts,
    memory: (mem.values[i] as number | undefined) ?? 0,
    cpu: (cpu.get(ts) as number | undefined) ?? 0,
    requests: (req.get(ts) as number | undefined) ?? 0,
    browsers: (br.get(ts) as TierCounts | undefined) ?? { permanent: 0, hot: 0, cold: 0 },
    limit: (lim.get(ts) as number | undefined) ?? 0,
  }))
  return points.slice(-LIMITS.timeline)
}

/**
 * Everything the Monitor view shows. Fed by a snapshot and then live messages; every list is
 * bounded and replaced (never mutated in place). While paused, messages are dropped and a fresh
 * snapshot is fetched on resume, so nothing goes stale.
 */
export const useMonitorStore = defineStore('monitor', () => {
  const health = shallowRef<MonitorHealth | null>(null)
  const active = shallowRef<ActiveRequest[]>([])
  const completed = shallowRef<CompletedRequest[]>([])
  const browsers = shallowRef<BrowsersResponse>({ browsers: [], summary: { total_count: 0, total_memory_mb: 0, reuse_rate_percent: 0 } })
  const endpoints = shallowRef<EndpointStatsResponse>({})
  const janitor = shallowRef<JanitorEvent[]>([])
  const errors = shallowRef<ErrorEntry[]>([])
  const errorGroups = shallowRef<ErrorGroupView[]>([])
  const timeline = shallowRef<TimelineTick[]>([])
  /** Named sessions: not in the live feed, read from GET /monitor/sessions (see refreshSessions). */
  const sessions = shallowRef<SessionView[]>([])
  const connection = ref<ConnectionState>('offline')
  const paused = ref(false)
  const hasSnapshot = ref(false)
  const lastUpdate = ref<number | null>(null)
  const lastError = ref<string | null>(null)
  /** Outcome of the last control action, keyed by action. */
  const outcomes = ref<Record<string, ActionOutcome>>({})
  const busy = ref<Record<string, boolean>>({})

  /** Incremental updates (tick, request, browsers...) and full snapshots are timed apart. */
  const updateCost = ref<UpdateCost>({ last: 0, max: 0, avg: 0, samples: 0 })
  const snapshotCost = ref<UpdateCost>({ last: 0, max: 0, avg: 0, samples: 0 })
  // The last 120 costs of each kind, for the averages: fixed rings, nothing grows.
  const rings = { update: new Float64Array(120), snapshot: new Float64Array(120) }
  const counts = { update: 0, snapshot: 0 }
  let measuring = false
  let measuredTypes = ''

  /**
   * Times an update from its first message to the end of the render it causes (Vue's flush; the
   * chart redraws it queues run in the next frames and measure themselves, as `crawldeck:chart`).
   * Each one is also a Performance API measure named `crawldeck:update` / `crawldeck:snapshot`
   * (detail: the message types) for a PerformanceObserver; it is cleared at once so the page's
   * entry buffer never grows.
   */
  function measure(t0: number, kind: 'update' | 'snapshot', type: string): void {
    if (typeof performance === 'undefined') return
    // Messages applied before the render are one update; the detail lists them all ('tick+browsers').
    if (measuring) {
      measuredTypes += `+${type}`
      return
    }
    measuring = true
    measuredTypes = type
    void nextTick(() => {
      measuring = false
      const end = performance.now()
      const cost = end - t0
      if (typeof performance.measure === 'function') {
        const name = `crawldeck:${kind}`
        try {
          performance.measure(name, { start: t0, end, detail: measuredTypes })
          performance.clearMeasures(name)
        } catch {
          // an old engine without User Timing L3: the ring below still has the figure
        }
      }
      const ring = rings[kind]
      ring[counts[kind] % ring.length] = cost
      counts[kind]++
      const n = Math.min(counts[kind], ring.length)
      let sum = 0
      for (let i = 0; i < n; i++) sum += ring[i]!
      const target = kind === 'update' ? updateCost : snapshotCost
      target.value = { last: cost, max: Math.max(target.value.max, cost), avg: sum / n, samples: counts[kind] }
    })
  }

  let unsubscribe: (() => void) | null = null
  let groupsTimer: ReturnType<typeof setTimeout> | null = null

  function applySnapshot(s: MonitorSnapshotView): void {
    health.value = s.health
    active.value = s.requests.active.slice()
    completed.value = s.requests.completed.slice(0, LIMITS.completed)
    browsers.value = s.browsers
    endpoints.value = s.endpoints
    janitor.value = s.janitor.slice(0, LIMITS.janitor)
    errors.value = s.errors.errors.slice(0, LIMITS.errors)
    errorGroups.value = s.errors.groups
    timeline.value = timelineFromSnapshot(s)
    hasSnapshot.value = true
    void refreshSessions()
  }

  let sessionsPoll: ReturnType<typeof setInterval> | null = null
  let sessionsWatchers = 0

  /**
   * Sessions are not pushed by the live feed (their idle time changes every second, which
   * would mean a message a second per session): they are read once per snapshot, whenever the
   * janitor log reports one opened or closed, and every 2 s while a view watches them.
   */
  async function refreshSessions(): Promise<void> {
    try {
      const r = await useTransport().call('monitorSessions', {})
      // A stub transport (tests) may answer anything: the list stays a list.
      if (!paused.value && Array.isArray(r?.sessions)) sessions.value = r.sessions
    } catch {
      // a transport without the route (an older server) or a refused scope: the list stays as it was
    }
  }

  /** Poll /monitor/sessions while the caller shows them; the returned function stops its share. */
  function watchSessions(): () => void {
    sessionsWatchers++
    if (sessionsPoll === null) {
      void refreshSessions()
      sessionsPoll = setInterval(() => void refreshSessions(), 2000)
    }
    let stopped = false
    return () => {
      if (stopped) return
      stopped = true
      sessionsWatchers--
      if (sessionsWatchers === 0 && sessionsPoll !== null) {
        clearInterval(sessionsPoll)
        sessionsPoll = null
      }
    }
  }

  /** Error groups are computed by the server; refresh them (debounced) when a new error arrives. */
  function scheduleGroupsRefresh(): void {
    if (groupsTimer) return
    groupsTimer = setTimeout(() => {
      groupsTimer = null
      useTransport()
        .call('monitorErrors', { limit: LIMITS.errors })
        .then((r) => {
          if (!paused.value) errorGroups.value = r.groups
        })
        .catch(() => undefined)
    }, 500)
  }

  function apply(m: LiveMessage): void {
    if (paused.value) return
    const t0 = typeof performance === 'undefined' ? 0 : performance.now()
    lastUpdate.value = Date.now()
    measure(t0, m.type === 'snapshot' ? 'snapshot' : 'update', m.type)
    switch (m.type) {
      case 'snapshot':
        applySnapshot(m.data)
        break
      case 'request_started':
        active.value = [...active.value.filter((r) => r.id !== m.data.id), m.data]
        break
      case 'request_phase': {
        const { id, phase } = m.data
        if (active.value.some((r) => r.id === id)) active.value = active.value.map((r) => (r.id === id ? { ...r, phase } : r))
        break
      }
      case 'request_finished': {
        const done = m.data
        if (active.value.some((r) => r.id === done.id)) active.value = active.value.filter((r) => r.id !== done.id)
        // A request seen again (its memory delta measured later) is updated where it stands.
        if (completed.value.some((r) => r.id === done.id)) completed.value = completed.value.map((r) => (r.id === done.id ? done : r))
        else completed.value = prepend(done, completed.value, LIMITS.completed)
        break
      }
      case 'browsers':
        browsers.value = m.data
        break
      case 'janitor_event':
        janitor.value = prepend(m.data, janitor.value, LIMITS.janitor)
        if (m.data.type === 'session_open' || m.data.type === 'session_close') void refreshSessions()
        break
      case 'error':
        errors.value = prepend(m.data, errors.value, LIMITS.errors)
        scheduleGroupsRefresh()
        break
      case 'endpoints':
        endpoints.value = m.data
        break
      case 'tick':
        health.value = m.data.health
        if (m.data.timeline) {
          const tick = m.data.timeline
          const rest = timeline.value.filter((p) => p.timestamp !== tick.timestamp)
          const next = [...rest, tick]
          timeline.value = next.length > LIMITS.timeline ? next.slice(-LIMITS.timeline) : next
        }
        break
    }
  }

  function connect(): void {
    if (unsubscribe) return
    connection.value = 'connecting'
    unsubscribe = useTransport().subscribe(apply, (s) => {
      connection.value = s
    })
  }

  function disconnect(): void {
    unsubscribe?.()
    unsubscribe = null
    connection.value = 'offline'
  }

  /** Fetch a fresh snapshot over the GET routes and apply it (used on resume). */
  async function refresh(): Promise<void> {
    try {
      const s = await fetchSnapshot((n, i) => useTransport().call(n, i))
      if (!paused.value) {
        applySnapshot(s)
        lastUpdate.value = Date.now()
      }
      lastError.value = null
    } catch (err) {
      lastError.value = err instanceof Error ? err.message : String(err)
    }
  }

  async function setPaused(value: boolean): Promise<void> {
    if (paused.value === value) return
    paused.value = value
    if (!value) await refresh()
  }

  async function runAction(key: string, fn: () => Promise<string>): Promise<ActionOutcome> {
    busy.value = { ...busy.value, [key]: true }
    let outcome: ActionOutcome
    try {
      outcome = { ok: true, message: await fn(), at: Date.now() }
    } catch (err) {
      outcome = { ok: false, message: err instanceof Error ? err.message : String(err), at: Date.now() }
    }
    busy.value = { ...busy.value, [key]: false }
    outcomes.value = { ...outcomes.value, [key]: outcome }
    return outcome
  }

  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

  const forceCleanup = () =>
    runAction('cleanup', async () => {
      const r = await useTransport().call('monitorCleanup', {})
      return `closed ${plural(r.closed.length, 'cold browser')}${r.spared_busy.length ? `, spared ${r.spared_busy.length} busy` : ''}`
    })

  const restartPermanent = () =>
    runAction('restartPermanent', async () => {
      const r = await useTransport().call('monitorRestartBrowser', { sig: 'permanent' })
      return `permanent browser restarted (${r.details.sig}); ${plural(r.details.old_leases_draining, 'lease')} draining`
    })

  const resetStats = () =>
    runAction('reset', async () => {
      const r = await useTransport().call('monitorResetStats', {})
      if (!paused.value) endpoints.value = {}
      return `cleared stats of ${plural(r.endpoints.length, 'endpoint')}`
    })

  const killBrowser = (sig: string, force = false) =>
    runAction(`kill:${sig}`, async () => {
      const r = await useTransport().call('monitorKillBrowser', { sig, force })
      if (!paused.value) {
        const rest = browsers.value.browsers.filter((b) => b.full_sig !== r.killed.full_sig && b.id !== r.killed.id)
        browsers.value = { ...browsers.value, browsers: rest }
      }
      return `killed ${r.killed.type} browser ${r.killed.sig}${r.killed.failed_crawls ? ` (${plural(r.killed.failed_crawls, 'crawl')} failed)` : ''}`
    })

  const restartBrowser = (sig: string) =>
    runAction(`restart:${sig}`, async () => {
      const r = await useTransport().call('monitorRestartBrowser', { sig })
      return `restarted ${r.details.type} browser ${r.details.sig}`
    })

  const closeSession = (id: string) =>
    runAction(`close-session:${id}`, async () => {
      const r = await useTransport().call('monitorCloseSession', { session_id: id })
      if (!paused.value) sessions.value = sessions.value.filter((x) => x.session_id !== r.closed)
      return `closed session ${r.closed}`
    })

  const successCount = computed(() => completed.value.filter((r) => r.success).length)
  const errorCount = computed(() => completed.value.length - successCount.value)

  return {
    health,
    active,
    completed,
    browsers,
    endpoints,
    janitor,
    errors,
    errorGroups,
    timeline,
    sessions,
    connection,
    paused,
    hasSnapshot,
    lastUpdate,
    lastError,
    outcomes,
    busy,
    updateCost,
    snapshotCost,
    successCount,
    errorCount,
    apply,
    applySnapshot,
    connect,
    disconnect,
    refresh,
    setPaused,
    forceCleanup,
    restartPermanent,
    resetStats,
    killBrowser,
    restartBrowser,
    refreshSessions,
    watchSessions,
    closeSession,
  }
})
