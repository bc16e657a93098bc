/*
 * One URL's page work, from an admission slot to a result: navigate, extract, capture, and the
 * failure of a page turned into the typed error the doors report.
 */
import type { BrowserContext, CDPSession, Page, Request, Response } from 'playwright-core'
import type { BrowserConfig, CrawlerConfig, CrawlResult, MarkdownResult } from '../../../shared/crawl-schemas.js'
import type { JsExecutionResult } from '../../../shared/crawl-result.js'
import { markdownGeneratorWarnings } from '../../../shared/markdown-generator.js'
import type { Admission, Slot } from '../admission.js'
import { AbortedError, BrowserGoneError, CaptureTooLargeError, CrawldeckError, CrawlFailedError, firstLine, NotFoundError } from '../errors.js'
import type { EgressGuard } from '../egress/guard.js'
import { EGRESS_HEADER } from '../egress/proxy.js'
import type { RequestPhase } from '../events.js'
import type { BrowserPool, Lease } from '../pool/pool.js'
import { orGone } from '../pool/browser-gone.js'
import type { ManagedBrowser } from '../pool/managed-browser.js'
import { contextOptions, prepareContext, type PageReserve } from '../pool/page-reserve.js'
import { isAlive } from '../system/process-tree.js'
import { configSignature } from '../pool/signature.js'
import { Session, type SessionStore } from './sessions.js'
import { Deadline } from './deadline.js'
import { extractFromPage } from './extract.js'
import { runExtractionStrategy } from './extraction-strategy.js'
import { jsonLengthUpTo } from './json-length.js'
import { frameBodies, pause, removeOverlays, responseHeaders, runScripts, scanFullPage, waitForCondition, waitForImages } from './page-steps.js'
import type { MarkdownLimits } from './markdown-offload.js'
import { generateMarkdown, longestField, markdownOptionsFor, markdownSource, type MarkdownOptions } from './markdown-result.js'

/** Which parts of a result the caller needs: /screenshot should not pay for markdown. */
export interface CrawlWants {
  extract: boolean
  /** Of the extraction, only cleaned_html (what /md and /html answer with): no html, links, images or metadata. */
  cleanedOnly: boolean
  markdown: boolean
  screenshot: boolean
  screenshotFullPage: boolean
  pdf: boolean
}

export const WANT_EVERYTHING: CrawlWants = { extract: true, cleanedOnly: false, markdown: true, screenshot: false, screenshotFullPage: false, pdf: false }

export interface CrawlContext {
  requestId: string | null
  signal?: AbortSignal
  /** Further URLs of a batch already admitted: they wait without counting against the queue bound. */
  admitted?: boolean
  onPhase?: (phase: RequestPhase) => void
  onLease?: (lease: Lease, queueWaitMs: number) => void
}

/** What the crawler must not exceed, and the egress guard when private targets are refused. */
export interface CrawlerLimits {
  egress: EgressGuard | null
  maxScreenshotHeight: number
  maxCaptureBytes: number
}

const NO_LIMITS: CrawlerLimits = { egress: null, maxScreenshotHeight: 16_384, maxCaptureBytes: 32 * 1024 * 1024 }

/**
 * HTML to Markdown for a result. The service's converter (markdown-offload.ts) runs it on a worker
 * thread and settles by `limits.deadline` whatever the page, stopping the worker; this default,
 * for a Crawler made without one, runs on the event loop and is bounded only by max_capture_bytes.
 */
export type MarkdownConverter = (html: string, options: MarkdownOptions, limits: MarkdownLimits) => Promise<MarkdownResult>

const inlineMarkdown: MarkdownConverter = async (html, options, limits) => {
  const markdown = generateMarkdown(html, options)
  const longest = longestField(markdown)
  if (limits.maxChars !== undefined && longest > limits.maxChars) throw new CaptureTooLargeError('Markdown', longest, limits.maxChars)
  return markdown
}

