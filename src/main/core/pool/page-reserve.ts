import type { BrowserContext, BrowserContextOptions, CDPSession, Page } from 'playwright-core'
import type { BrowserConfig } from '../../../shared/crawl-schemas.js'
import type { Admission } from '../admission.js'
import type { EngineEventBus } from '../events.js'
import type { Logger } from '../logger.js'
import type { LiveSettings } from '../settings/live.js'
import type { MemoryReading } from '../system/memory.js'
import { orGone } from './browser-gone.js'
import type { ManagedBrowser } from './managed-browser.js'
import type { BrowserPool } from './pool.js'

/** A fresh context and its one page, never used by any request. */
export interface ReservedPage {
  readonly context: BrowserContext
  readonly page: Page
  /** A CDP session on `page` for the extraction (see extractFromPage); absent on pairs a test made. */
  readonly session?: CDPSession
}

/**
 * The context options of a crawl on a browser of this config. The reserve and the crawler's own
 * path both use this one function, so a reserved page is exactly the page the request would have
 * made itself (the browser's signature fixes the config, so one reserve per browser is exact).
 */
export function contextOptions(cfg: BrowserConfig): BrowserContextOptions {
  return {
    viewport: { width: cfg.viewport_width, height: cfg.viewport_height },
    userAgent: cfg.user_agent ?? undefined,
    javaScriptEnabled: cfg.java_script_enabled,
    ignoreHTTPSErrors: cfg.ignore_https_errors,
    locale: cfg.locale ?? undefined,
    serviceWorkers: 'block',
    // A crawled page that sends a file (Content-Disposition: attachment, <a download>, a type
    // Chromium does not display) would otherwise have it written to disk in full, at whatever
    // size the page chooses (Playwright's default is to accept downloads). Refused, Chromium
    // cancels the transfer as soon as it is seen to be a download.
    acceptDownloads: false,
    // headers: sent with every request of the context (Playwright merges them in at the network layer).
    extraHTTPHeaders: Object.keys(cfg.headers).length > 0 ? cfg.headers : undefined,
    deviceScaleFactor: cfg.device_scale_factor,
  }
}

/**
 * What a context of this config needs beyond its options, done on the reserve's pairs and on
 * pages made for a request alike: the config's cookies, and with avoid_css a route that refuses
 * stylesheets (a route intercepts every request of the context, so only when asked).
 */
export async function prepareContext(context: BrowserContext, cfg: BrowserConfig): Promise<void> {
  if (cfg.cookies.length > 0) await context.addCookies(cfg.cookies)
  if (cfg.avoid_css) {
    await context.route('**/*', (route) => (route.request().resourceType() === 'stylesheet' ? route.abort('blockedbyclient') : route.fallback()))
  }
}

/** Fresh context + page, given up as soon as the browser leaves the pool (a killed browser can leave the calls pending). */
export async function openFreshPage(browser: ManagedBrowser): Promise<ReservedPage> {
  const context = await orGone(browser.browser.newContext(contextOptions(browser.config)), browser)
  try {
    await orGone(prepareContext(context, browser.config), browser)
    const page = await orGone(context.newPage(), browser)
    // The extraction's channel into the page, attached now rather than on the request's clock.
    const session = await orGone(context.newCDPSession(page), browser)
    return { context, page, session }
  } catch (err) {
    void context.close().catch(() => undefined)
    throw err
  }
}

/**
 * How long a request may wait for the pair being made: the crawler passes its deadline and its
 * caller's abort (a pair can take as long as the browser does, and a request must not outlive
 * either while it waits). Rejects to give up.
 */
export type WaitBound = (claimed: Promise<ReservedPage | null>) => Promise<ReservedPage | null>

interface BrowserReserve {
  readonly browser: ManagedBrowser
  readonly ready: ReservedPage[]
  /** One creation at a time per browser: the reserve never competes with requests by more than one page. */
  filling: boolean
  /** A request that found no pair ready while one was being made: it gets that one. At most one waits. */
  claim: ((pair: ReservedPage | null) => void) | null
  /** Set when the reserve is dropped: a creation that finishes afterwards closes its pair at once. */
  dropped: boolean
}

export interface PageReserveStats {
  /** Pairs ready to be handed out, over all browsers. */
  ready: number
  /** Pairs created since start. */
  created: number
  /** Requests served from the reserve since start. */
  served: number
  /** Requests that found the reserve empty and made their own page. */
  missed: number
  /** Ready pairs closed unused (idle janitor pass, browser retired or gone, shutdown). */
  discarded: number
}

