/*
 * The errors the engine raises on purpose, each with its HTTP status and stable code, and the
 * caps that keep any error text (often what a page wrote) bounded.
 */
import { summariseIssues, type Issue } from '../../shared/validation.js'

/**
 * Error text (a message, a stack) is kept to this many characters. A page decides what its
 * exceptions say, and a message of many megabytes was once answered, kept in the error log and
 * the error groups, written to the store every second and pushed to every dashboard
 * (docs/security.md, error text a page controls).
 */
export const MAX_ERROR_CHARS = 4096

/**
 * `text` if it is at most `max` characters; otherwise its start, ending in a marker saying how
 * many characters were cut, `max` characters in all. The kept part is copied: a slice would
 * keep the whole original string alive behind it. `length` is that of the whole when `text` is
 * only its start (what a page sent of it).
 */
export function capText(text: string, max = MAX_ERROR_CHARS, length = text.length): string {
  const whole = Math.max(length, text.length)
  if (whole <= max) return text
  let keep = Math.min(text.length, max - cutMarker(whole).length)
  // Never half of a surrogate pair.
  const last = text.charCodeAt(keep - 1)
  if (last >= 0xd800 && last <= 0xdbff) keep--
  const kept = Buffer.from(text.slice(0, keep), 'utf16le').toString('utf16le')
  return kept + cutMarker(whole - keep)
}

function cutMarker(cut: number): string {
  return ` … [${cut} more characters cut]`
}

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
    // Many messages carry what a page wrote (its exception, its selector error): capped here, an
    // error cannot be larger than MAX_ERROR_CHARS wherever it is answered, logged or kept.
    super(capText(message), opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.status = status
    this.code = code
    this.details = opts.details
    this.headers = opts.headers ?? {}
  }
}

/** One thing wrong with a request's input: where (a dotted path into it) and what. */
export type ValidationIssue = Issue

/** A 400 invalid_input. Make one with invalidInput(issues), so that every 400 reads the same. */
export class ValidationError extends CrawldeckError {
  constructor(message: string, details: ValidationIssue[]) {
    super(400, 'invalid_input', message, { details: details.map((d) => ({ ...d, message: capText(d.message) })) })
  }
}

/**
 * The one builder of 400 answers, whichever door or check refuses the input (the schema, a
 * server limit, the egress guard, settings): the message names the first few issues, the
 * details list them all, so a client reads every refusal the same way.
 */
export function invalidInput(issues: ValidationIssue[]): ValidationError {
  return new ValidationError(summariseIssues(issues), issues)
}

/**
 * crawler_config.css_selector does not parse (the browser's selector engine said so, inside the
 * page). A 400 like any invalid input, but worded as the selector error itself: it is found only
 * once a page is open, and a batch reports it as that URL's error_message. Only the message's
 * first line is kept: a page that replaced querySelectorAll chose what it says.
 */
export class InvalidSelectorError extends ValidationError {
  constructor(message: string) {
    const line = firstLine(message)
    super(line, [{ path: 'crawler_config.css_selector', message: line }])
  }
}

/** The admission queue is full: the client should come back after `retryAfterSeconds`. */
export class QueueFullError extends CrawldeckError {
  constructor(
    readonly retryAfterSeconds: number,
    queued: number,
    /** Why a caller was refused while the queue had room (its page_timeout could not be met). */
    why?: string,
  ) {
    super(
      429,
      'queue_full',
      `${why ? `crawl queue refused the request: ${why}` : `crawl queue is full (${queued} waiting)`}; retry after ${retryAfterSeconds} s`,
      {
        headers: { 'Retry-After': String(retryAfterSeconds) },
      },
    )
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
  constructor(
    readonly reason: 'killed' | 'crashed' | 'shutdown',
    sig: string,
  ) {
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

/**
 * A request to run the caller's scripts in a page (/execute_js) on a server that does not allow
 * them: 403, like Crawl4AI's, saying how an operator turns them on.
 */
export class JsDisabledError extends CrawldeckError {
  constructor(what: string) {
    super(
      403,
      'js_disabled',
      `${what} is disabled on this server: running a request's JavaScript in pages is off unless the server is started with --allow-js-code`,
    )
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
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
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

/** What max_capture_bytes bounds, one at a time: see CaptureTooLargeError. */
export type CaptureKind = 'screenshot' | 'PDF' | 'HTML' | 'extraction' | 'Markdown' | 'js_results' | 'extracted_content'

/**
 * A part of a result larger than max_capture_bytes: a screenshot or PDF, the page's HTML, all that
 * the extraction sends (HTML, cleaned HTML, links, images and metadata together), the Markdown,
 * the js_code results, or the extraction strategy's records. 422: the request is valid, but what this page renders to is beyond what
 * this server returns; sending it again will not help.
 */
export class CaptureTooLargeError extends CrawldeckError {
  /**
   * `size` is bytes for a screenshot or PDF; otherwise characters (never more than their UTF-8
   * bytes); for js_results a lower bound, counted until it passed the cap.
   */
  constructor(kind: CaptureKind, size: number, cap: number) {
    const what =
      kind === 'HTML'
        ? `the page's HTML is ${size} characters`
        : kind === 'extraction'
          ? `what the page's extraction sends (HTML, cleaned HTML, links, images and metadata) is at least ${size} characters`
          : kind === 'Markdown'
            ? `the page's Markdown is ${size} characters`
            : kind === 'js_results'
              ? `the js_code results are at least ${size} characters`
              : kind === 'extracted_content'
                ? `the extraction strategy's records are at least ${size} characters`
                : `the ${kind} is ${size} bytes`
    super(422, 'capture_too_large', `${what}, above this server's max_capture_bytes of ${cap} bytes`)
  }
}

/**
 * The page's HTML to Markdown conversion outlived the URL's page_timeout. The conversion was
 * stopped (its worker thread terminated); the page itself was fine, so /html still serves it.
 */
export class MarkdownTimeoutError extends CrawldeckError {
  constructor(pageTimeoutMs: number) {
    super(504, 'markdown_timeout', `converting the page to Markdown did not finish within page_timeout (${pageTimeoutMs} ms); the conversion was stopped`)
  }
}

/**
 * The Markdown conversion failed: the converter threw on this page, or its worker thread ended
 * while converting it (502, like other failures of what the target gave us); or no worker thread
 * can run on this install (503 markdown_unavailable).
 */
export class MarkdownFailedError extends CrawldeckError {
  constructor(
    message: string,
    readonly unavailable = false,
  ) {
    super(unavailable ? 503 : 502, unavailable ? 'markdown_unavailable' : 'markdown_failed', message)
  }
}

/**
 * The first non-empty line of an error's message, capped to `max` (capText): what a one-line log
 * field or answer shows. The message may be megabytes a page threw, so it is read a line at a time
 * from the start instead of being split whole. A caller that puts words before it asks for less,
 * so that the whole is not cut a second time (the marker would then count only that cut).
 */
export function firstLine(err: unknown, max = MAX_ERROR_CHARS): string {
  const text = err instanceof Error ? err.message : String(err)
  for (let start = 0; start < text.length;) {
    const newline = text.indexOf('\n', start)
    const end = newline < 0 ? text.length : newline
    const line = text.slice(start, end).trim()
    if (line !== '') return capText(line, max)
    start = end + 1
  }
  return ''
}
