import { createHmac, randomBytes } from 'node:crypto'
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import type { WebhookConfig } from '../../../shared/webhook-config.js'
import type { AddressPolicy } from '../egress/address-policy.js'
import { resolveTarget, systemLookup, type Lookup } from '../egress/resolve.js'
import type { EngineEventBus, WebhookDeliveryEvent } from '../events.js'
import { VERSION } from '../version.js'

/**
 * Announces a finished job to the receiver its submitter named, the way Crawl4AI's job server
 * does (POST JSON, up to 5 attempts with backoff, redirects followed by hand and re-checked),
 * plus an HMAC-SHA256 signature of the exact body so the receiver can tell the POST came from us.
 */

export interface WebhookPayload {
  task_id: string
  task_type: 'crawl'
  /** Crawl4AI sends completed or failed; crawldeck also announces a job cancelled by DELETE. */
  status: 'completed' | 'failed' | 'cancelled'
  /** ISO-8601 UTC with offset, as Crawl4AI writes it. */
  timestamp: string
  urls: string[]
  error?: string
  /** The job's result; sent only when webhook_data_in_payload is set and the job completed. */
  data?: unknown
}

export type WebhookOutcome = WebhookDeliveryEvent['status']

/** How a delivery ended; `url` is the receiver's without user info. */
export type WebhookDelivery = WebhookDeliveryEvent

export const WEBHOOK_EVENT = 'job.finished'
export const SIGNATURE_HEADER = 'X-Crawldeck-Signature'
export const DELIVERY_HEADER = 'X-Crawldeck-Delivery'
export const EVENT_HEADER = 'X-Crawldeck-Event'

export const WEBHOOK_ATTEMPTS = 5
export const WEBHOOK_ATTEMPT_TIMEOUT_MS = 30_000
export const WEBHOOK_BASE_DELAY_MS = 1000
const WEBHOOK_MAX_DELAY_MS = 32_000
const MAX_REDIRECTS = 5
const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** What is read of a receiver's answer: only its status matters, the rest is drained. */
const MAX_ERROR_BODY = 200

export interface WebhookSenderOptions {
  /** Signs every body; null sends no signature (said at start-up). */
  secret: string | null
  /** The private-target policy of crawl targets; null when block_private_targets is off. */
  policy: AddressPolicy | null
  lookup?: Lookup
  events?: EngineEventBus
  /** First delay between attempts, doubled each time (1 s, as Crawl4AI); tests shorten it. */
  baseDelayMs?: number
  attemptTimeoutMs?: number
  maxAttempts?: number
  version?: string
}

/** The HMAC-SHA256 of `body`, as sent in X-Crawldeck-Signature ("sha256=<hex>"). */
export function signWebhookBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** The URL as it may be shown: no user name or password. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return '(invalid URL)'
  }
}

/** One attempt's end: a status to judge, or an error before any status. */
type AttemptResult = { kind: 'status'; code: number; error: string | null } | { kind: 'error'; error: string; retry: boolean }

type Verdict = { kind: 'ok'; url: URL; address: string | null } | { kind: 'refused'; reason: string } | { kind: 'unresolved'; reason: string }

/** A destination refused or too many hops: no retry. `requested`: a request left before it. */
class StopDelivery extends Error {
  constructor(
    message: string,
    readonly requested: boolean,
  ) {
    super(message)
  }
}

export class WebhookSender {
  private readonly lookup: Lookup
  private readonly baseDelayMs: number
  private readonly attemptTimeoutMs: number
  private readonly maxAttempts: number
  private readonly userAgent: string
  private readonly pending = new Set<AbortController>()
  private closed = false

  constructor(private readonly options: WebhookSenderOptions) {
    this.lookup = options.lookup ?? systemLookup
    this.baseDelayMs = options.baseDelayMs ?? WEBHOOK_BASE_DELAY_MS
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? WEBHOOK_ATTEMPT_TIMEOUT_MS
    this.maxAttempts = options.maxAttempts ?? WEBHOOK_ATTEMPTS
    this.userAgent = `crawldeck-webhook/${options.version ?? VERSION}`
  }

  get signs(): boolean {
    return this.options.secret !== null && this.options.secret !== ''
  }

  /**
   * Null when `url` may receive webhooks; otherwise why it may not, e.g. "http://10.0.0.5/hook is the
   * address 10.0.0.5, in 10.0.0.0/8 (private) (...)", for a 400 "URL blocked: <why>" at submission.
   * A name that does not resolve now passes: it may resolve when the job ends, and is checked then.
   */
  async checkTarget(url: string): Promise<string | null> {
    const verdict = await this.resolve(url)
    return verdict.kind === 'refused' ? verdict.reason : null
  }

