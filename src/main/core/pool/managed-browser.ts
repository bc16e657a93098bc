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
  /**
   * Of `leases`, those whose crawl has answered and only waits for its context to close: the
   * browser serves no crawl through them, so a kill without force does not wait for them.
   */
  closingLeases = 0
  /** Named sessions whose page lives here; each also holds one of `leases` (crawl/sessions.ts). */
  sessions = 0
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

  /** Leases of crawls still running (not only closing their context). */
  get servingLeases(): number {
    return this.leases - this.closingLeases
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