export interface PageReserveDeps {
  /** Ready pairs kept per permanent or hot browser; 0 turns the reserve off. */
  size: number
  pool: BrowserPool
  admission: Admission
  events: EngineEventBus
  logger: Logger
  readMemory: () => MemoryReading
  /**
   * memory_threshold_percent, read before each pair: at or above it no pair is made (a page costs a
   * renderer's memory). Settings change it while the reserve runs.
   */
  live: Pick<LiveSettings, 'memoryThresholdPercent' | 'onChange'>
  /** How a pair is made (tests hold one being made with it); openFreshPage by default. */
  openPage?: (browser: ManagedBrowser) => Promise<ReservedPage>
}

/**
 * Pre-warmed pages: per permanent or hot browser, up to `size` fresh context + page pairs made
 * in the background, so a request does not wait for page creation. A pair leaves the reserve when
 * it is handed out and is closed after its request like any other: nothing is ever reused across
 * requests. Cold browsers keep none (most never see a second request).
 *
 * Refilling only runs while fewer than max_pages requests hold an admission slot, one pair at a
 * time per browser: when every slot is busy the CPU belongs to the requests, and they make their
 * own pages as they would without a reserve. Nor is a pair made at or above memory_threshold_percent
 * as Settings have it now (where the pool launches no browser either). Reserved pairs are real
 * Chromium contexts, so the monitor's open_contexts / open_pages count them (see
 * docs/benchmarks.md, "Pre-warmed pages").
 */
export class PageReserve {
  private readonly reserves = new Map<string, BrowserReserve>()
  private readonly offs: Array<() => void> = []
  private readonly closing = new Set<Promise<unknown>>()
  private closed = false
  private readonly counts = { created: 0, served: 0, missed: 0, discarded: 0 }

  constructor(private readonly deps: PageReserveDeps) {}

  get size(): number {
    return this.deps.size
  }

  /** Follow the pool: fill browsers that become permanent or hot, drop the reserve of any that leaves. */
  start(): void {
    if (this.deps.size === 0) return
    const { events } = this.deps
    this.offs.push(
      events.on('browser:launched', ({ id }) => this.fill(id)),
      events.on('browser:promoted', ({ id }) => this.fill(id)),
      // A slot coming free is when a refill held back by busy slots may go ahead.
      events.on('admission:changed', ({ active, limit }) => {
        if (active < limit) for (const b of this.deps.pool.list()) this.fill(b.id)
      }),
      events.on('browser:retired', ({ id }) => this.drop(id)),
      events.on('browser:crashed', ({ id }) => this.drop(id)),
      events.on('browser:closed', ({ id }) => this.drop(id)),
      // A raised threshold is when a refill held back by memory may go ahead.
      this.deps.live.onChange('memory_threshold_percent', (now, before) => {
        if (now > before) for (const b of this.deps.pool.list()) this.fill(b.id)
      }),
    )
  }

  /**
   * A never-used pair for a request leased on `browser`, or null when none is ready. Taking one
   * starts making its replacement. When none is ready but one is being made, the first request to
   * come waits for that one instead of making its own: it is further along than a page started
   * now, and two made at once slow each other (at c=1, back to back, a third to half of the
   * requests came before the replacement was ready and paid for both).
   */
  async take(browser: ManagedBrowser, bound?: WaitBound): Promise<ReservedPage | null> {
    if (this.deps.size === 0) return null
    const reserve = this.reserves.get(browser.id)
    let pair = reserve?.ready.shift() ?? null
    if (!pair && reserve?.filling && reserve.claim === null) pair = await this.claimNext(reserve, bound)
    // A page can close under us (a renderer crash); such a pair is discarded, not handed out.
    while (pair && pair.page.isClosed()) {
      this.discard(pair, browser)
      pair = reserve?.ready.shift() ?? null
    }
    if (pair) this.counts.served++
    else if (eligible(browser)) this.counts.missed++
    this.fill(browser.id)
    return pair
  }

  /**
   * Wait for the pair being made, within `bound` (the request's deadline and its caller's abort).
   * A request that gives up leaves that pair to the reserve: nothing made is lost or leaked.
   */
  private async claimNext(reserve: BrowserReserve, bound?: WaitBound): Promise<ReservedPage | null> {
    let claim!: (pair: ReservedPage | null) => void
    const claimed = new Promise<ReservedPage | null>((resolve) => (claim = resolve))
    reserve.claim = claim
    if (!bound) return claimed
    try {
      return await bound(claimed)
    } catch (err) {
      // Still waiting: the pair goes to the ready list when it comes. Already handed over in the
      // same tick as the give-up: it goes back.
      if (reserve.claim === claim) reserve.claim = null
      else void claimed.then((pair) => pair && this.giveBack(pair, reserve))
      throw err
    }
  }

