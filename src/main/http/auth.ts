import crypto from 'node:crypto'
import type { Context, Middleware } from 'koa'
import type { AuthScope, AuthSession } from '../../shared/api-types.js'
import type { OperationScope } from '../../shared/contract.js'
import { isTokenDigest } from '../../shared/settings.js'
import { CrawldeckError, invalidInput } from '../core/errors.js'
import { jsonBody } from './body.js'

/*
 * Who may do what over HTTP. Three scopes, each containing the one before:
 *   read  — monitor GETs, the live stream, /metrics, the dashboard;
 *   crawl — read + the crawl endpoints;
 *   admin — everything: actions, stats reset, settings.
 * Each route declares its scope in the contract, and the router checks the scope of the route
 * that matched (routes.ts), so no spelling of a path can reach a handler under another route's
 * scope. With no token configured on a loopback bind everything is open for local use; on any
 * other bind the service never runs open. Scripts send `Authorization: Bearer <token>`; the
 * dashboard trades a token for an HttpOnly SameSite=Strict session cookie at POST /auth/session,
 * so no long-lived token ever sits in a URL or in page script. A session lives only as long as
 * its token: it grants what that token grants now. The IPC door has no tokens: the desktop
 * window is the app itself.
 */

export type Scope = AuthScope
const RANK: Record<Scope, number> = { read: 1, crawl: 2, admin: 3 }

export interface TokenSet {
  admin: readonly string[]
  crawl: readonly string[]
  read: readonly string[]
}

export const SESSION_COOKIE = 'crawldeck_session'

export interface AuthOptions {
  now?: () => number
  /**
   * Bound to an address others can reach: with no token configured every request is refused
   * (never open), instead of the open local mode a loopback bind gets.
   */
  requireTokens?: boolean
  /** Failed attempts from one client with one token prefix within `failureWindowMs` before that pair is refused outright. */
  maxFailures?: number
  failureWindowMs?: number
  sessionTtlMs?: number
  /** Sessions one token may hold; signing in once more ends that token's oldest session, never another token's. */
  maxSessionsPerToken?: number
  /** Wait before answering a failed attempt (slows down guessing); injectable for tests. */
  sleep?: (ms: number) => Promise<void>
}

interface Failures {
  count: number
  first: number
}

interface Session {
  /** Digest of the token that signed in, hex: the session grants what that token grants now. */
  token: string
  expires: number
}

const digest = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest()
/** A configured token's digest: computed, or read from the digest form Settings keep. */
const configuredDigest = (t: string) => (isTokenDigest(t) ? Buffer.from(t.slice(7, 71), 'hex') : digest(t))

/**
 * Characters of a presented token that key its failures, with the client address. Guesses from
 * one address share a lockout only with guesses that start the same way, so a stranger's wrong
 * guesses (or a NAT neighbour's) never lock out a valid token; tokens are at least 16 random
 * characters, so a guesser gains nothing from the key.
 */
const FAILURE_PREFIX = 6

export class Authenticator {
  private readonly source: () => TokenSet
  /** Digests of the token lists last read from the source, recomputed only when a list is replaced. */
  private cached: { lists: [readonly string[], readonly string[], readonly string[]]; tokens: Array<{ scope: Scope; digest: Buffer; hex: string }> } | null =
    null
  private readonly sessions = new Map<string, Session>()
  private readonly failures = new Map<string, Failures>()
  private readonly now: () => number
  private readonly requireTokens: boolean
  private readonly maxFailures: number
  private readonly failureWindowMs: number
  private readonly sessionTtlMs: number
  private readonly maxSessionsPerToken: number
  readonly sleep: (ms: number) => Promise<void>

