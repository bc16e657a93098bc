import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import type { Context } from 'koa'
import type { LiveMessage } from '../../shared/monitor-types.js'

/** Comment lines keep proxies and browsers from timing the connection out. */
const HEARTBEAT_MS = 15_000

/**
 * Writes a live subscription as Server-Sent Events. Backpressure is honoured: while the socket
 * is full we stop pulling, the subscription's bounded buffer fills, and a client that stays too
 * slow is dropped there — the server's memory never grows with it.
 */
export function sendSse(ctx: Context, subscription: AsyncIterable<LiveMessage> & { close(): void; endReason?: string | null }): void {
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
      const ok = stream.write(`id: ${++id}\nevent: ${message.type}\ndata: ${JSON.stringify(message.data)}\n\n`)
      if (!ok) await Promise.race([once(stream, 'drain'), closed])
      if (stream.destroyed) break
    }
    if (!stream.destroyed) {
      // Say why the stream ends, so a client can tell a slow-client drop from a shutdown.
      stream.end(`event: end\ndata: ${JSON.stringify({ reason: subscription.endReason ?? 'closed' })}\n\n`)
    }
    clearInterval(heartbeat)
  })().catch(() => stream.destroy())
}
