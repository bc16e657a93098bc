/**
 * Shapes of the /monitor/* API. Field names follow Crawl4AI's Docker-server monitor so its
 * users feel at home; extra fields are additions, never renames. Every number is measured.
 *
 * Units: a field under one of Crawl4AI's names has Crawl4AI's unit. Its times (`start_time`,
 * `end_time`, `timestamp`, `timestamps`) are epoch SECONDS, as Python's time.time() gives them; the
 * same instant in epoch milliseconds (what Date takes) sits beside each under `<name>_ms`.
 * crawldeck's own times (`launched_at`, `first_seen`, `last_seen`, `last_flush`, the SSE tick's
 * `timeline.timestamp`) are epoch milliseconds.
 */

import type { JobsHealth } from './job-schemas.js'

export type BrowserTier = 'permanent' | 'hot' | 'cold'
export type RequestPhase = 'queued' | 'acquiring' | 'navigating' | 'extracting'
export type MemoryPressure = 'LOW' | 'MEDIUM' | 'HIGH'

export interface ActiveRequest {
  id: string
  endpoint: string
  url: string
  urls: number
  config_sig: string
  /** Epoch seconds (float). */
  start_time: number
  /** start_time in epoch milliseconds. */
  start_time_ms: number
  /** Seconds since start_time, at the moment of the answer. */
  elapsed: number
  status: 'running'
  phase: RequestPhase
}

export interface CompletedRequest {
  id: string
  endpoint: string
  url: string
  urls: number
  config_sig: string
  /** Epoch seconds (float). */
  start_time: number
  start_time_ms: number
  /** Epoch seconds (float). */
  end_time: number
  end_time_ms: number
  /** Seconds from start to end. */
  elapsed: number
  status: 'success' | 'error'
  success: boolean
  status_code: number
  error: string | null
  aborted: boolean
  /** True only when an already-running browser served it; null when no browser was reached. */
  pool_hit: boolean | null
  /** True when every URL of the request was answered from the result cache (no browser work). */
  cache_hit: boolean
  queue_wait_ms: number | null
  browser_sig: string | null
  /** crawler_config.extraction_strategy, when one ran; absent in records kept before it was recorded. */
  extraction?: RequestExtraction | null
  /** The markdown_generator's content filter, when one ran; absent in records kept before it was recorded. */
  content_filter?: RequestContentFilter | null
  /**
   * Change of the serving browser's private memory across the request, in MB: the anonymous
   * resident memory (RssAnon) of its process tree, the first once-a-second sample after it minus
   * the last one before it. File-backed pages (the Chromium binary every process maps) are left
   * out: counted per process they moved the figure by 100-200 MB whenever a renderer came or went.
   * Null for about a second after the request ends, when no browser served it, and when another
   * request used the same browser inside that window: a browser's memory cannot be split between
   * the pages it serves at once, so such a change is not this request's to report.
   */
  mem_delta: number | null
}

/** The extraction strategy a request ran, over all its URLs. */
export interface RequestExtraction {
  /** Its type, e.g. JsonCssExtractionStrategy. */
  strategy: string
  /** Records in extracted_content (the length of its JSON array), summed over the URLs crawled; null when all were cache hits. */
  records: number | null
}

/** The content filter a request ran, over all its URLs: how much of the page's Markdown it kept. */
export interface RequestContentFilter {
  /** Its type, e.g. PruningContentFilter. */
  type: string
  /** Characters of fit_markdown, summed over the URLs crawled; null when all were cache hits. */
  fit_chars: number | null
  /** Characters of raw_markdown, likewise. */
  raw_chars: number | null
}

export interface RequestsResponse {
  active: ActiveRequest[]
  completed: CompletedRequest[]
}

export interface BrowserView {
  id: string
  type: BrowserTier
  /** Short signature, as shown in tables. */
  sig: string
  full_sig: string
  config: Record<string, unknown>
  state: 'active' | 'retired' | 'closing' | 'closed'
  pid: number | null
  launched_at: number
  age_seconds: number
  last_used_seconds: number
  /** Proportional set size of the browser's whole process tree (RSS where PSS is unreadable). */
  memory_mb: number
  processes: number
  hits: number
  leases: number
  pages_served: number
  /** Contexts and pages open in this browser now, from Playwright's own lists (0 when idle: nothing leaks). */
  open_contexts: number
  open_pages: number
  killable: boolean
  /** Why `killable` is false, for the UI's tooltip. */
  not_killable_reason: string | null
}

export interface BrowsersResponse {
  browsers: BrowserView[]
  summary: {
    total_count: number
    total_memory_mb: number
    /** Share of leases served by an already-running browser, in percent. */
    reuse_rate_percent: number
  }
}

export interface EndpointStats {
  count: number
  avg_latency_ms: number
  p50_latency_ms: number
  p95_latency_ms: number
  success_rate_percent: number
  pool_hit_rate_percent: number
  /** Share of requests answered entirely from the result cache, in percent. */
  cache_hit_rate_percent: number
  errors: number
}

export type EndpointStatsResponse = Record<string, EndpointStats>

