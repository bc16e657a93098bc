import type { Logger } from '../core/logger.js'

/*
 * How a headless entry (serve, the MCP server on stdio) ends: one-line errors on stderr, a
 * shutdown that cannot hang forever, and an exit only once the logs are written.
 */

/** A stop that takes longer than this exits anyway, saying so. */
export const SHUTDOWN_TIMEOUT_MS = 15_000

/** Written synchronously (stderr is a pipe, file or terminal): it must survive process.exit. */
export function failLine(message: string): void {
  process.stderr.write(`crawldeck: ${message}\n`)
}

export function armShutdownTimer(): void {
  setTimeout(() => {
    failLine(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS / 1000} s: exiting anyway (check for leftover Chromium processes)`)
    process.exit(1)
  }, SHUTDOWN_TIMEOUT_MS)
}

/** Exits once the logger has written what it holds (pino writes asynchronously), after `cleanup`. */
export async function exitAfterLogs(logger: Logger, code: number, cleanup?: () => void): Promise<never> {
  await new Promise<void>((resolve) => {
    const guard = setTimeout(resolve, 1_000)
    try {
      logger.flush(() => {
        clearTimeout(guard)
        resolve()
      })
    } catch {
      clearTimeout(guard)
      resolve()
    }
  })
  cleanup?.()
  process.exit(code)
}
