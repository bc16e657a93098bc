import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * Pages whose content is built to cost the service time or memory, served on 127.0.0.1 at a
 * random free port:
 *
 *   /newlines      `<ul><li>a<pre><code>` + 60,000 newlines + `b</code></pre></li></ul>` (60 KB):
 *                  two trims of the Markdown step were quadratic on it (15 s on the event loop)
 *   /blank-nest    480 nested divs over 34,000 empty inline elements (243 KB), not displayed:
 *                  turndown's blank test reads every subtree, ~16 s of conversion on the 2-core
 *                  test machine, while the page itself loads and extracts in well under a second
 *   /nested-list   6,000 list items 150 lists deep (63 KB): a Markdown of 1.8 MB, each line
 *                  indented 300 spaces
 *   /throws        replaces Node.prototype.cloneNode (which extraction uses) with one throwing a
 *                  20 MB error message
 *   /link-farm     a 100 KB <base href> and 1,000 relative links (120 KB): absolute, each link is
 *                  100 KB, so cleaned_html and the links come to 100 MB each
 *   /fake-deflate  200 KB of text under the long <base href>, whose CompressionStream gives bytes
 *                  that are no deflate stream (so the extraction is asked again, undeflated) and
 *                  adds the link farm to the page meanwhile
 *   /plain         a small ordinary page
 */
export interface HostilePages {
  origin: string
  url(path: string): string
  close(): Promise<void>
}

export const NEWLINES = 60_000
export const THROWN_CHARS = 20 * 1024 * 1024
export const BASE_HREF_CHARS = 100 * 1024
export const FARM_LINKS = 1000
export const LIST_DEPTH = 150
export const LIST_ITEMS = 6000

function body(path: string, origin: string): string | null {
  switch (path) {
    case '/newlines':
      return `<!DOCTYPE html><title>newlines</title><ul><li>a<pre><code>${'\n'.repeat(NEWLINES)}b</code></pre></li></ul>`
    case '/blank-nest':
      // Not displayed, so that Chromium's layout of it does not eat the page's own time budget.
      return `<!DOCTYPE html><title>blank-nest</title><style>body > div { display: none }</style><p>x</p>${'<div>'.repeat(480)}${'<i></i>'.repeat(34_000)}${'</div>'.repeat(480)}`
    case '/nested-list':
      return `<!DOCTYPE html><title>nested-list</title>${'<ul><li>'.repeat(LIST_DEPTH)}<ul>${'<li>x</li>'.repeat(LIST_ITEMS)}</ul>${'</li></ul>'.repeat(LIST_DEPTH)}`
    case '/throws':
      return `<!DOCTYPE html><title>throws</title><p>text</p><script>Node.prototype.cloneNode = function () { throw new Error('x'.repeat(${THROWN_CHARS})) }</script>`
    case '/link-farm':
      return linkFarm(origin, '')
    case '/fake-deflate':
      return fakeDeflate(origin)
    case '/plain':
      return '<!DOCTYPE html><title>plain</title><h1>Plain</h1><p>text</p>'
    default:
      return null
  }
}

function linkFarm(origin: string, head: string): string {
  const links = Array.from({ length: FARM_LINKS }, (_, i) => `<li><a href="p${i}">link ${i}</a></li>`).join('')
  return `<!DOCTYPE html><html><head><title>link farm</title><base href="${origin}/${'a'.repeat(BASE_HREF_CHARS)}/">${head}</head><body><ul>${links}</ul></body></html>`
}

/**
 * 200 KB of text under the long <base href>: an extraction large enough to cross deflated, well
 * under the cap. The page's CompressionStream gives bytes that are no deflate stream, so the
 * service asks again undeflated; and making one adds the link farm to the page, so what the
 * second extraction finds is 100 MB of links.
 */
function fakeDeflate(origin: string): string {
  const farm = `for (let i = 0; i < ${FARM_LINKS}; i++) { const a = document.createElement('a'); a.href = 'p' + i; a.textContent = 'link ' + i; document.body.append(a) }`
  const fake = `window.CompressionStream = class { constructor() { ${farm}; const t = new TransformStream({ transform() {}, flush(c) { c.enqueue(new Uint8Array([1, 2, 3, 4, 5])) } }); this.writable = t.writable; this.readable = t.readable } }`
  const text = Array.from({ length: 2000 }, (_, i) => `<p>Paragraph ${i}: ${'words '.repeat(16)}</p>`).join('')
  return `<!DOCTYPE html><html><head><title>fake deflate</title><base href="${origin}/${'a'.repeat(BASE_HREF_CHARS)}/"><script>${fake}</script></head><body>${text}</body></html>`
}

export async function startHostilePages(): Promise<HostilePages> {
  const sockets = new Set<Socket>()
  let origin = ''
  const server = createServer((req, res) => {
    const html = body(new URL(req.url ?? '/', 'http://x').pathname, origin)
    res.writeHead(html === null ? 404 : 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(html ?? '<title>not found</title>')
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    url: (path) => origin + path,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