/** `limit`: the page limit of admission (adaptive: it moves; see MonitorHealth.admission). */
export type TimelineMetric = 'memory' | 'cpu' | 'requests' | 'browsers' | 'limit'
export interface TierCounts {
  permanent: number
  hot: number
  cold: number
}
/** What GET /monitor/timeline can show: the live metrics, and those the rollups keep (docs/history.md). */
export type TimelineQueryMetric = TimelineMetric | 'errors' | 'latency_p50' | 'latency_p95' | 'queue' | 'cache_hits'
export interface TimelineResponse {
  metric: TimelineQueryMetric
  window: string
  resolution_seconds: number
  /** Epoch seconds (float) of each point; Crawl4AI sends whole seconds. */
  timestamps: number[]
  /** The same points in epoch milliseconds, exact. */
  timestamps_ms: number[]
  /** Windows past 5 min (rollups): null where nothing was recorded (the service was down). */
  values: number[] | TierCounts[] | Array<number | null> | Array<TierCounts | null>
}

/** GET /monitor/history/endpoints: per-endpoint stats of each hour that saw requests, oldest first. */
export interface EndpointHistoryResponse {
  /** The range asked for, epoch seconds. */
  from: number
  to: number
  resolution_seconds: number
  hours: Array<{ timestamp: number; timestamp_ms: number; endpoints: Record<string, EndpointStats> }>
}

export type JanitorEventType =
  | 'close_cold'
  | 'close_hot'
  | 'promote'
  | 'launch'
  | 'retire'
  | 'crash'
  | 'kill_browser'
  | 'restart_browser'
  | 'force_cleanup'
  | 'close'
  | 'session_open'
  | 'session_close'

export interface JanitorEvent {
  /** Epoch seconds (float). */
  timestamp: number
  timestamp_ms: number
  type: JanitorEventType
  sig: string
  details: Record<string, unknown>
}

export interface ErrorEntry {
  /** Epoch seconds (float). */
  timestamp: number
  timestamp_ms: number
  endpoint: string
  url: string
  error: string
  stack: string | null
  request_id: string
  status_code: number
}

/** One row per error shape: the same message with other URLs or numbers is one group. */
export interface ErrorGroupView {
  signature: string
  /** The latest message of this shape, as it was. */
  example: string
  endpoints: string[]
  count: number
  first_seen: number
  last_seen: number
}

export interface ErrorsResponse {
  errors: ErrorEntry[]
  groups: ErrorGroupView[]
}

/** Why the adaptive page limit moved (src/main/core/admission/limiter.ts). */
export type AdmissionLimitReason = 'memory' | 'deadline' | 'latency' | 'headroom'

export interface MonitorHealth {
  container: {
    cpu_percent: number
    memory_percent: number
    memory_source: 'cgroup2' | 'cgroup1' | 'host'
    memory_used_mb: number
    memory_limit_mb: number
    network_sent_mb: number
    network_recv_mb: number
    network_sent_mb_per_sec: number
    network_recv_mb_per_sec: number
    uptime_seconds: number
  }
  pool: {
    permanent: { active: boolean; memory_mb: number }
    hot: { count: number; memory_mb: number }
    cold: { count: number; memory_mb: number }
    total_memory_mb: number
  }
  queue: { active: number; queued: number; max_pages: number; queue_size: number }
  /**
   * The page limit: fixed at max_limit (max_pages) unless adaptive, then between min_limit and
   * max_limit; last_change says when and why it last moved (at: epoch ms), null until it has.
   */
  admission: {
    limit: number
    max_limit: number
    min_limit: number
    adaptive: boolean
    last_change: { at: number; from: number; to: number; reason: AdmissionLimitReason; detail: string } | null
  }
  janitor: {
    memory_pressure: MemoryPressure
    /**
     * Crawl4AI's key. Crawl4AI always sends the string "adaptive"; crawldeck knows when its janitor
     * runs next and sends that instant in epoch seconds, or "adaptive" while no run is scheduled
     * (the janitor stopped, or between a pass and the next schedule).
     */
    next_cleanup_estimate: number | 'adaptive'
    next_cleanup_in_seconds: number | null
    interval_seconds: number
    cold_ttl_seconds: number
    hot_ttl_seconds: number
  }
  /** last_flush: epoch ms of the state the last successful write held (taken then, written after). */
  persistence: { backend: 'file' | 'redis' | 'memory'; ok: boolean; error: string | null; pending: boolean; last_flush: number | null }
  /** The result cache (crawler_config.cache_mode). */
  cache: CacheHealth
  /** Async crawl jobs (/crawl/job) kept, by status; `error` when the job store could not be read. */
  jobs?: JobsHealth & { error?: string }
}

/**
 * The result cache's size. lmdb: the embedded store in the data dir, capped at max_bytes. redis:
 * shared by every instance on the prefix; entries, bytes and max_bytes are null there (Redis's own
 * maxmemory caps it, and counting would mean scanning the keys). none: the store could not be
 * opened (`error` says why); every crawl fetches.
 */
