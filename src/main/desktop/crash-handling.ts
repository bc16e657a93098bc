import type { App, BrowserWindow, Dialog, RenderProcessGoneDetails } from 'electron'
import type { Logger } from '../core/logger.js'

/*
 * Nothing on the desktop path dies silently. A gone renderer (the window's page) is logged,
 * reported and reloaded, a bounded number of times; a gone helper process (GPU, network
 * service) is logged; an error nothing caught in the main process is logged to the log file and
 * shown, and an uncaught exception quits through the orderly shutdown, so the browsers are
 * closed and the monitor's history is written.
 */

export interface Report {
  title: string
  body: string
}

export interface RendererWatchDeps {
  logger: Logger
  /** A native notification. */
  report: (r: Report) => void
  dialog: Pick<Dialog, 'showMessageBox'>
  /** The user chose Quit in the "keeps crashing" dialog. */
  quit: () => void
  /** Reloads allowed within `windowMs` before the dialog replaces them (default 3 per minute). */
  maxReloads?: number
  windowMs?: number
  now?: () => number
}

export const RELOAD_LIMIT = { maxReloads: 3, windowMs: 60_000 } as const

/**
 * Reloads the window's page when its renderer process is gone (crashed, killed, out of memory),
 * at most `maxReloads` times a minute: a page that crashes on load would otherwise be reloaded
 * forever. Past that a dialog offers to try again, close the window or quit. The engine and the
 * HTTP door are in the main process and keep running throughout.
 */
export function watchRenderer(win: BrowserWindow, deps: RendererWatchDeps): void {
  const now = deps.now ?? Date.now
  const maxReloads = deps.maxReloads ?? RELOAD_LIMIT.maxReloads
  const windowMs = deps.windowMs ?? RELOAD_LIMIT.windowMs
  let reloads: number[] = []
  let asking = false
  win.webContents.on('render-process-gone', (_event, details: RenderProcessGoneDetails) => {
    const info = { reason: details.reason, exit_code: details.exitCode }
    // The window closing takes its renderer with it: nothing went wrong.
    if (win.isDestroyed() || details.reason === 'clean-exit') {
      deps.logger.info(info, 'the window renderer exited')
      return
    }
    deps.logger.error(info, 'the window renderer is gone')
    if (asking) return
    const t = now()
    reloads = reloads.filter((at) => t - at < windowMs)
    if (reloads.length >= maxReloads) {
      deps.logger.error({ ...info, reloads: reloads.length, window_ms: windowMs }, 'the window keeps crashing: no more reloads without asking')
      asking = true
      void askAfterRepeatedCrashes(win, deps, details.reason, reloads.length).then((choice) => {
        asking = false
        if (choice === 'retry') {
          reloads = []
          if (!win.isDestroyed()) win.webContents.reload()
        } else if (choice === 'close') {
          if (!win.isDestroyed()) win.destroy()
        } else if (choice === 'quit') {
          deps.quit()
        }
      })
      return
    }
    reloads.push(t)
    deps.report({ title: 'The crawldeck window crashed', body: `Reason: ${details.reason}. It was reloaded; crawls and the REST API were not interrupted.` })
    win.webContents.reload()
  })
}

async function askAfterRepeatedCrashes(win: BrowserWindow, deps: RendererWatchDeps, reason: string, count: number): Promise<'retry' | 'close' | 'quit' | null> {
  const choices = ['retry', 'close', 'quit'] as const
  try {
    const { response } = await deps.dialog.showMessageBox(win, {
      type: 'error',
      title: 'crawldeck',
      message: 'The crawldeck window keeps crashing',
      detail:
        `Its page crashed ${count + 1} times within a minute (last reason: ${reason}), so it is not reloaded again on its own. ` +
        'The engine, the REST API and /dashboard keep running. The log file (menu: Open Log Folder) says more.',
      buttons: ['Reload', 'Close window', 'Quit crawldeck'],
      defaultId: 0,
      cancelId: 1,
      noLink: true,
    })
    return choices[response] ?? null
  } catch (err) {
    deps.logger.error({ err }, 'could not show the crash dialog')
    return null
  }
}

