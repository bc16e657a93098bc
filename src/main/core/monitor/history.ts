/**
 * The part of the monitor's state that survives a restart (endpoint stats, timeline, janitor log,
 * errors), with the dirty sections the persister writes and the merge of stored history.
 */
import type {
  EndpointStatsResponse,
  ErrorEntry,
  ErrorsResponse,
  JanitorEvent,
  TimelineQueryMetric,
  TimelineResponse,
  TimelineTick,
} from '../../../shared/monitor-types.js'
import { capText } from '../errors.js'
import { EndpointCounter, mergeCounters, type EndpointCounterState } from './endpoint-stats.js'
import { ErrorGroups } from './error-groups.js'
import { RingBuffer } from './ring-buffer.js'
import type { StoredWebhookLog, WebhookLog } from './webhook-log.js'

export const TIMELINE_RESOLUTION_SECONDS = 5
export const TIMELINE_POINTS = 60

/** Which end of a list comes first: Crawl4AI's lists are oldest first. */
export type ListOrder = 'oldest' | 'newest'

/*
 * Janitor events and errors are kept (and stored, so files written by earlier versions still
 * read right) with one time, `timestamp` in epoch milliseconds. The API shows them with
 * Crawl4AI's unit: `timestamp` in epoch seconds, the milliseconds beside it as `timestamp_ms`.
 */
export type StoredJanitorEvent = Omit<JanitorEvent, 'timestamp_ms'>
export type StoredError = Omit<ErrorEntry, 'timestamp_ms'>

export function janitorView(e: StoredJanitorEvent): JanitorEvent {
  return { ...e, timestamp: e.timestamp / 1000, timestamp_ms: e.timestamp }
}

export function errorView(e: StoredError): ErrorEntry {
  return { ...e, timestamp: e.timestamp / 1000, timestamp_ms: e.timestamp }
}

/** The last `limit` items of a list held oldest first, in `order`. */
function lastOf<T>(oldestFirst: T[], limit: number, order: ListOrder): T[] {
  const last = oldestFirst.slice(-limit)
  return order === 'newest' ? last.reverse() : last
}

/** What survives a restart. Active requests do not: they died with the process. */
export interface MonitorSnapshot {
  version: 1
  endpoints: Record<string, EndpointCounterState>
  timeline: TimelineTick[]
  janitor: StoredJanitorEvent[]
  errors: StoredError[]
  error_groups: ReturnType<ErrorGroups['list']>
  /** Recent webhook deliveries and their totals (webhook-log.ts); absent in files of older versions. */
  webhooks?: StoredWebhookLog
}
export type SnapshotSection = 'endpoints' | 'timeline' | 'janitor' | 'errors' | 'webhooks'

export class MonitorHistory {
  private endpoints = new Map<string, EndpointCounter>()
  private readonly timelinePoints = new RingBuffer<TimelineTick>(TIMELINE_POINTS)
  private readonly janitorLog = new RingBuffer<StoredJanitorEvent>(500)
  private readonly errorLog = new RingBuffer<StoredError>(100)
  private readonly errorGroups = new ErrorGroups(200)
  private readonly dirty = new Set<SnapshotSection>()
  /** The webhook log, kept by the runtime (it listens to the sender) and stored with the rest. */
  private webhookLog: WebhookLog | null = null

  // ---- recording ---------------------------------------------------------------------------

  /** Stores `log` as section `webhooks`: written when it changes, restored by merge(). */
  attachWebhookLog(log: WebhookLog): void {
    this.webhookLog = log
    log.onChange(() => this.dirty.add('webhooks'))
  }

  recordRequest(endpoint: string, r: { success: boolean; elapsed_ms: number; pool_hit: boolean | null; cache_hit?: boolean }): void {
    let counter = this.endpoints.get(endpoint)
    if (!counter) this.endpoints.set(endpoint, (counter = new EndpointCounter()))
    counter.record(r)
    this.dirty.add('endpoints')
  }

  recordError(err: StoredError): void {
    this.errorLog.push(err)
    this.errorGroups.add(err.error, err.endpoint, err.timestamp)
    this.dirty.add('errors')
  }

  recordJanitor(event: StoredJanitorEvent): void {
    this.janitorLog.push(event)
    this.dirty.add('janitor')
  }

  recordTimeline(point: TimelineTick): void {
    this.timelinePoints.push(point)
    this.dirty.add('timeline')
  }

  /** Clears endpoint stats; returns the endpoints it held and the requests they counted. */
  resetEndpoints(): { endpoints: string[]; requests: number } {
    const endpoints = [...this.endpoints.keys()]
    const requests = [...this.endpoints.values()].reduce((s, c) => s + c.count, 0)
    this.endpoints = new Map()
    this.dirty.add('endpoints')
    return { endpoints, requests }
  }

  // ---- views -------------------------------------------------------------------------------

  endpointStats(): EndpointStatsResponse {
    const out: EndpointStatsResponse = {}
    for (const [name, counter] of [...this.endpoints.entries()].sort(([a], [b]) => a.localeCompare(b))) out[name] = counter.view()
    return out
  }

