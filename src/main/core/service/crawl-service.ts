import type { CallContext, OperationInput, ServiceImpl, ServiceOutput } from '../../../shared/contract.js'
import type { CrawlBatch, StreamItem } from '../../../shared/api-types.js'
import {
  CrawlerConfigSchema,
  type BrowserConfig,
  type CrawlerConfig,
  type CrawlRequest,
  type CrawlResponse,
  type CrawlResult,
} from '../../../shared/crawl-schemas.js'
import type { MarkdownRequest } from '../../../shared/route-requests.js'
import { describeIssues } from '../../../shared/validation.js'
import { plainJson, RawJson } from '../../../shared/raw-json.js'
import { ZodError } from 'zod'
import type { Config } from '../config.js'
import { contentFilterOf, markdownGeneratorWith } from '../crawl/content-filter.js'
import { CrawldeckError, invalidInput, JsDisabledError, type ValidationIssue } from '../errors.js'
import type { EngineEventBus, RequestPhase } from '../events.js'
import { WANT_EVERYTHING, type CrawlContext, type Crawler, type CrawlOutcome, type CrawlWants } from '../crawl/crawler.js'
import { cacheKey, resultSettingsOf } from '../cache/cache-key.js'
import { readsCache, writesCache, type ResultCache } from '../cache/result-cache.js'
import { hitAnswer } from '../cache/stored-entry.js'
import { VERSION } from '../version.js'
import type { EgressGuard } from '../egress/guard.js'
import { configSignature } from '../pool/signature.js'
import { BatchResults } from './batch-results.js'
import { MemorySampler } from './memory-sampler.js'
import { TrackedRequest } from './request-tracker.js'

/*
 * The crawl operations (/crawl, /crawl/stream, /md, /html, /screenshot, /pdf): the server's own
 * limits and egress checks, batches crawled side by side, and each call tracked as one request.
 */

export interface CrawlServiceDeps {
  config: Config
  events: EngineEventBus
  crawler: Crawler
  /** Set when private targets are refused: request URLs are checked before any browser work. */
  egress?: EgressGuard | null
  /** The result cache that crawler_config.cache_mode reads and writes; none: every crawl fetches. */
  cache?: ResultCache | null
}

/** URLs of one batch crawled side by side; admission still caps the total across requests. */
export const BATCH_CONCURRENCY = 4

/**
 * URLs of one batch started but not yet read by the door. Twice the concurrency: the workers
 * keep going while the door writes, yet a batch never holds more than this many results.
 */
export const RESULT_WINDOW = 2 * BATCH_CONCURRENCY

/** How a batch went, kept without keeping its results. */
interface BatchOutcome {
  failed: number
  firstFailure: { index: number; url: string; message: string | null } | null
}

type CrawlOps = Pick<ServiceImpl, 'crawl' | 'crawlStream' | 'markdown' | 'html' | 'screenshot' | 'pdf' | 'executeJs'>

/** How a job's batch differs from a request's: it may be told to take no further URL. */
export interface JobBatchOptions {
  /** Checked before each URL is started: true once the job is cancelled or handed back. */
  stop(): boolean
  /** Called with the number of URLs finished so far, after each. */
  onResult?(done: number): void
}

/** What the job queue needs of the crawl path: the same checks, admission and tracking as /crawl. */
export interface JobCrawler {
  /** The checks /crawl makes before any browser work (server limits, refused targets): a 400 at submission. */
  checkJob(input: CrawlRequest): Promise<void>
  /** Crawls a job's URLs as one request of endpoint "/crawl/job"; answers its /crawl envelope. */
  crawlJob(input: CrawlRequest, opts: JobBatchOptions & { signal: AbortSignal }): Promise<CrawlResponse>
}

/**
 * The fields of the agreed CrawlerConfig this service reads, typed loosely: the page work that
 * consumes them lives in crawler.ts.
 */
interface ScriptFields {
  js_code: string[]
  js_code_before_wait?: string[]
  wait_for?: { kind: 'css' | 'js'; expression: string } | string | null
  markdown_generator?: unknown
  screenshot_wait_for?: number | null
  wait_for_images?: boolean
}

/** The parameters a request's schema accepted without effect (the config decoder's warnings). */
function warningsOf(input: object): string[] {
  const warnings = (input as { warnings?: unknown }).warnings
  return Array.isArray(warnings) ? (warnings as string[]) : []
}

