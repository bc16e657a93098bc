import { z } from 'zod'

/**
 * Crawl4AI's `webhook_config` of the job API: where a finished job is announced, whether the
 * result rides along, and extra headers for the receiver. The header rules are Crawl4AI's: a
 * caller's header must not frame, route or authenticate the request in a way the sender owns.
 */

export const MAX_WEBHOOK_HEADERS = 20
export const MAX_WEBHOOK_HEADER_VALUE = 2048
const HEADER_NAME = /^[A-Za-z0-9-]{1,64}$/
const LINE_BREAK_OR_NUL = /[\r\n\0]/

/**
 * Names refused as Crawl4AI refuses them: these frame the request (content-length,
 * transfer-encoding, te, trailer, expect, upgrade, connection), route it (host), describe the body
 * the sender writes (content-type), or carry credentials the receiver would take as ours
 * (authorization, proxy-authorization, cookie).
 */
export const FORBIDDEN_WEBHOOK_HEADERS: readonly string[] = Object.freeze([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'content-type',
  'proxy-authorization',
  'authorization',
  'cookie',
  'expect',
  'upgrade',
  'te',
  'trailer',
])

/** Headers the sender writes on every delivery; a caller's value would forge them. */
const SENDER_HEADERS = ['x-crawldeck-signature', 'x-crawldeck-delivery', 'x-crawldeck-event']

const WebhookUrl = z
  .string()
  .trim()
  .min(1, 'webhook_url is empty')
  .max(8192, 'webhook_url is longer than 8192 characters')
  .superRefine((value, ctx) => {
    let parsed: URL
    try {
      parsed = new URL(value)
    } catch {
      ctx.addIssue({ code: 'custom', message: `webhook_url is not a valid absolute URL: ${JSON.stringify(value.slice(0, 200))}` })
      return
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `webhook_url must be an http: or https: URL, not ${parsed.protocol}` })
    }
  })

const WebhookHeaders = z.record(z.string(), z.string({ error: 'a webhook header value must be a string' })).superRefine((headers, ctx) => {
  const names = Object.keys(headers)
  if (names.length > MAX_WEBHOOK_HEADERS) {
    ctx.addIssue({ code: 'custom', message: `at most ${MAX_WEBHOOK_HEADERS} webhook headers, got ${names.length}` })
    return
  }
  const seen = new Set<string>()
  for (const name of names) {
    const value = headers[name] as string
    const shown = JSON.stringify(name.slice(0, 80))
    if (!HEADER_NAME.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `header name ${shown} must be 1 to 64 letters, digits or hyphens` })
      continue
    }
    const lower = name.toLowerCase()
    if (FORBIDDEN_WEBHOOK_HEADERS.includes(lower)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `header ${shown} cannot be set: the sender writes it (refused: ${FORBIDDEN_WEBHOOK_HEADERS.join(', ')})`,
      })
    } else if (SENDER_HEADERS.includes(lower)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `header ${shown} cannot be set: crawldeck signs and identifies every delivery with it` })
    } else if (seen.has(lower)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `header ${shown} is given twice (names are case-insensitive)` })
    }
    seen.add(lower)
    if (value.length > MAX_WEBHOOK_HEADER_VALUE) {
      ctx.addIssue({ code: 'custom', path: [name], message: `header ${shown} value is ${value.length} characters, more than ${MAX_WEBHOOK_HEADER_VALUE}` })
    }
    if (LINE_BREAK_OR_NUL.test(value)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `header ${shown} value contains a line break or NUL, which would end the header line` })
    }
  }
})

export const WebhookConfigSchema = z
  .object({
    webhook_url: WebhookUrl,
    webhook_data_in_payload: z.boolean({ error: 'webhook_data_in_payload must be true or false' }).default(false),
    webhook_headers: WebhookHeaders.nullable().default(null),
  })
  .strict()

export type WebhookConfig = z.output<typeof WebhookConfigSchema>
export type WebhookConfigInput = z.input<typeof WebhookConfigSchema>
