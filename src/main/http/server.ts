import { setMaxListeners } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from '../core/logger.js'
import type { Runtime } from '../core/runtime.js'
import { createApp } from './app.js'
import { Authenticator } from './auth.js'
import { trackConnections } from './connections.js'
import { ensureTokens, tokensOf } from './tokens.js'

export interface HttpServer {
  readonly url: string
  readonly server: Server
  /** Checks tokens and sessions; disabled (open) when no token is configured on a loopback bind. */
  readonly auth: Authenticator
  /** Where a generated admin token was written (non-loopback bind with no token configured). */
  readonly tokenFile: string | null
  /** Stop listening, let in-flight requests finish for a moment, then cut what is left. */
  close(): Promise<void>
}

const DRAIN_MS = 5_000

export interface HttpServerOptions {
  host: string
  port: number
  logger: Logger
  /** How long close() lets requests in flight finish before cutting them; 5 s by default. */
  drainMs?: number
}

export async function startHttpServer(runtime: Runtime, opts: HttpServerOptions): Promise<HttpServer> {
  const generatedFile = ensureTokens(runtime.config, opts.host, opts.logger)
  const auth = new Authenticator(() => tokensOf(runtime.config))
  const closingDoor = new AbortController()
  liftListenerLimit(closingDoor.signal)
  const app = createApp(runtime, opts.logger, { bindHost: opts.host, auth, closing: closingDoor.signal })
  const server = createServer(app.callback())
  // Crawls may legitimately take minutes (page_timeout up to the configured cap).
  server.requestTimeout = 0
  server.headersTimeout = 60_000
  server.keepAliveTimeout = 5_000
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
  let closing: Promise<void> | null = null
  return {
    url,
    server,
    auth,
    tokenFile: generatedFile,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), opts.drainMs ?? DRAIN_MS)
        timer.unref()
        server.close(() => {
          clearTimeout(timer)
          resolve()
        })
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
