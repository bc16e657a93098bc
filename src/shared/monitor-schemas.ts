import { z } from 'zod'
import { SessionId } from './crawl-schemas.js'

/**
 * Inputs of the /monitor/* API. Query strings arrive as text, hence the coercions. A parameter no
 * route knows is ignored, not refused: dashboards and scripts add cache-busters (`?_=<time>`),
 * and Crawl4AI's clients expect them to work.
 */

const Limit = (max: number, dflt: number) =>
  z.coerce
    .number({ message: 'limit must be a number' })
    .int('limit must be an integer')
    .min(1, 'limit must be at least 1')
    .max(max, `limit must be at most ${max}`)
    .default(dflt)

/**
 * Which end of a list comes first. Crawl4AI's lists are oldest first, and so are ours by default;
 * `newest` is for the dashboard. Either way `limit` keeps the most recent entries.
 */
const Order = z.enum(['oldest', 'newest']).default('oldest')

export const RequestsQuery = z
  .object({
    status: z.enum(['all', 'active', 'completed', 'success', 'error']).default('all'),
    limit: Limit(1000, 100),
    order: Order,
  })
  .strip()

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const
const WINDOWS_ACCEPTED =
  '5s..5m (live, 5 s points), up to 48h in whole minutes (1 min points), up to 90d in whole hours (1 h points): e.g. 5m, 1h, 24h, 7d, 30d'

/**
 * A timeline window, in seconds. Up to 5 minutes: the live 5-s points; up to 48 h: minute
 * rollups; up to 90 days: hour rollups (docs/history.md). A window must be whole points long.
 */
export function timelineWindowError(seconds: number): string | null {
  if (seconds < 5) return 'window must be at least 5s'
  if (seconds <= 300) return null
  if (seconds <= 48 * 3600) return seconds % 60 === 0 ? null : 'a window over 5m must be whole minutes (1 min points)'
  if (seconds <= 90 * 86_400) return seconds % 3600 === 0 ? null : 'a window over 48h must be whole hours (1 h points)'
  return 'window must be at most 90d'
}

export const TimelineQuery = z
  .object({
    metric: z.enum(['memory', 'cpu', 'requests', 'browsers', 'limit', 'errors', 'latency_p50', 'latency_p95', 'queue', 'cache_hits']).default('memory'),
    window: z
      .string()
      .regex(/^\d{1,4}[smhd]$/, `window looks like 90s, 5m, 24h or 7d; accepted: ${WINDOWS_ACCEPTED}`)
      .default('5m')
      .transform((w) => Number(w.slice(0, -1)) * UNIT_SECONDS[w.slice(-1) as keyof typeof UNIT_SECONDS])
      .superRefine((s, ctx) => {
        const error = timelineWindowError(s)
        if (error) ctx.addIssue({ code: 'custom', message: `${error}; accepted: ${WINDOWS_ACCEPTED}` })
      }),
  })
  .strip()

/** A time as epoch seconds ("1767225600", "1767225600.5") or ISO 8601 ("2026-12-01T00:00:00Z"); out: epoch seconds. */
const HistoryTime = (name: string) =>
  z
    .string()
    .trim()
    .max(40, `${name} is at most 40 characters`)
    .transform((v, ctx) => {
      const seconds = /^\d{1,12}(\.\d{1,6})?$/.test(v)
        ? Number(v)
        : /^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?$/.test(v)
          ? Date.parse(v) / 1000
          : NaN
      if (!Number.isFinite(seconds)) {
        ctx.addIssue({ code: 'custom', message: `${name} must be epoch seconds or an ISO 8601 time (2026-12-01T00:00:00Z)` })
        return z.NEVER
      }
      return seconds
    })
    .optional()

/** Longest range /monitor/history/endpoints answers: the hours it keeps. */
export const ENDPOINT_HISTORY_MAX_SECONDS = 30 * 86_400

/** GET /monitor/history/endpoints: `to` defaults to now, `from` to a day before `to`. */
export const EndpointHistoryQuery = z
  .object({ from: HistoryTime('from'), to: HistoryTime('to') })
  .strip()
  .superRefine((q, ctx) => {
    if (q.from === undefined || q.to === undefined) return
    if (q.from >= q.to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'from must be before to' })
    else if (q.to - q.from > ENDPOINT_HISTORY_MAX_SECONDS) ctx.addIssue({ code: 'custom', path: ['to'], message: 'from..to spans at most 30 days' })
  })

export const LogQuery = z.object({ limit: Limit(1000, 100), order: Order }).strip()

/** A GET route that takes no parameters: whatever a caller adds is ignored. */
export const NoQuery = z.object({}).strip()

/** A browser named by its full signature, an unambiguous prefix of it, or its id. */
const SigRef = z
  .string()
  .trim()
  .min(4, 'sig needs at least 4 characters')
  .max(64, 'sig is at most 64 characters')
  .regex(/^[0-9a-f-]+$/i, 'sig is the hex signature (or a prefix of it) shown by /monitor/browsers')

export const KillBrowserInput = z.object({ sig: SigRef, force: z.boolean().default(false) }).strict()
export const RestartBrowserInput = z.object({ sig: z.union([z.literal('permanent'), SigRef]) }).strict()

/** A named session by its session_id (the one crawler_config.session_id gave). */
export const CloseSessionInput = z.object({ session_id: SessionId }).strict()

export const EmptyBody = z.object({}).strict()
