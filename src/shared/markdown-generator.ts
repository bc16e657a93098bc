import { z } from 'zod'

/*
 * crawler_config.markdown_generator: Crawl4AI's DefaultMarkdownGenerator with its content filter,
 * as the config decoder keeps typed values (`{type, params}`). Checked here, in src/shared, so
 * both doors refuse a malformed one with a 400 before any page work; the filters themselves run
 * on the Markdown worker (src/main/core/crawl/content-filter.ts).
 */

/**
 * The languages BM25ContentFilter stems (Snowball stemmers of @orama/stemmers, loaded on the
 * Markdown worker): Crawl4AI's snowballstemmer names. "porter" is Snowball's English.
 */
export const STEMMER_LANGUAGES = [
  'arabic',
  'armenian',
  'bulgarian',
  'danish',
  'dutch',
  'english',
  'finnish',
  'french',
  'german',
  'greek',
  'hungarian',
  'indonesian',
  'irish',
  'italian',
  'lithuanian',
  'nepali',
  'norwegian',
  'porter',
  'portuguese',
  'romanian',
  'russian',
  'serbian',
  'spanish',
  'swedish',
  'tamil',
  'turkish',
  'ukrainian',
] as const
export type StemmerLanguage = (typeof STEMMER_LANGUAGES)[number]

export function isStemmerLanguage(language: string): language is StemmerLanguage {
  return (STEMMER_LANGUAGES as readonly string[]).includes(language.toLowerCase())
}

const flag = z.boolean().nullable().optional()
const shortText = z.string().max(64).nullable().optional()

/**
 * DefaultMarkdownGenerator's `options`: html2text's attributes, which Crawl4AI sets one by one on
 * its converter. These are applied by ours (src/main/core/crawl/markdown.ts); their types are
 * checked, so a typo in a value is a 400 rather than a silent default. Any other key is kept and
 * named in a warning (html2text would set it and never read it).
 */
export const HTML2TEXT_OPTIONS = {
  ignore_links: flag,
  // html2text's command-line name for ignore_links.
  ignore_anchors: flag,
  ignore_mailto_links: flag,
  skip_internal_links: flag,
  protect_links: flag,
  ignore_images: flag,
  images_to_alt: flag,
  images_as_html: flag,
  default_image_alt: shortText,
  ignore_emphasis: flag,
  ignore_tables: flag,
  bypass_tables: flag,
  escape_html: flag,
  body_width: z.number().int().min(0).max(100_000).nullable().optional(),
  single_line_break: flag,
  include_sup_sub: flag,
  mark_code: flag,
  hide_strikethrough: flag,
  ul_item_mark: z.enum(['*', '-', '+']).nullable().optional(),
  emphasis_mark: z.enum(['_', '*']).nullable().optional(),
  strong_mark: z.enum(['**', '__']).nullable().optional(),
  open_quote: shortText,
  close_quote: shortText,
} as const

/** html2text attributes that exist there and change nothing here: named in a warning as such. */
export const HTML2TEXT_NO_EFFECT: Readonly<Record<string, string>> = Object.freeze({
  unicode_snob: 'the Markdown keeps Unicode characters as they are',
  escape_snob: 'escaping is escape_html here',
  escape_backslash: 'escaping is escape_html here',
  escape_dot: 'escaping is escape_html here',
  escape_plus: 'escaping is escape_html here',
  escape_dash: 'escaping is escape_html here',
  inline_links: 'links are always inline; references_markdown lists them numbered',
  links_each_paragraph: 'links are always inline; references_markdown lists them numbered',
  use_automatic_links: 'links are always written [text](url)',
  images_with_size: 'image sizes are not written',
  google_doc: 'Google Docs styles are not interpreted',
  google_list_indent: 'Google Docs styles are not interpreted',
  wrap_links: 'body_width wraps paragraphs only',
  wrap_list_items: 'body_width wraps paragraphs only',
  wrap_tables: 'body_width wraps paragraphs only',
  pad_tables: 'table cells are not padded',
  handle_code_in_pre: 'code in <pre> is always a fenced block',
  decode_errors: 'the page is decoded by the browser',
})

