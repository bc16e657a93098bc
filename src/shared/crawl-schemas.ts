import { z } from 'zod'
import { MarkdownGeneratorValue } from './markdown-generator.js'
import { ExtractionStrategyValue } from './extraction-strategy.js'
import { conflictingSwitches, refuseRequestSwitch } from './browser-switches.js'
import { decodeConfig, decodeRequestConfigs } from './crawl4ai/config-decode.js'
import { cap, Decoder, type DecodeIssue } from './crawl4ai/decode.js'
import { SOCIAL_MEDIA_DOMAINS } from './crawl4ai/param-tables.js'
import type { ConfigClass } from './crawl4ai/type-names.js'

/**
 * Input schemas of the crawl API. They live in src/shared because both doors (HTTP and IPC)
 * validate with exactly these, and the renderer's Playground builds the same shapes. Field
 * names follow Crawl4AI's Docker server so its users feel at home.
 */

/** Only web URLs are crawled: file:, chrome:, javascript:, data: and friends are refused. */
export const WebUrl = z
  .string()
  .trim()
  .min(1, 'URL is empty')
  .max(8192, 'URL is longer than 8192 characters')
  .superRefine((value, ctx) => {
    let parsed: URL
    try {
      parsed = new URL(value)
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a valid absolute URL: ${JSON.stringify(value.slice(0, 200))}` })
      return
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `only http: and https: URLs can be crawled, not ${parsed.protocol}` })
    }
  })

/** Names that neither config class defines: say so, rather than zod's bare "Unrecognized key". */
function unknownParams(cls: string) {
  return (issue: { code?: string; keys?: string[] }) =>
    issue.code === 'unrecognized_keys'
      ? `unknown parameter${issue.keys!.length > 1 ? 's' : ''} ${issue.keys!.map((k) => JSON.stringify(cap(k))).join(', ')}: ${cls} has no such parameter`
      : undefined
}

/** Crawl4AI's `viewport: {width, height}`, with the same bounds as viewport_width / viewport_height. */
const Viewport = z
  .object({
    width: z.number().int().min(100).max(7680),
    height: z.number().int().min(100).max(4320),
  })
  .strict()

const ProxyObject = z
  .object({
    server: z.string().min(1).max(2048),
    username: z.string().max(1024).optional(),
    password: z.string().max(1024).optional(),
    bypass: z.string().max(4096).optional(),
  })
  .strict()

const Proxy = z
  .union([z.string().min(1).max(2048), ProxyObject])
  .nullable()
  .optional()

/** A header value or cookie part that cannot end a header line or smuggle a second one. */
const NO_LINE_BREAK = /^[^\r\n\0]*$/
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/

/**
 * Headers a request may not set, each with the reason. The browser writes these itself: a
 * caller's value would misdirect the request (host), break its framing (the hop-by-hop and
 * length headers), or bypass what has its own field (cookie, the proxy).
 */
function refusedHeader(name: string): string | null {
  const lower = name.toLowerCase()
  if (lower === 'host') return 'the Host header always follows the URL being crawled'
  if (['content-length', 'connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'keep-alive'].includes(lower))
    return 'it frames or routes the HTTP connection, which the browser manages; a caller-set value would break requests'
  if (lower === 'cookie') return 'give cookies in browser_config.cookies'
  if (lower.startsWith('proxy-')) return 'proxy headers are for a proxy: set browser_config.proxy (or proxy_config) with its username and password'
  return null
}

const Headers = z
  .record(z.string(), z.string().max(8192, 'a header value is at most 8 KiB').regex(NO_LINE_BREAK, 'a header value may not contain CR, LF or NUL'))
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers)
    if (names.length > 50) ctx.addIssue({ code: 'custom', message: `at most 50 headers, not ${names.length}` })
    const seen = new Map<string, string>()
    for (const name of names) {
      if (!HEADER_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: "a header name is 1..64 characters of an HTTP token (letters, digits and !#$%&'*+.^_`|~-)" })
        continue
      }
      const why = refusedHeader(name)
      if (why !== null) ctx.addIssue({ code: 'custom', path: [name], message: `the ${name} header may not be set: ${why}` })
      const first = seen.get(name.toLowerCase())
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: `${first} and ${name} are the same header: give it once` })
      else seen.set(name.toLowerCase(), name)
    }
  })

