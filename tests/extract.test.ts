import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { deflateRawSync } from 'node:zlib'
import { DEFLATE_WIRE_ABOVE, extractFromPage, inflateWire, MAX_LINKS_PER_LIST } from '../src/main/core/crawl/extract.js'
import { htmlToMarkdown } from '../src/main/core/crawl/markdown.js'
import { FIXTURE_TEXT, startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { expectedImage, expectedLink } from './helpers/result-shapes.js'
import { BASE_CHROMIUM_ARGS } from '../src/main/core/chromium/launch-args.js'
import { locateChromium } from '../src/main/core/chromium/locate.js'

const NO_OPTS = { cssSelector: null, excludedTags: [] as string[] }

const link = expectedLink
const image = expectedImage

let browser: Browser
let fx: FixtureServer

beforeAll(async () => {
  ;[browser, fx] = await Promise.all([chromium.launch({ executablePath: locateChromium(), args: [...BASE_CHROMIUM_ARGS] }), startFixtureServer()])
})

afterAll(async () => {
  await browser?.close()
  await fx?.close()
})

describe('extractFromPage', () => {
  let context: BrowserContext
  let page: Page
  let dialogs: string[]

  beforeEach(async () => {
    context = await browser.newContext()
    page = await context.newPage()
    dialogs = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss().catch(() => {})
    })
  })

  /** Every attribute name in an html fragment, parsed by the browser (DOMParser runs nothing). */
  async function attributeNames(html: string): Promise<string[]> {
    const blank = await context.newPage()
    try {
      return await blank.evaluate((source) => {
        const parsed = new DOMParser().parseFromString(source, 'text/html')
        const names: string[] = []
        for (const el of Array.from(parsed.querySelectorAll('*'))) for (const attr of Array.from(el.attributes)) names.push(attr.name)
        return names
      }, html)
    } finally {
      await blank.close()
    }
  }

  afterEach(async () => {
    await context.close()
    // No page of the fixture site, and nothing extraction does, may ever open a dialog.
    expect(dialogs).toEqual([])
  })

  it('reads title, description, keywords, author, language, canonical and social metadata', async () => {
    await page.goto(fx.url('/'))
    const { metadata } = await extractFromPage(page, NO_OPTS)
    expect(metadata).toEqual({
      title: FIXTURE_TEXT.homeTitle,
      description: FIXTURE_TEXT.homeDescription,
      keywords: 'fixture, crawl, test',
      author: 'Fixture Author',
      language: 'en',
      canonical: fx.url('/'),
      social: { 'og:title': 'Fixture OG Title', 'og:type': 'website', 'twitter:card': 'summary' },
      // Crawl4AI's flat keys, beside `social`.
      'og:title': 'Fixture OG Title',
      'og:type': 'website',
      'twitter:card': 'summary',
    })
  })

  it('returns the full document like page.content()', async () => {
    await page.goto(fx.url('/'))
    const extracted = await extractFromPage(page, NO_OPTS)
    expect(extracted.html).toBe(await page.content())
    expect(extracted.html.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(extracted.html).toContain('<script>window.__fixtureHome = true;</script>')
  })

  it('splits links into internal and external, absolute, deduplicated, without mailto/tel/javascript/fragments', async () => {
    await page.goto(fx.url('/'))
    const { links, media } = await extractFromPage(page, NO_OPTS)
    expect(links.internal).toEqual([
      link(fx.url('/article'), 'the article'), // first text wins, whitespace collapsed
      link(fx.url('/js'), 'JS page'),
      link(fx.url('/about#team'), 'our team'),
    ])
    expect(links.external).toEqual([link('https://example.com/outside', 'Example outside'), link('http://external.test/page', 'External test page')])
    const all = [...links.internal, ...links.external].map((l) => l.href)
    for (const href of all) expect(href).toMatch(/^https?:\/\//)
    // alt text and inside <main>: 2.
    expect(media.images).toEqual([image(fx.url('/img/1.png'), 'Fixture image one', { score: 2 })])
  })

  it('cleans the html: no scripts, styles, comments, event handlers or inline styles', async () => {
    await page.goto(fx.url('/'))
    const { cleaned_html } = await extractFromPage(page, NO_OPTS)
    expect(cleaned_html).toContain(FIXTURE_TEXT.homeUnique)
    expect(cleaned_html).not.toMatch(/<script/i)
    expect(cleaned_html).not.toMatch(/<style/i)
    expect(cleaned_html).not.toMatch(/<noscript/i)
    expect(cleaned_html).not.toMatch(/<!--/)
    const attributes = await attributeNames(cleaned_html)
    expect(attributes.filter((name) => name.startsWith('on') || name === 'style')).toEqual([])
    expect(attributes).toContain('href')
    expect(cleaned_html).not.toMatch(/javascript:/i)
    // Relative targets are made absolute, so the markdown links work away from the page.
    expect(cleaned_html).toContain(`href="${fx.url('/article')}"`)
  })

  it('leaves the live page untouched', async () => {
    await page.goto(fx.url('/'))
    const count = () =>
      page.evaluate(() => ({
        scripts: document.querySelectorAll('script').length,
        styles: document.querySelectorAll('style').length,
        handlers: document.querySelectorAll('[onclick]').length,
        inline: document.querySelectorAll('[style]').length,
        html: document.documentElement.outerHTML,
      }))
    const before = await count()
    await extractFromPage(page, { cssSelector: 'main', excludedTags: ['footer'] })
    await extractFromPage(page, NO_OPTS)
    expect(await count()).toEqual(before)
    expect(before.scripts).toBe(1)
    expect(before.handlers).toBe(1)
  })

  it('turns the cleaned html into markdown with heading, text and links', async () => {
    await page.goto(fx.url('/'))
    const { cleaned_html } = await extractFromPage(page, NO_OPTS)
    const md = htmlToMarkdown(cleaned_html)
    expect(md).toContain(FIXTURE_TEXT.homeUnique)
    expect(md).toContain(`# ${FIXTURE_TEXT.homeHeading}`)
    expect(md).toContain(`[the article](${fx.url('/article')})`)
    expect(md).toContain('[Example outside](https://example.com/outside)')
    expect(md).not.toMatch(/window\.__fixtureHome/)
    expect(md).toBe(md.trim())
  })

  it('restricts cleaned_html, links and images to the css_selector matches', async () => {
    await page.goto(fx.url('/'))
    const main = await extractFromPage(page, { cssSelector: '#main', excludedTags: [] })
    expect(main.cleaned_html).toContain(FIXTURE_TEXT.homeHeading)
    expect(main.cleaned_html).not.toContain('Fixture footer')
    expect(main.cleaned_html).not.toContain('Example outside')
    expect(main.links.internal.map((l) => l.href)).toEqual([fx.url('/article'), fx.url('/js'), fx.url('/about#team')])
    expect(main.links.external).toEqual([])
    expect(main.media.images).toHaveLength(1)
    // Metadata still describes the whole page.
    expect(main.metadata.title).toBe(FIXTURE_TEXT.homeTitle)

    const aside = await extractFromPage(page, { cssSelector: 'aside', excludedTags: [] })
    expect(aside.links.internal).toEqual([])
    expect(aside.links.external.map((l) => l.href)).toEqual(['https://example.com/outside', 'http://external.test/page'])
    expect(aside.media.images).toEqual([])

    // Every match, concatenated, in document order; nested matches are not repeated.
    const several = await extractFromPage(page, { cssSelector: 'h1, footer, footer p', excludedTags: [] })
    expect(several.cleaned_html).toContain(FIXTURE_TEXT.homeHeading)
    expect(several.cleaned_html.split('Fixture footer')).toHaveLength(2)
    expect(several.cleaned_html).not.toContain(FIXTURE_TEXT.homeUnique)

    const none = await extractFromPage(page, { cssSelector: '.does-not-exist', excludedTags: [] })
    expect(none.cleaned_html).toBe('')
    expect(none.links).toEqual({ internal: [], external: [] })
    expect(none.media.images).toEqual([])
  })

  it('removes excluded_tags and their links', async () => {
    await page.goto(fx.url('/'))
    const { cleaned_html, links } = await extractFromPage(page, { cssSelector: null, excludedTags: ['aside', 'FOOTER', 'img'] })
    expect(cleaned_html).not.toContain('Fixture footer')
    expect(cleaned_html).not.toContain('Example outside')
    expect(cleaned_html).not.toMatch(/<img/i)
    expect(cleaned_html).toContain(FIXTURE_TEXT.homeUnique)
    expect(links.external).toEqual([])
  })

  it('rejects an invalid css_selector with a clear message', async () => {
    await page.goto(fx.url('/'))
    await expect(extractFromPage(page, { cssSelector: 'div[', excludedTags: [] })).rejects.toThrow(/invalid css_selector: "div\["/)
    await expect(extractFromPage(page, { cssSelector: '!!', excludedTags: [] })).rejects.toThrow(/invalid css_selector/)
  })

  it('sees content rendered by JavaScript once it is there', async () => {
    await page.goto(fx.url('/js'))
    await page.waitForSelector('#late')
    const { cleaned_html, html } = await extractFromPage(page, NO_OPTS)
    expect(cleaned_html).toContain(FIXTURE_TEXT.jsRendered)
    expect(cleaned_html).toContain(FIXTURE_TEXT.jsLate)
    expect(cleaned_html).not.toMatch(/<script/i)
    expect(html).toContain(FIXTURE_TEXT.jsRendered)
    expect(htmlToMarkdown(cleaned_html)).toContain(FIXTURE_TEXT.jsRendered)
  })

  it('caps links at 5000 per list', async () => {
    await page.goto(fx.url('/many-links'))
    const { links } = await extractFromPage(page, NO_OPTS)
    expect(links.internal).toHaveLength(MAX_LINKS_PER_LIST)
    expect(MAX_LINKS_PER_LIST).toBe(5000)
    expect(links.internal[0]).toEqual(link(fx.url('/item/0'), 'Item 0'))
    expect(links.internal[4999]).toEqual(link(fx.url('/item/4999'), 'Item 4999'))
    expect(links.external).toEqual([])
  })

  it('survives a hostile page: markup stays text, sabotaged globals do not matter, nothing runs', async () => {
    await page.goto(fx.url('/hostile'))
    const { metadata, cleaned_html, links, media, html } = await extractFromPage(page, NO_OPTS)
    expect(metadata.title).toBe(FIXTURE_TEXT.hostileTitle)
    expect(metadata.social['og:title']).toBe(FIXTURE_TEXT.hostileTitle)
    expect(cleaned_html).not.toMatch(/<script/i)
    expect(cleaned_html).not.toMatch(/<template/i)
    expect(cleaned_html).not.toMatch(/<iframe/i)
    expect(cleaned_html).not.toMatch(/javascript:/i)
    const attributes = await attributeNames(cleaned_html)
    expect(attributes.filter((name) => name.startsWith('on') || name === 'style' || name === 'srcdoc')).toEqual([])
    expect(attributes).toContain('alt') // the alt text holding "onerror=" is text, not an attribute
    expect(cleaned_html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;')
    expect(links.internal).toHaveLength(1)
    const search = links.internal[0]!
    expect(search.href.startsWith(fx.url('/search?q='))).toBe(true)
    expect(search.href).not.toMatch(/["<>]/)
    expect(search.text).toBe(`Search ${FIXTURE_TEXT.hostileHrefPayload}`)
    expect(links.external).toEqual([])
    expect(media.images).toEqual([image(fx.url('/img/1.png'), FIXTURE_TEXT.hostileTitle, { score: 1 })])
    expect(html).toContain('JSON hijacked')
    const md = htmlToMarkdown(cleaned_html)
    expect(md).toContain('Hostile page')
    // Give anything that might have been triggered a moment to show up as a dialog.
    await page.waitForTimeout(200)
    expect(dialogs).toEqual([])
  })

  it('works under a strict Content-Security-Policy', async () => {
    await page.goto(fx.url('/csp'))
    const { metadata, links, cleaned_html } = await extractFromPage(page, NO_OPTS)
    expect(metadata.title).toBe('CSP Page')
    expect(cleaned_html).toContain('Locked down')
    expect(links.internal).toEqual([link(fx.url('/'), 'home')])
  })

  it('extracts the long article: table, list, code and images', async () => {
    await page.goto(fx.url('/article'))
    const extracted = await extractFromPage(page, NO_OPTS)
    expect(extracted.html.length).toBeGreaterThan(100_000)
    expect(extracted.metadata.title).toBe(FIXTURE_TEXT.articleTitle)
    expect(extracted.metadata.language).toBe('en-GB')
    const md = htmlToMarkdown(extracted.cleaned_html)
    expect(md).toContain(`# ${FIXTURE_TEXT.articleTitle}`)
    expect(md).toMatch(/^## Section 1$/m)
    expect(md).toContain(`- ${FIXTURE_TEXT.articleListItem}`)
    expect(md).toMatch(new RegExp(`\\|\\s*${FIXTURE_TEXT.articleTableCell}\\s*\\|\\s*42\\s*\\|`))
    expect(md).toContain('```')
    expect(md).toContain(FIXTURE_TEXT.articleCode)
    expect(md).toContain(`![Figure 1](${fx.url('/img/1.png')})`)
    // alt text, a caption and inside <article>: 3 each.
    expect(extracted.media.images).toEqual(
      [1, 2, 3, 4, 5].map((n, i) => image(fx.url(`/img/${n}.png`), `Figure ${n}`, { desc: `Figure ${n}`, score: 3, group_id: i })),
    )
    // In-page anchors to sections of the same page are links (not bare fragments), home is one too.
    expect(extracted.links.internal.some((l) => l.href === fx.url('/'))).toBe(true)
    expect(extracted.links.internal.some((l) => l.href === fx.url('/article#section-1'))).toBe(true)
  })

  it('treats a www. prefix difference as the same host', async () => {
    await page.route('http://www.site.test/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!DOCTYPE html><title>www</title>
          <a href="http://site.test/a">bare host</a>
          <a href="https://www.site.test/b">www host</a>
          <a href="http://user:pw@SITE.test:8080/c">with port and userinfo</a>
          <a href="http://shop.site.test/d">subdomain</a>
          <a href="//other.test/e">protocol relative</a>
          <a href="ftp://site.test/f">ftp</a>`,
      }),
    )
    await page.goto('http://www.site.test/')
    const { links } = await extractFromPage(page, NO_OPTS)
    expect(links.internal.map((l) => l.text)).toEqual(['bare host', 'www host', 'with port and userinfo'])
    expect(links.external).toEqual([link('http://shop.site.test/d', 'subdomain'), link('http://other.test/e', 'protocol relative')])
  })

  it('falls back to alt text or title for links without text, and caps link text', async () => {
    const long = 'word '.repeat(300)
    await page.route('http://texts.test/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!DOCTYPE html><title>t</title>
          <a href="/img-link"><img src="/i.png" alt="Logo"></a>
          <a href="/titled" title="Titled link"></a>
          <a href="/long">${long}</a>
          <a href="/script-inside">Visible<script>var hidden = 1</script></a>`,
      }),
    )
    await page.goto('http://texts.test/')
    const { links } = await extractFromPage(page, NO_OPTS)
    expect(links.internal.map((l) => l.text.length <= 500)).toEqual([true, true, true, true])
    expect(links.internal[0]).toEqual(link('http://texts.test/img-link', 'Logo'))
    expect(links.internal[1]).toEqual(link('http://texts.test/titled', 'Titled link', 'Titled link'))
    expect(links.internal[2]!.text.startsWith('word word')).toBe(true)
    expect(links.internal[3]).toEqual(link('http://texts.test/script-inside', 'Visible'))
  })

  // Not covered: replacing window.Map breaks playwright's own in-page evaluate machinery,
  // so no page.evaluate-based extraction can survive that one.
  it('survives pages that sabotage builtins used by naive extractors', async () => {
    await page.route('http://sabotage.test/**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!DOCTYPE html><html lang="fr"><head><title>Sabotage</title><meta name="description" content="d"></head>
          <body><p>Still here</p><a href="/x">x</a><img src="/y.png" alt="y">
          <script>
            Array.prototype.push = function () { throw new Error('push hijacked') };
            Array.prototype.join = function () { throw new Error('join hijacked') };
            Array.from = function () { throw new Error('from hijacked') };
            window.Set = function () { throw new Error('Set hijacked') };
            window.URL = function () { throw new Error('URL hijacked') };
            window.JSON = undefined;
            document.querySelectorAll = function () { throw new Error('qsa hijacked') };
            document.cloneNode = function () { throw new Error('cloneNode hijacked') };
          </script></body></html>`,
      }),
    )
    await page.goto('http://sabotage.test/')
    const extracted = await extractFromPage(page, NO_OPTS)
    expect(extracted.metadata.title).toBe('Sabotage')
    expect(extracted.metadata.language).toBe('fr')
    expect(extracted.cleaned_html).toContain('Still here')
    expect(extracted.links.internal).toEqual([link('http://sabotage.test/x', 'x')])
    expect(extracted.media.images).toEqual([image('http://sabotage.test/y.png', 'y', { score: 1 })])
  })
})

describe('extractFromPage: the channel into the page', () => {
  let context: BrowserContext
  let page: Page
  let evaluates: number

  beforeEach(async () => {
    context = await browser.newContext()
    page = await context.newPage()
    // Counts Playwright's evaluate, which injects its utility script into the document first.
    evaluates = 0
    const evaluate = page.evaluate.bind(page)
    page.evaluate = ((...args: Parameters<Page['evaluate']>) => {
      evaluates++
      return evaluate(...args)
    }) as Page['evaluate']
  })

  afterEach(async () => {
    await context.close()
  })

  it('goes through CDP, on a session of its own or on the one it is given (which stays attached)', async () => {
    await page.goto(fx.url('/'))
    const own = await extractFromPage(page, NO_OPTS)
    const session = await context.newCDPSession(page)
    const given = await extractFromPage(page, NO_OPTS, session)
    expect(evaluates).toBe(0)
    expect(given).toEqual(own)
    expect(own.cleaned_html).toContain(FIXTURE_TEXT.homeUnique)
    expect(own.metadata.title).toBe(FIXTURE_TEXT.homeTitle)
    // Still the caller's: a second extraction on it works.
    expect((await extractFromPage(page, NO_OPTS, session)).html).toBe(own.html)
  })

  it('falls back to page.evaluate when the page has no script context to evaluate in (a navigation in between)', async () => {
    await page.goto(fx.url('/'))
    const expected = await extractFromPage(page, NO_OPTS)
    const between = {
      send: () => Promise.reject(new Error('Protocol error (Runtime.evaluate): Cannot find default execution context')),
      detach: () => Promise.resolve(),
    } as unknown as CDPSession
    expect(await extractFromPage(page, NO_OPTS, between)).toEqual(expected)
    expect(evaluates).toBe(1)
  })

  it('a page that takes away what the page function needs fails with what went wrong, not a hang or a bare protocol error', async () => {
    await page.goto(fx.url('/'))
    await page.evaluate(() => {
      // @ts-expect-error a hostile page removing a DOM method
      delete Node.prototype.cloneNode
    })
    await expect(extractFromPage(page, NO_OPTS)).rejects.toThrow(/^page extraction failed: TypeError: /)
  })

  it('works where the page may run no script (java_script_enabled false)', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false })
    try {
      const p = await noScript.newPage()
      await p.goto(fx.url('/js'))
      const { html, cleaned_html } = await extractFromPage(p, NO_OPTS)
      expect(html).toContain('id="app"')
      expect(cleaned_html).not.toContain(FIXTURE_TEXT.jsRendered)
      expect(html).not.toContain('id="rendered"')
    } finally {
      await noScript.close()
    }
  })
})

describe('extractFromPage: a large wire crosses deflated', () => {
  let context: BrowserContext
  let page: Page

  beforeEach(async () => {
    context = await browser.newContext()
    page = await context.newPage()
  })

  afterEach(async () => {
    await context.close()
  })

  /** The CDP session the extraction uses, recording the first character of every wire it returns. */
  async function recordingSession(kinds: string[], on: Page = page): Promise<CDPSession> {
    const session = await on.context().newCDPSession(on)
    return {
      send: async (method: string, params?: object) => {
        const reply = (await session.send(method as 'Runtime.evaluate', params as never)) as { result?: { value?: unknown } }
        const value = reply.result?.value
        if (typeof value === 'string') kinds.push(value[0] ?? '')
        return reply
      },
      detach: () => session.detach(),
    } as unknown as CDPSession
  }

  /** A page of ~300 K characters: text outside Latin-1 (quotes, CJK, an emoji's surrogate pair), links and images. */
  async function openLargePage(): Promise<void> {
    await page.route('http://large.test/**', (route) => {
      const rows: string[] = []
      for (let i = 0, length = 0; length < 300_000; i++, length += rows.at(-1)!.length) {
        rows.push(
          `<p>Row ${i}: “quoted” 日本語 ещё 😀 <a href="/p/${i}">link ${i}</a> <a href="https://elsewhere.test/${i}">out</a> <img src="/i/${i % 50}.png" alt="pic ${i}"></p>\n`,
        )
      }
      return route.fulfill({
        contentType: 'text/html; charset=utf-8',
        body: `<!DOCTYPE html><html lang="ja"><head><title>Large “page”</title></head><body>${rows.join('')}</body></html>`,
      })
    })
    await page.goto('http://large.test/')
  }

  it('gives exactly what the undeflated wire gives, and uses it only from DEFLATE_WIRE_ABOVE characters', async () => {
    await openLargePage()
    const kinds: string[] = []
    const session = await recordingSession(kinds)
    const deflated = await extractFromPage(page, NO_OPTS, session)
    const plain = await extractFromPage(page, { ...NO_OPTS, deflateAbove: 0 }, session)
    expect(kinds).toEqual(['Z', 'K'])
    expect(deflated).toEqual(plain)
    expect(deflated.html.length + deflated.cleaned_html.length).toBeGreaterThan(DEFLATE_WIRE_ABOVE)
    expect(deflated.cleaned_html).toContain('“quoted” 日本語 ещё 😀')
    expect(deflated.metadata.title).toBe('Large “page”')
    expect(deflated.links.internal.length).toBeGreaterThan(1000)
    expect(deflated.media.images).toHaveLength(50)
    // A small page stays plain.
    await page.goto(fx.url('/'))
    await extractFromPage(page, NO_OPTS, session)
    expect(kinds).toEqual(['Z', 'K', 'K'])
  })

  it('a page that replaced what deflating uses gets its real result: asked again, undeflated', async () => {
    await openLargePage()
    const expected = await extractFromPage(page, { ...NO_OPTS, deflateAbove: 0 })
    // Encodes every wire to something that is not one; then removes CompressionStream altogether.
    await page.evaluate(() => {
      TextEncoder.prototype.encode = () => new Uint8Array([75, 49, 59, 120])
    })
    const kinds: string[] = []
    expect(await extractFromPage(page, NO_OPTS, await recordingSession(kinds))).toEqual(expected)
    expect(kinds).toEqual(['Z', 'K'])
    await page.evaluate(() => {
      // @ts-expect-error a hostile page removing a builtin
      delete globalThis.CompressionStream
    })
    kinds.length = 0
    expect(await extractFromPage(page, NO_OPTS, await recordingSession(kinds))).toEqual(expected)
    expect(kinds).toEqual(['K'])
  })

  it('works where the page may run no script (java_script_enabled false)', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false })
    try {
      const p = await noScript.newPage()
      await p.goto(fx.url('/article'))
      const kinds: string[] = []
      const session = await recordingSession(kinds, p)
      expect(await extractFromPage(p, { ...NO_OPTS, deflateAbove: 1 }, session)).toEqual(await extractFromPage(p, { ...NO_OPTS, deflateAbove: 0 }, session))
      expect(kinds).toEqual(['Z', 'K'])
    } finally {
      await noScript.close()
    }
  })

  it('never inflates past what an honest wire of the page could be (a deflate bomb is refused)', async () => {
    const honest = 'K' + 'x'.repeat(1000)
    const wire = (bytes: Buffer) => 'Z' + deflateRawSync(bytes).toString('base64')
    expect(await inflateWire(wire(Buffer.from(honest)), 1000)).toBe(honest)
    // 100 MB of zeros deflate to ~100 KB; with a 1000-character cap nothing near that may come out.
    expect(await inflateWire(wire(Buffer.alloc(100 * 1024 * 1024)), 1000)).toBeNull()
    expect(await inflateWire('Z' + Buffer.from('not deflate').toString('base64'), 1000)).toBeNull()
  })
})

describe('extractFromPage: cleanedOnly (what /md and /html answer with)', () => {
  let context: BrowserContext

  beforeEach(async () => {
    context = await browser.newContext()
  })

  afterEach(async () => {
    await context.close()
  })

  it.each(['/', '/article', '/hostile', '/many-links'])('%s: the same cleaned_html as the full extraction, and nothing else', async (path) => {
    const page = await context.newPage()
    await page.goto(fx.url(path))
    const full = await extractFromPage(page, NO_OPTS)
    const only = await extractFromPage(page, { ...NO_OPTS, cleanedOnly: true })
    expect(only.cleaned_html).toBe(full.cleaned_html)
    expect(only.cleaned_html.length).toBeGreaterThan(0)
    expect(only.html).toBe('')
    expect(only.links).toEqual({ internal: [], external: [] })
    expect(only.media.images).toEqual([])
    expect(only.metadata).toEqual({ title: null, description: null, keywords: null, author: null, language: null, canonical: null, social: {} })
  })

  it('the HTML cap then applies to cleaned_html', async () => {
    const page = await context.newPage()
    await page.goto(fx.url('/article'))
    const { cleaned_html } = await extractFromPage(page, { ...NO_OPTS, cleanedOnly: true })
    await expect(extractFromPage(page, { ...NO_OPTS, cleanedOnly: true, maxChars: cleaned_html.length })).resolves.toMatchObject({ cleaned_html })
    await expect(extractFromPage(page, { ...NO_OPTS, cleanedOnly: true, maxChars: cleaned_html.length - 1 })).rejects.toThrow(
      `the page's HTML is ${cleaned_html.length} characters, above this server's max_capture_bytes of ${cleaned_html.length - 1} bytes`,
    )
  })
})

describe('htmlToMarkdown', () => {
  it('uses - bullets, fenced code and inline link targets, trimmed', () => {
    const md = htmlToMarkdown('\n<ul><li>a</li><li><a href="https://x.test/p">b</a></li></ul><pre><code>let x = 1</code></pre>\n')
    expect(md).toBe('- a\n- [b](https://x.test/p)\n\n```\nlet x = 1\n```')
    expect(htmlToMarkdown('')).toBe('')
  })
})

describe('fixture server', () => {
  it('holds /gate/<name> until released, whether gate() is called before or after the request', async () => {
    const early = fx.gate('early')
    let answered = false
    const earlyResponse = fetch(fx.url('/gate/early')).then(async (r) => {
      answered = true
      return { status: r.status, body: await r.text() }
    })
    await early.reached
    await new Promise((r) => setTimeout(r, 100))
    expect(answered).toBe(false)
    early.release()
    const res = await earlyResponse
    expect(res.status).toBe(200)
    expect(res.body).toContain('Gate early released')

    const lateResponse = fetch(fx.url('/gate/late'))
    while (fx.hits('/gate/late') === 0) await new Promise((r) => setTimeout(r, 10))
    const late = fx.gate('late')
    await late.reached
    late.release()
    expect((await lateResponse).status).toBe(200)

    // Released before the request arrives: answered at once.
    const pre = fx.gate('pre')
    pre.release()
    expect((await fetch(fx.url('/gate/pre'))).status).toBe(200)
    await pre.reached
  })

  it('counts hits per path, ignoring the query string, and answers every route with no-store', async () => {
    const before = fx.hits('/status/418')
    const a = await fetch(fx.url('/status/418?x=1'))
    const b = await fetch(fx.url('/status/418?x=2'))
    expect([a.status, b.status]).toEqual([418, 418])
    expect(a.headers.get('content-type')).toMatch(/^text\/html/)
    expect(a.headers.get('cache-control')).toBe('no-store')
    await Promise.all([a.text(), b.text()])
    expect(fx.hits('/status/418')).toBe(before + 2)
    expect(fx.hits('/status/418?ignored=1')).toBe(before + 2)

    const redirect = await fetch(fx.url('/redirect'), { redirect: 'manual' })
    expect(redirect.status).toBe(302)
    expect(redirect.headers.get('location')).toBe('/')
    await redirect.text()

    const png = await fetch(fx.url('/img/3.png'))
    expect(png.headers.get('content-type')).toBe('image/png')
    const bytes = new Uint8Array(await png.arrayBuffer())
    expect([...bytes.slice(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10])

    const started = Date.now()
    const slow = await fetch(fx.url('/slow?ms=200'))
    expect(await slow.text()).toContain('Slow page')
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)

    const missing = await fetch(fx.url('/nope'))
    expect(missing.status).toBe(404)
    expect(missing.headers.get('cache-control')).toBe('no-store')
    await missing.text()
  })

  it('close() does not wait for /hang, held gates or slow answers', async () => {
    const own = await startFixtureServer()
    const hang = fetch(own.url('/hang')).then(
      () => 'answered',
      () => 'failed',
    )
    const gated = fetch(own.url('/gate/never')).then(
      () => 'answered',
      () => 'failed',
    )
    const slow = fetch(own.url('/slow?ms=60000')).then(
      () => 'answered',
      () => 'failed',
    )
    await own.gate('never').reached
    while (own.hits('/hang') === 0 || own.hits('/slow') === 0) await new Promise((r) => setTimeout(r, 10))
    const started = Date.now()
    await own.close()
    expect(Date.now() - started).toBeLessThan(2000)
    expect(await hang).toBe('failed')
    expect(['failed', 'answered']).toContain(await gated)
    expect(await slow).toBe('failed')
    await own.close() // idempotent
  })
})

describe('htmlToMarkdown', () => {
  it('tables, ordered lists (with start), nested lists, fenced code, strikethrough', () => {
    const md = htmlToMarkdown(
      '<h2>T</h2><table><thead><tr><th>Engine</th><th>Value</th></tr></thead><tbody><tr><td>Chromium</td><td>42</td></tr></tbody></table>' +
        '<ol start="3"><li>three</li><li>four<ul><li>inner</li></ul></li></ol>' +
        '<pre><code class="language-js">const x = 1\n</code></pre><p><del>old</del> new</p>',
    )
    expect(md).toContain('## T')
    expect(md).toContain('| Engine | Value |\n| --- | --- |\n| Chromium | 42 |')
    expect(md).toMatch(/^3\. three$/m)
    expect(md).toMatch(/^4\. four\n {3}- inner$/m)
    expect(md).toContain('```js\nconst x = 1\n```')
    expect(md).toContain('~old~ new')
  })

  it('a page of 6000 links converts whole and in order (the old converter was quadratic on it)', () => {
    const items = Array.from({ length: 6000 }, (_, i) => `<li><a href="/item/${i}">Item ${i}</a></li>`).join('\n')
    const md = htmlToMarkdown(`<h1>Many links</h1><ul>${items}</ul>`)
    const lines = md.split('\n').filter((l) => l.startsWith('- '))
    expect(lines).toHaveLength(6000)
    expect(lines[0]).toBe('- [Item 0](/item/0)')
    expect(lines[5999]).toBe('- [Item 5999](/item/5999)')
  })
})
