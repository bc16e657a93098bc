/**
 * The monitor: turns engine events into requests, browsers, janitor log, errors, endpoint stats
 * and the timeline, and answers the /monitor/* reads from what it holds.
 */
import { EventEmitter } from 'node:events'
import type {
  ActiveRequest,
  BrowsersResponse,
  CacheHealth,
  CompletedRequest,
  EndpointStatsResponse,
  ErrorEntry,
  ErrorsResponse,
  JanitorEvent,
  MonitorHealth,
  RequestPhase,
  RequestsResponse,
  TimelineQueryMetric,
  TimelineResponse,
  TimelineTick,
} from '../../../shared/monitor-types.js'
import type { Admission } from '../admission.js'
import type { Config } from '../config.js'
import { capText } from '../errors.js'
import { Rollups } from '../history/rollups.js'
import type { EngineEventBus, EngineEvents } from '../events.js'
import type { Logger } from '../logger.js'
import type { Janitor } from '../pool/janitor.js'
import type { BrowserPool } from '../pool/pool.js'
import type { CpuSampler } from '../system/cpu.js'
import type { MemoryReading } from '../system/memory.js'
import type { NetworkSampler } from '../system/network.js'
import type { ProcessSource } from '../system/process-table.js'
import { MemoryAttribution } from './attribution.js'
import { round } from './endpoint-stats.js'
import {
  errorView,
  janitorView,
  MonitorHistory,
  TIMELINE_POINTS,
  TIMELINE_RESOLUTION_SECONDS,
  type ListOrder,
  type MonitorSnapshot,
  type SnapshotSection,
  type StoredError,
  type StoredJanitorEvent,
} from './history.js'
import { browsersView, healthView } from './pool-views.js'
import { RingBuffer } from './ring-buffer.js'
import { ResourceSampler } from './sampling.js'
import type { WebhookLog } from './webhook-log.js'

// The snapshot types travel with the Monitor that takes and gives them (store/persister.ts).
export type { ListOrder, MonitorSnapshot, SnapshotSection } from './history.js'

/** Pushed to live clients (SSE over HTTP, messages over IPC): the same names on both doors. */
export interface MonitorChanges {
  request_started: ActiveRequest
  request_phase: { id: string; phase: RequestPhase }
  request_finished: CompletedRequest
  browser_changed: { reason: string; id: string; sig: string }
  janitor_event: JanitorEvent
  error: ErrorEntry
  stats_reset: { cleared: string[] }
}
export type MonitorChangeName = keyof MonitorChanges

export interface MonitorDeps {
  config: Config
  events: EngineEventBus
  pool: BrowserPool
  admission: Admission
  janitor: Janitor
  readMemory: () => MemoryReading
  logger: Logger
  startedAt: number
  /** The result cache, whose size /monitor/health shows. */
  cache?: { health(): CacheHealth }
  /** Injected in tests; default reads /proc and cgroups. */
  cpu?: CpuSampler
  network?: NetworkSampler
  /** Where the browsers' process trees are read: /proc on Linux, the process table elsewhere (process-table.ts). */
  processes?: ProcessSource
}

interface ActiveEntry {
  view: ActiveRequest
  /** The browser of the request's first lease; null until it has one. */
  browserId: string | null
}

/**
 * Every update is O(1) in memory and nothing on a request path awaits it; sampling (CPU, memory,
 * process trees) happens on its own timers. What survives a restart is in `history`, the
 * readings in `sampler`, the mem_delta bookkeeping in `attribution`.
 */
