import os from 'node:os'
import type { ServiceImpl } from '../../shared/contract.js'
import type { JobsHealth } from '../../shared/job-schemas.js'
import { Admission, type AdmissionPressure } from './admission.js'
import { poolExecutables, type PoolExecutables } from './chromium/executables.js'
import { locateChromiumBinaries, type ChromiumBinaries } from './chromium/locate.js'
import { currentIdentity, sandboxPolicy, type ProcessIdentity, type SandboxPolicy } from './chromium/sandbox.js'
import { resolveConfig, type Config, type ConfigInput } from './config.js'
import { Crawler, type CloseContext } from './crawl/crawler.js'
import { MarkdownOffload } from './crawl/markdown-offload.js'
import { SessionStore } from './crawl/sessions.js'
import { privateTargetsReason } from './egress/address-policy.js'
import { EgressGuard } from './egress/guard.js'
import type { Lookup } from './egress/resolve.js'
import { EngineEventBus } from './events.js'
import { InstanceState, instanceName, newInstanceId } from './fleet/instance.js'
import { openFleetRegistry, type FleetRegistry } from './fleet/registry.js'
import { WebhookSender } from './jobs/webhooks.js'
import { AlertEngine } from './alerts/engine.js'
import { registerAlertMetrics } from './alerts/metrics.js'
import { createAlertService, withAlertTargetCheck } from './service/alert-service.js'
import type { Logger } from './logger.js'
import { Janitor } from './pool/janitor.js'
import { PageReserve, type PageReserveDeps } from './pool/page-reserve.js'
import { BrowserPool } from './pool/pool.js'
import { LiveFeed } from './monitor/live.js'
import { createMetrics } from './monitor/metrics.js'
import { Monitor, type MonitorDeps } from './monitor/monitor.js'
import { WebhookLog } from './monitor/webhook-log.js'
import { openResultCache } from './cache/open-cache.js'
import type { ResultCache } from './cache/result-cache.js'
import { createCacheService } from './service/cache-service.js'
import { createConfigService } from './service/config-service.js'
import { createCrawlService } from './service/crawl-service.js'
import { createJobService } from './service/job-service.js'
import type { JobQueue } from './jobs/job-queue.js'
import { openJobQueue } from './jobs/open-queue.js'
import { readHealth } from './service/health-service.js'
import { createMonitorService } from './service/monitor-service.js'
import { createFleetService } from './service/fleet-service.js'
import { createWebhookService } from './service/webhook-service.js'
import { createSettingsService, type SettingsService } from './service/settings-service.js'
import { SettingsStore } from './settings/store.js'
import { FileStore } from './store/file-store.js'
import { Persister } from './store/persister.js'
import { HistoryKeeper } from './history/history-keeper.js'
import { openHistoryStore } from './history/open-history-store.js'
import { RedisStore } from './store/redis-store.js'
import type { MonitorStore } from './store/store.js'
import { readMemoryUsage, type MemoryReading } from './system/memory.js'
import { VERSION } from './version.js'

/**
 * The whole engine, in plain Node: pool, janitor, admission, crawler and the service the doors
 * call. Both the headless entry and the Electron main process create exactly one.
 */
