import type { CallContext, OperationInput, ServiceImpl, ServiceOutput } from '../../../shared/contract.js'
import type { StreamLine } from '../../../shared/api-types.js'
import { CrawlerConfigSchema, type BrowserConfig, type CrawlerConfig, type CrawlResult } from '../../../shared/crawl-schemas.js'
import type { Config } from '../config.js'
import { CrawldeckError, invalidInput } from '../errors.js'
import type { EngineEventBus, RequestPhase } from '../events.js'
import { WANT_EVERYTHING, type Crawler, type CrawlOutcome, type CrawlWants } from '../crawl/crawler.js'
import type { EgressGuard } from '../egress/guard.js'
import { configSignature } from '../pool/signature.js'
import { BatchResults } from './batch-results.js'
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

type CrawlOps = Pick<ServiceImpl, 'crawl' | 'crawlStream' | 'markdown' | 'html' | 'screenshot' | 'pdf'>

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
export function createCrawlService(deps: CrawlServiceDeps): CrawlOps {
  const { config, events, crawler } = deps
  const egress = deps.egress ?? null

  /** 400 before any browser work for a URL that is (or resolves to) a refused address. */
  async function checkTargets(urls: readonly string[], urlPath: (i: number) => string, b: BrowserConfig): Promise<void> {
    if (egress !== null) await egress.checkRequest(urls, urlPath, b)
  }

  /** Server-side limits that the shared schema cannot know; returns the config to crawl with. */
  function checkLimits(cfg: CrawlerConfig): CrawlerConfig {
    const issues = []
    let effective = cfg
    if (cfg.js_code.length > 0 && !config.allow_js_code) {
      issues.push({ path: 'crawler_config.js_code', message: 'js_code is disabled on this server (start it with --allow-js-code to allow it)' })
    }
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
    out: BatchResults<CrawlResult>,
  ): { admitted: Promise<void>; done: Promise<BatchOutcome> } {
    const outcome: BatchOutcome = { failed: 0, firstFailure: null }
    let next = 0
    let isAdmitted = false
    let markAdmitted!: () => void
    let refuse!: (err: unknown) => void
    const admitted = new Promise<void>((resolve, reject) => {
      markAdmitted = resolve
      refuse = reject
    })
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
      while (next < urls.length && failures.length === 0) {
        const i = next++
        await out.room(i)
        const crawled: CrawlOutcome = await crawler.crawl(urls[i] as string, b, c, WANT_EVERYTHING, {
          requestId: req.id,
          signal: ctx.signal,
          admitted: isAdmitted,
          onPhase,
          onLease: req.lease,
        })
        const result = crawled.result
        if (!result.success) {
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
  async function startBatch(endpoint: string, input: OperationInput<'crawl'>, ctx: CallContext, ordered: boolean): Promise<BatchResults<CrawlResult>> {
    const crawlerConfig = checkLimits(input.crawler_config)
    await checkTargets(input.urls, (i) => `urls.${i}`, input.browser_config)
    const req = track(endpoint, input.urls, input.browser_config)
    const out = new BatchResults<CrawlResult>(ordered, RESULT_WINDOW)
    // A caller gone before its door read anything never ends the reading, so a full window
    // would hold the workers, and the request, forever: its going away is the end of reading.
    ctx.signal.addEventListener('abort', () => out.abandon(), { once: true })
    const batch = crawlBatch(req, input.urls, input.browser_config, crawlerConfig, ctx, out)
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
      const outcome = await crawler.crawl(url, b, c, wants, { requestId: req.id, signal: ctx.signal, onPhase: req.phase, onLease: req.lease })
      if (outcome.failure) throw outcome.failure
      req.finish({ success: true, statusCode: 200 })
      return outcome.result
    } catch (err) {
      req.finish({ success: false, statusCode: statusOf(err), error: err })
      throw err
    }
  }

  return {
    crawl(input: OperationInput<'crawl'>, ctx: CallContext): Promise<ServiceOutput<'crawl'>> {
      return startBatch('/crawl', input, ctx, true)
    },

    async crawlStream(input: OperationInput<'crawlStream'>, ctx: CallContext): Promise<ServiceOutput<'crawlStream'>> {
      const results = await startBatch('/crawl/stream', input, ctx, false)
      return (async function* (): AsyncGenerator<StreamLine> {
        yield* results
        yield { status: 'completed' }
      })()
    },

    async markdown(input, ctx) {
      const r = await single('/md', input.url, input.browser_config, input.crawler_config, { ...WANT_EVERYTHING, cleanedOnly: true }, ctx)
      return { url: input.url, success: true, status_code: r.status_code, markdown: r.markdown }
    },

    async html(input, ctx) {
      const r = await single('/html', input.url, input.browser_config, input.crawler_config, { ...WANT_EVERYTHING, cleanedOnly: true, markdown: false }, ctx)
      return { url: input.url, success: true, status_code: r.status_code, html: r.cleaned_html }
    },

    async screenshot(input, ctx) {
      const wants = { extract: false, cleanedOnly: false, markdown: false, screenshot: true, screenshotFullPage: input.full_page, pdf: false }
      const r = await single('/screenshot', input.url, input.browser_config, input.crawler_config, wants, ctx)
      return { url: input.url, success: true, screenshot: r.screenshot ?? '', screenshot_clipped: r.screenshot_clipped }
    },

    async pdf(input, ctx) {
      const wants = { extract: false, cleanedOnly: false, markdown: false, screenshot: false, screenshotFullPage: false, pdf: true }
      const r = await single('/pdf', input.url, input.browser_config, input.crawler_config, wants, ctx)
      return { url: input.url, success: true, pdf: r.pdf ?? '' }
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
