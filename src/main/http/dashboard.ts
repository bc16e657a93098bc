import { createReadStream, existsSync, statSync } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { dirname, extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Middleware } from 'koa'
import { refuseUnlessGet } from './read-only.js'

/**
 * Serves the built control center (out/renderer) at /dashboard/ and redirects / there (and
 * /playground, where Crawl4AI users look for it, to its Playground view).
 * Hashed assets are cached for a year, index.html never; every answer carries a strict CSP.
 * The build is looked up on every request, so `npm run build:web` while the service runs works.
 */

export const DASHBOARD_PREFIX = '/dashboard'

export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

export interface DashboardOptions {
  /** Directory holding the built renderer (index.html + assets/); found automatically when left out. */
  root?: string
}

/**
 * Where the renderer build lives, from this file's location: src/main/http/dashboard.ts (tsx)
 * is three levels under the repository root, out/main/index.js (bundled) one level under out/.
 * Walks up to the first directory holding a built out/renderer (never src/renderer, whose
 * index.html is the unbuilt source).
 */
export function findRendererDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  const candidates: string[] = []
  let dir = resolve(from)
  for (let i = 0; i < 6; i++) {
    candidates.push(join(dir, 'out', 'renderer'))
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  for (const c of candidates) {
    try {
      if (statSync(join(c, 'index.html')).isFile()) return c
    } catch {
      // not this one
    }
  }
  // Not built yet: name the place the build will land, next to the package root.
  dir = resolve(from)
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'out', 'renderer')
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return join(resolve(from), '..', '..', '..', 'out', 'renderer')
}

function setSecurityHeaders(set: (k: string, v: string) => void): void {
  set('Content-Security-Policy', DASHBOARD_CSP)
  set('X-Content-Type-Options', 'nosniff')
  set('Referrer-Policy', 'no-referrer')
  set('X-Frame-Options', 'DENY')
  set('Cross-Origin-Opener-Policy', 'same-origin')
}

/** A safe path below root for the part of the URL after /dashboard/, or null. */
function safeRelative(rawRest: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(rawRest)
  } catch {
    return null
  }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.startsWith('/')) return null
  const parts = decoded.split('/')
  if (parts.some((p) => p === '..' || p === '.' || p === '')) return null
  return parts.join(sep)
}

export function dashboard(opts: DashboardOptions = {}): Middleware {
  const rootDir = resolve(opts.root ?? findRendererDir())
  const prefix = DASHBOARD_PREFIX

  return async (ctx, next) => {
    const path = ctx.path
    if (path === '/' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      setSecurityHeaders((k, v) => ctx.set(k, v))
      ctx.status = 302
      ctx.redirect(`${prefix}/`)
      return
    }
    // Crawl4AI serves its Playground here; ours is a view of the control center.
    if ((path === '/playground' || path === '/playground/') && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      setSecurityHeaders((k, v) => ctx.set(k, v))
      ctx.set('Cache-Control', 'no-cache')
      ctx.status = 302
      ctx.redirect(`${prefix}/#/playground`)
      return
    }
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return next()

    setSecurityHeaders((k, v) => ctx.set(k, v))
    if (refuseUnlessGet(ctx, path)) return
    if (path === prefix) {
      // Relative asset URLs (base './') need the trailing slash.
      ctx.status = 301
      ctx.redirect(`${prefix}/${ctx.querystring ? `?${ctx.querystring}` : ''}`)
      return
    }

    const indexFile = join(rootDir, 'index.html')
    if (!existsSync(indexFile)) {
      ctx.status = 503
      ctx.set('Cache-Control', 'no-store')
      ctx.body = {
        error: 'the dashboard is not built: run `npm run build` (or `npm run build:web`) and reload',
        code: 'dashboard_not_built',
      }
      return
    }

    const rest = path.slice(prefix.length + 1)
    if (rest === '' || rest === 'index.html') {
      await sendFile(ctx, indexFile, 'no-cache')
      return
    }
    const rel = safeRelative(rest)
    if (rel === null) return notFound(ctx)
    // A deep link to a view (/dashboard/playground) goes to its hash route.
    if (!rel.includes(sep) && extname(rel) === '' && /^[a-z][a-z0-9-]{0,40}$/.test(rel)) {
      ctx.status = 302
      ctx.set('Cache-Control', 'no-cache')
      ctx.redirect(`${prefix}/#/${rel}`)
      return
    }
    const file = resolve(rootDir, rel)
    if (!file.startsWith(rootDir + sep)) return notFound(ctx)
    let real: string
    try {
      real = await realpath(file)
      const realRoot = await realpath(rootDir)
      if (!real.startsWith(realRoot + sep)) return notFound(ctx)
      if (!(await stat(real)).isFile()) return notFound(ctx)
    } catch {
      return notFound(ctx)
    }
    const hashed = rel.startsWith(`assets${sep}`)
    await sendFile(ctx, real, hashed ? 'public, max-age=31536000, immutable' : 'no-cache')
  }
}

function notFound(ctx: Parameters<Middleware>[0]): void {
  ctx.status = 404
  ctx.set('Cache-Control', 'no-store')
  ctx.body = { error: `no such file: ${ctx.path}`, code: 'not_found' }
}

async function sendFile(ctx: Parameters<Middleware>[0], file: string, cacheControl: string): Promise<void> {
  const info = await stat(file)
  ctx.status = 200
  ctx.type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
  ctx.length = info.size
  ctx.lastModified = info.mtime
  ctx.set('Cache-Control', cacheControl)
  // Koa sends no body for HEAD; opening the file for it would only leak a descriptor.
  if (ctx.method !== 'HEAD') ctx.body = createReadStream(file)
}