export const Html2TextOptions = z
  .object(HTML2TEXT_OPTIONS)
  .catchall(z.unknown())
  .refine((o) => Object.keys(o).length <= 64, { error: 'at most 64 html2text options' })
export type Html2TextOptionsValue = z.output<typeof Html2TextOptions>

/**
 * What a markdown_generator value asks for that has no effect here, one sentence each: option
 * keys that are unknown or not applied, and a BM25 language without a stemmer. Added to the
 * results' warnings; `at` is where the value sits in the request.
 */
export function markdownGeneratorWarnings(value: unknown, at = 'crawler_config.markdown_generator'): string[] {
  const parsed = MarkdownGeneratorValue.safeParse(value)
  if (!parsed.success) return []
  const warnings: string[] = []
  const options = parsed.data.params.options ?? {}
  const unknown: string[] = []
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(HTML2TEXT_OPTIONS, key)) continue
    const why = HTML2TEXT_NO_EFFECT[key]
    if (why !== undefined) warnings.push(`${at}.params.options.${key}: accepted but has no effect on this server (${why})`)
    else unknown.push(key)
  }
  if (unknown.length > 0)
    warnings.push(
      `${at}.params.options: unknown html2text option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')} ignored (known: ${Object.keys(HTML2TEXT_OPTIONS).join(', ')})`,
    )
  const filter = parsed.data.params.content_filter
  if (filter?.type === 'BM25ContentFilter' && filter.params.use_stemming && !isStemmerLanguage(filter.params.language))
    warnings.push(
      `${at}.params.content_filter.params.language: no stemmer for ${JSON.stringify(filter.params.language.slice(0, 64))}, words are matched whole (stemmed languages: ${STEMMER_LANGUAGES.join(', ')})`,
    )
  return warnings
}

export const PruningParams = z
  .object({
    // Crawl4AI accepts it and ignores it; so do we.
    user_query: z.string().max(4096).nullable().optional(),
    min_word_threshold: z.number().int().min(0).max(100_000).nullable().default(null),
    threshold_type: z.enum(['fixed', 'dynamic']).default('fixed'),
    threshold: z.number().min(0).max(100).default(0.48),
    preserve_classes: z.array(z.string().max(256)).max(256).nullable().default(null),
    preserve_tags: z
      .array(z.string().regex(/^[a-z][a-z0-9-]*$/i))
      .max(256)
      .nullable()
      .default(null),
  })
  .strict()

export const BM25Params = z
  .object({
    user_query: z.string().max(4096).nullable().default(null),
    bm25_threshold: z.number().min(0).max(10_000).default(1.0),
    // A Snowball stemmer of STEMMER_LANGUAGES; another name is matched on whole words, with a warning.
    language: z.string().max(64).default('english'),
    use_stemming: z.boolean().default(true),
  })
  .strict()

const Typed = <T extends string, P extends z.ZodType>(type: T, params: P) => z.object({ type: z.literal(type), params: params }).strict()

const ContentFilterValue = z.union([
  Typed('PruningContentFilter', PruningParams),
  Typed('BM25ContentFilter', BM25Params),
  // LLMContentFilter is refused by the config decoder before it gets here.
])

/** crawler_config.markdown_generator, in the typed form the config decoder keeps. */
export const MarkdownGeneratorValue = z
  .object({
    type: z.literal('DefaultMarkdownGenerator'),
    params: z
      .object({
        content_filter: ContentFilterValue.nullable().default(null),
        // html2text's options (HTML2TEXT_OPTIONS): applied by the turndown converter; others are warned about.
        options: Html2TextOptions.nullable().optional(),
        content_source: z.enum(['cleaned_html', 'raw_html', 'fit_html']).default('cleaned_html'),
      })
      .strict(),
  })
  .strict()