export class Monitor {
  readonly completedLimit: number
  private readonly active = new Map<string, ActiveEntry>()
  private readonly completed: RingBuffer<CompletedRequest>
  private readonly history = new MonitorHistory()
  /** Minute and hour rollups of the timeline and hourly endpoint stats, kept beyond the 5-min ring (history/). */
  readonly rollups = new Rollups()
  private readonly sampler: ResourceSampler
  private readonly attribution: MemoryAttribution
  private readonly changes = new EventEmitter()
  private completedSinceTick = 0
  private leaseHits = 0
  private leaseTotal = 0
  private readonly unsubscribe: Array<() => void> = []
  private secondTimer: NodeJS.Timeout | null = null
  private timelineTimer: NodeJS.Timeout | null = null
  private persistenceState: MonitorHealth['persistence'] = { backend: 'memory', ok: true, error: null, pending: false, last_flush: null }

  constructor(private readonly deps: MonitorDeps) {
    this.completedLimit = deps.config.monitor_completed_limit
    this.completed = new RingBuffer(this.completedLimit)
    this.sampler = new ResourceSampler(deps)
    this.attribution = new MemoryAttribution(this.sampler, this.completedLimit)
    this.changes.setMaxListeners(0)
  }

  /** Starts listening and sampling; a second start() while started does nothing (it would record everything twice). */
  start(): void {
    if (this.secondTimer) return
    const { events } = this.deps
    this.unsubscribe.push(
      events.on('request:started', (e) => this.onRequestStarted(e)),
      events.on('request:phase', (e) => this.onRequestPhase(e)),
      events.on('request:finished', (e) => this.onRequestFinished(e)),
      events.on('lease:acquired', (e) => this.onLease(e)),
      events.on('browser:launched', (e) => this.onBrowserEvent('launch', e.id, e.sig, { tier: e.tier, pid: e.pid, launch_ms: e.launch_ms }, true)),
      // `count`: Crawl4AI's name for the uses that earned the promotion.
      events.on('browser:promoted', (e) => this.onBrowserEvent('promote', e.id, e.sig, { from: e.from, to: e.to, uses: e.uses, count: e.uses })),
      events.on('browser:retired', (e) => this.onBrowserEvent('retire', e.id, e.sig, { tier: e.tier, pages_served: e.pages_served, reason: e.reason })),
      events.on('browser:crashed', (e) => this.onBrowserEvent('crash', e.id, e.sig, { tier: e.tier, leases: e.leases })),
      events.on('browser:closed', (e) => this.onBrowserClosed(e)),
      events.on('browser:restarted', (e) =>
        this.onBrowserEvent('restart_browser', e.new_id, e.sig, { old_id: e.old_id, new_id: e.new_id, tier: e.tier, pool: e.tier }),
      ),
      // Named sessions in the janitor log: each holds a lease on its browser, which explains why
      // that browser is never idle; their ends say why (expired, closed, browser_gone, shutdown, timeout).
      events.on('session:opened', (e) => this.logJanitor('session_open', e.sig, { id: e.browser_id, session_id: e.session_id })),
      events.on('session:closed', (e) =>
        this.logJanitor('session_close', e.sig, {
          id: e.browser_id,
          session_id: e.session_id,
          reason: e.reason,
          requests: e.requests,
          age_seconds: e.age_seconds,
        }),
      ),
      // `killed`: Crawl4AI's count of the browsers a forced cleanup closed.
      events.on('browser:cleanup', (e) => this.logJanitor('force_cleanup', '', { closed: e.closed, spared_busy: e.spared_busy, killed: e.closed.length })),
    )
    // Sampling runs beside the engine, never inside a request.
    this.secondTimer = setInterval(() => void this.sampleSecond(), 1000)
    this.secondTimer.unref()
    this.timelineTimer = setInterval(() => this.sampleTimeline(), TIMELINE_RESOLUTION_SECONDS * 1000)
    this.timelineTimer.unref()
    void this.sampleSecond()
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off()
    if (this.secondTimer) clearInterval(this.secondTimer)
    if (this.timelineTimer) clearInterval(this.timelineTimer)
    this.secondTimer = this.timelineTimer = null
  }

  onChange<K extends MonitorChangeName>(name: K, listener: (payload: MonitorChanges[K]) => void): () => void {
    this.changes.on(name, listener)
    return () => this.changes.off(name, listener)
  }

