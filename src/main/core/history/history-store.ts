import type { EndpointCounterState } from '../monitor/endpoint-stats.js'
import type { RollupBucket } from './rollup-bucket.js'

/** One endpoint's requests in one hour (`t`: the hour's start, epoch seconds). */
export interface EndpointHour {
  t: number
  endpoint: string
  stats: EndpointCounterState
}

/** Buckets to write, or everything loaded: minute and hour rollups, endpoint hours. */
export interface HistoryBatch {
  minutes: RollupBucket[]
  hours: RollupBucket[]
  endpoints: EndpointHour[]
}

/**
 * Where the long history lives between runs: LMDB in the data dir (embedded) or Redis. Writes
 * upsert whole buckets (the open ones are rewritten as they fill) and drop what is past its
 * retention, so the store stays bounded whatever the uptime.
 */
export interface HistoryStore {
  readonly backend: 'lmdb' | 'redis'
  /** For logs; never holds credentials. */
  readonly location: string
  /** Every bucket still within its retention at `nowSec`. Rejects when the store is unreachable. */
  load(nowSec: number): Promise<HistoryBatch>
  /** Upsert these buckets and trim what is older than the retention at `nowSec`. */
  write(batch: HistoryBatch, nowSec: number): Promise<void>
  /** Bytes the history takes in the store (the size bound in docs/history.md is stated in these). */
  bytes(): Promise<number>
  close(): Promise<void>
}
