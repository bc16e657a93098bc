import { Readable } from 'node:stream'
import Router from '@koa/router'
import type { Context } from 'koa'
import { contract, type CallContext, type Operation, type OperationName, type ServiceImpl } from '../../shared/contract.js'
import { describeIssues } from '../../shared/validation.js'
import { describeError } from '../core/error-body.js'
import { CrawldeckError, invalidInput } from '../core/errors.js'
import type { Logger } from '../core/logger.js'
import { requireScope, type Authenticator } from './auth.js'
import { jsonBody } from './body.js'
import { toResponse } from './errors.js'
import { RawJson } from '../../shared/raw-json.js'
import { framedJsonPieces, holdsLargeString, jsonChunks, type JsonPiece } from './json-chunks.js'
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
    const params = pathParams(op.path)
    const handler = async (ctx: Context) => {
      const fromQuery = op.method === 'GET' || op.method === 'DELETE'
      let raw: unknown = fromQuery ? { ...ctx.query } : (ctx.request as { body?: unknown }).body
      if (params.length > 0) raw = withPathParams(raw, params, ctx)
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
        const batch = output as AsyncIterable<BatchItem> & { envelope?(): Record<string, unknown> }
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
        else if (op.successStatus !== undefined) ctx.status = op.successStatus
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
    else if (op.method === 'DELETE') router.delete(op.path, gate, handler)
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
  // The Host header was checked against the allowed hosts before any route ran (guard.ts).
  return { signal: controller.signal, transport: 'http', origin: `${ctx.protocol}://${ctx.host}` }
}

/** The `:name` segments of a contract path, by segment index. */
function pathParams(path: string): Array<{ index: number; name: string }> {
  return path
    .split('/')
    .map((segment, index) => ({ index, name: segment.startsWith(':') ? segment.slice(1) : '' }))
    .filter((p) => p.name !== '')
}

/**
 * A path parameter spelled as it was sent: letters, digits and `_ . : ~ -`, not dots alone.
 * Anything else (a percent-escape, `;`, a `.` segment) is another spelling of some path.
 */
const PARAM_SPELLING = /^(?!\.+$)[A-Za-z0-9_.:~-]{1,200}$/

/**
 * 404 for a path that fits a contract path with `:name` segments except for the spelling of a
 * parameter, before any scope check or method match (which would answer 401, 403 or 405): like
 * every other route, one with parameters is reached under one spelling only, by any caller.
 * Goes before the contract router.
 */
export function paramSpelling() {
  const templates = (Object.values(contract) as Operation[]).map((op) => op.path.split('/')).filter((segments) => segments.some((s) => s.startsWith(':')))
  return async (ctx: Context, next: () => Promise<unknown>) => {
    const segments = ctx.path.split('/')
    for (const template of templates) {
      if (template.length !== segments.length) continue
      if (!template.every((t, i) => t.startsWith(':') || t === segments[i])) continue
      if (template.some((t, i) => t.startsWith(':') && !PARAM_SPELLING.test(segments[i] as string)))
        throw new CrawldeckError(404, 'not_found', `no route ${ctx.method} ${ctx.path.slice(0, 200)}`)
    }
    await next()
  }
}

/** The input with each path parameter laid over it (a query or body field of that name loses). */
function withPathParams(raw: unknown, params: Array<{ index: number; name: string }>, ctx: Context): Record<string, unknown> {
  const segments = ctx.path.split('/')
  const merged: Record<string, unknown> = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {}
  for (const { index, name } of params) merged[name] = segments[index] ?? ''
  return merged
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
 * of a complete-looking one. A cache hit (RawJson) goes out as the bytes it was stored as.
 */
type BatchItem = { success: boolean } | RawJson<{ success: boolean }>

function jsonBatch(
  first: IteratorResult<BatchItem>,
  rest: AsyncIterator<BatchItem>,
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
          const item = next.value
          success &&= item instanceof RawJson ? item.field('success') : item.success
          yield* framedJsonPieces(prefix, item, '')
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
          for (const piece of framedJsonPieces('', item, '\n')) {
            yield piece
            // JSON escapes every newline inside strings: a raw one only ends a line.
            midLine = !endsLine(piece)
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
function oneAhead(chunks: AsyncGenerator<JsonPiece> | Generator<JsonPiece>): Readable {
  return Readable.from(chunks, { highWaterMark: 1 })
}

function endsLine(piece: JsonPiece): boolean {
  return typeof piece === 'string' ? piece.endsWith('\n') : piece[piece.length - 1] === 0x0a
}
