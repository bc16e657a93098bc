import type { MonitorSnapshotView, TimelineMetric } from '../../../shared/monitor-types'
import type { Transport } from './types'

/*
 * The monitor snapshot rebuilt from the GET routes, for when the live stream's own is not at hand:
 * the HTTP transport's polling and the Monitor store's refresh on resume.
 */

const METRICS: TimelineMetric[] = ['memory', 'cpu', 'requests', 'browsers', 'limit']

/** Builds the same snapshot the live stream opens with, from the GET routes (its lists newest first, as the stream's). */
export async function fetchSnapshot(call: Transport['call']): Promise<MonitorSnapshotView> {
  const [health, requests, browsers, endpoints, janitor, errors, ...timelines] = await Promise.all([
    call('monitorHealth', {}),
    call('monitorRequests', { status: 'all', limit: 100, order: 'newest' }),
    call('monitorBrowsers', {}),
    call('monitorEndpointStats', {}),
    call('monitorJanitorLog', { limit: 200, order: 'newest' }),
    call('monitorErrors', { limit: 100, order: 'newest' }),
    ...METRICS.map((metric) => call('monitorTimeline', { metric, window: '5m' })),
  ])
  const timeline = Object.fromEntries(METRICS.map((m, i) => [m, timelines[i]!])) as MonitorSnapshotView['timeline']
  return { health, requests, browsers, endpoints, timeline, janitor: janitor.events, errors }
}
