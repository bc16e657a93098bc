import { bodyParser } from '@koa/bodyparser'
import type { Middleware } from 'koa'
import { CrawldeckError } from '../core/errors.js'

/**
 * JSON bodies only, size-limited. A form or text body is refused outright rather than parsed
 * into something the schemas might half-accept.
 */
export function jsonBody(limitBytes: number): Middleware {
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonLimit: limitBytes,
    jsonStrict: true,
    onError: (err) => {
      const e = err as Error & { status?: number; type?: string }
      if (e.status === 413 || e.type === 'entity.too.large') {
        throw new CrawldeckError(413, 'body_too_large', `request body is larger than the ${limitBytes}-byte limit`)
      }
      throw new CrawldeckError(400, 'invalid_json', `request body is not valid JSON: ${e.message}`)
    },
  })
  return async (ctx, next) => {
    if (ctx.method === 'POST' || ctx.method === 'PUT' || ctx.method === 'PATCH') {
      const length = Number(ctx.get('content-length') || 0)
      if (length > limitBytes) {
        throw new CrawldeckError(413, 'body_too_large', `request body is larger than the ${limitBytes}-byte limit`)
      }
      const hasBody = Boolean(ctx.request.length) || ctx.get('transfer-encoding') !== ''
      if (hasBody && !ctx.is('application/json')) {
        throw new CrawldeckError(
          415,
          'unsupported_media_type',
          `send the body as JSON with Content-Type: application/json (got ${ctx.get('content-type') || 'no content type'})`,
        )
      }
    }
    return parse(ctx, next)
  }
}