/** Playwright's latest cookie expiry (year 9999), in unix seconds. */
const MAX_COOKIE_EXPIRES = 253_402_300_799

/** Playwright's addCookies shape: each cookie is for a URL, or for a domain (and path, default "/"). */
const Cookie = z
  .object({
    name: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[^\s;=,\0]+$/, 'a cookie name may not contain whitespace, ";", "=", "," or NUL'),
    value: z
      .string()
      .max(4096)
      .regex(/^[^\r\n\0;]*$/, 'a cookie value may not contain CR, LF, NUL or ";"'),
    url: WebUrl.optional(),
    domain: z
      .string()
      .min(1)
      .max(253)
      .regex(/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/, 'not a domain name')
      .optional(),
    path: z.string().startsWith('/', 'a cookie path starts with "/"').max(1024).regex(NO_LINE_BREAK).optional(),
    expires: z
      .number()
      .refine((e) => e === -1 || (e > 0 && e <= MAX_COOKIE_EXPIRES), 'expires is -1 (a session cookie) or unix seconds')
      .optional(),
    httpOnly: z.boolean().optional(),
    secure: z.boolean().optional(),
    sameSite: z.enum(['Strict', 'Lax', 'None']).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.url === undefined && c.domain === undefined) ctx.addIssue({ code: 'custom', message: 'a cookie needs a url or a domain' })
    if (c.url !== undefined && c.domain !== undefined) ctx.addIssue({ code: 'custom', path: ['domain'], message: 'a cookie takes a url or a domain, not both' })
    if (c.url !== undefined && c.path !== undefined) ctx.addIssue({ code: 'custom', path: ['path'], message: 'a cookie for a url takes its path from the url' })
  })
  .transform((c) => (c.domain !== undefined && c.path === undefined ? { ...c, path: '/' } : c))

/**
 * Everything that decides which browser serves a crawl, after Crawl4AI's forms are decoded
 * (crawl4ai/config-decode.ts). Two configs that parse to the same value share a browser, so
 * every field has a default and parsing fills it in; parsing an output again gives it back.
 */
export const BrowserConfigObject = z
  .strictObject(
    {
      headless: z.boolean().default(true),
      viewport_width: z.number().int().min(100).max(7680).default(1280),
      viewport_height: z.number().int().min(100).max(4320).default(720),
      user_agent: z.string().min(1).max(1024).regex(NO_LINE_BREAK, 'a user agent may not contain CR, LF or NUL').nullable().default(null),
      java_script_enabled: z.boolean().default(true),
      ignore_https_errors: z.boolean().default(false),
      proxy: Proxy,
      // Crawl4AI's name for proxy; a ProxyConfig object arrives as a plain dict.
      proxy_config: Proxy,
      // Only switches that change how pages are drawn: see browser-switches.ts for why.
      extra_args: z
        .array(
          z
            .string()
            .max(1024)
            .superRefine((arg, ctx) => {
              const refusal = refuseRequestSwitch(arg)
              if (refusal !== null) ctx.addIssue({ code: 'custom', message: refusal })
            }),
        )
        .max(64)
        .superRefine((args, ctx) => {
          for (const { first, second, name } of conflictingSwitches(args)) {
            ctx.addIssue({
              code: 'custom',
              path: [second],
              message: `${name} is given twice with different values (extra_args.${first} and extra_args.${second}): give it once`,
            })
          }
        })
        .default([]),
      locale: z.string().min(2).max(35).nullable().default(null),
      headers: Headers.default({}),
      cookies: z.array(Cookie).max(50, 'at most 50 cookies').default([]),
      text_mode: z.boolean().default(false),
      light_mode: z.boolean().default(false),
      avoid_css: z.boolean().default(false),
      device_scale_factor: z.number().min(0.25).max(4).default(1),
      // Crawl4AI's names for the same things: `viewport` overrides the two sizes, as it does there.
      viewport: Viewport.nullable().optional(),
      browser_type: z.literal('chromium', { error: 'only Chromium is available on this server: browser_type must be "chromium" (or left out)' }).optional(),
    },
    { error: unknownParams('BrowserConfig') },
  )
  // light_mode is what every browser here already is (param-tables.ts says why), so it is dropped
  // rather than kept: two configs that differ only in it must share a browser.
  .transform(({ viewport, browser_type: _chromium, light_mode: _alwaysLight, proxy, proxy_config, ...config }, ctx) => {
    const given = (p: unknown) => p !== undefined && p !== null
    if (given(proxy) && given(proxy_config))
      ctx.addIssue({ code: 'custom', path: ['proxy_config'], message: 'proxy and proxy_config are the same setting: give one' })
    const p = (given(proxy) ? proxy : proxy_config) ?? null
    const sized = viewport ? { ...config, viewport_width: viewport.width, viewport_height: viewport.height } : config
    return { ...sized, proxy: typeof p === 'string' ? { server: p } : p }
  })

