import type { MonitorSnapshot } from '../monitor/monitor.js'

/**
 * Where monitor history lives between runs. Two real back-ends: a file in the data dir
 * (the default: a first run needs nothing else) and Redis. Both store the same sections.
 */
export interface MonitorStore {
  readonly backend: 'file' | 'redis'
  /** Human-readable location, for logs and health ("./.crawldeck/monitor.json", "redis://…"). */
  readonly location: string
  /** Everything stored, or null when nothing was stored yet. Rejects when the store is unreachable. */
  load(): Promise<Partial<MonitorSnapshot> | null>
  /** Write these sections (others stay as they are). Rejects when the write did not happen. */
  save(sections: Partial<MonitorSnapshot>): Promise<void>
  close(): Promise<void>
}
