import { randomUUID } from 'node:crypto'
import { chromium } from 'playwright-core'
import type { BrowserConfig } from '../../../shared/crawl-schemas.js'
import type { FixedConfig } from '../config.js'
import { BrowserLaunchError, ConflictError, firstLine, ForbiddenError, MemoryPressureError, NotFoundError, ShuttingDownError } from '../errors.js'
import type { BrowserTier, CloseReason, EngineEventBus } from '../events.js'
import type { Logger } from '../logger.js'
import type { LiveSettings } from '../settings/live.js'
import type { MemoryReading } from '../system/memory.js'
import { findProcessesWithArg, isAlive, killProcessTree } from '../system/process-tree.js'
import type { PoolBinary } from '../chromium/executables.js'
import { BASE_CHROMIUM_ARGS, configSwitches, mergeBlinkSettings } from '../chromium/launch-args.js'
import { SANDBOX_UNAVAILABLE_HINT } from '../chromium/sandbox.js'
import { EGRESS_CHROMIUM_ARGS } from '../egress/guard.js'
import { busyText, coldCleanup, killBlocker, PERMANENT_NOT_KILLABLE } from './kill-rule.js'
import { ManagedBrowser } from './managed-browser.js'
import { configSignature, normaliseBrowserConfig } from './signature.js'

/*
 * The browser pool: every Chromium the service runs (permanent, hot and cold tiers), the leases
 * crawls take on them, and how they are launched, retired, killed, restarted and replaced.
 */

export interface Lease {
  readonly browser: ManagedBrowser
  /** True only when an already-running browser served the request (no launch awaited). */
  readonly poolHit: boolean
  readonly waitMs: number
  /** The crawl has answered; only its context's close is left before release(). */
  closing(): void
  release(): void
}

export interface PoolDeps {
  config: FixedConfig
  /** memory_threshold_percent, read at each launch: Settings change it while the pool runs. */
  live: Pick<LiveSettings, 'memoryThresholdPercent'>
  /** What headless and headed browsers are launched from (chromium/executables.ts). */
  chromium: { headless: PoolBinary; headed: PoolBinary | null }
  events: EngineEventBus
  logger: Logger
  readMemory: () => MemoryReading
  /** The egress guard's proxy, when private targets are refused: every browser goes through it. */
  egressProxy?: { server: string } | null
  /** Launch inside Chromium's sandbox (chromium/sandbox.ts: false as root, where Chromium needs --no-sandbox). */
  sandbox: boolean
}

/** How long a polite close may take before the process tree is killed. */
const CLOSE_GRACE_MS = 5_000
const LAUNCH_TIMEOUT_MS = 30_000

/**
 * The browser pool: tiers, leases, single-flight launches, retirement and crash handling.
 * It reports every change as an event and knows nothing of who listens.
 */
export class BrowserPool {
  readonly defaultConfig: BrowserConfig
  readonly defaultSig: string
  private readonly entries = new Map<string, ManagedBrowser>()
  /** In-flight launches by signature: the single-flight table. No lock is held across a launch. */
  private readonly launching = new Map<string, Promise<ManagedBrowser>>()
  /** Tier a replacement browser of this signature starts in (a recycled hot browser stays hot). */
  private readonly replacementTier = new Map<string, BrowserTier>()
  private readonly closing = new Set<Promise<void>>()
  private shuttingDown = false
  private permanentRelaunchTimer: NodeJS.Timeout | null = null
  private permanentFailures = 0
  /** Last error from launching the permanent browser, cleared by a successful launch. */
  permanentLaunchError: string | null = null

  constructor(private readonly deps: PoolDeps) {
    this.defaultConfig = normaliseBrowserConfig({})
    this.defaultSig = configSignature(this.defaultConfig)
  }

  /** Launches the permanent browser; start-up fails if it cannot. */
  async start(): Promise<void> {
    await this.launch(this.defaultSig, this.defaultConfig, 'permanent')
  }

  list(): ManagedBrowser[] {
    return [...this.entries.values()]
  }

  /** Browsers in the pool per tier: what /health, the monitor and /metrics all report. */
  tierCounts(): Record<BrowserTier, number> {
    const counts = { permanent: 0, hot: 0, cold: 0 }
    for (const b of this.entries.values()) counts[b.tier]++
    return counts
  }

  get(id: string): ManagedBrowser | undefined {
    return this.entries.get(id)
  }

  /**
   * The permanent browser the service stands on: the active one or, while its replacement
   * launches, the retired one that is still up and finishing its crawls.
   */
  permanent(): ManagedBrowser | undefined {
    const permanents = this.list().filter((b) => b.tier === 'permanent')
    return permanents.find((b) => b.acceptsLeases) ?? permanents.find((b) => b.state === 'retired')
  }

