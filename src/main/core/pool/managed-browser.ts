import type { Browser } from 'playwright-core'
import type { BrowserConfig } from '../../../shared/crawl-schemas.js'
import type { BrowserTier, CloseReason } from '../events.js'
import { shortSig } from './signature.js'

/**
 * One Chromium process in the pool and the facts the monitor shows about it. Its lifecycle
 * (after Crawlee's browser-pool): active -> retired (no new leases) -> closing -> closed.
 */
export type BrowserState = 'active' | 'retired' | 'closing' | 'closed'

export class ManagedBrowser {
  readonly shortSig: string
  state: BrowserState = 'active'
  tier: BrowserTier
  leases = 0
  /** Leases ever taken; drives promotion and the monitor's `hits`. */
  uses = 0
  /** Pages opened in this browser; drives recycling. */
  pagesServed = 0
  lastUsedAt: number
  closeReason: CloseReason | null = null
  retireReason: 'pages' | 'restart' | null = null
  /** Settles when the browser has left the pool for good, with the reason. */
  readonly gone: Promise<CloseReason>
  private resolveGone!: (reason: CloseReason) => void

  constructor(
    readonly id: string,
    readonly sig: string,
    readonly config: BrowserConfig,
    tier: BrowserTier,
    readonly browser: Browser,
    readonly pid: number | null,
    readonly launchedAt: number,
    readonly launchMs: number,
  ) {
    this.shortSig = shortSig(sig)
    this.tier = tier
    this.lastUsedAt = launchedAt
    this.gone = new Promise((resolve) => (this.resolveGone = resolve))
  }

  get acceptsLeases(): boolean {
    return this.state === 'active'
  }

  idleSeconds(now = Date.now()): number {
    return this.leases > 0 ? 0 : Math.max(0, (now - this.lastUsedAt) / 1000)
  }

  markGone(reason: CloseReason): void {
    this.state = 'closed'
    this.closeReason ??= reason
    this.resolveGone(this.closeReason)
  }
}

/**
 * `p`, or a "closed" rejection as soon as the browser leaves the pool. A browser SIGKILLed while
 * Playwright was creating a context or page can leave that call pending for good (seen under
 * load: a crawl stuck in 'acquiring' for minutes after its browser was gone and replaced).
 */
export function orGone<T>(p: Promise<T>, browser: ManagedBrowser): Promise<T> {
  const gone = browser.gone.then((reason) => Promise.reject(new Error(`the browser has been closed (${reason})`)))
  gone.catch(() => undefined)
  return Promise.race([p, gone])
}
