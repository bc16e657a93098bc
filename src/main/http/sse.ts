import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { PassThrough } from 'node:stream'
import type { Context } from 'koa'
import type { LiveMessage } from '../../shared/monitor-types.js'
import { CLIENT_BUFFER_LIMIT, type LiveSubscription } from '../core/monitor/live.js'

/** Comment lines keep proxies and browsers from timing the connection out. */
const HEARTBEAT_MS = 15_000
/** How long a dropped slow client gets to take its final `end` event before its socket is closed. */
const SLOW_CLIENT_GRACE_MS = 2_000
/**
 * A client's writes are at least this far apart; messages arriving meanwhile go out together, in
 * one write. Each write is a trip through the stream, the chunked encoder and a syscall, and it
 * was most of what a client cost: at 43 requests/s a service sends each dashboard ~240 messages a
 * second, and 20 clients cost 4.5 % of a core written one by one, 2.5-3.2 % batched (growth
 * bench). A message after a quiet spell still goes out in the next turn of the event loop; under
 * load one waits at most this long, far inside the live view's 250 ms budget.
 */
export const SSE_WRITE_INTERVAL_MS = 25

/**
 * The live feed hands every client the same message object: its JSON is encoded once, by the
 * first client to send it, not once per client (20 dashboards on a busy service were spending
 * most of their CPU re-encoding identical browser tables). Weak: gone with the message.
 */
const encoded = new WeakMap<LiveMessage, string>()
function eventData(message: LiveMessage): string {
  let json = encoded.get(message)
  if (json === undefined) {
    json = JSON.stringify(message.data)
    encoded.set(message, json)
  }
  return json
}

/** A backlog this long is written at once, wait or not: far below the point where a client is dropped as slow. */
const WRITE_NOW_BACKLOG = Math.floor(CLIENT_BUFFER_LIMIT / 4)

/**
 * Writes a live subscription as Server-Sent Events, in push mode: queued messages are taken and
 * written together, at most one write per SSE_WRITE_INTERVAL_MS (plain timers, no promise per
 * message: at hundreds of messages a second per client the bookkeeping would cost what the
 * batching saves). Backpressure is honoured: while the socket is full nothing is written, the
 * subscription's bounded buffer fills, and a client that stays too slow is dropped there — the
 * server's memory never grows with it. When the door closes (`closing`), the stream ends like any
 * other (an `end` event): an open dashboard would otherwise hold the shutdown until its drain
 * deadline.
 */
export function sendSse(ctx: Context, subscription: LiveSubscription, closing?: AbortSignal): void {
  const stream = new PassThrough()
  ctx.req.socket.setTimeout(0)
  ctx.req.socket.setNoDelay(true)
  ctx.status = 200
  ctx.type = 'text/event-stream'
  ctx.set('Cache-Control', 'no-cache, no-transform')
  ctx.set('X-Accel-Buffering', 'no')
  ctx.body = stream
  stream.write('retry: 2000\n\n')
  const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), HEARTBEAT_MS)
  heartbeat.unref()

  let id = 0
  let lastWrite = Number.NEGATIVE_INFINITY
  let timer: NodeJS.Timeout | null = null
  let immediate: NodeJS.Immediate | null = null
  let blocked = false
  const cancel = () => {
    if (timer) clearTimeout(timer)
    if (immediate) clearImmediate(immediate)
    timer = immediate = null
  }
  const flush = () => {
    cancel()
    if (blocked || stream.destroyed) return
    const messages = subscription.takeQueued()
    if (messages.length === 0) return
    let chunk = ''
    for (const message of messages) chunk += `id: ${++id}\nevent: ${message.type}\ndata: ${eventData(message)}\n\n`
    lastWrite = performance.now()
    if (!stream.write(chunk)) {
      // Nothing more until the socket drains (a client that never reads never drains: the feed drops it).
      blocked = true
      stream.once('drain', () => {
        blocked = false
        flush()
      })
    }
  }
  subscription.listen((queued) => {
    if (blocked) return
    if (queued >= WRITE_NOW_BACKLOG) return flush()
    if (timer || immediate) return
    // A message after a quiet spell goes out in the next turn (with the others of this turn);
    // right after a write, it waits for the interval to pass.
    const wait = lastWrite + SSE_WRITE_INTERVAL_MS - performance.now()
    if (wait > 0) timer = setTimeout(flush, wait)
    else immediate = setImmediate(flush)
  })

  const onClosing = () => subscription.close()
  if (closing?.aborted) onClosing()
  else closing?.addEventListener('abort', onClosing, { once: true })
  void once(ctx.res, 'close').then(() => {
    closing?.removeEventListener('abort', onClosing)
    clearInterval(heartbeat)
    cancel()
    subscription.close()
    stream.destroy()
  })
  void subscription.ended.then((reason) => {
    cancel()
    clearInterval(heartbeat)
    if (stream.destroyed) return
    // Say why the stream ends, so a client can tell a slow-client drop from a shutdown.
    stream.end(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`)
    if (reason === 'slow_client') {
      // A client that is not reading will not read this either: without a deadline its socket,
      // and everything already queued in it, would stay open for as long as it never reads.
      const deadline = setTimeout(() => ctx.res.destroy(), SLOW_CLIENT_GRACE_MS)
      deadline.unref()
      ctx.res.once('close', () => clearTimeout(deadline))
    }
  })
}