/** Helper processes (GPU, network, utility) that ended: logged, Chromium restarts what it needs. */
export function watchChildProcesses(app: Pick<App, 'on'>, logger: Logger): void {
  app.on('child-process-gone', (_event, details) => {
    const info = { type: details.type, reason: details.reason, exit_code: details.exitCode, service_name: details.serviceName, name: details.name }
    if (details.reason === 'clean-exit') logger.info(info, 'a helper process exited')
    else logger.error(info, 'a helper process is gone')
  })
}

/** The part of `process` the handlers use (the real one in the app, an emitter in tests). */
export interface ErrorSource {
  on(event: 'uncaughtException', listener: (err: Error, origin: string) => void): unknown
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown
  off(event: 'uncaughtException', listener: (err: Error, origin: string) => void): unknown
  off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown
}

export interface MainErrorDeps {
  source: ErrorSource
  logger: Logger
  dialog: Pick<Dialog, 'showErrorBox' | 'showMessageBox'>
  /** The orderly shutdown (installQuitHandler's), with the exit code. */
  shutdown: (exitCode: number) => Promise<void>
  /** Named in the messages, so a user knows where the details are. */
  logFile?: string | undefined
  /** At most one dialog per this long for errors that do not quit (default 1 minute). */
  dialogIntervalMs?: number
  now?: () => number
}

/**
 * An uncaught exception leaves the main process in a state nobody planned for: it is logged,
 * shown (a blocking error box, before the shutdown starts so its timeout does not run out behind
 * the box) and the app quits through the orderly shutdown with exit code 1. An unhandled
 * rejection is a promise nobody awaited that failed: no synchronous work was cut half-way, so it
 * is logged and shown (a non-blocking dialog, rate-limited; a blocking box would stall the
 * engine and the REST API) and the app keeps running. Returns the function that removes both.
 */
export function handleMainErrors(deps: MainErrorDeps): () => void {
  const now = deps.now ?? Date.now
  const interval = deps.dialogIntervalMs ?? 60_000
  const where = deps.logFile ? `\n\nThe details are in the log file: ${deps.logFile}` : ''
  let fatal = false
  let lastDialog = -Infinity
  const onException = (err: Error, origin: string) => {
    try {
      if (fatal) {
        deps.logger.error({ err, origin }, 'uncaught exception while quitting')
        return
      }
      fatal = true
      deps.logger.fatal({ err, origin }, 'uncaught exception in the main process: crawldeck quits')
      deps.dialog.showErrorBox('crawldeck hit an unexpected error and quits', `${messageOf(err)}${where}`)
    } catch {
      // Logging or the dialog failed: the shutdown below still runs.
    }
    void deps.shutdown(1)
  }
  const onRejection = (reason: unknown) => {
    try {
      deps.logger.error({ err: reason }, 'unhandled promise rejection in the main process')
      const t = now()
      if (fatal || t - lastDialog < interval) return
      lastDialog = t
      deps.dialog
        .showMessageBox({
          type: 'error',
          title: 'crawldeck',
          message: 'crawldeck hit an unexpected error',
          detail: `${messageOf(reason)}\n\ncrawldeck keeps running.${where}`,
          buttons: ['OK'],
          noLink: true,
        })
        .catch((err: unknown) => deps.logger.warn({ err }, 'could not show the error dialog'))
    } catch {
      // Never let the handler itself become the next uncaught error.
    }
  }
  deps.source.on('uncaughtException', onException)
  deps.source.on('unhandledRejection', onRejection)
  return () => {
    deps.source.off('uncaughtException', onException)
    deps.source.off('unhandledRejection', onRejection)
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name
  return String(err)
}
