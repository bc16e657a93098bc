import type { OperationName, OperationOutput } from '../../src/shared/contract.js'
import type {
  ActiveRequest,
  BrowserView,
  CompletedRequest,
  ErrorEntry,
  JanitorEvent,
  LiveMessage,
  MonitorHealth,
  MonitorSnapshotView,
  TimelineResponse,
} from '../../src/shared/monitor-types.js'
import type { LiveState, OperationCallInput, Transport } from '../../src/renderer/src/transport/types.js'

/** Small, valid monitor data for renderer tests. */

export function health(overrides: Partial<MonitorHealth['container']> = {}): MonitorHealth {
  return {
    container: {
      cpu_percent: 12.5,
      memory_percent: 42,
      memory_source: 'cgroup2',
      memory_used_mb: 840,
      memory_limit_mb: 2000,
      network_sent_mb: 1.5,
      network_recv_mb: 20,
      network_sent_mb_per_sec: 0.01,
      network_recv_mb_per_sec: 0.2,
      uptime_seconds: 3723,
      ...overrides,
    },
    pool: { permanent: { active: true, memory_mb: 150 }, hot: { count: 1, memory_mb: 120 }, cold: { count: 2, memory_mb: 200 }, total_memory_mb: 470 },
    queue: { active: 1, queued: 0, max_pages: 8, queue_size: 64 },
    admission: { limit: 8, max_limit: 8, min_limit: 1, adaptive: true, last_change: null },
    janitor: {
      memory_pressure: 'LOW',
      next_cleanup_estimate: 1_700_000_030,
      next_cleanup_in_seconds: 30,
      interval_seconds: 60,
      cold_ttl_seconds: 300,
      hot_ttl_seconds: 600,
    },
    persistence: { backend: 'file', ok: true, error: null, pending: false, last_flush: 1_700_000_000_000 },
    cache: { backend: 'lmdb', entries: 1234, bytes: 48_500_000, max_bytes: 1024 * 1024 * 1024, ttl_seconds: 86_400, error: null },
  }
}

// Times are given in milliseconds (`*_ms`); Crawl4AI's seconds fields follow from them.
export function active(id: string, over: Partial<ActiveRequest> = {}): ActiveRequest {
  const start = over.start_time_ms ?? Date.now()
  return {
    id,
    endpoint: '/crawl',
    url: `http://example.test/${id}`,
    urls: 1,
    config_sig: 'abc',
    start_time: start / 1000,
    start_time_ms: start,
    elapsed: 0,
    status: 'running',
    phase: 'queued',
    ...over,
  }
}

export function completed(id: string, over: Partial<CompletedRequest> = {}): CompletedRequest {
  const ok = over.success ?? true
  const start = over.start_time_ms ?? 1_700_000_000_000
  const end = over.end_time_ms ?? 1_700_000_001_000
  return {
    id,
    endpoint: '/crawl',
    url: `http://example.test/${id}`,
    urls: 1,
    config_sig: 'abc',
    start_time: start / 1000,
    start_time_ms: start,
    end_time: end / 1000,
    end_time_ms: end,
    elapsed: 1,
    status: ok ? 'success' : 'error',
    success: ok,
    status_code: ok ? 200 : 404,
    error: ok ? null : 'HTTP 404',
    aborted: false,
    pool_hit: true,
    cache_hit: false,
    queue_wait_ms: 1,
    browser_sig: 'abc',
    mem_delta: 1.5,
    ...over,
  }
}

export function browser(id: string, over: Partial<BrowserView> = {}): BrowserView {
  return {
    id,
    type: 'cold',
    sig: `${id}sig`.slice(0, 12),
    full_sig: `${id}fullsig`,
    config: {},
    state: 'active',
    pid: 100,
    launched_at: 1_700_000_000_000,
    age_seconds: 12,
    last_used_seconds: 3,
    memory_mb: 99,
    processes: 4,
    hits: 2,
    leases: 0,
    pages_served: 2,
    open_contexts: 0,
    open_pages: 0,
    killable: true,
    not_killable_reason: null,
    ...over,
  }
}

export function errorEntry(i: number, over: Partial<ErrorEntry> = {}): ErrorEntry {
  const at = over.timestamp_ms ?? 1_700_000_000_000 + i
  return {
    timestamp: at / 1000,
    timestamp_ms: at,
    endpoint: '/crawl',
    url: `http://example.test/e${i}`,
    error: `boom ${i}`,
    stack: `Error: boom ${i}\n    at here`,
    request_id: `r${i}`,
    status_code: 500,
    ...over,
  }
}