/** How a crawl's context is closed once its result is out (tests hold a close open with it). */
export type CloseContext = (context: BrowserContext) => Promise<void>

const politeClose: CloseContext = (context) => context.close()

export interface CrawlOutcome {
  result: CrawlResult
  /** Why the crawl failed, as a typed error the doors map to a status; null on success. */
  failure: CrawldeckError | null
}

/**
 * The page work of one URL: admission slot -> browser lease -> fresh context and page ->
 * navigate -> extract -> close. The context and lease are released however it ends.
 * Errors of the target page become a failed result; errors of the service (queue full,
 * memory guard, shutdown, client gone) are thrown so the caller can answer with their status.
 *
 * The result is returned before its context has closed: the close (Chromium work that shows at
 * concurrency 1; docs/benchmarks.md) runs in the background, and the slot and lease are given
 * back only once it has finished, so the admission and pool counts stay true and a retired
 * browser is never closed under a context still open. `settled()` waits for the closes in flight (shutdown).
 */
export class Crawler {
  private readonly closing = new Set<Promise<void>>()

  constructor(
    private readonly pool: BrowserPool,
    private readonly admission: Admission,
    private readonly limits: CrawlerLimits = NO_LIMITS,
    /** Pre-warmed pages of permanent and hot browsers; null when prewarm_pages is 0. */
    private readonly reserve: PageReserve | null = null,
    private readonly closeContext: CloseContext = politeClose,
    private readonly markdown: MarkdownConverter = inlineMarkdown,
    /** Named sessions (crawler_config.session_id); null: a request with one is refused. */
    private readonly sessions: SessionStore | null = null,
  ) {}

  /** Resolves once every context close in flight has finished and given back its slot and lease. */
  async settled(): Promise<void> {
    while (this.closing.size > 0) await Promise.allSettled([...this.closing])
  }

