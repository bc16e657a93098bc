/*
 * The Playground's two views of one config: the quick form's fields and the JSON editor's text
 * for browser_config / crawler_config. The text is what is sent; the form edits the keys it
 * knows inside it (and leaves every other key, and the typed {"type", "params"} wrapper, alone);
 * an edit of the text sets the form from the keys it knows. A key missing from the text means
 * the server's default, so the form shows its own default for it.
 */

export type ConfigKind = 'browser' | 'crawler'

export const CONFIG_CLASS: Record<ConfigKind, 'BrowserConfig' | 'CrawlerRunConfig'> = { browser: 'BrowserConfig', crawler: 'CrawlerRunConfig' }

/** The form fields that live in a config, as the form holds them. */
export interface ConfigFormFields {
  headless: boolean
  viewport_width: number
  viewport_height: number
  user_agent: string
  java_script_enabled: boolean
  wait_until: 'load' | 'domcontentloaded' | 'networkidle' | 'commit'
  page_timeout: number
  css_selector: string
  wait_for: string
  screenshot: boolean
  full_page: boolean
  /** crawler_config.cache_mode: what the result cache may read and write. */
  cache_mode: 'bypass' | 'enabled' | 'disabled' | 'read_only' | 'write_only'
  /** crawler_config.session_id: a named page kept between runs; empty for none. */
  session_id: string
}

interface FieldSpec<F extends keyof ConfigFormFields = keyof ConfigFormFields> {
  field: F
  /** The config's value for the form's. */
  toConfig(v: ConfigFormFields[F]): unknown
  /** The form's value for the config's, or undefined when the form cannot show it (left as it is). */
  fromConfig(v: unknown): ConfigFormFields[F] | undefined
}

const bool = <F extends keyof ConfigFormFields>(field: F): FieldSpec<F> => ({
  field,
  toConfig: (v) => v,
  fromConfig: (v) => (typeof v === 'boolean' ? (v as ConfigFormFields[F]) : undefined),
})
const num = <F extends keyof ConfigFormFields>(field: F): FieldSpec<F> => ({
  field,
  toConfig: (v) => v,
  fromConfig: (v) => (typeof v === 'number' && Number.isFinite(v) ? (v as ConfigFormFields[F]) : undefined),
})
/** A text field whose empty value is the config's null. */
const text = <F extends keyof ConfigFormFields>(field: F): FieldSpec<F> => ({
  field,
  toConfig: (v) => (String(v).trim() === '' ? null : String(v).trim()),
  fromConfig: (v) => (v === null ? ('' as ConfigFormFields[F]) : typeof v === 'string' ? (v as ConfigFormFields[F]) : undefined),
})
const oneOf = <F extends keyof ConfigFormFields>(field: F, values: readonly string[]): FieldSpec<F> => ({
  field,
  toConfig: (v) => v,
  fromConfig: (v) => {
    // Crawl4AI's typed enum form: {"type": "CacheMode", "params": "bypass"}.
    const raw = v !== null && typeof v === 'object' && 'params' in v ? (v as { params: unknown }).params : v
    return typeof raw === 'string' && values.includes(raw.toLowerCase()) ? (raw.toLowerCase() as ConfigFormFields[F]) : undefined
  },
})

/** Config key → form field, per config. */
export const FORM_KEYS: Record<ConfigKind, Record<string, FieldSpec>> = {
  browser: {
    headless: bool('headless'),
    viewport_width: num('viewport_width'),
    viewport_height: num('viewport_height'),
    user_agent: text('user_agent'),
    java_script_enabled: bool('java_script_enabled'),
  },
  crawler: {
    wait_until: oneOf('wait_until', ['load', 'domcontentloaded', 'networkidle', 'commit']),
    page_timeout: num('page_timeout'),
    css_selector: text('css_selector'),
    wait_for: text('wait_for'),
    screenshot: bool('screenshot'),
    screenshot_full_page: bool('full_page'),
    cache_mode: oneOf('cache_mode', ['bypass', 'enabled', 'disabled', 'read_only', 'write_only']),
    session_id: text('session_id'),
  },
}

/** A config's text, read: its parameters, and whether they came in the typed form (kept when written back). */
export type ParsedConfig =
  { ok: true; typed: boolean; params: Record<string, unknown>; value: Record<string, unknown> } | { ok: false; error: string; at: number }

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** JSON.parse's message carries the offset of the fault in V8 and SpiderMonkey: "... at position N". */
function errorOffset(message: string, text: string): number {
  const m = /position (\d+)/.exec(message)
  if (m) return Math.min(Number(m[1]), text.length)
  const lc = /line (\d+) column (\d+)/.exec(message)
  if (lc) {
    const lines = text.split('\n')
    let at = 0
    for (let i = 0; i < Number(lc[1]) - 1 && i < lines.length; i++) at += lines[i]!.length + 1
    return Math.min(at + Number(lc[2]) - 1, text.length)
  }
  return text.length
}

