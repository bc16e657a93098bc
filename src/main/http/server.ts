import { setMaxListeners } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { isLoopbackBind } from '../core/egress/address-policy.js'
import { addressOf } from '../core/fleet/instance.js'
import type { Logger } from '../core/logger.js'
import type { Runtime } from '../core/runtime.js'
import { createApp } from './app.js'
import { Authenticator } from './auth.js'
import { limitConnectionsPerAddress } from './connection-limit.js'
import { trackConnections } from './connections.js'
import { monitorWsMessage } from '../core/monitor/ws-message.js'
import { MonitorWsDoor } from './monitor-ws.js'
import { ensureTokens } from './tokens.js'

/*
 * Starts the HTTP door: the Node server around the Koa app, with its tokens and authenticator,
 * request timeouts, a per-client connection limit, and a close that lets requests in flight finish.
 */

export interface HttpServer {
  readonly url: string
  readonly server: Server
  /** Checks tokens and sessions; disabled (open) when no token is configured on a loopback bind. */
  readonly auth: Authenticator
  /** Where a generated admin token was written (non-loopback bind with no token configured). */
  readonly tokenFile: string | null
  /** GET /monitor/ws and its open sockets. */
  readonly monitorWs: MonitorWsDoor
  /** Stop listening, let in-flight requests finish for a moment, then cut what is left. */
  close(): Promise<void>
}

const DRAIN_MS = 5_000
const HEADERS_TIMEOUT_MS = 10_000
const REQUEST_TIMEOUT_MS = 20_000

export interface HttpServerOptions {
  host: string
  port: number
  logger: Logger
  /** How long close() lets requests in flight finish before cutting them; 5 s by default. */
  drainMs?: number
}

export async function startHttpServer(runtime: Runtime, opts: HttpServerOptions): Promise<HttpServer> {
  const live = runtime.settings.live
  const generatedFile = ensureTokens(live, runtime.config.data_dir, opts.host, opts.logger)
  // The token lists as Settings have them at each check. Bound where others can reach it, the
  // service never runs open, even if every token list is emptied later.
  const auth = new Authenticator(() => live.tokens, { requireTokens: !isLoopbackBind(opts.host) })
  const closingDoor = new AbortController()
  liftListenerLimit(closingDoor.signal)
  const monitorWs = new MonitorWsDoor({ auth, message: () => monitorWsMessage(runtime.monitor), corsOrigins: runtime.config.cors_origins })
  const app = createApp(runtime, opts.logger, { bindHost: opts.host, auth, closing: closingDoor.signal, monitorWs: monitorWs.route() })
  const callback = app.callback()
  const server = createServer(
    {
      // How long a client may take to SEND its request (headers, then the whole body); answering
      // is not counted, so crawls may still take minutes. A client that sends headers and never
      // a body is cut with a 408 here, instead of holding its connection for ever.
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      // Node checks those deadlines on this period (30 s by default, which would double them).
      connectionsCheckingInterval: 1_000,
      keepAliveTimeout: 5_000,
    },
    callback,
  )
  // WebSocket upgrades (GET /monitor/ws) run through the same app: Host check, route, scope.
  server.on('upgrade', (req, socket, head) => monitorWs.upgrade(req, socket, head, callback))
  limitConnectionsPerAddress(server, runtime.config.max_connections_per_client)
  const connections = trackConnections(server)
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', (err) => opts.logger.error({ err }, 'http server error'))
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  // The fleet lists where this instance serves; an operator's fleet_address (behind NAT or a proxy) wins.
  if (runtime.config.fleet_address === null) runtime.fleet.setAddress(addressOf(url))
  let closing: Promise<void> | null = null
  return {
    url,
    server,
    auth,
    tokenFile: generatedFile,
    monitorWs,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), opts.drainMs ?? DRAIN_MS)
        timer.unref()
        server.close(() => {
          clearTimeout(timer)
          resolve()
        })
        monitorWs.close()
        connections.endIdle()
        closingDoor.abort()
      })
      return closing
    },
  }
}

/**
 * Every open live stream listens on the door's closing signal (sse.ts), one listener per
 * dashboard: past 10 Node prints "Possible EventTarget memory leak detected" for what is no leak.
 * The listeners are bounded by the open connections and removed as each stream closes. Only
 * Node's own AbortSignal has such a limit: a DOM test environment's (happy-dom) is refused with
 * ERR_INVALID_ARG_TYPE and has no warning to silence.
 */
function liftListenerLimit(signal: AbortSignal): void {
  try {
    setMaxListeners(0, signal)
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_INVALID_ARG_TYPE') throw err
  }
}