  async crawl(url: string, browserConfig: BrowserConfig, crawlerConfig: CrawlerConfig, wants: CrawlWants, ctx: CrawlContext): Promise<CrawlOutcome> {
    if (crawlerConfig.session_id !== null) return this.crawlInSession(crawlerConfig.session_id, url, browserConfig, crawlerConfig, wants, ctx)
    const started = Date.now()
    const deadline = new Deadline(started, crawlerConfig.page_timeout)
    ctx.onPhase?.('queued')
    const slot = await this.admission.acquire({
      signal: ctx.signal,
      admitted: ctx.admitted,
      deadline: { at: started + crawlerConfig.page_timeout, budgetMs: crawlerConfig.page_timeout },
    })
    let lease: Lease | null = null
    let context: BrowserContext | null = null
    const onAbort = () => void context?.close().catch(() => undefined)
    try {
      if (ctx.signal?.aborted) throw new AbortedError()
      ctx.onPhase?.('acquiring')
      lease = await this.pool.acquire(browserConfig, { requestId: ctx.requestId })
      ctx.onLease?.(lease, slot.waitMs)
      if (ctx.signal?.aborted) throw new AbortedError()
      ctx.signal?.addEventListener('abort', onAbort, { once: true })
      try {
        // A reserved pair was made with these same options (the lease's browser has this config)
        // and leaves the reserve for good here: it is closed below like a page made now.
        const reserved = (await this.reserve?.take(lease.browser, (claimed) => deadline.race(claimed, 'waiting for a pre-warmed page', ctx.signal))) ?? null
        let page: Page
        let session: CDPSession | undefined
        if (reserved) {
          ;({ context, page, session } = reserved)
          // It may have waited for the pair being made.
          if (ctx.signal?.aborted) throw new AbortedError()
        } else {
          context = await opened(orGone(lease.browser.browser.newContext(contextOptions(browserConfig)), lease.browser), deadline, ctx.signal)
          // The abort listener could not close a context that did not exist yet.
          if (ctx.signal?.aborted) throw new AbortedError()
          await deadline.race(orGone(prepareContext(context, browserConfig), lease.browser), 'opening a page', ctx.signal)
          page = await opened(orGone(context.newPage(), lease.browser), deadline, ctx.signal)
        }
        return await this.work(page, session, url, crawlerConfig, wants, ctx, started, deadline)
      } catch (err) {
        const failure = await classify(err, lease.browser, deadline, ctx.signal)
        // A client that went away gets no result; anything else is this URL's own failure.
        if (failure instanceof AbortedError) throw failure
        return { result: failedResult(url, failure.message, null, started), failure }
      }
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort)
      const release = () => {
        lease?.release()
        slot.release()
      }
      // A context exists only once a lease does.
      if (context && lease) {
        // Only the close is left: a caller arriving now waits for this slot instead of a 429.
        slot.draining()
        lease.closing()
        this.closeThenRelease(context, lease.browser, release)
      } else release()
    }
  }

  /**
   * One URL on a named session's page: wait for the session's turn (against page_timeout), then
   * an admission slot for the page work alone; open the session's context and page on first use
   * (its lease is the session's from then on), navigate unless js_only, and leave the page open.
   * Refusals (400 other browser config, 404 js_only on no session, 429 too many sessions) are
   * thrown like a full queue; the page's own failures are this URL's failed result.
   */
  private async crawlInSession(
    id: string,
    url: string,
    browserConfig: BrowserConfig,
    cfg: CrawlerConfig,
    wants: CrawlWants,
    ctx: CrawlContext,
  ): Promise<CrawlOutcome> {
    const sessions = this.sessions
    if (sessions === null) throw new NotFoundError(`session "${id}" cannot be opened: this crawler keeps no sessions`)
    const started = Date.now()
    const deadline = new Deadline(started, cfg.page_timeout)
    const failed = (failure: CrawldeckError): CrawlOutcome => ({ result: { ...failedResult(url, failure.message, null, started), session_id: id }, failure })
    ctx.onPhase?.('queued')
    let passTurn: () => void
    try {
      passTurn = await sessions.takeTurn(id, deadline, ctx.signal)
    } catch (err) {
      if (err instanceof CrawldeckError && !(err instanceof AbortedError)) return failed(err)
      throw err
    }
    try {
      let session = sessions.check(id, configSignature(browserConfig), cfg.js_only)
      const opening = session === null
      let slot: Slot
      try {
        slot = await this.admission.acquire({ signal: ctx.signal, admitted: ctx.admitted })
      } catch (err) {
        if (opening) sessions.openFailed()
        throw err
      }
      try {
        if (ctx.signal?.aborted) {
          if (opening) sessions.openFailed()
          throw new AbortedError()
        }
        // Closed by an operator (or its browser lost) while this request waited for a slot.
        if (session !== null && session.endReason !== null)
          return failed(new CrawlFailedError(`session "${id}" ended (${session.endReason}) before this request could use it`))
        ctx.onPhase?.('acquiring')
        if (session === null) {
          const made = await this.openSession(sessions, id, browserConfig, deadline, ctx)
          if (!(made instanceof Session)) {
            if (made instanceof AbortedError) throw made
            return failed(made)
          }
          session = made
        }
        ctx.onLease?.(session.lease, slot.waitMs)
        sessions.startUse(session)
        const open = session
        try {
          const landed = cfg.js_only ? { status: open.lastStatus, headers: open.lastHeaders } : undefined
          const outcome = await this.work(open.page, undefined, url, cfg, wants, ctx, started, deadline, landed)
          if (!cfg.js_only) {
            open.lastStatus = outcome.result.status_code
            open.lastHeaders = outcome.result.response_headers
          }
          outcome.result.session_id = id
          return outcome
        } catch (err) {
          const failure =
            open.endReason !== null && !ctx.signal?.aborted
              ? new CrawlFailedError(`session "${id}" ended (${open.endReason}) while this request was using its page`)
              : await classify(err, open.browser, deadline, ctx.signal)
          if (failure instanceof AbortedError) throw failure
          // The page's browser is gone: so is the session (the pool's event may come a moment later).
          if (failure instanceof BrowserGoneError) void sessions.end(open, 'browser_gone')
          // The page outlived page_timeout: it may be stuck (a script that spins, a load that never
          // ends), so it is not handed to the next request. The session ends here, its context
          // closed and its lease given back; the next request with this session_id opens a fresh one.
          else if (failure instanceof CrawlFailedError && failure.timedOut) void sessions.end(open, 'timeout')
          return failed(failure)
        } finally {
          sessions.endUse(open)
        }
      } finally {
        slot.release()
      }
    } finally {
      passTurn()
    }
  }

  /**
   * A session's first request: a lease for its life and a fresh context and page, kept after the
   * crawl. The pool's refusals (shutdown, memory, launch) are thrown as for any crawl; a page that
   * could not be made is returned as this URL's failure.
   */
  private async openSession(
    sessions: SessionStore,
    id: string,
    browserConfig: BrowserConfig,
    deadline: Deadline,
    ctx: CrawlContext,
  ): Promise<Session | CrawldeckError> {
    let lease: Lease
    try {
      lease = await this.pool.acquire(browserConfig, { requestId: ctx.requestId })
    } catch (err) {
      sessions.openFailed()
      throw err
    }
    let context: BrowserContext | null = null
    try {
      if (ctx.signal?.aborted) throw new AbortedError()
      context = await opened(orGone(lease.browser.browser.newContext(contextOptions(browserConfig)), lease.browser), deadline, ctx.signal)
      await deadline.race(orGone(prepareContext(context, browserConfig), lease.browser), 'opening a page', ctx.signal)
      const page = await opened(orGone(context.newPage(), lease.browser), deadline, ctx.signal)
      return sessions.opened(id, lease, context, page)
    } catch (err) {
      sessions.openFailed()
      const failure = await classify(err, lease.browser, deadline, ctx.signal)
      if (context) await orGone(this.closeContext(context), lease.browser).catch(() => undefined)
      lease.release()
      return failure
    }
  }

  /**
   * Close the context without the caller waiting, then release. Through orGone: the close of a
   * context whose browser was killed may never answer, and must not hold the lease forever. A
   * failed close is swallowed, as it always was: whatever it left open goes with its browser.
   */
  private closeThenRelease(context: BrowserContext, browser: ManagedBrowser, release: () => void): void {
    const done = orGone(this.closeContext(context), browser)
      .catch(() => undefined)
      .finally(release)
    this.closing.add(done)
    void done.finally(() => this.closing.delete(done))
  }

  /**
   * Steps Playwright bounds itself get what is left of page_timeout as their timeout; the others
   * (evaluate, pdf) race the deadline, which a page's own script can otherwise hold off forever.
   */
  private async work(
    page: Page,
    session: CDPSession | undefined,
    url: string,
    cfg: CrawlerConfig,
    wants: CrawlWants,
    ctx: CrawlContext,
    started: number,
    deadline: Deadline,
    /** js_only: no navigation; the status and headers of the page's last one stand. */
    landed?: { status: number | null; headers: Record<string, string> | null },
  ): Promise<CrawlOutcome> {
    ctx.onPhase?.('navigating')
    const response = landed ? null : await this.navigate(page, url, cfg, deadline.remaining())
    const status = landed ? landed.status : (response?.status() ?? null)
    // js_code_before_wait, wait_for, js_code: in that order. A script that throws is reported in
    // js_execution_result and the crawl goes on; js_results keeps js_code's values alone.
    const js: JsExecutionResult = { success: true, results: [] }
    if (cfg.js_code_before_wait.length > 0) await runScripts(page, cfg.js_code_before_wait, 'js_code_before_wait', deadline, js, false)
    if (cfg.wait_for) await waitForCondition(page, cfg.wait_for, cfg.wait_for_timeout, deadline)
    if (cfg.js_code.length > 0) await runScripts(page, cfg.js_code, 'js_code', deadline, js, true)
    // The page decides how large these are, like every other field of the result.
    const jsLength = js.results.length > 0 ? jsonLengthUpTo(js.results, this.limits.maxCaptureBytes) : 0
    if (jsLength > this.limits.maxCaptureBytes) throw new CaptureTooLargeError('js_results', jsLength, this.limits.maxCaptureBytes)
    if (cfg.scan_full_page) await scanFullPage(page, { scrollDelayMs: cfg.scroll_delay * 1000, maxSteps: cfg.max_scroll_steps }, deadline, ctx.signal)
    if (cfg.wait_for_images) await waitForImages(page, deadline)
    if (cfg.delay_before_return_html > 0) await pause(cfg.delay_before_return_html * 1000, deadline, ctx.signal)
    if (cfg.remove_overlay_elements) await removeOverlays(page, deadline, ctx.signal)
    ctx.onPhase?.('extracting')
    const result = emptyResult(url)
    result.status_code = status
    result.redirected_url = page.url()
    result.response_headers = landed ? landed.headers : responseHeaders(response)
    result.js_results = js.results
    if (cfg.js_code.length > 0 || cfg.js_code_before_wait.length > 0) result.js_execution_result = js
    if (wants.extract) {
      const iframes = cfg.process_iframes ? await frameBodies(page, this.limits.maxCaptureBytes, deadline, ctx.signal) : []
      const extracted = await deadline.race(
        extractFromPage(
          page,
          {
            cssSelector: cfg.css_selector,
            excludedTags: cfg.excluded_tags,
            maxChars: this.limits.maxCaptureBytes,
            cleanedOnly: wants.cleanedOnly,
            excludedSelector: cfg.excluded_selector,
            targetElements: cfg.target_elements,
            onlyText: cfg.only_text,
            wordCountThreshold: cfg.word_count_threshold,
            excludeExternalLinks: cfg.exclude_external_links,
            excludeInternalLinks: cfg.exclude_internal_links,
            excludeDomains: cfg.exclude_social_media_links ? [...cfg.exclude_domains, ...cfg.exclude_social_media_domains] : cfg.exclude_domains,
            excludeExternalImages: cfg.exclude_external_images,
            excludeAllImages: cfg.exclude_all_images,
            iframes,
          },
          session,
        ),
        'extraction',
      )
      Object.assign(result, extracted)
      // crawler_config.extraction_strategy reads the page while the Markdown is made on a worker.
      const structured =
        cfg.extraction_strategy !== null && !wants.cleanedOnly
          ? runExtractionStrategy(page, cfg.extraction_strategy, url, { maxChars: this.limits.maxCaptureBytes, deadline, signal: ctx.signal, session })
          : null
      // Awaited below; if the Markdown fails first, its rejection is not left unhandled.
      structured?.catch(() => undefined)
      // Not raced here: the converter settles by the deadline itself, and stops its work then.
      // The content filter of crawler_config.markdown_generator, and the title and description BM25 falls back on.
      if (wants.markdown) {
        const options = markdownOptionsFor(cfg, result.metadata)
        result.markdown = await this.markdown(markdownSource(options, extracted), options, {
          deadline,
          signal: ctx.signal,
          maxChars: this.limits.maxCaptureBytes,
        })
        result.warnings.push(...markdownGeneratorWarnings(cfg.markdown_generator))
      }
      if (structured) {
        const { content, warning } = await structured
        result.extracted_content = content
        if (warning !== null) result.warnings.push(warning)
      }
    }
    if ((wants.screenshot || cfg.screenshot) && cfg.screenshot_wait_for !== null && cfg.screenshot_wait_for > 0) {
      await pause(cfg.screenshot_wait_for * 1000, deadline, ctx.signal)
    }
    if (wants.screenshot || cfg.screenshot) {
      const shot = await deadline.race(this.screenshot(page, wants.screenshotFullPage || cfg.screenshot_full_page, deadline.remaining()), 'screenshot')
      result.screenshot = shot.png.toString('base64')
      result.screenshot_clipped = shot.clipped
    }
    if (wants.pdf || cfg.pdf) result.pdf = this.capped('PDF', await deadline.race(page.pdf({ printBackground: true }), 'pdf')).toString('base64')
    result.duration_ms = Date.now() - started
    if (status !== null && status >= 400) {
      result.success = false
      result.error_message = `the page answered HTTP ${status}`
      return { result, failure: new CrawlFailedError(`${url} answered HTTP ${status}`) }
    }
    result.success = true
    return { result, failure: null }
  }

  /**
   * page.goto, except that a URL that turns out to be a download fails saying so, rather than
   * with Playwright's bare "Download is starting" (contexts refuse downloads: contextOptions).
   */
  private async navigate(page: Page, url: string, cfg: CrawlerConfig, timeout: number): Promise<Response | null> {
    try {
      return await this.goto(page, url, cfg, timeout)
    } catch (err) {
      if (isDownloadStart(err)) {
        throw new CrawlFailedError(
          `${url} is a download, not a page: its server sends a file (Content-Disposition: attachment or a type the browser does not display), and this service does not download files`,
        )
      }
      throw err
    }
  }

  /**
   * page.goto, except that a navigation the egress guard answered (a redirect to a private
   * address, a name that rebinds) fails with the guard's reason instead of the proxy's 403 page
   * or Chromium's bare ERR_TUNNEL_CONNECTION_FAILED.
   */
  private async goto(page: Page, url: string, cfg: CrawlerConfig, timeout: number): Promise<Response | null> {
    const egress = this.limits.egress
    if (egress === null) return page.goto(url, { waitUntil: cfg.wait_until, timeout })
    // The last main-frame request that failed: after a redirect it is not the URL we asked for.
    let failed: string | null = null
    const onFailed = (r: Request) => {
      if (r.isNavigationRequest() && r.frame() === page.mainFrame()) failed = r.url()
    }
    page.on('requestfailed', onFailed)
    try {
      const response = await page.goto(url, { waitUntil: cfg.wait_until, timeout })
      const header = response?.headers()[EGRESS_HEADER]
      const refused = header === undefined ? null : egress.explain(response?.url() ?? url, header, null)
      if (refused) throw refused
      return response
    } catch (err) {
      throw egress.explain(failed ?? url, undefined, err) ?? err
    } finally {
      page.off('requestfailed', onFailed)
    }
  }

  /** A PNG of the viewport or the full page, cut at max_screenshot_height (both ways) so a very tall or wide page cannot eat the memory. */
  private async screenshot(page: Page, fullPage: boolean, timeout: number): Promise<{ png: Buffer; clipped: boolean }> {
    const cap = this.limits.maxScreenshotHeight
    const size = fullPage
      ? await page.evaluate(() => {
          const d = document.documentElement
          const b = document.body
          return { width: Math.max(d.scrollWidth, b?.scrollWidth ?? 0), height: Math.max(d.scrollHeight, b?.scrollHeight ?? 0) }
        })
      : (page.viewportSize() ?? { width: 0, height: 0 })
    // A page can be as wide as it is tall: the same bound holds for the width.
    const clipped = size.height > cap || size.width > cap
    const clip = clipped ? { x: 0, y: 0, width: Math.min(size.width, cap), height: Math.min(size.height, cap) } : undefined
    const png = await page.screenshot({ type: 'png', fullPage, clip, timeout })
    return { png: this.capped('screenshot', png), clipped }
  }

  private capped(kind: 'screenshot' | 'PDF', data: Buffer): Buffer {
    if (data.length > this.limits.maxCaptureBytes) throw new CaptureTooLargeError(kind, data.length, this.limits.maxCaptureBytes)
    return data
  }
}

