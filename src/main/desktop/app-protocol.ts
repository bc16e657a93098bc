import { realpathSync } from 'node:fs'
import { readFile, realpath, stat } from 'node:fs/promises'
import { extname, isAbsolute, relative, resolve, sep } from 'node:path'

/*
 * The app:// protocol the window's renderer is served from: app://crawldeck/<path> is a file under
 * the built renderer folder (out/renderer), and nothing else. Kept free of electron imports so the
 * same logic runs in plain Node (tests, and the shipped-renderer test's tiny HTTP server); the
 * desktop shell registers it with protocol.handle (see desktop-app.ts).
 */

export const APP_SCHEME = 'app'
export const APP_HOST = 'crawldeck'
/** What the window loads in production. */
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/`

/**
 * Same policy as the <meta> tag of src/renderer/index.html (tests/desktop/hardening.test.ts pins
 * them together). Served as a header by the protocol handler, and put on the dev server's
 * responses by hardening.ts.
 */
export const RENDERER_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"

/**
 * The privileges the scheme is registered with (protocol.registerSchemesAsPrivileged, before
 * 'ready'): standard, so it has an origin, relative URLs and ES modules work; secure, so it is a
 * secure context like https. No bypassCSP, no CORS, no service workers, no streaming media.
 */
export const APP_SCHEME_PRIVILEGES = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  corsEnabled: false,
  bypassCSP: false,
  allowServiceWorkers: false,
  stream: false,
  codeCache: true,
} as const

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
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
}

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

/** Where a request leads: a file under the root, or a refusal with its status and reason. */
export type AppTarget = { ok: true; file: string } | { ok: false; status: 400 | 403 | 404 | 405; reason: string }

/**
 * Maps an app:// URL to the file it names under `root`, refusing everything that could leave it:
 * other schemes and hosts, credentials or ports, `..` (plain or %-encoded), backslashes, NUL,
 * encoded slashes and absolute paths. Lexical only; symlinks are checked by serveAppRequest.
 */
export function appTargetFor(root: string, rawUrl: string): AppTarget {
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' }
  }
  if (url.protocol !== `${APP_SCHEME}:`) return { ok: false, status: 400, reason: `not an ${APP_SCHEME}: URL` }
  if (url.host !== APP_HOST || url.username || url.password || url.port) return { ok: false, status: 403, reason: `only ${APP_SCHEME}://${APP_HOST} is served` }
  // The raw path: the URL parser has already folded plain `..` segments away, so these checks see
  // what is left of them and anything encoded that a decoder would turn back into one.
  const rawPath = url.pathname
  if (rawPath.includes('\\') || /%5c/i.test(rawPath)) return { ok: false, status: 400, reason: 'backslash in the path' }
  if (/%2f/i.test(rawPath)) return { ok: false, status: 400, reason: 'encoded slash in the path' }
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    return { ok: false, status: 400, reason: 'malformed %-escape in the path' }
  }
  if (path.includes('\0')) return { ok: false, status: 400, reason: 'NUL in the path' }
  const segments = path.split('/').filter((s) => s !== '')
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 403, reason: 'dot segment in the path' }
  if (segments.some((s) => isAbsolute(s) || /^[a-z]:/i.test(s))) return { ok: false, status: 403, reason: 'absolute path' }
  const rootDir = resolve(root)
  const file = segments.length === 0 || path.endsWith('/') ? resolve(rootDir, ...segments, 'index.html') : resolve(rootDir, ...segments)
  if (!isInside(rootDir, file)) return { ok: false, status: 403, reason: 'outside the renderer folder' }
  return { ok: true, file }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

export interface AppResponse {
  status: number
  headers: Record<string, string>
  /** Empty for refusals and HEAD. */
  body: Buffer
}

/** Headers on every response of the protocol, refusals included. */
function baseHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': RENDERER_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  }
}

function refusal(status: number, reason: string): AppResponse {
  return { status, headers: { ...baseHeaders(), 'Content-Type': 'text/plain; charset=utf-8' }, body: Buffer.from(`${status}: ${reason}\n`) }
}

/**
 * Serves one request of the protocol from `root`: the file with its Content-Type and the CSP
 * header, 404 when there is none (or it is a folder), 403 for anything leaving the root, symlinks
 * included (the real path must still be inside the root's real path), 405 for anything but
 * GET/HEAD.
 */
export async function serveAppRequest(root: string, request: { url: string; method?: string }): Promise<AppResponse> {
  const method = (request.method ?? 'GET').toUpperCase()
  if (method !== 'GET' && method !== 'HEAD') {
    const r = refusal(405, 'only GET and HEAD')
    return { ...r, headers: { ...r.headers, Allow: 'GET, HEAD' } }
  }
  const target = appTargetFor(root, request.url)
  if (!target.ok) return refusal(target.status, target.reason)
  let real: string
  try {
    real = await realpath(target.file)
  } catch {
    return refusal(404, 'not found')
  }
  if (!isInside(realRoot(root), real)) return refusal(403, 'outside the renderer folder')
  try {
    if (!(await stat(real)).isFile()) return refusal(404, 'not found')
    const body = await readFile(real)
    return {
      status: 200,
      headers: { ...baseHeaders(), 'Content-Type': contentTypeFor(real), 'Content-Length': String(body.length) },
      body: method === 'HEAD' ? Buffer.alloc(0) : body,
    }
  } catch {
    return refusal(404, 'not found')
  }
}

function realRoot(root: string): string {
  try {
    return realpathSync(resolve(root))
  } catch {
    return resolve(root)
  }
}

/** The handler protocol.handle('app', ...) is given: a fetch-style Request in, a Response out. */
export function appProtocolHandler(root: string): (request: { url: string; method: string }) => Promise<Response> {
  return async (request) => {
    const r = await serveAppRequest(root, request)
    return new Response(r.body.length > 0 ? new Uint8Array(r.body) : null, { status: r.status, headers: r.headers })
  }
}