/** A result carrying the request's warnings before its own. */
function warned<T extends { warnings: string[] }>(result: T, warnings: readonly string[]): T {
  return warnings.length === 0 ? result : { ...result, warnings: [...warnings, ...(result.warnings ?? [])] }
}

/**
 * A result as a URL's crawl hands it on: an object, or a cache hit still in its stored JSON,
 * which only the door that writes it decodes (if at all).
 */
type Answer = CrawlResult | RawJson<CrawlResult>

/** warned() for either form: a hit's warnings are a front field, set without parsing it. */
function warnedAnswer(result: Answer, warnings: readonly string[]): Answer {
  if (!(result instanceof RawJson)) return warned(result, warnings)
  return warnings.length === 0 ? result : result.with({ warnings: [...warnings, ...(result.field('warnings') ?? [])] })
}

/** Bytes of a base64 text, without decoding it. */
function base64Bytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0
  return Math.max(0, Math.floor((text.length * 3) / 4) - padding)
}

/**
 * The page_timeout the shared schema fills in when the client gives none. After parsing it
 * cannot be told apart from an explicit value, so it is capped rather than refused: a server
 * started with max_page_timeout_ms below it must still serve requests that never mention it.
 */
const DEFAULT_PAGE_TIMEOUT_MS = CrawlerConfigSchema.parse({}).page_timeout

/**
 * The crawl operations of the contract. Each call is one tracked request: it always emits
 * request:finished, with success true only when every URL really succeeded.
 */
