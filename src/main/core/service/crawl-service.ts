import type { CallContext, OperationInput, OperationOutput, ServiceImpl } from '../../../shared/contract.js'
import type { StreamLine } from '../../../shared/api-types.js'
import { CrawlerConfigSchema, type BrowserConfig, type CrawlerConfig, type CrawlResult } from '../../../shared/crawl-schemas.js'
import type { Config } from '../config.js'
import { CrawldeckError, ValidationError } from '../errors.js'
import type { EngineEventBus, RequestPhase } from '../events.js'
import { WANT_EVERYTHING, type Crawler, type CrawlOutcome, type CrawlWants } from '../crawl/crawler.js'
import type { EgressGuard } from '../egress/guard.js'
import { configSignature } from '../pool/signature.js'
import { TrackedRequest } from './request-tracker.js'

export interface CrawlServiceDeps {
  config: Config
  events: EngineEventBus
  crawler: Crawler
  /** Set when private targets are refused: request URLs are checked before any browser work. */
  egress?: EgressGuard | null
}

/** URLs of one batch crawled side by side; admission still caps the total across requests. */
const BATCH_CONCURRENCY = 4

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
      else issues.push({ path: 'crawler_config.page_timeout', message: `page_timeout ${cfg.page_timeout} ms is above this server's limit of ${config.max_page_timeout_ms} ms` })
    }
    if (issues.length > 0) throw new ValidationError(issues.map((i) => i.message).join('; '), issues)
    return effective
  }

  function track(endpoint: string, urls: string[], browserConfig: BrowserConfig): TrackedRequest {
    return new TrackedRequest(events, endpoint, urls[0] ?? '', urls.length, configSignature(browserConfig))
  }

  /**
   * Crawl a batch. `admitted` settles once the first URL holds a page slot (or the batch was
   * refused): only that first URL can meet a full queue, so a 429 comes before any result.
   */
  function crawlBatch(req: TrackedRequest, urls: string[], b: BrowserConfig, c: CrawlerConfig, ctx: CallContext, onResult?: (r: CrawlResult) => void): { admitted: Promise<void>; done: Promise<CrawlResult[]> } {
    const results: CrawlResult[] = new Array(urls.length)
    let next = 0
    let isAdmitted = false
    let markAdmitted!: () => void
    const admitted = new Promise<void>((resolve) => (markAdmitted = resolve))
    const onPhase = (phase: RequestPhase) => {
      if (phase === 'acquiring' && !isAdmitted) {
        isAdmitted = true
        markAdmitted()
      }
      req.phase(phase)
    }
    const worker = async (): Promise<void> => {
      while (next < urls.length) {
        const i = next++
        const outcome: CrawlOutcome = await crawler.crawl(urls[i] as string, b, c, WANT_EVERYTHING, {
          requestId: req.id,
          signal: ctx.signal,
          admitted: isAdmitted,
          onPhase,
          onLease: req.lease,
        })
        results[i] = outcome.result
        onResult?.(outcome.result)
      }
    }
    const first = worker()
    const done = (async () => {
      await Promise.race([first, admitted])
      const more = Array.from({ length: Math.min(BATCH_CONCURRENCY, urls.length) - 1 }, () => worker())
      await Promise.all([first, ...more])
      return results
    })()
    // A refused first URL rejects `done`; `admitted` must settle too so nobody waits forever.
    first.catch(() => markAdmitted())
    return { admitted, done }
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
    async crawl(input: OperationInput<'crawl'>, ctx: CallContext): Promise<OperationOutput<'crawl'>> {
      const crawlerConfig = checkLimits(input.crawler_config)
      await checkTargets(input.urls, (i) => `urls.${i}`, input.browser_config)
      const req = track('/crawl', input.urls, input.browser_config)
      try {
        const results = await crawlBatch(req, input.urls, input.browser_config, crawlerConfig, ctx).done
        const failed = results.filter((r) => !r.success)
        req.finish({ success: failed.length === 0, statusCode: 200, error: failed.length > 0 ? summarise(failed) : undefined })
        return { success: failed.length === 0, results }
      } catch (err) {
        req.finish({ success: false, statusCode: statusOf(err), error: err })
        throw err
      }
    },

    async crawlStream(input: OperationInput<'crawlStream'>, ctx: CallContext): Promise<OperationOutput<'crawlStream'>> {
      const crawlerConfig = checkLimits(input.crawler_config)
      await checkTargets(input.urls, (i) => `urls.${i}`, input.browser_config)
      const req = track('/crawl/stream', input.urls, input.browser_config)
      const queue = new AsyncQueue<StreamLine>()
      const batch = crawlBatch(req, input.urls, input.browser_config, crawlerConfig, ctx, (r) => queue.push(r))
      const run = batch.done
      // Admission is decided before the stream starts, so a full queue is still a plain 429.
      try {
        await Promise.race([run, batch.admitted])
      } catch (err) {
        req.finish({ success: false, statusCode: statusOf(err), error: err })
        throw err
      }
      run.then(
        (results) => {
          const failed = results.filter((r) => !r.success)
          req.finish({ success: failed.length === 0, statusCode: 200, error: failed.length > 0 ? summarise(failed) : undefined })
          queue.push({ status: 'completed' })
          queue.end()
        },
        (err) => {
          req.finish({ success: false, statusCode: statusOf(err), error: err })
          queue.fail(err)
        },
      )
      return queue
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

function summarise(failed: CrawlResult[]): string {
  const first = failed[0]
  return `${failed.length} URL(s) failed; first: ${first?.url}: ${first?.error_message}`
}

/** A push-driven async iterable: the batch pushes results, the door pulls lines. */
class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = []
  private waiting: ((r: IteratorResult<T>) => void) | null = null
  private failWaiting: ((err: unknown) => void) | null = null
  private ended = false
  private error: unknown = null
  push(item: T): void {
    if (this.waiting) {
      const w = this.waiting
      this.waiting = this.failWaiting = null
      w({ value: item, done: false })
    } else this.items.push(item)
  }

  end(): void {
    this.ended = true
    if (this.waiting) {
      const w = this.waiting
      this.waiting = this.failWaiting = null
      w({ value: undefined, done: true })
    }
  }

  fail(err: unknown): void {
    this.error = err
    this.ended = true
    if (this.failWaiting) {
      const f = this.failWaiting
      this.waiting = this.failWaiting = null
      f(err)
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift()
        if (item !== undefined) return Promise.resolve({ value: item, done: false })
        if (this.error) return Promise.reject(this.error)
        if (this.ended) return Promise.resolve({ value: undefined, done: true })
        return new Promise((resolve, reject) => {
          this.waiting = resolve
          this.failWaiting = reject
        })
      },
    }
  }
}
