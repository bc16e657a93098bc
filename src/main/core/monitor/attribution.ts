/**
 * Per-request memory attribution: a finished request's mem_delta, the growth of its browser's
 * private memory across the request, measured from the sampler's cached readings.
 */
import type { CompletedRequest } from '../../../shared/monitor-types.js'
import type { EngineEvents } from '../events.js'
import { round } from './endpoint-stats.js'
import type { ResourceSampler } from './sampling.js'

const MB = 1024 * 1024

/**
 * One request's mem_delta: the serving browser's private memory (anon_bytes: RSS without the
 * file-backed pages every Chromium process maps) from the last sample before its first lease
 * to the first sample after it finished. Memory of a browser cannot be split between the pages
 * it serves at once, so when any other request used that browser inside the window (or since the
 * sample taken as "before") the change is not this request's and mem_delta stays null.
 */
export interface DeltaWatch {
  requestId: string
  browserId: string
  before: number
  shared: boolean
  record: CompletedRequest | null
}

export class MemoryAttribution {
  /** Per request: its measurement, from its first lease until it finishes. */
  private readonly open = new Map<string, DeltaWatch>()
  /** Finished requests waiting for the next sample to settle their mem_delta. */
  private readonly finished: DeltaWatch[] = []
  /** Per browser: the mem_delta measurements open on it. */
  private readonly watches = new Map<string, Set<DeltaWatch>>()
  /** Per browser: the last request to take a lease on it, and how many scans had started then. */
  private readonly lastUse = new Map<string, { requestId: string | null; scans: number }>()

  /** `limit`: finished requests kept waiting for a sample, at most (the completed-request limit). */
  constructor(
    private readonly sampler: Pick<ResourceSampler, 'browser' | 'scansStarted' | 'scansDone'>,
    private readonly limit: number,
  ) {}

  /**
   * Every lease: other requests' measurements open on that browser are shared from now on. The
   * first lease of a request opens its own, once the browser's memory has been read at all.
   */
  lease(e: EngineEvents['lease:acquired'], firstOfRequest: boolean): void {
    const watches = this.watches.get(e.id)
    if (watches) for (const w of watches) if (w.requestId !== e.request_id) w.shared = true
    const previous = this.lastUse.get(e.id)
    this.lastUse.set(e.id, { requestId: e.request_id, scans: this.sampler.scansStarted })
    if (!firstOfRequest || e.request_id === null) return
    const before = this.sampler.browser(e.id)?.anon
    if (before === undefined) return
    const watch: DeltaWatch = {
      requestId: e.request_id,
      browserId: e.id,
      before,
      // Another lease is open on this browser now (leases counts ours too), or another request
      // used it once the scan we take as "before" had begun.
      shared: e.leases > 1 || (previous !== undefined && previous.requestId !== e.request_id && previous.scans >= this.sampler.scansDone),
      record: null,
    }
    this.open.set(e.request_id, watch)
    if (watches) watches.add(watch)
    else this.watches.set(e.id, new Set([watch]))
  }

  /** The request's record is out; the next memory sample (within a second) fills in its mem_delta. */
  requestFinished(requestId: string, record: CompletedRequest): void {
    const watch = this.open.get(requestId)
    if (!watch) return
    this.open.delete(requestId)
    watch.record = record
    this.finished.push(watch)
    if (this.finished.length > this.limit) this.dropWatch(this.finished.shift() as DeltaWatch)
  }

  /** Measurements of the requests finished so far: a scan that begins after this call may settle them. */
  takeFinished(): DeltaWatch[] {
    return this.finished.splice(0)
  }

  /** mem_delta = the serving browser's private memory at the first sample after the request minus the last before it. */
  settle(settling: DeltaWatch[]): void {
    for (const w of settling) {
      this.dropWatch(w)
      const after = this.sampler.browser(w.browserId)?.anon
      if (!w.shared && w.record && after !== undefined) w.record.mem_delta = round((after - w.before) / MB)
    }
  }

  browserClosed(id: string): void {
    this.lastUse.delete(id)
    // Open measurements on it stay null: there is no "after" for a browser that is gone.
    for (const w of this.watches.get(id) ?? []) w.shared = true
    this.watches.delete(id)
  }

  private dropWatch(w: DeltaWatch): void {
    const set = this.watches.get(w.browserId)
    set?.delete(w)
    if (set?.size === 0) this.watches.delete(w.browserId)
  }
}
