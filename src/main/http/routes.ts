import { Readable } from 'node:stream'
import Router from '@koa/router'
import type { Context } from 'koa'
import { contract, type CallContext, type Operation, type OperationName, type ServiceImpl } from '../../shared/contract.js'
import { describeIssues, summariseIssues } from '../../shared/validation.js'
import { ValidationError } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { toResponse } from './errors.js'
import { sendSse } from './sse.js'

/**
 * The Koa door, generated from the contract: one route per operation, input validated with
 * the operation's own schema, output written as JSON, NDJSON, SSE or text.
 */
export function contractRouter(service: ServiceImpl, logger: Logger): Router {
  const router = new Router()
  for (const name of Object.keys(contract) as OperationName[]) {
    const op = contract[name] as Operation
    const handler = async (ctx: Context) => {
      const raw = op.method === 'GET' ? { ...ctx.query } : (ctx.request as { body?: unknown }).body
      const parsed = op.input.safeParse(raw ?? {})
      if (!parsed.success) {
        const issues = describeIssues(parsed.error)
        throw new ValidationError(summariseIssues(issues), issues)
      }
      const call = callContext(ctx)
      const impl = service[name] as (input: unknown, ctx: CallContext) => Promise<unknown>
      const output = await impl(parsed.data, call)
      if (op.response === 'ndjson') {
        ctx.type = 'application/x-ndjson'
        ctx.set('Cache-Control', 'no-store')
        ctx.body = ndjson(output as AsyncIterable<unknown>, logger, ctx)
      } else if (op.response === 'live') {
        sendSse(ctx, output as Parameters<typeof sendSse>[1])
      } else if (op.response === 'text') {
        const text = output as { contentType: string; body: string }
        ctx.type = text.contentType
        ctx.body = text.body
      } else {
        if (name === 'health') ctx.status = (output as { status: string }).status === 'error' ? 503 : 200
        ctx.body = output
      }
    }
    if (op.method === 'GET') router.get(op.path, handler)
    else router.post(op.path, handler)
  }
  return router
}

/** Abort the engine's work when the client goes away before the response is complete. */
function callContext(ctx: Context): CallContext {
  const controller = new AbortController()
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort()
  })
  return { signal: controller.signal, transport: 'http' }
}

/** One JSON value per line; an error after the first line becomes a final error line. */
function ndjson(source: AsyncIterable<unknown>, logger: Logger, ctx: Context): Readable {
  return Readable.from(
    (async function* () {
      try {
        for await (const item of source) yield `${JSON.stringify(item)}\n`
      } catch (err) {
        const { body } = toResponse(err, logger, ctx.method, ctx.path)
        yield `${JSON.stringify({ status: 'error', ...body })}\n`
      }
    })(),
  )
}