export function createCrawlService(deps: CrawlServiceDeps): CrawlOps & JobCrawler {
  const { config, events, crawler } = deps
  const egress = deps.egress ?? null
  const cache = deps.cache ?? null
  // Fixed for the runtime's life: part of every cache key.
  const serverSettings = resultSettingsOf(config, egress !== null, VERSION)

  /** 400 before any browser work for a URL that is (or resolves to) a refused address. */
  async function checkTargets(urls: readonly string[], urlPath: (i: number) => string, b: BrowserConfig): Promise<void> {
    if (egress !== null) await egress.checkRequest(urls, urlPath, b)
  }

  /** Server-side limits that the shared schema cannot know; returns the config to crawl with. */
  function checkLimits(cfg: CrawlerConfig): CrawlerConfig {
    const issues: ValidationIssue[] = []
    let effective = cfg
    const scripts = cfg as CrawlerConfig & ScriptFields
    if (!config.allow_js_code) {
      // Every field that runs the request's JavaScript in the page: js_code, js_code_before_wait
      // and a wait_for that is a JS expression (waitForFunction evaluates it).
      const off = 'is disabled on this server (start it with --allow-js-code to allow it)'
      if (scripts.js_code.length > 0) issues.push({ path: 'crawler_config.js_code', message: `js_code ${off}` })
      if ((scripts.js_code_before_wait?.length ?? 0) > 0) issues.push({ path: 'crawler_config.js_code_before_wait', message: `js_code_before_wait ${off}` })
      if (typeof scripts.wait_for === 'object' && scripts.wait_for?.kind === 'js')
        issues.push({ path: 'crawler_config.wait_for', message: `a JavaScript wait_for ("js:…" or a function) ${off}; a CSS wait_for ("css:…") is allowed` })
    }
    try {
      contentFilterOf(scripts.markdown_generator)
    } catch (err) {
      if (!(err instanceof ZodError)) throw err
      const at = 'crawler_config.markdown_generator'
      for (const issue of describeIssues(err)) issues.push({ path: issue.path === '(body)' ? at : `${at}.${issue.path}`, message: issue.message })
    }
    // js_only works on the page a session already holds: alone it has no page to work on.
    if (cfg.js_only && cfg.session_id === null)
      issues.push({ path: 'crawler_config.js_only', message: 'js_only runs js_code on the page of an existing session: give crawler_config.session_id too' })
    if (cfg.page_timeout > config.max_page_timeout_ms) {
      if (cfg.page_timeout === DEFAULT_PAGE_TIMEOUT_MS) effective = { ...cfg, page_timeout: config.max_page_timeout_ms }
      else
        issues.push({
          path: 'crawler_config.page_timeout',
          message: `page_timeout ${cfg.page_timeout} ms is above this server's limit of ${config.max_page_timeout_ms} ms`,
        })
    }
    if (issues.length > 0) throw invalidInput(issues)
    return effective
  }

  /**
   * One URL, through the result cache as its cache_mode says: a hit answers without any browser
   * work, with the stored JSON as it is (hitAnswer); a successful crawl is stored before it is
   * answered, so the next identical call finds it.
   */
  async function crawlCached(
    url: string,
    b: BrowserConfig,
    c: CrawlerConfig,
    wants: CrawlWants,
    req: TrackedRequest,
    crawlCtx: CrawlContext,
  ): Promise<{ result: Answer; failure: CrawlOutcome['failure'] }> {
    // A named session's page carries state from its earlier crawls (cookies, scripts run, js_only
    // work on it): its result is not the request's alone, so the cache is neither read nor written.
    const mode = c.session_id === null ? c.cache_mode : 'bypass'
    const key = cache !== null && (readsCache(mode) || writesCache(mode)) ? cacheKey(url, b, c, wants, serverSettings) : null
    if (cache !== null && key !== null && readsCache(mode)) {
      const started = Date.now()
      const hit = await cache.get(key)
      if (hit !== null) {
        req.served(true)
        // The stored result is sent as it is, unread: the record knows what ran, not how much.
        req.produced(c, null)
        return { result: hitAnswer(hit, Date.now() - started), failure: null }
      }
    }
    const outcome = await crawler.crawl(url, b, c, wants, crawlCtx)
    req.served(false)
    req.produced(c, outcome.result)
    if (cache === null || key === null || outcome.failure !== null || !outcome.result.success) return outcome
    if (writesCache(mode)) await cache.put(key, outcome.result)
    // Crawl4AI says "miss" when it looked in the cache and fetched; null when it never looked.
    return readsCache(mode) ? { ...outcome, result: { ...outcome.result, cache_status: 'miss' } } : outcome
  }

  function track(endpoint: string, urls: string[], browserConfig: BrowserConfig): TrackedRequest {
    return new TrackedRequest(events, endpoint, urls[0] ?? '', urls.length, configSignature(browserConfig))
  }

  /**
   * Crawl a batch into `out`. `admitted` resolves once the first URL holds a page slot and
   * rejects if the batch was refused: only that first URL can meet a full queue, so a 429 comes
   * before any result. `done` tells how it went without holding on to any result.
   */
  function crawlBatch(
    req: TrackedRequest,
    urls: string[],
    b: BrowserConfig,
    c: CrawlerConfig,
    ctx: CallContext,
    out: BatchResults<Answer>,
    job: JobBatchOptions | null = null,
  ): { admitted: Promise<void>; done: Promise<BatchOutcome> } {
    const outcome: BatchOutcome = { failed: 0, firstFailure: null }
    let next = 0
    // A job was accepted long before it runs: its URLs wait for a slot instead of meeting a 429.
    let isAdmitted = job !== null
    let markAdmitted!: () => void
    let refuse!: (err: unknown) => void
    const admitted = new Promise<void>((resolve, reject) => {
      markAdmitted = resolve
      refuse = reject
    })
    if (isAdmitted) markAdmitted()
    const onPhase = (phase: RequestPhase) => {
      if (phase === 'acquiring' && !isAdmitted) {
        isAdmitted = true
        markAdmitted()
      }
      req.phase(phase)
    }
    // What the workers failed with; once one has, the others take no new URL of a failed batch.
    const failures: unknown[] = []
    const worker = async (): Promise<void> => {
      while (next < urls.length && failures.length === 0 && !(job?.stop() ?? false)) {
        const i = next++
        await out.room(i)
        const crawled = await crawlCached(urls[i] as string, b, c, WANT_EVERYTHING, req, {
          requestId: req.id,
          signal: ctx.signal,
          admitted: isAdmitted,
          onPhase,
          onLease: req.lease,
        })
        // A cache hit took no page slot: the batch is admitted all the same.
        if (!isAdmitted) {
          isAdmitted = true
          markAdmitted()
        }
        const result = crawled.result
        // Only successful results are cached: a hit is never a failure, and is not parsed here.
        if (!(result instanceof RawJson) && !result.success) {
          outcome.failed++
          // The summary names the first URL of the batch that failed, whatever order they finished in.
          if (outcome.firstFailure === null || i < outcome.firstFailure.index)
            outcome.firstFailure = { index: i, url: result.url, message: result.error_message }
        }
        out.push(i, result)
      }
    }
    const first = worker()
    const done = (async () => {
      await Promise.race([first, admitted])
      const more = Array.from({ length: Math.min(BATCH_CONCURRENCY, urls.length) - 1 }, () => worker())
      // The batch ends when every worker has: finishing at the first failure would report the
      // request done while its other URLs still held their pages.
      await Promise.all([first, ...more].map((w) => w.catch((err: unknown) => void failures.push(err))))
      // The first to fail says why the batch did.
      if (failures.length > 0) throw failures[0]
      return outcome
    })()
    // A first URL refused before it was admitted (a full queue, an abort while queued) refuses
    // the batch itself, so the door answers with that error rather than a 200. Once admitted
    // this is a no-op: a later failure reaches the reader through `done`.
    first.catch(refuse)
    return { admitted, done }
  }

  /**
   * Start a batch and hand back its results once it is admitted (a full queue is still a plain
   * 429, before any byte of the answer). The request finishes when the last URL is done.
   */
  async function startBatch(
    endpoint: string,
    input: OperationInput<'crawl'>,
    ctx: CallContext,
    ordered: boolean,
    job: JobBatchOptions | null = null,
  ): Promise<BatchResults<Answer>> {
    const crawlerConfig = checkLimits(input.crawler_config)
    await checkTargets(input.urls, (i) => `urls.${i}`, input.browser_config)
    const req = track(endpoint, input.urls, input.browser_config)
    const out = new BatchResults<Answer>(ordered, RESULT_WINDOW)
    // A caller gone before its door read anything never ends the reading, so a full window
    // would hold the workers, and the request, forever: its going away is the end of reading.
    ctx.signal.addEventListener('abort', () => out.abandon(), { once: true })
    const batch = crawlBatch(req, input.urls, input.browser_config, crawlerConfig, ctx, out, job)
    try {
      await Promise.race([batch.done, batch.admitted])
    } catch (err) {
      req.finish({ success: false, statusCode: statusOf(err), error: err })
      throw err
    }
    batch.done.then(
      (outcome) => {
        req.finish({ success: outcome.failed === 0, statusCode: 200, error: summarise(outcome) })
        out.end()
      },
      (err) => {
        req.finish({ success: false, statusCode: statusOf(err), error: err })
        out.fail(err)
      },
    )
    return out
  }

  async function single(endpoint: string, url: string, b: BrowserConfig, requested: CrawlerConfig, wants: CrawlWants, ctx: CallContext): Promise<CrawlResult> {
    const c = checkLimits(requested)
    await checkTargets([url], () => 'url', b)
    const req = track(endpoint, [url], b)
    try {
      const outcome = await crawlCached(url, b, c, wants, req, { requestId: req.id, signal: ctx.signal, onPhase: req.phase, onLease: req.lease })
      if (outcome.failure) throw outcome.failure
      req.finish({ success: true, statusCode: 200 })
      // The single-URL routes read fields of the result: a hit is parsed for them.
      return plainJson(outcome.result)
    } catch (err) {
      req.finish({ success: false, statusCode: statusOf(err), error: err })
      throw err
    }
  }

  /** What /md's f asks of the Markdown: the content filter it sets on the crawl. */
  function markdownConfig(input: MarkdownRequest): CrawlerConfig {
    if (input.f === 'llm') throw invalidInput([{ path: 'f', message: 'f "llm" needs an LLM, and no LLM is configured on this server: use raw, fit or bm25' }])
    const generator =
      input.f === 'fit'
        ? markdownGeneratorWith({ type: 'PruningContentFilter', params: {} })
        : input.f === 'bm25'
          ? markdownGeneratorWith({ type: 'BM25ContentFilter', params: { user_query: input.q } })
          : null
    // Crawl4AI's /md: c "1" reads and writes the cache, anything else only writes it.
    return { ...input.crawler_config, markdown_generator: generator, cache_mode: input.c === '1' ? 'enabled' : 'write_only' } as CrawlerConfig
  }

  function markdownWarnings(input: MarkdownRequest): string[] {
    const warnings = [...warningsOf(input)]
    for (const name of ['provider', 'temperature'] as const)
      if (input[name] !== undefined && input[name] !== null)
        warnings.push(`${name}: accepted but has no effect (it applies to f "llm" only, and no LLM is configured on this server)`)
    return warnings
  }

  return {
    async checkJob(input: CrawlRequest): Promise<void> {
      checkLimits(input.crawler_config)
      await checkTargets(input.urls, (i) => `urls.${i}`, input.browser_config)
    },

    async crawlJob(input: CrawlRequest, opts: JobBatchOptions & { signal: AbortSignal }): Promise<CrawlResponse> {
      const memory = new MemorySampler()
      const ctx: CallContext = { signal: opts.signal, transport: 'http' }
      // Completion order, as Crawl4AI's /crawl lists several URLs.
      const results = await startBatch('/crawl/job', input, ctx, false, opts)
      const kept: CrawlResult[] = []
      const warnings = warningsOf(input)
      for await (const result of results) {
        memory.sample()
        kept.push(plainJson(warnedAnswer(result, warnings)))
        opts.onResult?.(kept.length)
      }
      return { success: kept.every((r) => r.success), results: kept, ...memory.envelope() }
    },

    async crawl(input: OperationInput<'crawl'>, ctx: CallContext): Promise<ServiceOutput<'crawl'>> {
      const memory = new MemorySampler()
      const results = await startBatch('/crawl', input, ctx, true)
      const warnings = warningsOf(input)
      return {
        [Symbol.asyncIterator]: async function* () {
          for await (const result of results) {
            memory.sample()
            yield warnedAnswer(result, warnings)
          }
        },
        envelope: () => memory.envelope(),
      } satisfies CrawlBatch
    },

    async crawlStream(input: OperationInput<'crawlStream'>, ctx: CallContext): Promise<ServiceOutput<'crawlStream'>> {
      const results = await startBatch('/crawl/stream', input, ctx, false)
      const warnings = warningsOf(input)
      return (async function* (): AsyncGenerator<StreamItem> {
        for await (const answer of results) {
          const result = warnedAnswer(answer, warnings)
          const server_memory_mb = MemorySampler.rssMiB()
          yield result instanceof RawJson ? result.with({ server_memory_mb }) : { ...result, server_memory_mb }
        }
        yield { status: 'completed' }
      })()
    },

    async markdown(input, ctx) {
      const warnings = markdownWarnings(input)
      const c = markdownConfig(input)
      const r = await single('/md', input.url, input.browser_config, c, { ...WANT_EVERYTHING, cleanedOnly: true }, ctx)
      const markdown = input.f === 'raw' ? r.markdown.raw_markdown : r.markdown.fit_markdown
      return { url: input.url, filter: input.f, query: input.q, cache: input.c, markdown, success: true, status_code: r.status_code, warnings }
    },

    async html(input, ctx) {
      const r = await single('/html', input.url, input.browser_config, input.crawler_config, { ...WANT_EVERYTHING, cleanedOnly: true, markdown: false }, ctx)
      return { url: input.url, success: true, status_code: r.status_code, html: r.cleaned_html }
    },

    async screenshot(input, ctx) {
      const wants = { extract: false, cleanedOnly: false, markdown: false, screenshot: true, screenshotFullPage: input.full_page, pdf: false }
      const requested = input.crawler_config as CrawlerConfig & ScriptFields
      // The route's own options win over the same ones in crawler_config.
      const c = {
        ...requested,
        screenshot_wait_for: input.screenshot_wait_for ?? requested.screenshot_wait_for ?? null,
        wait_for_images: input.wait_for_images || (requested.wait_for_images ?? false),
      } as CrawlerConfig
      const r = await single('/screenshot', input.url, input.browser_config, c, wants, ctx)
      const screenshot = r.screenshot ?? ''
      return {
        url: input.url,
        success: true,
        screenshot,
        screenshot_clipped: r.screenshot_clipped,
        mime: 'image/png',
        size: base64Bytes(screenshot),
        warnings: warningsOf(input),
      }
    },

    async pdf(input, ctx) {
      const wants = { extract: false, cleanedOnly: false, markdown: false, screenshot: false, screenshotFullPage: false, pdf: true }
      const r = await single('/pdf', input.url, input.browser_config, input.crawler_config, wants, ctx)
      const pdf = r.pdf ?? ''
      return { url: input.url, success: true, pdf, mime: 'application/pdf', size: base64Bytes(pdf), warnings: warningsOf(input) }
    },

    async executeJs(input, ctx) {
      if (!config.allow_js_code) throw new JsDisabledError('/execute_js')
      const c = { ...input.crawler_config, js_code: input.scripts } as CrawlerConfig
      const r = await single('/execute_js', input.url, input.browser_config, c, WANT_EVERYTHING, ctx)
      return warned(r, warningsOf(input))
    },
  }
}

function statusOf(err: unknown): number {
  return err instanceof CrawldeckError ? err.status : 500
}

/** The request's error text when some URLs failed; undefined when none did. */
function summarise(outcome: BatchOutcome): string | undefined {
  const first = outcome.firstFailure
  if (outcome.failed === 0 || first === null) return undefined
  return `${outcome.failed} URL(s) failed; first: ${first.url}: ${first.message}`
}
