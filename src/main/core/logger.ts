import pino, { type Logger } from 'pino'
import pinoPretty from 'pino-pretty'
import type { LogFile } from './log-file.js'
import { censor, LOG_REDACT_PATHS } from './redact.js'

export type { Logger }

/**
 * Structured JSON logs on stderr (stdout carries only the "ready" line), readable colour
 * output when stderr is a terminal. `pretty` forces either form. With `file` (the desktop app)
 * every line also goes, as JSON, to that rotating log file.
 */
export function createLogger(opts: { level?: string; pretty?: boolean; file?: LogFile } = {}): Logger {
  const level = opts.level ?? 'info'
  const pretty = opts.pretty ?? Boolean(process.stderr.isTTY)
  // Every log path, at every level: debug logs are the ones pasted into bug reports.
  const redact = { paths: [...LOG_REDACT_PATHS], censor }
  if (opts.file) {
    // Both streams in this thread: a worker-thread transport could not be loaded from the bundle.
    const stderr = pretty
      ? pinoPretty({ destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ fd: 2, sync: false })
    const streams = pino.multistream([
      { level: level as pino.Level, stream: stderr },
      { level: level as pino.Level, stream: opts.file.stream },
    ])
    return pino({ level, redact, base: { service: 'crawldeck' } }, streams)
  }
  if (pretty) {
    return pino({
      level,
      redact,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    })
  }
  return pino({ level, redact, base: { service: 'crawldeck' } }, pino.destination({ fd: 2, sync: false }))
}

/** A logger that drops everything, for tests and embedders that bring their own. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
