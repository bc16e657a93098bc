import { join } from 'node:path'
import type { App } from 'electron'
import { openLogFile, type LogFile } from '../core/log-file.js'
import { createLogger, type Logger } from '../core/logger.js'

/**
 * The desktop app's logger: stderr (a terminal launch) and a rotating file in the platform's log
 * folder (a launch from a menu, dock or login, whose stderr nobody sees): ~/Library/Logs/crawldeck
 * on macOS, the user-data folder's logs/ on Windows and Linux.
 */
export function createDesktopLogger(app: Pick<App, 'getPath'>, level: string): { logger: Logger; logFile: LogFile } {
  const logFile = openLogFile({ dir: logsDir(app) })
  return { logger: createLogger({ level, file: logFile }), logFile }
}

export function logsDir(app: Pick<App, 'getPath'>): string {
  try {
    return app.getPath('logs')
  } catch {
    // Older Electron versions know 'logs' only after app.setAppLogsPath(); its default is this.
    return join(app.getPath('userData'), 'logs')
  }
}