/**
 * A BrowserConfig alone (the pool, tests): either Crawl4AI form, decoded, then checked. Request
 * schemas decode at the request level instead, so warnings never enter the browser's config.
 */
export const BrowserConfigSchema = z.preprocess((value, ctx) => decodeAlone('BrowserConfig', value, ctx), BrowserConfigObject)
export type BrowserConfigInput = z.input<typeof BrowserConfigObject>
export type BrowserConfig = z.output<typeof BrowserConfigObject>

export const WaitUntil = z.enum(['load', 'domcontentloaded', 'networkidle', 'commit'])

/** What crawler_config.wait_for waits for: a selector to be attached, or a script to be truthy. */
export interface WaitFor {
  kind: 'css' | 'js'
  expression: string
}

/** Crawl4AI's detection of an unprefixed wait_for: something that reads as a function is JS. */
function looksLikeFunction(s: string): boolean {
  return s.startsWith('(') || s.startsWith('function') || s.startsWith('async') || /^[\w$]+\s*=>/.test(s) || s.includes('() =>')
}

export function parseWaitFor(raw: string): WaitFor {
  const s = raw.trim()
  if (s.startsWith('css:')) return { kind: 'css', expression: s.slice(4).trim() }
  if (s.startsWith('js:')) return { kind: 'js', expression: s.slice(3).trim() }
  return looksLikeFunction(s) ? { kind: 'js', expression: s } : { kind: 'css', expression: s }
}

const WaitForField = z
  .string()
  .max(2048)
  .transform((s, ctx) => {
    const w = parseWaitFor(s)
    if (w.expression === '') {
      ctx.addIssue({ code: 'custom', message: 'wait_for is empty: give a selector ("css:...") or a script ("js:...")' })
      return z.NEVER
    }
    return w
  })
  .nullable()
  .default(null)

const Scripts = z
  .union([z.string().max(100_000), z.array(z.string().max(100_000)).max(32)])
  .nullable()
  .default(null)
  .transform((c) => (c === null ? [] : Array.isArray(c) ? c : [c]))

const Selector = z.string().min(1).max(2048)
const DomainList = (max: number) =>
  z
    .array(
      z
        .string()
        .min(1)
        .max(253)
        .regex(/^[A-Za-z0-9.-]+$/, 'not a domain name'),
    )
    .max(max)

