import { EventEmitter } from 'node:events'
import type {
  ActiveRequest,
  BrowsersResponse,
  BrowserView,
  CompletedRequest,
  EndpointStatsResponse,
  ErrorEntry,
  ErrorsResponse,
  JanitorEvent,
  MonitorHealth,
  RequestPhase,
  TimelineMetric,
  TimelineResponse,
  TimelineTick,
} from '../../../shared/monitor-types.js'
import type { Admission } from '../admission.js'
import type { Config } from '../config.js'
import { capText } from '../errors.js'
import type { EngineEventBus, EngineEvents } from '../events.js'
import type { Logger } from '../logger.js'
import { janitorPolicy, type Janitor } from '../pool/janitor.js'
import type { ManagedBrowser } from '../pool/managed-browser.js'
import type { BrowserPool } from '../pool/pool.js'
import { CpuSampler } from '../system/cpu.js'
import type { MemoryReading } from '../system/memory.js'
import { NetworkSampler, type NetworkRates } from '../system/network.js'
import { ProcessTreeScanner, processTreesMemory } from '../system/process-tree.js'
import { EndpointCounter, mergeCounters, round, type EndpointCounterState } from './endpoint-stats.js'
import { ErrorGroups } from './error-groups.js'
import { RingBuffer } from './ring-buffer.js'

const MB = 1024 * 1024
export const TIMELINE_RESOLUTION_SECONDS = 5
export const TIMELINE_POINTS = 60

export type TimelinePoint = TimelineTick

/** What survives a restart. Active requests do not: they died with the process. */
export interface MonitorSnapshot {
  version: 1
  endpoints: Record<string, EndpointCounterState>
  timeline: TimelinePoint[]
  janitor: JanitorEvent[]
  errors: ErrorEntry[]
  error_groups: ReturnType<ErrorGroups['list']>
}
export type SnapshotSection = 'endpoints' | 'timeline' | 'janitor' | 'errors'

/** Pushed to live clients (SSE now, IPC later): the same names on both doors. */
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
  /** Injected in tests; default reads /proc and cgroups. */
  cpu?: CpuSampler
  network?: NetworkSampler
}

interface ActiveEntry {
  view: ActiveRequest
  browserId: string | null
  /** The mem_delta measurement of this request, from its first lease on. */
  watch: DeltaWatch | null
}

/**
 * One request's mem_delta: the serving browser's private memory (anon_bytes: RSS without the
 * file-backed pages every Chromium process maps) from the last sample before its first lease
 * to the first sample after it finished. Memory of a browser cannot be split between the pages
 * it serves at once, so when any other request used that browser inside the window (or since the
 * sample taken as "before") the change is not this request's and mem_delta stays null.
 */
interface DeltaWatch {
  requestId: string
  browserId: string
  before: number
  shared: boolean
  record: CompletedRequest | null
}

interface BrowserMemory {
  /** PSS of the tree (RSS where PSS is unreadable), from the last PSS reading. */
  bytes: number
  /** Processes that PSS reading covered. */
  processes: number
  /** Private anonymous memory of the tree (process-tree.ts anon_bytes), refreshed every second, for mem_delta. */
  anon: number
  pids: number[]
}

/** Process trees and RSS are read every second; PSS (costly for the kernel) every this many seconds. */
const PSS_EVERY = 5

/**
 * Turns engine events into the monitor's truth: requests, browsers, janitor log, errors,
 * per-endpoint stats and the timeline. Every update is O(1) in memory and nothing on a request
 * path awaits it; sampling (CPU, memory, process trees) happens on its own timers.
 */
