import type { CDPSession, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { extractFromPage } from '../src/main/core/crawl/extract.js'
import { htmlToMarkdown } from '../src/main/core/crawl/markdown.js'
import { CaptureTooLargeError, MAX_ERROR_CHARS } from '../src/main/core/errors.js'
import { BASE_HREF_CHARS, FARM_LINKS, LIST_DEPTH, LIST_ITEMS, NEWLINES, startHostilePages, THROWN_CHARS, type HostilePages } from './helpers/hostile-pages.js'
import { startService, type TestService } from './helpers/service.js'

/*
 * Work on what a page sends is bounded in time and size, with real Chromium and the real service
 * in this process, against pages built to cost it (tests/helpers/hostile-pages.ts): the Markdown
 * step never holds the event loop and ends at the page's deadline, a page's error text is cut to
 * MAX_ERROR_CHARS wherever it goes, and max_capture_bytes bounds every field of a result.
 */

let pages: HostilePages

beforeAll(async () => {
  pages = await startHostilePages()
})

afterAll(async () => {
  await pages?.close()
})

/**
 * Asks GET /health over and over while `work` runs and gives the slowest answer's time: what the
 * event loop was held for at most (a 15-s conversion on it held /health 14.3 s).
 */
async function healthWhile<T>(s: TestService, work: () => Promise<T>): Promise<{ result: T; slowestHealthMs: number; polls: number }> {
  let done = false
  let slowest = 0
  let polls = 0
  const poller = (async () => {
    while (!done) {
      const started = performance.now()
      const res = await fetch(s.url + '/health')
      await res.arrayBuffer()
      slowest = Math.max(slowest, performance.now() - started)
      polls++
      // Paced, so the poller does not take a core from the work it watches.
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  try {
    return { result: await work(), slowestHealthMs: slowest, polls }
  } finally {
    done = true
    await poller
  }
}

async function metric(s: TestService, line: string): Promise<number | null> {
  const text = await (await fetch(s.url + '/metrics')).text()
  // Every series carries the fleet's instance label; what is asked for is the rest.
  const withoutInstance = (l: string) =>
    l
      .replace(/instance="[^"]*",?/, '')
      .replace(',}', '}')
      .replace('{}', '')
  const found = text
    .split('\n')
    .map(withoutInstance)
    .find((l) => l.startsWith(line + ' '))
  return found === undefined ? null : Number(found.slice(line.length + 1))
}

describe('Markdown of long runs of whitespace is linear', () => {
  // Each took 2.5-15 s (two trims anchored at the end of the text, ours and turndown's, tried
  // from every position of the run); now milliseconds, so a second is far off either way.
  it.each([
    ['the newlines in a list item', `<ul><li>a<pre><code>${'\n'.repeat(NEWLINES)}b</code></pre></li></ul>`, /^- a\n {2}\n {2}```\n[^]*\n {2}b\n {2}```$/],
    ['a code block of newlines', `<p>a</p><pre><code>${'\n'.repeat(NEWLINES)}b</code></pre>`, /^a\n\n```\n\nb\n```$/],
    ['a paragraph of no-break spaces', `<p>a${'&nbsp;'.repeat(NEWLINES)}b</p>`, new RegExp(`^a\u00a0{${NEWLINES}}b$`)],
  ])('%s', (_, html, expected) => {
    const started = performance.now()
    const md = htmlToMarkdown(html)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(md).toMatch(expected)
  })
})

describe('Markdown off the event loop, ended at the deadline', () => {
  let s: TestService

  beforeAll(async () => {
    s = await startService({ max_pages: 2 })
  })

  afterAll(async () => {
    await s?.close()
  })

  it('the 60 KB page of newlines in a list item converts at once and whole, and /health answers within 1 s throughout', async () => {
    // 10 s is far more than the page needs now, and far less than the quadratic trims took (15-30 s).
    const { result, slowestHealthMs, polls } = await healthWhile(s, () =>
      s.postJson('/md', { url: pages.url('/newlines'), f: 'raw', crawler_config: { page_timeout: 10_000 } }),
    )
    expect(result.status, JSON.stringify(result.body).slice(0, 300)).toBe(200)
    const md: string = result.body.markdown
    // "- a", the fence's blank line and the fence, one indented blank line per newline, "b", the fence.
    expect(md.startsWith('- a\n  \n  ```\n  \n')).toBe(true)
    expect(md.endsWith('\n  b\n  ```')).toBe(true)
    expect(md.split('\n')).toHaveLength(NEWLINES + 5)
    expect(polls).toBeGreaterThan(0)
    expect(slowestHealthMs).toBeLessThan(1000)
  })

  it('a page whose conversion outlives page_timeout gets markdown_timeout at its deadline; the worker is replaced and the next page converts', async () => {
    const before = s.runtime.markdown.stats()
    const { result, slowestHealthMs } = await healthWhile(s, () => s.postJson('/md', { url: pages.url('/blank-nest'), crawler_config: { page_timeout: 5000 } }))
    expect(result.status, JSON.stringify(result.body).slice(0, 300)).toBe(504)
    expect(result.body.code, result.body.error).toBe('markdown_timeout')
    expect(result.body.error).toBe('converting the page to Markdown did not finish within page_timeout (5000 ms); the conversion was stopped')
    expect(slowestHealthMs).toBeLessThan(1000)
    const after = s.runtime.markdown.stats()
    expect(after.timedOut).toBe(before.timedOut + 1)
    // The worker that had the page was terminated and another started in its place.
    expect(after.workerStarts).toBe(before.workerStarts + 1)
    expect(await metric(s, 'crawldeck_markdown_stopped_total{why="timeout"}')).toBe(after.timedOut)
    const next = await s.postJson('/md', { url: pages.url('/plain') })
    expect(next.status).toBe(200)
    expect(next.body.markdown).toBe('# Plain\n\ntext')
    // And the request's own failure is the one the monitor keeps.
    const errors = await s.get('/monitor/logs/errors')
    expect(
      errors.body.errors.some(
        (e: { url: string; error: string }) => e.url === pages.url('/blank-nest') && e.error.startsWith('converting the page to Markdown did not finish'),
      ),
    ).toBe(true)
  })
})

describe('error text a page controls is cut to MAX_ERROR_CHARS', () => {
  let s: TestService

  beforeAll(async () => {
    s = await startService({ max_pages: 2 })
  })

  afterAll(async () => {
    await s?.close()
  })

  it('a page that throws a 20 MB error through extraction: the answer, the error log and the error groups each hold at most the cap', async () => {
    const cut = new RegExp(`^page extraction failed: Error: x+ … \\[\\d+ more characters cut\\]$`)
    const md = await s.postJson('/md', { url: pages.url('/throws') })
    expect(md.status).toBe(502)
    expect(md.body.code).toBe('crawl_failed')
    expect(md.body.error.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    expect(md.body.error).toMatch(cut)
    // Cut once, where it came in: the marker counts what was cut of the whole first line.
    const kept = md.body.error.lastIndexOf(' … [')
    expect(kept + Number(/(\d+) more characters cut/.exec(md.body.error)?.[1])).toBe('page extraction failed: Error: '.length + THROWN_CHARS)

    const crawl = await s.postJson('/crawl', { urls: [pages.url('/throws')] })
    const result = crawl.body.results[0] as CrawlResult
    expect(result.success).toBe(false)
    expect(result.error_message?.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    expect(result.error_message).toMatch(cut)

    const res = await fetch(s.url + '/monitor/logs/errors')
    const text = await res.text()
    const logged = JSON.parse(text) as {
      errors: Array<{ url: string; error: string; stack: string | null }>
      groups: Array<{ signature: string; example: string }>
    }
    const mine = logged.errors.filter((e) => e.url === pages.url('/throws'))
    expect(mine.length).toBeGreaterThanOrEqual(2)
    for (const e of mine) {
      expect(e.error.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
      expect((e.stack ?? '').length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    }
    expect(logged.groups.length).toBeGreaterThan(0)
    for (const g of logged.groups) {
      expect(g.example.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
      expect(g.signature.length).toBeLessThanOrEqual(300)
    }
    // The whole answer, every error in it, is a small fraction of one such message.
    expect(text.length).toBeLessThan(200 * 1024)
  })
})

describe('max_capture_bytes bounds every field of a result', () => {
  /** Samples this process's RSS while `work` runs: the service lives here too. */
  async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growthMb: number }> {
    const base = process.memoryUsage().rss
    let peak = base
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25)
    try {
      const result = await work()
      peak = Math.max(peak, process.memoryUsage().rss)
      return { result, growthMb: (peak - base) / 1024 / 1024 }
    } finally {
      clearInterval(timer)
    }
  }

  describe('at the default cap (32 MiB)', () => {
    let s: TestService

    beforeAll(async () => {
      s = await startService({ max_pages: 2 })
    })

    afterAll(async () => {
      await s?.close()
    })

    it('the link farm under a 100 KB <base href>: /crawl fails the URL with capture_too_large, /md and /html are 422, and memory stays put', async () => {
      const farm = pages.url('/link-farm')
      const { result, growthMb } = await peakRssGrowth(async () => ({
        crawl: await s.postJson('/crawl', { urls: [farm] }),
        md: await s.postJson('/md', { url: farm }),
        html: await s.postJson('/html', { url: farm }),
      }))
      const r = result.crawl.body.results[0] as CrawlResult
      expect(result.crawl.status).toBe(200)
      expect(r.success).toBe(false)
      expect(r.cleaned_html).toBe('')
      expect(r.links).toEqual({ internal: [], external: [] })
      const m =
        /^what the page's extraction sends \(HTML, cleaned HTML, links, images and metadata\) is at least (\d+) characters, above this server's max_capture_bytes of 33554432 bytes$/.exec(
          String(r.error_message),
        )
      expect(m, String(r.error_message)).not.toBeNull()
      expect(Number(m?.[1])).toBeGreaterThan(32 * 1024 * 1024)
      for (const single of [result.md, result.html]) {
        expect(single.status).toBe(422)
        expect(single.body.code).toBe('capture_too_large')
      }
      // Before, the /crawl answer alone held 100 MB each of cleaned_html, links and Markdown.
      expect(growthMb).toBeLessThan(400)
      expect(FARM_LINKS * BASE_HREF_CHARS).toBeGreaterThan(3 * 32 * 1024 * 1024)
    })

    it('a page whose deflated wire does not inflate, and which grows before it is asked again undeflated: that answer is bounded too', async () => {
      const { result, growthMb } = await peakRssGrowth(() => s.postJson('/crawl', { urls: [pages.url('/fake-deflate')] }))
      const r = result.body.results[0] as CrawlResult
      expect(r.success).toBe(false)
      expect(r.error_message).toMatch(/^what the page's extraction sends .* above this server's max_capture_bytes of 33554432 bytes$/)
      expect(growthMb).toBeLessThan(400)
    })
  })

  describe('at 1 MiB', () => {
    const CAP = 1024 * 1024
    let s: TestService

    beforeAll(async () => {
      s = await startService({ max_pages: 2, max_capture_bytes: CAP, allow_js_code: true })
    })

    afterAll(async () => {
      await s?.close()
    })

    it('a Markdown longer than the cap (deep lists indent every line) fails with capture_too_large; its HTML, under the cap, is served', async () => {
      const url = pages.url('/nested-list')
      const md = await s.postJson('/md', { url })
      expect(md.status).toBe(422)
      expect(md.body.code).toBe('capture_too_large')
      const m = /^the page's Markdown is (\d+) characters, above this server's max_capture_bytes of (\d+) bytes$/.exec(md.body.error)
      expect(m, md.body.error).not.toBeNull()
      // Every item on a line of its own, indented by the depth.
      expect(Number(m?.[1])).toBeGreaterThanOrEqual(LIST_ITEMS * (2 * LIST_DEPTH + 3))
      expect(Number(m?.[2])).toBe(CAP)
      const html = await s.postJson('/html', { url })
      expect(html.status).toBe(200)
      expect(html.body.html.length).toBeLessThan(CAP)
      const crawl = await s.postJson('/crawl', { urls: [url] })
      expect((crawl.body.results[0] as CrawlResult).error_message).toMatch(/^the page's Markdown is \d+ characters/)
    })

    it('js_code results larger than the cap fail the URL with capture_too_large', async () => {
      const { body } = await s.postJson('/crawl', { urls: [pages.url('/plain')], crawler_config: { js_code: [`'x'.repeat(${2 * CAP})`] } })
      const r = body.results[0] as CrawlResult
      expect(r.success).toBe(false)
      expect(r.js_results).toEqual([])
      expect(r.error_message).toMatch(new RegExp(`^the js_code results are at least \\d+ characters, above this server's max_capture_bytes of ${CAP} bytes$`))
      const small = await s.postJson('/crawl', { urls: [pages.url('/plain')], crawler_config: { js_code: [`'x'.repeat(1000)`] } })
      expect((small.body.results[0] as CrawlResult).js_results).toEqual(['x'.repeat(1000)])
    })
  })
})

describe('extractFromPage: what the page sends is measured before it is read', () => {
  const CAP = 1000
  /** A CDP session whose Runtime.evaluate answers are `wires`, in turn: what a page that replaced the page function's tools could send. */
  function session(wires: string[]): { session: CDPSession; asked: () => number } {
    let asked = 0
    const fake = {
      send: async () => ({ result: { value: wires[asked++] } }),
      detach: async () => undefined,
    }
    return { session: fake as unknown as CDPSession, asked: () => asked }
  }
  const NO_PAGE = {} as Page
  const opts = { cssSelector: null, excludedTags: [], maxChars: CAP }
  /** A 'K' wire: html, cleaned and nine empty fields. */
  const wire = (html: string, cleaned: string) => `K${[html.length, cleaned.length, 0, 0, 0, 0, 0, 0, 0, 0, 0].join(',')};${html}${cleaned}`
  const undeflatable = 'Z' + Buffer.from([1, 2, 3, 4, 5]).toString('base64')

  it('a deflated wire that does not inflate, then a plain one over the cap: capture_too_large, and the plain one is not decoded', async () => {
    const { session: fake, asked } = session([undeflatable, wire('<p>x</p>', 'y'.repeat(3 * CAP))])
    const err = await extractFromPage(NO_PAGE, opts, fake).catch((e: unknown) => e)
    expect(asked()).toBe(2)
    expect(err).toBeInstanceOf(CaptureTooLargeError)
    expect((err as Error).message).toMatch(
      /^what the page's extraction sends .* is at least \d+ characters, above this server's max_capture_bytes of 1000 bytes$/,
    )
  })

  it('a plain wire whose fields fit in its length but add up past the cap is refused from its header', async () => {
    const { session: fake } = session([wire('a'.repeat(550), 'b'.repeat(500))])
    await expect(extractFromPage(NO_PAGE, opts, fake)).rejects.toThrow(`is at least 1050 characters, above this server's max_capture_bytes of ${CAP} bytes`)
    const { session: within } = session([wire('a'.repeat(400), 'b'.repeat(600))])
    await expect(extractFromPage(NO_PAGE, opts, within)).resolves.toMatchObject({ html: 'a'.repeat(400), cleaned_html: 'b'.repeat(600) })
  })

  it("a selector error's text is cut like any other error", async () => {
    const { session: fake } = session(['E5:zzzzz'])
    await expect(extractFromPage(NO_PAGE, { ...opts, cssSelector: 'p' }, fake)).rejects.toThrow(/^invalid css_selector: "p" \(zzzzz\)$/)
    // More than the page function sends of one: cut, and counted.
    const { session: huge } = session([`E${100 * MAX_ERROR_CHARS}:${'z'.repeat(100 * MAX_ERROR_CHARS)}`])
    const big = (await extractFromPage(NO_PAGE, { ...opts, maxChars: 1000 * MAX_ERROR_CHARS, cssSelector: 'p' }, huge).catch((e: unknown) => e)) as Error
    expect(big.message.length).toBeLessThanOrEqual(MAX_ERROR_CHARS)
    expect(big.message).toMatch(/^invalid css_selector: "p" \(z+ … \[\d+ more characters cut\]\)$/)
  })
})
