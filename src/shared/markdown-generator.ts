import { z } from 'zod'

/*
 * crawler_config.markdown_generator: Crawl4AI's DefaultMarkdownGenerator with its content filter,
 * as the config decoder keeps typed values (`{type, params}`). Checked here, in src/shared, so
 * both doors refuse a malformed one with a 400 before any page work; the filters themselves run
 * on the Markdown worker (src/main/core/crawl/content-filter.ts).
 */

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
    // Only English stemming is done here; other languages are matched on whole words.
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
        // html2text's options: turndown makes the Markdown here, they have no equivalent.
        options: z.record(z.string(), z.unknown()).nullable().optional(),
        content_source: z.enum(['cleaned_html', 'raw_html', 'fit_html']).default('cleaned_html'),
      })
      .strict(),
  })
  .strict()
