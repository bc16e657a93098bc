import { randomBytes } from 'node:crypto'
import { readdir, readFile, rename, unlink } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { MonitorHealth } from '../../../shared/monitor-types.js'
import type { Logger } from '../logger.js'
import type { Monitor, MonitorSnapshot, SnapshotSection } from '../monitor/monitor.js'
import { writeFileAtomic } from './atomic-write.js'
import type { MonitorStore, StoredState } from './store.js'

/*
 * Keeps the monitor's history in its store (a file or Redis): background writes of what changed,
 * and a pending-history file, merged at the next start, when a shutdown cannot reach the store.
 */

const ALL_SECTIONS: SnapshotSection[] = ['endpoints', 'timeline', 'janitor', 'errors', 'webhooks']
/** How long stop() keeps trying an unreachable store before it writes the pending-history file. */
export const STOP_RETRY_MS = 5_000
/** Ids of merged pending-history files the store remembers: far more than can be waiting at once. */
const APPLIED_KEPT = 64
const FALLBACK_PREFIX = 'monitor-pending-'
const FALLBACK_NAME = /^monitor-pending-[\w-]+\.json$/

/**
 * What a shutdown that found the store unreachable leaves in the data dir, for the next start
 * to merge into the store (`monitor-pending-<time>-<pid>-<random>.json`).
 *
 * `kind` says what the snapshot is, because the monitor's live state is one of two things:
 * - 'full': this process had read the store's history, so its state is that history plus all it
 *   counted since. Whatever the store holds now is an older state of the same history (a write
 *   this process made before the outage, or nothing if the store came back empty), so the
 *   snapshot replaces the store's sections. Adding would count the stored part twice.
 * - 'delta': this process never could read the store, so its state is only what it counted
 *   itself. It is added to what the store holds.
 */
interface FallbackFile {
  format: 'crawldeck-monitor-pending'
  version: 1
  id: string
  created_at: number
  pid: number
  kind: 'full' | 'delta'
  /** The store's lineage (see store.ts): a 'full' snapshot replaces only the same history. */
  lineage: string
  /** Where it should have gone (no credentials: the store's redacted location). */
  store: string
  /** Requests counted since the last write the store confirmed (for the operator reading it). */
  unsaved_requests: number
  /** Ids of earlier pending files this snapshot already holds (merged at load, not yet written to the store). */
  includes: string[]
  snapshot: Partial<MonitorSnapshot>
}

interface FoundFallback extends FallbackFile {
  path: string
}

export interface PersisterOptions {
  /**
   * Where a shutdown puts the pending history the store would not take, and where start-up
   * looks for it: the data dir. Null: nowhere (the history is then reported lost).
   */
  fallbackDir?: string | null
  /** How long stop() retries an unreachable store before writing the fallback file. */
  stopRetryMs?: number
  /** The long history (history/history-keeper.ts): loaded at start, written on the same cadence, closed at stop. */
  history?: { load(): Promise<boolean>; flush(): Promise<boolean>; close(): Promise<void> } | null
}

export interface StopOutcome {
  /** 'store': everything is in the store; 'fallback': in `file`, merged at next start; 'lost': neither. */
  kept: 'store' | 'fallback' | 'lost'
  file: string | null
  /** Requests counted since the last write the store confirmed: in the file, or lost. */
  unsaved_requests: number
  /** Why the store (and, when lost, the fallback file) could not take it. */
  error: string | null
}

/**
 * Writes the monitor's changed sections to the store in the background, about once per
 * interval and once at shutdown. Nothing on a request path waits for it. A failed write keeps
 * the sections dirty, so the next successful one writes the latest state: no count is lost.
 *
 * A shutdown while the store is away retries it for a few seconds, then writes the pending
 * history to a file in the data dir; the next start that can read the store merges that file in
 * (see FallbackFile) and deletes it once the store holds it. If the file cannot be written
 * either, the shutdown says, in an error line, how many requests were not kept.
 */
export class Persister {
  private timer: NodeJS.Timeout | null = null
  private flushing: Promise<boolean> | null = null
  /** History is read once before the first write; until then a write would overwrite it. */
  private loaded = false
  private readonly fallbackDir: string | null
  private readonly stopRetryMs: number
  private readonly history: PersisterOptions['history']
  /** Ids of pending files merged into this history (the store's list plus those merged here). */
  private applied: string[] = []
  /** The applied list changed and is not in the store yet. */
  private appliedDirty = false
  /** Pending files whose content is in the monitor but not yet confirmed in the store. */
  private toDelete: string[] = []
  /** Requests already safe: held by the store as of its last confirmed write, or by a pending file. */
  private safeRequests = 0
  /** How the last stop() ended; serve.ts turns a loss into a non-zero exit. */
  lastStop: StopOutcome | null = null
  /** What this persister last reported to the monitor (/monitor/health and /health show it). */
  private state: MonitorHealth['persistence']

