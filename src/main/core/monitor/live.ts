import type { LiveMessage, MonitorSnapshotView } from '../../../shared/monitor-types.js'
import type { Monitor } from './monitor.js'
import { TIMELINE_POINTS, TIMELINE_RESOLUTION_SECONDS } from './history.js'

/** Messages a client may have waiting; a client further behind is dropped, so memory never grows. */
export const CLIENT_BUFFER_LIMIT = 500

export interface LiveSubscription extends AsyncIterable<LiveMessage> {
  /** Why the subscription ended, once it has. */
  readonly endReason: 'closed' | 'slow_client' | null
  /** Settles with the reason once the subscription has ended (a writer blocked on a full socket waits on it too). */
  readonly ended: Promise<'closed' | 'slow_client'>
  /**
   * Push mode, for a writer that sends what has queued up in batches (SSE): `onQueued` is called,
   * synchronously, with the queue's length after every message queued, and the writer takes them
   * with takeQueued() when it is ready. Such a subscription is not iterated.
   */
  listen(onQueued: (queued: number) => void): void
  /** Takes every message waiting, in order, at once. */
  takeQueued(): LiveMessage[]
  close(): void
}

/**
 * Fans the monitor's changes out to live clients (SSE over HTTP, messages over IPC): a snapshot
 * first, then every change as it happens and a health + timeline tick each second.
 */
export class LiveFeed {
  private readonly clients = new Set<Client>()
  private tickTimer: NodeJS.Timeout | null = null
  private readonly unsubscribe: Array<() => void> = []
  private lastTimelineTs = 0

  constructor(private readonly monitor: Monitor) {}

  /** A second start() while started does nothing (every client would get every message twice). */
  start(): void {
    if (this.tickTimer) return
    const m = this.monitor
    this.unsubscribe.push(
      m.onChange('request_started', (data) => this.broadcast({ type: 'request_started', data })),
      m.onChange('request_phase', (data) => this.broadcast({ type: 'request_phase', data })),
      m.onChange('request_finished', (data) => {
        this.broadcast({ type: 'request_finished', data })
        this.broadcastLazy('endpoints')
      }),
      m.onChange('browser_changed', () => this.broadcastLazy('browsers')),
      m.onChange('janitor_event', (data) => this.broadcast({ type: 'janitor_event', data })),
      m.onChange('error', (data) => this.broadcast({ type: 'error', data })),
      m.onChange('stats_reset', () => this.broadcastLazy('endpoints')),
    )
    this.tickTimer = setInterval(() => this.tick(), 1000)
    this.tickTimer.unref()
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off()
    if (this.tickTimer) clearInterval(this.tickTimer)
    this.tickTimer = null
    for (const c of [...this.clients]) c.close('closed')
  }

  get clientCount(): number {
    return this.clients.size
  }

  /**
   * The live stream's first message. Its lists are newest first (the dashboard prepends what
   * follows); the GET routes answer Crawl4AI's oldest first unless asked otherwise.
   */
  snapshot(): MonitorSnapshotView {
    const m = this.monitor
    const window = TIMELINE_POINTS * TIMELINE_RESOLUTION_SECONDS
    return {
      health: m.health(),
      requests: m.requests('all', m.completedLimit, 'newest'),
      browsers: m.browsers(),
      endpoints: m.endpointStats(),
      timeline: {
        memory: m.timeline('memory', window),
        cpu: m.timeline('cpu', window),
        requests: m.timeline('requests', window),
        browsers: m.timeline('browsers', window),
        limit: m.timeline('limit', window),
      },
      janitor: m.janitorEvents(100, 'newest').events,
      errors: m.errors(100, 'newest'),
    }
  }

  subscribe(): LiveSubscription {
    const client = new Client(() => this.clients.delete(client))
    client.push({ type: 'snapshot', data: this.snapshot() })
    this.clients.add(client)
    return client
  }

  private broadcast(message: LiveMessage): void {
    for (const c of this.clients) c.push(message)
  }

  // Views that are whole tables are coalesced: one per turn of the event loop is enough.
  private pendingLazy = new Set<'browsers' | 'endpoints'>()
  private broadcastLazy(kind: 'browsers' | 'endpoints'): void {
    if (this.clients.size === 0 || this.pendingLazy.has(kind)) return
    this.pendingLazy.add(kind)
    setImmediate(() => {
      this.pendingLazy.delete(kind)
      if (kind === 'browsers') this.broadcast({ type: 'browsers', data: this.monitor.browsers() })
      else this.broadcast({ type: 'endpoints', data: this.monitor.endpointStats() })
    })
  }

  private tick(): void {
    if (this.clients.size === 0) return
    const point = this.monitor.latestTimelinePoint()
    const fresh = point && point.timestamp !== this.lastTimelineTs ? point : null
    if (point) this.lastTimelineTs = point.timestamp
    this.broadcast({ type: 'tick', data: { health: this.monitor.health(), timeline: fresh } })
    // Memory of browsers changes without events; the table follows it once a second too.
    this.broadcast({ type: 'browsers', data: this.monitor.browsers() })
  }
}

class Client implements LiveSubscription {
  private readonly queue: LiveMessage[] = []
  private wake: (() => void) | null = null
  endReason: 'closed' | 'slow_client' | null = null
  private resolveEnded!: (reason: 'closed' | 'slow_client') => void
  readonly ended = new Promise<'closed' | 'slow_client'>((resolve) => (this.resolveEnded = resolve))

  constructor(private readonly onEnd: () => void) {}

  push(message: LiveMessage): void {
    if (this.endReason) return
    if (this.queue.length >= CLIENT_BUFFER_LIMIT) {
      this.close('slow_client')
      return
    }
    this.queue.push(message)
    this.wake?.()
    this.onQueued?.(this.queue.length)
  }

  private onQueued: ((queued: number) => void) | null = null
  listen(onQueued: (queued: number) => void): void {
    this.onQueued = onQueued
    if (this.queue.length > 0) onQueued(this.queue.length)
  }

  takeQueued(): LiveMessage[] {
    return this.queue.splice(0)
  }

  close(reason: 'closed' | 'slow_client' = 'closed'): void {
    if (this.endReason) return
    this.endReason = reason
    this.queue.length = 0
    this.onEnd()
    this.resolveEnded(reason)
    this.wake?.()
    this.onQueued = null
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LiveMessage> {
    try {
      while (true) {
        const next = this.queue.shift()
        if (next) {
          yield next
          continue
        }
        if (this.endReason) return
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = null
      }
    } finally {
      this.close()
    }
  }
}
