import { EventEmitter } from 'node:events'
import type { Logger } from '../logger.js'
import type { HistoryStore } from './history-store.js'
import type { Rollups } from './rollups.js'

/** What one write put in the store: bucket counts, and when the written state was taken (epoch ms). */
export interface HistoryWritten {
  minutes: number
  hours: number
  endpoints: number
  taken_at: number
}

/**
 * Moves the rollups between memory and their store: loads them at start, writes the changed
 * buckets when the persister flushes (never per request), keeps a failed batch dirty for the next
 * write. A store that cannot be read at start is retried before each write: until it is read, a
 * write would replace the stored current hour with only what this run counted.
 */
export class HistoryKeeper {
  private loaded = false
  private writing: Promise<boolean> | null = null
  private failing: string | null = null
  private readonly events = new EventEmitter()

  constructor(
    readonly rollups: Rollups,
    readonly store: HistoryStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.events.setMaxListeners(0)
  }

  /** Called after every write the store confirmed. */
  onWritten(listener: (w: HistoryWritten) => void): () => void {
    this.events.on('written', listener)
    return () => this.events.off('written', listener)
  }

  async load(): Promise<boolean> {
    if (this.loaded) return true
    try {
      const stored = await this.store.load(Math.floor(this.now() / 1000))
      this.rollups.load(stored, Math.floor(this.now() / 1000))
      this.loaded = true
      this.logger.info(
        { store: this.store.location, minutes: stored.minutes.length, hours: stored.hours.length, endpoint_hours: stored.endpoints.length },
        'monitor long history loaded',
      )
      return true
    } catch (err) {
      this.fail(err, 'cannot read monitor long history')
      return false
    }
  }

  /** Write what changed; resolves false when nothing could be written (the changes stay pending). */
  flush(): Promise<boolean> {
    this.writing ??= this.doFlush().finally(() => (this.writing = null))
    return this.writing
  }

  private async doFlush(): Promise<boolean> {
    if (!(await this.load())) return false
    const takenAt = this.now()
    const batch = this.rollups.takeDirty(Math.floor(takenAt / 1000))
    if (!batch) return true
    try {
      await this.store.write(batch, Math.floor(takenAt / 1000))
    } catch (err) {
      this.rollups.markDirty(batch)
      this.fail(err, 'cannot write monitor long history')
      return false
    }
    if (this.failing) this.logger.info({ store: this.store.location }, 'monitor long history store reachable again; pending buckets written')
    this.failing = null
    this.events.emit('written', {
      minutes: batch.minutes.length,
      hours: batch.hours.length,
      endpoints: batch.endpoints.length,
      taken_at: takenAt,
    } satisfies HistoryWritten)
    return true
  }

  private fail(err: unknown, what: string): void {
    const text = `${what} (${this.store.backend} ${this.store.location}): ${err instanceof Error ? err.message : String(err)}`
    // Once per change of error, not at every retry.
    if (this.failing !== text) this.logger.warn({ store: this.store.location }, text)
    this.failing = text
  }

  /** Final write, then close the store. */
  async close(): Promise<void> {
    if (this.writing) await this.writing
    await this.flush()
    await this.store.close()
  }
}
