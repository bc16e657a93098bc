import pino, { type Logger } from 'pino'
import { censor, LOG_REDACT_PATHS } from './redact.js'

export type { Logger }

/**
 * Structured JSON logs on stderr (stdout carries only the "ready" line), readable colour
 * output when stderr is a terminal. `pretty` forces either form.
 */
export function createLogger(opts: { level?: string; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? 'info'
  const pretty = opts.pretty ?? Boolean(process.stderr.isTTY)
  // Every log path, at every level: debug logs are the ones pasted into bug reports.
  const redact = { paths: [...LOG_REDACT_PATHS], censor }
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
