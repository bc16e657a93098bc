import type { CrawlResult } from '../../../shared/crawl-schemas.js'
import { RawJson } from '../../../shared/raw-json.js'

/*
 * What one cache entry holds, the same bytes in both backends: a header line, then the result's
 * JSON without the fields that belong to each answer rather than to the page.
 *
 *   {"cached_at":1765000000.123,"warnings":[...]}\n{"url":...,"html":...}
 *
 * - The body leaves out cache_status, cached_at and duration_ms (set on the way out) and warnings
 *   (the request's own go before the result's, per call): a hit is sent as these bytes with those
 *   four fields written in front (RawJson), never decoded and encoded again.
 * - The result's own warnings and the write time sit in the header, small enough to parse on
 *   every hit.
 * - JSON.stringify writes no raw newline (it escapes those inside strings, and UTF-8 never has the
 *   byte 0x0A inside a multi-byte character), so the first newline ends the header.
 */

/** The fields a hit sets in front of the stored body. */
export const ANSWER_FIELDS = ['cache_status', 'cached_at', 'duration_ms', 'warnings'] as const

/** A stored entry, its body still the stored bytes. */
export interface StoredResult {
  /** Epoch seconds of the write. */
  cached_at: number
  /** The result's own warnings (from the crawl, not from the request that made it). */
  warnings: string[]
  /** The result's JSON without ANSWER_FIELDS: exactly the stored bytes. */
  body: Buffer
}

const NEWLINE = 0x0a

/** An entry's bytes for `result`, written at `cachedAt` (epoch seconds). */
export function encodeEntry(result: CrawlResult, cachedAt: number): Buffer {
  const body: Partial<CrawlResult> = { ...result }
  for (const name of ANSWER_FIELDS) delete body[name]
  const header = JSON.stringify({ cached_at: cachedAt, warnings: result.warnings ?? [] })
  return Buffer.from(`${header}\n${JSON.stringify(body)}`, 'utf8')
}

/** The entry in `bytes`, or null when they are not one (an older format, or damage): a miss. */
export function decodeEntry(bytes: Buffer): StoredResult | null {
  const end = bytes.indexOf(NEWLINE)
  if (end < 0) return null
  const header = JSON.parse(bytes.toString('utf8', 0, end)) as Partial<StoredResult>
  if (typeof header.cached_at !== 'number' || !Array.isArray(header.warnings)) return null
  const body = bytes.subarray(end + 1)
  // An object's text, at least "{}".
  if (body.length < 2 || body[0] !== 0x7b) return null
  return { cached_at: header.cached_at, warnings: header.warnings, body }
}

/** The answer of a hit: the stored bytes with this call's cache fields in front. */
export function hitAnswer(stored: StoredResult, durationMs: number): RawJson<CrawlResult> {
  return new RawJson<CrawlResult>(
    { cache_status: 'hit', cached_at: stored.cached_at, duration_ms: durationMs, warnings: stored.warnings },
    stored.body,
    // Only successful results are stored.
    { success: true },
  )
}

/** The stored result as an object, as a hit parses it (tests, tools). */
export function storedResult(stored: StoredResult): CrawlResult {
  return hitAnswer(stored, 0).value()
}
