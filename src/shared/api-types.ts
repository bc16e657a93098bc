import type { CrawlResult } from './crawl-schemas.js'
import type { RawJson } from './raw-json.js'

/** Output shapes of the crawl API, shared by the engine, the doors and the renderer. */

/** POST /md: Crawl4AI's answer, echoing the request's f, q and c, plus crawldeck's status_code and warnings. */
export interface MarkdownResponse {
  url: string
  filter: 'raw' | 'fit' | 'bm25' | 'llm'
  query: string | null
  cache: string | null
  markdown: string
  success: true
  status_code: number | null
  /** Request parameters accepted without effect, each named with why. */
  warnings: string[]
}

export interface HtmlResponse {
  url: string
  success: true
  status_code: number | null
  html: string
}

export interface ScreenshotResponse {
  url: string
  success: true
  /** Base64 PNG. */
  screenshot: string
  /** True when the shot was cut at the server's max_screenshot_height (the page is taller). */
  screenshot_clipped: boolean
  mime: 'image/png'
  /** Bytes of the PNG (before base64). */
  size: number
  warnings: string[]
}

export interface PdfResponse {
  url: string
  success: true
  /** Base64 PDF. */
  pdf: string
  mime: 'application/pdf'
  /** Bytes of the PDF (before base64). */
  size: number
  warnings: string[]
}

/** A /crawl/stream line: a result with the server's RSS when it was written (MiB), then the end marker. */
export type StreamLine = (CrawlResult & { server_memory_mb: number }) | { status: 'completed' }

/** A /crawl/stream line as the engine hands it to a door: a cache hit is still the JSON it was stored as (raw-json.ts). */
export type StreamItem = StreamLine | RawJson<CrawlResult & { server_memory_mb: number }>

/** What a /crawl answer says about the server beside its results, known once the last result is out. */
export interface CrawlEnvelopeStats {
  /** Wall time of the request, in seconds. */
  server_processing_time_s: number
  /** This process's RSS after the crawl minus before, in MiB. */
  server_memory_delta_mb: number
  /** The highest RSS of this process sampled while the crawl ran (at its start, at each result and at its end), in MiB. */
  server_peak_memory_mb: number
}

/**
 * A batch's results as the engine hands them to a door, with the envelope's figures once they are
 * all read. A cache hit is still the JSON it was stored as (raw-json.ts): the HTTP door writes it
 * as it is, the IPC door parses it.
 */
export interface CrawlBatch extends AsyncIterable<CrawlResult | RawJson<CrawlResult>> {
  /** Call after the last result was read. */
  envelope(): CrawlEnvelopeStats
}

export interface HealthResponse {
  status: 'ok' | 'degraded' | 'error'
  /** When the answer was made, in epoch seconds (with a fraction), as Crawl4AI's /health says it. */
  timestamp: number
  /** Why the status is not ok; empty when it is. */
  problems: string[]
  version: string
  uptime_seconds: number
  permanent_browser: {
    state: 'up' | 'launching' | 'down'
    sig: string
    pid: number | null
    age_seconds: number | null
    pages_served: number | null
    last_launch_error: string | null
  }
  pool: {
    browsers: number
    permanent: number
    hot: number
    cold: number
    pages_active: number
    queued: number
    max_pages: number
    queue_size: number
  }
  memory: { percent: number; source: string; threshold_percent: number }
}

/** The JSON error body every door returns. */
export interface ErrorBody {
  error: string
  code: string
  details?: Array<{ path: string; message: string }> | unknown
  /** Set on 500s: quote it when reporting the problem; the stack is in the server log. */
  correlation_id?: string
}

/** What a caller may do over HTTP (src/main/http/auth.ts): read < crawl < admin. */
export type AuthScope = 'read' | 'crawl' | 'admin'

/** GET /auth/session, POST /auth/session and POST /auth/logout answer this. */
export interface AuthSession {
  /** False when no token is configured (a loopback service open for local use). */
  auth_required: boolean
  signed_in: boolean
  scope: AuthScope | null
}
