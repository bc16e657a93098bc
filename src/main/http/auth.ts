import crypto from 'node:crypto'
import type { Context, Middleware } from 'koa'
import type { AuthScope, AuthSession } from '../../shared/api-types.js'
import { contract, type Operation } from '../../shared/contract.js'
import { CrawldeckError } from '../core/errors.js'

/*
 * Who may do what over HTTP. Three scopes, each containing the one before:
 *   read  — monitor GETs, the live stream, /metrics, the dashboard;
 *   crawl — read + the crawl endpoints;
 *   admin — everything: actions, stats reset, settings.
 * With no token configured (and a loopback bind, which server.ts insists on) everything is open
 * for local use. Scripts send `Authorization: Bearer <token>`; the dashboard trades a token for an
 * HttpOnly SameSite=Strict session cookie at POST /auth/session, so no long-lived token ever sits
 * in a URL or in page script. The IPC door has no tokens: the desktop window is the app itself.
 */

export type Scope = AuthScope
const RANK: Record<Scope, number> = { read: 1, crawl: 2, admin: 3 }

export interface TokenSet {
  admin: readonly string[]
  crawl: readonly string[]
  read: readonly string[]
}

export const SESSION_COOKIE = 'crawldeck_session'

/** Operations whose scope is not what their method says (reading settings shows token tails). */
const SCOPE_OVERRIDES: Partial<Record<string, Scope>> = { settings: 'admin' }

/** The scope an operation needs: crawl endpoints need crawl, other GETs read, other POSTs admin. */
export function scopeOf(name: string, op: Operation): Scope {
  return SCOPE_OVERRIDES[name] ?? (op.crawl ? 'crawl' : op.method === 'GET' ? 'read' : 'admin')
}

/**
 * Paths anyone may reach: liveness probes, the sign-in exchange, and the dashboard's own files
 * (static code that holds no data: it must load to show its sign-in screen; everything it then
 * shows comes from routes that need a scope).
 */
const OPEN_PATHS = new Set(['/', '/health', '/auth/session', '/auth/logout', '/dashboard'])
const isOpenPath = (path: string) => OPEN_PATHS.has(path) || path.startsWith('/dashboard/')

const routeScopes = new Map<string, Scope>()
for (const [name, op] of Object.entries(contract) as Array<[string, Operation]>) routeScopes.set(`${op.method} ${op.path}`, scopeOf(name, op))

/** What a request needs: 'open', or the lowest scope allowed. Unknown routes need read (no free 404 probing). */
export function requiredScope(method: string, path: string): Scope | 'open' {
  if (isOpenPath(path)) return 'open'
  const m = method === 'HEAD' ? 'GET' : method
  return routeScopes.get(`${m} ${path}`) ?? 'read'
}

export interface AuthOptions {
  now?: () => number
  /** Failed attempts from one client within `failureWindowMs` before it is refused outright. */
  maxFailures?: number
  failureWindowMs?: number
  sessionTtlMs?: number
  maxSessions?: number
  /** Wait before answering a failed attempt (slows down guessing); injectable for tests. */
  sleep?: (ms: number) => Promise<void>
}

interface Failures {
  count: number
  first: number
}

const digest = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest()

export class Authenticator {
  private readonly source: () => TokenSet
  /** Digests of the token lists last read from the source, recomputed only when a list is replaced. */
  private cached: { lists: [readonly string[], readonly string[], readonly string[]]; tokens: Array<{ scope: Scope; digest: Buffer }> } | null = null
  private readonly sessions = new Map<string, { scope: Scope; expires: number }>()
  private readonly failures = new Map<string, Failures>()
  private readonly now: () => number
  private readonly maxFailures: number
  private readonly failureWindowMs: number
  private readonly sessionTtlMs: number
  private readonly maxSessions: number
  readonly sleep: (ms: number) => Promise<void>

