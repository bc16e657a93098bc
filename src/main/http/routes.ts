import { Readable } from 'node:stream'
import Router from '@koa/router'
import type { Context } from 'koa'
import { contract, type CallContext, type Operation, type OperationName, type ServiceImpl } from '../../shared/contract.js'
import { describeIssues } from '../../shared/validation.js'
import { describeError } from '../core/error-body.js'
import { invalidInput } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { requireScope, type Authenticator } from './auth.js'
import { jsonBody } from './body.js'
import { toResponse } from './errors.js'
import { framedJsonChunks, holdsLargeString, jsonChunks } from './json-chunks.js'
import { sendSse } from './sse.js'

/**
 * The Koa door, generated from the contract: one route per operation, input validated with
 * the operation's own schema, output written as JSON (a batch a result at a time), NDJSON, SSE
 * or text.
 */
export interface ContractRouterOptions {
  /** Checks each route's declared scope before anything else of the route runs. */
  auth: Authenticator
  /** Largest JSON body a POST route reads, once its scope is checked. */
  bodyLimitBytes: number
  /** Aborted when the door closes: live streams end then instead of holding the close open. */
  closing?: AbortSignal
}

export function contractRouter(service: ServiceImpl, logger: Logger, opts: ContractRouterOptions): Router {
  const { closing } = opts
  // One spelling per route: '/Settings', '/md/' or '//md' match nothing and answer 404, so the
  // scope checked is always that of the route the handler belongs to.
  const router = new Router({ sensitive: true, strict: true })
  const body = jsonBody(opts.bodyLimitBytes)
  for (const name of Object.keys(contract) as OperationName[]) {
    const op = contract[name] as Operation
    const handler = async (ctx: Context) => {
      const raw = op.method === 'GET' ? { ...ctx.query } : (ctx.request as { body?: unknown }).body
      const parsed = op.input.safeParse(raw ?? {})
      if (!parsed.success) throw invalidInput(describeIssues(parsed.error))
      const call = callContext(ctx)
      // An input that asks for another operation's answer (/crawl with crawler_config.stream) is served by it.
      const served = (op.streamsWhen?.(parsed.data) ?? name) as OperationName
      const impl = service[served] as (input: unknown, ctx: CallContext) => Promise<unknown>
      const output = await impl(parsed.data, call)
      const response = (contract[served] as Operation).response
      if (response === 'batch') {
        // The status waits for the first result: a batch that fails before it (aborted, or a
        // one-URL batch, the usual case) still gets a proper error answer.
        const batch = output as AsyncIterable<{ success: boolean }> & { envelope?(): Record<string, unknown> }
        const results = batch[Symbol.asyncIterator]()
        const first = await results.next()
        ctx.type = 'application/json'
        ctx.body = jsonBatch(first, results, () => batch.envelope?.() ?? {}, logger, ctx)
      } else if (response === 'ndjson') {
        ctx.type = 'application/x-ndjson'
        ctx.set('Cache-Control', 'no-store')
        ctx.body = ndjson(output as AsyncIterable<unknown>, logger, ctx)
      } else if (response === 'live') {
        sendSse(ctx, output as Parameters<typeof sendSse>[1], closing)
      } else if (response === 'text') {
        const text = output as { contentType: string; body: string }
        ctx.type = text.contentType
        ctx.body = text.body
      } else {
        if (name === 'health') ctx.status = (output as { status: string }).status === 'error' ? 503 : 200
        if (op.publicView && ctx.state.scope === undefined) {
          ctx.body = op.publicView(output)
          return
        }
        // A page's Markdown or a screenshot can be tens of MB: written in pieces, not as one string.
        if (holdsLargeString(output)) {
          ctx.type = 'application/json'
          ctx.body = oneAhead(jsonChunks(output))
        } else ctx.body = output
      }
    }
    // The scope first: a caller without it never gets a body read or a handler run.
    const gate = requireScope(opts.auth, op.scope)
    if (op.method === 'GET') router.get(op.path, gate, handler)
    else router.post(op.path, gate, body, handler)
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

/**
 * A batch's answer, `{"results":[...],"success":...}` and the envelope's figures (server time and
 * memory, known once the last result is out), written a result at a time as each is ready. Each
 * result is encoded on its own and its large fields apart (json-chunks.ts), so no string holds
 * the whole answer or even a whole large result (V8 cannot make one past 2^29 - 24 characters,
 * which a batch of large pages exceeds) and a result is let go once written. `success` and the
 * envelope come last because they are known last; JSON readers do not mind the order.
 * Once the first byte is out the status is sent, so a failure after it cannot become an error
 * answer: it is logged and the connection is cut, and the client sees a truncated body instead
 * of a complete-looking one.
 */
function jsonBatch(
  first: IteratorResult<{ success: boolean }>,
  rest: AsyncIterator<{ success: boolean }>,
  envelope: () => Record<string, unknown>,
  logger: Logger,
  ctx: Context,
): Readable {
  return oneAhead(
    (async function* () {
      let success = true
      let prefix = '{"results":['
      try {
        for (let next = first; !next.done; next = await rest.next()) {
          success &&= next.value.success
          yield* framedJsonChunks(prefix, next.value, '')
          prefix = ','
        }
      } catch (err) {
        // Logged here: no answer can carry it any more.
        describeError(err, logger, { method: ctx.method, path: ctx.path })
        throw err
      } finally {
        // A client that went away ends the generator early: the batch must hear it too.
        await rest.return?.()
      }
      const tail = JSON.stringify(envelope())
      yield `${prefix === ',' ? '' : prefix}],"success":${success}${tail === '{}' ? '' : `,${tail.slice(1, -1)}`}}`
    })(),
  )
}

/**
 * One JSON value per line; an error after the first line becomes a final error line. A line goes
 * out in pieces when it holds large strings; should encoding fail with part of a line out (a
 * single string past V8's limit), no error line could follow it as a line of its own, so the
 * failure is logged and the connection cut, as in jsonBatch.
 */
function ndjson(source: AsyncIterable<unknown>, logger: Logger, ctx: Context): Readable {
  return oneAhead(
    (async function* () {
      let midLine = false
      try {
        for await (const item of source) {
          for (const piece of framedJsonChunks('', item, '\n')) {
            yield piece
            // JSON escapes every newline inside strings: a raw one only ends a line.
            midLine = !piece.endsWith('\n')
          }
        }
      } catch (err) {
        if (midLine) {
          describeError(err, logger, { method: ctx.method, path: ctx.path })
          throw err
        }
        const { body } = toResponse(err, logger, ctx.method, ctx.path)
        yield `${JSON.stringify({ status: 'error', ...body })}\n`
      }
    })(),
  )
}

/**
 * A body read from `chunks` one chunk ahead of the socket, not Readable.from's default of 16
 * (a chunk may be a whole result of tens of MB): what a slow client has not taken stays in the
 * batch's window, which stops the batch from starting more URLs.
 */
function oneAhead(chunks: AsyncGenerator<string> | Generator<string>): Readable {
  return Readable.from(chunks, { highWaterMark: 1 })
}