  private emitChange<K extends MonitorChangeName>(name: K, payload: MonitorChanges[K]): void {
    this.changes.emit(name, payload)
  }

  // ---- event handlers: O(1), synchronous -------------------------------------------------

  private onRequestStarted(e: EngineEvents['request:started']): void {
    const view: ActiveRequest = {
      id: e.id,
      endpoint: e.endpoint,
      url: e.url,
      urls: e.urls,
      config_sig: e.config_sig,
      start_time: e.start_time / 1000,
      start_time_ms: e.start_time,
      elapsed: 0,
      status: 'running',
      phase: 'queued',
    }
    this.active.set(e.id, { view, browserId: null })
    this.emitChange('request_started', view)
  }

  private onRequestPhase(e: EngineEvents['request:phase']): void {
    const entry = this.active.get(e.id)
    if (!entry) return
    entry.view.phase = e.phase
    this.emitChange('request_phase', e)
  }

  private onLease(e: EngineEvents['lease:acquired']): void {
    this.leaseTotal++
    if (e.pool_hit) this.leaseHits++
    const entry = e.request_id === null ? undefined : this.active.get(e.request_id)
    const first = entry !== undefined && entry.browserId === null
    if (first) entry.browserId = e.id
    this.attribution.lease(e, first)
  }

  private onRequestFinished(finished: EngineEvents['request:finished']): void {
    // Kept, stored every second and pushed to every dashboard: an error is never more than the
    // engine's cap, whatever reported it (engine errors are capped when made; a bug's may not be).
    const e = { ...finished, error: finished.error === null ? null : capText(finished.error), stack: finished.stack === null ? null : capText(finished.stack) }
    const entry = this.active.get(e.id)
    this.active.delete(e.id)
    const record: CompletedRequest = {
      id: e.id,
      endpoint: e.endpoint,
      url: e.url,
      urls: entry?.view.urls ?? 1,
      config_sig: e.config_sig,
      start_time: e.start_time / 1000,
      start_time_ms: e.start_time,
      end_time: e.end_time / 1000,
      end_time_ms: e.end_time,
      elapsed: e.elapsed_ms / 1000,
      status: e.success ? 'success' : 'error',
      success: e.success,
      status_code: e.status_code,
      error: e.error,
      aborted: e.aborted,
      pool_hit: e.pool_hit,
      cache_hit: e.cache_hit,
      queue_wait_ms: e.queue_wait_ms,
      browser_sig: e.browser_sig,
      extraction: e.extraction ?? null,
      content_filter: e.content_filter ?? null,
      mem_delta: null,
    }
    this.completed.push(record)
    this.completedSinceTick++
    const counted = { success: e.success, elapsed_ms: e.elapsed_ms, pool_hit: e.pool_hit, cache_hit: e.cache_hit }
    this.history.recordRequest(e.endpoint, counted)
    this.rollups.recordRequest(e.endpoint, counted, e.end_time)
    if (!e.success && e.error) {
      const err: StoredError = {
        timestamp: e.end_time,
        endpoint: e.endpoint,
        url: e.url,
        error: e.error,
        stack: e.stack,
        request_id: e.id,
        status_code: e.status_code,
      }
      this.history.recordError(err)
      this.emitChange('error', errorView(err))
    }
    this.emitChange('request_finished', record)
    // Filled in by the next memory sample (within a second): the record is already out.
    this.attribution.requestFinished(e.id, record)
  }

  private onBrowserEvent(type: JanitorEvent['type'], id: string, sig: string, details: Record<string, unknown>, refreshMemory = false): void {
    this.logJanitor(type, sig, { id, ...details })
    this.emitChange('browser_changed', { reason: type, id, sig })
    if (refreshMemory) void this.sampler.scanBrowsers()
  }