  /** `tokens` may be a function: the lists are then read on every check (Settings change them live). */
  constructor(tokens: TokenSet | (() => TokenSet), opts: AuthOptions = {}) {
    this.source = typeof tokens === 'function' ? tokens : () => tokens
    this.now = opts.now ?? Date.now
    this.maxFailures = opts.maxFailures ?? 10
    this.failureWindowMs = opts.failureWindowMs ?? 60_000
    this.sessionTtlMs = opts.sessionTtlMs ?? 12 * 3600_000
    this.maxSessions = opts.maxSessions ?? 1000
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)))
  }

  private get tokens(): Array<{ scope: Scope; digest: Buffer }> {
    const set = this.source()
    const c = this.cached
    if (c && c.lists[0] === set.admin && c.lists[1] === set.crawl && c.lists[2] === set.read) return c.tokens
    const tokens = (['admin', 'crawl', 'read'] as const).flatMap((scope) => set[scope].map((t) => ({ scope, digest: digest(t) })))
    this.cached = { lists: [set.admin, set.crawl, set.read], tokens }
    return tokens
  }

  /** Auth is on as soon as one token is configured. */
  get enabled(): boolean {
    return this.tokens.length > 0
  }

  /**
   * The highest scope a token grants, or null. Every configured token is compared, in constant
   * time on equal-length digests, whatever matched first: the answer's timing says nothing about
   * which token (or how much of one) was right.
   */
  scopeOfToken(token: string): Scope | null {
    const d = digest(token)
    let best: Scope | null = null
    for (const t of this.tokens) {
      if (crypto.timingSafeEqual(d, t.digest) && (best === null || RANK[t.scope] > RANK[best])) best = t.scope
    }
    return best
  }

  createSession(scope: Scope): { id: string; maxAgeMs: number } {
    this.pruneSessions()
    if (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value
      if (oldest !== undefined) this.sessions.delete(oldest)
    }
    const id = crypto.randomBytes(32).toString('base64url')
    this.sessions.set(id, { scope, expires: this.now() + this.sessionTtlMs })
    return { id, maxAgeMs: this.sessionTtlMs }
  }

  sessionScope(id: string | undefined): Scope | null {
    if (!id) return null
    const s = this.sessions.get(id)
    if (!s) return null
    if (s.expires <= this.now()) {
      this.sessions.delete(id)
      return null
    }
    return s.scope
  }

  endSession(id: string | undefined): void {
    if (id) this.sessions.delete(id)
  }

  /** Seconds until a client may try again, or 0 when it is not locked out. */
  lockedFor(client: string): number {
    const f = this.failures.get(client)
    if (!f) return 0
    const left = f.first + this.failureWindowMs - this.now()
    if (left <= 0) {
      this.failures.delete(client)
      return 0
    }
    return f.count >= this.maxFailures ? Math.ceil(left / 1000) : 0
  }

  /** Counts a failed attempt; returns how long to wait before answering it. */
  recordFailure(client: string): number {
    const now = this.now()
    let f = this.failures.get(client)
    if (!f || f.first + this.failureWindowMs <= now) {
      f = { count: 0, first: now }
      this.failures.delete(client)
      // Bounded: an attacker rotating addresses cannot grow this without limit.
      if (this.failures.size >= 10_000) this.failures.delete(this.failures.keys().next().value as string)
      this.failures.set(client, f)
    }
    f.count++
    return Math.min(2000, 100 * 2 ** Math.max(0, f.count - 3))
  }

  private pruneSessions(): void {
    const now = this.now()
    for (const [id, s] of this.sessions) if (s.expires <= now) this.sessions.delete(id)
  }
}

function bearer(ctx: Context): string | null {
  const h = ctx.get('authorization')
  if (h === '') return null
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h)
  if (!m) throw new CrawldeckError(401, 'unauthorized', 'the Authorization header must be "Bearer <token>"')
  return m[1] as string
}

