import type { Logger } from '../core/logger.js'

/** The part of Electron's `app` the quit sequence uses (the real one in production, a fake in tests). */
export interface QuittableApp {
  on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): unknown
  exit(code?: number): void
}

export interface QuitDeps {
  app: QuittableApp
  /** Close the Koa server (if one is running): first, so no new crawl arrives while browsers go. */
  stopHttp: () => Promise<void>
  /** runtime.close(): closes every browser and flushes the monitor history. */
  closeRuntime: () => Promise<void>
  /** Also closes the IPC door, tray, timers; runs first and must not throw. */
  beforeShutdown?: () => void
  /** Runs last, just before the exit (the log file is flushed and closed here). */
  afterShutdown?: () => Promise<void>
  logger: Logger
  /** A shutdown still running after this long exits anyway (default 15 s, as `npm run serve`). */
  timeoutMs?: number
}

/**
 * Quitting (menu, tray, Cmd+Q, the last window closing) runs one shutdown: HTTP server, then the
 * engine, then exit. Electron would otherwise exit at once and leave the browsers behind, so
 * every before-quit is held; a second Quit while closing waits for the one under way.
 * Returns the shutdown promise once started, for tests.
 */
export function installQuitHandler(deps: QuitDeps): { shutdown(exitCode?: number): Promise<void> } {
  let running: Promise<void> | null = null
  /** `exitCode` 1 when quitting because start-up failed; a failing step also makes it 1. */
  const shutdown = (exitCode = 0): Promise<void> => {
    running ??= (async () => {
      const guard = setTimeout(() => {
        deps.logger.error({ timeout_ms: deps.timeoutMs ?? 15_000 }, 'shutdown took too long: exiting anyway (check for leftover Chromium processes)')
        deps.app.exit(1)
      }, deps.timeoutMs ?? 15_000)
      guard.unref()
      let code = exitCode
      try {
        deps.beforeShutdown?.()
      } catch (err) {
        code = 1
        deps.logger.error({ err }, 'closing the desktop shell failed')
      }
      try {
        await deps.stopHttp()
      } catch (err) {
        code = 1
        deps.logger.error({ err }, 'stopping the HTTP server failed')
      }
      try {
        await deps.closeRuntime()
      } catch (err) {
        code = 1
        deps.logger.error({ err }, 'closing the engine failed')
      }
      try {
        await deps.afterShutdown?.()
      } catch (err) {
        deps.logger.error({ err }, 'the last step of the shutdown failed')
      }
      clearTimeout(guard)
      deps.app.exit(code)
    })()
    return running
  }
  deps.app.on('before-quit', (event) => {
    event.preventDefault()
    void shutdown()
  })
  return { shutdown }
}
