import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { open, type RootDatabase } from 'lmdb'
import { RETENTION } from './rollups.js'
import type { EndpointHour, HistoryBatch, HistoryStore } from './history-store.js'
import type { RollupBucket } from './rollup-bucket.js'

/*
 * The embedded history: LMDB in <data dir>/history. A key per bucket, ordered by time, so a write
 * is a few puts in one transaction (no big file rewritten) and trimming deletes from the front of
 * each range:
 *   ['m', t]            -> a minute bucket (48 h kept)
 *   ['h', t]            -> an hour bucket (90 days kept)
 *   ['e', t, endpoint]  -> one endpoint's requests in hour t (30 days kept)
 * Values are msgpack (lmdb's default encoding): about half the size of the JSON.
 */
type EndpointHistoryKey = ['e', number, string]
type Key = ['m' | 'h', number] | EndpointHistoryKey

export class LmdbHistoryStore implements HistoryStore {
  readonly backend = 'lmdb' as const
  readonly location: string
  private readonly dir: string
  private opened: RootDatabase<RollupBucket | EndpointHour['stats'], Key> | null = null

  constructor(dataDir: string) {
    this.dir = resolve(join(dataDir, 'history'))
    this.location = join(this.dir, 'history.mdb')
  }

  /**
   * Opened at the first use, not when constructed: a data dir that cannot take it (read-only, a
   * file in the way) is then a failed load or write the keeper reports, not a service that cannot start.
   */
  private get root(): RootDatabase<RollupBucket | EndpointHour['stats'], Key> {
    if (!this.opened) {
      mkdirSync(this.dir, { recursive: true })
      this.opened = open({ path: this.location, compression: false })
    }
    return this.opened
  }

  async load(nowSec: number): Promise<HistoryBatch> {
    const out: HistoryBatch = { minutes: [], hours: [], endpoints: [] }
    for (const { value } of this.root.getRange({ start: ['m', nowSec - RETENTION.minute], end: ['m', Infinity] })) out.minutes.push(value as RollupBucket)
    for (const { value } of this.root.getRange({ start: ['h', nowSec - RETENTION.hour], end: ['h', Infinity] })) out.hours.push(value as RollupBucket)
    for (const { key, value } of this.root.getRange({ start: ['e', nowSec - RETENTION.endpoints], end: ['e', Infinity] })) {
      const [, t, endpoint] = key as EndpointHistoryKey
      out.endpoints.push({ t, endpoint, stats: value as EndpointHour['stats'] })
    }
    return out
  }

  async write(batch: HistoryBatch, nowSec: number): Promise<void> {
    await this.root.transaction(() => {
      for (const b of batch.minutes) void this.root.put(['m', b.t], b)
      for (const b of batch.hours) void this.root.put(['h', b.t], b)
      for (const e of batch.endpoints) void this.root.put(['e', e.t, e.endpoint], e.stats)
      // Past its retention: from the front of each range, usually one key or none per write.
      const trim = (prefix: 'm' | 'h' | 'e', keep: number) => {
        for (const key of this.root.getKeys({ start: [prefix], end: [prefix, nowSec - keep] })) void this.root.remove(key)
      }
      trim('m', RETENTION.minute)
      trim('h', RETENTION.hour)
      trim('e', RETENTION.endpoints)
    })
  }

  /** Pages in use (tree and overflow pages, and the free list LMDB reuses), times the page size. */
  async bytes(): Promise<number> {
    type Stats = { pageSize: number; treeBranchPageCount: number; treeLeafPageCount: number; overflowPages: number; lastPageNumber?: number }
    const s = this.root.getStats() as Stats
    return s.pageSize * ((s.lastPageNumber ?? s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages) + 1)
  }

  async close(): Promise<void> {
    await this.opened?.close()
    this.opened = null
  }
}
