/*
 * The steps a crawler config adds between navigation and extraction: scripts, waits, scrolling,
 * overlay removal, iframe bodies, pauses. Each is bounded by the URL's deadline; the page's own
 * script can hold any call into it forever, so every call into the page is raced.
 *
 * Scripts sent to the page are strings, not functions: a transpiler that keeps function names
 * inserts calls to a helper of this module into nested functions, which the page does not have.
 */
import type { Page, Response } from 'playwright-core'
import { CrawldeckError, CrawlFailedError, firstLine } from '../errors.js'
import { EGRESS_HEADER } from '../egress/proxy.js'
import type { JsExecutionResult } from '../../../shared/crawl-result.js'
import type { Deadline } from './deadline.js'

/** Waits that may take what is left of the budget stop while this share of page_timeout is still left, for the extraction. */
export const RESERVE_SHARE = 0.25
/** scan_full_page never scrolls more than this many steps (Crawl4AI clamps max_scroll_steps to the same). */
export const MAX_SCROLL_STEPS = 1000
/** process_iframes reads at most this many iframes of the main document. */
export const MAX_IFRAMES = 20
/** response_headers keeps at most this many headers, each name and value cut to these lengths. */
export const MAX_RESPONSE_HEADERS = 200
export const MAX_HEADER_NAME = 256
export const MAX_HEADER_VALUE = 4096

/** What `ms` of sleep the budget allows, keeping a reserve for the extraction. */
function withinReserve(ms: number, deadline: Deadline): number {
  return Math.max(0, Math.min(ms, deadline.remaining() - deadline.timeoutMs * RESERVE_SHARE))
}

/** Sleep `ms` (never past the deadline); ends early, rejecting, if the caller goes away. */
export function pause(ms: number, deadline: Deadline, signal?: AbortSignal): Promise<void> {
  const wait = Math.min(ms, deadline.remaining())
  if (wait <= 0) return Promise.resolve()
  return deadline.race(new Promise<void>((resolve) => setTimeout(resolve, wait).unref()), 'a pause', signal)
}

/**
 * Runs `scripts` in order (page.evaluate of each as an expression), recording their values in
 * `record.results` when `keep`. A script that throws stops its list and marks the record failed
 * with its message: the crawl goes on, as Crawl4AI's does. Our own errors (the deadline) stop the crawl.
 */
export async function runScripts(
  page: Page,
  scripts: string[],
  name: 'js_code' | 'js_code_before_wait',
  deadline: Deadline,
  record: JsExecutionResult,
  keep: boolean,
): Promise<void> {
  for (const [i, code] of scripts.entries()) {
    try {
      const value = await deadline.race(page.evaluate(code), `${name}[${i}]`)
      if (keep) record.results.push(value)
    } catch (err) {
      if (err instanceof CrawldeckError) throw err
      record.success = false
      record.error ??= `${name}[${i}] threw: ${firstLine(err)}`
      return
    }
  }
}

/**
 * wait_for: a CSS selector attached to the page, or a JS expression that becomes truthy, within
 * wait_for_timeout (when given) and what is left of page_timeout.
 */
export async function waitForCondition(
  page: Page,
  waitFor: { kind: 'css' | 'js'; expression: string },
  waitForTimeout: number | null,
  deadline: Deadline,
): Promise<void> {
  const remaining = deadline.remaining()
  const own = waitForTimeout !== null && waitForTimeout < remaining
  const timeout = own ? waitForTimeout : remaining
  try {
    if (waitFor.kind === 'css') await page.waitForSelector(waitFor.expression, { timeout, state: 'attached' })
    else await page.waitForFunction(jsCondition(waitFor.expression), undefined, { timeout, polling: 100 })
  } catch (err) {
    if (own && err instanceof Error && err.name === 'TimeoutError') {
      throw new CrawlFailedError(
        `wait_for ${waitFor.kind}:${waitFor.expression.slice(0, 200)} was not met within wait_for_timeout (${waitForTimeout} ms)`,
        true,
      )
    }
    throw err
  }
}

/**
 * A wait_for js: expression as a condition: Crawl4AI's clients write a function (`() => ...`) as
 * often as a bare expression, and a function is truthy itself, so one is called for its value.
 */
export function jsCondition(expression: string): string {
  return `(() => { const value = (${expression}\n); return typeof value === 'function' ? value() : value })()`
}