/** A session's name: what the caller picks, echoed in results, the monitor and the logs. */
export const SessionId = z
  .string()
  .min(1, 'session_id is empty')
  .max(128, 'session_id is at most 128 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'session_id may hold only letters, digits and . _ : -')

/** Crawl4AI's CacheMode values: enabled reads and writes, read_only / write_only one of them, disabled and bypass neither. */
export const CACHE_MODES = ['enabled', 'disabled', 'read_only', 'write_only', 'bypass'] as const
export type CacheMode = (typeof CACHE_MODES)[number]

/** How one page is crawled. Caps (page_timeout, js_code) are enforced again by the engine's config. */
export const CrawlerConfigObject = z.strictObject(
  {
    wait_until: WaitUntil.default('domcontentloaded'),
    page_timeout: z.number().int().min(1).max(600_000).default(60_000),
    wait_for: WaitForField,
    wait_for_timeout: z.number().int().min(1).max(600_000).nullable().default(null),
    css_selector: Selector.nullable().default(null),
    screenshot: z.boolean().default(false),
    screenshot_full_page: z.boolean().default(false),
    screenshot_wait_for: z.number().min(0).max(60).nullable().default(null),
    pdf: z.boolean().default(false),
    js_code: Scripts,
    js_code_before_wait: Scripts,
    excluded_tags: z
      .array(z.string().regex(/^[a-z][a-z0-9-]*$/i))
      .max(64)
      .default([]),
    word_count_threshold: z.number().int().min(0).max(10_000).default(1),
    // Crawl4AI's default is "", meaning none.
    excluded_selector: z
      .string()
      .max(2048)
      .nullable()
      .default(null)
      .transform((s) => (s === null || s.trim() === '' ? null : s)),
    target_elements: z.array(Selector).max(64).default([]),
    only_text: z.boolean().default(false),
    exclude_external_links: z.boolean().default(false),
    exclude_social_media_links: z.boolean().default(false),
    exclude_internal_links: z.boolean().default(false),
    exclude_external_images: z.boolean().default(false),
    exclude_all_images: z.boolean().default(false),
    exclude_domains: DomainList(256).default([]),
    exclude_social_media_domains: DomainList(256).default(() => [...SOCIAL_MEDIA_DOMAINS]),
    delay_before_return_html: z.number().min(0).max(60).default(0),
    wait_for_images: z.boolean().default(false),
    scan_full_page: z.boolean().default(false),
    scroll_delay: z.number().min(0).max(10).default(0.2),
    max_scroll_steps: z.number().int().min(1).max(1000).nullable().default(null),
    remove_overlay_elements: z.boolean().default(false),
    process_iframes: z.boolean().default(false),
    stream: z.boolean().default(false),
    // Its content filter makes fit_markdown and fit_html (src/shared/markdown-generator.ts).
    markdown_generator: MarkdownGeneratorValue.nullable().default(null),
    // Structured extraction into extracted_content: a JsonCss/JsonXPath schema or regex patterns (src/shared/extraction-strategy.ts).
    extraction_strategy: ExtractionStrategyValue.nullable().default(null),
    // Crawl4AI's CacheMode (src/main/core/cache): what the result cache may read and write for
    // this call. bypass by default, as Crawl4AI's server; null means enabled, as upstream.
    cache_mode: z
      .enum(CACHE_MODES, { error: `give one of ${CACHE_MODES.map((m) => JSON.stringify(m)).join(', ')}` })
      .nullable()
      .default('bypass')
      .transform((m) => m ?? 'enabled'),
    // A named page kept between requests (its cookies, storage and window state); js_only runs
    // js_code on it without navigating. The id is shown by the monitor and logged: bounded, plain.
    session_id: SessionId.nullable().default(null),
    js_only: z.boolean().default(false),
  },
  { error: unknownParams('CrawlerRunConfig') },
)

/** A CrawlerRunConfig alone: either Crawl4AI form, decoded, then checked. */
export const CrawlerConfigSchema = z.preprocess((value, ctx) => decodeAlone('CrawlerRunConfig', value, ctx), CrawlerConfigObject)
export type CrawlerConfigInput = z.input<typeof CrawlerConfigObject>
export type CrawlerConfig = z.output<typeof CrawlerConfigObject>

/** A decoding issue as a zod issue, so both doors report it like any other bad field. */
function report(issues: readonly DecodeIssue[], ctx: { addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void }): void {
  for (const issue of issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message })
}

