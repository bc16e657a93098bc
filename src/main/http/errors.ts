import type { Middleware } from 'koa'
import type { ErrorBody } from '../../shared/api-types.js'
import { describeError } from '../core/error-body.js'
import { CrawldeckError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'

/**
 * Every failure leaves as JSON `{error, code, details?}` with the right status. Engine errors
 * say what was wrong; anything else is a bug: a 500 with a correlation id, the stack only in
 * the log, never on the wire.
 */
export function errorHandler(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      const { status, body, headers } = toResponse(err, logger, ctx.method, ctx.path)
      // Headers may already be out (a stream that failed half-way): nothing sane can be sent.
      if (ctx.headerSent) return
      ctx.status = status
      ctx.set(headers)
      ctx.body = body
    }
  }
}

export function toResponse(err: unknown, logger: Logger, method: string, path: string): { status: number; body: ErrorBody; headers: Record<string, string> } {
  // Errors raised by Koa's own helpers (ctx.throw, body parsing) carry an expose flag and a 4xx status.
  const httpish = err as { status?: number; expose?: boolean; message?: string }
  if (!(err instanceof CrawldeckError) && typeof httpish?.status === 'number' && httpish.status >= 400 && httpish.status < 500 && httpish.expose) {
    return { status: httpish.status, body: { error: httpish.message ?? 'bad request', code: 'bad_request' }, headers: {} }
  }
  const outcome = describeError(err, logger, { method, path })
  const body: ErrorBody = { error: outcome.message, code: outcome.code }
  if (outcome.details !== undefined) body.details = outcome.details
  if (outcome.correlationId !== undefined) body.correlation_id = outcome.correlationId
  return { status: outcome.status, body, headers: outcome.headers }
}