/** One scroll step: false after scrolling a viewport down, true when the page was already at its bottom. */
const SCROLL_STEP = `(() => {
  const d = document.documentElement;
  const height = Math.max(d ? d.scrollHeight : 0, document.body ? document.body.scrollHeight : 0);
  if (window.scrollY + window.innerHeight >= height - 2) return true;
  window.scrollBy(0, Math.max(100, window.innerHeight));
  return false;
})()`

/**
 * scan_full_page: scroll down a viewport at a time, pausing scroll_delay after each step so lazy
 * content can load, until the page has no more below (its height stopped growing), max_scroll_steps
 * are done, or only the reserve of the budget is left; then back to the top, as Crawl4AI does.
 */
export async function scanFullPage(
  page: Page,
  opts: { scrollDelayMs: number; maxSteps: number | null },
  deadline: Deadline,
  signal?: AbortSignal,
): Promise<number> {
  const maxSteps = Math.min(opts.maxSteps ?? MAX_SCROLL_STEPS, MAX_SCROLL_STEPS)
  let steps = 0
  while (steps < maxSteps && withinReserve(1, deadline) > 0) {
    const atBottom = await deadline.race(page.evaluate(SCROLL_STEP), 'scan_full_page', signal)
    if (atBottom === true) break
    steps++
    await pause(withinReserve(Math.max(opts.scrollDelayMs, 1), deadline), deadline, signal)
  }
  await deadline.race(page.evaluate('window.scrollTo(0, 0)'), 'scan_full_page', signal)
  return steps
}

/**
 * Every <img> complete (loaded or broken), not counting lazy ones far below the viewport, which
 * never start until scrolled to. Read with plain loops: a page may have replaced Array.from.
 */
const IMAGES_DONE = `(() => {
  const imgs = document.images;
  const below = window.innerHeight * 2;
  for (let i = 0; i < imgs.length; i++) {
    const img = imgs[i];
    if (img.complete) continue;
    if (img.loading === 'lazy' && img.getBoundingClientRect().top > below) continue;
    return false;
  }
  return true;
})()`

/**
 * wait_for_images: until every image has finished, for at most what the budget allows beyond its
 * reserve. An image that never finishes does not fail the crawl (Crawl4AI only logs it either):
 * the crawl goes on without it. Returns whether they all finished.
 */
export async function waitForImages(page: Page, deadline: Deadline): Promise<boolean> {
  const timeout = withinReserve(deadline.remaining(), deadline)
  if (timeout < 1) return false
  try {
    await page.waitForFunction(IMAGES_DONE, undefined, { timeout, polling: 100 })
    return true
  } catch (err) {
    if (err instanceof Error && err.name === 'TimeoutError') return false
    throw err
  }
}

/**
 * remove_overlay_elements: fixed or sticky elements stacked high (z-index 1000 and up) or covering
 * a third of the viewport, and positioned or dialog elements that name themselves a cookie banner,
 * consent prompt, modal, popup, overlay or newsletter box. Scrolling locked by a modal is undone.
 * At most 20 000 elements are looked at.
 */
const REMOVE_OVERLAYS = `(() => {
  const body = document.body;
  if (!body) return 0;
  const root = document.documentElement;
  const area = window.innerWidth * window.innerHeight;
  const doomed = [];
  const all = body.getElementsByTagName('*');
  for (let i = 0; i < all.length && i < 20000; i++) {
    const el = all[i];
    const cs = getComputedStyle(el);
    if (cs.position !== 'fixed' && cs.position !== 'sticky') continue;
    const z = parseInt(cs.zIndex, 10);
    const r = el.getBoundingClientRect();
    if ((z >= 1000) || (r.width * r.height >= area / 3)) doomed.push(el);
  }
  const named = document.querySelectorAll('[class*="cookie" i],[id*="cookie" i],[class*="consent" i],[id*="consent" i],[class*="gdpr" i],[class*="modal" i],[id*="modal" i],[class*="popup" i],[id*="popup" i],[class*="overlay" i],[id*="overlay" i],[class*="newsletter" i],[role="dialog"],[role="alertdialog"],[aria-modal="true"]');
  for (let i = 0; i < named.length && i < 2000; i++) {
    const el = named[i];
    const role = el.getAttribute('role');
    const position = getComputedStyle(el).position;
    if (role === 'dialog' || role === 'alertdialog' || el.getAttribute('aria-modal') === 'true' || position === 'fixed' || position === 'sticky' || position === 'absolute') doomed.push(el);
  }
  let removed = 0;
  for (let i = 0; i < doomed.length; i++) {
    const el = doomed[i];
    if (el === body || el === root || !el.isConnected) continue;
    el.remove();
    removed++;
  }
  body.style.overflow = 'auto';
  if (root) root.style.overflow = 'auto';
  return removed;
})()`

