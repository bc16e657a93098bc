import type { ServiceImpl } from '../../shared/contract.js'
import { Admission } from './admission.js'
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
import type { Logger } from './logger.js'
import { Janitor } from './pool/janitor.js'
import { PageReserve, type PageReserveDeps } from './pool/page-reserve.js'
import { BrowserPool } from './pool/pool.js'
import { LiveFeed } from './monitor/live.js'
import { createMetrics } from './monitor/metrics.js'
import { Monitor } from './monitor/monitor.js'
import { openResultCache } from './cache/open-cache.js'
import type { ResultCache } from './cache/result-cache.js'
import { createCacheService } from './service/cache-service.js'
import { createConfigService } from './service/config-service.js'
import { createCrawlService } from './service/crawl-service.js'
import { readHealth } from './service/health-service.js'
import { createMonitorService } from './service/monitor-service.js'
import { createSettingsService, type SettingsService } from './service/settings-service.js'
import { SettingsStore } from './settings/store.js'
import { FileStore } from './store/file-store.js'
import { Persister } from './store/persister.js'
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
}

export async function createRuntime(configInput: Config | ConfigInput, deps: RuntimeDeps): Promise<Runtime> {
  const given = resolveConfig(configInput)
  const { logger } = deps
  // First: what the user saved in Settings overrides the config everything below is built from.
  // From here on the config is fixed; what Settings change while running is read from liveSettings.
  const settings = await createSettingsService({ config: given, store: new SettingsStore(deps.settingsDir ?? given.data_dir), logger })
  const { config, live: liveSettings } = settings
  const binaries = deps.chromiumBinaries ?? locateChromiumBinaries({ explicit: config.chromium })
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
  const admission = new Admission(config.max_pages, config.queue_size, events)
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
  const monitor = new Monitor({ config, events, pool, admission, janitor, readMemory, logger, startedAt, cache })
  monitor.start()
  const live = new LiveFeed(monitor)
  live.start()
  const metrics = createMetrics({ events, pool, admission, monitor, markdown })
  const store: MonitorStore = config.redis_url ? new RedisStore(config.redis_url, config.redis_prefix) : new FileStore(config.data_dir)
  // The data dir keeps what a shutdown could not write to the store, for the next start to merge.
  const persister = new Persister(monitor, store, config.persist_interval_ms, logger, { fallbackDir: config.data_dir })
  await persister.start()

  if (config.launch_permanent) {
    try {
      await pool.start()
    } catch (err) {
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

  const service: ServiceImpl = {
    ...createCrawlService({ config, events, crawler, egress, cache }),
    ...createCacheService(cache),
    ...createConfigService(),
    ...createMonitorService({ monitor, live, pool, events, registry: metrics.registry, sessions }),
    ...settings.operations,
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
    cache,
    service,
    settings,
    chromium: { headless: executable.headless, headed: executable.headed, nice: executable.nice },
    egress,
    sandbox,
    startedAt,
    version: VERSION,
    readMemory,
    close() {
      closing ??= (async () => {
        janitor.stop()
        admission.close()
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