export function parseConfigText(text: string): ParsedConfig {
  if (text.trim() === '') return { ok: true, typed: false, params: {}, value: {} }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    return { ok: false, error: `not JSON: ${message}`, at: errorOffset(message, text) }
  }
  if (!isPlainObject(value)) return { ok: false, error: 'a config is a JSON object: {"key": value} or {"type": ..., "params": {...}}', at: 0 }
  if (typeof value.type === 'string' && 'params' in value) {
    if (!isPlainObject(value.params)) return { ok: false, error: '"params" of a typed config is an object', at: 0 }
    return { ok: true, typed: true, params: value.params, value }
  }
  return { ok: true, typed: false, params: value, value }
}

/** The form's part of a config, as the config writes it. */
export function formToConfig(kind: ConfigKind, form: ConfigFormFields): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(FORM_KEYS[kind])) out[key] = spec.toConfig(form[spec.field] as never)
  return out
}

/** The form values a config's text sets: the keys it gives that the form can show, and defaults for those it leaves out. */
export function formFromText(kind: ConfigKind, text: string, defaults: ConfigFormFields): Partial<ConfigFormFields> | null {
  const parsed = parseConfigText(text)
  if (!parsed.ok) return null
  const out: Partial<ConfigFormFields> = {}
  for (const [key, spec] of Object.entries(FORM_KEYS[kind])) {
    const value = Object.hasOwn(parsed.params, key) ? spec.fromConfig(parsed.params[key]) : defaults[spec.field]
    if (value !== undefined) (out as Record<string, unknown>)[spec.field] = value
  }
  return out
}

/** True when the text already says what the form says (or cannot be read: the user is mid-edit). */
export function textAgreesWithForm(kind: ConfigKind, text: string, form: ConfigFormFields, defaults: ConfigFormFields): boolean {
  const fromText = formFromText(kind, text, defaults)
  if (fromText === null) return true
  for (const spec of Object.values(FORM_KEYS[kind])) {
    if (spec.field in fromText && fromText[spec.field] !== form[spec.field]) return false
  }
  return true
}

/**
 * The text rewritten with the form's values for the keys the form knows; every other key, the
 * order of the keys and the typed wrapper stay. A typed config writes cache_mode typed too.
 */
export function writeFormIntoText(kind: ConfigKind, text: string, form: ConfigFormFields): string {
  const parsed = parseConfigText(text)
  const base = parsed.ok ? parsed : { typed: false, params: {} as Record<string, unknown>, value: {} as Record<string, unknown> }
  const params: Record<string, unknown> = { ...base.params }
  for (const [key, value] of Object.entries(formToConfig(kind, form))) {
    params[key] = base.typed && key === 'cache_mode' ? { type: 'CacheMode', params: value } : value
  }
  const out = base.typed ? { ...base.value, params } : params
  return JSON.stringify(out, null, 2)
}

/** The config to send for a text: as typed (plain or typed form), with `extra` keys added among its parameters. */
export function configToSend(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> | null {
  const parsed = parseConfigText(text)
  if (!parsed.ok) return null
  if (Object.keys(extra).length === 0) return parsed.value
  return parsed.typed ? { ...parsed.value, params: { ...parsed.params, ...extra } } : { ...parsed.params, ...extra }
}

/**
 * Where a key of the text is: the offsets of the property name at `path` (object keys from the
 * top), or null. A small scanner of the JSON (already known to parse) that tracks the key path.
 */
export function locateKey(text: string, path: readonly string[]): { from: number; to: number } | null {
  const stack: Array<{ kind: 'object' | 'array'; key: string | null; index: number }> = []
  let i = 0
  let expectKey = false
  while (i < text.length) {
    const ch = text[i]!
    if (ch === '"') {
      const start = i
      i++
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
      const end = i + 1
      if (expectKey) {
        const name = JSON.parse(text.slice(start, end)) as string
        const top = stack[stack.length - 1]!
        top.key = name
        // The key (or index) under which each open container sits in its parent, then this name.
        const here = [...stack.slice(0, -1).map((f) => (f.kind === 'array' ? String(f.index) : (f.key ?? ''))), name]
        if (here.length === path.length && here.every((k, n) => k === path[n])) return { from: start, to: end }
        expectKey = false
      }
      i = end
      continue
    }
    if (ch === '{' || ch === '[') {
      stack.push({ kind: ch === '{' ? 'object' : 'array', key: null, index: 0 })
      expectKey = ch === '{'
    } else if (ch === '}' || ch === ']') {
      stack.pop()
      expectKey = false
    } else if (ch === ',') {
      const top = stack[stack.length - 1]
      if (top?.kind === 'object') expectKey = true
      else if (top) top.index++
    }
    i++
  }
  return null
}