export class Monitor {
  readonly completedLimit: number
  private readonly active = new Map<string, ActiveEntry>()
  private readonly completed: RingBuffer<CompletedRequest>
  private readonly janitorLog = new RingBuffer<JanitorEvent>(500)
  private readonly errorLog = new RingBuffer<ErrorEntry>(100)
  private readonly errorGroups = new ErrorGroups(200)
  private endpoints = new Map<string, EndpointCounter>()
  private readonly timelinePoints = new RingBuffer<TimelinePoint>(TIMELINE_POINTS)
  private readonly browserMemory = new Map<string, BrowserMemory>()
  /** Finds the browsers' process trees each second without reading every process on the host. */
  private readonly treeScanner = new ProcessTreeScanner()
  private readonly changes = new EventEmitter()
  private readonly dirty = new Set<SnapshotSection>()
  private readonly cpu: CpuSampler
  private readonly network: NetworkSampler
  private lastCpu = 0
  private lastMemory: MemoryReading
  private cpuSinceTick: number[] = []
  private lastNetwork: NetworkRates
  private completedSinceTick = 0
  private leaseHits = 0
  private leaseTotal = 0
  private readonly unsubscribe: Array<() => void> = []
  private secondTimer: NodeJS.Timeout | null = null
  private timelineTimer: NodeJS.Timeout | null = null
  private sampling: Promise<void> | null = null
  private secondsSampled = 0
  /** Finished requests waiting for the next sample to settle their mem_delta. */
  private readonly pendingDeltas: DeltaWatch[] = []
  /** Per browser: the mem_delta measurements open on it. */
  private readonly watches = new Map<string, Set<DeltaWatch>>()
  /** Per browser: the last request to take a lease on it, and how many scans had started then. */
  private readonly lastUse = new Map<string, { requestId: string | null; scans: number }>()
  /** Scans of /proc started so far, and the number of the one whose readings browserMemory holds. */
  private scansStarted = 0
  private memoryScan = 0
  private resample: Promise<void> | null = null
  persistence: MonitorHealth['persistence'] = { backend: 'memory', ok: true, error: null, pending: false, last_flush: null }