  constructor(
    private readonly monitor: Monitor,
    private readonly store: MonitorStore,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    options: PersisterOptions = {},
  ) {
    this.fallbackDir = options.fallbackDir ? resolve(options.fallbackDir) : null
    this.stopRetryMs = options.stopRetryMs ?? STOP_RETRY_MS
    this.history = options.history ?? null
    this.state = { backend: store.backend, ok: true, error: null, pending: false, last_flush: null }
    monitor.setPersistence(this.state)
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
    // Pending files merged: write them to the store now, so they are deleted before the service
    // answers, not left for a crash before the first interval to find again.
    if (this.appliedDirty) await this.flush()
    if (this.timer) return
    // A store that cannot be read is reported by the keeper and retried at each flush.
    await this.history?.load()
    if (this.timer) return
    this.timer = setInterval(() => {
      void this.flush()
      void this.history?.flush()
    }, this.intervalMs)
    this.timer.unref()
  }

  private async loadOnce(): Promise<boolean> {
    if (this.loaded) return true
    let stored: StoredState | null
    try {
      stored = await this.store.load()
    } catch (err) {
      this.degrade(err, 'cannot read monitor history')
      return false
    }
    const merged = await this.mergeFallbacks(stored)
    this.loaded = true
    this.logger.info({ store: this.store.location, restored: stored !== null, pending_files_merged: merged }, 'monitor history loaded')
    return true
  }

  /**
   * The stored history and the pending files in the data dir, folded into the monitor: the last
   * 'full' file not yet in the store replaces the stored sections, 'delta' files are added, and
   * files the store already holds (their id is in its applied list, written in the same write as
   * their content) or that a later file includes are skipped. Returns how many were merged.
   */
  private async mergeFallbacks(stored: StoredState | null): Promise<number> {
    const inStore = new Set(stored?.applied_fallbacks ?? [])
    this.applied = [...inStore]
    const found = await this.readFallbacks()
    // Already in the store: only the file is left over (a crash, or an undeletable file).
    for (const f of found.filter((f) => inStore.has(f.id))) await this.removeFile(f.path)
    const lineage = this.lineage()
    const usable: FoundFallback[] = []
    for (const f of found) {
      if (inStore.has(f.id)) continue
      if (f.kind === 'full' && f.lineage !== lineage) {
        // A whole history of another store (the backend or prefix changed since): replacing this
        // one with it would be wrong, adding it would count its stored part twice. Left for the operator.
        this.logger.warn(
          { file: f.path, lineage: f.lineage, store: this.store.location },
          `pending monitor history ${f.path} belongs to another store (${f.lineage}, this one is ${lineage}); not merged, left in place`,
        )
      } else usable.push(f)
    }
    // A file another one includes is merged through that one (it was merged into the process that wrote it).
    const covered = new Set([...usable, ...found.filter((f) => inStore.has(f.id))].flatMap((f) => f.includes))
    const fresh = usable.filter((f) => !covered.has(f.id))
    if (fresh.length === 0) {
      // Any left are included by files the store already holds: leftovers too.
      for (const f of usable) await this.removeFile(f.path)
      if (stored) this.monitor.merge(stored)
      this.safeRequests = total(stored?.endpoints)
      return 0
    }
    const full = fresh.filter((f) => f.kind === 'full').at(-1)
    // Sections the full file holds replace the stored ones; any it lacks keep the stored ones.
    const base: Partial<MonitorSnapshot> | null = full ? { ...(stored ?? {}), ...full.snapshot } : stored
    if (base) this.monitor.merge(base)
    // Every delta is added: a full file's process had merged every delta before it (they are in
    // its `includes`, so not fresh), and a delta it did not see holds counts it does not.
    const deltas = fresh.filter((f) => f.kind === 'delta')
    for (const f of deltas) this.monitor.merge(f.snapshot)
    // Safe: in the store or in a file that stays until the store holds it.
    this.safeRequests = total(base?.endpoints) + deltas.reduce((n, f) => n + total(f.snapshot.endpoints), 0)
    // Everything goes back to the store, with the ids, in one write; merge() marks only endpoints.
    this.monitor.markDirty(ALL_SECTIONS)
    this.applied = [...this.applied, ...usable.map((f) => f.id)].slice(-APPLIED_KEPT)
    this.appliedDirty = true
    this.toDelete = usable.map((f) => f.path)
    this.logger.warn(
      { store: this.store.location, files: fresh.map((f) => f.path), requests: fresh.reduce((n, f) => n + f.unsaved_requests, 0) },
      `merged ${fresh.length} pending monitor history file(s) left by a shutdown that could not write to the store`,
    )
    return fresh.length
  }

