import { z } from 'zod'
import { conflictingSwitches, refuseRequestSwitch } from './browser-switches.js'

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

/** Crawl4AI clients send `{type: "BrowserConfig", params: {...}}`; we accept that and the plain object. */
function unwrapTyped(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const rec = value as Record<string, unknown>
    if (typeof rec.type === 'string' && rec.params && typeof rec.params === 'object' && Object.keys(rec).length === 2) {
      return rec.params
    }
  }
  return value
}

/** Crawl4AI's `{"type": "dict", "value": {...}}`, a plain object once unwrapped. */
function unwrapDict(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const rec = value as Record<string, unknown>
    if (rec.type === 'dict' && rec.value && typeof rec.value === 'object' && Object.keys(rec).length === 2) return rec.value
  }
  return value
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

/**
 * Everything that decides which browser serves a crawl. Two configs that parse to the same
 * value share a browser, so every field has a default and parsing fills it in.
 */
export const BrowserConfigSchema = z.preprocess(
  unwrapTyped,
  z
    .object({
      headless: z.boolean().default(true),
      viewport_width: z.number().int().min(100).max(7680).default(1280),
      viewport_height: z.number().int().min(100).max(4320).default(720),
      user_agent: z.string().min(1).max(1024).nullable().default(null),
      java_script_enabled: z.boolean().default(true),
      ignore_https_errors: z.boolean().default(false),
      proxy: z
        .union([z.string().min(1).max(2048), ProxyObject])
        .nullable()
        .default(null)
        .transform((p) => (typeof p === 'string' ? { server: p } : p)),
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
      // Crawl4AI's names for the same things: `viewport` overrides the two sizes, as it does there.
      viewport: z.preprocess(unwrapDict, Viewport.nullable()).optional(),
      browser_type: z.literal('chromium', { error: 'only Chromium is available on this server: browser_type must be "chromium" (or left out)' }).optional(),
    })
    .strict()
    .transform(({ viewport, browser_type: _chromium, ...config }) =>
      viewport ? { ...config, viewport_width: viewport.width, viewport_height: viewport.height } : config,
    ),
)
export type BrowserConfigInput = z.input<typeof BrowserConfigSchema>
export type BrowserConfig = z.output<typeof BrowserConfigSchema>

export const WaitUntil = z.enum(['load', 'domcontentloaded', 'networkidle', 'commit'])

/** How one page is crawled. Caps (page_timeout, js_code) are enforced again by the engine's config. */
export const CrawlerConfigSchema = z.preprocess(
  unwrapTyped,
  z
    .object({
      wait_until: WaitUntil.default('domcontentloaded'),
      page_timeout: z.number().int().min(1).max(600_000).default(60_000),
      wait_for: z
        .string()
        .min(1)
        .max(2048)
        .transform((s) => (s.startsWith('css:') ? s.slice(4).trim() : s))
        .nullable()
        .default(null),
      css_selector: z.string().min(1).max(2048).nullable().default(null),
      screenshot: z.boolean().default(false),
      screenshot_full_page: z.boolean().default(false),
      pdf: z.boolean().default(false),
      js_code: z
        .union([z.string().max(100_000), z.array(z.string().max(100_000)).max(32)])
        .nullable()
        .default(null)
        .transform((c) => (c === null ? [] : Array.isArray(c) ? c : [c])),
      excluded_tags: z
        .array(z.string().regex(/^[a-z][a-z0-9-]*$/i))
        .max(64)
        .default([]),
    })
    .strict(),
)
export type CrawlerConfigInput = z.input<typeof CrawlerConfigSchema>
export type CrawlerConfig = z.output<typeof CrawlerConfigSchema>

export const MAX_URLS_PER_REQUEST = 100

export const CrawlRequestSchema = z
  .object({
    urls: z.array(WebUrl).min(1, 'give at least one URL').max(MAX_URLS_PER_REQUEST, `at most ${MAX_URLS_PER_REQUEST} URLs per request`),
    browser_config: BrowserConfigSchema.optional().transform((b) => b ?? BrowserConfigSchema.parse({})),
    crawler_config: CrawlerConfigSchema.optional().transform((c) => c ?? CrawlerConfigSchema.parse({})),
  })
  .strict()
export type CrawlRequestInput = z.input<typeof CrawlRequestSchema>
export type CrawlRequest = z.output<typeof CrawlRequestSchema>

/** The single-URL endpoints: /md, /html, /pdf. */
export const SingleUrlRequestSchema = z
  .object({
    url: WebUrl,
    browser_config: BrowserConfigSchema.optional().transform((b) => b ?? BrowserConfigSchema.parse({})),
    crawler_config: CrawlerConfigSchema.optional().transform((c) => c ?? CrawlerConfigSchema.parse({})),
  })
  .strict()
export type SingleUrlRequest = z.output<typeof SingleUrlRequestSchema>

export const ScreenshotRequestSchema = SingleUrlRequestSchema.extend({
  full_page: z.boolean().default(false),
}).strict()
export type ScreenshotRequest = z.output<typeof ScreenshotRequestSchema>

export const EmptyInput = z.object({}).strict()

export interface PageLink {
  href: string
  text: string
}

export interface PageMetadata {
  title: string | null
  description: string | null
  keywords: string | null
  author: string | null
  language: string | null
  canonical: string | null
  /** og:* and twitter:* properties, keyed by their property name. */
  social: Record<string, string>
}

export interface CrawlResult {
  url: string
  /** The URL the page ended on after redirects. */
  redirected_url: string | null
  /** True only when the page loaded with a status below 400 and every step ran. */
  success: boolean
  status_code: number | null
  html: string
  cleaned_html: string
  markdown: string
  links: { internal: PageLink[]; external: PageLink[] }
  media: { images: Array<{ src: string; alt: string }> }
  metadata: PageMetadata
  error_message: string | null
  screenshot: string | null
  /** True when the screenshot was cut at the server's max_screenshot_height (the page is taller). */
  screenshot_clipped: boolean
  pdf: string | null
  /** Values returned by js_code snippets, in order. */
  js_results: unknown[]
  /** Time spent on this URL, from asking for a browser to the result. */
  duration_ms: number
}

export interface CrawlResponse {
  success: boolean
  results: CrawlResult[]
}
