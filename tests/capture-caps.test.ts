import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { startService, type TestService } from './helpers/service.js'

/**
 * Screenshot and PDF size caps with real Chromium: a very tall page gives a full-page shot cut at
 * max_screenshot_height (read from the PNG header), and a low max_capture_bytes fails /screenshot,
 * /pdf, a /crawl that asks for a capture, and any extraction of a page whose HTML is longer, with a
 * message giving the size and the cap.
 */

const TALL_PX = 60_000
/** /long's HTML: ~5,000 characters, over the 2,048 of max_capture_bytes below. */
const LONG_REPEAT = 500
const CAP_PX = 3000

let server: Server
let origin: string
const sockets = new Set<Socket>()

beforeAll(async () => {
  server = createServer((req, res) => {
    const body =
      req.url === '/tall'
        ? `<title>tall</title><style>body{margin:0}</style><div style="height:${TALL_PX}px;background:linear-gradient(#fff,#00f)">top</div>`
        : req.url === '/long'
          ? `<title>long</title><p>${'long text '.repeat(LONG_REPEAT)}</p>`
          : req.url === '/wide'
            ? `<title>wide</title><style>body{margin:0}</style><div style="width:${TALL_PX}px;height:200px;background:linear-gradient(90deg,#fff,#f00)">left</div>`
            : '<title>short</title><style>body{margin:0}</style><p>short page</p>'
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(body)
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise<void>((r) => server?.close(() => r()))
})

/** Width and height from a PNG's IHDR chunk. */
function pngSize(base64: string): { width: number; height: number } {
  const png = Buffer.from(base64, 'base64')
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

describe('max_screenshot_height', () => {
  let service: TestService

  beforeAll(async () => {
    service = await startService({ max_screenshot_height: CAP_PX, max_pages: 2 })
  })

  afterAll(async () => {
    await service?.close()
  })

  it('a full-page shot of a very tall page is clipped to the cap and says so', async () => {
    const { status, body } = await service.postJson('/screenshot', { url: origin + '/tall', full_page: true })
    expect(status).toBe(200)
    expect(body.screenshot_clipped).toBe(true)
    expect(pngSize(body.screenshot)).toEqual({ width: 1280, height: CAP_PX })
  })

  it('/crawl with screenshot_full_page reports the clip in the result', async () => {
    const { body } = await service.postJson('/crawl', { urls: [origin + '/tall'], crawler_config: { screenshot: true, screenshot_full_page: true } })
    const result = body.results[0] as CrawlResult
    expect(result.success).toBe(true)
    expect(result.screenshot_clipped).toBe(true)
    expect(pngSize(result.screenshot as string).height).toBe(CAP_PX)
  })

  it('a very wide page is clipped in width too', async () => {
    const { status, body } = await service.postJson('/screenshot', { url: origin + '/wide', full_page: true })
    expect(status).toBe(200)
    expect(body.screenshot_clipped).toBe(true)
    expect(pngSize(body.screenshot).width).toBe(CAP_PX)
  })

  it('a page shorter than the cap is not clipped', async () => {
    const { status, body } = await service.postJson('/screenshot', { url: origin + '/short', full_page: true })
    expect(status).toBe(200)
    expect(body.screenshot_clipped).toBe(false)
    expect(pngSize(body.screenshot).height).toBe(720)
  })
})

describe('max_capture_bytes', () => {
  const CAP_BYTES = 2048
  let service: TestService

  beforeAll(async () => {
    service = await startService({ max_capture_bytes: CAP_BYTES, max_pages: 2 })
  })

  afterAll(async () => {
    await service?.close()
  })

  it.each(['/screenshot', '/pdf'])('%s of a capture above the cap is a 422 giving the size and the cap', async (path) => {
    const { status, body } = await service.postJson(path, { url: origin + '/tall' })
    expect(status).toBe(422)
    expect(body.code).toBe('capture_too_large')
    const kind = path === '/pdf' ? 'PDF' : 'screenshot'
    expect(body.error).toMatch(new RegExp(`^the ${kind} is \\d+ bytes, above this server's max_capture_bytes of ${CAP_BYTES} bytes$`))
    expect(Number(/is (\d+) bytes/.exec(body.error)?.[1])).toBeGreaterThan(CAP_BYTES)
  })

  it.each(['/html', '/md'])('%s of a page whose HTML is longer than the cap is a 422 giving its length and the cap', async (path) => {
    const { status, body } = await service.postJson(path, { url: origin + '/long' })
    expect(status).toBe(422)
    expect(body.code).toBe('capture_too_large')
    const m = /^the page's HTML is (\d+) characters, above this server's max_capture_bytes of (\d+) bytes$/.exec(body.error)
    expect(m, body.error).not.toBeNull()
    expect(Number(m?.[1])).toBeGreaterThan(LONG_REPEAT * 'long text '.length)
    expect(Number(m?.[2])).toBe(CAP_BYTES)
  })

  it('a /crawl of such a page fails that URL alone; a short page beside it is served', async () => {
    const { status, body } = await service.postJson('/crawl', { urls: [origin + '/long', origin + '/short'] })
    expect(status).toBe(200)
    const [long, short] = body.results as CrawlResult[]
    expect(long?.success).toBe(false)
    expect(long?.html).toBe('')
    expect(long?.error_message).toMatch(/^the page's HTML is \d+ characters, above this server's max_capture_bytes/)
    expect(short?.success).toBe(true)
    expect(short?.markdown.raw_markdown).toContain('short page')
  })

  it('a /crawl asking for a PDF fails that URL with the same message', async () => {
    const { status, body } = await service.postJson('/crawl', { urls: [origin + '/short'], crawler_config: { pdf: true } })
    expect(status).toBe(200)
    const result = body.results[0] as CrawlResult
    expect(result.success).toBe(false)
    expect(result.pdf).toBeNull()
    expect(result.error_message).toContain(`above this server's max_capture_bytes of ${CAP_BYTES} bytes`)
  })
})
