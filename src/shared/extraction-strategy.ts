import { z } from 'zod'

/*
 * crawler_config.extraction_strategy: Crawl4AI's JsonCssExtractionStrategy,
 * JsonXPathExtractionStrategy (and JsonLxmlExtractionStrategy, its CSS twin) and
 * RegexExtractionStrategy, as the config decoder keeps typed values (`{type, params}`). A schema
 * is request data that the page runs: its size, nesting, selectors and patterns are bounded here,
 * in src/shared, so both doors refuse a bad one with a 400 naming the field before any page work.
 * The extraction itself runs in the page (src/main/core/crawl/extraction-strategy*.ts).
 */

/** Nesting of `fields` inside `fields`: real schemas go two or three levels deep. */
export const MAX_SCHEMA_DEPTH = 8
/** Fields in a whole schema, baseFields and every nested level counted. */
export const MAX_SCHEMA_FIELDS = 256
export const MAX_SELECTOR_LENGTH = 2048
export const MAX_PATTERN_LENGTH = 4096
/** Custom patterns of a RegexExtractionStrategy. */
export const MAX_CUSTOM_PATTERNS = 64
/** Records (base items, and every object inside them) one extraction may produce; past it the rest is left out, with a warning. */
export const MAX_EXTRACTED_RECORDS = 10_000

export const SIMPLE_FIELD_TYPES = ['text', 'attribute', 'html', 'regex'] as const
export const FIELD_TYPES = [...SIMPLE_FIELD_TYPES, 'nested', 'nested_list', 'list', 'computed'] as const
export type SimpleFieldType = (typeof SIMPLE_FIELD_TYPES)[number]
export type FieldType = (typeof FIELD_TYPES)[number]

/** A Python `re` pattern as a JavaScript RegExp: its source and flags. */
export interface JsPattern {
  source: string
  flags: string
}

/**
 * Python's `re` syntax where it differs from JavaScript's in ways real schemas use: named groups
 * `(?P<name>...)` and `(?P=name)`, a leading global flag group `(?ims)`, `\A` and `\Z`. Anything
 * else is compiled as it is; what JavaScript cannot read is a 400.
 */
