// @vitest-environment happy-dom
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { locateKey, parseConfigText } from '../../src/renderer/src/lib/config-sync.js'
import { HISTORY_KEY, HISTORY_MAX, loadHistory } from '../../src/renderer/src/lib/playground-history.js'
import { setTransport } from '../../src/renderer/src/stores/transport.js'
import { usePlaygroundStore } from '../../src/renderer/src/stores/playground.js'
import { TransportError } from '../../src/renderer/src/transport/types.js'
import type { CrawlResponse } from '../../src/shared/crawl-result.js'
import { FakeTransport } from './fixtures.js'

/*
 * The Playground's form and JSON editor are two views of one config: each edit of one shows in
 * the other, the editor's text is sent as typed (plain or typed form, keys the form does not know
 * included), and every run lands in the history kept in localStorage. Streams, jobs and a server
 * without --allow-js-code are driven through a fake transport.
 */

const result = (url: string, extra: Record<string, unknown> = {}) => ({
  url,
  success: true,
  status_code: 200,
  error_message: null,
  cleaned_html: '<p>x</p>',
  links: { internal: [], external: [] },
  media: { images: [], videos: [], audios: [] },
  metadata: null,
  screenshot: null,
  duration_ms: 5,
  markdown: { raw_markdown: `# ${url}`, markdown_with_citations: '', references_markdown: '', fit_markdown: '', fit_html: '' },
  extracted_content: null,
  js_results: [],
  ...extra,
})

let transport: FakeTransport

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  transport = new FakeTransport({
    crawl: (input) =>
      ({
        success: true,
        results: (input as { urls: string[] }).urls.map((u) => result(u)),
        server_processing_time_s: 1.25,
        server_memory_delta_mb: 3.5,
        server_peak_memory_mb: 210,
      }) as unknown as CrawlResponse,
  })
  setTransport(transport)
})

const sentConfigs = (n = 0) => transport.calls[n]!.input as { browser_config: unknown; crawler_config: unknown }

describe('form and JSON editor', () => {
  it('a form change is written into the editor text; an editor change sets the form', () => {
    const pg = usePlaygroundStore()
    pg.form.page_timeout = 12_345
    pg.form.session_id = 'abc'
    expect(JSON.parse(pg.configText.crawler)).toMatchObject({ page_timeout: 12_345, session_id: 'abc' })
    pg.setConfigText('browser', '{"headless": false, "viewport_width": 800, "text_mode": true}')
    expect(pg.form.headless).toBe(false)
    expect(pg.form.viewport_width).toBe(800)
    // Keys the editor leaves out are the server's defaults: the form shows its own.
    expect(pg.form.viewport_height).toBe(720)
    // The form's own change keeps the key it does not know.
    pg.form.viewport_height = 600
    expect(JSON.parse(pg.configText.browser)).toEqual({
      headless: false,
      viewport_width: 800,
      text_mode: true,
      viewport_height: 600,
      user_agent: null,
      java_script_enabled: true,
    })
  })

  it('the typed form stays typed: the form edits inside params, cache_mode as a typed enum', () => {
    const pg = usePlaygroundStore()
    const typed = '{"type": "CrawlerRunConfig", "params": {"word_count_threshold": 5, "cache_mode": {"type": "CacheMode", "params": "read_only"}}}'
    pg.setConfigText('crawler', typed)
    // Editing in the editor does not rewrite what was typed.
    expect(pg.configText.crawler).toBe(typed)
    expect(pg.form.cache_mode).toBe('read_only')
    expect(pg.form.page_timeout).toBe(60_000)
    pg.form.wait_until = 'load'
    const after = JSON.parse(pg.configText.crawler) as { type: string; params: Record<string, unknown> }
    expect(after.type).toBe('CrawlerRunConfig')
    expect(after.params).toMatchObject({ word_count_threshold: 5, wait_until: 'load', cache_mode: { type: 'CacheMode', params: 'read_only' } })
  })

  it('what the editor says is what /crawl receives, typed form and unknown keys included', async () => {
    const pg = usePlaygroundStore()
    pg.form.urls = 'https://a.test/'
    const typed = { type: 'CrawlerRunConfig', params: { word_count_threshold: 5, verbose: true, page_timeout: 9000 } }
    pg.setConfigText('crawler', JSON.stringify(typed))
    pg.setConfigText('browser', '{"text_mode": true}')
    await pg.run()
    expect(pg.error).toBeNull()
    expect(sentConfigs().crawler_config).toEqual(typed)
    expect(sentConfigs().browser_config).toEqual({ text_mode: true })
    expect(pg.form.page_timeout).toBe(9000)
  })

  it('text that is not a JSON object is refused before anything is sent, with where it went wrong', async () => {
    const pg = usePlaygroundStore()
    pg.form.urls = 'https://a.test/'
    pg.setConfigText('crawler', '{"page_timeout": 5,,}')
    expect(pg.configError.crawler).toMatch(/^not JSON/)
    const parsed = parseConfigText('{"page_timeout": 5,,}')
    expect(parsed.ok === false && parsed.at).toBe(19)
    // The form cannot undo what it cannot read: the text stays as typed.
    pg.form.page_timeout = 1000
    expect(pg.configText.crawler).toBe('{"page_timeout": 5,,}')
    await pg.run()
    expect(pg.error).toMatch(/^crawler_config: not JSON/)
    expect(transport.calls).toHaveLength(0)
    pg.setConfigText('crawler', '[1]')
    expect(pg.configError.crawler).toMatch(/JSON object/)
  })

  it('locates the key a server issue is about, at any depth, and not a value that looks like it', () => {
    const text = '{\n  "css_selector": "page_timeout",\n  "params": {"a": [{"page_timeout": 1}], "page_timeout": 2}\n}'
    const at = locateKey(text, ['params', 'page_timeout'])!
    expect(text.slice(at.from, at.to)).toBe('"page_timeout"')
    expect(text.slice(0, at.from)).toContain('"a": [{"page_timeout": 1}], ')
    const nested = locateKey(text, ['params', 'a', '0', 'page_timeout'])!
    expect(text.slice(0, nested.from).endsWith('[{')).toBe(true)
    expect(locateKey(text, ['page_timeout'])).toBeNull()
  })
})