  /** `tokens` may be a function: the lists are then read on every check (Settings change them live). */
  constructor(tokens: TokenSet | (() => TokenSet), opts: AuthOptions = {}) {
    this.source = typeof tokens === 'function' ? tokens : () => tokens
    this.now = opts.now ?? Date.now
    this.requireTokens = opts.requireTokens ?? false
    this.maxFailures = opts.maxFailures ?? 10
    this.failureWindowMs = opts.failureWindowMs ?? 60_000
    this.sessionTtlMs = opts.sessionTtlMs ?? 12 * 3600_000
    this.maxSessionsPerToken = opts.maxSessionsPerToken ?? 64
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)))
  }

  private get tokens(): Array<{ scope: Scope; digest: Buffer; hex: string }> {
    const set = this.source()
    const c = this.cached
    if (c && c.lists[0] === set.admin && c.lists[1] === set.crawl && c.lists[2] === set.read) return c.tokens
    const tokens = (['admin', 'crawl', 'read'] as const).flatMap((scope) =>
      set[scope].map((t) => {
        const d = configuredDigest(t)
        return { scope, digest: d, hex: d.toString('hex') }
      }),
    )
    this.cached = { lists: [set.admin, set.crawl, set.read], tokens }
    return tokens
  }

  /** Sign-in is needed as soon as one token is configured, and always on a bind others can reach. */
  get enabled(): boolean {
    return this.requireTokens || this.tokens.length > 0
  }

  /**
   * The highest scope a token grants, or null. Every configured token is compared, in constant
   * time on equal-length digests, whatever matched first: the answer's timing says nothing about
   * which token (or how much of one) was right.
   */
  scopeOfToken(token: string): Scope | null {
    return this.scopeOfDigest(digest(token))
  }

  private scopeOfDigest(d: Buffer): Scope | null {
    let best: Scope | null = null
    for (const t of this.tokens) {
      if (crypto.timingSafeEqual(d, t.digest) && (best === null || RANK[t.scope] > RANK[best])) best = t.scope
    }
    return best
  }

  /** A session for a valid token, or null when the token grants nothing. */
  createSession(token: string): { id: string; scope: Scope; maxAgeMs: number } | null {
    const d = digest(token)
    const scope = this.scopeOfDigest(d)
    if (scope === null) return null
    this.pruneSessions()
    const hex = d.toString('hex')
    const own = [...this.sessions].filter(([, s]) => s.token === hex)
    // Oldest first (insertion order): only this token's own sessions make room.
    for (const [id] of own.slice(0, Math.max(0, own.length - this.maxSessionsPerToken + 1))) this.sessions.delete(id)
    const id = crypto.randomBytes(32).toString('base64url')
    this.sessions.set(id, { token: hex, expires: this.now() + this.sessionTtlMs })
    return { id, scope, maxAgeMs: this.sessionTtlMs }
  }

  /** What a session grants now: its token's current scope; null once the token is revoked or the session expired. */
  sessionScope(id: string | undefined): Scope | null {
    if (!id) return null
    const s = this.sessions.get(id)
    if (!s) return null
    if (s.expires <= this.now()) {
      this.sessions.delete(id)
      return null
    }
    const scope = this.scopeOfDigest(Buffer.from(s.token, 'hex'))
    if (scope === null) this.sessions.delete(id)
    return scope
  }

  endSession(id: string | undefined): void {
    if (id) this.sessions.delete(id)
  }

  /** Seconds until this client may try this token prefix again, or 0 when it is not locked out. */
  lockedFor(client: string, token: string): number {
    const key = failureKey(client, token)
    const f = this.failures.get(key)
    if (!f) return 0
    const left = f.first + this.failureWindowMs - this.now()
    if (left <= 0) {
      this.failures.delete(key)
      return 0
    }
    return f.count >= this.maxFailures ? Math.ceil(left / 1000) : 0
  }

  /** Counts a failed attempt; returns how long to wait before answering it. */
  recordFailure(client: string, token: string): number {
    const key = failureKey(client, token)
    const now = this.now()
    let f = this.failures.get(key)
    if (!f || f.first + this.failureWindowMs <= now) {
      f = { count: 0, first: now }
      this.failures.delete(key)
      // Bounded: an attacker rotating addresses or prefixes cannot grow this without limit.
      if (this.failures.size >= 10_000) this.failures.delete(this.failures.keys().next().value as string)
      this.failures.set(key, f)
    }
    f.count++
    return Math.min(2000, 100 * 2 ** Math.max(0, f.count - 3))
  }

  private pruneSessions(): void {
    const now = this.now()
    for (const [id, s] of this.sessions) if (s.expires <= now) this.sessions.delete(id)
  }
}

function failureKey(client: string, token: string): string {
  return `${client}\u0000${token.slice(0, FAILURE_PREFIX)}`
}

function bearer(ctx: Context): string | null {
  const h = ctx.get('authorization')
  if (h === '') return null
  const m = /^Bearer +(\S{1,4096}) *$/i.exec(h)
  if (!m) throw new CrawldeckError(401, 'unauthorized', 'the Authorization header must be "Bearer <token>"')
  return m[1] as string
}

/**
 * Checks a presented token: 429 while this client's guesses with this prefix are locked out,
 * 401 (after a growing wait) when it grants nothing.
 */
async function checkToken(ctx: Context, auth: Authenticator, token: string): Promise<Scope> {
  const client = ctx.ip || 'unknown'
  const locked = auth.lockedFor(client, token)
  if (locked > 0) {
    ctx.set('Retry-After', String(locked))
    throw new CrawldeckError(429, 'too_many_auth_failures', `too many failed sign-ins from ${client} with this token; try again in ${locked} s`)
  }
  const scope = auth.scopeOfToken(token)
  if (scope === null) {
    await auth.sleep(auth.recordFailure(client, token))
    throw unauthorized('that token is not valid here')
  }
  return scope
}