  /**
   * Delivers `payload` to `target`, retrying as Crawl4AI does; resolves once delivered or given
   * up (never rejects). Every attempt is announced as an engine event.
   */
  async send(target: WebhookConfig, payload: WebhookPayload): Promise<WebhookDelivery> {
    const body: WebhookPayload = { ...payload }
    if (!(target.webhook_data_in_payload && payload.status === 'completed')) delete body.data
    if (payload.status !== 'failed') delete body.error
    return this.sendJson(target, body, { ref: payload.task_id, event: WEBHOOK_EVENT })
  }

  /**
   * Delivers any JSON `body` the same way (signed, retried, checked, announced): alerts use it.
   * `ref` stands in the events and /monitor/webhooks where a job's task_id does; `event` is the
   * X-Crawldeck-Event header.
   */
  async sendJson(
    target: Pick<WebhookConfig, 'webhook_url' | 'webhook_headers'>,
    body: unknown,
    meta: { ref: string; event: string },
  ): Promise<WebhookDelivery> {
    const id = `whd_${randomBytes(8).toString('hex')}`
    const startedAt = Date.now()
    const shown = displayUrl(target.webhook_url)
    const bytes = Buffer.from(JSON.stringify(body), 'utf8')
    const headers: Record<string, string> = {
      ...(target.webhook_headers ?? {}),
      'User-Agent': this.userAgent,
      'Content-Type': 'application/json',
      [DELIVERY_HEADER]: id,
      [EVENT_HEADER]: meta.event,
    }
    if (this.signs) headers[SIGNATURE_HEADER] = signWebhookBody(this.options.secret as string, bytes)
    const custom = Object.keys(target.webhook_headers ?? {})

    let attempts = 0
    let lastCode: number | null = null
    let lastError: string | null
    let outcome: WebhookOutcome = 'failed'
    try {
      for (;;) {
        if (this.closed) {
          lastError = 'the service is shutting down'
          break
        }
        attempts++
        const began = Date.now()
        let result: AttemptResult
        try {
          result = await this.attempt(target.webhook_url, bytes, headers, custom)
        } catch (err) {
          if (!(err instanceof StopDelivery)) throw err
          if (!err.requested && attempts === 1) {
            // Refused before any request left (the receiver's own address): nothing was attempted.
            attempts = 0
            outcome = 'refused'
            lastError = err.message
            break
          }
          result = { kind: 'error', error: err.message, retry: false }
        }
        const delivered = result.kind === 'status' && result.code >= 200 && result.code < 300
        const retry = !delivered && attempts < this.maxAttempts && (result.kind === 'error' ? result.retry : result.code >= 500)
        const delay = retry ? Math.min(this.baseDelayMs * 2 ** (attempts - 1), WEBHOOK_MAX_DELAY_MS) : null
        lastCode = result.kind === 'status' ? result.code : lastCode
        lastError = delivered ? null : result.error
        this.options.events?.emit('webhook:attempt', {
          delivery_id: id,
          task_id: meta.ref,
          url: shown,
          attempt: attempts,
          status_code: result.kind === 'status' ? result.code : null,
          error: delivered ? null : result.error,
          duration_ms: Date.now() - began,
          retry_in_ms: delay,
        })
        if (delivered) {
          outcome = 'delivered'
          break
        }
        if (delay === null) break
        await this.sleep(delay)
      }
    } catch (err) {
      lastError = `webhook sender failed: ${(err as Error).message}`
    }
    const finishedAt = Date.now()
    const delivery: WebhookDelivery = {
      id,
      task_id: meta.ref,
      url: shown,
      status: outcome,
      attempts,
      last_status_code: lastCode,
      last_error: lastError,
      started_at: startedAt,
      finished_at: finishedAt,
      duration_ms: finishedAt - startedAt,
    }
    this.options.events?.emit(outcome === 'delivered' ? 'webhook:delivered' : 'webhook:failed', delivery)
    return delivery
  }

  /** Stops waiting between attempts and aborts the ones in flight; sends after this fail at once. */
  close(): void {
    this.closed = true
    for (const c of this.pending) c.abort(new Error('the service is shutting down'))
  }

