import type { Logger } from '../logger.js'
import type { Monitor, SnapshotSection } from '../monitor/monitor.js'
import type { MonitorStore } from './store.js'

/**
 * Writes the monitor's changed sections to the store in the background, about once per
 * interval and once at shutdown. Nothing on a request path waits for it. A failed write keeps
 * the sections dirty, so the next successful one writes the latest state: no count is lost.
 */
export class Persister {
  private timer: NodeJS.Timeout | null = null
  private flushing: Promise<void> | null = null
  /** History is read once before the first write; until then a write would overwrite it. */
  private loaded = false

  constructor(
    private readonly monitor: Monitor,
    private readonly store: MonitorStore,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {
    monitor.persistence = { backend: store.backend, ok: true, error: null, pending: false, last_flush: null }
  }

  /**
   * Load stored history into the monitor, then flush on an interval. A failure is reported, not
   * fatal: the service serves on. A second start() while started does nothing (a second interval
   * would flush twice as often, for ever).
   */
  async start(): Promise<void> {
    if (this.timer) return
    await this.loadOnce()
    if (this.timer) return
    this.timer = setInterval(() => void this.flush(), this.intervalMs)
    this.timer.unref()
  }

  private async loadOnce(): Promise<boolean> {
    if (this.loaded) return true
    try {
      const stored = await this.store.load()
      if (stored) this.monitor.merge(stored)
      this.loaded = true
      this.logger.info({ store: this.store.location, restored: stored !== null }, 'monitor history loaded')
      return true
    } catch (err) {
      this.degrade(err, 'cannot read monitor history')
      return false
    }
  }

  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => (this.flushing = null))
    return this.flushing
  }

  private async doFlush(): Promise<void> {
    if (!(await this.loadOnce())) {
      this.monitor.persistence.pending = true
      return
    }
    // last_flush is when the written state was taken, not when the write ended: a change made
    // while a slow write was under way is not in it, and a reader waiting for a flush after
    // its own change must not take that write for one that holds it.
    const takenAt = Date.now()
    const sections = this.monitor.takeDirty()
    if (!sections) return
    try {
      await this.store.save(sections)
      const wasDown = !this.monitor.persistence.ok
      this.monitor.persistence = { backend: this.store.backend, ok: true, error: null, pending: false, last_flush: takenAt }
      if (wasDown) this.logger.info({ store: this.store.location }, 'monitor store reachable again; pending state written')
    } catch (err) {
      const names = Object.keys(sections).filter((k) => k !== 'error_groups' && k !== 'version') as SnapshotSection[]
      this.monitor.markDirty(names)
      this.monitor.persistence.pending = true
      this.degrade(err, 'cannot write monitor history')
    }
  }

  private degrade(err: unknown, what: string): void {
    const message = `${what} (${this.store.backend} ${this.store.location}): ${err instanceof Error ? err.message : String(err)}`
    // Log on the change into the degraded state, not on every retry.
    if (this.monitor.persistence.ok || this.monitor.persistence.error !== message) this.logger.warn({ store: this.store.location }, message)
    this.monitor.persistence = { ...this.monitor.persistence, ok: false, error: message, pending: true }
  }

  /** Final flush at shutdown, then close the store. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.flush()
    await this.store.close()
  }
}