function decodeAlone(cls: ConfigClass, value: unknown, ctx: Parameters<typeof report>[1]): unknown {
  const decoder = new Decoder()
  const decoded = decodeConfig(cls, value, [], decoder)
  report(decoder.issues, ctx)
  return decoded.params
}

/**
 * The warnings a request's decoding produced, as a value no JSON body can hold: the request
 * schemas carry it in the `warnings` slot, so a client that sends a `warnings` key is refused
 * like any other unknown key.
 */
class ConfigWarnings {
  constructor(readonly list: string[]) {}
}
const WarningsSlot = z.custom<ConfigWarnings>((v) => v instanceof ConfigWarnings, {
  error: 'unknown parameter "warnings": warnings are written by the server, not sent to it',
})

function decodeRequest(body: unknown, ctx: Parameters<typeof report>[1]): unknown {
  const decoded = decodeRequestConfigs(body)
  report(decoded.issues, ctx)
  const out = decoded.body
  if (out === null || typeof out !== 'object' || Array.isArray(out) || Object.hasOwn(out, 'warnings')) return out
  return { ...out, warnings: new ConfigWarnings(decoded.warnings) }
}

const BrowserConfigField = BrowserConfigObject.nullish().transform((b) => b ?? BrowserConfigObject.parse({}))
const CrawlerConfigField = CrawlerConfigObject.nullish().transform((c) => c ?? CrawlerConfigObject.parse({}))

/** Fields of Crawl4AI's CrawlRequest that crawldeck does not offer, with why. */
const UNOFFERED_FIELDS: Record<string, string> = {
  crawler_configs: 'per-URL configs are not offered: one crawler_config applies to every URL of a request',
  hooks: 'hooks are not offered: no code or action is taken from a request to run in the browser',
}

function unknownFields(keys: readonly string[]): string {
  const unoffered = keys.filter((k) => Object.hasOwn(UNOFFERED_FIELDS, k))
  if (unoffered.length > 0) return unoffered.map((k) => `${k}: ${UNOFFERED_FIELDS[k]}`).join('; ')
  return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(cap(k))).join(', ')}`
}

/**
 * A request schema with optional browser_config and crawler_config, in plain or Crawl4AI form,
 * whose output carries `warnings: string[]` (the ignored parameters given). For any endpoint
 * that takes the two configs: `withConfigWarnings({url: WebUrl, full_page: z.boolean().default(false)})`.
 */
export function withConfigWarnings<S extends z.ZodRawShape>(shape: S) {
  const object = z.strictObject(
    { ...shape, browser_config: BrowserConfigField, crawler_config: CrawlerConfigField, warnings: WarningsSlot },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? unknownFields(issue.keys) : undefined) },
  )
  return z.preprocess(
    decodeRequest,
    object.transform((parsed) => {
      const { warnings, ...rest } = parsed as typeof parsed & { warnings: ConfigWarnings }
      return { ...rest, warnings: warnings.list }
    }),
  )
}

export const MAX_URLS_PER_REQUEST = 100

export const CrawlRequestSchema = withConfigWarnings({
  urls: z.array(WebUrl).min(1, 'give at least one URL').max(MAX_URLS_PER_REQUEST, `at most ${MAX_URLS_PER_REQUEST} URLs per request`),
})
export type CrawlRequestInput = { urls: string[]; browser_config?: unknown; crawler_config?: unknown }
export type CrawlRequest = z.output<typeof CrawlRequestSchema>

/** The single-URL endpoints: /md, /html, /pdf. */
export const SingleUrlRequestSchema = withConfigWarnings({ url: WebUrl })
export type SingleUrlRequest = z.output<typeof SingleUrlRequestSchema>

export const EmptyInput = z.object({}).strict()

export type { CrawlResult, CrawlResponse, PageLink, PageMetadata, MediaItem, MarkdownResult, JsExecutionResult } from './crawl-result.js'
