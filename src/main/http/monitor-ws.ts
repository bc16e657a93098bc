import { ServerResponse, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Context, Middleware } from 'koa'
import { WebSocketServer, type WebSocket } from 'ws'
import type { MonitorWsMessage } from '../../shared/monitor-types.js'
import { CrawldeckError } from '../core/errors.js'
import { requireScope, type Authenticator } from './auth.js'
import { sameOrigin } from './guard.js'

/*
 * GET /monitor/ws: Crawl4AI's monitor WebSocket. Node 20 has a WebSocket client but no server,
 * hence the `ws` package. An upgrade request goes through the same Koa app as every other request
 * (Host check, security headers, the route's exact spelling, the read scope), so `/Monitor/ws` or
 * `/monitor/ws/` are 404 as anywhere else. Like Crawl4AI: the token may come as `?token=` when no
 * Authorization header is sent (a browser's WebSocket cannot set one), an unauthenticated caller
 * is accepted and closed at once with code 4401, client frames are never read, and one message
 * goes out right away and then every 2 s. Unlike Crawl4AI: a page of another origin is refused
 * (403): a WebSocket is not bound by CORS, and with no tokens set anyone's browser tab could
 * otherwise read the monitor of a service on 127.0.0.1.
 */

export const MONITOR_WS_PATH = '/monitor/ws'
export const MONITOR_WS_INTERVAL_MS = 2_000
/** Crawl4AI's close code for a caller without valid credentials. */
export const WS_UNAUTHORIZED = 4401
/** Client frames are never read; one larger than this closes the socket (1009) instead of being buffered. */
export const WS_MAX_CLIENT_FRAME_BYTES = 1024
/** A client that has this much unsent is skipped at a tick; past four times it, it is dropped. */
const SLOW_CLIENT_BYTES = 1024 * 1024

/** The upgrade's raw socket and first bytes, attached to the request while the app runs. */
const PENDING = Symbol('monitor-ws-upgrade')
interface PendingUpgrade {
  socket: Duplex
  head: Buffer
  res: ServerResponse
}
type UpgradeRequest = IncomingMessage & { [PENDING]?: PendingUpgrade }

export interface MonitorWsOptions {
  auth: Authenticator
  /** Builds one message; called once per tick for every client together, and once per new client. */
  message: () => MonitorWsMessage
  /** Origins (besides the service's own) whose pages may open the socket: the operator's CORS list. */
  corsOrigins: readonly string[]
  intervalMs?: number
}

export class MonitorWsDoor {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false })
  private readonly clients = new Set<WebSocket>()
  private readonly cors: Set<string>
  private readonly intervalMs: number
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor(private readonly opts: MonitorWsOptions) {
    this.cors = new Set(opts.corsOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()))
    this.intervalMs = opts.intervalMs ?? MONITOR_WS_INTERVAL_MS
  }

  get clientCount(): number {
    return this.clients.size
  }

  /**
   * The server's 'upgrade' listener: runs the Koa app on the request with a response bound to the
   * socket, so every refusal is an ordinary HTTP answer; only the ws route takes the socket over.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, app: (req: IncomingMessage, res: ServerResponse) => void): void {
    if (this.closed) {
      socket.destroy()
      return
    }
    socket.on('error', () => socket.destroy())
    const res = new ServerResponse(req)
    res.shouldKeepAlive = false
    res.assignSocket(socket as Socket)
    // A refusal is written, then the connection ends: an upgrade socket is never reused for HTTP.
    res.once('finish', () => socket.end())
    ;(req as UpgradeRequest)[PENDING] = { socket, head, res }
    app(req, res)
  }

  /** The route: placed in the Koa app before the contract's router. */
  route(): Middleware {
    const gate = requireScope(this.opts.auth, 'read')
    return async (ctx, next) => {
      if (ctx.path !== MONITOR_WS_PATH || ctx.method !== 'GET') return next()
      const pending = (ctx.req as UpgradeRequest)[PENDING]
      const wantsSocket = pending !== undefined && ctx.get('upgrade').toLowerCase() === 'websocket'
      if (wantsSocket) this.checkOrigin(ctx)
      // Crawl4AI: the query token counts only when no Authorization header is sent.
      const queryToken = ctx.query.token
      if (wantsSocket && ctx.get('authorization') === '' && typeof queryToken === 'string' && queryToken !== '') {
        ctx.req.headers.authorization = `Bearer ${queryToken}`
      }
      try {
        await gate(ctx, async () => undefined)
      } catch (err) {
        if (wantsSocket && err instanceof CrawldeckError && err.status === 401)
          return this.accept(ctx, pending, (ws) => ws.close(WS_UNAUTHORIZED, 'Authentication required'))
        throw err
      }
      if (!wantsSocket) {
        ctx.status = 426
        ctx.set('Upgrade', 'websocket')
        ctx.body = {
          error: `${MONITOR_WS_PATH} is a WebSocket: connect with ws:// (or use GET /monitor/stream for Server-Sent Events)`,
          code: 'upgrade_required',
        }
        return
      }
      this.accept(ctx, pending, (ws) => this.serve(ws))
    }
  }

  /** Ends every socket (close code 1001, going away) and refuses new ones. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    for (const ws of this.clients) ws.close(1001, 'server closing')
    this.clients.clear()
  }

  /** A page of another origin may not open it; clients that send no Origin (scripts) may. */
  private checkOrigin(ctx: Context): void {
    const origin = ctx.get('origin')
    if (origin === '' || this.cors.has(origin.toLowerCase()) || sameOrigin(origin, ctx.get('host') || undefined)) return
    throw new CrawldeckError(
      403,
      'origin_not_allowed',
      `pages from ${origin === 'null' ? 'an opaque origin' : origin} may not open ${MONITOR_WS_PATH}; allow the origin with --cors-origins if it is yours`,
    )
  }

  private accept(ctx: Context, pending: PendingUpgrade | undefined, then: (ws: WebSocket) => void): void {
    if (!pending) return
    ctx.respond = false
    // The socket leaves the HTTP response: the `ws` package writes the handshake itself.
    pending.res.removeAllListeners('finish')
    pending.res.detachSocket(pending.socket as Socket)
    this.wss.handleUpgrade(ctx.req, pending.socket, pending.head, (ws) => {
      if (this.closed) {
        ws.close(1001, 'server closing')
        return
      }
      then(ws)
    })
  }

  private serve(ws: WebSocket): void {
    this.clients.add(ws)
    // Client frames are not read (Crawl4AI's door only sends); an oversized one closes the socket.
    ws.on('message', () => undefined)
    ws.on('error', () => ws.terminate())
    ws.once('close', () => {
      this.clients.delete(ws)
      if (this.clients.size === 0 && this.timer) {
        clearInterval(this.timer)
        this.timer = null
      }
    })
    this.send(ws, this.encode())
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs)
      this.timer.unref()
    }
  }

  private tick(): void {
    if (this.clients.size === 0) return
    const data = this.encode()
    for (const ws of this.clients) this.send(ws, data)
  }

  private encode(): string {
    return JSON.stringify(this.opts.message())
  }

  private send(ws: WebSocket, data: string): void {
    if (ws.readyState !== ws.OPEN) return
    // A client that does not read is not written to: its backlog is bounded, then it is dropped.
    if (ws.bufferedAmount > 4 * SLOW_CLIENT_BYTES) return ws.terminate()
    if (ws.bufferedAmount > SLOW_CLIENT_BYTES) return
    ws.send(data)
  }
}