export function janitorEvent(i: number, at = 1_700_000_000_000 + i): JanitorEvent {
  return { timestamp: at / 1000, timestamp_ms: at, type: i % 2 ? 'launch' : 'close_cold', sig: `sig${i}`, details: { n: i } }
}

function timeline(metric: TimelineResponse['metric'], n: number): TimelineResponse {
  const timestamps = Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 5000)
  return {
    metric,
    window: '300s',
    resolution_seconds: 5,
    timestamps: timestamps.map((ms) => ms / 1000),
    timestamps_ms: timestamps,
    values: metric === 'browsers' ? timestamps.map(() => ({ permanent: 1, hot: 1, cold: 2 })) : timestamps.map((_, i) => i),
  }
}

export function snapshot(over: Partial<MonitorSnapshotView> = {}): MonitorSnapshotView {
  return {
    health: health(),
    requests: { active: [active('a1')], completed: [completed('c1'), completed('c2', { success: false })] },
    browsers: {
      browsers: [
        browser('b1', { type: 'permanent', killable: false, not_killable_reason: 'the permanent browser cannot be killed; restart it instead' }),
        browser('b2'),
      ],
      summary: { total_count: 2, total_memory_mb: 250, reuse_rate_percent: 75 },
    },
    endpoints: {
      '/crawl': {
        count: 3,
        avg_latency_ms: 800,
        p50_latency_ms: 700,
        p95_latency_ms: 1500,
        success_rate_percent: 66.7,
        pool_hit_rate_percent: 100,
        cache_hit_rate_percent: 0,
        errors: 1,
      },
    },
    timeline: {
      memory: timeline('memory', 10),
      cpu: timeline('cpu', 10),
      requests: timeline('requests', 10),
      browsers: timeline('browsers', 10),
      limit: timeline('limit', 10),
    },
    janitor: [janitorEvent(1), janitorEvent(2)],
    errors: {
      errors: [errorEntry(1)],
      groups: [{ signature: 'boom N', example: 'boom 1', endpoints: ['/crawl'], count: 1, first_seen: 1_700_000_000_000, last_seen: 1_700_000_000_000 }],
    },
    ...over,
  }
}

type Handler = { [K in OperationName]?: (input: OperationCallInput<K>) => OperationOutput<K> | Promise<OperationOutput<K>> }

/** A Transport whose calls are answered by handlers and whose live feed the test drives. */
export class FakeTransport implements Transport {
  calls: Array<{ name: OperationName; input: unknown }> = []
  onMessage: ((m: LiveMessage) => void) | null = null
  onState: ((s: LiveState) => void) | null = null
  constructor(public handlers: Handler = {}) {}

  async call<K extends OperationName>(name: K, input: OperationCallInput<K>): Promise<OperationOutput<K>> {
    this.calls.push({ name, input })
    const h = this.handlers[name] as ((i: unknown) => unknown) | undefined
    if (h) return (await h(input)) as OperationOutput<K>
    const s = snapshot()
    const defaults: Partial<Record<OperationName, unknown>> = {
      monitorHealth: s.health,
      monitorRequests: s.requests,
      monitorBrowsers: s.browsers,
      monitorEndpointStats: s.endpoints,
      monitorJanitorLog: { events: s.janitor },
      monitorErrors: s.errors,
    }
    if (name === 'monitorTimeline') return s.timeline[(input as { metric: 'memory' }).metric] as OperationOutput<K>
    if (name in defaults) return defaults[name] as OperationOutput<K>
    throw new Error(`FakeTransport: no handler for ${name}`)
  }

  /** An 'ndjson' operation: its handler answers the lines (an array or an async iterable), each handed over in turn. */
  async stream<K extends OperationName>(name: K, input: OperationCallInput<K>, onLine: (line: unknown) => void): Promise<void> {
    this.calls.push({ name, input })
    const h = this.handlers[name] as ((i: unknown) => unknown) | undefined
    if (!h) throw new Error(`FakeTransport: no handler for ${name}`)
    for await (const line of (await h(input)) as AsyncIterable<unknown> | Iterable<unknown>) onLine(line)
  }

  subscribe(onMessage: (m: LiveMessage) => void, onState: (s: LiveState) => void): () => void {
    this.onMessage = onMessage
    this.onState = onState
    return () => {
      this.onMessage = null
      this.onState = null
    }
  }

  push(m: LiveMessage): void {
    this.onMessage?.(m)
  }
}
