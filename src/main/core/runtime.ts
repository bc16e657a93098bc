import type { ServiceImpl } from '../../shared/contract.js'
import { Admission } from './admission.js'
import { locateChromium } from './chromium/locate.js'
import { resolveConfig, type Config, type ConfigInput } from './config.js'
import { Crawler } from './crawl/crawler.js'
import { EngineEventBus } from './events.js'
import type { Logger } from './logger.js'
import { Janitor } from './pool/janitor.js'
import { BrowserPool } from './pool/pool.js'
import { createCrawlService } from './service/crawl-service.js'
import { readHealth } from './service/health-service.js'
import { readMemoryUsage, type MemoryReading } from './system/memory.js'
import { VERSION } from './version.js'

/**
 * The whole engine, in plain Node: pool, janitor, admission, crawler and the service the doors
 * call. Both the headless entry and the Electron main process create exactly one.
 */
export interface Runtime {
  readonly config: Config
  readonly events: EngineEventBus
  readonly pool: BrowserPool
  readonly janitor: Janitor
  readonly admission: Admission
  readonly service: ServiceImpl
  readonly chromiumPath: string
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
}

export async function createRuntime(configInput: Config | ConfigInput, deps: RuntimeDeps): Promise<Runtime> {
  const config = resolveConfig(configInput)
  const { logger } = deps
  const chromiumPath = locateChromium({ explicit: config.chromium })
  const readMemory = deps.readMemory ?? (() => readMemoryUsage())
  const events = new EngineEventBus()
  events.onListenerError(({ event, error }) => logger.error({ event, err: error }, 'engine event listener failed'))
  const pool = new BrowserPool({ config, chromiumPath, events, logger, readMemory })
  const admission = new Admission(config.max_pages, config.queue_size, events)
  const crawler = new Crawler(pool, admission)
  const janitor = new Janitor(pool, config, events, logger, readMemory)
  const startedAt = Date.now()

  if (config.launch_permanent) {
    try {
      await pool.start()
    } catch (err) {
      await pool.shutdown()
      throw err
    }
  }
  janitor.start()

  const service: ServiceImpl = {
    ...createCrawlService({ config, events, crawler }),
    health: async () => readHealth({ config, pool, admission, readMemory, startedAt, version: VERSION }),
  }

  let closing: Promise<void> | null = null
  logger.info({ chromium: chromiumPath, max_pages: config.max_pages }, 'engine started')
  return {
    config,
    events,
    pool,
    janitor,
    admission,
    service,
    chromiumPath,
    startedAt,
    version: VERSION,
    readMemory,
    close() {
      closing ??= (async () => {
        janitor.stop()
        admission.close()
        await pool.shutdown()
        logger.info('engine stopped: every browser closed')
      })()
      return closing
    },
  }
}
