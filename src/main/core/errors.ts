/**
 * Errors the engine raises on purpose. Each carries the HTTP status it maps to and a stable
 * `code`, so both doors (Koa and IPC) report it the same way without knowing the engine.
 * Anything that is not a CrawldeckError is a bug and is reported as 500 with a correlation id.
 */
export class CrawldeckError extends Error {
  readonly status: number
  readonly code: string
  readonly details?: unknown
  readonly headers: Record<string, string>

  constructor(status: number, code: string, message: string, opts: { details?: unknown; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.status = status
    this.code = code
    this.details = opts.details
    this.headers = opts.headers ?? {}
  }
}

export interface ValidationIssue {
  path: string
  message: string
}

export class ValidationError extends CrawldeckError {
  constructor(message: string, details: ValidationIssue[]) {
    super(400, 'invalid_input', message, { details })
  }
}

/** The admission queue is full: the client should come back after `retryAfterSeconds`. */
export class QueueFullError extends CrawldeckError {
  constructor(readonly retryAfterSeconds: number, queued: number) {
    super(429, 'queue_full', `crawl queue is full (${queued} waiting); retry after ${retryAfterSeconds} s`, {
      headers: { 'Retry-After': String(retryAfterSeconds) },
    })
  }
}

/** The memory guard refused to launch another browser. */
export class MemoryPressureError extends CrawldeckError {
  constructor(percent: number, threshold: number, source: string) {
    super(
      503,
      'memory_pressure',
      `memory use is ${percent.toFixed(1)} % (${source}), at or above the ${threshold} % threshold: no new browser is launched until it drops; configs served by running browsers still work`,
      { headers: { 'Retry-After': '10' } },
    )
  }
}

export class BrowserLaunchError extends CrawldeckError {
  constructor(message: string, cause?: unknown) {
    super(503, 'browser_launch_failed', message, { cause })
  }
}

/** The browser serving a crawl went away underneath it. */
export class BrowserGoneError extends CrawldeckError {
  constructor(readonly reason: 'killed' | 'crashed' | 'shutdown', sig: string) {
    const why =
      reason === 'killed'
        ? `browser ${sig} was killed by an operator while this crawl ran`
        : reason === 'crashed'
          ? `browser ${sig} crashed (disconnected) while this crawl ran`
          : 'the service is shutting down'
    super(reason === 'shutdown' ? 503 : 502, `browser_${reason}`, why)
  }
}

export class ShuttingDownError extends CrawldeckError {
  constructor() {
    super(503, 'shutting_down', 'the service is shutting down')
  }
}

export class ForbiddenError extends CrawldeckError {
  constructor(message: string) {
    super(403, 'forbidden', message)
  }
}

export class NotFoundError extends CrawldeckError {
  constructor(message: string) {
    super(404, 'not_found', message)
  }
}

export class ConflictError extends CrawldeckError {
  constructor(message: string, details?: unknown) {
    super(409, 'conflict', message, { details })
  }
}

/** The crawl itself failed (navigation error, timeout, HTTP error from the target). */
export class CrawlFailedError extends CrawldeckError {
  constructor(message: string, readonly timedOut = false) {
    super(timedOut ? 504 : 502, timedOut ? 'crawl_timeout' : 'crawl_failed', message)
  }
}

export class AbortedError extends CrawldeckError {
  constructor() {
    // 499 is nginx's "client closed request": nobody reads it, but the monitor records it.
    super(499, 'client_aborted', 'the client closed the connection before the crawl finished')
  }
}

/**
 * The egress guard refused a connection the crawl's page navigated to (a redirect to a private
 * address, a name that rebinds). The request itself was fine, the target led somewhere refused:
 * a bad-gateway answer, like other failures of the target.
 */
export class TargetBlockedError extends CrawldeckError {
  constructor(message: string) {
    super(502, 'target_blocked', message)
  }
}

/**
 * A screenshot, PDF or page HTML larger than max_capture_bytes. 422: the request is valid, but what this
 * page renders to is beyond what this server returns; sending it again will not help.
 */
export class CaptureTooLargeError extends CrawldeckError {
  /** `size` is bytes for a screenshot or PDF; for HTML it is characters (never more than its UTF-8 bytes). */
  constructor(kind: 'screenshot' | 'PDF' | 'HTML', size: number, cap: number) {
    const what = kind === 'HTML' ? `the page's HTML is ${size} characters` : `the ${kind} is ${size} bytes`
    super(422, 'capture_too_large', `${what}, above this server's max_capture_bytes of ${cap} bytes`)
  }
}

/** The first non-empty line of an error's message: what a one-line log field or answer shows. */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim()
}