/** Runs remove_overlay_elements; a page that broke what it uses keeps its overlays (the crawl goes on). */
export async function removeOverlays(page: Page, deadline: Deadline, signal?: AbortSignal): Promise<number> {
  try {
    const removed = await deadline.race(page.evaluate(REMOVE_OVERLAYS), 'remove_overlay_elements', signal)
    return typeof removed === 'number' ? removed : 0
  } catch (err) {
    if (err instanceof CrawldeckError) throw err
    return 0
  }
}

/**
 * The body HTML of a frame, its links and sources made absolute against the frame's own URL (they
 * land in the main page's extraction), or null when longer than `max`.
 */
function frameBodyScript(max: number): string {
  return `(() => {
  const body = document.body;
  if (!body) return '';
  // Copied into a document without a browsing context: nothing in the copy loads or runs.
  const copy = document.implementation.createHTMLDocument('').importNode(body, true);
  const els = copy.querySelectorAll('[href],[src]');
  for (let i = 0; i < els.length; i++) {
    const el = els[i];
    for (const name of ['href', 'src']) {
      const value = el.getAttribute(name);
      if (value === null) continue;
      try { el.setAttribute(name, new URL(value, document.baseURI).href) } catch (e) {}
    }
  }
  const html = copy.innerHTML;
  return typeof html === 'string' && html.length <= ${max} ? html : null;
})()`
}

/**
 * process_iframes: the body HTML of the main document's first MAX_IFRAMES <iframe> elements, by
 * their position among them, same-origin or not (Playwright reaches every frame). A frame that
 * does not answer, has no document yet or is larger than its share of max_capture_bytes is left
 * out (its <iframe> is dropped from cleaned_html as before).
 */
export async function frameBodies(page: Page, maxChars: number, deadline: Deadline, signal?: AbortSignal): Promise<Array<{ index: number; html: string }>> {
  const list = await deadline.race(
    page.evaluateHandle(`Array.prototype.slice.call(document.getElementsByTagName('iframe'), 0, ${MAX_IFRAMES})`),
    'process_iframes',
    signal,
  )
  const bodies: Array<{ index: number; html: string }> = []
  try {
    const props = await deadline.race(list.getProperties(), 'process_iframes', signal)
    let total = 0
    const each = Math.max(1, Math.floor(maxChars / 4))
    for (let index = 0; index < MAX_IFRAMES; index++) {
      const handle = props.get(String(index))?.asElement()
      if (!handle) break
      try {
        const frame = await deadline.race(handle.contentFrame(), 'process_iframes', signal)
        if (!frame) continue
        const html = await deadline.race(frame.evaluate(frameBodyScript(Math.min(each, maxChars - total))), 'process_iframes', signal)
        if (typeof html !== 'string' || html.length === 0) continue
        total += html.length
        bodies.push({ index, html })
        if (total >= maxChars) break
      } catch (err) {
        if (err instanceof CrawldeckError) throw err
        // A frame that navigated away or was removed meanwhile: left out.
      }
    }
    for (const handle of props.values()) void handle.dispose().catch(() => undefined)
  } finally {
    void list.dispose().catch(() => undefined)
  }
  return bodies
}

/**
 * The main document's response headers (lower-case names, as Playwright gives them), at most
 * MAX_RESPONSE_HEADERS, names and values cut short. The egress guard's own marker is not the page's.
 */
export function responseHeaders(response: Response | null): Record<string, string> | null {
  if (!response) return null
  const out: Record<string, string> = {}
  let count = 0
  for (const [name, value] of Object.entries(response.headers())) {
    if (name === EGRESS_HEADER || name === '__proto__') continue
    if (count++ >= MAX_RESPONSE_HEADERS) break
    out[name.slice(0, MAX_HEADER_NAME)] = value.length > MAX_HEADER_VALUE ? value.slice(0, MAX_HEADER_VALUE) : value
  }
  return out
}
