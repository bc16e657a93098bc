import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import type { CrawlResult } from '../../../shared/crawl-schemas.js'
import type { CacheHealth } from '../../../shared/monitor-types.js'
import type { Logger } from '../logger.js'
import { storedForm, type CachedResult, type ResultCache } from './result-cache.js'

/*
 * The embedded result cache: LMDB (the `lmdb` package) in <data dir>/cache. LMDB is a
 * copy-on-write B+tree whose commits are atomic: a process killed mid-write (SIGKILL, a crash)
 * leaves the last committed state, never a torn one, so the cache reopens readable after any
 * stop. Its native part ships prebuilt (N-API) inside npm packages, so it installs from the
 * registry alone and Electron needs no rebuild.
 *
 * Byte cap and LRU, kept exactly in the same transactions as the writes:
 * - entries: key -> the result's JSON bytes;
 * - meta:    key -> {size, seq, cached_at, expires_at}: what the accounting needs, without the body;
 * - lru:     [seq, key] -> 1, ordered by seq (a counter bumped at each write and read): the least
 *            recently used entry is the first of this index, so eviction reads from its start;
 * - totals:  the entry count, the byte total and the last seq.
 * A put evicts from the front of `lru` in its own transaction until the total fits the cap. A get
 * is two B-tree lookups; its LRU bump is queued as a write of its own, off the answer's path.
 */

/** Bytes counted per entry beyond its body and key: its meta record and index row. */
const ENTRY_OVERHEAD = 96

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
}

export class LmdbCache implements ResultCache {
  readonly backend = 'lmdb' as const
  readonly path: string
  private readonly root: RootDatabase
  private readonly entries: Database<Buffer, string>
  private readonly meta: Database<EntryMeta, string>
  private readonly lru: Database<number, [number, string]>
  private readonly totals: Database<Totals, string>

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

  async get(key: string): Promise<CachedResult | null> {
    try {
      const meta = this.meta.get(key)
      if (meta === undefined) return null
      if (meta.expires_at !== 0 && meta.expires_at <= Date.now()) {
        void this.remove(key)
        return null
      }
      const body = this.entries.get(key)
      if (body === undefined) return null
      void this.touch(key)
      return { result: JSON.parse(body.toString('utf8')) as CrawlResult, cached_at: meta.cached_at }
    } catch (err) {
      this.options.logger?.warn({ err }, 'result cache read failed: served as a miss')
      return null
    }
  }

  async put(key: string, result: CrawlResult): Promise<void> {
    const body = Buffer.from(JSON.stringify(storedForm(result)), 'utf8')
    const size = body.length + key.length + ENTRY_OVERHEAD
    // An entry larger than the whole cache would only evict everything and then itself.
    if (size > this.options.maxBytes) return
    const now = Date.now()
    try {
      await this.root.transaction(() => {
        const totals = this.currentTotals()
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
    } catch (err) {
      this.options.logger?.warn({ err }, 'result cache write failed: the result is not cached')
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

  /** Mark an entry as just used: it moves to the back of the eviction order. */
  private async touch(key: string): Promise<void> {
    try {
      await this.root.transaction(() => {
        const meta = this.meta.get(key)
        if (meta === undefined) return
        const totals = this.currentTotals()
        totals.seq++
        this.lru.remove([meta.seq, key])
        this.lru.put([totals.seq, key], 1)
        this.meta.put(key, { ...meta, seq: totals.seq })
        this.totals.put(TOTALS, totals)
      })
    } catch (err) {
      this.options.logger?.warn({ err }, 'result cache LRU update failed')
    }
  }

  private async remove(key: string): Promise<void> {
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

  /** Entries by the index, for tests: the keys of the LRU order, least recently used first. */
  lruOrder(): string[] {
    return [...this.lru.getKeys({})].map((k) => k[1])
  }

  async close(): Promise<void> {
    await this.root.close()
  }
}
