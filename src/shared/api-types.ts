import type { CrawlResult } from './crawl-schemas.js'

/** Output shapes of the crawl API, shared by the engine, the doors and the renderer. */

export interface MarkdownResponse {
  url: string
  success: true
  status_code: number | null
  markdown: string
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
}

export interface PdfResponse {
  url: string
  success: true
  /** Base64 PDF. */
  pdf: string
}

export type StreamLine = CrawlResult | { status: 'completed' }

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
