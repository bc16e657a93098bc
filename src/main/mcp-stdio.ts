import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { describeFatal, ensureDataDir, type FatalContext } from './cli/fatal.js'
import { parseOptions, type ParsedOptions } from './cli/options.js'
import { armShutdownTimer, exitAfterLogs, failLine } from './cli/process-end.js'
import { createLogger } from './core/logger.js'
import { createRuntime, type Runtime } from './core/runtime.js'
import { claimTempRun, type TempRun } from './core/system/temp-root.js'
import { createMcpServer } from './mcp/server.js'

/*
 * MCP over stdio: `npm run -s mcp -- [flags]` (the same flags as `npm run serve`). The engine
 * runs in this process without the HTTP door, for an MCP client that spawns it (Claude Desktop,
 * an IDE agent). stdout carries MCP messages and nothing else (no ready line; logs go to stderr).
 * The client is the machine's own user, as the desktop window is: no tokens, every tool. The
 * process ends when the client closes stdin (or on SIGINT/SIGTERM), closing every browser.
 */

// As serve.ts: closing the browsers, and the monitor store retried for up to 5 s.

let options: ParsedOptions
try {
  options = parseOptions(process.argv.slice(2), process.env)
} catch (err) {
  failLine(describeFatal(err, { host: '127.0.0.1', port: 0 }))
  process.exit(1)
}
if (options.kind !== 'run') {
  // --help or --version, asked for on purpose: no MCP client is listening.
  process.stdout.write(options.text)
  process.exit(0)
}

const { config } = options
const ctx: FatalContext = { host: config.host, port: config.port }
const logger = createLogger({ level: config.log_level })

let runtime: Runtime | null = null
let tempRun: TempRun | null = null
let stopping = false

process.on('SIGINT', () => stop('SIGINT'))
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('uncaughtException', (err) => fail(err))
process.on('unhandledRejection', (err) => fail(err))
// The client closing our stdin is how an MCP stdio session ends.
process.stdin.once('end', () => stop('stdin closed'))
process.stdin.once('close', () => stop('stdin closed'))
// A client gone before our answer: writing to stdout fails with EPIPE.
process.stdout.on('error', (err) => {
  logger.warn({ err }, 'stdout closed')
  stop('stdout closed')
})

const startup = start()
startup.catch((err: unknown) => fail(err))

async function start(): Promise<void> {
  tempRun = claimTempRun()
  await ensureDataDir(config.data_dir)
  runtime = await createRuntime(config, { logger })
  if (stopping) return
  const server = createMcpServer({ service: runtime.service, logger, scope: 'admin', transport: 'stdio', allowJs: runtime.config.allow_js_code })
  await server.connect(new StdioServerTransport())
  logger.info({ data_dir: config.data_dir }, 'MCP server ready on stdio')
}

function stop(why: string): void {
  // The SDK's client ends stdin, then sends SIGTERM if we are still closing: one shutdown serves both.
  if (stopping) return
  stopping = true
  logger.info({ why }, 'shutting down: closing every browser')
  armShutdownTimer()
  void (async () => {
    try {
      await startup.catch(() => undefined)
      await runtime?.close()
      runtime = null
      logger.info('stopped')
      await exit(0)
    } catch (err) {
      failLine(`shutdown failed: ${describeFatal(err, ctx)}`)
      await exit(1)
    }
  })()
}

function fail(err: unknown): void {
  if (stopping) {
    logger.error({ err }, 'error during shutdown')
    return
  }
  failLine(describeFatal(err, ctx))
  stopping = true
  armShutdownTimer()
  void (async () => {
    try {
      await runtime?.close()
    } catch (closeErr) {
      logger.debug({ err: closeErr }, 'cleanup after the fatal error failed')
    }
    await exit(1)
  })()
}

/** Exit once the logs are written; browsers are closed by now (or the shutdown gave up on them). */
async function exit(code: number): Promise<never> {
  return exitAfterLogs(logger, code, () => tempRun?.remove())
}
