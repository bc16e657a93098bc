import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import type { CrawlResult } from '../../../shared/crawl-schemas.js'
import type { CacheHealth } from '../../../shared/monitor-types.js'
import type { Logger } from '../logger.js'
import type { ResultCache } from './result-cache.js'
import { decodeEntry, encodeEntry, type StoredResult } from './stored-entry.js'

/*
 * The embedded result cache: LMDB (the `lmdb` package) in <data dir>/cache. LMDB is a
 * copy-on-write B+tree whose commits are atomic: a process killed mid-write (SIGKILL, a crash)
 * leaves the last committed state, never a torn one, so the cache reopens readable after any
 * stop. Its native part ships prebuilt (N-API) inside npm packages, so it installs from the
 * registry alone and Electron needs no rebuild.
 *
 * Byte cap and LRU, kept exactly in the same transactions as the writes:
 * - entries: key -> the entry's bytes (stored-entry.ts: a header line, then the result's JSON);
 * - meta:    key -> {size, seq, cached_at, expires_at}: what the accounting needs, without the body;
 * - lru:     [seq, key] -> 1, ordered by seq (a counter bumped at each write and read): the least
 *            recently used entry is the first of this index, so eviction reads from its start;
 * - totals:  the entry count, the byte total and the last seq.
 * A put evicts from the front of `lru` in its own transaction until the total fits the cap. A get
 * is two B-tree lookups and gives back the stored bytes undecoded.
 *
 * A get's LRU bump is a write: one transaction per hit would cost every hit a commit (an fsync
 * under lmdb's defaults) and, under load, a queue of them. Bumps are gathered in memory, in the
 * order of use, and written together, at most every `touchFlushMs` or `touchBatch` bumps, and
 * always first thing in a put's transaction, before it evicts: eviction sees every use so far,
 * so it still removes the least recently used entry. A crash loses only the unwritten bumps (the
 * order since the last flush), never an entry or the byte count.
 */

/** Bytes counted per entry beyond its body and key: its meta record and index row. */
const ENTRY_OVERHEAD = 96

/** LRU bumps are written at most this long after the first one not yet written... */
const TOUCH_FLUSH_MS = 1000
/** ...or once this many entries wait for theirs. */
const TOUCH_BATCH = 256

interface EntryMeta {
  size: number
  seq: number
  /** Epoch seconds. */
  cached_at: number
  /** Epoch ms after which the entry is not served; 0: never expires. */
  expires_at: number
}

interface Totals {
  entries: number
  bytes: number
  seq: number
}

const TOTALS = 'totals'

export interface LmdbCacheOptions {
  dataDir: string
  maxBytes: number
  /** 0: entries never expire. */
  ttlSeconds: number
  logger?: Logger
  /** At most how long a hit's LRU bump waits to be written (ms); TOUCH_FLUSH_MS by default. */
  touchFlushMs?: number
  /** Bumps written together once this many wait; TOUCH_BATCH by default. */
  touchBatch?: number
}

export class LmdbCache implements ResultCache {
  readonly backend = 'lmdb' as const
  readonly path: string
  private readonly root: RootDatabase
  private readonly entries: Database<Buffer, string>
  private readonly meta: Database<EntryMeta, string>
  private readonly lru: Database<number, [number, string]>
  private readonly totals: Database<Totals, string>
  /** Keys used since the last written bump, least recently used first (a Map keeps insertion order). */
  private readonly touched = new Map<string, true>()
  private touchTimer: NodeJS.Timeout | null = null
  private touchFlushing: Promise<void> | null = null

  constructor(private readonly options: LmdbCacheOptions) {
    this.path = join(options.dataDir, 'cache')
    mkdirSync(this.path, { recursive: true })
    this.root = open({ path: join(this.path, 'results.mdb'), maxDbs: 8, compression: false })
    this.entries = this.root.openDB<Buffer, string>({ name: 'entries', encoding: 'binary' })
    this.meta = this.root.openDB<EntryMeta, string>({ name: 'meta', encoding: 'msgpack' })
    this.lru = this.root.openDB<number, [number, string]>({ name: 'lru', encoding: 'msgpack' })
    this.totals = this.root.openDB<Totals, string>({ name: 'totals', encoding: 'msgpack' })
  }

  private currentTotals(): Totals {
    return this.totals.get(TOTALS) ?? { entries: 0, bytes: 0, seq: 0 }
  }

  async get(key: string): Promise<StoredResult | null> {
    try {
      const meta = this.meta.get(key)
      if (meta === undefined) return null
      if (meta.expires_at !== 0 && meta.expires_at <= Date.now()) {
        void this.remove(key)
        return null
      }
      const bytes = this.entries.get(key)
      if (bytes === undefined) return null
      const stored = decodeEntry(bytes)
      if (stored === null) return null
      this.touch(key)
      return stored
    } catch (err) {
      this.options.logger?.warn({ err }, 'result cache read failed: served as a miss')
      return null
    }
  }

