import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { HOSTILE_ANSWER_REASONS, HOSTILE_ANSWERS, startRawTarget, watchEachTest, type RawTarget } from './helpers/raw-target.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/**
 * Real Chromium crawling through the real egress proxy, in this process, targets that answer
 * what no web server should: a status of 099 or 1000, header bytes Node refuses to pass on, no
 * status line, a body that never ends. The proxy runs inside the service, so each of these once
 * ended the whole process; now each fails its own exchange: the crawl answers, /health stays
 * 200 and the next crawl works. Also that our browsers get past the proxy's credential check for
 * plain http, CONNECT (https) and websockets, which nothing else may.
 *
 * The targets live on 127.0.0.1, exempted with private_targets_allowed as in tests/ssrf.test.ts.
 */

let service: TestService
let raw: RawTarget
const watch = watchEachTest()

/** A valid page whose <img> is the hostile answer `kind`. */
function pageWith(kind: string): string {
  const html = `<!doctype html><title>page with ${kind}</title><p>text</p><img src="/${kind}">`
  return `HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncache-control: no-store\r\ncontent-length: ${Buffer.byteLength(html)}\r\nconnection: close\r\n\r\n${html}`
}

beforeAll(async () => {
  raw = await startRawTarget((path) => {
    const name = path.slice(1)
    if (name === 'endless-html') return { endless: true, contentType: 'text/html; charset=utf-8' }
    if (name.startsWith('page-')) return pageWith(name.slice('page-'.length))
    if (name === 'fine') return pageWith('nothing-here')
    return HOSTILE_ANSWERS[name]
  })
  service = await startService({ block_private_targets: true, private_targets_allowed: ['127.0.0.1/32'], max_pages: 2 })
})

afterAll(async () => {
  await service?.close()
  await raw?.close()
})

/** POST /crawl, failing at once (not at the test timeout) if the process meets an uncaught error. */
async function crawl(url: string, crawlerConfig: Record<string, unknown> = {}): Promise<{ status: number; result: CrawlResult }> {
  const { status, body } = await Promise.race([service.postJson('/crawl', { urls: [url], crawler_config: crawlerConfig }), watch().failed])
  return { status, result: body.results?.[0] as CrawlResult }
}

async function stillServes(): Promise<void> {
  const health = await Promise.race([fetch(`${service.url}/health`), watch().failed])
  expect(health.status).toBe(200)
  const next = await crawl(`${raw.origin}/fine`)
  expect(next.status).toBe(200)
  expect(next.result.success).toBe(true)
  expect(next.result.metadata.title).toBe('page with nothing-here')
}

describe('a target answering nonsense fails its own exchange only', () => {
  it.each(HOSTILE_ANSWER_REASONS)('%s as a subresource: the page is crawled; as the page itself: a failed result saying why', async (kind, why) => {
    const sub = await crawl(`${raw.origin}/page-${kind}`, { wait_until: 'load' })
    expect(sub.status).toBe(200)
    expect(sub.result.success).toBe(true)
    expect(sub.result.metadata.title).toBe(`page with ${kind}`)
    // The browser did ask for it, and the proxy turned the answer into its own 502.
    expect(raw.hits.get(`/${kind}`)).toBeGreaterThan(0)

    const main = await crawl(`${raw.origin}/${kind}`)
    expect(main.status).toBe(200)
    expect(main.result.success).toBe(false)
    expect(main.result.error_message).toContain(`127.0.0.1:${raw.port}`)
    expect(main.result.error_message).toContain(why)

    await stillServes()
  })

  it('a body that never ends: the crawl times out, and the connection to the target ends with it', async () => {
    // As a subresource: `load` never comes, so the crawl ends at its page_timeout.
    const sub = await crawl(`${raw.origin}/page-endless`, { wait_until: 'load', page_timeout: 2000 })
    expect(sub.status).toBe(200)
    expect(sub.result.success).toBe(false)
    expect(raw.hits.get('/endless')).toBeGreaterThan(0)
    // As the document itself: the parser never finishes, so neither does domcontentloaded.
    const main = await crawl(`${raw.origin}/endless-html`, { page_timeout: 2000 })
    expect(main.status).toBe(200)
    expect(main.result.success).toBe(false)
    expect(main.result.error_message).toMatch(/timeout|timed out/i)
    // The browser closed its side with the crawl's context; the proxy must close the target's.
    await waitFor(() => raw.open === 0, 15_000, 'the proxy to close its connections to the endless target')
    await stillServes()
  })
})

describe('our browsers carry the proxy credentials, for every kind of connection', () => {
  let ws: Server
  let wsPort = 0
  const upgrades: string[] = []
  let tls: TcpServer
  let tlsPort = 0
  let firstTlsByte: number | null = null
  /** Raw sockets to destroy at the end: the TLS target's and the upgraded websockets. */
  const rawSockets = new Set<Socket>()

  beforeAll(async () => {
    // A page that opens a websocket to its own origin, and the websocket handshake (RFC 6455).
    ws = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(`<title>socket</title><script>const s = new WebSocket('ws://' + location.host + '/live'); s.onopen = () => s.send('hi')</script>`)
    })
    ws.on('upgrade', (req, socket: Socket) => {
      upgrades.push(req.url ?? '')
      // Upgraded sockets leave the server's books: closed by hand in afterAll.
      rawSockets.add(socket)
      socket.on('error', () => socket.destroy())
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`)
    })
    await new Promise<void>((r) => ws.listen(0, '127.0.0.1', () => r()))
    wsPort = (ws.address() as AddressInfo).port
    // What an https navigation's tunnel delivers: the first byte of a TLS ClientHello is 0x16.
    tls = createTcpServer((socket) => {
      rawSockets.add(socket)
      socket.on('error', () => socket.destroy())
      socket.once('data', (d: Buffer) => {
        firstTlsByte = d[0] ?? null
        socket.destroy()
      })
      socket.once('close', () => rawSockets.delete(socket))
    })
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()))
    tlsPort = (tls.address() as AddressInfo).port
  })

  afterAll(async () => {
    ws?.closeAllConnections()
    for (const s of rawSockets) s.destroy()
    await Promise.all([new Promise((r) => ws?.close(r)), new Promise((r) => tls?.close(r))])
  })

  it('plain http (absolute-form) and websockets (CONNECT) reach an allowed target', async () => {
    const { status, result } = await crawl(`http://127.0.0.1:${wsPort}/`, { wait_until: 'load' })
    expect(status).toBe(200)
    expect(result.success).toBe(true)
    expect(result.metadata.title).toBe('socket')
    await waitFor(() => upgrades.includes('/live'), 20_000, 'the websocket handshake to arrive through the proxy')
  })

  it('https (CONNECT) reaches an allowed target: its TLS handshake comes through the tunnel', async () => {
    firstTlsByte = null
    await crawl(`https://127.0.0.1:${tlsPort}/`, { page_timeout: 5000 })
    expect(firstTlsByte).toBe(0x16)
  })
})