export interface CacheHealth {
  backend: 'lmdb' | 'redis' | 'none'
  entries: number | null
  bytes: number | null
  max_bytes: number | null
  /** Seconds an entry is served; 0: until evicted or cleared. */
  ttl_seconds: number
  /** Why the store is unavailable; null while it works. */
  error: string | null
}

/** POST /monitor/actions/cache_clear: the entries removed and the bytes they held. */
export interface CacheClearResponse {
  success: boolean
  cleared_entries: number
  cleared_bytes: number
}

export interface MonitorSnapshotView {
  health: MonitorHealth
  requests: RequestsResponse
  browsers: BrowsersResponse
  endpoints: EndpointStatsResponse
  timeline: Record<TimelineMetric, TimelineResponse>
  janitor: JanitorEvent[]
  errors: ErrorsResponse
}

/** One timeline point as the live stream's tick carries it (crawldeck's own message). */
export interface TimelineTick {
  /** Epoch milliseconds. */
  timestamp: number
  memory: number
  cpu: number
  requests: number
  browsers: TierCounts
  /** The page limit at the point; absent on points stored by versions before it was recorded. */
  limit?: number
  /**
   * Callers waiting for a page slot; then, of the requests finished in the 5 s: how many failed,
   * how many were cache hits, and their latency percentiles (ms). Absent on older points.
   */
  queue?: number
  errors?: number
  cache_hits?: number
  latency_p50?: number
  latency_p95?: number
}

/**
 * What the live stream pushes: the same messages over SSE and (later) IPC. A client starts
 * from `snapshot` and applies the rest; it needs no other call.
 */
export type LiveMessage =
  | { type: 'snapshot'; data: MonitorSnapshotView }
  | { type: 'request_started'; data: ActiveRequest }
  | { type: 'request_phase'; data: { id: string; phase: RequestPhase } }
  | { type: 'request_finished'; data: CompletedRequest }
  | { type: 'browsers'; data: BrowsersResponse }
  | { type: 'janitor_event'; data: JanitorEvent }
  | { type: 'error'; data: ErrorEntry }
  | { type: 'endpoints'; data: EndpointStatsResponse }
  | { type: 'tick'; data: { health: MonitorHealth; timeline: TimelineTick | null } }

export type LiveMessageType = LiveMessage['type']

/** One named session (crawler_config.session_id) as GET /monitor/sessions shows it. */
export interface SessionView {
  session_id: string
  /** Short signature of the browser its page lives in (the browsers tab's `sig`). */
  browser_sig: string
  browser_id: string
  /** Epoch seconds. */
  created_at: number
  last_used_at: number
  age_seconds: number
  /** 0 while a request is using it. */
  idle_seconds: number
  /** Requests served on its page. */
  requests: number
  /** The page's current URL, at most 200 characters. */
  url: string
  busy: boolean
}

export interface SessionsResponse {
  sessions: SessionView[]
}

export interface CloseSessionResponse {
  success: true
  /** The session_id closed. */
  closed: string
}

export interface CleanupResponse {
  success: true
  /** Crawl4AI's count of closed browsers (the length of `closed`). */
  killed_browsers: number
  closed: Array<{ sig: string; id: string; idle_seconds: number }>
  spared_busy: Array<{ sig: string; id: string; leases: number }>
}

export interface KillResponse {
  success: true
  /** Crawl4AI's names: the short signature (8 hex) of the killed browser and its tier. */
  killed_sig: string
  pool_type: BrowserTier
  killed: { sig: string; full_sig: string; id: string; type: BrowserTier; forced: boolean; failed_crawls: number }
}

export interface RestartDetails {
  sig: string
  full_sig: string
  type: BrowserTier
  old_id: string
  new_id: string
  old_leases_draining: number
}

/**
 * Crawl4AI answers `{success, restarted: "permanent"}` for the permanent browser and
 * `{success, restarted_sig, note}` for a hot or cold one; crawldeck sends those keys (and
 * `restarted_sig` always) with what it did under `details`.
 */
export interface RestartResponse {
  success: true
  restarted?: 'permanent'
  /** Short signature (8 hex) of the browser relaunched. */
  restarted_sig: string
  note?: string
  details: RestartDetails
}

export interface ResetResponse {
  success: true
  /** Crawl4AI's answer text. */
  message: 'Endpoint stats reset'
  cleared: string[]
  endpoints: string[]
  requests: number
}

/**
 * What /monitor/ws sends, right after the socket opens and then every 2 s: Crawl4AI's message.
 * `timestamp` is epoch seconds (Crawl4AI sends its event loop's monotonic clock, which means
 * nothing to a client); lists are oldest first, the last 10 of each.
 */
export interface MonitorWsMessage {
  timestamp: number
  health: MonitorHealth
  requests: { active: ActiveRequest[]; completed: CompletedRequest[] }
  browsers: BrowserView[]
  timeline: { memory: TimelineResponse; requests: TimelineResponse; browsers: TimelineResponse }
  janitor: JanitorEvent[]
  errors: ErrorEntry[]
}
