import type { Context } from 'koa'

/**
 * Static routes (the dashboard's files, the API document and its page) answer GET and HEAD only:
 * anything else is a 405 naming the methods allowed. True when the request was answered here.
 */
export function refuseUnlessGet(ctx: Context, path: string): boolean {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return false
  ctx.status = 405
  ctx.set('Allow', 'GET, HEAD')
  ctx.body = { error: `${ctx.method} is not allowed on ${path}; use GET`, code: 'method_not_allowed' }
  return true
}
