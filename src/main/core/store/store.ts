import type { MonitorSnapshot } from '../monitor/monitor.js'

/**
 * What a store holds: the monitor's sections, and the ids of the pending-history files (written
 * at a shutdown the store could not take, see persister.ts) whose content is already in it. The
 * ids are written in the same atomic write as the sections they were merged into, so a file
 * found again after a crash between that write and its deletion is recognised, not counted twice.
 */
export type StoredState = Partial<MonitorSnapshot> & { applied_fallbacks?: string[] }

/**
 * Where monitor history lives between runs. Two real back-ends: a file in the data dir
 * (the default: a first run needs nothing else) and Redis. Both store the same sections.
 */
export interface MonitorStore {
  readonly backend: 'file' | 'redis'
  /** Human-readable location, for logs and health ("./.crawldeck/monitor.json", "redis://…"); never holds credentials. */
  readonly location: string
  /**
   * Which history this is ("file", "redis:<prefix>"): a pending-history file that holds a whole
   * history replaces only the same history (see persister.ts). Defaults to `backend`.
   */
  readonly lineage?: string
  /** Everything stored, or null when nothing was stored yet. Rejects when the store is unreachable. */
  load(): Promise<StoredState | null>
  /** Write these sections (others stay as they are). Rejects when the write did not happen. */
  save(sections: StoredState): Promise<void>
  close(): Promise<void>
}