/**
 * A context or page being made, given up at the deadline or when the caller goes away. Playwright's
 * context.newPage() never settles once its context is closed under it, which the abort listener
 * does: without this the crawl waited forever, holding its admission slot and browser lease
 * (measured: a client that went away mid-batch leaked both until shutdown). What arrives after it
 * was given up is closed.
 */
async function opened<T extends { close(): Promise<unknown> }>(making: Promise<T>, deadline: Deadline, signal?: AbortSignal): Promise<T> {
  try {
    return await deadline.race(making, 'opening a page', signal)
  } catch (err) {
    making.then(
      (late) => void late.close().catch(() => undefined),
      () => undefined,
    )
    throw err
  }
}

/**
 * Playwright's own wording when page.goto meets a download instead of a page; it has no error
 * type or code for it, so its message is what we recognise (only errors that are not ours).
 */
function isDownloadStart(err: unknown): boolean {
  return err instanceof Error && !(err instanceof CrawldeckError) && /Download is starting/.test(err.message)
}

/**
 * Whether Playwright's message says the page, context or browser went away. Playwright may reject
 * the page call a moment before it reports the disconnect, so a "closed" message counts as a sign
 * too; the pool records why from the same disconnect. Playwright's texts, not ours: matched here only.
 */
function soundsGone(message: string): boolean {
  return /has been closed|browser closed|disconnected|crashed/i.test(message)
}