  private lineage(): string {
    return this.store.lineage ?? this.store.backend
  }

  /** Pending files in the data dir, oldest first; one that is not ours to read is set aside. */
  private async readFallbacks(): Promise<FoundFallback[]> {
    if (!this.fallbackDir) return []
    let names: string[]
    try {
      names = (await readdir(this.fallbackDir)).filter((n) => FALLBACK_NAME.test(n))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.logger.warn({ dir: this.fallbackDir }, `cannot look for pending monitor history in ${this.fallbackDir}: ${message(err)}`)
      return []
    }
    const out: FoundFallback[] = []
    for (const name of names) {
      const path = join(this.fallbackDir, name)
      try {
        const f = JSON.parse(await readFile(path, 'utf8')) as FallbackFile
        if (
          f.format !== 'crawldeck-monitor-pending' ||
          typeof f.id !== 'string' ||
          (f.kind !== 'full' && f.kind !== 'delta') ||
          typeof f.snapshot !== 'object' ||
          f.snapshot === null
        )
          throw new Error('not a pending monitor history file')
        out.push({ ...f, includes: Array.isArray(f.includes) ? f.includes : [], unsaved_requests: f.unsaved_requests ?? 0, path })
      } catch (err) {
        // Cannot happen through our own (atomic) writes; a damaged file is neither trusted nor
        // read again at every start.
        const aside = `${path}.corrupt-${Date.now()}`
        await rename(path, aside).catch(() => undefined)
        this.logger.warn({ file: path }, `pending monitor history ${path} is unreadable, moved to ${aside}: ${message(err)}`)
      }
    }
    return out.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id))
  }

  private async removeFile(path: string): Promise<boolean> {
    try {
      await unlink(path)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true
      // Harmless: its id is in the store (or in a newer file), so no later start merges it again.
      this.logger.warn({ file: path }, `cannot delete merged pending monitor history ${path}: ${message(err)}`)
      return false
    }
  }

  /** Resolves true when everything the monitor held when the flush began is in the store. */
  flush(): Promise<boolean> {
    this.flushing ??= this.doFlush().finally(() => (this.flushing = null))
    return this.flushing
  }

  private async doFlush(): Promise<boolean> {
    // A failed load has reported the store degraded, with the history pending.
    if (!(await this.loadOnce())) return false
    // last_flush is when the written state was taken, not when the write ended: a change made
    // while a slow write was under way is not in it, and a reader waiting for a flush after
    // its own change must not take that write for one that holds it.
    const takenAt = Date.now()
    const sections = this.monitor.takeDirty()
    const applied = this.appliedDirty ? [...this.applied] : null
    if (!sections && !applied) return true
    const write: StoredState = { ...sections }
    if (applied) write.applied_fallbacks = applied
    try {
      await this.store.save(write)
      const wasDown = !this.state.ok
      this.report({ backend: this.store.backend, ok: true, error: null, pending: false, last_flush: takenAt })
      if (sections?.endpoints) this.safeRequests = total(sections.endpoints)
      if (applied) {
        this.appliedDirty = false
        // The store holds their content and their ids now.
        for (const path of this.toDelete.splice(0)) await this.removeFile(path)
      }
      if (wasDown) this.logger.info({ store: this.store.location }, 'monitor store reachable again; pending state written')
      return true
    } catch (err) {
      if (sections) {
        const names = Object.keys(sections).filter((k) => k !== 'error_groups' && k !== 'version') as SnapshotSection[]
        this.monitor.markDirty(names)
      }
      this.degrade(err, 'cannot write monitor history')
      return false
    }
  }

  private degrade(err: unknown, what: string): void {
    const text = `${what} (${this.store.backend} ${this.store.location}): ${message(err)}`
    // Log on the change into the degraded state, not on every retry.
    if (this.state.ok || this.state.error !== text) this.logger.warn({ store: this.store.location }, text)
    this.report({ ...this.state, ok: false, error: text, pending: true })
  }

  private report(state: MonitorHealth['persistence']): void {
    this.state = state
    this.monitor.setPersistence(state)
  }

  /**
   * Final flush at shutdown, then close the store. An unreachable store is retried for up to
   * stopRetryMs (inside serve.ts's shutdown budget), then the pending history goes to a file in
   * the data dir; if that fails too, an error line says how many requests were not kept.
   */
  async stop(): Promise<StopOutcome> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    const written = await this.flushWithin(Date.now() + this.stopRetryMs)
    const outcome: StopOutcome = written ? { kept: 'store', file: null, unsaved_requests: 0, error: null } : await this.writeFallback()
    this.lastStop = outcome
    await this.history?.close()
    await this.store.close()
    return outcome
  }

  /** Flush until one writes everything, backing off between tries, for at most until `deadline`. */
  private async flushWithin(deadline: number): Promise<boolean> {
    // A flush already under way took its sections before the last changes: it does not count.
    if (this.flushing) await within(this.flushing, deadline)
    let pause = 100
    for (;;) {
      const done = await within(this.flush(), deadline)
      // A write still hanging at the deadline (a Redis that accepts but never answers) counts as
      // failed; if it lands after all, the 'full' file it leaves replaces, never adds, so nothing doubles.
      if (done === true) return true
      if (done === 'timeout' || Date.now() + pause >= deadline) return false
      await new Promise((r) => setTimeout(r, pause))
      pause = Math.min(pause * 2, 1_000)
    }
  }

  private async writeFallback(): Promise<StopOutcome> {
    const now = this.requestTotal()
    // After a stats reset not yet written, everything counted since is unsaved.
    const unsaved = now >= this.safeRequests ? now - this.safeRequests : now
    const storeError = this.state.error ?? `the ${this.store.backend} store did not confirm a write within ${this.stopRetryMs} ms`
    const snapshot = this.monitor.snapshot()
    const empty =
      !this.loaded &&
      Object.keys(snapshot.endpoints).length === 0 &&
      snapshot.timeline.length === 0 &&
      snapshot.janitor.length === 0 &&
      snapshot.errors.length === 0
    if (empty) return { kept: 'store', file: null, unsaved_requests: 0, error: null }
    if (!this.fallbackDir) return this.lost(unsaved, storeError, null, 'no data dir to keep it in')
    const created = Date.now()
    const id = `${created}-${process.pid}-${randomBytes(3).toString('hex')}`
    const file = join(this.fallbackDir, `${FALLBACK_PREFIX}${id}.json`)
    const body: FallbackFile = {
      format: 'crawldeck-monitor-pending',
      version: 1,
      id,
      created_at: created,
      pid: process.pid,
      kind: this.loaded ? 'full' : 'delta',
      lineage: this.lineage(),
      store: this.store.location,
      unsaved_requests: unsaved,
      // A delta holds no merged file: files are merged only once the store could be read.
      includes: this.loaded ? [...this.applied] : [],
      snapshot,
    }
    try {
      await writeFileAtomic(file, JSON.stringify(body))
    } catch (err) {
      // The data dir only: a file elsewhere (the temp dir, a sibling) is one the next start would
      // have to go hunting for, among other instances' and other users' files.
      return this.lost(unsaved, storeError, file, message(err))
    }
    this.logger.warn(
      { store: this.store.location, file, unsaved_requests: unsaved, kind: body.kind },
      `monitor store could not be written at shutdown (${storeError}): pending history (${unsaved} request(s) since the last write) kept in ${file}; the next start merges it into the store`,
    )
    // Merged here and not yet in the store: the new file holds them (its `includes`).
    for (const path of this.toDelete.splice(0)) await this.removeFile(path)
    return { kept: 'fallback', file, unsaved_requests: unsaved, error: storeError }
  }

  private lost(unsaved: number, storeError: string, file: string | null, fileError: string): StopOutcome {
    const error = `${storeError}; pending history file${file ? ` ${file}` : ''}: ${fileError}`
    this.logger.error(
      { store: this.store.location, file, lost_requests: unsaved },
      `monitor history not kept: ${unsaved} request(s) counted since the last write to the store are lost (${error})`,
    )
    return { kept: 'lost', file: null, unsaved_requests: unsaved, error }
  }

  private requestTotal(): number {
    return Object.values(this.monitor.endpointStats()).reduce((n, e) => n + e.count, 0)
  }
}

function total(endpoints: MonitorSnapshot['endpoints'] | undefined): number {
  return Object.values(endpoints ?? {}).reduce((n, e) => n + (e?.count ?? 0), 0)
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The promise's value, or 'timeout' once `deadline` (epoch ms) has passed. */
async function within<T>(p: Promise<T>, deadline: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now()))))])
  } finally {
    clearTimeout(timer)
  }
}
