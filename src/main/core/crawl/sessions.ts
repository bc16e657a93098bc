/*
 * Named sessions (crawler_config.session_id): one browser context and page kept open between
 * requests, with the browser lease that keeps its browser up, a turn queue so requests on one
 * session never interleave, an idle TTL and a cap.
 */
import type { BrowserContext, Page } from 'playwright-core'
import type { SessionView } from '../../../shared/monitor-types.js'
import { CrawldeckError, invalidInput, NotFoundError, type ValidationError } from '../errors.js'
import type { EngineEventBus, SessionCloseReason } from '../events.js'
import { orGone } from '../pool/browser-gone.js'
import type { ManagedBrowser } from '../pool/managed-browser.js'
import type { Lease } from '../pool/pool.js'
import { shortSig } from '../pool/signature.js'
import type { Deadline } from './deadline.js'

/** The cap on open sessions is reached: the client may retry once one expires or is closed. */
export class SessionLimitError extends CrawldeckError {
  constructor(max: number, retryAfterSeconds: number) {
    const message =
      max === 0
        ? 'named sessions are turned off on this server (max_sessions is 0): send the request without crawler_config.session_id'
        : `this server keeps at most ${max} named sessions and all are open: close one (POST /monitor/actions/close_session) or retry once an idle one expires`
    super(429, 'session_limit', message, { headers: { 'Retry-After': String(retryAfterSeconds) } })
  }
}

/** How a page URL is shown by the monitor: a page chooses its URL, so it is cut. */
const MAX_URL_CHARS = 200

/** One open session: its page, the lease that keeps its browser, and what the monitor shows. */
export class Session {
  readonly createdAt = Date.now()
  lastUsedAt = this.createdAt
  /** Requests served on this page, the one that opened it included. */
  requests = 0
  busy = false
  /** HTTP status and headers of the page's last navigation: what a js_only request reports. */
  lastStatus: number | null = null
  lastHeaders: Record<string, string> | null = null
  /** Why it ended, once it has; a request still on the page reads it to say why it failed. */
  endReason: SessionCloseReason | null = null
  timer: NodeJS.Timeout | null = null
  private markEnded!: () => void
  /** Settles when the session ends: orGone waits on it, so nothing waits on the browser after. */
  readonly ended = new Promise<void>((resolve) => (this.markEnded = resolve))

  constructor(
    readonly id: string,
    readonly lease: Lease,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  get browser(): ManagedBrowser {
    return this.lease.browser
  }

  /** Called once, by SessionStore.end. */
  finish(reason: SessionCloseReason): void {
    this.endReason = reason
    this.markEnded()
  }

  view(now = Date.now()): SessionView {
    let url = ''
    try {
      url = this.page.url()
    } catch {
      // a page already closed has no URL worth showing
    }
    return {
      session_id: this.id,
      browser_sig: this.browser.shortSig,
      browser_id: this.browser.id,
      created_at: Math.floor(this.createdAt / 1000),
      last_used_at: Math.floor(this.lastUsedAt / 1000),
      age_seconds: Math.round((now - this.createdAt) / 100) / 10,
      idle_seconds: this.busy ? 0 : Math.round((now - this.lastUsedAt) / 100) / 10,
      requests: this.requests,
      url: url.length > MAX_URL_CHARS ? url.slice(0, MAX_URL_CHARS) : url,
      busy: this.busy,
    }
  }
}

interface TurnQueue {
  waiters: Array<() => void>
}

export interface SessionStoreOptions {
  events: EngineEventBus
  ttlSeconds: number
  maxSessions: number
  /** How a session's context is closed (the crawler's own, so tests can hold it like any other). */
  closeContext: (context: BrowserContext) => Promise<void>
}

/**
 * Every open session, by id. Who may use a session is decided by its turn queue (one request at a
 * time, in arrival order); what a request may do with it (open one, reuse it, run js_only on it)
 * by `check`. The store never holds an admission slot: the crawler takes one only for the page
 * work, so an idle session costs a lease and a page, not a slot.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>()
  /** Held turns by session id: an entry exists while a request holds the turn. */
  private readonly turns = new Map<string, TurnQueue>()
  /** Sessions being opened (counted against the cap before their page exists). */
  private opening = 0
  /** Why recently ended sessions ended, so a js_only request for one is told more than "unknown". */
  private readonly recentlyEnded = new Map<string, SessionCloseReason>()
  private closed = false

