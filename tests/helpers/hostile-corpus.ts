import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import { createGzip } from 'node:zlib'

/**
 * A corpus of pages built to hurt a crawler, served on 127.0.0.1: each entry is what nobody
 * vetted, in one of the shapes that has hurt crawldeck or crawlers like it. Generated, not
 * stored: the large ones are streamed as they are made. `pages` lists them by name; the same
 * names are paths of `origin`.
 *
 * Shapes:
 * - regex and quadratic-work bombs: runs of newlines in list code blocks, empty inline floods,
 *   deep lists, runs of Markdown-special characters, one huge attribute, whitespace runs;
 * - answers that are not HTTP: invalid and missing status lines, a bad header, a header flood;
 * - bodies that never end (chunked), a gzip bomb (1 GiB of zeros sent as 1 MB), a redirect loop;
 * - documents too big to handle whole: a 100,000-deep DOM, one 50 MB text node, a link farm under
 *   a 100 KB <base href>;
 * - pages that fight back: prototypes sabotaged to throw 20 MB errors, popup and dialog loops,
 *   a download.
 */
export interface HostileCorpus {
  origin: string
  /** Every entry, by name (also its path: `${origin}/${name}`). */
  readonly pages: readonly string[]
  url(name: string): string
  close(): Promise<void>
}

type Entry =
  | { kind: 'html'; body: (origin: string) => string }
  | { kind: 'raw'; bytes: string }
  | { kind: 'handler'; handle: (res: import('node:http').ServerResponse, origin: string) => void }

const html = (title: string, body: string, head = '') => `<!DOCTYPE html><html><head><title>${title}</title>${head}</head><body>${body}</body></html>`

/** Streams `total` characters made of `unit`, without ever holding them. */
function streamOf(unit: string, total: number): Readable {
  const block = unit.repeat(Math.ceil((256 * 1024) / unit.length))
  let left = total
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null)
      const piece = block.slice(0, Math.min(block.length, left))
      left -= piece.length
      this.push(piece)
    },
  })
}

const ENTRIES: Record<string, Entry> = {
  // Quadratic trims in Markdown: a code block in a list item with 60,000 newlines.
  'bomb-newlines': { kind: 'html', body: () => html('newlines', `<ul><li>a<pre><code>${'\n'.repeat(60_000)}b</code></pre></li></ul>`) },
  // Turndown's blank test reads every subtree: empty inline elements under deep nesting.
  'bomb-blank': { kind: 'html', body: () => html('blank', `<p>x</p>${'<div>'.repeat(480)}${'<i></i>'.repeat(34_000)}${'</div>'.repeat(480)}`) },
  // A Markdown that indents every line 300 spaces: output far larger than input.
  'bomb-deep-list': {
    kind: 'html',
    body: () => html('deep list', `${'<ul><li>'.repeat(150)}<ul>${'<li>x</li>'.repeat(6000)}</ul>${'</li></ul>'.repeat(150)}`),
  },
  // Escaping runs of Markdown-special characters; backtracking patterns on long runs.
  'bomb-specials': {
    kind: 'html',
    body: () => html('specials', `<p>${'*_`[]\\#+-!'.repeat(30_000)}</p><p>${'\\'.repeat(200_000)}</p><p>${' \t'.repeat(200_000)}x</p>`),
  },
  // One attribute of 5 MB, quotes and entities in it.
  'bomb-attribute': {
    kind: 'html',
    body: () => html('attribute', `<a href="/x" title="${'&quot;&amp;<'.repeat(400_000)}">link</a><img alt="${'a '.repeat(1_000_000)}" src="/none.png">`),
  },

  'status-099': { kind: 'raw', bytes: 'HTTP/1.1 099 X\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nhi' },
  'status-1000': { kind: 'raw', bytes: 'HTTP/1.1 1000 X\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nhi' },
  'no-status-line': { kind: 'raw', bytes: 'this is no HTTP at all\r\n\r\n' },
  'bad-header': { kind: 'raw', bytes: 'HTTP/1.1 200 OK\r\nx-bad: a\x01b\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nhi' },
  'header-flood': {
    kind: 'raw',
    bytes: `HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n${Array.from({ length: 20_000 }, (_, i) => `x-flood-${i}: ${'v'.repeat(40)}\r\n`).join('')}content-length: 2\r\n\r\nhi`,
  },
  'endless-chunked': { kind: 'handler', handle: (res) => endless(res) },
  'gzip-bomb': {
    kind: 'handler',
    handle: (res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'cache-control': 'no-store' })
      res.end(gzipBomb())
    },
  },
  'redirect-loop': {
    kind: 'handler',
    handle: (res) => {
      res.writeHead(302, { location: '/redirect-loop', 'cache-control': 'no-store' })
      res.end()
    },
  },

  'deep-dom': { kind: 'html', body: () => html('deep', `${'<div>'.repeat(100_000)}deep${'</div>'.repeat(100_000)}`) },
  'huge-text-node': {
    kind: 'handler',
    handle: (res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.write('<!DOCTYPE html><html><head><title>huge</title></head><body><p>')
      const body = streamOf('lorem ipsum ', 50 * 1024 * 1024)
      body.on('end', () => res.end('</p></body></html>'))
      body.pipe(res, { end: false })
    },
  },
  'link-farm': {
    kind: 'html',
    body: (origin) =>
      html(
        'link farm',
        `<ul>${Array.from({ length: 1000 }, (_, i) => `<li><a href="p${i}">link ${i}</a></li>`).join('')}</ul>`,
        `<base href="${origin}/${'a'.repeat(100 * 1024)}/">`,
      ),
  },

  'sabotage-clone': {
    kind: 'html',
    body: () => html('sabotage', '<p>text</p>', `<script>Node.prototype.cloneNode = function () { throw new Error('x'.repeat(20 * 1024 * 1024)) }</script>`),
  },
  'sabotage-everything': {
    kind: 'html',
    body: () =>
      html(
        'sabotage everything',
        '<p>text</p><a href="/a">a</a>',
        `<script>
const big = 'y'.repeat(20 * 1024 * 1024);
for (const [proto, names] of [[Element.prototype, ['querySelectorAll', 'querySelector', 'getAttribute', 'remove', 'closest']], [Node.prototype, ['cloneNode', 'contains']], [Document.prototype, ['querySelectorAll', 'createTreeWalker']], [JSON, ['stringify']], [Array.prototype, ['map', 'filter', 'join']], [String.prototype, ['trim', 'replace', 'slice']]]) {
  for (const n of names) { try { Object.defineProperty(proto, n, { value: function () { throw new Error(big) }, configurable: true }) } catch (e) {} }
}
</script>`,
      ),
  },
  'popup-loop': {
    kind: 'html',
    body: () =>
      html('popups', '<p>popups</p>', `<script>setInterval(() => { for (let i = 0; i < 20; i++) window.open('/popup-loop?' + Math.random()) }, 10)</script>`),
  },
  'dialog-loop': {
    kind: 'html',
    body: () =>
      html(
        'dialogs',
        '<p>dialogs</p>',
        `<script>setInterval(() => { alert('a'.repeat(100000)); confirm('b'); prompt('c') }, 1); window.onbeforeunload = () => 'stay'</script>`,
      ),
  },
  download: {
    kind: 'handler',
    handle: (res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-disposition': 'attachment; filename="big.bin"',
        'content-length': String(100 * 1024 * 1024),
        'cache-control': 'no-store',
      })
      streamOf('Z', 100 * 1024 * 1024).pipe(res)
    },
  },
  // The control: an ordinary page, which must keep working between the others.
  plain: { kind: 'html', body: () => html('plain', '<h1>Plain</h1><p>An ordinary page.</p>') },
}

