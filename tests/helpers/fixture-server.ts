import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { crc32, deflateSync } from 'node:zlib'
import { bigProductListPage, contactPage, hostileProductListPage, productListPage } from './product-pages.js'

/**
 * A small local website for integration tests, served on 127.0.0.1 at a random free port.
 *
 * Routes:
 *   /                 index page (metadata, internal/external/mailto/javascript links, an image)
 *   /article          a ~100 KB article: headings, paragraphs, list, table, code block, images
 *   /js               content inserted by an inline script after DOMContentLoaded, #late after 300 ms
 *   /about            a plain page (target of /about#team)
 *   /slow?ms=N        answers after N ms (capped at 120 s)
 *   /hang             accepts the request and never answers (close() destroys the socket)
 *   /big?copies=N     the article's body N times over (1..200; ~100 KB each): a page large enough
 *                     that its Markdown is converted off the event loop
 *   /spin             loads at once, then its script spins forever (the renderer's main thread
 *                     never yields again after DOMContentLoaded)
 *   /status/:code     answers that status (200-599) with a small HTML body
 *   /redirect         302 -> /
 *   /hostile          title/href/text holding markup, plus scripts that sabotage page globals
 *   /csp              a page served with a `default-src 'none'` Content-Security-Policy
 *   /gate/:name       held until gate(name).release() is called
 *   /many-links       6000 internal links
 *   /img/:n.png       a real 480x300 RGB PNG picture (10-25 KB, different for each n), so the
 *                     article's figures cost what images on a real page cost: fetch, decode, paint
 *   /gamut            a <picture> showing /img/2.png on a wide-gamut (color-gamut: p3) screen and
 *                     /img/1.png otherwise: which one was fetched tells how the page was drawn
 *   /download?mb=N    a file of N MB (1..1024, default 100) sent as an attachment (Content-
 *                     Disposition), generated as it streams; see downloads()
 *   /download-page?gate=NAME  a page that follows a link to /download once it has loaded, then
 *                     fetches /gate/NAME and adds #released when that answers: a crawl with
 *                     wait_for '#released' keeps the page open for as long as the test holds the gate
 *   /products         a product list (every extraction field type); /products/contact a paragraph of
 *                     contact text; /products/big?n=250 a generated list of n items (250: about 100 KB);
 *                     /products/hostile the list after a script that booby-traps prototypes and globals
 *   /sess/login       sets the cookie crawldeck_sess=yes; /sess/page a plain page; /sess/counter
 *                     sets window.__count = 0 (named sessions: their cookies and window state)
 *   /cache/:name?kb=N a page per name (N more KB of text), for the result cache's tests (hits(path) counts fetches);
 *                     &ms=N answers it after N ms (capped at 60 s), a slower page still counted per name
 *   /c4a/...          pages for Crawl4AI's crawl parameters (c4aRoute below): headers, cookies,
 *                     images, stylesheets, lazy loading, overlays, iframes, link and media filters
 * Anything else is a 404 HTML page. Every response has Content-Type and Cache-Control: no-store.
 */
export interface FixtureServer {
  /** http://127.0.0.1:PORT */
  origin: string
  url(path: string): string
  /** Requests seen for this path (query string ignored). */
  hits(path: string): number
  /** The headers of the last request for this path (query string ignored), if any came. */
  lastHeaders(path: string): IncomingHttpHeaders | undefined
  gate(name: string): Gate
  /** Every /download response so far, in order of arrival. */
  downloads(): readonly Download[]
  /** Resolves with the next /download response to arrive. */
  nextDownload(): Promise<Download>
  close(): Promise<void>
}

/** One /download response, as the server saw it go out. */
export interface Download {
  /** Bytes of the body the response was asked to send. */
  readonly total: number
  /** Bytes of the body handed to the socket so far. */
  readonly sent: number
  /** True once the whole body was handed to the socket. */
  readonly finished: boolean
  /** Resolves when the connection is done with this response: sent in full, or cut by the client. */
  readonly closed: Promise<void>
}