  private onBrowserClosed(e: EngineEvents['browser:closed']): void {
    this.sampler.forget(e.id)
    this.attribution.browserClosed(e.id)
    const details: Record<string, unknown> = {
      id: e.id,
      tier: e.tier,
      reason: e.reason,
      idle_seconds: round(e.idle_seconds, 1),
      ttl_seconds: e.ttl_seconds,
      leases: e.leases,
    }
    // The janitor's idle closes and operator kills have types of their own in the janitor log
    // (README, GET /monitor/logs/janitor); every other reason is a plain close. A crash was
    // logged when it happened. Crawl4AI's detail names ride along: `ttl` on an idle close,
    // `pool` and `manual` on a kill.
    const type: JanitorEvent['type'] = e.reason === 'idle' ? (e.tier === 'hot' ? 'close_hot' : 'close_cold') : e.reason === 'killed' ? 'kill_browser' : 'close'
    if (type === 'close_hot' || type === 'close_cold') details.ttl = e.ttl_seconds
    if (type === 'kill_browser') Object.assign(details, { pool: e.tier, manual: true })
    if (e.reason !== 'crashed') this.logJanitor(type, e.sig, details)
    this.emitChange('browser_changed', { reason: `closed:${e.reason}`, id: e.id, sig: e.sig })
  }

  private logJanitor(type: JanitorEvent['type'], sig: string, details: Record<string, unknown>): void {
    const event: StoredJanitorEvent = { timestamp: Date.now(), type, sig: sig.slice(0, 12), details: sig ? { full_sig: sig, ...details } : details }
    this.history.recordJanitor(event)
    this.emitChange('janitor_event', janitorView(event))
  }

  // ---- timers ------------------------------------------------------------------------------

  /** CPU, network and browser memory once a second; shared by /monitor/health and the SSE tick. */
  private async sampleSecond(): Promise<void> {
    this.sampler.readHost()
    // Only requests that had finished before this scan began may take it as their "after".
    const settling = this.attribution.takeFinished()
    await this.sampler.scanEverySecond()
    this.attribution.settle(settling)
  }

  private sampleTimeline(): void {
    const tick: TimelineTick = {
      timestamp: Date.now(),
      memory: round(this.sampler.memory.percent),
      cpu: round(this.sampler.takeCpuMean()),
      requests: this.completedSinceTick,
      browsers: this.deps.pool.tierCounts(),
      limit: this.deps.admission.capacity.limit,
      queue: this.deps.admission.queuedCount,
      ...this.rollups.takeTickActivity(),
    }
    this.history.recordTimeline(tick)
    this.rollups.recordTick(tick.timestamp, { memory: tick.memory, cpu: tick.cpu, limit: tick.limit ?? 0, queue: tick.queue ?? 0, browsers: tick.browsers })
    this.completedSinceTick = 0
  }

  // ---- views ---------------------------------------------------------------------------------

  /** CPU and memory use at the last once-a-second reading (the adaptive page limit weighs them). */
  hostReadings(): { cpu_percent: number; memory_percent: number } {
    return { cpu_percent: this.sampler.cpu, memory_percent: this.sampler.memory.percent }
  }

  health(): MonitorHealth {
    return healthView({ ...this.deps, sampler: this.sampler }, this.persistenceState)
  }

  /**
   * Active requests, then completed ones filtered by `status`: of each, the `limit` most recent,
   * in `order` (Crawl4AI's lists are oldest first, the default; the dashboard asks for newest).
   * Crawl4AI takes the last `limit` completed and then filters them, so `status=error&limit=10`
   * can answer fewer than ten errors while older ones exist; here the filter comes first.
   */
  requests(status: 'all' | 'active' | 'completed' | 'success' | 'error', limit: number, order: ListOrder = 'oldest'): RequestsResponse {
    const now = Date.now()
    const active =
      status === 'all' || status === 'active'
        ? inOrder(
            [...this.active.values()].slice(-limit).map((a) => ({ ...a.view, elapsed: round((now - a.view.start_time_ms) / 1000, 3) })),
            order,
          )
        : []
    let completed: CompletedRequest[] = []
    if (status !== 'active') {
      const all = this.completed.toArray()
      const filtered = status === 'success' ? all.filter((r) => r.success) : status === 'error' ? all.filter((r) => !r.success) : all
      completed = inOrder(
        filtered.slice(-limit).map((r) => ({ ...r })),
        order,
      )
    }
    return { active, completed }
  }

