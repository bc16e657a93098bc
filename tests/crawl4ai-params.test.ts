import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-result.js'
import { configSwitches, mergeBlinkSettings } from '../src/main/core/chromium/launch-args.js'
import { C4A_TEXT, FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { bounded, TestScope, type TestService } from './helpers/service.js'
import { expectedLink } from './helpers/result-shapes.js'

/*
 * Crawl4AI's browser and crawler parameters, each against a fixture page that shows whether it
 * took effect (../shared/reference/crawl4ai-api.md §3, §4), and the result in Crawl4AI's shape (§6.1).
 */

let fx: FixtureServer
let s: TestService
const scope = new TestScope(() => fx)

beforeAll(async () => {
  fx = await startFixtureServer()
  s = await scope.serve({ prewarm_pages: 0, allow_js_code: true })
})

afterEach(() => scope.releaseGates())

afterAll(async () => {
  await scope.closeAll()
  await fx?.close()
})

/** One URL through POST /crawl: its result, the request having answered 200. */
async function crawl(path: string, crawler_config: Record<string, unknown> = {}, browser_config: Record<string, unknown> = {}): Promise<CrawlResult> {
  const reply = await s.postJson('/crawl', { urls: [fx.url(path)], crawler_config, browser_config })
  expect(reply.status, JSON.stringify(reply.body).slice(0, 500)).toBe(200)
  return reply.body.results[0] as CrawlResult
}

async function crawlOk(path: string, crawler_config: Record<string, unknown> = {}, browser_config: Record<string, unknown> = {}): Promise<CrawlResult> {
  const r = await crawl(path, crawler_config, browser_config)
  expect(r.success, String(r.error_message)).toBe(true)
  return r
}

/** The width and height a PNG says it has (its IHDR chunk). */
function pngSize(base64: string): { width: number; height: number } {
  const png = Buffer.from(base64, 'base64')
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

describe('browser_config', () => {
  it('headers reach the target with every request', async () => {
    await crawlOk('/c4a/echo', {}, { headers: { 'X-Crawl-Test': 'yes-1' } })
    expect(fx.lastHeaders('/c4a/echo')?.['x-crawl-test']).toBe('yes-1')
    await crawlOk('/c4a/echo')
    expect(fx.lastHeaders('/c4a/echo')?.['x-crawl-test']).toBeUndefined()
  })

  it('cookies are sent to the target (each with a url, or a domain and path)', async () => {
    await crawlOk('/c4a/echo', {}, { cookies: [{ name: 'sid', value: 'abc123', url: fx.origin }] })
    expect(fx.lastHeaders('/c4a/echo')?.cookie).toBe('sid=abc123')
    await crawlOk('/c4a/echo', {}, { cookies: [{ name: 'pref', value: 'dark', domain: '127.0.0.1', path: '/c4a' }] })
    expect(fx.lastHeaders('/c4a/echo')?.cookie).toBe('pref=dark')
    await crawlOk('/c4a/echo')
    expect(fx.lastHeaders('/c4a/echo')?.cookie).toBeUndefined()
  })

  it('user_agent is the User-Agent the target sees', async () => {
    await crawlOk('/c4a/echo', {}, { user_agent: 'crawldeck-params/1.0' })
    expect(fx.lastHeaders('/c4a/echo')?.['user-agent']).toBe('crawldeck-params/1.0')
  })

  it('text_mode: no image is fetched', async () => {
    const before = fx.hits('/c4a/pic/7.png')
    await crawlOk('/c4a/assets', { wait_until: 'load' })
    expect(fx.hits('/c4a/pic/7.png')).toBe(before + 1)
    await crawlOk('/c4a/assets', { wait_until: 'load' }, { text_mode: true })
    expect(fx.hits('/c4a/pic/7.png')).toBe(before + 1)
  })

  it("text_mode's switch joins the operator's --blink-settings rather than replacing it", () => {
    expect(configSwitches({ text_mode: false })).toEqual([])
    expect(mergeBlinkSettings(['--a', '--blink-settings=scriptEnabled=true', '--b', ...configSwitches({ text_mode: true })])).toEqual([
      '--a',
      '--b',
      '--disable-remote-fonts',
      '--blink-settings=scriptEnabled=true,imagesEnabled=false',
    ])
  })

  it('avoid_css: stylesheets are not fetched; images still are', async () => {
    const css = fx.hits('/c4a/style.css')
    const pic = fx.hits('/c4a/pic/7.png')
    await crawlOk('/c4a/assets', { wait_until: 'load' }, { avoid_css: true })
    expect(fx.hits('/c4a/style.css')).toBe(css)
    expect(fx.hits('/c4a/pic/7.png')).toBe(pic + 1)
    await crawlOk('/c4a/assets', { wait_until: 'load' })
    expect(fx.hits('/c4a/style.css')).toBe(css + 1)
  })

  it('device_scale_factor: the screenshot has that many pixels per CSS pixel', async () => {
    const one = await crawlOk('/c4a/echo', { screenshot: true }, { viewport: { width: 400, height: 300 } })
    expect(pngSize(one.screenshot!)).toEqual({ width: 400, height: 300 })
    const two = await crawlOk('/c4a/echo', { screenshot: true }, { viewport: { width: 400, height: 300 }, device_scale_factor: 2 })
    expect(pngSize(two.screenshot!)).toEqual({ width: 800, height: 600 })
  })

  it('java_script_enabled: false runs none of the page script', async () => {
    const on = await crawlOk('/js', { wait_for: 'css:#rendered' })
    expect(on.cleaned_html).toContain(FIXTURE_TEXT.jsRendered)
    const off = await crawlOk('/js', {}, { java_script_enabled: false })
    expect(off.cleaned_html).not.toContain(FIXTURE_TEXT.jsRendered)
  })
})

describe('crawler_config: waiting and scripts', () => {
  it('wait_for js: waits for the expression (a function or a bare expression) to be truthy', async () => {
    const fn = await crawlOk('/js', { wait_for: 'js:() => document.getElementById("late") !== null' })
    expect(fn.cleaned_html).toContain(FIXTURE_TEXT.jsLate)
    const expr = await crawlOk('/js', { wait_for: 'js:document.querySelector("#late") !== null' })
    expect(expr.cleaned_html).toContain(FIXTURE_TEXT.jsLate)
    const css = await crawlOk('/js', { wait_for: 'css:#late' })
    expect(css.cleaned_html).toContain(FIXTURE_TEXT.jsLate)
  })

  it('wait_for_timeout bounds wait_for alone: a condition never met fails at it, well before page_timeout', async () => {
    const started = Date.now()
    const r = await crawl('/c4a/echo', { wait_for: 'css:#never', wait_for_timeout: 300, page_timeout: 30_000 })
    expect(r.success).toBe(false)
    expect(r.error_message).toMatch(/wait_for css:#never was not met within wait_for_timeout \(300 ms\)/)
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it('js_code_before_wait runs before wait_for, js_code after it', async () => {
    const r = await crawlOk('/c4a/before-wait', {
      js_code_before_wait: 'window.__go = true',
      wait_for: 'css:#ready',
      js_code: ['document.querySelector("#ready") !== null'],
    })
    expect(r.js_execution_result).toEqual({ success: true, results: [true] })
    expect(r.js_results).toEqual([true])
    expect(r.cleaned_html).toContain('Ready now')
    // Without it the condition is never met.
    const without = await crawl('/c4a/before-wait', { wait_for: 'css:#ready', wait_for_timeout: 300 })
    expect(without.success).toBe(false)
  })

  it('a js_code script that throws: js_execution_result says so, the crawl still answers, later scripts do not run', async () => {
    const r = await crawlOk('/c4a/echo', { js_code: ['1 + 1', 'throw new Error("boom in page")', 'document.title = "changed"'] })
    expect(r.js_execution_result?.success).toBe(false)
    expect(r.js_execution_result?.results).toEqual([2])
    expect(r.js_execution_result?.error).toMatch(/^js_code\[1\] threw: .*boom in page/)
    expect(r.metadata.title).toBe('Echo')
    expect(r.cleaned_html).toContain('Headers were recorded.')
    const none = await crawlOk('/c4a/echo')
    expect(none.js_execution_result).toBeNull()
  })

  it('delay_before_return_html: the page is read that many seconds later', async () => {
    // The page changes once its gate answers: never, for the first crawl.
    scope.gate('delay-held')
    const now = await crawlOk('/c4a/delayed/delay-held')
    expect(now.cleaned_html).not.toContain(C4A_TEXT.delayed)
    const gate = scope.gate('delay-later')
    const answer = crawlOk('/c4a/delayed/delay-later', { delay_before_return_html: 3 })
    await bounded(gate.reached, 20_000, 'the page asking its gate')
    gate.release()
    expect((await bounded(answer, 30_000, 'the crawl')).cleaned_html).toContain(C4A_TEXT.delayed)
  })

  it('screenshot_wait_for: the screenshot is taken that many seconds later', async () => {
    scope.gate('shot-held')
    const now = await crawlOk('/c4a/delayed/shot-held', { screenshot: true, screenshot_full_page: true })
    expect(pngSize(now.screenshot!).height).toBeLessThan(3000)
    const gate = scope.gate('shot-later')
    const answer = crawlOk('/c4a/delayed/shot-later', { screenshot: true, screenshot_full_page: true, screenshot_wait_for: 3 })
    await bounded(gate.reached, 20_000, 'the page asking its gate')
    gate.release()
    expect(pngSize((await bounded(answer, 30_000, 'the crawl')).screenshot!).height).toBeGreaterThanOrEqual(3000)
  })

  it('wait_for_images: the page is read once its images have finished', async () => {
    scope.gate('img-free')
    const without = await crawlOk('/c4a/wait-image/img-free')
    expect(without.cleaned_html).not.toContain('Image finished')
    const gate = scope.gate('img-held')
    const answer = crawlOk('/c4a/wait-image/img-held', { wait_for_images: true })
    await bounded(gate.reached, 20_000, 'the image request')
    gate.release()
    const r = await bounded(answer, 30_000, 'the crawl')
    expect(r.cleaned_html).toContain('Image finished')
  })

  it('scan_full_page scrolls to the bottom so lazy content loads; max_scroll_steps stops it short', async () => {
    const plain = await crawlOk('/c4a/lazy')
    expect(plain.cleaned_html).not.toContain(C4A_TEXT.lazy)
    const scanned = await crawlOk('/c4a/lazy', { scan_full_page: true, scroll_delay: 0.05 })
    expect(scanned.cleaned_html).toContain(C4A_TEXT.lazy)
    const short = await crawlOk('/c4a/lazy', { scan_full_page: true, scroll_delay: 0.05, max_scroll_steps: 1 })
    expect(short.cleaned_html).not.toContain(C4A_TEXT.lazy)
  })

  it('remove_overlay_elements removes fixed high overlays and modal backdrops before extraction', async () => {
    const kept = await crawlOk('/c4a/overlay')
    expect(kept.cleaned_html).toContain(C4A_TEXT.overlay)
    const removed = await crawlOk('/c4a/overlay', { remove_overlay_elements: true })
    expect(removed.cleaned_html).not.toContain(C4A_TEXT.overlay)
    expect(removed.cleaned_html).not.toContain('modal-backdrop')
    expect(removed.cleaned_html).toContain('The real content.')
  })

  it('process_iframes inlines same-origin and cross-origin frame bodies, their links absolute against the frame', async () => {
    const plain = await crawlOk('/c4a/frames', { wait_until: 'load' })
    expect(plain.cleaned_html).not.toContain(C4A_TEXT.sameOriginFrame)
    const r = await crawlOk('/c4a/frames', { wait_until: 'load', process_iframes: true })
    expect(r.cleaned_html).toContain(C4A_TEXT.sameOriginFrame)
    expect(r.cleaned_html).toContain(C4A_TEXT.crossOriginFrame)
    expect(r.cleaned_html).not.toMatch(/<script/i)
    expect(r.markdown.raw_markdown).toContain(C4A_TEXT.crossOriginFrame)
    expect(r.links.internal.map((l) => l.href)).toContain(fx.url('/c4a/from-frame'))
  })
})

describe('crawler_config: what the result keeps', () => {
  it('word_count_threshold drops shorter text blocks from cleaned_html and the Markdown', async () => {
    const all = await crawlOk('/c4a/rich')
    expect(all.cleaned_html).toContain(C4A_TEXT.tiny)
    const r = await crawlOk('/c4a/rich', { word_count_threshold: 5 })
    expect(r.cleaned_html).not.toContain(C4A_TEXT.tiny)
    expect(r.markdown.raw_markdown).not.toContain(C4A_TEXT.tiny)
    expect(r.markdown.raw_markdown).toContain(C4A_TEXT.long)
  })

  it('excluded_selector removes its elements before anything reads the page: text and links', async () => {
    const r = await crawlOk('/c4a/rich', { excluded_selector: '.ad, footer' })
    expect(r.cleaned_html).not.toContain(C4A_TEXT.ad)
    const hrefs = r.links.internal.map((l) => l.href)
    expect(hrefs).not.toContain(fx.url('/c4a/ad-link'))
    expect(hrefs).not.toContain(fx.url('/c4a/footer-link'))
    expect(hrefs).toContain(fx.url('/c4a/assets'))
  })

  it('target_elements restricts cleaned_html and the Markdown; links and media still come from the whole page', async () => {
    const r = await crawlOk('/c4a/rich', { target_elements: ['#target', 'footer'] })
    expect(r.cleaned_html).toContain(C4A_TEXT.target)
    expect(r.cleaned_html).toContain('Footer link')
    expect(r.cleaned_html).not.toContain(C4A_TEXT.long)
    expect(r.markdown.raw_markdown).not.toContain(C4A_TEXT.long)
    expect(r.links.internal.map((l) => l.href)).toContain(fx.url('/c4a/assets'))
    expect(r.media.images.length).toBeGreaterThan(0)
  })

  it('a target_elements or excluded_selector that does not parse is a 400 naming it', async () => {
    for (const [config, name] of [
      [{ target_elements: ['p', '##bad'] }, 'target_elements[1]'],
      [{ excluded_selector: '##bad' }, 'excluded_selector'],
    ] as const) {
      const reply = await s.postJson('/crawl', { urls: [fx.url('/c4a/rich')], crawler_config: config })
      const text = JSON.stringify(reply.body)
      expect(text).toContain(`invalid ${name}`)
    }
  })

  it('only_text: cleaned_html keeps the text and block structure, no links, images or inline tags', async () => {
    const r = await crawlOk('/c4a/rich', { only_text: true })
    expect(r.cleaned_html).toContain(C4A_TEXT.target)
    expect(r.cleaned_html).toContain('strong words')
    expect(r.cleaned_html).not.toMatch(/<(a|img|strong|video|audio)\b/i)
    expect(r.cleaned_html).not.toMatch(/ (href|src|class|id)=/)
    expect(r.cleaned_html).toMatch(/<p>/)
    expect(r.links.internal.length).toBeGreaterThan(0)
  })

  it('exclude_external_links, exclude_social_media_links, exclude_domains, exclude_internal_links: out of links and of the Markdown', async () => {
    const all = await crawlOk('/c4a/rich')
    expect(all.links.external.map((l) => l.base_domain).sort()).toEqual(['example.org', 'facebook.com', 'sub.blocked.test', 'twitter.com'])
    expect(all.markdown.raw_markdown).toContain('(https://twitter.com/rich)')

    const social = await crawlOk('/c4a/rich', { exclude_social_media_links: true, exclude_domains: ['blocked.test'] })
    expect(social.links.external.map((l) => l.href)).toEqual(['https://example.org/story'])
    expect(social.markdown.raw_markdown).not.toContain('twitter.com')
    expect(social.markdown.raw_markdown).not.toContain('blocked.test')
    // The link goes, its text stays.
    expect(social.markdown.raw_markdown).toContain('on twitter')

    const external = await crawlOk('/c4a/rich', { exclude_external_links: true })
    expect(external.links.external).toEqual([])
    expect(external.links.internal.length).toBeGreaterThan(0)
    expect(external.markdown.raw_markdown).not.toContain('example.org')

    const internal = await crawlOk('/c4a/rich', { exclude_internal_links: true })
    expect(internal.links.internal).toEqual([])
    expect(internal.links.external).toHaveLength(4)
    expect(internal.markdown.raw_markdown).not.toContain(fx.url('/c4a/assets'))
  })

  it('exclude_external_images and exclude_all_images: out of media and of the Markdown', async () => {
    const all = await crawlOk('/c4a/rich')
    expect(all.media.images.map((i) => i.alt)).toEqual(['Internal picture', 'External picture'])
    const external = await crawlOk('/c4a/rich', { exclude_external_images: true })
    expect(external.media.images.map((i) => i.alt)).toEqual(['Internal picture'])
    expect(external.markdown.raw_markdown).not.toContain('External picture')
    expect(external.markdown.raw_markdown).toContain('Internal picture')
    const none = await crawlOk('/c4a/rich', { exclude_all_images: true })
    expect(none.media.images).toEqual([])
    expect(none.markdown.raw_markdown).not.toContain('![')
    expect(none.media.videos).toHaveLength(1)
  })
})

describe("the result in Crawl4AI's shape", () => {
  it('media: images, videos and audios as MediaItem; links with title and base_domain; flat og:/twitter:/article: metadata', async () => {
    const r = await crawlOk('/c4a/rich')
    const [internalPic, externalPic] = r.media.images
    // width 640 and height 480 (over 150 each), alt, a caption, inside <main>: 5.
    expect(internalPic).toEqual({
      src: fx.url('/c4a/pic/1.png'),
      data: '',
      alt: 'Internal picture',
      desc: 'A captioned picture',
      score: 5,
      type: 'image',
      group_id: 0,
      format: 'png',
      width: 640,
    })
    expect(externalPic).toMatchObject({ alt: 'External picture', score: 2, group_id: 1, width: null, format: 'png' })
    expect(r.media.videos).toEqual([
      { src: fx.url('/c4a/clip.mp4'), data: '', alt: '', desc: '', score: 2, type: 'video', group_id: 0, format: 'mp4', width: 320 },
    ])
    expect(r.media.audios).toEqual([
      { src: fx.url('/c4a/sound.ogg'), data: '', alt: '', desc: '', score: 1, type: 'audio', group_id: 0, format: 'ogg', width: null },
    ])

    const assets = r.links.internal.find((l) => l.href === fx.url('/c4a/assets'))
    expect(assets).toEqual(expectedLink(fx.url('/c4a/assets'), 'internal link', 'The assets', '127.0.0.1'))
    expect(r.links.external.find((l) => l.href.includes('facebook'))?.base_domain).toBe('facebook.com')

    expect(r.metadata['og:title']).toBe('Rich OG')
    expect(r.metadata['article:author']).toBe('Ada')
    expect(r.metadata['twitter:site']).toBe('@rich')
    expect(r.metadata.social).toEqual({ 'og:title': 'Rich OG', 'twitter:site': '@rich' })
  })

  it('response_headers of the main document, bounded; redirected_url; the always-null fields', async () => {
    const r = await crawlOk('/c4a/rich')
    expect(r.response_headers?.['x-fixture']).toBe('rich')
    expect(r.response_headers?.['content-type']).toBe('text/html; charset=utf-8')
    expect(r.response_headers?.['x-long']).toBe('v'.repeat(4096))
    expect(r.extracted_content).toBeNull()
    expect(r.session_id).toBeNull()
    expect(r.downloaded_files).toBeNull()
    expect(r.ssl_certificate).toBeNull()
    expect(r.mhtml).toBeNull()
    expect(r.tables).toEqual([])
    expect(Array.isArray(r.warnings)).toBe(true)

    const many = await crawlOk('/c4a/many-headers')
    expect(Object.keys(many.response_headers ?? {}).length).toBe(200)

    const moved = await crawlOk('/redirect')
    expect(moved.url).toBe(fx.url('/redirect'))
    expect(moved.redirected_url).toBe(fx.url('/'))
  })
})