export interface Gate {
  /** Resolves when a request for /gate/<name> arrives. */
  reached: Promise<void>
  /** Answers the held request(s); later requests for this gate are answered at once. */
  release(): void
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

/**
 * A w x h RGB PNG: colour gradients with an 8x8-block pattern seeded by `n`, so every figure is a
 * different, valid picture the browser must fetch and decode. Rows use PNG's Sub filter, which
 * keeps smooth gradients small after deflate (10-25 KB at 480x300, like a web-optimised photo).
 */
export function fixturePicture(n: number, w = 480, h = 300): Buffer {
  const stride = w * 3 + 1
  const raw = Buffer.alloc(stride * h)
  for (let y = 0; y < h; y++) {
    const row = y * stride
    for (let x = 0; x < w; x++) {
      const block = Math.imul(((x >> 3) * 73856093) ^ ((y >> 3) * 19349663), n + 1) >>> 27
      const o = row + 1 + x * 3
      raw[o] = ((x * 255) / w + n * 40 + block) & 255
      raw[o + 1] = ((y * 255) / h + block) & 255
      raw[o + 2] = (((x + y) * 128) / (w + h) + n * 90 + block) & 255
    }
    // Filter 1 (Sub): each byte minus the same channel one pixel to the left, right to left.
    raw[row] = 1
    for (let i = w * 3; i > 3; i--) raw[row + i] = ((raw[row + i] as number) - (raw[row + i - 3] as number)) & 255
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // colour type: RGB
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

export const FIXTURE_TEXT = {
  homeTitle: 'Fixture Home',
  homeDescription: 'A fixture page for crawldeck tests',
  homeHeading: 'Welcome to the fixture',
  homeUnique: 'The quick brown fox crawls the fixture site.',
  jsRendered: 'Rendered by JavaScript',
  jsLate: 'Late content',
  hostileTitle: '<img src=x onerror=alert(1)>',
  hostileHrefPayload: '"><script>alert(1)</script>',
  hostileText: '<script>alert(2)</script>',
  articleTitle: 'The Fixture Article',
  articleCode: 'function crawl(url) { return fetchPage(url) }',
  articleTableCell: 'Chromium-cell-42',
  articleListItem: 'Second list item about headless browsers',
} as const

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')
}

function indexPage(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${FIXTURE_TEXT.homeTitle}</title>
<meta name="description" content="${FIXTURE_TEXT.homeDescription}">
<meta name="keywords" content="fixture, crawl, test">
<meta name="author" content="Fixture Author">
<meta property="og:title" content="Fixture OG Title">
<meta property="og:type" content="website">
<meta name="twitter:card" content="summary">
<link rel="canonical" href="/">
<link rel="stylesheet" href="data:text/css,body{}">
<style>body { font-family: sans-serif; }</style>
<script>window.__fixtureHome = true;</script>
</head>
<body>
<!-- a comment that must not reach cleaned_html -->
<header><nav><a href="#top">Top</a></nav></header>
<main id="main">
<h1 style="color: red">${FIXTURE_TEXT.homeHeading}</h1>
<p class="intro" onclick="console.log('clicked')">${FIXTURE_TEXT.homeUnique}</p>
<p>Read <a href="/article">the   article</a> or the <a href="/js">JS page</a>.</p>
<p>Also <a href="/article">the article again</a> and <a href="/about#team">our team</a>.</p>
<img src="/img/1.png" alt="Fixture image one">
</main>
<aside id="outside">
<p>Elsewhere: <a href="https://example.com/outside">Example outside</a>,
<a href="http://external.test/page">External test page</a>,
<a href="mailto:someone@example.com">Mail us</a>,
<a href="javascript:void(0)">Do nothing</a>,
<a href="tel:+123456">Call us</a>.</p>
</aside>
<noscript><p>Enable JavaScript</p></noscript>
<footer><p>Fixture footer</p></footer>
</body>
</html>`
}

function articlePage(): string {
  const parts: string[] = []
  parts.push(`<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>${FIXTURE_TEXT.articleTitle}</title>
<meta name="description" content="A long article used to test extraction">
<style>.x { color: blue }</style>
<script>document.addEventListener('click', function () {});</script>
</head>
<body>
<article id="article">
<h1>${FIXTURE_TEXT.articleTitle}</h1>
<p>This article exists to give the extractor something substantial to chew on.</p>
<ul>
<li>First list item about crawling</li>
<li>${FIXTURE_TEXT.articleListItem}</li>
<li>Third list item about markdown</li>
</ul>
<table>
<thead><tr><th>Engine</th><th>Value</th></tr></thead>
<tbody>
<tr><td>${FIXTURE_TEXT.articleTableCell}</td><td>42</td></tr>
<tr><td>Other-cell</td><td>7</td></tr>
</tbody>
</table>
<pre><code class="language-js">${escapeHtml(FIXTURE_TEXT.articleCode)}</code></pre>
`)
  const words = 'crawler browser chromium page extraction markdown fixture network request response selector element paragraph heading content'.split(' ')
  let section = 0
  let size = parts.join('').length
  while (size < 100_000) {
    section++
    let chunk = `<h2 id="section-${section}">Section ${section}</h2>\n`
    for (let p = 0; p < 4; p++) {
      let text = ''
      for (let w = 0; w < 60; w++) text += words[(section * 7 + p * 13 + w * 3) % words.length] + ' '
      chunk += `<p>Paragraph ${section}.${p}: ${text.trim()}. <a href="/article#section-${section}">Anchor ${section}</a></p>\n`
    }
    if (section <= 5) chunk += `<figure><img src="/img/${section}.png" alt="Figure ${section}"><figcaption>Figure ${section}</figcaption></figure>\n`
    parts.push(chunk)
    size += chunk.length
  }
  parts.push(`<p>Back <a href="/">home</a>.</p>
</article>
</body>
</html>`)
  return parts.join('')
}

function jsPage(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>JS Page</title></head>
<body>
<div id="app"></div>
<script>
document.addEventListener('DOMContentLoaded', function () {
  var p = document.createElement('p');
  p.id = 'rendered';
  p.textContent = ${JSON.stringify(FIXTURE_TEXT.jsRendered)};
  document.getElementById('app').appendChild(p);
  setTimeout(function () {
    var late = document.createElement('div');
    late.id = 'late';
    late.textContent = ${JSON.stringify(FIXTURE_TEXT.jsLate)};
    document.body.appendChild(late);
  }, 300);
});
</script>
</body>
</html>`
}

function hostilePage(): string {
  // The <title> is RCDATA: markup inside it is literal text, which is the point.
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${FIXTURE_TEXT.hostileTitle}</title>
<meta property="og:title" content="${escapeHtml(FIXTURE_TEXT.hostileTitle)}">
<script>
  // Sabotage the globals a naive extractor would lean on.
  window.JSON = { stringify: function () { throw new Error('JSON hijacked') }, parse: function () { throw new Error('JSON hijacked') } };
  document.querySelectorAll = function () { throw new Error('querySelectorAll hijacked') };
  document.querySelector = function () { throw new Error('querySelector hijacked') };
  Object.defineProperty(document, 'title', { get: function () { return 'hijacked title' } });
  Array.prototype.hostileExtra = function () {};
  Object.prototype.hostileProto = 'polluted';
</script>
</head>
<body>
<h1>Hostile page</h1>
<p id="escaped">${escapeHtml(FIXTURE_TEXT.hostileText)}</p>
<p><a href="/search?q=${escapeHtml(FIXTURE_TEXT.hostileHrefPayload)}">Search ${escapeHtml(FIXTURE_TEXT.hostileHrefPayload)}</a></p>
<p><a href="javascript:alert(3)" onclick="alert(4)">Click me</a></p>
<p><a href="&#x6A;avascript:alert(5)">Encoded scheme</a> <a href=" JaVaScRiPt:alert(6)">Mixed case</a></p>
<img src="/img/1.png" alt="${escapeHtml(FIXTURE_TEXT.hostileTitle)}" onload="void 0">
<template><img src="x" onerror="alert(7)"><script>alert(8)</script></template>
<noscript><img src="x" onerror="alert(9)"></noscript>
<div style="background:url(javascript:alert(10))" onmouseover="alert(11)">Hover text</div>
<iframe srcdoc="&lt;script&gt;parent.alert(12)&lt;/script&gt;" sandbox></iframe>
</body>
</html>`
}

function cspPage(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>CSP Page</title></head>
<body><h1>Locked down</h1><p>No script may run here.</p><a href="/">home</a></body>
</html>`
}

function manyLinksPage(): string {
  const parts: string[] = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Many Links</title></head><body><h1>Many links</h1><ul>']
  for (let i = 0; i < 6000; i++) parts.push(`<li><a href="/item/${i}">Item ${i}</a></li>`)
  parts.push('</ul></body></html>')
  return parts.join('\n')
}

function bigPage(article: string, copies: number): string {
  const body = article.slice(article.indexOf('<body>') + '<body>'.length, article.indexOf('</body>'))
  return simplePage(`Big ${copies}`, body.repeat(copies))
}

function spinPage(): string {
  // setTimeout: DOMContentLoaded (and so page.goto) completes first, then nothing else ever runs.
  return simplePage(
    'Spin',
    `<h1>Spin</h1><script>document.addEventListener('DOMContentLoaded', function () { setTimeout(function () { for (;;) {} }, 0) })</script>`,
  )
}

function gamutPage(): string {
  return simplePage('Gamut', '<h1>Gamut</h1><picture><source media="(color-gamut: p3)" srcset="/img/2.png"><img src="/img/1.png" alt="gamut"></picture>')
}

function downloadPage(gate: string): string {
  return simplePage(
    'Download page',
    `<h1>A page that downloads</h1><a id="file" href="/download">the file</a>` +
      `<script>window.addEventListener('load', function () {
  document.getElementById('file').click();
  fetch(${JSON.stringify(`/gate/${encodeURIComponent(gate)}`)}).then(function () {
    var done = document.createElement('p');
    done.id = 'released';
    done.textContent = 'Gate released';
    document.body.appendChild(done);
  });
})</script>`,
  )
}

function simplePage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>${body}</body>
</html>`
}

// ---- Crawl4AI's crawl parameters (tests/crawl4ai-params.test.ts) -------------------------------

export const C4A_TEXT = {
  lazy: 'Lazy content arrived',
  overlay: 'Accept our cookies',
  sameOriginFrame: 'Inside the same-origin frame',
  crossOriginFrame: 'Inside the cross-origin frame',
  tiny: 'Tiny three words',
  long: 'This paragraph has many more than five words in it, so it stays.',
  ad: 'Buy the advertised thing now',
  target: 'The targeted section text',
  delayed: 'Added once the gate answered',
} as const

/** The pages of /c4a/; null for a path it does not know (a 404 then). */
function c4aRoute(path: string, req: IncomingMessage): { body: string | Buffer; type?: string; status?: number; headers?: Record<string, string> } | null {
  // The same server under another name is another origin: http://localhost:PORT.
  const otherOrigin = `http://${(req.headers.host ?? '').replace(/^127\.0\.0\.1/, 'localhost')}`
  if (path === '/c4a/echo') return { body: simplePage('Echo', '<h1>Echo</h1><p>Headers were recorded.</p>') }
  if (path === '/c4a/style.css') return { body: 'body { color: #333 }', type: 'text/css' }
  const pic = /^\/c4a\/pic\/(\d{1,3})\.png$/.exec(path)
  if (pic) return { body: fixturePicture(Number(pic[1]), 40, 30), type: 'image/png' }
  if (path === '/c4a/assets') {
    return {
      body: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Assets</title><link rel="stylesheet" href="/c4a/style.css"></head>
<body><h1>Assets</h1><img src="/c4a/pic/7.png" alt="seven"><p>Assets page</p></body></html>`,
    }
  }
  if (path === '/c4a/rich') {
    return {
      headers: { 'X-Fixture': 'rich', 'X-Long': 'v'.repeat(10_000) },
      body: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Rich</title>
<meta property="og:title" content="Rich OG"><meta property="article:author" content="Ada"><meta name="twitter:site" content="@rich">
</head><body>
<header><a href="/c4a/echo">Home nav</a></header>
<main>
<p>${C4A_TEXT.tiny}</p>
<p>${C4A_TEXT.long} <a href="/c4a/assets" title="The assets">internal link</a></p>
<p>Follow <a href="https://twitter.com/rich">on twitter</a> and <a href="https://www.facebook.com/rich">facebook</a>,
read <a href="https://example.org/story">an external story</a> or <a href="https://sub.blocked.test/x">a blocked one</a>.</p>
<figure><img src="/c4a/pic/1.png" alt="Internal picture" width="640" height="480"><figcaption>A captioned picture</figcaption></figure>
<img src="${otherOrigin}/c4a/pic/2.png" alt="External picture">
<video src="/c4a/clip.mp4" width="320"></video>
<audio><source src="/c4a/sound.ogg" type="audio/ogg"></audio>
<div class="ad">${C4A_TEXT.ad} <a href="/c4a/ad-link">ad link</a></div>
<section id="target"><h2>Target</h2><p>${C4A_TEXT.target} <strong>strong words</strong> and <a href="/c4a/in-target">a target link</a>.</p></section>
</main>
<footer><a href="/c4a/footer-link">Footer link</a></footer>
</body></html>`,
    }
  }
  if (path === '/c4a/many-headers') {
    const headers: Record<string, string> = {}
    for (let i = 0; i < 300; i++) headers[`X-Many-${i}`] = String(i)
    return { headers, body: simplePage('Many headers', '<p>Many headers</p>') }
  }
  if (path === '/c4a/lazy') {
    return {
      body: simplePage(
        'Lazy',
        `<h1>Lazy</h1><div style="height: 5000px">Tall</div><div id="end"></div>
<script>
var loaded = false;
window.addEventListener('scroll', function () {
  if (loaded || window.scrollY + window.innerHeight < document.body.scrollHeight - 50) return;
  loaded = true;
  var p = document.createElement('p');
  p.textContent = ${JSON.stringify(C4A_TEXT.lazy)};
  document.getElementById('end').appendChild(p);
});
</script>`,
      ),
    }
  }
  if (path === '/c4a/overlay') {
    return {
      body: simplePage(
        'Overlay',
        `<h1>Overlay</h1><p>The real content.</p>
<div id="banner" style="position: fixed; bottom: 0; left: 0; right: 0; height: 80px; z-index: 99999; background: #000; color: #fff">${C4A_TEXT.overlay}</div>
<div class="modal-backdrop" style="position: fixed; inset: 0; background: rgba(0,0,0,.5)"></div>`,
      ),
    }
  }
  if (path === '/c4a/frames') {
    return {
      body: simplePage(
        'Frames',
        `<h1>Frames</h1><iframe src="/c4a/frame"></iframe><iframe src="${otherOrigin}/c4a/frame2"></iframe>
<script>window.addEventListener('load', function () { document.body.setAttribute('data-loaded', '1') })</script>`,
      ),
    }
  }
  if (path === '/c4a/frame') return { body: simplePage('Frame', `<p>${C4A_TEXT.sameOriginFrame} <a href="/c4a/from-frame">frame link</a></p>`) }
  if (path === '/c4a/frame2') return { body: simplePage('Frame 2', `<p>${C4A_TEXT.crossOriginFrame}</p><script>document.write('<p>written</p>')</script>`) }
  if (path === '/c4a/before-wait') {
    return {
      body: simplePage(
        'Before wait',
        `<h1>Before wait</h1><script>
var timer = setInterval(function () {
  if (!window.__go) return;
  clearInterval(timer);
  var p = document.createElement('p'); p.id = 'ready'; p.textContent = 'Ready now'; document.body.appendChild(p);
}, 20);
</script>`,
      ),
    }
  }
  const delayed = /^\/c4a\/delayed\/([a-z0-9-]+)$/.exec(path)
  if (delayed) {
    // Changes once /gate/NAME answers: text added and the page made 3000 px tall.
    return {
      body: simplePage(
        'Delayed',
        `<h1>Delayed</h1><script>fetch('/gate/${delayed[1]}').then(function () { var p = document.createElement('p'); p.textContent = ${JSON.stringify(C4A_TEXT.delayed)}; document.body.appendChild(p); document.body.style.height = '3000px' })</script>`,
      ),
    }
  }
  const wait = /^\/c4a\/wait-image\/([a-z0-9-]+)$/.exec(path)
  if (wait) {
    // The image is /gate/NAME: held until the test releases it (an HTML answer: the image is then "broken", which counts as complete).
    return {
      body: simplePage(
        'Wait image',
        `<h1>Wait image</h1><img src="/gate/${wait[1]}" alt="held" onload="done()" onerror="done()">
<script>function done() { var p = document.createElement('p'); p.id = 'img-done'; p.textContent = 'Image finished'; document.body.appendChild(p) }</script>`,
      ),
    }
  }
  return null
}

interface GateState {
  gate: Gate
  released: boolean
  markReached: () => void
  waiting: ServerResponse[]
}

export async function startFixtureServer(): Promise<FixtureServer> {
  const hitCounts = new Map<string, number>()
  const headersSeen = new Map<string, IncomingHttpHeaders>()
  const sockets = new Set<Socket>()
  const gates = new Map<string, GateState>()
  const timers = new Set<NodeJS.Timeout>()
  const article = articlePage()
  const manyLinks = manyLinksPage()
  const pictures = new Map<number, Buffer>()
  const downloads: Download[] = []
  let downloadWaiters: Array<(d: Download) => void> = []
  let closing = false

  /** Streams `total` generated bytes as an attachment, as fast as the client takes them. */
  function sendDownload(res: ServerResponse, total: number): void {
    const chunk = Buffer.alloc(64 * 1024, 0x5a)
    let markClosed!: () => void
    const record = { total, sent: 0, finished: false, closed: new Promise<void>((resolve) => (markClosed = resolve)) }
    downloads.push(record)
    for (const waiter of downloadWaiters) waiter(record)
    downloadWaiters = []
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': 'attachment; filename="big.bin"',
      'Content-Length': String(total),
      'Cache-Control': 'no-store',
    })
    const pump = (): void => {
      while (record.sent < total && !res.destroyed) {
        const piece = total - record.sent >= chunk.length ? chunk : chunk.subarray(0, total - record.sent)
        record.sent += piece.length
        if (!res.write(piece)) {
          res.once('drain', pump)
          return
        }
      }
      if (record.sent >= total && !res.writableEnded) {
        record.finished = true
        res.end()
      }
    }
    res.on('close', markClosed)
    pump()
  }

  function gateState(name: string): GateState {
    let state = gates.get(name)
    if (!state) {
      let markReached!: () => void
      const reached = new Promise<void>((resolve) => {
        markReached = resolve
      })
      const s: GateState = {
        released: false,
        markReached,
        waiting: [],
        gate: {
          reached,
          release: () => {
            s.released = true
            const waiting = s.waiting
            s.waiting = []
            for (const res of waiting) sendGate(res, name)
          },
        },
      }
      state = s
      gates.set(name, s)
    }
    return state
  }

  function send(
    res: ServerResponse,
    status: number,
    body: string | Buffer,
    contentType = 'text/html; charset=utf-8',
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed || res.writableEnded) return
    res.writeHead(status, {
      'Content-Type': contentType,
      'Cache-Control': 'no-store',
      'Content-Length': String(Buffer.byteLength(body)),
      ...headers,
    })
    res.end(body)
  }

  function sendGate(res: ServerResponse, name: string): void {
    send(res, 200, simplePage(`Gate ${name}`, `<h1>Gate ${escapeHtml(name)} released</h1>`))
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1')
    const path = parsed.pathname
    hitCounts.set(path, (hitCounts.get(path) ?? 0) + 1)
    headersSeen.set(path, req.headers)
    if (path.startsWith('/c4a/')) {
      const page = c4aRoute(path, req)
      if (page) return send(res, page.status ?? 200, page.body, page.type, page.headers)
    }

    // Named sessions (tests/sessions.test.ts): a page that sets a cookie, pages that show what they were sent.
    if (path === '/sess/login') {
      return send(res, 200, simplePage('Signed in', '<h1>Signed in</h1>'), 'text/html; charset=utf-8', {
        'Set-Cookie': 'crawldeck_sess=yes; Path=/; HttpOnly',
      })
    }
    if (path === '/sess/page') return send(res, 200, simplePage('Session page', '<h1>Session page</h1><p>Only for the signed in.</p>'))
    if (path === '/sess/counter') return send(res, 200, simplePage('Counter', '<h1>Counter</h1><script>window.__count = 0</script>'))

    // The result cache (tests/result-cache.test.ts): a page per name, counted by hits(path); ?kb=N pads it by N KB of text.
    const cached = /^\/cache\/([\w-]{1,64})$/.exec(path)
    if (cached) {
      const pad = Math.min(256, Math.max(0, Number(parsed.searchParams.get('kb')) || 0))
      const words = 'A paragraph of words. '.repeat(20 + Math.round((pad * 1024) / 22))
      const page = simplePage(`Cached ${cached[1]}`, `<h1>Cached ${cached[1]}</h1><p>${words}</p>`)
      const delay = Math.min(60_000, Math.max(0, Number(parsed.searchParams.get('ms')) || 0))
      if (delay === 0) return send(res, 200, page)
      const timer = setTimeout(() => {
        timers.delete(timer)
        send(res, 200, page)
      }, delay)
      timers.add(timer)
      res.on('close', () => {
        clearTimeout(timer)
        timers.delete(timer)
      })
      return
    }

    // Product lists for the extraction strategies (tests/helpers/product-pages.ts).
    if (path === '/products') return send(res, 200, productListPage())
    if (path === '/products/contact') return send(res, 200, contactPage())
    if (path === '/products/hostile') return send(res, 200, hostileProductListPage())
    if (path === '/products/big') return send(res, 200, bigProductListPage(Math.min(Number(parsed.searchParams.get('n') ?? 250) || 250, 20_000)))
    if (path === '/' || path === '/index.html') return send(res, 200, indexPage())
    if (path === '/article') return send(res, 200, article)
    if (path === '/js') return send(res, 200, jsPage())
    if (path === '/about') return send(res, 200, simplePage('About', '<h1>About</h1><section id="team"><h2>Team</h2><p>We crawl.</p></section>'))
    if (path === '/hostile') return send(res, 200, hostilePage())
    if (path === '/many-links') return send(res, 200, manyLinks)
    if (path === '/csp') {
      return send(res, 200, cspPage(), 'text/html; charset=utf-8', {
        'Content-Security-Policy': "default-src 'none'; script-src 'none'; style-src 'none'",
      })
    }
    if (path === '/redirect') return send(res, 302, simplePage('Redirect', '<a href="/">moved</a>'), 'text/html; charset=utf-8', { Location: '/' })
    if (path === '/slow') {
      const raw = Number(parsed.searchParams.get('ms') ?? '1000')
      const ms = Number.isFinite(raw) ? Math.min(Math.max(0, raw), 120_000) : 1000
      const timer = setTimeout(() => {
        timers.delete(timer)
        send(res, 200, simplePage('Slow', `<h1>Slow page</h1><p>Answered after ${ms} ms</p>`))
      }, ms)
      timers.add(timer)
      res.on('close', () => {
        clearTimeout(timer)
        timers.delete(timer)
      })
      return
    }
    if (path === '/hang') return // never answered; close() destroys the socket
    if (path === '/spin') return send(res, 200, spinPage())
    if (path === '/gamut') return send(res, 200, gamutPage())
    if (path === '/download') {
      const mb = Math.min(Math.max(1, Number(parsed.searchParams.get('mb')) || 100), 1024)
      return sendDownload(res, mb * 1024 * 1024)
    }
    if (path === '/download-page') return send(res, 200, downloadPage(parsed.searchParams.get('gate') ?? 'download-page'))
    if (path === '/big') {
      const copies = Math.min(Math.max(1, Number(parsed.searchParams.get('copies')) || 1), 200)
      return send(res, 200, bigPage(article, copies))
    }
    const status = /^\/status\/(\d{3})$/.exec(path)
    if (status) {
      const code = Number(status[1])
      if (code >= 200 && code <= 599) return send(res, code, simplePage(`Status ${code}`, `<h1>Status ${code}</h1>`))
      return send(res, 400, simplePage('Bad status', '<h1>Bad status</h1>'))
    }
    const gate = /^\/gate\/([^/]+)$/.exec(path)
    if (gate) {
      const name = decodeURIComponent(gate[1] ?? '')
      const state = gateState(name)
      state.markReached()
      if (state.released || closing) return sendGate(res, name)
      state.waiting.push(res)
      res.on('close', () => {
        state.waiting = state.waiting.filter((r) => r !== res)
      })
      return
    }
    const img = /^\/img\/(\d{1,4})\.png$/.exec(path)
    if (img) {
      const n = Number(img[1])
      let png = pictures.get(n)
      if (!png) {
        png = fixturePicture(n)
        pictures.set(n, png)
      }
      return send(res, 200, png, 'image/png')
    }
    send(res, 404, simplePage('Not Found', '<h1>Not Found</h1>'))
  }

  const server = createServer((req, res) => {
    try {
      handle(req, res)
    } catch (err) {
      send(res, 500, simplePage('Error', `<pre>${escapeHtml(String(err))}</pre>`))
    }
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`

  let closed: Promise<void> | null = null
  return {
    origin,
    url: (path: string) => new URL(path, origin).toString(),
    hits: (path: string) => hitCounts.get(new URL(path, origin).pathname) ?? 0,
    lastHeaders: (path: string) => headersSeen.get(new URL(path, origin).pathname),
    gate: (name: string) => gateState(name).gate,
    downloads: () => downloads,
    nextDownload: () => new Promise<Download>((resolve) => downloadWaiters.push(resolve)),
    close: () => {
      if (!closed) {
        closing = true
        closed = new Promise<void>((resolve) => {
          for (const timer of timers) clearTimeout(timer)
          timers.clear()
          server.close(() => resolve())
          for (const socket of sockets) socket.destroy()
          sockets.clear()
        })
      }
      return closed
    },
  }
}