  /**
   * A pair handed to a request that had already given up: ready again, or closed when it cannot be
   * or when the reserve is full counting the pair its refill is already making.
   */
  private giveBack(pair: ReservedPage, reserve: BrowserReserve): void {
    const coming = reserve.ready.length + (reserve.filling ? 1 : 0)
    if (this.closed || reserve.dropped || pair.page.isClosed() || coming >= this.deps.size) this.discard(pair, reserve.browser)
    else reserve.ready.unshift(pair)
  }

  /** Pairs ready on one browser (what the monitor's open_contexts of that browser include). */
  readyOn(browserId: string): number {
    return this.reserves.get(browserId)?.ready.length ?? 0
  }

  stats(): PageReserveStats {
    let ready = 0
    for (const r of this.reserves.values()) ready += r.ready.length
    return { ready, ...this.counts }
  }

  /**
   * The janitor's part: close the reserve of every browser idle for at least `idleSeconds`. It is
   * made again when the browser next serves a request (the next admission change).
   */
  async closeIdle(idleSeconds: number, now = Date.now()): Promise<number> {
    let closed = 0
    for (const reserve of [...this.reserves.values()]) {
      if (reserve.browser.idleSeconds(now) < idleSeconds) continue
      closed += reserve.ready.length
      this.drop(reserve.browser.id)
    }
    await this.settled()
    return closed
  }

  /** Shutdown: stop refilling, close every reserved pair, wait for the closes. */
  async close(): Promise<void> {
    this.closed = true
    for (const off of this.offs.splice(0)) off()
    for (const id of [...this.reserves.keys()]) this.drop(id)
    await this.settled()
  }

  private async settled(): Promise<void> {
    while (this.closing.size > 0) await Promise.allSettled([...this.closing])
  }

  private fill(browserId: string): void {
    if (this.closed || this.deps.size === 0) return
    const browser = this.deps.pool.get(browserId)
    if (!browser || !eligible(browser)) return
    let reserve = this.reserves.get(browserId)
    if (!reserve) {
      reserve = { browser, ready: [], filling: false, claim: null, dropped: false }
      this.reserves.set(browserId, reserve)
    }
    if (reserve.filling || reserve.ready.length >= this.deps.size || !this.slotFree()) return
    const filling = this.fillLoop(reserve)
    this.closing.add(filling)
    void filling.finally(() => this.closing.delete(filling))
  }

  private slotFree(): boolean {
    const { admission } = this.deps
    return admission.activeCount < admission.capacity.limit
  }

  /** Read once per pair about to be made, not per admission change. */
  private memoryLeft(): boolean {
    return this.deps.readMemory().percent < this.deps.live.memoryThresholdPercent
  }

  private async fillLoop(reserve: BrowserReserve): Promise<void> {
    reserve.filling = true
    try {
      while (!this.closed && !reserve.dropped && reserve.ready.length < this.deps.size && eligible(reserve.browser) && this.slotFree() && this.memoryLeft()) {
        const pair = await (this.deps.openPage ?? openFreshPage)(reserve.browser)
        this.counts.created++
        if (this.closed || reserve.dropped || !eligible(reserve.browser)) {
          this.discard(pair, reserve.browser)
          break
        }
        const claim = reserve.claim
        reserve.claim = null
        if (claim) claim(pair)
        else reserve.ready.push(pair)
      }
    } catch (err) {
      // The browser went away or refused a context: requests make their own pages meanwhile.
      this.deps.logger.debug({ browser: reserve.browser.shortSig, err: err instanceof Error ? err.message : String(err) }, 'page reserve refill stopped')
    } finally {
      reserve.filling = false
      // A request still waiting makes its own page.
      reserve.claim?.(null)
      reserve.claim = null
    }
  }

  private drop(browserId: string): void {
    const reserve = this.reserves.get(browserId)
    if (!reserve) return
    this.reserves.delete(browserId)
    reserve.dropped = true
    for (const pair of reserve.ready.splice(0)) this.discard(pair, reserve.browser)
  }

  private discard(pair: ReservedPage, browser: ManagedBrowser): void {
    this.counts.discarded++
    // Through orGone: the close of a context whose browser was killed may never answer.
    const closing = orGone(pair.context.close(), browser).catch(() => undefined)
    this.closing.add(closing)
    void closing.finally(() => this.closing.delete(closing))
  }
}

/** Permanent and hot browsers that still take leases keep a reserve; cold ones never do. */
function eligible(browser: ManagedBrowser): boolean {
  return browser.acceptsLeases && browser.tier !== 'cold'
}