  async put(key: string, result: CrawlResult): Promise<boolean> {
    const now = Date.now()
    try {
      const body = encodeEntry(result, now / 1000)
      const size = body.length + key.length + ENTRY_OVERHEAD
      // An entry larger than the whole cache would only evict everything and then itself.
      if (size > this.options.maxBytes) return false
      await this.root.transaction(() => {
        const totals = this.currentTotals()
        // The uses so far first: eviction below must see them.
        this.applyTouches(this.takeTouches(), totals)
        this.dropEntry(key, totals)
        totals.seq++
        const meta: EntryMeta = {
          size,
          seq: totals.seq,
          cached_at: now / 1000,
          expires_at: this.options.ttlSeconds === 0 ? 0 : now + this.options.ttlSeconds * 1000,
        }
        this.entries.put(key, body)
        this.meta.put(key, meta)
        this.lru.put([meta.seq, key], 1)
        totals.entries++
        totals.bytes += size
        this.evict(totals, key)
        this.totals.put(TOTALS, totals)
      })
      return true
    } catch (err) {
      this.options.logger?.warn({ err }, 'result cache write failed: the result is not cached')
      return false
    }
  }

  /** Evict least recently used entries (never `keep`, the one being written) until the cap holds. */
  private evict(totals: Totals, keep: string): void {
    if (totals.bytes <= this.options.maxBytes) return
    const victims: string[] = []
    let freed = 0
    for (const { key } of this.lru.getRange({})) {
      const victim = key[1]
      if (victim === keep) continue
      victims.push(victim)
      freed += this.meta.get(victim)?.size ?? 0
      if (totals.bytes - freed <= this.options.maxBytes) break
    }
    for (const victim of victims) this.dropEntry(victim, totals)
  }

  /** Remove an entry inside the running transaction, keeping `totals` right. */
  private dropEntry(key: string, totals: Totals): void {
    const old = this.meta.get(key)
    if (old === undefined) return
    this.lru.remove([old.seq, key])
    this.meta.remove(key)
    this.entries.remove(key)
    totals.entries--
    totals.bytes -= old.size
  }

  /** Mark an entry as just used: it moves to the back of the eviction order at the next flush. */
  private touch(key: string): void {
    this.touched.delete(key)
    this.touched.set(key, true)
    if (this.touched.size >= (this.options.touchBatch ?? TOUCH_BATCH)) void this.flushTouches()
    else if (this.touchTimer === null) {
      this.touchTimer = setTimeout(() => void this.flushTouches(), this.options.touchFlushMs ?? TOUCH_FLUSH_MS)
      this.touchTimer.unref()
    }
  }

  /** The uses not yet written, oldest first, now owned by the caller's transaction. */
  private takeTouches(): string[] {
    if (this.touchTimer !== null) clearTimeout(this.touchTimer)
    this.touchTimer = null
    const keys = [...this.touched.keys()]
    this.touched.clear()
    return keys
  }

  /** Move `keys`, in order, to the back of the eviction order, inside the running transaction. */
  private applyTouches(keys: readonly string[], totals: Totals): void {
    for (const key of keys) {
      const meta = this.meta.get(key)
      if (meta === undefined) continue
      totals.seq++
      this.lru.remove([meta.seq, key])
      this.lru.put([totals.seq, key], 1)
      this.meta.put(key, { ...meta, seq: totals.seq })
    }
  }

  /** Write the uses gathered so far, in one transaction. */
  async flushTouches(): Promise<void> {
    // One flush at a time; bumps made while it runs wait for the next.
    await this.touchFlushing
    if (this.touched.size === 0) return
    const flushing = (async () => {
      try {
        await this.root.transaction(() => {
          const keys = this.takeTouches()
          if (keys.length === 0) return
          const totals = this.currentTotals()
          this.applyTouches(keys, totals)
          this.totals.put(TOTALS, totals)
        })
      } catch (err) {
        this.options.logger?.warn({ err }, 'result cache LRU update failed')
      }
    })()
    this.touchFlushing = flushing
    await flushing
    if (this.touchFlushing === flushing) this.touchFlushing = null
  }

  private async remove(key: string): Promise<void> {
    this.touched.delete(key)
    try {
      await this.root.transaction(() => {
        const totals = this.currentTotals()
        this.dropEntry(key, totals)
        this.totals.put(TOTALS, totals)
      })
    } catch (err) {
      this.options.logger?.warn({ err }, 'result cache removal failed')
    }
  }

  async clear(): Promise<{ entries: number; bytes: number }> {
    return this.root.transaction(() => {
      this.takeTouches()
      const totals = this.currentTotals()
      this.entries.clearSync()
      this.meta.clearSync()
      this.lru.clearSync()
      // seq goes on from where it was: nothing depends on it starting low.
      this.totals.put(TOTALS, { entries: 0, bytes: 0, seq: totals.seq })
      return { entries: totals.entries, bytes: totals.bytes }
    })
  }

  health(): CacheHealth {
    const totals = this.currentTotals()
    return {
      backend: 'lmdb',
      entries: totals.entries,
      bytes: totals.bytes,
      max_bytes: this.options.maxBytes,
      ttl_seconds: this.options.ttlSeconds,
      error: null,
    }
  }

  /**
   * For tests: the keys in eviction order, least recently used first, as the next put would see
   * them (the written order with the uses not yet written moved to its end).
   */
  lruOrder(): string[] {
    const written = [...this.lru.getKeys({})].map((k) => k[1]).filter((k) => !this.touched.has(k))
    return [...written, ...[...this.touched.keys()].filter((k) => this.meta.get(k) !== undefined)]
  }

  async close(): Promise<void> {
    await this.flushTouches()
    await this.root.close()
  }
}
