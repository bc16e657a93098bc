import Koa from 'koa'
import type { Logger } from '../core/logger.js'
import type { Runtime } from '../core/runtime.js'
import { jsonBody } from './body.js'
import { errorHandler } from './errors.js'
import { contractRouter } from './routes.js'

/** The Koa application: a few small middlewares, then the routes generated from the contract. */
export function createApp(runtime: Runtime, logger: Logger): Koa {
  const app = new Koa()
  app.proxy = false
  // Koa would print every error to stderr itself; ours are logged once, structured.
  app.silent = true
  app.use(errorHandler(logger))
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff')
    await next()
  })
  app.use(jsonBody(runtime.config.body_limit_bytes))
  const router = contractRouter(runtime.service, logger)
  app.use(router.routes())
  app.use(router.allowedMethods({ throw: false }))
  app.use(async (ctx, next) => {
    await next()
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404
      ctx.body = { error: `no route ${ctx.method} ${ctx.path}`, code: 'not_found' }
    }
  })
  return app
}