  activeCount(): number {
    return this.active.size
  }

  browsers(): BrowsersResponse {
    return browsersView(this.deps.pool, this.sampler, { hits: this.leaseHits, total: this.leaseTotal })
  }

  endpointStats(): EndpointStatsResponse {
    return this.history.endpointStats()
  }

  /** Up to 5 minutes: the live 5-s points; longer: the minute or hour rollups (nulls where nothing was recorded). */
  timeline(metric: TimelineQueryMetric, windowSeconds: number, now = Date.now()): TimelineResponse {
    return windowSeconds <= TIMELINE_POINTS * TIMELINE_RESOLUTION_SECONDS
      ? this.history.timeline(metric, windowSeconds)
      : this.rollups.timeline(metric, windowSeconds, `${windowSeconds}s`, now)
  }

  /** How many scans of the browsers' processes have completed (tests wait on it instead of sleeping). */
  get memoryScans(): number {
    return this.sampler.scansDone
  }

  /** /proc stat files the last scan read: the browsers' own processes and new ones, between full scans. */
  get lastScanStatReads(): number {
    return this.sampler.lastScanStatReads
  }

  /** The memory reading of the last sample (at most a second old). */
  memory(): MemoryReading {
    return this.sampler.memory
  }

  latestTimelinePoint(): TimelineTick | null {
    return this.history.latestTimelinePoint()
  }

  janitorEvents(limit: number, order: ListOrder = 'oldest'): { events: JanitorEvent[] } {
    return this.history.janitorEvents(limit, order)
  }

  errors(limit: number, order: ListOrder = 'oldest'): ErrorsResponse {
    return this.history.errors(limit, order)
  }

  /** Clears endpoint stats only, and says what it cleared. */
  resetStats(): { cleared: string[]; endpoints: string[]; requests: number } {
    const { endpoints, requests } = this.history.resetEndpoints()
    this.leaseHits = this.leaseTotal = 0
    this.emitChange('stats_reset', { cleared: ['endpoint_stats'] })
    return { cleared: ['endpoint_stats'], endpoints, requests }
  }

  // ---- persistence (history.ts holds the sections; store/persister.ts writes them) ----------

  /** How writing the history to the store goes, as the persister last reported it. */
  get persistence(): Readonly<MonitorHealth['persistence']> {
    return this.persistenceState
  }

  /** The persister's report after each load or write: /monitor/health and /health show it. */
  setPersistence(state: MonitorHealth['persistence']): void {
    this.persistenceState = { ...state }
  }

  /** Keeps the webhook log (/monitor/webhooks) with the stored history, so it survives a restart. */
  attachWebhookLog(log: WebhookLog): void {
    this.history.attachWebhookLog(log)
  }

  /** Sections changed since the last call, with their current content. */
  takeDirty(): Partial<MonitorSnapshot> | null {
    return this.history.takeDirty()
  }

  /** Put sections back as dirty after a failed write, so the next flush retries them. */
  markDirty(sections: SnapshotSection[]): void {
    this.history.markDirty(sections)
  }

  snapshot(): MonitorSnapshot {
    return this.history.snapshot()
  }

  /** Fold stored history into the live state (history.ts: a restore at start-up, an addition after an outage). */
  merge(snapshot: Partial<MonitorSnapshot>): void {
    this.history.merge(snapshot)
  }
}

/** A list held oldest first, in the order asked for. */
function inOrder<T>(oldestFirst: T[], order: ListOrder): T[] {
  return order === 'newest' ? oldestFirst.reverse() : oldestFirst
}
