import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startService, type TestService } from './helpers/service.js'

/*
 * Crawl4AI's routes through the real HTTP door, against pages of a small server of this file:
 * /md with its filters, /screenshot and /pdf options, /execute_js and its gate, /crawl with
 * crawler_config.stream, the /crawl envelope, and the request's warnings in every answer.
 */

const TOMATOES = 'Tomatoes need full sun, deep watering and rich soil. Plant seedlings after the last frost and stake them early so the stems carry the fruit.'
const QUARKS = 'Quantum chromodynamics describes the strong interaction between quarks and gluons inside hadrons, a theory far from any garden.'
const OTHERS = [
  'The history of the printing press begins with movable type in the fifteenth century.',
  'Rail networks connected distant towns and changed how goods reached the markets.',
  'Migratory birds follow coastlines and rivers on their long seasonal journeys.',
]
const ARTICLE = `<!doctype html><html><head><title>Growing tomatoes</title></head><body>
<nav class="menu"><a href="/home">Home</a> <a href="/shop">Shop</a> <a href="/contact">Contact</a></nav>
<article><h1>Growing tomatoes at home</h1><p>${TOMATOES}</p><p>${QUARKS}</p>${OTHERS.map((t) => `<p>${t}</p>`).join('')}
<p>Read <a href="/guide">the guide</a> and <a href="/guide">the same guide</a>.</p></article>
<footer class="footer">Copyright 2026 <a href="/privacy">Privacy policy</a></footer></body></html>`

/** When the slow image of /late-image?id=… was sent, by id, in ms since the epoch. */
const imageSentAt = new Map<string, number>()

let pages: Server
let base = ''
let s: TestService
let js: TestService

beforeAll(async () => {
  pages = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname
    const id = url.searchParams.get('id') ?? ''
    const delay = Number(url.searchParams.get('ms') ?? 1500)
    if (path === '/article') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      res.end(ARTICLE)
    } else if (path === '/late-image') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><html><body><h1>Picture</h1><img src="/slow.png?id=${id}&amp;ms=${delay}" width="20" height="20"></body></html>`)
    } else if (path === '/slow.png') {
      setTimeout(() => {
        imageSentAt.set(id, Date.now())
        res.writeHead(200, { 'Content-Type': 'image/png' })
        res.end(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'))
      }, delay)
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`
  s = await startService({ prewarm_pages: 0 })
  js = await startService({ prewarm_pages: 0, allow_js_code: true })
})

afterAll(async () => {
  await s?.close()
  await js?.close()
  pages?.closeAllConnections()
  await new Promise<void>((resolve) => (pages ? pages.close(() => resolve()) : resolve()))
})

interface Md {
  url: string
  filter: string
  query: string | null
  cache: string | null
  markdown: string
  success: boolean
  status_code: number
  warnings: string[]
}

describe('POST /md', () => {
  it('f=raw answers the raw Markdown, with every block and link, echoing the request', async () => {
    const r = await s.postJson<Md>('/md', { url: `${base}/article`, f: 'raw' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ url: `${base}/article`, filter: 'raw', query: null, cache: '0', success: true, status_code: 200, warnings: [] })
    expect(r.body.markdown).toContain(TOMATOES)
    expect(r.body.markdown).toContain(`[Privacy policy](${base}/privacy)`)
  })

  it('f=fit (the default) prunes the nav and footer and keeps the article', async () => {
    const r = await s.postJson<Md>('/md', { url: `${base}/article` })
    expect(r.status).toBe(200)
    expect(r.body.filter).toBe('fit')
    expect(r.body.markdown).toContain('# Growing tomatoes at home')
    expect(r.body.markdown).toContain(TOMATOES)
    expect(r.body.markdown).not.toContain('Privacy policy')
    expect(r.body.markdown).not.toContain('Contact')
  })

  it('f=bm25 with q keeps the matching paragraph and drops an unrelated one', async () => {
    const r = await s.postJson<Md>('/md', { url: `${base}/article`, f: 'bm25', q: 'tomato seedlings watering' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ filter: 'bm25', query: 'tomato seedlings watering' })
    expect(r.body.markdown).toContain(TOMATOES)
    expect(r.body.markdown).not.toContain('Quantum')
    expect(r.body.markdown).not.toContain('Migratory')
  })

  it('f=llm is a 400 (no LLM here); an unknown f is a 400 listing the values', async () => {
    const llm = await s.postJson<{ error: string }>('/md', { url: `${base}/article`, f: 'llm' })
    expect(llm.status).toBe(400)
    expect(llm.body.error).toMatch(/no LLM is configured on this server/)
    const bad = await s.postJson<{ error: string }>('/md', { url: `${base}/article`, f: 'summary' })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatch(/f must be one of raw, fit, bm25, llm/)
  })

  it('c "1" reads the result cache (tests/result-cache.test.ts); provider and temperature are accepted, each with a warning in the answer', async () => {
    const r = await s.postJson<Md>('/md', { url: `${base}/article`, f: 'raw', c: '1', provider: 'openai/gpt-4o-mini', temperature: 0.2 })
    expect(r.status).toBe(200)
    expect(r.body.cache).toBe('1')
    expect(r.body.warnings).toHaveLength(2)
    expect(r.body.warnings.join('\n')).toMatch(/^provider: /m)
    expect(r.body.warnings.join('\n')).toMatch(/^temperature: /m)
  })
})