  private hasActivePermanent(): boolean {
    return this.list().some((b) => b.tier === 'permanent' && b.acceptsLeases)
  }

  isLaunching(sig: string): boolean {
    return this.launching.has(sig)
  }

  async acquire(config: BrowserConfig, ctx: { requestId?: string | null } = {}): Promise<Lease> {
    const started = Date.now()
    const sig = configSignature(config)
    // A browser picked here can be retired or crash before we take the lease only across an
    // await (a launch); the loop then picks again. Three rounds is plenty in practice.
    for (let round = 0; round < 3; round++) {
      if (this.shuttingDown) throw new ShuttingDownError()
      let entry = this.pickActive(sig)
      const poolHit = entry !== undefined
      entry ??= await this.launch(sig, config, this.tierForLaunch(sig))
      if (!entry.acceptsLeases) continue
      return this.takeLease(entry, poolHit, Date.now() - started, ctx.requestId ?? null)
    }
    throw new BrowserLaunchError(`could not get a usable browser for config ${sig.slice(0, 12)}: it kept closing while we waited`)
  }

  private pickActive(sig: string): ManagedBrowser | undefined {
    let best: ManagedBrowser | undefined
    for (const b of this.entries.values()) {
      if (b.sig === sig && b.acceptsLeases && (!best || b.leases < best.leases)) best = b
    }
    return best
  }

  private tierForLaunch(sig: string): BrowserTier {
    if (sig === this.defaultSig) return 'permanent'
    return this.replacementTier.get(sig) ?? 'cold'
  }

  // Synchronous on purpose: between picking a browser and counting its lease nothing else runs,
  // so the janitor can never close a browser that is about to be used.
  private takeLease(entry: ManagedBrowser, poolHit: boolean, waitMs: number, requestId: string | null): Lease {
    const { config, events } = this.deps
    entry.leases++
    entry.uses++
    entry.pagesServed++
    entry.lastUsedAt = Date.now()
    events.emit('lease:acquired', { id: entry.id, sig: entry.sig, request_id: requestId, pool_hit: poolHit, wait_ms: waitMs, leases: entry.leases })
    if (entry.tier === 'cold' && entry.uses >= config.promote_after_uses) {
      entry.tier = 'hot'
      events.emit('browser:promoted', { id: entry.id, sig: entry.sig, from: 'cold', to: 'hot', uses: entry.uses })
    }
    if (entry.pagesServed >= config.retire_after_pages) this.retire(entry, 'pages')
    let released = false
    let closing = false
    return {
      browser: entry,
      poolHit,
      waitMs,
      closing: () => {
        if (released || closing) return
        closing = true
        entry.closingLeases++
      },
      release: () => {
        if (released) return
        released = true
        if (closing) entry.closingLeases--
        entry.leases--
        entry.lastUsedAt = Date.now()
        events.emit('lease:released', { id: entry.id, sig: entry.sig, request_id: requestId, leases: entry.leases })
        if (entry.state === 'retired' && entry.leases === 0) this.closeRetired(entry)
      },
    }
  }

  /** Stop giving out leases; close once the last lease ends. A retired permanent browser is replaced at once. */
  private retire(entry: ManagedBrowser, reason: 'pages' | 'restart'): void {
    if (entry.state !== 'active') return
    entry.state = 'retired'
    entry.retireReason = reason
    this.deps.events.emit('browser:retired', { id: entry.id, sig: entry.sig, tier: entry.tier, pages_served: entry.pagesServed, reason })
    if (entry.tier !== 'cold') this.replacementTier.set(entry.sig, entry.tier)
    if (entry.tier === 'permanent' && reason === 'pages') this.ensurePermanent()
    if (entry.leases === 0) this.closeRetired(entry)
  }

  /**
   * A retired browser whose last lease ended. A retired permanent browser stays up until its
   * replacement has launched, so the service is never left without a permanent browser (and
   * /health never reports it down) just because it was recycled.
   */
  private closeRetired(entry: ManagedBrowser): void {
    const reason = entry.retireReason === 'restart' ? 'restarted' : 'retired'
    const replacement = entry.tier === 'permanent' ? this.launching.get(this.defaultSig) : undefined
    if (replacement) {
      void replacement.then(
        () => this.close(entry, reason),
        () => this.close(entry, reason),
      )
      return
    }
    void this.close(entry, reason)
  }