describe('endpoints, server figures and history', () => {
  it('/crawl shows the envelope server_* figures and the run is kept in history, newest first, at most 50', async () => {
    const pg = usePlaygroundStore()
    pg.form.urls = 'https://a.test/ https://b.test/'
    await pg.run()
    expect(pg.server).toEqual({ processing_time_s: 1.25, memory_delta_mb: 3.5, peak_memory_mb: 210, memory_mb: null })
    expect(pg.history[0]).toMatchObject({ mode: 'crawl', path: '/crawl', status: 'ok', results: [{ url: 'https://a.test/' }, { url: 'https://b.test/' }] })
    expect(loadHistory()).toHaveLength(1)
    for (let i = 0; i < HISTORY_MAX + 5; i++) {
      pg.form.urls = `https://n${i}.test/`
      await pg.run()
    }
    const kept = loadHistory()
    expect(kept).toHaveLength(HISTORY_MAX)
    expect(kept[0]!.results[0]!.url).toBe(`https://n${HISTORY_MAX + 4}.test/`)
    expect(JSON.parse(localStorage.getItem(HISTORY_KEY)!)).toHaveLength(HISTORY_MAX)
  })

  it('re-run puts a history entry back into the form and the editor, and sends the same request', async () => {
    const pg = usePlaygroundStore()
    pg.form.urls = 'https://a.test/'
    pg.setConfigText('crawler', '{"type": "CrawlerRunConfig", "params": {"word_count_threshold": 7}}')
    await pg.run()
    const entry = pg.history[0]!
    pg.reset()
    expect(pg.form.urls).toBe('')
    await pg.rerun(entry)
    expect(pg.form.urls).toBe('https://a.test/')
    expect(transport.calls[1]!.input).toEqual(transport.calls[0]!.input)
    expect(pg.history).toHaveLength(2)
  })

  it('/crawl/stream shows each result as its line arrives, before the stream ends', async () => {
    const pg = usePlaygroundStore()
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    transport.handlers.crawlStream = async function* () {
      yield { ...result('https://a.test/'), server_memory_mb: 150 }
      await held
      yield { ...result('https://b.test/'), server_memory_mb: 160 }
      yield { status: 'completed' }
    } as never
    pg.form.urls = 'https://a.test/\nhttps://b.test/'
    pg.form.mode = 'stream'
    const done = pg.run()
    await new Promise<void>((resolve) => {
      const check = () => (pg.results.length === 1 ? resolve() : queueMicrotask(check))
      check()
    })
    const firstSeen = pg.results.length
    expect(pg.running).toBe(true)
    release()
    await done
    expect(firstSeen).toBe(1)
    expect(pg.results.map((r) => r.url)).toEqual(['https://a.test/', 'https://b.test/'])
    expect(pg.server?.memory_mb).toBe(160)
    expect(transport.calls[0]!.name).toBe('crawlStream')
  })

  it('/crawl/job shows its progress, then its result', async () => {
    const pg = usePlaygroundStore()
    const seen: string[] = []
    let polls = 0
    transport.handlers.crawlJob = () => ({ task_id: 'crawl_1' })
    transport.handlers.crawlJobStatus = () => {
      polls++
      const base = { task_id: 'crawl_1', created_at: '', url: '[]', _links: {} as never }
      if (polls === 1) return { ...base, status: 'processing', progress: { done: 1, total: 2 } }
      return {
        ...base,
        status: 'completed',
        progress: { done: 2, total: 2 },
        result: { success: true, results: [result('https://a.test/'), result('https://b.test/')], server_processing_time_s: 2 } as unknown as CrawlResponse,
      }
    }
    pg.form.urls = 'https://a.test/ https://b.test/'
    pg.form.mode = 'job'
    const { watch } = await import('vue')
    watch(
      () => pg.job && `${pg.job.status} ${pg.job.done}/${pg.job.total}`,
      (v) => v && seen.push(v),
      { flush: 'sync' },
    )
    await pg.run()
    expect(seen).toEqual(['queued 0/2', 'processing 1/2', 'completed 2/2'])
    expect(pg.results).toHaveLength(2)
    expect(pg.server?.processing_time_s).toBe(2)
  })

  it('/execute_js on a server without --allow-js-code marks the mode disabled with the reason', async () => {
    const pg = usePlaygroundStore()
    transport.handlers.executeJs = () => {
      throw new TransportError('/execute_js is disabled: start the server with --allow-js-code', 403, 'js_disabled', null)
    }
    pg.form.urls = 'https://a.test/'
    pg.form.mode = 'execute_js'
    pg.form.js_scripts = 'return 1\n---\nreturn document.title'
    await pg.run()
    expect((transport.calls[0]!.input as { scripts: string[] }).scripts).toEqual(['return 1', 'return document.title'])
    expect(pg.jsDisabled).toMatch(/allow-js-code/)
    expect(pg.history[0]).toMatchObject({ status: 'error', path: '/execute_js' })
  })

  it('each single-page endpoint gets its own options and the first URL', () => {
    const pg = usePlaygroundStore()
    pg.form.urls = 'https://a.test/ https://b.test/'
    const body = () => ('request' in pg.request ? pg.request.request : null)
    pg.form.mode = 'markdown'
    pg.form.md_filter = 'bm25'
    pg.form.md_query = ' chairs '
    pg.form.md_cache = true
    expect(body()).toMatchObject({ op: 'markdown', path: '/md', body: { url: 'https://a.test/', f: 'bm25', q: 'chairs', c: '1' } })
    pg.form.mode = 'screenshot'
    pg.form.full_page = true
    pg.form.screenshot_wait = 1.5
    expect(body()).toMatchObject({ op: 'screenshot', body: { url: 'https://a.test/', full_page: true, screenshot_wait_for: 1.5 } })
    pg.form.mode = 'pdf'
    expect(body()).toMatchObject({ op: 'pdf', path: '/pdf' })
    pg.form.mode = 'html'
    expect(body()).toMatchObject({ op: 'html', path: '/html', body: { url: 'https://a.test/' } })
    pg.form.mode = 'stream'
    expect(body()).toMatchObject({ op: 'crawlStream', path: '/crawl/stream', stream: true, body: { urls: ['https://a.test/', 'https://b.test/'] } })
  })
})
