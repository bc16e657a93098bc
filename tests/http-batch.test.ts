import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CallContext, ServiceImpl } from '../src/shared/contract.js'
import type { CrawlResult } from '../src/shared/crawl-schemas.js'
import { QueueFullError } from '../src/main/core/errors.js'
import { Authenticator } from '../src/main/http/auth.js'
import { errorHandler } from '../src/main/http/errors.js'
import { contractRouter } from '../src/main/http/routes.js'

/**
 * How the Koa door writes a 'batch' answer (POST /crawl), with the engine replaced by results
 * made here: sizes no real page could reach on a test's budget, and failures at chosen points.
 * The real engine behind the same door is covered in api-crawl.test.ts.
 */

type Crawl = (input: { urls: string[] }, ctx: CallContext) => Promise<AsyncIterable<CrawlResult>>

let crawl: Crawl
const logLines: string[] = []
let server: Server
let base: string

beforeAll(async () => {
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) })
  const app = new Koa()
  app.silent = true
  app.use(errorHandler(logger))
  const service = { crawl: (input: { urls: string[] }, ctx: CallContext) => crawl(input, ctx) } as unknown as ServiceImpl
  app.use(contractRouter(service, logger, { auth: new Authenticator({ admin: [], crawl: [], read: [] }), bodyLimitBytes: 1024 * 1024 }).routes())
  server = createServer(app.callback())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

function result(url: string, markdown: string, success = true): CrawlResult {
  return { url, success, markdown } as unknown as CrawlResult
}

function post(urls: string[], signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}/crawl`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls }), signal })
}

describe("the HTTP door's batch answer", () => {
  it('writes an answer larger than any one string V8 can hold (a batch of large pages), a result at a time', async () => {
    // 6 results of 100 M characters each: 600 M, past V8's ~536.9 M-character string limit, so
    // encoding the answer as one string (what Koa does with an object body) throws RangeError.
    const big = 'x'.repeat(100_000_000)
    const urls = Array.from({ length: 6 }, (_, i) => `http://127.0.0.1:9/page-${i}`)
    crawl = async (input) =>
      (async function* () {
        for (const url of input.urls) yield result(url, big)
      })()
    const res = await post(urls)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    // Read it as a stream: the client cannot hold it as one string either.
    const reader = res.body!.getReader()
    let bytes = 0
    let head = ''
    let tail = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.length
      if (head.length < 200) head += Buffer.from(value.subarray(0, 200)).toString('latin1')
      tail = (tail + Buffer.from(value.subarray(Math.max(0, value.length - 200))).toString('latin1')).slice(-200)
    }
    const expected =
      '{"results":['.length + urls.reduce((n, url) => n + JSON.stringify(result(url, big)).length, 0) + (urls.length - 1) + '],"success":true}'.length
    expect(bytes).toBe(expected)
    expect(bytes).toBeGreaterThan(2 ** 29)
    expect(head.startsWith(`{"results":[{"url":"${urls[0]}","success":true,"markdown":"xxx`)).toBe(true)
    expect(tail.endsWith('xxx"}],"success":true}')).toBe(true)
  }, 120_000)

  it('says success: false when any result failed, and the answer parses as one JSON value', async () => {
    crawl = async (input) =>
      (async function* () {
        yield result(input.urls[0]!, 'a')
        yield result(input.urls[1]!, '', false)
      })()
    const res = await post(['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'])
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ success: false, results: [result('http://127.0.0.1:9/a', 'a'), result('http://127.0.0.1:9/b', '', false)] })
  })

  it('a batch that fails before its first result gets a proper error answer (status, code, headers)', async () => {
    crawl = async () =>
      // eslint-disable-next-line require-yield -- a batch that fails before its first result
      (async function* (): AsyncGenerator<CrawlResult> {
        throw new QueueFullError(3, 10)
      })()
    const res = await post(['http://127.0.0.1:9/a'])
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('3')
    expect(await res.json()).toMatchObject({ code: 'queue_full' })
  })

  it('a failure after the first result is logged and cuts the connection: the client cannot mistake the body for a whole answer', async () => {
    const before = logLines.length
    crawl = async (input) =>
      (async function* () {
        yield result(input.urls[0]!, 'first')
        throw new Error('engine broke half-way')
      })()
    const res = await post(['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'])
    expect(res.status).toBe(200)
    await expect(res.text()).rejects.toThrow()
    expect(logLines.slice(before).join('\n')).toContain('engine broke half-way')
  })

  it('a client that goes away mid-answer ends the batch too (the engine hears it through return())', async () => {
    let finished: () => void
    const ended = new Promise<void>((resolve) => (finished = resolve))
    let sawAbort = false
    crawl = async (input, ctx) =>
      (async function* () {
        try {
          yield result(input.urls[0]!, 'first')
          // The second result never comes on its own: only the end of the reading frees it.
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
          sawAbort = ctx.signal.aborted
          yield result(input.urls[1]!, 'second')
        } finally {
          finished()
        }
      })()
    const controller = new AbortController()
    const res = await post(['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b'], controller.signal)
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(Buffer.from(first.value!).toString()).toContain('"first"')
    controller.abort()
    await ended
    expect(sawAbort).toBe(true)
  })
})