  /** Single-flight launch: concurrent callers for one signature share one Chromium start. */
  private launch(sig: string, config: BrowserConfig, tier: BrowserTier): Promise<ManagedBrowser> {
    const inflight = this.launching.get(sig)
    if (inflight) return inflight
    if (this.shuttingDown) return Promise.reject(new ShuttingDownError())
    // The permanent browser replaces one that is gone or retiring, so it is exempt: without it
    // the service cannot serve the default config at all.
    if (tier !== 'permanent') {
      const mem = this.deps.readMemory()
      const threshold = this.deps.live.memoryThresholdPercent
      if (mem.percent >= threshold) return Promise.reject(new MemoryPressureError(mem.percent, threshold, mem.source))
    }
    const promise = this.doLaunch(sig, config, tier).finally(() => this.launching.delete(sig))
    this.launching.set(sig, promise)
    return promise
  }

  private async doLaunch(sig: string, config: BrowserConfig, tier: BrowserTier): Promise<ManagedBrowser> {
    const { events, logger } = this.deps
    const id = randomUUID()
    // playwright-core does not expose the PID; this inert switch lets us find the process tree.
    const marker = `--crawldeck-browser=${id}`
    events.emit('browser:launching', { sig, tier })
    const t0 = Date.now()
    const binary = config.headless ? this.deps.chromium.headless : this.deps.chromium.headed
    if (binary === null) {
      const message =
        `headless: false needs a full Chromium, and only a headless shell was found (${this.deps.chromium.headless.path}). ` +
        'Install one (Debian/Ubuntu: apt-get install -y chromium) or point --chromium at it.'
      events.emit('browser:launch_failed', { sig, tier, error: message })
      throw new BrowserLaunchError(message)
    }
    let browser
    try {
      browser = await chromium.launch({
        executablePath: binary.launchPath,
        headless: config.headless,
        // Playwright adds --no-sandbox unless this is true.
        chromiumSandbox: this.deps.sandbox,
        args: mergeBlinkSettings([
          ...BASE_CHROMIUM_ARGS,
          ...(this.deps.egressProxy ? EGRESS_CHROMIUM_ARGS : []),
          ...this.deps.config.chromium_args,
          ...config.extra_args,
          ...configSwitches(config),
          marker,
        ]),
        // The guard's proxy wins; the crawl service refuses a browser_config.proxy while it is on.
        // It carries the guard's per-run username and password: Playwright answers the proxy's
        // 407 with them, so they must reach this option whole.
        proxy: this.deps.egressProxy ?? config.proxy ?? undefined,
        timeout: LAUNCH_TIMEOUT_MS,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      })
    } catch (err) {
      // Playwright's first line says only that the browser closed; Chromium's reason is in its log.
      const unsandboxable = this.deps.sandbox && saysNoSandbox(err)
      const message = `could not launch Chromium (${binary.path}): ${unsandboxable ? SANDBOX_UNAVAILABLE_HINT : firstLine(err)}`
      events.emit('browser:launch_failed', { sig, tier, error: message })
      if (tier === 'permanent') this.permanentLaunchError = message
      throw new BrowserLaunchError(message, err)
    }
    const pid = await findBrowserPid(marker)
    const entry = new ManagedBrowser(id, sig, config, tier, browser, pid, Date.now(), Date.now() - t0)
    browser.on('disconnected', () => this.onDisconnected(entry))
    if (this.shuttingDown) {
      await this.close(entry, 'shutdown')
      throw new ShuttingDownError()
    }
    this.entries.set(id, entry)
    if (tier === 'permanent') {
      this.permanentLaunchError = null
      this.permanentFailures = 0
    }
    events.emit('browser:launched', { id, sig, tier, pid, launch_ms: entry.launchMs })
    logger.debug({ id, sig: entry.shortSig, tier, pid, launch_ms: entry.launchMs }, 'browser launched')
    return entry
  }

  private onDisconnected(entry: ManagedBrowser): void {
    if (entry.state === 'closing' || entry.state === 'closed') return
    // Nobody asked for this: the browser crashed or its process was killed from outside.
    const { events, logger } = this.deps
    this.entries.delete(entry.id)
    entry.closeReason = 'crashed'
    events.emit('browser:crashed', { id: entry.id, sig: entry.sig, tier: entry.tier, leases: entry.leases })
    logger.warn({ id: entry.id, sig: entry.shortSig, tier: entry.tier, leases: entry.leases }, 'browser crashed')
    entry.markGone('crashed')
    events.emit('browser:closed', {
      id: entry.id,
      sig: entry.sig,
      tier: entry.tier,
      reason: 'crashed',
      idle_seconds: entry.idleSeconds(),
      ttl_seconds: null,
      leases: entry.leases,
    })
    // Renderer processes can outlive their browser process; reap the whole tree.
    if (entry.pid !== null) void killProcessTree(entry.pid).catch(() => undefined)
    if (entry.tier === 'permanent') this.ensurePermanent()
  }