/** The scope this request carries: a Bearer token wins over the session cookie. */
async function callerScope(ctx: Context, auth: Authenticator): Promise<Scope | null> {
  const token = bearer(ctx)
  if (token !== null) return checkToken(ctx, auth, token)
  return auth.sessionScope(ctx.cookies.get(SESSION_COOKIE))
}

function unauthorized(message: string): CrawldeckError {
  return new CrawldeckError(401, 'unauthorized', message)
}

/**
 * A refused request's connection is not kept: its body (which may never come) is not read, and
 * a client that keeps failing must open a new connection for each try.
 */
function refuse(ctx: Context, err: CrawldeckError): never {
  ctx.set('Connection', 'close')
  throw err
}

/**
 * The gate in front of one route: passes when the caller's scope reaches `need`, refuses with
 * 401 without credentials and 403 with too little. Runs before the body is read.
 */
export function requireScope(auth: Authenticator, need: OperationScope): Middleware {
  return async (ctx, next) => {
    if (!auth.enabled) {
      // Open for local use: every caller is the machine's own user.
      ctx.state.scope = 'admin'
      return next()
    }
    // Credentials that are sent are checked on every route, open ones included (a wrong token is
    // a 401 and counts as a failure), so an open route is no way around the lockout.
    let scope: Scope | null
    try {
      scope = await callerScope(ctx, auth)
    } catch (err) {
      if (err instanceof CrawldeckError && err.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="crawldeck"')
      if (err instanceof CrawldeckError && need !== 'open') refuse(ctx, err)
      throw err
    }
    if (need === 'open') {
      // Anyone may ask; what they are shown depends on who they are.
      if (scope !== null) ctx.state.scope = scope
      return next()
    }
    if (scope === null) {
      ctx.set('WWW-Authenticate', 'Bearer realm="crawldeck"')
      refuse(ctx, unauthorized(`sign in: send "Authorization: Bearer <token>" (a ${need} token or better), or sign in to the dashboard`))
    }
    if (RANK[scope] < RANK[need])
      refuse(ctx, new CrawldeckError(403, 'forbidden', `${ctx.method} ${ctx.path} needs the ${need} scope; this token has ${scope}`))
    ctx.state.scope = scope
    return next()
  }
}

/** Sign-in bodies are a token and nothing else. */
const SIGN_IN_BODY_LIMIT = 8 * 1024

/**
 * The dashboard's sign-in: POST /auth/session {token} → an HttpOnly, SameSite=Strict session
 * cookie (Secure when the request came over https); GET /auth/session says who you are (and
 * whether sign-in is needed at all); POST /auth/logout ends the session.
 */
export function authRoutes(auth: Authenticator): Middleware {
  const body = jsonBody(SIGN_IN_BODY_LIMIT)
  return async (ctx, next) => {
    if (ctx.path === '/auth/session' && ctx.method === 'GET') {
      const scope = auth.enabled ? auth.sessionScope(ctx.cookies.get(SESSION_COOKIE)) : 'admin'
      ctx.body = { auth_required: auth.enabled, signed_in: scope !== null, scope } satisfies AuthSession
      return
    }
    if (ctx.path === '/auth/session' && ctx.method === 'POST') {
      return body(ctx, async () => {
        const sent = ctx.request.body as { token?: unknown } | undefined
        if (!sent || typeof sent.token !== 'string' || sent.token === '') throw invalidInput([{ path: 'token', message: 'send {"token": "<your token>"}' }])
        if (!auth.enabled) {
          ctx.body = { auth_required: false, signed_in: true, scope: 'admin' } satisfies AuthSession
          return
        }
        await checkToken(ctx, auth, sent.token)
        const session = auth.createSession(sent.token)
        // Revoked between the check and now (a Settings save in between): as if never valid.
        if (session === null) throw unauthorized('that token is not valid here')
        ctx.cookies.set(SESSION_COOKIE, session.id, {
          httpOnly: true,
          sameSite: 'strict',
          path: '/',
          maxAge: session.maxAgeMs,
          secure: ctx.secure,
          overwrite: true,
        })
        ctx.body = { auth_required: true, signed_in: true, scope: session.scope } satisfies AuthSession
      })
    }
    if (ctx.path === '/auth/logout' && ctx.method === 'POST') {
      auth.endSession(ctx.cookies.get(SESSION_COOKIE))
      ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/', maxAge: 0, secure: ctx.secure, overwrite: true })
      ctx.body = { auth_required: auth.enabled, signed_in: false, scope: null } satisfies AuthSession
      return
    }
    return next()
  }
}
