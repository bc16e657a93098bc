import { describeFatal, ensureDataDir, isExpectedFatal, type FatalContext } from './cli/fatal.js'
import { parseOptions, type ParsedOptions } from './cli/options.js'
import { armShutdownTimer, exitAfterLogs, failLine } from './cli/process-end.js'
import { createLogger } from './core/logger.js'
import { createRuntime, type Runtime } from './core/runtime.js'
import { claimTempRun, type TempRun } from './core/system/temp-root.js'
import type { StopOutcome } from './core/store/persister.js'
import { startHttpServer, type HttpServer } from './http/server.js'

/*
 * Headless entry: `npm run serve -- [flags]`. stdout carries exactly one line, the "ready" line
 * with the URL, so scripts can wait for it; everything else (logs, errors) goes to stderr.
 */

// Room for the HTTP drain (up to 5 s), closing the browsers, and the monitor store retried for up
// to 5 s (persister.ts, STOP_RETRY_MS) before its pending history goes to a file in the data dir.

let options: ParsedOptions
try {
  options = parseOptions(process.argv.slice(2), process.env)
} catch (err) {
  failLine(describeFatal(err, { host: '127.0.0.1', port: 0 }))
  process.exit(1)
}
if (options.kind !== 'run') {
  process.stdout.write(options.text)
  process.exit(0)
}

const { config, configFile, exposedSecrets } = options
const ctx: FatalContext = { host: config.host, port: config.port }
const debug = config.log_level === 'debug' || config.log_level === 'trace'
const logger = createLogger({ level: config.log_level })

let runtime: Runtime | null = null
let server: HttpServer | null = null
let stopping = false
/** This process's temp folder (browser profiles and the like), removed at exit. */
let tempRun: TempRun | null = null

process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
process.on('uncaughtException', (err) => void fail(err))
process.on('unhandledRejection', (err) => void fail(err))

const startup = start()
startup.catch((err: unknown) => {
  // A failure caused by a shutdown already under way is that shutdown's business.
  if (!stopping) void fail(err)
})

async function start(): Promise<void> {
  logger.debug({ config, config_file: configFile }, 'starting')
  tempRun = claimTempRun()
  if (tempRun.swept.length > 0)
    logger.warn(
      { removed: tempRun.swept },
      `removed ${tempRun.swept.length} temp folder(s) left by crawldeck processes that ended without cleaning up (killed?)`,
    )
  if (exposedSecrets.length > 0) {
    logger.warn(
      { flags: exposedSecrets },
      `${exposedSecrets.join(', ')} put a secret on the command line, where any user of this machine can read it (ps, /proc): pass tokens in CRAWLDECK_ADMIN_TOKEN / CRAWLDECK_CRAWL_TOKEN / CRAWLDECK_READ_TOKEN, the Redis URL in CRAWLDECK_REDIS_URL and the webhook secret in CRAWLDECK_WEBHOOK_SECRET, or in a --config file readable only by you`,
    )
  }
  await ensureDataDir(config.data_dir)
  runtime = await createRuntime(config, { logger })
  if (stopping) return
  // runtime.config, not the parsed options: a bind address or port saved in Settings wins.
  ctx.host = runtime.config.host
  ctx.port = runtime.config.port
  server = await startHttpServer(runtime, { host: runtime.config.host, port: runtime.config.port, logger })
  if (stopping) return
  const url = server.url.replace(/\/+$/, '')
  process.stdout.write(`crawldeck ready on ${url}\n`)
  logger.info({ url, data_dir: config.data_dir }, 'ready')
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    // The operator insists: leave now. Playwright's exit hook still kills the browsers it launched.
    failLine(`second ${signal}: exiting without waiting for the shutdown to finish`)
    process.exit(1)
  }
  stopping = true
  logger.info({ signal }, 'shutting down: closing the HTTP server and every browser')
  armShutdownTimer()
  void (async () => {
    try {
      // A signal during start-up waits for it to settle, so a browser being launched is closed too.
      await startup.catch(() => undefined)
      const history = await closeAll()
      if (history?.kept === 'lost') {
        // The persister's error line says why; a supervisor or script must see it too.
        failLine(`monitor history not kept: ${history.unsaved_requests} request(s) counted since the last write to the store are lost`)
        await exit(1)
      }
      logger.info('stopped')
      await exit(0)
    } catch (err) {
      failLine(`shutdown failed: ${describeFatal(err, ctx)}`)
      await exit(1)
    }
  })()
}

/** Start-up or runtime failure: one line on stderr, close what was started, exit 1. */
async function fail(err: unknown): Promise<void> {
  if (stopping) {
    logger.error({ err }, 'error during shutdown')
    return
  }
  stopping = true
  failLine(describeFatal(err, ctx))
  if (debug && !isExpectedFatal(err) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
  logger.debug({ err }, 'fatal error')
  armShutdownTimer()
  try {
    await closeAll()
  } catch (closeErr) {
    logger.debug({ err: closeErr }, 'cleanup after the fatal error failed')
  }
  await exit(1)
}

/** Closes everything; says how the monitor history was kept (null when no runtime was up). */
async function closeAll(): Promise<StopOutcome | null> {
  // Close the door first so no new crawl arrives while the browsers go away.
  const s = server
  const r = runtime
  server = null
  runtime = null
  try {
    await s?.close()
  } finally {
    await r?.close()
  }
  return r?.persister.lastStop ?? null
}

/** Exit once the logs are written; browsers are closed by now (or the shutdown gave up on them). */
async function exit(code: number): Promise<never> {
  return exitAfterLogs(logger, code, () => tempRun?.remove())
}