  timeline(metric: TimelineQueryMetric, windowSeconds: number): TimelineResponse {
    const points = this.timelinePoints.toArray().slice(-Math.max(1, Math.floor(windowSeconds / TIMELINE_RESOLUTION_SECONDS)))
    return {
      metric,
      window: `${windowSeconds}s`,
      resolution_seconds: TIMELINE_RESOLUTION_SECONDS,
      // Epoch seconds, as Crawl4AI's; not cut to whole ones as Crawl4AI's are: after a restart a
      // restored point and a new one can fall in the same second, and would then share a time.
      timestamps: points.map((p) => p.timestamp / 1000),
      timestamps_ms: points.map((p) => p.timestamp),
      // A point stored before the limit was recorded shows 0 there.
      values: metric === 'browsers' ? points.map((p) => ({ ...p.browsers })) : points.map((p) => p[metric] ?? 0),
    }
  }

  latestTimelinePoint(): TimelineTick | null {
    return this.timelinePoints.latest(1)[0] ?? null
  }

  janitorEvents(limit: number, order: ListOrder = 'oldest'): { events: JanitorEvent[] } {
    return { events: lastOf(this.janitorLog.toArray(), limit, order).map(janitorView) }
  }

  errors(limit: number, order: ListOrder = 'oldest'): ErrorsResponse {
    return { errors: lastOf(this.errorLog.toArray(), limit, order).map(errorView), groups: this.errorGroups.list() }
  }

  // ---- persistence -------------------------------------------------------------------------

  /** Sections changed since the last call, with their current content. */
  takeDirty(): Partial<MonitorSnapshot> | null {
    if (this.dirty.size === 0) return null
    const out: Partial<MonitorSnapshot> = {}
    for (const section of this.dirty) Object.assign(out, this.section(section))
    this.dirty.clear()
    return out
  }

  /** Put sections back as dirty after a failed write, so the next flush retries them. */
  markDirty(sections: SnapshotSection[]): void {
    for (const s of sections) this.dirty.add(s)
  }

  snapshot(): MonitorSnapshot {
    return {
      version: 1,
      ...this.section('endpoints'),
      ...this.section('timeline'),
      ...this.section('janitor'),
      ...this.section('errors'),
      ...this.section('webhooks'),
    } as MonitorSnapshot
  }

  private section(name: SnapshotSection): Partial<MonitorSnapshot> {
    switch (name) {
      case 'endpoints':
        return { endpoints: Object.fromEntries([...this.endpoints].map(([k, c]) => [k, c.toJSON()])) }
      case 'timeline':
        return { timeline: this.timelinePoints.toArray() }
      case 'janitor':
        return { janitor: this.janitorLog.toArray() }
      case 'errors':
        return { errors: this.errorLog.toArray(), error_groups: this.errorGroups.list() }
      case 'webhooks':
        return this.webhookLog ? { webhooks: this.webhookLog.stored() } : {}
    }
  }

  /**
   * Fold stored history into the live state. At start-up the live state is empty, so this is a
   * plain restore; after a store outage it adds what was counted meanwhile, so nothing is lost.
   */
  merge(snapshot: Partial<MonitorSnapshot>): void {
    if (snapshot.endpoints) {
      for (const [name, state] of Object.entries(snapshot.endpoints)) {
        const stored = EndpointCounter.fromJSON(state)
        const live = this.endpoints.get(name)
        this.endpoints.set(name, live ? mergeCounters(stored, live) : stored)
      }
      this.dirty.add('endpoints')
    }
    if (snapshot.timeline) refill(this.timelinePoints, snapshot.timeline, (p) => p.timestamp)
    if (snapshot.webhooks) this.webhookLog?.restore(snapshot.webhooks)
    if (snapshot.janitor) refill(this.janitorLog, snapshot.janitor, (e) => e.timestamp)
    // Stored entries may predate the cap.
    if (snapshot.errors)
      refill(
        this.errorLog,
        snapshot.errors.map((e) => ({
          ...e,
          error: typeof e.error === 'string' ? capText(e.error) : e.error,
          stack: typeof e.stack === 'string' ? capText(e.stack) : e.stack,
        })),
        (e) => e.timestamp,
      )
    if (snapshot.error_groups) {
      const byShape = new Map(snapshot.error_groups.map((g) => [g.signature, { ...g }]))
      for (const g of this.errorGroups.list()) {
        const stored = byShape.get(g.signature)
        byShape.set(
          g.signature,
          stored
            ? {
                ...g,
                count: g.count + stored.count,
                first_seen: Math.min(g.first_seen, stored.first_seen),
                endpoints: [...new Set([...stored.endpoints, ...g.endpoints])],
              }
            : g,
        )
      }
      this.errorGroups.load([...byShape.values()])
    }
  }
}

/** Stored items and live items together, oldest first, as many as the buffer holds. */
function refill<T>(buffer: RingBuffer<T>, stored: T[], time: (item: T) => number): void {
  const combined = [...stored, ...buffer.toArray()].sort((a, b) => time(a) - time(b))
  buffer.clear()
  for (const item of combined.slice(-buffer.capacity)) buffer.push(item)
}