  /** Relaunch the permanent browser if none is active, backing off while launches fail. */
  private ensurePermanent(): void {
    if (this.shuttingDown || this.permanentRelaunchTimer || this.hasActivePermanent() || this.launching.has(this.defaultSig)) return
    this.launch(this.defaultSig, this.defaultConfig, 'permanent').catch((err) => {
      this.permanentFailures++
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.permanentFailures - 1, 5))
      this.deps.logger.error({ err: firstLine(err), retry_in_ms: delay }, 'permanent browser relaunch failed')
      this.permanentRelaunchTimer = setTimeout(() => {
        this.permanentRelaunchTimer = null
        this.ensurePermanent()
      }, delay)
      this.permanentRelaunchTimer.unref()
    })
  }

  /**
   * Close a browser and leave no process behind: a polite close first, then SIGKILL of its
   * process tree if it is still around after the grace period.
   */
  close(entry: ManagedBrowser, reason: CloseReason, ttlSeconds: number | null = null): Promise<void> {
    if (entry.state === 'closing' || entry.state === 'closed') return entry.gone.then(() => undefined)
    const idle = entry.idleSeconds()
    const leases = entry.leases
    entry.state = 'closing'
    entry.closeReason = reason
    this.entries.delete(entry.id)
    const done = (async () => {
      const closed = entry.browser.close().then(
        () => true,
        () => true,
      )
      const inTime = await Promise.race([closed, delay(CLOSE_GRACE_MS).then(() => false)])
      if (!inTime && entry.pid !== null && isAlive(entry.pid)) await killProcessTree(entry.pid).catch(() => undefined)
      entry.markGone(reason)
      this.deps.events.emit('browser:closed', { id: entry.id, sig: entry.sig, tier: entry.tier, reason, idle_seconds: idle, ttl_seconds: ttlSeconds, leases })
      this.deps.logger.debug({ id: entry.id, sig: entry.shortSig, reason }, 'browser closed')
    })()
    this.closing.add(done)
    void done.finally(() => this.closing.delete(done))
    return done
  }

  /** Operator kill. Never the permanent browser; never a busy one unless forced. */
  async kill(id: string, opts: { force?: boolean } = {}): Promise<ManagedBrowser> {
    const entry = this.entries.get(id)
    if (!entry) throw new NotFoundError(`no browser with id ${id}`)
    const blocker = killBlocker(entry, opts)
    if (blocker?.kind === 'permanent') throw new ForbiddenError(PERMANENT_NOT_KILLABLE)
    if (blocker?.kind === 'busy') {
      throw new ConflictError(`browser ${entry.shortSig} is ${busyText(blocker)}; pass force: true to kill it anyway (those crawls fail, those sessions end)`, {
        leases: blocker.serving,
        sessions: blocker.sessions,
      })
    }
    await this.close(entry, 'killed')
    return entry
  }

  /**
   * Replace a browser with a fresh one of the same config and tier. The old one keeps serving
   * until the new one is up, then closes when its last lease ends: nothing waits on it.
   */
  async restart(id: string): Promise<{ old: ManagedBrowser; fresh: ManagedBrowser }> {
    const old = this.entries.get(id)
    if (!old) throw new NotFoundError(`no browser with id ${id}`)
    if (old.state !== 'active') throw new ConflictError(`browser ${old.shortSig} is already ${old.state}`)
    const fresh = await this.doLaunch(old.sig, old.config, old.tier)
    this.retire(old, 'restart')
    return { old, fresh }
  }

  /** Close every idle cold browser now; busy ones are spared. */
  async closeIdleCold(reason: CloseReason = 'cleanup'): Promise<ManagedBrowser[]> {
    const victims = coldCleanup(this.list()).idle
    await Promise.all(victims.map((b) => this.close(b, reason)))
    return victims
  }

  /** Close everything; wait for every Chromium process to be gone. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true
    if (this.permanentRelaunchTimer) clearTimeout(this.permanentRelaunchTimer)
    await Promise.allSettled([...this.launching.values()])
    await Promise.all(this.list().map((b) => this.close(b, 'shutdown')))
    await Promise.all([...this.closing])
  }
}

async function findBrowserPid(marker: string): Promise<number | null> {
  try {
    const direct = await findProcessesWithArg(marker, { parentPid: process.pid })
    if (direct[0] !== undefined) return direct[0]
    // A launcher wrapper that does not exec leaves Chromium one level down: take the lowest match.
    const any = await findProcessesWithArg(marker)
    return any.length > 0 ? Math.min(...any) : null
  } catch {
    return null
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/**
 * Whether a launch failed because Chromium's sandbox cannot start here. Chromium's own words (its
 * zygote's log, which Playwright puts in the error): there is no typed signal for it.
 */
function saysNoSandbox(err: unknown): boolean {
  return /No usable sandbox|Chromium sandboxing failed/.test(err instanceof Error ? err.message : String(err))
}
