import { z } from 'zod'
import { WebUrl, withConfigWarnings } from './crawl-schemas.js'

/*
 * The request bodies of Crawl4AI's single-page routes beyond a bare URL: /md, /screenshot, /pdf
 * and /execute_js. Each keeps crawldeck's optional browser_config and crawler_config.
 */

export const MARKDOWN_FILTERS = ['raw', 'fit', 'bm25', 'llm'] as const

/**
 * Crawl4AI's /screenshot and /pdf once took output_path and wrote the file there, anywhere on the
 * server (a path-traversal CVE). Refused here with why, rather than silently ignored.
 */
const OutputPathRefused = (what: string) =>
  z
    .unknown()
    .optional()
    .superRefine((value, ctx) => {
      if (value !== undefined)
        ctx.addIssue({
          code: 'custom',
          message: `output_path is not accepted: the ${what} comes back in the answer's body, and this server never writes a file to a path taken from a request`,
        })
    })

export const MarkdownRequestSchema = withConfigWarnings({
  url: WebUrl,
  f: z.enum(MARKDOWN_FILTERS, { error: `f must be one of ${MARKDOWN_FILTERS.join(', ')}` }).default('fit'),
  q: z.string().max(4096).nullable().default(null),
  c: z.string().max(16).nullable().default('0'),
  provider: z.string().max(256).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
})
export type MarkdownRequest = z.output<typeof MarkdownRequestSchema>

export const ScreenshotRequestSchema = withConfigWarnings({
  url: WebUrl,
  full_page: z.boolean().default(false),
  /** Seconds to wait before the shot (Crawl4AI waits 2 s by default; crawldeck does not wait unless asked). */
  screenshot_wait_for: z.number().min(0).max(60).nullable().default(null),
  wait_for_images: z.boolean().default(false),
  output_path: OutputPathRefused('screenshot'),
})
export type ScreenshotRequest = z.output<typeof ScreenshotRequestSchema>

export const PdfRequestSchema = withConfigWarnings({
  url: WebUrl,
  output_path: OutputPathRefused('PDF'),
})
export type PdfRequest = z.output<typeof PdfRequestSchema>

export const MAX_SCRIPTS = 32
export const MAX_SCRIPT_CHARS = 100_000

export const ExecuteJsRequestSchema = withConfigWarnings({
  url: WebUrl,
  scripts: z
    .array(z.string().min(1, 'a script is empty').max(MAX_SCRIPT_CHARS, `a script is longer than ${MAX_SCRIPT_CHARS} characters`))
    .min(1, 'give at least one script')
    .max(MAX_SCRIPTS, `at most ${MAX_SCRIPTS} scripts`),
})
export type ExecuteJsRequest = z.output<typeof ExecuteJsRequestSchema>
