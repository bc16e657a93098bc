/*
 * A failure as either door reports it: engine errors as they are, anything else as a 500 whose
 * stack stays in the log.
 */
import { randomUUID } from 'node:crypto'
import { capText, CrawldeckError, MAX_ERROR_CHARS } from './errors.js'
import type { Logger } from './logger.js'

/**
 * How a failure is reported, whichever door it leaves by: the status the HTTP door answers (and
 * the IPC door repeats), a stable code and a message. Shared so that the same failure reads the
 * same through HTTP and IPC.
 */
export interface ErrorOutcome {
  status: number
  code: string
  message: string
  details?: unknown
  headers: Record<string, string>
  /** Set on 500s: the stack is logged under this id, never sent. */
  correlationId?: string
}

/**
 * Engine errors say what was wrong; anything else is a bug: a 500 with a correlation id, the
 * stack only in the log. `where` says which call failed, for that log line.
 */
export function describeError(err: unknown, logger: Logger, where: Record<string, unknown>): ErrorOutcome {
  if (err instanceof CrawldeckError) {
    const outcome: ErrorOutcome = { status: err.status, code: err.code, message: err.message, headers: err.headers }
    if (err.details !== undefined) outcome.details = err.details
    return outcome
  }
  const correlationId = randomUUID()
  logger.error({ err: bounded(err), correlation_id: correlationId, ...where }, 'unhandled error')
  return { status: 500, code: 'internal', message: `internal error; quote ${correlationId} when reporting it`, headers: {}, correlationId }
}

/**
 * The error as the log gets it: message and stack capped (capText), since a bug's message can
 * quote what a page wrote. Engine errors are capped when made (CrawldeckError).
 */
function bounded(err: unknown): unknown {
  if (typeof err === 'string') return capText(err)
  if (!(err instanceof Error)) return err
  if (err.message.length <= MAX_ERROR_CHARS && (err.stack === undefined || err.stack.length <= MAX_ERROR_CHARS)) return err
  const copy = new Error(capText(err.message))
  copy.name = err.name
  copy.stack = err.stack === undefined ? undefined : capText(err.stack)
  return copy
}
