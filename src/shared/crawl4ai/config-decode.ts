import { cap, Decoder, type DecodeIssue } from './decode.js'
import { PARAM_TABLES } from './param-tables.js'
import type { ConfigClass } from './type-names.js'

/**
 * browser_config / crawler_config in either of Crawl4AI's forms — plain kwargs or
 * `{"type": "<Class>", "params": {...}}` — turned into the plain object the strict zod schemas
 * check, by way of the parameter tables: implemented parameters pass on decoded, ignored ones
 * leave a warning and go, refused ones become issues. Unknown names pass on too, so the strict
 * schema names them.
 */
export interface DecodedConfig {
  /** What the config schema validates: plain data, implemented and unknown names only. */
  params: unknown
  /** One sentence per ignored parameter given, naming it and saying why it has no effect. */
  warnings: string[]
  /** CrawlerRunConfig parameters that crawldeck keeps on the browser, by their browser name. */
  moved: Record<string, unknown>
}

const SLOT_NAME: Record<ConfigClass, string> = { BrowserConfig: 'browser_config', CrawlerRunConfig: 'crawler_config' }

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * Decode one config of class `cls` found at `path`. `label` starts each warning (the request's
 * field name, so a client reads `crawler_config.check_robots_txt: ...`).
 */
export function decodeConfig(cls: ConfigClass, raw: unknown, path: (string | number)[], decoder: Decoder, label = SLOT_NAME[cls]): DecodedConfig {
  const warnings: string[] = []
  const moved: Record<string, unknown> = {}
  if (raw === undefined || raw === null) return { params: {}, warnings, moved }
  if (!isPlainObject(raw)) return { params: raw, warnings, moved }
  let params: unknown = raw
  let at = path
  if (typeof raw.type === 'string' && Object.hasOwn(raw, 'params')) {
    if (raw.type !== cls) {
      decoder.issues.push({ path: [...path, 'type'], message: `expected type '${cls}' here, not '${cap(raw.type)}'` })
      return { params: {}, warnings, moved }
    }
    params = raw.params
    at = [...path, 'params']
  } else if (raw.type === 'dict' && Object.hasOwn(raw, 'value')) {
    params = raw.value
    at = [...path, 'value']
  }
  if (!isPlainObject(params)) {
    decoder.issues.push({ path: at, message: `the params of a ${cls} must be an object` })
    return { params: {}, warnings, moved }
  }
  const table = PARAM_TABLES[cls]
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(params)) {
    const where = [...at, name]
    const disposition = Object.hasOwn(table, name) ? table[name] : undefined
    if (disposition === undefined || disposition.kind === 'implemented') {
      Object.defineProperty(out, name, { value: decoder.value(value, where, where.length), enumerable: true, writable: true, configurable: true })
      continue
    }
    if (disposition.kind === 'refused') {
      decoder.issues.push({ path: where, message: `${name} may not be set from a request: ${disposition.why}` })
      continue
    }
    const before = decoder.issues.length
    const decoded = decoder.value(value, where, where.length)
    if (decoder.issues.length > before) continue
    if (disposition.kind === 'browser') {
      moved[disposition.to] = decoded
      continue
    }
    if (disposition.check !== undefined) {
      const checked = disposition.check.safeParse(decoded)
      if (!checked.success) {
        for (const issue of checked.error.issues)
          decoder.issues.push({ path: [...where, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message })
        continue
      }
    }
    warnings.push(`${label}.${name}: accepted but has no effect on this server (${disposition.why})`)
  }
  return { params: out, warnings, moved }
}

/** The request body with both configs decoded, and what decoding found. */
export interface DecodedRequest {
  body: unknown
  warnings: string[]
  issues: DecodeIssue[]
}

/**
 * Decode browser_config and crawler_config of a request body. CrawlerRunConfig's locale and
 * user_agent go to the browser (they are browser options here); given on both with different
 * values they are an issue, since one would silently lose.
 */
export function decodeRequestConfigs(body: unknown): DecodedRequest {
  if (!isPlainObject(body)) return { body, warnings: [], issues: [] }
  const decoder = new Decoder()
  const hasBrowser = Object.hasOwn(body, 'browser_config')
  const hasCrawler = Object.hasOwn(body, 'crawler_config')
  if (!hasBrowser && !hasCrawler) return { body, warnings: [], issues: [] }
  const browser = decodeConfig('BrowserConfig', body.browser_config, ['browser_config'], decoder)
  const crawler = decodeConfig('CrawlerRunConfig', body.crawler_config, ['crawler_config'], decoder)
  let browserParams = browser.params
  const movedNames = Object.keys(crawler.moved)
  if (movedNames.length > 0 && isPlainObject(browserParams)) {
    browserParams = { ...browserParams }
    for (const name of movedNames) {
      const value = crawler.moved[name]
      const existing = (browserParams as Record<string, unknown>)[name]
      if (existing !== undefined && existing !== null && existing !== value) {
        decoder.issues.push({
          path: ['crawler_config', name],
          message: `${name} is given on both crawler_config and browser_config with different values: give it once (it is a browser option on this server)`,
        })
      } else if (value !== undefined && value !== null) {
        ;(browserParams as Record<string, unknown>)[name] = value
      }
    }
  }
  const next: Record<string, unknown> = { ...body }
  if (hasBrowser || movedNames.length > 0) next.browser_config = browserParams
  if (hasCrawler) next.crawler_config = crawler.params
  return { body: next, warnings: [...browser.warnings, ...crawler.warnings], issues: decoder.issues }
}