let bomb: Buffer = Buffer.alloc(0)
const gzipBomb = () => bomb

/** 1 GiB of zeros, gzipped once (about 1 MB) a MiB at a time, and kept: each crawl of it costs the corpus nothing. */
async function makeGzipBomb(): Promise<Buffer> {
  const gzip = createGzip({ level: 9 })
  const parts: Buffer[] = []
  gzip.on('data', (b: Buffer) => parts.push(b))
  const zeros = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < 1024; i++) if (!gzip.write(zeros)) await new Promise((r) => gzip.once('drain', r))
  await new Promise<void>((resolve) => gzip.end(resolve))
  return Buffer.concat(parts)
}

function endless(res: import('node:http').ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' })
  res.write('<!DOCTYPE html><title>endless</title>')
  const timer = setInterval(() => res.write('<p>more</p>\n'), 50)
  res.on('close', () => clearInterval(timer))
}

/**
 * One TCP server answers every entry: raw entries get their bytes as they are (no http.Server can
 * send them), the others go through an http.Server that the same socket is handed to.
 */
export async function startHostileCorpus(): Promise<HostileCorpus> {
  if (bomb.length === 0) bomb = await makeGzipBomb()
  let origin = ''
  const sockets = new Set<Socket>()
  const http: Server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1)
    const entry = ENTRIES[name]
    if (entry?.kind === 'html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(entry.body(origin))
    } else if (entry?.kind === 'handler') entry.handle(res, origin)
    else {
      res.writeHead(404, { 'content-type': 'text/html' })
      res.end('<title>not found</title>')
    }
  })
  http.on('clientError', (_err, socket) => socket.destroy())
  const tcp = createTcpServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    socket.once('readable', () => {
      const head = socket.read(Math.min(socket.readableLength, 4096)) as Buffer | null
      if (head === null) return
      const target = head.toString('latin1').split(' ')[1] ?? '/'
      const path = target.startsWith('http') ? new URL(target).pathname : (target.split('?')[0] ?? '/')
      const entry = ENTRIES[path.slice(1)]
      if (entry?.kind === 'raw') {
        socket.end(Buffer.from(entry.bytes, 'latin1'))
        return
      }
      socket.unshift(head)
      http.emit('connection', socket)
    })
  })
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()))
  origin = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`
  return {
    origin,
    pages: Object.keys(ENTRIES),
    url: (name) => `${origin}/${name}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        http.close()
        tcp.close(() => resolve())
      }),
  }
}