/**
 * Turn whatever a page operation threw into the error the caller should see. Our own errors
 * (an invalid css_selector among them: InvalidSelectorError) pass through as they are.
 */
async function classify(err: unknown, browser: ManagedBrowser, deadline: Deadline, signal?: AbortSignal): Promise<CrawldeckError> {
  if (signal?.aborted) return new AbortedError()
  if (err instanceof CrawldeckError) return err
  const name = err instanceof Error ? err.name : ''
  const message = firstLine(err)
  const looksGone = soundsGone(message)
  // The process itself is the surest sign; Playwright may notice the broken pipe seconds later on a busy machine.
  const processDead = browser.pid !== null && !isAlive(browser.pid)
  if (looksGone || processDead || !browser.browser.isConnected() || browser.state === 'closing' || browser.state === 'closed') {
    const reason = await Promise.race([browser.gone, new Promise<null>((r) => setTimeout(() => r(null), 5000).unref())])
    if (reason !== null || processDead || !browser.browser.isConnected()) {
      const why = reason ?? browser.closeReason ?? 'crashed'
      return new BrowserGoneError(why === 'killed' ? 'killed' : why === 'shutdown' ? 'shutdown' : 'crashed', browser.shortSig)
    }
  }
  if (name === 'TimeoutError') {
    return deadline.expired(message.split(':')[0] ?? 'the page')
  }
  return new CrawlFailedError(message)
}

export function emptyResult(url: string): CrawlResult {
  return {
    url,
    html: '',
    success: false,
    cleaned_html: '',
    media: { images: [], videos: [], audios: [] },
    links: { internal: [], external: [] },
    downloaded_files: null,
    js_execution_result: null,
    screenshot: null,
    pdf: null,
    mhtml: null,
    extracted_content: null,
    metadata: { title: null, description: null, keywords: null, author: null, language: null, canonical: null, social: {} },
    error_message: null,
    session_id: null,
    response_headers: null,
    status_code: null,
    ssl_certificate: null,
    dispatch_result: null,
    redirected_url: null,
    redirected_status_code: null,
    network_requests: null,
    console_messages: null,
    tables: [],
    cached_at: null,
    cache_status: null,
    markdown: { raw_markdown: '', markdown_with_citations: '', references_markdown: '', fit_markdown: '', fit_html: '' },
    screenshot_clipped: false,
    js_results: [],
    duration_ms: 0,
    warnings: [],
  }
}

export function failedResult(url: string, message: string, status: number | null, started: number): CrawlResult {
  return { ...emptyResult(url), error_message: message, status_code: status, duration_ms: Date.now() - started }
}