export interface Runtime {
  /**
   * The configuration of this start, frozen (settings.json's restart keys already laid over it).
   * Its live keys (memory_threshold_percent, idle_ttl_seconds, the token lists, host, port) are
   * getters onto `settings.live`, so reading them here gives the current value too.
   */
  readonly config: Readonly<Config>
  readonly events: EngineEventBus
  readonly pool: BrowserPool
  readonly janitor: Janitor
  /** Pre-warmed context + page pairs of the permanent and hot browsers (prewarm_pages). */
  readonly reserve: PageReserve
  readonly admission: Admission
  /** Crawls URLs; `crawler.settled()` waits for the contexts still closing after their answers. */
  readonly crawler: Crawler
  /** Named sessions (crawler_config.session_id): pages kept open between requests. */
  readonly sessions: SessionStore
  /** HTML → Markdown of every page, on worker threads stopped at the page's deadline. */
  readonly markdown: MarkdownOffload
  readonly monitor: Monitor
  readonly live: LiveFeed
  readonly persister: Persister
  /** The monitor's long history (minute and hour rollups), written on the persister's cadence; `onWritten` after each write. */
  readonly history: HistoryKeeper
  /** Crawl results kept for cache_mode: LMDB in the data dir, or Redis when redis_url is set. */
  readonly cache: ResultCache
  readonly service: ServiceImpl
  /**
   * The saved Settings; `onChange` lets the desktop shell follow them, `live` holds the values the
   * engine reads while it runs (see settings-service.ts and settings/live.ts).
   */
  readonly settings: SettingsService
  /** The Chromium binaries browsers are launched from (headless shell and/or full Chromium). */
  readonly chromium: Pick<PoolExecutables, 'headless' | 'headed' | 'nice'>
  /** The private-target guard (its proxy carries every browser's traffic); null when block_private_targets is off. */
  readonly egress: EgressGuard | null
  /** Whether browsers run in Chromium's sandbox, and the warning when they do not (as root). */
  readonly sandbox: SandboxPolicy
  /** Sends jobs' webhooks (signed with webhook_secret, checked like crawl targets); its deliveries show in /monitor/webhooks. */
  readonly webhooks: WebhookSender
  /** This instance's entry in the fleet (Redis heartbeats with a TTL, or a fleet of one); its id is the `instance` label of /metrics. */
  readonly fleet: FleetRegistry
  /** Async crawl jobs (/crawl/job): BullMQ on redis_url, else LMDB in the data dir; `counts()` for the fleet view and health. */
  readonly jobs: JobQueue
  /** The alert rules (Settings' alerts): fired/resolved engine events, /monitor/alerts, alert webhooks. */
  readonly alerts: AlertEngine
  readonly startedAt: number
  readonly version: string
  readMemory(): MemoryReading
  /** Refuse new work, close every browser, leave no Chromium process behind. Idempotent. */
  close(): Promise<void>
}

export interface RuntimeDeps {
  logger: Logger
  /** Replaces the memory reading (tests force pressure with it). */
  readMemory?: () => MemoryReading
  /** Where settings.json lives: Electron's userData for the desktop app; the data dir when left out. */
  settingsDir?: string
  /** Name resolution of the egress guard (tests make names rebind with it). */
  egressLookup?: Lookup
  /** The Chromium binaries to use instead of locating them (tests give a machine with only a headless shell). */
  chromiumBinaries?: ChromiumBinaries
  /** How a crawl's context is closed after its answer (tests hold a close open with it). */
  closeContext?: CloseContext
  /** How the page reserve makes a pair (tests hold one being made with it). */
  openReservedPage?: PageReserveDeps['openPage']
  /** Who the service runs as, which decides the browsers' sandbox; the real process by default. */
  identity?: ProcessIdentity
  /** The host's CPU and network samplers and process table instead of this platform's (tests run the macOS/Windows readings on Linux). */
  system?: Pick<MonitorDeps, 'cpu' | 'network' | 'processes'>
  /** First delay between webhook attempts (1 s, doubled each time); tests shorten it. */
  webhookRetryDelayMs?: number
  /** BullMQ's job lock and stalled-job check, in ms (config job_lock_seconds by default); tests of a dead instance shorten them. */
  jobLockMs?: number
  jobStalledCheckMs?: number
  /** Between readings of the alert rules (1 s). */
  alertIntervalMs?: number
}

/** /monitor/health's `jobs`: a store that cannot be read says so instead of failing the whole answer. */
async function jobsHealth(jobs: JobQueue): Promise<JobsHealth & { error?: string }> {
  try {
    return { backend: jobs.backend, ...(await jobs.counts()) }
  } catch (err) {
    return { backend: jobs.backend, queued: 0, active: 0, completed: 0, failed: 0, cancelled: 0, error: err instanceof Error ? err.message : String(err) }
  }
}