  constructor(private readonly deps: MonitorDeps) {
    this.completedLimit = deps.config.monitor_completed_limit
    this.completed = new RingBuffer(this.completedLimit)
    this.cpu = deps.cpu ?? new CpuSampler()
    this.network = deps.network ?? new NetworkSampler()
    this.lastNetwork = this.network.sample()
    this.lastMemory = deps.readMemory()
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
      events.on('browser:promoted', (e) => this.onBrowserEvent('promote', e.id, e.sig, { from: e.from, to: e.to, uses: e.uses })),
      events.on('browser:retired', (e) => this.onBrowserEvent('retire', e.id, e.sig, { tier: e.tier, pages_served: e.pages_served, reason: e.reason })),
      events.on('browser:crashed', (e) => this.onBrowserEvent('crash', e.id, e.sig, { tier: e.tier, leases: e.leases })),
      events.on('browser:closed', (e) => this.onBrowserClosed(e)),
      events.on('browser:restarted', (e) => this.onBrowserEvent('restart_browser', e.new_id, e.sig, { old_id: e.old_id, new_id: e.new_id, tier: e.tier })),
      events.on('browser:cleanup', (e) => this.logJanitor('force_cleanup', '', { closed: e.closed, spared_busy: e.spared_busy })),
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
    const view: ActiveRequest = { id: e.id, endpoint: e.endpoint, url: e.url, urls: e.urls, config_sig: e.config_sig, start_time: e.start_time, elapsed: 0, status: 'running', phase: 'queued' }
    this.active.set(e.id, { view, browserId: null, watch: null })
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
    const watches = this.watches.get(e.id)
    if (watches) for (const w of watches) if (w.requestId !== e.request_id) w.shared = true
    const previous = this.lastUse.get(e.id)
    this.lastUse.set(e.id, { requestId: e.request_id, scans: this.scansStarted })
    const entry = e.request_id ? this.active.get(e.request_id) : undefined
    if (!entry || entry.browserId !== null || e.request_id === null) return
    entry.browserId = e.id
    // A cached number: no /proc read on the request path.
    const before = this.browserMemory.get(e.id)?.anon
    if (before === undefined) return
    const watch: DeltaWatch = {
      requestId: e.request_id,
      browserId: e.id,
      before,
      // Another lease is open on this browser now (leases counts ours too), or another request
      // used it once the scan we take as "before" had begun.
      shared: e.leases > 1 || (previous !== undefined && previous.requestId !== e.request_id && previous.scans >= this.memoryScan),
      record: null,
    }
    entry.watch = watch
    if (watches) watches.add(watch)
    else this.watches.set(e.id, new Set([watch]))
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
      start_time: e.start_time,
      end_time: e.end_time,
      elapsed: e.elapsed_ms / 1000,
      status: e.success ? 'success' : 'error',
      success: e.success,
      status_code: e.status_code,
      error: e.error,
      aborted: e.aborted,
      pool_hit: e.pool_hit,
      queue_wait_ms: e.queue_wait_ms,
      browser_sig: e.browser_sig,
      mem_delta: null,
    }
    this.completed.push(record)
    this.completedSinceTick++
    let counter = this.endpoints.get(e.endpoint)
    if (!counter) this.endpoints.set(e.endpoint, (counter = new EndpointCounter()))
    counter.record({ success: e.success, elapsed_ms: e.elapsed_ms, pool_hit: e.pool_hit })
    this.dirty.add('endpoints')
    if (!e.success && e.error) {
      const err: ErrorEntry = { timestamp: e.end_time, endpoint: e.endpoint, url: e.url, error: e.error, stack: e.stack, request_id: e.id, status_code: e.status_code }
      this.errorLog.push(err)
      this.errorGroups.add(e.error, e.endpoint, e.end_time)
      this.dirty.add('errors')
      this.emitChange('error', err)
    }
    this.emitChange('request_finished', record)
    if (entry?.watch) {
      // Filled in by the next memory sample (within a second): the record is already out.
      entry.watch.record = record
      this.pendingDeltas.push(entry.watch)
      if (this.pendingDeltas.length > this.completedLimit) this.dropWatch(this.pendingDeltas.shift() as DeltaWatch)
    }
  }

  /** mem_delta = the serving browser's private memory at the first sample after the request minus the last before it. */
  private settleMemDeltas(settling: DeltaWatch[]): void {
    for (const w of settling) {
      this.dropWatch(w)
      const after = this.browserMemory.get(w.browserId)?.anon
      if (!w.shared && w.record && after !== undefined) w.record.mem_delta = round((after - w.before) / MB)
    }
  }

  private dropWatch(w: DeltaWatch): void {
    const set = this.watches.get(w.browserId)
    set?.delete(w)
    if (set?.size === 0) this.watches.delete(w.browserId)
  }

  private onBrowserEvent(type: JanitorEvent['type'], id: string, sig: string, details: Record<string, unknown>, refreshMemory = false): void {
    this.logJanitor(type, sig, { id, ...details })
    this.emitChange('browser_changed', { reason: type, id, sig })
    if (refreshMemory) void this.sampleBrowsers()
  }

  private onBrowserClosed(e: EngineEvents['browser:closed']): void {
    this.browserMemory.delete(e.id)
    this.lastUse.delete(e.id)
    // Open measurements on it stay null: there is no "after" for a browser that is gone.
    for (const w of this.watches.get(e.id) ?? []) w.shared = true
    this.watches.delete(e.id)
    const details = { id: e.id, tier: e.tier, reason: e.reason, idle_seconds: round(e.idle_seconds, 1), ttl_seconds: e.ttl_seconds, leases: e.leases }
    // The reference's names for the janitor's own closes; the other reasons keep theirs.
    const type: JanitorEvent['type'] =
      e.reason === 'idle' ? (e.tier === 'hot' ? 'close_hot' : 'close_cold') : e.reason === 'killed' ? 'kill_browser' : e.reason === 'crashed' ? 'close' : 'close'
    if (e.reason !== 'crashed') this.logJanitor(type, e.sig, details)
    this.emitChange('browser_changed', { reason: `closed:${e.reason}`, id: e.id, sig: e.sig })
  }

  private logJanitor(type: JanitorEvent['type'], sig: string, details: Record<string, unknown>): void {
    const event: JanitorEvent = { timestamp: Date.now(), type, sig: sig.slice(0, 12), details: sig ? { full_sig: sig, ...details } : details }
    this.janitorLog.push(event)
    this.dirty.add('janitor')
    this.emitChange('janitor_event', event)
  }

  // ---- sampling (timers) -------------------------------------------------------------------

  /** CPU, network and browser memory once a second; shared by /monitor/health and the SSE tick. */
  private async sampleSecond(): Promise<void> {
    this.lastCpu = this.cpu.sample()
    this.cpuSinceTick.push(this.lastCpu)
    this.lastMemory = this.deps.readMemory()
    this.lastNetwork = this.network.sample()
    // Only requests that had finished before this scan began may take it as their "after".
    const settling = this.pendingDeltas.splice(0)
    await this.sampleBrowsers(this.secondsSampled++ % PSS_EVERY === 0)
    this.settleMemDeltas(settling)
  }

  /** Memory of every browser's process tree, from one scan of /proc. */
  sampleBrowsers(withPss = true): Promise<void> {
    // A browser launched during a scan is not in it: scan once more right after.
    if (this.sampling) {
      this.resample ??= this.sampling.then(() => {
        this.resample = null
        return this.sampleBrowsers(withPss)
      })
      return this.resample
    }
    this.sampling = (async () => {
      const scan = ++this.scansStarted
      try {
        const browsers = this.deps.pool.list().filter((b) => b.pid !== null)
        const trees = await processTreesMemory(
          browsers.map((b) => b.pid as number),
          { pss: withPss, scanner: this.treeScanner },
        )
        const live = new Set<string>()
        for (const b of browsers) {
          const tree = trees.get(b.pid as number)
          if (!tree) continue
          live.add(b.id)
          const previous = this.browserMemory.get(b.id)
          // Between PSS readings the last PSS reading stands (at most a few seconds old) with the
          // process count it was taken over, so memory_mb and processes always describe the same
          // tree and never flip between two measures of a different kind. Private memory and PIDs (for
          // mem_delta) are refreshed every second.
          const fromPss = tree.pss_bytes !== null || !previous
          this.browserMemory.set(b.id, {
            bytes: tree.pss_bytes ?? previous?.bytes ?? tree.rss_bytes,
            processes: fromPss ? tree.processes : (previous?.processes ?? tree.processes),
            anon: tree.anon_bytes,
            pids: tree.pids,
          })
        }
        for (const id of this.browserMemory.keys()) if (!live.has(id) && !this.deps.pool.get(id)) this.browserMemory.delete(id)
        this.memoryScan = scan
      } catch (err) {
        this.deps.logger.warn({ err }, 'browser memory sampling failed')
      } finally {
        this.sampling = null
      }
    })()
    return this.sampling
  }

  private sampleTimeline(): void {
    const cpu = this.cpuSinceTick.length > 0 ? this.cpuSinceTick.reduce((a, b) => a + b, 0) / this.cpuSinceTick.length : this.lastCpu
    this.cpuSinceTick = []
    this.timelinePoints.push({
      timestamp: Date.now(),
      memory: round(this.lastMemory.percent),
      cpu: round(cpu),
      requests: this.completedSinceTick,
      browsers: this.deps.pool.tierCounts(),
    })
    this.completedSinceTick = 0
    this.dirty.add('timeline')
  }

  // ---- views ---------------------------------------------------------------------------------

  private memoryMbOf(b: ManagedBrowser): number {
    return round((this.browserMemory.get(b.id)?.bytes ?? 0) / MB, 1)
  }

  health(): MonitorHealth {
    const { config, pool, admission, janitor, startedAt } = this.deps
    // Readings from the once-a-second sampler: an answer never waits on /proc or cgroup files,
    // so /monitor/* stays cheap while the pool is saturated.
    const mem = this.lastMemory
    const policy = janitorPolicy(mem.percent, config.idle_ttl_seconds)
    const tiers = { permanent: { active: false, memory_mb: 0 }, hot: { count: 0, memory_mb: 0 }, cold: { count: 0, memory_mb: 0 } }
    let total = 0
    for (const b of pool.list()) {
      const mb = this.memoryMbOf(b)
      total += mb
      if (b.tier === 'permanent') {
        tiers.permanent.active ||= b.browser.isConnected()
        tiers.permanent.memory_mb += mb
      } else {
        tiers[b.tier].count++
        tiers[b.tier].memory_mb += mb
      }
    }
    const net = this.lastNetwork
    return {
      container: {
        cpu_percent: round(this.lastCpu, 1),
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
      janitor: {
        memory_pressure: policy.pressure,
        next_cleanup_in_seconds: janitor.nextCleanupInSeconds() === null ? null : round(janitor.nextCleanupInSeconds() as number, 1),
        interval_seconds: policy.interval_seconds,
        cold_ttl_seconds: policy.cold_ttl_seconds,
        hot_ttl_seconds: policy.hot_ttl_seconds,
      },
      persistence: { ...this.persistence },
    }
  }

  requests(status: 'all' | 'active' | 'completed' | 'success' | 'error', limit: number): { active: ActiveRequest[]; completed: CompletedRequest[] } {
    const now = Date.now()
    const active =
      status === 'all' || status === 'active'
        ? [...this.active.values()].slice(-limit).map((a) => ({ ...a.view, elapsed: round((now - a.view.start_time) / 1000, 3) }))
        : []
    let completed: CompletedRequest[] = []
    if (status !== 'active') {
      const all = this.completed.latest()
      const filtered = status === 'success' ? all.filter((r) => r.success) : status === 'error' ? all.filter((r) => !r.success) : all
      completed = filtered.slice(0, limit).map((r) => ({ ...r }))
    }
    return { active, completed }
  }

  activeCount(): number {
    return this.active.size
  }

  browsers(): BrowsersResponse {
    const now = Date.now()
    const views: BrowserView[] = this.deps.pool.list().map((b) => {
      const reason = b.tier === 'permanent' ? 'the permanent browser cannot be killed; restart it instead' : b.leases > 0 ? `busy: serving ${b.leases} crawl(s); kill with force to fail them` : null
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
        memory_mb: this.memoryMbOf(b),
        processes: this.browserMemory.get(b.id)?.processes ?? 0,
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
        total_memory_mb: round(views.reduce((s, v) => s + v.memory_mb, 0), 1),
        reuse_rate_percent: this.leaseTotal === 0 ? 0 : round((100 * this.leaseHits) / this.leaseTotal),
      },
    }
  }

  endpointStats(): EndpointStatsResponse {
    const out: EndpointStatsResponse = {}
    for (const [name, counter] of [...this.endpoints.entries()].sort(([a], [b]) => a.localeCompare(b))) out[name] = counter.view()
    return out
  }

  timeline(metric: TimelineMetric, windowSeconds: number): TimelineResponse {
    const points = this.timelinePoints.toArray().slice(-Math.max(1, Math.floor(windowSeconds / TIMELINE_RESOLUTION_SECONDS)))
    return {
      metric,
      window: `${windowSeconds}s`,
      resolution_seconds: TIMELINE_RESOLUTION_SECONDS,
      timestamps: points.map((p) => p.timestamp),
      values: metric === 'browsers' ? points.map((p) => ({ ...p.browsers })) : points.map((p) => p[metric]),
    }
  }

  /** How many scans of the browsers' processes have completed (tests wait on it instead of sleeping). */
  get memoryScans(): number {
    return this.memoryScan
  }

  /** /proc stat files the last scan read: the browsers' own processes and new ones, between full scans. */
  get lastScanStatReads(): number {
    return this.treeScanner.lastStatReads
  }

  /** The memory reading of the last sample (at most a second old). */
  memory(): MemoryReading {
    return this.lastMemory
  }

  latestTimelinePoint(): TimelineTick | null {
    return this.timelinePoints.latest(1)[0] ?? null
  }

  janitorEvents(limit: number): { events: JanitorEvent[] } {
    return { events: this.janitorLog.latest(limit) }
  }

  errors(limit: number): ErrorsResponse {
    return { errors: this.errorLog.latest(limit), groups: this.errorGroups.list() }
  }

  /** Clears endpoint stats only, and says what it cleared. */
  resetStats(): { cleared: string[]; endpoints: string[]; requests: number } {
    const endpoints = [...this.endpoints.keys()]
    const requests = [...this.endpoints.values()].reduce((s, c) => s + c.count, 0)
    this.endpoints = new Map()
    this.leaseHits = this.leaseTotal = 0
    this.dirty.add('endpoints')
    this.emitChange('stats_reset', { cleared: ['endpoint_stats'] })
    return { cleared: ['endpoint_stats'], endpoints, requests }
  }

  // ---- persistence -------------------------------------------------------------------------

  /** Sections changed since the last call, with their current content. */
  takeDirty(): Partial<MonitorSnapshot> | null {
    if (this.dirty.size === 0) return null
    const out: Partial<MonitorSnapshot> = {}
    for (const section of this.dirty) Object.assign(out, this.section(section))
    this.dirty.clear()
    return out
  }

  /** Put sections back as dirty after a failed write, so the next flush retries them. */
  markDirty(sections: SnapshotSection[]): void {
    for (const s of sections) this.dirty.add(s)
  }

  snapshot(): MonitorSnapshot {
    return { version: 1, ...this.section('endpoints'), ...this.section('timeline'), ...this.section('janitor'), ...this.section('errors') } as MonitorSnapshot
  }

  private section(name: SnapshotSection): Partial<MonitorSnapshot> {
    switch (name) {
      case 'endpoints':
        return { endpoints: Object.fromEntries([...this.endpoints].map(([k, c]) => [k, c.toJSON()])) }
      case 'timeline':
        return { timeline: this.timelinePoints.toArray() }
      case 'janitor':
        return { janitor: this.janitorLog.toArray() }
      case 'errors':
        return { errors: this.errorLog.toArray(), error_groups: this.errorGroups.list() }
    }
  }

  /**
   * Fold stored history into the live state. At start-up the live state is empty, so this is a
   * plain restore; after a store outage it adds what was counted meanwhile, so nothing is lost.
   */
  merge(snapshot: Partial<MonitorSnapshot>): void {
    if (snapshot.endpoints) {
      for (const [name, state] of Object.entries(snapshot.endpoints)) {
        const stored = EndpointCounter.fromJSON(state)
        const live = this.endpoints.get(name)
        this.endpoints.set(name, live ? mergeCounters(stored, live) : stored)
      }
      this.dirty.add('endpoints')
    }
    if (snapshot.timeline) refill(this.timelinePoints, snapshot.timeline, (p) => p.timestamp)
    if (snapshot.janitor) refill(this.janitorLog, snapshot.janitor, (e) => e.timestamp)
    // Stored entries may predate the cap.
    if (snapshot.errors) refill(this.errorLog, snapshot.errors.map((e) => ({ ...e, error: typeof e.error === 'string' ? capText(e.error) : e.error, stack: typeof e.stack === 'string' ? capText(e.stack) : e.stack })), (e) => e.timestamp)
    if (snapshot.error_groups) {
      const byShape = new Map(snapshot.error_groups.map((g) => [g.signature, { ...g }]))
      for (const g of this.errorGroups.list()) {
        const stored = byShape.get(g.signature)
        byShape.set(
          g.signature,
          stored
            ? { ...g, count: g.count + stored.count, first_seen: Math.min(g.first_seen, stored.first_seen), endpoints: [...new Set([...stored.endpoints, ...g.endpoints])] }
            : g,
        )
      }
      this.errorGroups.load([...byShape.values()])
    }
  }
}

/** Stored items and live items together, oldest first, as many as the buffer holds. */
function refill<T>(buffer: RingBuffer<T>, stored: T[], time: (item: T) => number): void {
  const combined = [...stored, ...buffer.toArray()].sort((a, b) => time(a) - time(b))
  buffer.clear()
  for (const item of combined.slice(-buffer.capacity)) buffer.push(item)
}

/** Contexts and pages a browser holds open, as Playwright's client lists them (no round trip). */
function openOf(b: ManagedBrowser): { open_contexts: number; open_pages: number } {
  if (b.state === 'closed') return { open_contexts: 0, open_pages: 0 }
  const contexts = b.browser.contexts()
  return { open_contexts: contexts.length, open_pages: contexts.reduce((n, c) => n + c.pages().length, 0) }
}
