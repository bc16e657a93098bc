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

export const TimelineQuery = z
  .object({
    metric: z.enum(['memory', 'cpu', 'requests', 'browsers', 'limit']).default('memory'),
    window: z
      .string()
      .regex(/^\d{1,4}[sm]$/, 'window looks like 5m or 90s')
      .default('5m')
      .transform((w) => Number(w.slice(0, -1)) * (w.endsWith('m') ? 60 : 1))
      .refine((s) => s >= 5 && s <= 300, 'window must be between 5s and 5m'),
  })
  .strip()

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