describe('MarkdownResult on /crawl', () => {
  it('raw_markdown, citations (one number per URL) and references; fit_* filled only with a content filter', async () => {
    const plain = await s.postJson('/crawl', { urls: [`${base}/article`] })
    expect(plain.status).toBe(200)
    const md = plain.body.results[0].markdown
    expect(md.raw_markdown).toContain(`[the guide](${base}/guide)`)
    expect(md.markdown_with_citations).toMatch(/Read the guide⟨(\d+)⟩ and the same guide⟨\1⟩\./)
    expect(md.references_markdown.startsWith('\n\n## References\n\n⟨1⟩ ')).toBe(true)
    expect(md.references_markdown).toContain(`${base}/privacy: Privacy policy\n`)
    expect(md.fit_markdown).toBe('')
    expect(md.fit_html).toBe('')

    const filtered = await s.postJson('/crawl', {
      urls: [`${base}/article`],
      crawler_config: {
        type: 'CrawlerRunConfig',
        params: {
          markdown_generator: {
            type: 'DefaultMarkdownGenerator',
            params: { content_filter: { type: 'BM25ContentFilter', params: { user_query: 'gluons quarks' } } },
          },
        },
      },
    })
    expect(filtered.status).toBe(200)
    const fit = filtered.body.results[0].markdown
    expect(fit.fit_html.startsWith('<div>')).toBe(true)
    expect(fit.fit_markdown).toContain('Quantum chromodynamics')
    expect(fit.fit_markdown).not.toContain('Tomatoes need')
    expect(filtered.body.results[0].warnings.join('\n')).not.toMatch(/markdown_generator/)
  })

  it('a malformed content filter is a 400 naming the field', async () => {
    const r = await s.postJson<{ error: string }>('/crawl', {
      urls: [`${base}/article`],
      crawler_config: {
        markdown_generator: {
          type: 'DefaultMarkdownGenerator',
          params: { content_filter: { type: 'PruningContentFilter', params: { threshold_type: 'sometimes' } } },
        },
      },
    })
    expect(r.status).toBe(400)
    expect(r.body.error).toMatch(/markdown_generator/)
  })
})

describe('/crawl envelope and stream', () => {
  it('the envelope carries server_processing_time_s, server_memory_delta_mb and server_peak_memory_mb', async () => {
    const r = await s.postJson('/crawl', { urls: [`${base}/article`, `${base}/late-image?ms=10`] })
    expect(r.status).toBe(200)
    expect(r.body.results).toHaveLength(2)
    for (const key of ['server_processing_time_s', 'server_memory_delta_mb', 'server_peak_memory_mb']) expect(typeof r.body[key], key).toBe('number')
    expect(r.body.server_processing_time_s).toBeGreaterThan(0)
    expect(r.body.server_peak_memory_mb).toBeGreaterThan(10)
  })

  it('crawler_config.stream: true answers NDJSON as /crawl/stream does, each line with server_memory_mb, completed last', async () => {
    const r = await s.post('/crawl', { urls: [`${base}/article`, `${base}/late-image?ms=10`], crawler_config: { stream: true } })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/application\/x-ndjson/)
    const lines = (await r.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(3)
    expect(lines[2]).toEqual({ status: 'completed' })
    expect(
      lines
        .slice(0, 2)
        .map((l) => l.url)
        .sort(),
    ).toEqual([`${base}/article`, `${base}/late-image?ms=10`])
    for (const line of lines.slice(0, 2)) expect(typeof line.server_memory_mb).toBe('number')
  })

  it("the request's warnings are copied into each result (crawl and stream)", async () => {
    const body = { urls: [`${base}/article`], crawler_config: { check_robots_txt: true } }
    const batch = await s.postJson('/crawl', body)
    expect(batch.status).toBe(200)
    expect(batch.body.results[0].warnings.join('\n')).toMatch(/check_robots_txt/)
    const stream = await s.post('/crawl/stream', body)
    const first = JSON.parse((await stream.text()).split('\n')[0] as string)
    expect(first.warnings.join('\n')).toMatch(/check_robots_txt/)
  })
})