/** The scope this request carries: a Bearer token wins over the session cookie. */
async function callerScope(ctx: Context, auth: Authenticator): Promise<Scope | null> {
  const client = ctx.ip || 'unknown'
  const token = bearer(ctx)
  if (token !== null) {
    const locked = auth.lockedFor(client)
    if (locked > 0) {
      ctx.set('Retry-After', String(locked))
      throw new CrawldeckError(429, 'too_many_auth_failures', `too many failed sign-ins from ${client}; try again in ${locked} s`)
    }
    const scope = auth.scopeOfToken(token)
    if (scope === null) {
      await auth.sleep(auth.recordFailure(client))
      throw unauthorized('that token is not valid here')
    }
    return scope
  }
  return auth.sessionScope(ctx.cookies.get(SESSION_COOKIE))
}

function unauthorized(message: string): CrawldeckError {
  return new CrawldeckError(401, 'unauthorized', message)
}

/** Refuses what the caller's scope does not allow: 401 without credentials, 403 with too little. */
export function authMiddleware(auth: Authenticator): Middleware {
  return async (ctx, next) => {
    if (!auth.enabled) return next()
    const need = requiredScope(ctx.method, ctx.path)
    if (need === 'open') return next()
    let scope: Scope | null
    try {
      scope = await callerScope(ctx, auth)
    } catch (err) {
      if (err instanceof CrawldeckError && err.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="crawldeck"')
      throw err
    }
    if (scope === null) {
      ctx.set('WWW-Authenticate', 'Bearer realm="crawldeck"')
      throw unauthorized(`sign in: send "Authorization: Bearer <token>" (a ${need} token or better), or sign in to the dashboard`)
    }
    if (RANK[scope] < RANK[need]) throw new CrawldeckError(403, 'forbidden', `${ctx.method} ${ctx.path} needs the ${need} scope; this token has ${scope}`)
    ctx.state.scope = scope
    return next()
  }
}

/**
 * The dashboard's sign-in: POST /auth/session {token} → an HttpOnly, SameSite=Strict session
 * cookie; GET /auth/session says who you are (and whether sign-in is needed at all);
 * POST /auth/logout ends the session.
 */
export function authRoutes(auth: Authenticator): Middleware {
  return async (ctx, next) => {
    if (ctx.path === '/auth/session' && ctx.method === 'GET') {
      const scope = auth.enabled ? auth.sessionScope(ctx.cookies.get(SESSION_COOKIE)) : 'admin'
      ctx.body = { auth_required: auth.enabled, signed_in: scope !== null, scope } satisfies AuthSession
      return
    }
    if (ctx.path === '/auth/session' && ctx.method === 'POST') {
      const body = ctx.request.body as { token?: unknown } | undefined
      if (!body || typeof body.token !== 'string' || body.token === '') throw new CrawldeckError(400, 'invalid_input', 'send {"token": "<your token>"}')
      if (!auth.enabled) {
        ctx.body = { auth_required: false, signed_in: true, scope: 'admin' }
        return
      }
      const client = ctx.ip || 'unknown'
      const locked = auth.lockedFor(client)
      if (locked > 0) {
        ctx.set('Retry-After', String(locked))
        throw new CrawldeckError(429, 'too_many_auth_failures', `too many failed sign-ins from ${client}; try again in ${locked} s`)
      }
      const scope = auth.scopeOfToken(body.token)
      if (scope === null) {
        await auth.sleep(auth.recordFailure(client))
        throw unauthorized('that token is not valid here')
      }
      const session = auth.createSession(scope)
      ctx.cookies.set(SESSION_COOKIE, session.id, { httpOnly: true, sameSite: 'strict', path: '/', maxAge: session.maxAgeMs, secure: ctx.secure, overwrite: true })
      ctx.body = { auth_required: true, signed_in: true, scope }
      return
    }
    if (ctx.path === '/auth/logout' && ctx.method === 'POST') {
      auth.endSession(ctx.cookies.get(SESSION_COOKIE))
      ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0, overwrite: true })
      ctx.body = { auth_required: auth.enabled, signed_in: false, scope: null }
      return
    }
    return next()
  }
}
