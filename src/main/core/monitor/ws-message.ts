import type { MonitorWsMessage } from '../../../shared/monitor-types.js'
import { TIMELINE_POINTS, TIMELINE_RESOLUTION_SECONDS } from './history.js'
import type { Monitor } from './monitor.js'

/** Entries of each list a /monitor/ws message carries, as Crawl4AI sends them. */
export const WS_LIST_LENGTH = 10

/** The /monitor/ws message: Crawl4AI's shape, read from the monitor's memory (no /proc read waits on it). */
export function monitorWsMessage(m: Monitor): MonitorWsMessage {
  const window = TIMELINE_POINTS * TIMELINE_RESOLUTION_SECONDS
  return {
    timestamp: Date.now() / 1000,
    health: m.health(),
    requests: {
      // Active requests are bounded by max_pages + queue_size: all of them, as Crawl4AI sends.
      active: m.requests('active', 1000).active,
      completed: m.requests('completed', WS_LIST_LENGTH).completed,
    },
    browsers: m.browsers().browsers,
    timeline: { memory: m.timeline('memory', window), requests: m.timeline('requests', window), browsers: m.timeline('browsers', window) },
    janitor: m.janitorEvents(WS_LIST_LENGTH).events,
    errors: m.errors(WS_LIST_LENGTH).errors,
  }
}
