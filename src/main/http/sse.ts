import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import type { Context } from 'koa'
import type { LiveMessage } from '../../shared/monitor-types.js'

/** Comment lines keep proxies and browsers from timing the connection out. */
const HEARTBEAT_MS = 15_000
/** How long a dropped slow client gets to take its final `end` event before its socket is closed. */
const SLOW_CLIENT_GRACE_MS = 2_000

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

/**
 * Writes a live subscription as Server-Sent Events. Backpressure is honoured: while the socket
 * is full we stop pulling, the subscription's bounded buffer fills, and a client that stays too
 * slow is dropped there — the server's memory never grows with it.
 */
export function sendSse(ctx: Context, subscription: AsyncIterable<LiveMessage> & { close(): void; endReason?: string | null; ended?: Promise<unknown> }): void {
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
  const closed = once(ctx.res, 'close').then(() => {
    clearInterval(heartbeat)
    subscription.close()
    stream.destroy()
  })
  void (async () => {
    let id = 0
    for await (const message of subscription) {
      const ok = stream.write(`id: ${++id}\nevent: ${message.type}\ndata: ${eventData(message)}\n\n`)
      // Wait for the socket to drain, the client to go, or the feed to drop this client: a client
      // that never reads never drains, and must still be let go once it is dropped.
      if (!ok) await Promise.race([once(stream, 'drain'), closed, ...(subscription.ended ? [subscription.ended] : [])])
      if (stream.destroyed) break
    }
    if (!stream.destroyed) {
      // Say why the stream ends, so a client can tell a slow-client drop from a shutdown.
      stream.end(`event: end\ndata: ${JSON.stringify({ reason: subscription.endReason ?? 'closed' })}\n\n`)
      if (subscription.endReason === 'slow_client') {
        // A client that is not reading will not read this either: without a deadline its socket,
        // and everything already queued in it, would stay open for as long as it never reads.
        const deadline = setTimeout(() => ctx.res.destroy(), SLOW_CLIENT_GRACE_MS)
        deadline.unref()
        void closed.then(() => clearTimeout(deadline))
      }
    }
    clearInterval(heartbeat)
  })().catch(() => stream.destroy())
}
