import { z } from 'zod'
import { BrowserConfigObject, CrawlerConfigObject, type BrowserConfig, type CrawlerConfig } from '../crawl-schemas.js'
import { decodeConfig } from './config-decode.js'
import { Decoder, isTypedValue } from './decode.js'
import { paramDocs, type ParamDoc } from './param-docs.js'
import { CRAWLDECK_ONLY, PARAM_TABLES } from './param-tables.js'
import type { ConfigClass } from './type-names.js'

/**
 * Crawl4AI's dump form of a config (what its `/config/dump`, `/schema` and Python SDK produce):
 * `{type, params}` listing only the parameters whose value differs from Crawl4AI's constructor
 * default, plain objects as `{"type": "dict", "value": {...}}`. Every dump posts back to /crawl
 * unchanged: crawldeck's own parameters keep their names, and a proxy is a plain dict under
 * proxy_config (Crawl4AI dumps a ProxyConfig object, which no server builds from a request).
 */
export interface DumpedConfig {
  type: ConfigClass
  params: Record<string, unknown>
}

export interface ConfigSchemaResponse {
  browser: DumpedConfig
  crawler: DumpedConfig
  /** crawldeck's addition: every parameter each config takes, with what this server does with it. */
  docs: { browser: ParamDoc[]; crawler: ParamDoc[] }
}

export interface ConfigDumpResponse extends DumpedConfig {
  /** One sentence per parameter given that has no effect on this server. */
  warnings: string[]
}

/** A value in Crawl4AI's serialized form: plain objects wrapped as dicts, all the way down. */
export function serialize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(serialize)
  // A nested class the decoder kept as {type, params} goes back in the same typed form.
  if (isTypedValue(value)) return { type: value.type, params: Object.fromEntries(Object.entries(value.params).map(([k, v]) => [k, serialize(v)])) }
  if (value !== null && typeof value === 'object') {
    return { type: 'dict', value: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, serialize(v)])) }
  }
  return value
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true
  if (Array.isArray(value)) return value.length === 0
  return typeof value === 'object' && Object.keys(value).length === 0
}

function same(a: unknown, b: unknown): boolean {
  if (isEmpty(a) && isEmpty(b)) return true
  return JSON.stringify(a) === JSON.stringify(b)
}

function dump(cls: ConfigClass, values: Record<string, unknown>, crawldeckDefaults: Record<string, unknown>): DumpedConfig {
  const table = PARAM_TABLES[cls]
  const params: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(values)) {
    const disposition = table[name]
    const reference = disposition?.kind === 'implemented' && disposition.c4aDefault !== CRAWLDECK_ONLY ? disposition.c4aDefault : crawldeckDefaults[name]
    if (!same(value, reference)) params[name] = serialize(value)
  }
  return { type: cls, params }
}

const BROWSER_DEFAULTS = (): BrowserConfig => BrowserConfigObject.parse({})
const CRAWLER_DEFAULTS = (): CrawlerConfig => CrawlerConfigObject.parse({})

/** A parsed BrowserConfig in dump form. */
export function dumpBrowserConfig(config: BrowserConfig): DumpedConfig {
  const { proxy, ...rest } = config
  const defaults = BROWSER_DEFAULTS()
  return dump('BrowserConfig', { ...rest, proxy_config: proxy }, { ...defaults, proxy_config: null })
}

/** A parsed CrawlerRunConfig in dump form; `browserParams` are its locale / user_agent (kept on the browser here). */
export function dumpCrawlerConfig(config: CrawlerConfig, browserParams: Record<string, unknown> = {}): DumpedConfig {
  const { wait_for, excluded_selector, ...rest } = config
  const values: Record<string, unknown> = {
    ...rest,
    wait_for: wait_for === null ? null : `${wait_for.kind}:${wait_for.expression}`,
    excluded_selector: excluded_selector ?? '',
  }
  const out = dump('CrawlerRunConfig', values, { ...CRAWLER_DEFAULTS(), wait_for: null, excluded_selector: '' })
  // An enum dumps in Crawl4AI's typed form, as its serializer writes one.
  if (typeof out.params.cache_mode === 'string') out.params.cache_mode = { type: 'CacheMode', params: out.params.cache_mode }
  for (const [name, value] of Object.entries(browserParams)) if (!isEmpty(value)) out.params[name] = value
  return out
}

/** crawldeck's defaults in dump form: GET /schema. */
export function configSchema(): ConfigSchemaResponse {
  const browser = dumpBrowserConfig(BROWSER_DEFAULTS())
  const crawler = dumpCrawlerConfig(CRAWLER_DEFAULTS())
  return { browser, crawler, docs: { browser: paramDocs('BrowserConfig', browser.params), crawler: paramDocs('CrawlerRunConfig', crawler.params) } }
}

type Ctx = z.core.$RefinementCtx
function addIssues(ctx: Ctx, issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, prefix: PropertyKey[]): void {
  for (const issue of issues) ctx.addIssue({ code: 'custom', path: [...prefix, ...issue.path], message: issue.message })
}

/**
 * POST /config/dump: `{type, params}` checked exactly as /crawl checks a config, then dumped.
 * Other keys (Crawl4AI's playground sends `code`) are ignored, as upstream does: no code is
 * ever evaluated.
 */
export const ConfigDumpRequestSchema = z
  .looseObject({
    type: z.enum(['BrowserConfig', 'CrawlerRunConfig'], { error: 'type must be "BrowserConfig" or "CrawlerRunConfig"' }),
    params: z.unknown().optional(),
  })
  .transform((body, ctx): ConfigDumpResponse => {
    const decoder = new Decoder()
    const decoded = decodeConfig(body.type, body.params ?? {}, ['params'], decoder, 'params')
    if (decoder.issues.length > 0) {
      addIssues(ctx, decoder.issues, [])
      return z.NEVER
    }
    if (body.type === 'BrowserConfig') {
      const parsed = BrowserConfigObject.safeParse(decoded.params)
      if (!parsed.success) {
        addIssues(ctx, parsed.error.issues, ['params'])
        return z.NEVER
      }
      return { ...dumpBrowserConfig(parsed.data), warnings: decoded.warnings }
    }
    const parsed = CrawlerConfigObject.safeParse(decoded.params)
    const moved = BrowserConfigObject.safeParse(decoded.moved)
    if (!parsed.success || !moved.success) {
      if (!parsed.success) addIssues(ctx, parsed.error.issues, ['params'])
      if (!moved.success) addIssues(ctx, moved.error.issues, ['params'])
      return z.NEVER
    }
    const browserParams = Object.fromEntries(Object.keys(decoded.moved).map((k) => [k, (moved.data as Record<string, unknown>)[k]]))
    return { ...dumpCrawlerConfig(parsed.data, browserParams), warnings: decoded.warnings }
  })
