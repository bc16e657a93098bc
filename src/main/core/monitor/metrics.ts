import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Admission } from '../admission.js'
import { registerCacheMetrics, type CacheMetricsSource } from '../cache/cache-metrics.js'
import type { MarkdownOffloadStats } from '../crawl/markdown-offload.js'
import type { EngineEventBus } from '../events.js'
import type { BrowserPool } from '../pool/pool.js'
import type { Monitor } from './monitor.js'

/**
 * Prometheus metrics, in a registry of this runtime's own (tests run several runtimes in one
 * process). Labels are bounded sets only: endpoint, status, tier, reason — never a URL or id.
 */
export function createMetrics(deps: {
  events: EngineEventBus
  pool: BrowserPool
  admission: Admission
  monitor: Monitor
  markdown: { stats(): MarkdownOffloadStats }
  /** The result cache: its lookups, writes and size (cache/cache-metrics.ts). */
  cache?: CacheMetricsSource
}): { registry: Registry; stop(): void } {
  const { events, pool, admission, monitor, markdown } = deps
  const registry = new Registry()
  // Node's and the process's own figures under their conventional names (process_*, nodejs_*),
  // which the stock Node.js Grafana dashboards query; crawldeck's own carry the crawldeck_ prefix.
  collectDefaultMetrics({ register: registry })
  // prom-client also writes these three as gauges named _total, which `promtool check metrics`
  // flags (only counters end in _total); the same figures, by type, stay in the unsuffixed gauges
  // (nodejs_active_handles...), whose sum() is the total.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name)

  const requests = new Counter({
    name: 'crawldeck_requests_total',
    help: 'API requests by endpoint and outcome (success, error, aborted)',
    labelNames: ['endpoint', 'status'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'crawldeck_request_duration_seconds',
    help: 'API request duration, from arrival to answer',
    labelNames: ['endpoint'] as const,
    // A cached answer takes milliseconds, a page tens of ms to seconds, a large batch a minute or more.
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120],
    registers: [registry],
  })
  const acquisitions = new Counter({
    name: 'crawldeck_pool_acquisitions_total',
    help: 'Browser leases by result: hit (a running browser served it) or miss (a launch was awaited)',
    labelNames: ['result'] as const,
    registers: [registry],
  })
  // Both results exist from the first scrape, so a hit/miss ratio has data before the first miss.
  for (const result of ['hit', 'miss'] as const) acquisitions.inc({ result }, 0)
  const launches = new Counter({
    name: 'crawldeck_browser_launches_total',
    help: 'Browsers launched, by tier',
    labelNames: ['tier'] as const,
    registers: [registry],
  })
  const launchFailures = new Counter({
    name: 'crawldeck_browser_launch_failures_total',
    help: 'Browser launches that failed',
    labelNames: ['tier'] as const,
    registers: [registry],
  })
  const closes = new Counter({
    name: 'crawldeck_browser_closes_total',
    help: 'Browsers closed, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const rejected = new Counter({
    name: 'crawldeck_admission_rejected_total',
    help: 'Requests refused with 429 because the queue was full',
    registers: [registry],
  })

  new Gauge({
    name: 'crawldeck_browsers',
    help: 'Browsers in the pool, by tier',
    labelNames: ['tier'] as const,
    registers: [registry],
    collect() {
      for (const [tier, n] of Object.entries(pool.tierCounts())) this.set({ tier }, n)
    },
  })
  new Gauge({
    name: 'crawldeck_browser_memory_bytes',
    help: 'Memory (PSS, else RSS) of browser process trees, by tier',
    labelNames: ['tier'] as const,
    registers: [registry],
    collect() {
      const h = monitor.health().pool
      this.set({ tier: 'permanent' }, h.permanent.memory_mb * 1024 * 1024)
      this.set({ tier: 'hot' }, h.hot.memory_mb * 1024 * 1024)
      this.set({ tier: 'cold' }, h.cold.memory_mb * 1024 * 1024)
    },
  })
  new Gauge({
    name: 'crawldeck_queue_depth',
    help: 'Requests waiting for a page slot',
    registers: [registry],
    collect() {
      this.set(admission.queuedCount)
    },
  })
  new Gauge({
    name: 'crawldeck_admission_limit',
    help: 'Pages allowed open at once now (the adaptive limit, or max_pages when fixed)',
    registers: [registry],
    collect() {
      this.set(admission.capacity.limit)
    },
  })
  new Gauge({
    name: 'crawldeck_pages_active',
    help: 'Pages open now',
    registers: [registry],
    collect() {
      this.set(admission.activeCount)
    },
  })
  new Gauge({
    name: 'crawldeck_queue_limit',
    help: 'Requests that may wait for a page slot; past it they are refused with 429',
    registers: [registry],
    collect() {
      this.set(admission.capacity.queue_limit)
    },
  })
  new Gauge({
    name: 'crawldeck_persistence_ok',
    help: "1 while the monitor's history reaches its store (file or Redis), 0 while writes fail",
    registers: [registry],
    collect() {
      this.set(monitor.persistence.ok ? 1 : 0)
    },
  })
  new Gauge({
    name: 'crawldeck_requests_active',
    help: 'API requests in progress',
    registers: [registry],
    collect() {
      this.set(monitor.activeCount())
    },
  })
  new Gauge({
    name: 'crawldeck_memory_ratio',
    help: 'Memory use of the container (cgroup) or host, 0..1',
    registers: [registry],
    collect() {
      this.set(monitor.memory().percent / 100)
    },
  })
  new Gauge({
    name: 'crawldeck_cpu_ratio',
    help: 'CPU use of the container (cgroup) or host over the last second, 0..1',
    registers: [registry],
    collect() {
      this.set(monitor.health().container.cpu_percent / 100)
    },
  })

  // Read from the converter's own counts at scrape time. Every conversion runs on a worker thread
  // now, so 'loop' stays at 0: it is kept so that queries written for it still find a series.
  new Counter({
    name: 'crawldeck_markdown_conversions_total',
    help: 'HTML to Markdown conversions answered, by where they ran: worker (a worker thread: all of them) or loop (the event loop: no longer used, always 0)',
    labelNames: ['where'] as const,
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ where: 'loop' }, 0)
      this.inc({ where: 'worker' }, markdown.stats().offloaded)
    },
  })
  new Counter({
    name: 'crawldeck_markdown_worker_failures_total',
    help: 'Times a Markdown worker thread could not start, or ended on its own (the page it was converting then failed)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(markdown.stats().workerFailures)
    },
  })
  new Counter({
    name: 'crawldeck_markdown_stopped_total',
    help: "Markdown conversions stopped before they finished: at the page's deadline (timeout) or when the caller went away (aborted); a worker converting one is terminated and replaced",
    labelNames: ['why'] as const,
    registers: [registry],
    collect() {
      const stats = markdown.stats()
      this.reset()
      this.inc({ why: 'timeout' }, stats.timedOut)
      this.inc({ why: 'aborted' }, stats.aborted)
    },
  })

  if (deps.cache) registerCacheMetrics(registry, deps.cache)

  const offs = [
    events.on('request:finished', (e) => {
      const status = e.aborted ? 'aborted' : e.success ? 'success' : 'error'
      requests.inc({ endpoint: e.endpoint, status })
      duration.observe({ endpoint: e.endpoint }, e.elapsed_ms / 1000)
    }),
    events.on('lease:acquired', (e) => acquisitions.inc({ result: e.pool_hit ? 'hit' : 'miss' })),
    events.on('browser:launched', (e) => launches.inc({ tier: e.tier })),
    events.on('browser:launch_failed', (e) => launchFailures.inc({ tier: e.tier })),
    events.on('browser:closed', (e) => closes.inc({ reason: e.reason })),
    events.on('admission:rejected', () => rejected.inc()),
  ]
  return { registry, stop: () => offs.forEach((off) => off()) }
}
