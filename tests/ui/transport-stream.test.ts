import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpTransport } from '../../src/renderer/src/transport/http.js'
import { TransportError } from '../../src/renderer/src/transport/types.js'

/*
 * HttpTransport.stream over real HTTP: each NDJSON line is handed over when it arrives (before the
 * answer ends), a line cut across network chunks is put back together, and a refusal is a
 * TransportError with the server's message, as call() makes it.
 */

let server: Server
let base: string
let held: ServerResponse | null = null
let heldReady: () => void
const heldPromise = new Promise<void>((r) => (heldReady = r))

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.headers['x-test'] === 'refuse') {
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'invalid input: urls: give at least one URL', code: 'invalid_input' }))
        return
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      // The first line in two pieces: the transport must wait for its end.
      res.write('{"url": "https://a.test/", "suc')
      res.write('cess": true}\n')
      held = res
      heldReady()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((r) => server.close(r))
})

describe('HttpTransport.stream', () => {
  it('hands each line over as it arrives, whole, and resolves when the answer ends', async () => {
    const t = new HttpTransport({ baseUrl: base })
    const lines: unknown[] = []
    let firstArrived!: () => void
    const first = new Promise<void>((r) => (firstArrived = r))
    const done = t.stream('crawlStream', { urls: ['https://a.test/', 'https://b.test/'] }, (line) => {
      lines.push(line)
      if (lines.length === 1) firstArrived()
    })
    await Promise.all([first, heldPromise])
    // The answer is still open: the second URL has not finished.
    expect(lines).toEqual([{ url: 'https://a.test/', success: true }])
    held!.write('{"url": "https://b.test/", "success": true}\n{"status": "completed"}')
    held!.end()
    await done
    expect(lines).toEqual([{ url: 'https://a.test/', success: true }, { url: 'https://b.test/', success: true }, { status: 'completed' }])
  })

  it("a refused stream rejects with the server's message and code", async () => {
    const t = new HttpTransport({
      baseUrl: base,
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-test': 'refuse' } }),
    })
    const err = await t.stream('crawlStream', { urls: [] }, () => undefined).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TransportError)
    expect(err).toMatchObject({ status: 400, code: 'invalid_input', message: 'invalid input: urls: give at least one URL' })
  })

  it('only streams what the contract says is a stream', async () => {
    const t = new HttpTransport({ baseUrl: base })
    await expect(t.stream('crawl', { urls: ['https://a.test/'] }, () => undefined)).rejects.toMatchObject({ code: 'not_streamable' })
  })
})
