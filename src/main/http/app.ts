import Koa, { type Middleware } from 'koa'
import type { Logger } from '../core/logger.js'
import type { Runtime } from '../core/runtime.js'
import { VERSION } from '../core/version.js'
import { apiDocs } from './api-docs.js'
import { dashboard } from './dashboard.js'
import { authRoutes, type Authenticator } from './auth.js'
import { errorHandler } from './errors.js'
import { guard } from './guard.js'
import { contractRouter, paramSpelling } from './routes.js'
import { mcpRoute } from '../mcp/http.js'

/** The Koa application: a few small middlewares, then the routes generated from the contract. */
export interface AppOptions {
  bindHost: string
  auth: Authenticator
  /** Aborted when the door closes: live streams end then instead of holding the close open. */
  closing?: AbortSignal
  /** GET /monitor/ws (monitor-ws.ts): a route outside the contract, served before its router. */
  monitorWs?: Middleware
}

export function createApp(runtime: Runtime, logger: Logger, opts: AppOptions): Koa {
  const app = new Koa()
  // Behind a reverse proxy the client's address and scheme come from its X-Forwarded-* headers,
  // and only from the last hop, the one our proxy added: a client cannot prepend its own.
  app.proxy = runtime.config.trust_proxy
  app.maxIpsCount = 1
  // Koa would print every error to stderr itself; ours are logged once, structured.
  app.silent = true
  app.use(errorHandler(logger))
  app.use(guard({ bindHost: opts.bindHost, allowedHosts: runtime.config.allowed_hosts, corsOrigins: runtime.config.cors_origins }))
  app.use(authRoutes(opts.auth))
  // Static files that hold no data: they must load to show the sign-in screen.
  app.use(dashboard())
  // The API described (GET /openapi.json) and its reference page (GET /docs): open, like the dashboard's files.
  app.use(apiDocs({ version: VERSION }))
  // POST /mcp (mcp/http.ts): the MCP server for AI agents, a route outside the contract that answers every request to its path itself.
  app.use(
    mcpRoute({ service: runtime.service, auth: opts.auth, logger, bodyLimitBytes: runtime.config.body_limit_bytes, allowJs: runtime.config.allow_js_code }),
  )
  const router = contractRouter(runtime.service, logger, { auth: opts.auth, bodyLimitBytes: runtime.config.body_limit_bytes, closing: opts.closing })
  // Wraps the router and allowedMethods, so it sees their final status: a 405 set by
  // allowedMethods must not carry a 404 body written further down the chain.
  app.use(async (ctx, next) => {
    await next()
    if (ctx.body !== undefined && ctx.body !== null) return
    if (ctx.status === 404) {
      ctx.status = 404
      ctx.body = { error: `no route ${ctx.method} ${ctx.path}`, code: 'not_found' }
    } else if (ctx.status === 405 || ctx.status === 501) {
      // 501 is the router's answer to a method it does not know (PURGE, PROPFIND...): still the
      // client's mistake, so a 4xx like any other wrong method.
      const allow = ctx.response.get('Allow')
      ctx.status = 405
      ctx.body = { error: `${ctx.method} is not allowed on ${ctx.path}${allow ? `; use ${allow}` : ''}`, code: 'method_not_allowed' }
    }
  })
  if (opts.monitorWs) app.use(opts.monitorWs)
  app.use(paramSpelling())
  app.use(router.routes())
  app.use(router.allowedMethods({ throw: false }))
  return app
}