export async function createRuntime(configInput: Config | ConfigInput, deps: RuntimeDeps): Promise<Runtime> {
  const given = resolveConfig(configInput)
  const { logger } = deps
  // First: what the user saved in Settings overrides the config everything below is built from.
  // From here on the config is fixed; what Settings change while running is read from liveSettings.
  const settings = await createSettingsService({ config: given, store: new SettingsStore(deps.settingsDir ?? given.data_dir), logger })
  const { config, live: liveSettings } = settings
  // --chromium, CRAWLDECK_CHROMIUM or the config file first, then the path saved in Settings, then the usual places.
  const binaries =
    deps.chromiumBinaries ?? locateChromiumBinaries({ explicit: config.chromium, saved: settings.current().chromium_path, warn: (m) => logger.warn(m) })
  const readMemory = deps.readMemory ?? (() => readMemoryUsage())
  const events = new EngineEventBus()
  events.onListenerError(({ event, error }) => logger.error({ event, err: error }, 'engine event listener failed'))
  const executable = poolExecutables(binaries, config.chromium_nice)
  if (executable.warning) logger.warn(executable.warning)
  const sandbox = sandboxPolicy(deps.identity ?? currentIdentity(), config.chromium_args)
  if (sandbox.warning) logger.warn(sandbox.warning)
  // Before the pool: every browser is launched with the guard's proxy, so it cannot change live.
  // After the settings: tokens saved there count towards the default like configured ones.
  const guardReason = privateTargetsReason(config)
  const egress = guardReason !== null ? await EgressGuard.start(config.private_targets_allowed, deps.egressLookup) : null
  if (egress)
    logger.info(
      { proxy: egress.proxy.serverUrl, allowed: config.private_targets_allowed, reason: guardReason },
      'private targets refused: browsers go through the egress guard',
    )
  const pool = new BrowserPool({
    config,
    live: liveSettings,
    chromium: executable,
    events,
    logger,
    readMemory,
    egressProxy: egress?.proxyServer ?? null,
    sandbox: sandbox.sandbox,
  })
  // The adaptive limit weighs the monitor's once-a-second CPU and memory readings (read when it
  // ticks, after the monitor below exists).
  const admission: Admission = new Admission(
    config.max_pages,
    config.queue_size,
    events,
    config.adaptive_admission
      ? {
          min: config.min_pages,
          // Starts where a fixed limit would stand (the operator's max_pages), so light and slow
          // network-bound pages are never held back while nothing has been measured; a first wave
          // of heavy pages brings it down as they run (a page past half its page_timeout counts
          // before it finishes).
          initial: config.max_pages,
          cpus: os.availableParallelism(),
          pressure: (): AdmissionPressure => ({ ...monitor.hostReadings(), memory_threshold_percent: liveSettings.memoryThresholdPercent }),
        }
      : null,
  )
  const reserve = new PageReserve({
    size: config.prewarm_pages,
    pool,
    admission,
    events,
    logger,
    readMemory,
    live: liveSettings,
    openPage: deps.openReservedPage,
  })
  // Before the permanent browser's launch: its 'browser:launched' is what fills its reserve.
  reserve.start()
  const limits = { egress, maxScreenshotHeight: config.max_screenshot_height, maxCaptureBytes: config.max_capture_bytes }
  const markdown = new MarkdownOffload({ logger })
  const sessions = new SessionStore({
    events,
    ttlSeconds: config.session_ttl_seconds,
    maxSessions: config.max_sessions,
    closeContext: deps.closeContext ?? ((context) => context.close()),
  })
  const crawler = new Crawler(
    pool,
    admission,
    limits,
    config.prewarm_pages > 0 ? reserve : null,
    deps.closeContext,
    (html, options, bounds) => markdown.generate(html, options, bounds),
    sessions,
  )
  const janitor = new Janitor(pool, liveSettings, events, logger, readMemory, reserve)
  const startedAt = Date.now()

  // The monitor listens to the engine's events (the engine does not know it is there), so it
  // starts first: the permanent browser's launch belongs in its log.
  const cache = openResultCache(config, logger)
  const monitor = new Monitor({ config, events, pool, admission, janitor, readMemory, logger, startedAt, cache, ...deps.system })
  monitor.start()
  const live = new LiveFeed(monitor)
  live.start()
  const webhookLog = new WebhookLog(events)
  webhookLog.start()
  // Stored with the monitor's history (attached before the persister loads it), so it survives a restart.
  monitor.attachWebhookLog(webhookLog)
  const webhooks = new WebhookSender({
    secret: config.webhook_secret,
    policy: egress?.policy ?? null,
    lookup: deps.egressLookup,
    events,
    baseDelayMs: deps.webhookRetryDelayMs,
  })
  if (!webhooks.signs) logger.info('no webhook_secret: job webhooks are sent without an X-Crawldeck-Signature header (set --webhook-secret to sign them)')
  const metrics = createMetrics({ events, pool, admission, monitor, markdown, cache })
  // Stable across restarts (unlike the fleet id): instances sharing a Redis prefix keep their own history under it.
  const name = instanceName(config)
  const store: MonitorStore = config.redis_url ? new RedisStore(config.redis_url, config.redis_prefix, name) : new FileStore(config.data_dir)
  // The data dir keeps what a shutdown could not write to the store, for the next start to merge.
  // The long history (minute and hour rollups) is written on the persister's cadence, to LMDB or Redis.
  const history = new HistoryKeeper(monitor.rollups, openHistoryStore(config, name), logger)
  const persister = new Persister(monitor, store, config.persist_interval_ms, logger, { fallbackDir: config.data_dir, history })
  await persister.start()

  if (config.launch_permanent) {
    try {
      await pool.start()
    } catch (err) {
      admission.close()
      live.stop()
      monitor.stop()
      metrics.stop()
      await reserve.close()
      await pool.shutdown()
      await markdown.close()
      await persister.stop()
      await cache.close()
      await egress?.close()
      executable.dispose()
      throw err
    }
  }
  janitor.start()

  const { checkJob, crawlJob, ...crawlOps } = createCrawlService({ config, events, crawler, egress, cache })
  const jobCrawler = { checkJob, crawlJob }
  // Jobs run up to the admission limit at once: alone they can fill every page slot, and no more.
  const instanceId = newInstanceId()
  const jobs = openJobQueue(
    config,
    { crawler: jobCrawler, webhooks, logger, ttlSeconds: config.job_ttl_seconds, capacity: () => admission.capacity.limit, instanceId },
    {
      lockMs: deps.jobLockMs ?? config.job_lock_seconds * 1000,
      stalledCheckMs: deps.jobStalledCheckMs ?? config.job_lock_seconds * 1000,
    },
  )
  // Every series of /metrics says which instance it is from, so a fleet's can be told apart and summed.
  // The stable name, so an instance's series go on across its restarts.
  metrics.registry.setDefaultLabels({ instance: name })
  const fleetState = new InstanceState({
    id: instanceId,
    name,
    version: VERSION,
    startedAt,
    ttlSeconds: config.fleet_ttl_seconds,
    events,
    pool,
    admission,
    monitor,
  })
  fleetState.readJobs = () => jobs.counts()
  const fleet = openFleetRegistry({
    redisUrl: config.redis_url,
    prefix: config.redis_prefix,
    ttlSeconds: config.fleet_ttl_seconds,
    id: instanceId,
    state: fleetState,
    logger,
  })
  if (config.fleet_address) fleet.setAddress(config.fleet_address)
  fleet.start()
  const alerts = new AlertEngine({
    events,
    settings: () => settings.current().alerts,
    readMemoryPercent: () => readMemory().percent,
    permanentDown: () => (config.launch_permanent ? !(pool.permanent()?.browser.isConnected() ?? false) : null),
    persistenceOk: () => monitor.persistence.ok,
    fleet: config.redis_url ? fleet : null,
    instance: instanceId,
    poster: webhooks,
    logger,
    dataDir: config.data_dir,
    intervalMs: deps.alertIntervalMs,
  })
  await alerts.start()
  registerAlertMetrics(metrics.registry, alerts)
  const service: ServiceImpl = {
    ...crawlOps,
    ...createJobService({ jobs, crawler: jobCrawler, webhooks, ttlSeconds: config.job_ttl_seconds }),
    ...createCacheService(cache),
    ...createConfigService(),
    ...createMonitorService({ monitor, live, pool, events, registry: metrics.registry, sessions, jobs: () => jobsHealth(jobs) }),
    ...createWebhookService({ log: webhookLog, sender: webhooks }),
    ...createFleetService(fleet),
    ...settings.operations,
    updateSettings: withAlertTargetCheck(settings.operations.updateSettings, webhooks),
    ...createAlertService(alerts),
    health: async () =>
      readHealth({
        config,
        live: liveSettings,
        pool,
        admission,
        readMemory,
        startedAt,
        version: VERSION,
        sandboxWarning: sandbox.warning,
        persistence: monitor.persistence,
        guardPending: settings.guardPending,
      }),
  }

  let closing: Promise<void> | null = null
  logger.info(
    {
      chromium: executable.headless.path,
      chromium_headed: executable.headed?.path ?? null,
      chromium_nice: executable.nice,
      chromium_sandbox: sandbox.sandbox,
      max_pages: config.max_pages,
    },
    'engine started',
  )
  return {
    config,
    events,
    pool,
    janitor,
    reserve,
    admission,
    crawler,
    sessions,
    markdown,
    monitor,
    live,
    persister,
    history,
    cache,
    service,
    settings,
    chromium: { headless: executable.headless, headed: executable.headed, nice: executable.nice },
    egress,
    sandbox,
    webhooks,
    jobs,
    fleet,
    alerts,
    startedAt,
    version: VERSION,
    readMemory,
    close() {
      closing ??= (async () => {
        // First: the fleet view (and whatever balances load by it) stops counting on this instance.
        await fleet.close()
        // Then, while admission and the browsers still serve them: running jobs finish or, at the
        // deadline, go back to the queue.
        await jobs.close(config.job_drain_seconds * 1000).catch((err: unknown) => logger.error({ err }, 'closing the job queue failed'))
        janitor.stop()
        admission.close()
        // Retries waiting for their delay end now: a shutdown does not wait up to 15 s for a receiver.
        webhooks.close()
        await alerts.stop()
        live.stop()
        // Before the pool: reserved contexts, and those of finished crawls still closing in the
        // background, close politely while their browsers are still up (and give back their leases).
        await Promise.all([reserve.close(), crawler.settled(), sessions.closeAll()])
        await pool.shutdown()
        await markdown.close()
        // After the pool: no browser is left to use the proxy.
        await egress?.close()
        executable.dispose()
        // After the pool: the last closes and their events belong in the stored history.
        monitor.stop()
        webhookLog.stop()
        metrics.stop()
        const history = await persister.stop()
        // After the crawls: a result being written when they ended is in the cache or not, never half.
        await cache.close()
        logger.info(
          history.kept === 'store'
            ? 'engine stopped: every browser closed, monitor history flushed'
            : history.kept === 'fallback'
              ? `engine stopped: every browser closed, monitor history kept in ${history.file} (the store could not be written)`
              : `engine stopped: every browser closed, monitor history NOT kept (${history.unsaved_requests} request(s) lost, see the error above)`,
        )
      })()
      return closing
    },
  }
}