  /**
   * One attempt: POST, following redirects by hand (each hop checked like the first, the body
   * POSTed again). Throws StopDelivery when a destination is refused or the hops run out.
   */
  private async attempt(url: string, body: Buffer, headers: Record<string, string>, custom: readonly string[]): Promise<AttemptResult> {
    const controller = new AbortController()
    this.pending.add(controller)
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${this.attemptTimeoutMs} ms`)), this.attemptTimeoutMs)
    let current = url
    let sent = headers
    try {
      for (let hop = 0; ; hop++) {
        const verdict = await this.resolve(current)
        if (verdict.kind === 'refused') throw new StopDelivery(hop === 0 ? verdict.reason : `redirected to a refused destination: ${verdict.reason}`, hop > 0)
        if (verdict.kind === 'unresolved') return { kind: 'error', error: verdict.reason, retry: true }
        let response: IncomingMessage
        try {
          response = await post(verdict.url, verdict.address, body, sent, controller.signal)
        } catch (err) {
          const reason = controller.signal.aborted ? String((controller.signal.reason as Error)?.message ?? 'aborted') : describeNetworkError(err)
          return { kind: 'error', error: reason, retry: !this.closed }
        }
        const code = response.statusCode ?? 0
        const location = response.headers.location
        const snippet = await readSnippet(response)
        if (!REDIRECTS.has(code) || location === undefined) {
          return { kind: 'status', code, error: code >= 200 && code < 300 ? null : `HTTP ${code}${snippet ? `: ${snippet}` : ''}` }
        }
        if (hop >= MAX_REDIRECTS) throw new StopDelivery(`more than ${MAX_REDIRECTS} redirects`, true)
        let next: URL
        try {
          next = new URL(location, current)
        } catch {
          return { kind: 'status', code, error: `HTTP ${code} with an invalid Location` }
        }
        // The submitter's headers were meant for the receiver they named; another origin (one a
        // receiver redirects to) does not get them, as fetch drops Authorization across origins.
        if (next.origin !== new URL(current).origin) sent = withoutHeaders(sent, custom)
        current = next.toString()
      }
    } finally {
      clearTimeout(timer)
      this.pending.delete(controller)
    }
  }

  /**
   * Whether `url` may be reached, and the address to connect to: the very address that was
   * checked, so a name that answers differently the second time (DNS rebinding) cannot move the
   * connection somewhere private.
   */
  private async resolve(url: string): Promise<Verdict> {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return { kind: 'refused', reason: `not a valid URL: ${JSON.stringify(url.slice(0, 200))}` }
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      return { kind: 'refused', reason: `only http: and https: webhooks, not ${parsed.protocol}` }
    const policy = this.options.policy
    if (policy === null) return { kind: 'ok', url: parsed, address: null }
    const verdict = await resolveTarget(parsed.hostname, policy, this.lookup)
    const shown = displayUrl(url)
    if (verdict.kind === 'blocked') {
      const host = parsed.hostname.replace(/^\[|\]$/g, '')
      const what = host === verdict.blocked.address ? `is the address ${verdict.blocked.address}` : `resolves to ${verdict.blocked.address}`
      return {
        kind: 'refused',
        reason: `${shown} ${what}, in ${verdict.blocked.range} (block_private_targets; an operator can exempt networks with private_targets_allowed)`,
      }
    }
    if (verdict.kind === 'unresolved') return { kind: 'unresolved', reason: `${parsed.hostname} does not resolve (${verdict.error})` }
    return { kind: 'ok', url: parsed, address: verdict.address }
  }

  private sleep(ms: number): Promise<void> {
    const controller = new AbortController()
    this.pending.add(controller)
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      controller.signal.addEventListener('abort', done)
      function done() {
        clearTimeout(timer)
        resolve()
      }
    }).finally(() => this.pending.delete(controller))
  }
}

function withoutHeaders(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  const drop = new Set(names.map((n) => n.toLowerCase()))
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !drop.has(k.toLowerCase())))
}

/** POSTs `body` to `url`, connecting to `address` when given (the checked one) instead of looking the name up again. */
function post(url: URL, address: string | null, body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  const pinned: LookupFunction | undefined =
    address === null
      ? undefined
      : (_host, options, callback) => {
          const family = isIP(address)
          if ((options as { all?: boolean }).all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address, family }])
          else callback(null, address, family)
        }
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...headers, 'Content-Length': String(body.length) },
    signal,
    lookup: pinned,
    // One connection per POST: no pooled socket to a name checked earlier is reused.
    agent: false,
    auth: url.username || url.password ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = send(url, options, resolve)
    req.on('error', reject)
    req.end(body)
  })
}

/** The start of the answer's body as text (for last_error), the rest drained and dropped. */
async function readSnippet(response: IncomingMessage): Promise<string> {
  let text = ''
  try {
    for await (const chunk of response) {
      if (text.length < MAX_ERROR_BODY) text += (chunk as Buffer).toString('utf8')
    }
  } catch {
    // a body cut off says nothing more about the delivery than its status
  }
  return text.slice(0, MAX_ERROR_BODY).replace(/\s+/g, ' ').trim()
}

function describeNetworkError(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? err)
}