export function jsPattern(pattern: string): JsPattern {
  let source = pattern
  let flags = ''
  const leading = /^\(\?([aiLmsux]+)\)/.exec(source)
  if (leading) {
    source = source.slice(leading[0].length)
    for (const f of leading[1]!) {
      if (f === 'x') throw new Error('verbose patterns ((?x)) are not supported')
      if ((f === 'i' || f === 'm' || f === 's') && !flags.includes(f)) flags += f
    }
  }
  source = source
    .replace(/\(\?P<([A-Za-z_]\w*)>/g, '(?<$1>')
    .replace(/\(\?P=([A-Za-z_]\w*)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$')
  new RegExp(source, flags)
  return { source, flags }
}

const PatternString = z
  .string()
  .min(1, 'a pattern is empty')
  .max(MAX_PATTERN_LENGTH, `a pattern is at most ${MAX_PATTERN_LENGTH} characters`)
  .superRefine((p, ctx) => {
    try {
      jsPattern(p)
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}` })
    }
  })

const Selector = z.string().trim().min(1, 'a selector is empty').max(MAX_SELECTOR_LENGTH, `a selector is at most ${MAX_SELECTOR_LENGTH} characters`)

/** One field of a schema, as Crawl4AI's JsonElementExtractionStrategy reads it. */
export interface SchemaField {
  name: string
  /** Relative to the item; absent: the item (or its `source` sibling) itself. The first match is used. */
  selector?: string
  /** One type, or a pipeline of simple types applied in order (e.g. ["attribute", "regex"]). */
  type: FieldType | SimpleFieldType[]
  attribute?: string
  pattern?: string
  /** The regex group taken (1 by default, as Crawl4AI). */
  group?: number
  transform?: 'lowercase' | 'uppercase' | 'strip'
  default?: unknown
  fields?: SchemaField[]
  /** "+ selector": read from the item's next sibling that matches instead of the item. */
  source?: string
  /** computed: Crawl4AI disabled expressions (its eval); the field gets its default. */
  expression?: string
}

export interface ExtractionSchema {
  name?: string
  baseSelector: string
  baseFields: SchemaField[]
  fields: SchemaField[]
}

const FieldTypeValue = z.union(
  [
    z.enum(FIELD_TYPES, { error: `give one of ${FIELD_TYPES.join(', ')}` }),
    z
      .array(z.enum(SIMPLE_FIELD_TYPES, { error: `a pipeline step is one of ${SIMPLE_FIELD_TYPES.join(', ')}` }))
      .min(1, 'a pipeline has at least one step')
      .max(8, 'a pipeline has at most 8 steps'),
  ],
  { error: `give one of ${FIELD_TYPES.join(', ')}, or a pipeline: a list of ${SIMPLE_FIELD_TYPES.join(', ')}` },
)

const Field: z.ZodType<SchemaField> = z.lazy(() =>
  z
    .object({
      name: z.string().min(1, 'a field name is empty').max(256),
      selector: Selector.optional(),
      type: FieldTypeValue,
      attribute: z.string().min(1).max(256).optional(),
      pattern: PatternString.optional(),
      group: z.number().int().min(0).max(99).optional(),
      transform: z.enum(['lowercase', 'uppercase', 'strip']).optional(),
      default: z.unknown().optional(),
      fields: z.array(Field).optional(),
      source: z
        .string()
        .trim()
        .max(MAX_SELECTOR_LENGTH)
        .regex(/^\+\s*\S/, 'source is "+ selector": the next sibling of the item that matches the selector')
        .optional(),
      expression: z.string().max(MAX_PATTERN_LENGTH).optional(),
      // A Python callable cannot travel in JSON; Crawl4AI's `function` is never a request's.
    })
    .strict()
    .superRefine((f, ctx) => {
      const steps = Array.isArray(f.type) ? f.type : [f.type]
      if (steps.includes('attribute') && f.attribute === undefined)
        ctx.addIssue({ code: 'custom', path: ['attribute'], message: 'an attribute field names its attribute' })
      if (steps.includes('regex') && f.pattern === undefined) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'a regex field gives its pattern' })
      const nesting = f.type === 'nested' || f.type === 'nested_list' || f.type === 'list'
      if (nesting && f.fields === undefined) ctx.addIssue({ code: 'custom', path: ['fields'], message: `a ${String(f.type)} field lists its fields` })
      if (!nesting && f.fields !== undefined)
        ctx.addIssue({ code: 'custom', path: ['fields'], message: `only nested, nested_list and list fields have fields` })
    }),
) as z.ZodType<SchemaField>

/** The depth and number of fields, counted without recursion, so a hostile schema costs no stack. */
function schemaSize(schema: { baseFields: SchemaField[]; fields: SchemaField[] }): { depth: number; count: number } {
  let depth = 0
  let count = 0
  const work: Array<{ list: SchemaField[]; depth: number }> = [
    { list: schema.baseFields, depth: 1 },
    { list: schema.fields, depth: 1 },
  ]
  while (work.length > 0) {
    const { list, depth: d } = work.pop()!
    if (list.length > 0) depth = Math.max(depth, d)
    count += list.length
    if (count > MAX_SCHEMA_FIELDS || depth > MAX_SCHEMA_DEPTH) break
    for (const f of list) if (f.fields) work.push({ list: f.fields, depth: d + 1 })
  }
  return { depth, count }
}

export const ExtractionSchemaValue = z
  .object({
    name: z.string().max(1024).optional(),
    baseSelector: Selector,
    baseFields: z.array(Field).default([]),
    fields: z.array(Field),
  })
  .strict()
  .superRefine((schema, ctx) => {
    const { depth, count } = schemaSize(schema)
    if (count > MAX_SCHEMA_FIELDS) ctx.addIssue({ code: 'custom', path: ['fields'], message: `the schema has more than ${MAX_SCHEMA_FIELDS} fields` })
    if (depth > MAX_SCHEMA_DEPTH)
      ctx.addIssue({ code: 'custom', path: ['fields'], message: `the schema nests fields more than ${MAX_SCHEMA_DEPTH} levels deep` })
  })

/**
 * RegexExtractionStrategy's built-in patterns, by Crawl4AI's labels and in the order of its flags
 * (pattern bit i is the i-th label). Written for JavaScript's engine; each linear on any text.
 */
export const BUILTIN_PATTERNS: ReadonlyArray<readonly [label: string, pattern: JsPattern]> = Object.freeze([
  ['email', { source: String.raw`[\w.+-]+@[\w-]+\.[\w.-]+`, flags: '' }],
  ['phone_intl', { source: String.raw`\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}\b`, flags: '' }],
  ['phone_us', { source: String.raw`(?<!\d)\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b`, flags: '' }],
  // A sentence's full stop or comma after a URL is not part of it.
  ['url', { source: String.raw`https?://[^\s"'<>()]*[^\s"'<>().,;:!?]`, flags: '' }],
  ['ipv4', { source: String.raw`\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b`, flags: '' }],
  [
    'ipv6',
    {
      source: String.raw`\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?(?![\w:])`,
      flags: '',
    },
  ],
  ['uuid', { source: String.raw`\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b`, flags: '' }],
  ['currency', { source: String.raw`[$€£¥₹]\s?\d+(?:[.,]\d+)*|\b\d+(?:[.,]\d+)*\s?(?:USD|EUR|GBP|JPY|INR|CHF)\b`, flags: '' }],
  ['percentage', { source: String.raw`-?\b\d+(?:\.\d+)?\s?%`, flags: '' }],
  ['number', { source: String.raw`-?\b\d+(?:\.\d+)?\b`, flags: '' }],
  ['date_iso', { source: String.raw`\b\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b`, flags: '' }],
  ['date_us', { source: String.raw`\b(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])/(?:\d{4}|\d{2})\b`, flags: '' }],
  ['time_24h', { source: String.raw`\b(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?\b`, flags: '' }],
  ['postal_us', { source: String.raw`\b\d{5}(?:-\d{4})?\b`, flags: '' }],
  ['postal_uk', { source: String.raw`\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b`, flags: '' }],
  ['hex_color', { source: String.raw`#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})\b`, flags: '' }],
  ['twitter_handle', { source: String.raw`(?<![\w@.])@[A-Za-z0-9_]{1,15}\b`, flags: '' }],
  ['hashtag', { source: String.raw`(?<![\w&#])#[A-Za-z_]\w*`, flags: '' }],
  ['mac_addr', { source: String.raw`\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}\b`, flags: '' }],
  ['iban', { source: String.raw`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b`, flags: '' }],
  ['credit_card', { source: String.raw`\b(?:4\d{12}(?:\d{3})?|5[1-5]\d{14}|3[47]\d{13}|6(?:011|5\d{2})\d{12})\b`, flags: '' }],
] as const)

export const BUILTIN_LABELS = BUILTIN_PATTERNS.map(([label]) => label)
const ALL_BITS = 2 ** BUILTIN_PATTERNS.length - 1

const Label = z.string().min(1, 'a label is empty').max(128)
const LabelName = z.enum(['all', ...BUILTIN_LABELS] as [string, ...string[]], { error: `give one of all, ${BUILTIN_LABELS.join(', ')}` })

const RegexParams = z
  .object({
    // Crawl4AI's IntFlag (Email | Url ...), which travels as its integer; or, here, labels by name.
    pattern: z
      .union([
        z
          .number()
          .int()
          .min(0)
          .max(ALL_BITS, `the built-in patterns are bits 0..${BUILTIN_PATTERNS.length - 1}`),
        LabelName,
        z.array(LabelName).max(64),
      ])
      .nullable()
      .default(0),
    custom: z
      .union([z.record(Label, PatternString), z.array(z.tuple([Label, PatternString]))])
      .nullable()
      .default(null)
      .superRefine((c, ctx) => {
        const n = c === null ? 0 : Array.isArray(c) ? c.length : Object.keys(c).length
        if (n > MAX_CUSTOM_PATTERNS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_CUSTOM_PATTERNS} custom patterns` })
      }),
    // Crawl4AI reads fit_html by default. Here "html" and "raw_html" search the page's HTML; any other
    // value, the page's visible text.
    input_format: z.string().max(64).default('text'),
    verbose: z.boolean().optional(),
  })
  .strict()

const JsonParams = z
  .object({
    schema: ExtractionSchemaValue,
    // Crawl4AI forces "html" for these strategies; accepted and ignored alike.
    input_format: z.string().max(64).optional(),
    verbose: z.boolean().optional(),
  })
  .strict()

/** What the engine runs: a schema over the page's DOM, or patterns over its text. */
export type ExtractionStrategy =
  { kind: 'css' | 'xpath'; schema: ExtractionSchema } | { kind: 'regex'; patterns: Array<{ label: string } & JsPattern>; input: 'text' | 'html' }

const JSON_STRATEGIES: Record<string, 'css' | 'xpath'> = {
  JsonCssExtractionStrategy: 'css',
  // Crawl4AI's lxml-backed variant of the CSS strategy: the same schema, the same selectors.
  JsonLxmlExtractionStrategy: 'css',
  JsonXPathExtractionStrategy: 'xpath',
}

export const EXTRACTION_STRATEGY_TYPES = [
  'JsonCssExtractionStrategy',
  'JsonXPathExtractionStrategy',
  'JsonLxmlExtractionStrategy',
  'RegexExtractionStrategy',
] as const

const COSINE =
  "CosineStrategy is not offered: it clusters the page's text with a sentence-embedding model and labels clusters with a classifier, and this server runs no such model; use JsonCssExtractionStrategy, JsonXPathExtractionStrategy or RegexExtractionStrategy"

function selectedBuiltins(pattern: number | string | string[] | null): Array<{ label: string } & JsPattern> {
  const names = new Set<string>()
  if (typeof pattern === 'number') BUILTIN_PATTERNS.forEach(([label], i) => (Math.floor(pattern / 2 ** i) % 2 === 1 ? names.add(label) : undefined))
  else for (const n of pattern === null ? [] : Array.isArray(pattern) ? pattern : [pattern]) names.add(n)
  if (names.has('all')) return BUILTIN_PATTERNS.map(([label, p]) => ({ label, ...p }))
  return BUILTIN_PATTERNS.filter(([label]) => names.has(label)).map(([label, p]) => ({ label, ...p }))
}

/** crawler_config.extraction_strategy as given (checked): `{type, params}`, which /config/dump writes back. */
export interface ExtractionStrategyConfig {
  type: (typeof EXTRACTION_STRATEGY_TYPES)[number]
  params: Record<string, unknown>
}

/** What the engine runs for a checked strategy (ExtractionStrategyValue's output). */
export function runnableStrategy(config: ExtractionStrategyConfig): ExtractionStrategy {
  const kind = JSON_STRATEGIES[config.type]
  if (kind !== undefined) return { kind, schema: JsonParams.parse(config.params).schema }
  const { pattern, custom, input_format } = RegexParams.parse(config.params)
  const own = custom === null ? [] : Array.isArray(custom) ? custom : Object.entries(custom)
  const patterns = [...selectedBuiltins(pattern), ...own.map(([label, p]) => ({ label, ...jsPattern(p) }))]
  return { kind: 'regex', patterns, input: input_format === 'html' || input_format === 'raw_html' ? 'html' : 'text' }
}

/** crawler_config.extraction_strategy, in the typed form the config decoder keeps. */
export const ExtractionStrategyValue = z
  .object({
    type: z.string(),
    params: z.record(z.string(), z.unknown()),
  })
  .strict()
  .transform((value, ctx): ExtractionStrategyConfig => {
    const forward = (issues: z.core.$ZodIssue[]) => {
      for (const issue of issues)
        ctx.addIssue({ code: 'custom', path: ['params', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message })
    }
    if (value.type === 'CosineStrategy') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: COSINE })
      return z.NEVER
    }
    const params = JSON_STRATEGIES[value.type] !== undefined ? JsonParams : value.type === 'RegexExtractionStrategy' ? RegexParams : null
    if (params === null) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `give one of ${EXTRACTION_STRATEGY_TYPES.join(', ')}` })
      return z.NEVER
    }
    const parsed = params.safeParse(value.params)
    if (!parsed.success) {
      forward(parsed.error.issues)
      return z.NEVER
    }
    return { type: value.type as ExtractionStrategyConfig['type'], params: value.params }
  })
