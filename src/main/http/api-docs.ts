import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Middleware } from 'koa'
import { openApiDocument } from './openapi.js'
import { refuseUnlessGet } from './read-only.js'

/*
 * GET /openapi.json, the contract described as OpenAPI 3.1 (openapi.ts), and GET /docs, an API
 * reference page that reads it: Swagger UI from the swagger-ui-dist package, served from
 * node_modules, so the page works offline. Both are open, as Crawl4AI's are: they describe the
 * API, not its data, and "Try it out" still needs a token (or the dashboard's session cookie).
 */

export const DOCS_PATH = '/docs'
export const OPENAPI_PATH = '/openapi.json'

/**
 * Stricter than the dashboard's: Swagger UI's bundle runs from its own file and an init script of
 * ours (no inline script), and its components set styles through the DOM, which style-src does
 * not govern (no inline style either; tests/openapi.test.ts fails on any CSP report). Its icons
 * are data: URIs; "Try it out" calls this origin only.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

/** The files of swagger-ui-dist the page loads; nothing else of the package is reachable. */
const ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
}

/** Started once the bundle has loaded; it fetches the document beside the page. */
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: new URL('openapi.json', window.location.href).href,
    dom_id: '#swagger-ui',
    deepLinking: true,
    // No badge fetched from an outside validator: the page stays on this origin.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    tryItOutEnabled: false,
  })
})
`

function page(version: string): string {
  // Relative URLs (docs/assets/...) resolve from /docs, so the page works behind a path prefix.
  const v = encodeURIComponent(version)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>crawldeck API reference</title>
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png?v=${v}">
<link rel="stylesheet" href="docs/assets/swagger-ui.css?v=${v}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js?v=${v}"></script>
<script src="docs/assets/init.js?v=${v}"></script>
</body>
</html>
`
}

/** Where swagger-ui-dist is installed, or null (the page then says so). */
function swaggerUiDir(): { dir: string; version: string } | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('swagger-ui-dist/package.json')
    const { version } = createRequire(import.meta.url)('swagger-ui-dist/package.json') as { version: string }
    return { dir: dirname(pkg), version }
  } catch {
    return null
  }
}

export function apiDocs(opts: { version: string }): Middleware {
  // Generated once, at start: the contract does not change while the service runs.
  const document = JSON.stringify(openApiDocument({ version: opts.version }))
  const ui = swaggerUiDir()
  const html = page(`${opts.version}-${ui?.version ?? 'none'}`)

  return async (ctx, next) => {
    const path = ctx.path
    if (path !== OPENAPI_PATH && path !== DOCS_PATH && !path.startsWith(`${DOCS_PATH}/`)) return next()
    if (refuseUnlessGet(ctx, path)) return
    if (path === OPENAPI_PATH) {
      ctx.type = 'application/json'
      ctx.set('Cache-Control', 'no-cache')
      ctx.body = document
      return
    }
    if (path === `${DOCS_PATH}/`) {
      ctx.status = 301
      ctx.redirect(`${DOCS_PATH}${ctx.querystring ? `?${ctx.querystring}` : ''}`)
      return
    }
    ctx.set('Content-Security-Policy', DOCS_CSP)
    if (path === DOCS_PATH) {
      ctx.type = 'text/html; charset=utf-8'
      ctx.set('Cache-Control', 'no-cache')
      ctx.body = html
      return
    }
    const name = path.slice(`${DOCS_PATH}/assets/`.length)
    if (!path.startsWith(`${DOCS_PATH}/assets/`) || (name !== 'init.js' && !(name in ASSETS))) {
      ctx.status = 404
      ctx.body = { error: `no such file: ${path}`, code: 'not_found' }
      return
    }
    // The URLs carry the versions: a new install is a new URL.
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable')
    if (name === 'init.js') {
      ctx.type = 'text/javascript; charset=utf-8'
      ctx.body = INIT_SCRIPT
      return
    }
    if (!ui) {
      ctx.status = 503
      ctx.set('Cache-Control', 'no-store')
      ctx.body = { error: 'the API reference page needs the swagger-ui-dist package: run `npm install`', code: 'docs_not_installed' }
      return
    }
    const file = join(ui.dir, name)
    const info = await stat(file)
    ctx.type = ASSETS[name]!
    ctx.length = info.size
    if (ctx.method !== 'HEAD') ctx.body = createReadStream(file)
  }
}