  constructor(private readonly opts: SessionStoreOptions) {}

  get size(): number {
    return this.sessions.size
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id)
  }

  list(): Session[] {
    return [...this.sessions.values()]
  }

  /**
   * Wait for the session's turn: resolves with the function that passes it on. The wait counts
   * against the request's page_timeout (`deadline`) and ends when the caller goes away.
   */
  async takeTurn(id: string, deadline: Deadline, signal?: AbortSignal): Promise<() => void> {
    const release = () => {
      const queue = this.turns.get(id)
      const next = queue?.waiters.shift()
      if (next) return next()
      this.turns.delete(id)
      // A holder that never used the page (refused by `check`) did not re-arm its idle TTL.
      const session = this.sessions.get(id)
      if (session && !session.busy && session.timer === null) this.arm(session)
    }
    const queue = this.turns.get(id)
    if (!queue) {
      this.turns.set(id, { waiters: [] })
      return once(release)
    }
    let granted = false
    let gaveUp = false
    const waiter = () => {
      // Its request stopped waiting a moment ago: the turn goes to the next one.
      if (gaveUp) return release()
      granted = true
      grant()
    }
    let grant!: () => void
    const turn = new Promise<void>((resolve) => (grant = resolve))
    queue.waiters.push(waiter)
    try {
      await deadline.race(turn, `waiting for session "${id}" (another request is using it)`, signal)
    } catch (err) {
      gaveUp = true
      const i = queue.waiters.indexOf(waiter)
      if (i >= 0) queue.waiters.splice(i, 1)
      // Granted between the race giving up and this line: pass it on, or the queue stops here.
      if (granted) release()
      throw err
    }
    return once(release)
  }

  /**
   * Whether this request may go on, before any slot or browser work: a session opened with other
   * browser settings is a 400, js_only on no session a 404, one session too many a 429. Returns
   * the session to reuse, or null when the request opens it (its place under the cap is then
   * reserved until `opened` or `openFailed`). Called with the session's turn held.
   */
  check(id: string, sig: string, jsOnly: boolean): Session | null {
    const existing = this.sessions.get(id)
    if (existing) {
      if (existing.browser.sig !== sig) {
        throw configMismatch(id, existing.browser.sig, sig)
      }
      return existing
    }
    if (jsOnly) {
      const ended = this.recentlyEnded.get(id)
      const why = ended ? ` (it ended: ${ENDED_WORDS[ended]})` : ''
      throw new NotFoundError(
        `no session "${id}" is open${why}: js_only runs on the page of an existing session; open one first with a request that has this session_id and no js_only`,
      )
    }
    if (this.closed) throw new NotFoundError(`session "${id}" cannot be opened: the service is shutting down`)
    if (this.sessions.size + this.opening >= this.opts.maxSessions) throw new SessionLimitError(this.opts.maxSessions, this.retryAfterSeconds())
    this.opening++
    return null
  }

  openFailed(): void {
    this.opening--
  }

  /** A page opened for `id` (after `check` returned null): it is kept from now on. */
  opened(id: string, lease: Lease, context: BrowserContext, page: Page): Session {
    this.opening--
    const session = new Session(id, lease, context, page)
    this.sessions.set(id, session)
    this.recentlyEnded.delete(id)
    session.browser.sessions++
    // The browser leaving the pool (crash, kill, shutdown) ends the session; orGone forgets the
    // browser once the session has ended, so a long-lived browser keeps nothing of old sessions.
    orGone(session.ended, session.browser).catch(() => this.end(session, 'browser_gone'))
    this.opts.events.emit('session:opened', { session_id: id, browser_id: session.browser.id, sig: session.browser.sig })
    return session
  }

  /** A request starts on the session's page: it cannot expire under it. */
  startUse(session: Session): void {
    session.busy = true
    if (session.timer) clearTimeout(session.timer)
    session.timer = null
  }

  /** A request is done with the page: its idle TTL starts again. */
  endUse(session: Session): void {
    session.busy = false
    session.requests++
    session.lastUsedAt = Date.now()
    if (this.sessions.get(session.id) !== session) return
    this.arm(session)
  }

  private arm(session: Session): void {
    if (session.timer) clearTimeout(session.timer)
    session.timer = setTimeout(() => {
      session.timer = null
      // A request holds its turn and is about to use it: it lives on, re-armed when the turn is given back.
      if (session.busy || this.turns.has(session.id)) return
      void this.end(session, 'expired')
    }, this.opts.ttlSeconds * 1000)
    session.timer.unref()
  }

  /** An operator's close. Resolves false when no such session is open. */
  async close(id: string): Promise<boolean> {
    const session = this.sessions.get(id)
    if (!session) return false
    await this.end(session, 'closed')
    return true
  }

  /**
   * End a session: it leaves the store at once (a new request with its id opens a fresh one), its
   * context closes (a request still on it fails, saying why) and then its lease is given back.
   */
  async end(session: Session, reason: SessionCloseReason): Promise<void> {
    if (this.sessions.get(session.id) !== session) return
    this.sessions.delete(session.id)
    if (session.timer) clearTimeout(session.timer)
    session.timer = null
    session.finish(reason)
    this.remember(session.id, reason)
    const browser = session.browser
    browser.sessions--
    session.lease.closing()
    this.opts.events.emit('session:closed', {
      session_id: session.id,
      browser_id: browser.id,
      sig: browser.sig,
      reason,
      requests: session.requests,
      age_seconds: Math.round((Date.now() - session.createdAt) / 100) / 10,
    })
    // Through orGone: the close of a context whose browser was killed may never answer.
    await orGone(this.opts.closeContext(session.context), browser).catch(() => undefined)
    session.lease.release()
  }

  /** Shutdown: no new sessions; every open one is closed while its browser is still up. */
  async closeAll(): Promise<void> {
    this.closed = true
    await Promise.all(this.list().map((s) => this.end(s, 'shutdown')))
  }

  views(): SessionView[] {
    const now = Date.now()
    return this.list()
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((s) => s.view(now))
  }

  /** Seconds until the soonest idle session expires: when a place under the cap may free up. */
  private retryAfterSeconds(): number {
    const now = Date.now()
    const idle = this.list().filter((s) => !s.busy)
    if (idle.length === 0) return Math.max(1, Math.ceil(this.opts.ttlSeconds))
    const soonest = Math.min(...idle.map((s) => s.lastUsedAt + this.opts.ttlSeconds * 1000 - now))
    return Math.max(1, Math.ceil(soonest / 1000))
  }

  private remember(id: string, reason: SessionCloseReason): void {
    this.recentlyEnded.delete(id)
    this.recentlyEnded.set(id, reason)
    // Bounded: only the most recent ends are explained.
    if (this.recentlyEnded.size > 256) this.recentlyEnded.delete(this.recentlyEnded.keys().next().value as string)
  }
}

const ENDED_WORDS: Record<SessionCloseReason, string> = {
  expired: 'it was idle longer than the session TTL',
  closed: 'an operator closed it',
  browser_gone: 'its browser crashed or was killed',
  timeout: 'a request on its page outlived page_timeout, so the page was closed',
  shutdown: 'the service shut down',
}

/** The same session_id with other browser settings than those it was opened with: a 400 naming browser_config. */
function configMismatch(id: string, sessionSig: string, requestSig: string): ValidationError {
  return invalidInput([
    {
      path: 'browser_config',
      message:
        `session "${id}" was opened with browser config ${shortSig(sessionSig)} and this one is ${shortSig(requestSig)}: ` +
        "a session's browser config is fixed when it is opened; send the same browser_config, or use another session_id",
    },
  ])
}

function once(fn: () => void): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    fn()
  }
}