describe('POST /screenshot and /pdf', () => {
  it('answers mime and size beside the base64 PNG', async () => {
    const r = await s.postJson('/screenshot', { url: `${base}/article` })
    expect(r.status).toBe(200)
    expect(r.body.mime).toBe('image/png')
    expect(r.body.size).toBe(Buffer.from(r.body.screenshot, 'base64').length)
  })

  it('screenshot_wait_for waits that many seconds before the shot', async () => {
    const started = Date.now()
    const r = await s.postJson('/screenshot', { url: `${base}/article`, screenshot_wait_for: 1.2 })
    expect(r.status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200)
    const bad = await s.postJson<{ error: string }>('/screenshot', { url: `${base}/article`, screenshot_wait_for: 61 })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatch(/screenshot_wait_for/)
  })

  it('wait_for_images holds the shot until the slow image has arrived; without it, it does not wait', async () => {
    // Without: answered long before an image held 8 s.
    await s.postJson('/screenshot', { url: `${base}/late-image?id=without&ms=8000` })
    expect(imageSentAt.has('without')).toBe(false)
    const r = await s.postJson('/screenshot', { url: `${base}/late-image?id=with&ms=1500`, wait_for_images: true })
    const answered = Date.now()
    expect(r.status).toBe(200)
    expect(imageSentAt.get('with')).toBeLessThanOrEqual(answered)
  })

  it('output_path is a 400 on /screenshot and /pdf: the file comes back in the body, server paths are never written', async () => {
    for (const route of ['/screenshot', '/pdf']) {
      const r = await s.postJson<{ error: string }>(route, { url: `${base}/article`, output_path: '/tmp/x' })
      expect(r.status, route).toBe(400)
      expect(r.body.error, route).toMatch(/output_path .*comes back in the answer's body.*never writes a file/)
    }
  })

  it('/pdf answers mime and size', async () => {
    const r = await s.postJson('/pdf', { url: `${base}/article` })
    expect(r.status).toBe(200)
    expect(r.body.mime).toBe('application/pdf')
    expect(r.body.size).toBe(Buffer.from(r.body.pdf, 'base64').length)
    expect(Buffer.from(r.body.pdf, 'base64').subarray(0, 5).toString()).toBe('%PDF-')
  })
})

describe('POST /execute_js', () => {
  it('403 saying how to enable it when the server runs without --allow-js-code', async () => {
    const r = await s.postJson<{ error: string; code: string }>('/execute_js', { url: `${base}/article`, scripts: ['1 + 1'] })
    expect(r.status).toBe(403)
    expect(r.body.code).toBe('js_disabled')
    expect(r.body.error).toMatch(/--allow-js-code/)
  })

  it('scripts is required, 1..32 of them', async () => {
    expect((await js.postJson('/execute_js', { url: `${base}/article` })).status).toBe(400)
    expect((await js.postJson('/execute_js', { url: `${base}/article`, scripts: [] })).status).toBe(400)
    expect((await js.postJson('/execute_js', { url: `${base}/article`, scripts: Array(33).fill('1') })).status).toBe(400)
  })

  it('with --allow-js-code: the full CrawlResult with js_execution_result, tracked as a crawl', async () => {
    const r = await js.postJson('/execute_js', { url: `${base}/article`, scripts: ['document.title', '(() => 6 * 7)()'] })
    expect(r.status).toBe(200)
    expect(r.body.success).toBe(true)
    expect(r.body.js_execution_result).toMatchObject({ success: true, results: ['Growing tomatoes', 42] })
    expect(r.body.markdown.raw_markdown).toContain(TOMATOES)
    const requests = await js.get<{ completed: Array<{ endpoint: string }> }>('/monitor/requests')
    expect(requests.body.completed.some((c) => c.endpoint === '/execute_js')).toBe(true)
  })
})

describe('the js gate covers every field that runs page script', () => {
  it('js_code_before_wait and a JavaScript wait_for are 400 without --allow-js-code; a CSS wait_for is not', async () => {
    const before = await s.postJson<{ error: string }>('/crawl', { urls: [`${base}/article`], crawler_config: { js_code_before_wait: ['1'] } })
    expect(before.status).toBe(400)
    expect(before.body.error).toMatch(/js_code_before_wait is disabled/)
    const waitJs = await s.postJson<{ error: string }>('/crawl', { urls: [`${base}/article`], crawler_config: { wait_for: 'js:() => true' } })
    expect(waitJs.status).toBe(400)
    expect(waitJs.body.error).toMatch(/wait_for/)
    const waitCss = await s.postJson('/crawl', { urls: [`${base}/article`], crawler_config: { wait_for: 'css:h1' } })
    expect(waitCss.status).toBe(200)
  })
})
