/**
 * When a native notification is worth showing: pure logic over an injected clock, so every rule
 * (rate limit, switch, burst window) is tested without waiting.
 */
export type NotificationKind = 'crash' | 'memory_high' | 'error_burst'
export type Pressure = 'LOW' | 'MEDIUM' | 'HIGH'

/** The Settings' notification switches; read on every decision so a change applies at once. */
export interface NotificationPrefs {
  crash: boolean
  memory_high: boolean
  error_burst: boolean
}

export interface NotificationPolicyOptions {
  /** At most one notification of a kind per this many milliseconds (default 60 s). */
  minIntervalMs?: number
  /** An error burst is this many failed requests (default 5) ... */
  burstCount?: number
  /** ... within this many milliseconds (default 60 s). */
  burstWindowMs?: number
}

export interface DesktopNotification {
  /** 'alert': an alert rule fired (core/alerts/); shown once per firing, not rate-limited here. */
  kind: NotificationKind | 'alert'
  title: string
  body: string
}

export class NotificationPolicy {
  private readonly lastShown = new Map<NotificationKind, number>()
  private readonly failures: number[] = []
  private pressure: Pressure = 'LOW'
  private readonly minIntervalMs: number
  private readonly burstCount: number
  private readonly burstWindowMs: number

  constructor(
    private readonly prefs: () => NotificationPrefs,
    private readonly now: () => number,
    options: NotificationPolicyOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 60_000
    this.burstCount = Math.max(1, options.burstCount ?? 5)
    this.burstWindowMs = options.burstWindowMs ?? 60_000
  }

  browserCrashed(e: { sig: string; tier: string; leases: number }): DesktopNotification | null {
    const lost = e.leases > 0 ? ` with ${e.leases} crawl${e.leases === 1 ? '' : 's'} in flight` : ''
    return this.offer({ kind: 'crash', title: 'A browser crashed', body: `The ${e.tier} browser ${e.sig.slice(0, 12)} crashed${lost}.` })
  }

  /** Called with every pressure reading; only the step into HIGH is news. */
  pressureReading(pressure: Pressure, memoryPercent?: number): DesktopNotification | null {
    const previous = this.pressure
    this.pressure = pressure
    if (pressure !== 'HIGH' || previous === 'HIGH') return null
    const pct = memoryPercent === undefined ? '' : ` (${Math.round(memoryPercent)} %)`
    return this.offer({ kind: 'memory_high', title: 'Memory pressure is HIGH', body: `Memory use is high${pct}: idle browsers are being closed sooner.` })
  }

  /** Called for every failed request; a burst is `burstCount` failures within `burstWindowMs`. */
  requestFailed(): DesktopNotification | null {
    const now = this.now()
    this.failures.push(now)
    while (this.failures.length > 0 && (this.failures[0] as number) <= now - this.burstWindowMs) this.failures.shift()
    // Bounded: only the last burstCount timestamps can ever matter.
    if (this.failures.length > this.burstCount) this.failures.splice(0, this.failures.length - this.burstCount)
    if (this.failures.length < this.burstCount) return null
    const seconds = Math.round(this.burstWindowMs / 1000)
    return this.offer({ kind: 'error_burst', title: 'Crawl errors are piling up', body: `${this.failures.length} failed requests within ${seconds} s.` })
  }

  /** An alert rule fired: the engine fires once per episode, so every firing is shown. */
  alertFired(e: { alert: string; severity: string; summary: string }): DesktopNotification {
    return { kind: 'alert', title: `Alert: ${e.alert} (${e.severity})`, body: e.summary }
  }

  private offer(n: DesktopNotification & { kind: NotificationKind }): DesktopNotification | null {
    if (!this.prefs()[n.kind]) return null
    const now = this.now()
    const last = this.lastShown.get(n.kind)
    if (last !== undefined && now - last < this.minIntervalMs) return null
    this.lastShown.set(n.kind, now)
    return n
  }
}
