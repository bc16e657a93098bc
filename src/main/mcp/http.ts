import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { Context, Middleware } from 'koa'
import type { AuthScope } from '../../shared/api-types.js'
import type { ServiceImpl } from '../../shared/contract.js'
import type { Logger } from '../core/logger.js'
import { requireScope, type Authenticator } from '../http/auth.js'
import { jsonBody } from '../http/body.js'
import { createMcpServer } from './server.js'

/*
 * POST /mcp: the MCP server over Streamable HTTP, stateless (a server and transport per request,
 * no session id), so any instance behind a balancer can answer any message and nothing is kept
 * between requests. The token is checked as on every REST route (read at least, to list and read
 * the monitor); each tool then needs its own operation's scope (server.ts). Host and Origin were
 * checked by guard.ts before this runs.
 */

export const MCP_PATH = '/mcp'

export interface McpRouteOptions {
  service: ServiceImpl
  auth: Authenticator
  logger: Logger
  /** Largest JSON-RPC body read, the REST API's own limit. */
  bodyLimitBytes: number
  allowJs: boolean
}

export function mcpRoute(opts: McpRouteOptions): Middleware {
  const gate = requireScope(opts.auth, 'read')
  const body = jsonBody(opts.bodyLimitBytes)
  return async (ctx, next) => {
    if (ctx.path !== MCP_PATH) return next()
    if (ctx.method !== 'POST') {
      // Stateless: no server-to-client stream (GET) and no session to end (DELETE), as the SDK's
      // stateless examples answer.
      ctx.status = 405
      ctx.set('Allow', 'POST')
      ctx.body = { jsonrpc: '2.0', error: { code: -32000, message: `${ctx.method} is not allowed on ${MCP_PATH}; use POST` }, id: null }
      return
    }
    await gate(ctx, () => body(ctx, () => serve(ctx, opts)))
  }
}

async function serve(ctx: Context, opts: McpRouteOptions): Promise<void> {
  const server = createMcpServer({
    service: opts.service,
    logger: opts.logger,
    scope: ctx.state.scope as AuthScope,
    transport: 'http',
    origin: `${ctx.protocol}://${ctx.host}`,
    allowJs: opts.allowJs,
  })
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
  // The SDK writes the answer (JSON or an SSE stream) to the Node response itself.
  ctx.respond = false
  // A client that goes away closes the server, which aborts the tool calls still running
  // (their CallContext signal), so a crawl stops with it as it does over REST.
  ctx.res.once('close', () => {
    void transport.close()
    void server.close()
  })
  try {
    await server.connect(transport)
    await transport.handleRequest(ctx.req, ctx.res, (ctx.request as { body?: unknown }).body)
  } catch (err) {
    // Once the SDK has started the answer no error answer can follow: the connection is cut
    // (errorHandler logs nothing it cannot send). Before that, Koa answers it as on any route.
    if (ctx.res.headersSent) ctx.res.destroy()
    else ctx.respond = true
    throw err
  }
}
