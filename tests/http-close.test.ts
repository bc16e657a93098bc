import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../src/main/core/logger.js'
import { startHttpServer } from '../src/main/http/server.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { bounded, startService, type TestService } from './helpers/service.js'

/*
 * Closing the HTTP door ends every socket with nothing in flight at once and lets a request in
 * flight finish. Node's closeIdleConnections leaves a socket that never sent a request (a
 * browser's preconnect) open, so close() waited for the drain deadline. Here the deadline is ten
 * minutes: anything left to it shows as a close() that does not resolve.
 */

let fx: FixtureServer
let s: TestService

beforeAll(async () => {
  fx = await startFixtureServer()
  s = await startService({})
})

afterAll(async () => {
  await s?.close()
  await fx?.close()
})

const NEVER = 600_000

async function openSocket(url: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  return { socket, closed }
}

describe('closing the HTTP door', () => {
  it('ends a socket that never sent a request and an idle keep-alive one at once', async () => {
    const door = await startHttpServer(s.runtime, { host: '127.0.0.1', port: 0, logger: silentLogger(), drainMs: NEVER })
    const preconnected = await openSocket(door.url)
    // A keep-alive socket that has served one request and waits for the next.
    const kept = await openSocket(door.url)
    kept.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`)
    await new Promise<void>((resolve) => kept.socket.once('data', () => resolve()))

    await bounded(door.close(), 20_000, 'close() with idle sockets open')
    await bounded(Promise.all([preconnected.closed, kept.closed]), 5_000, 'the idle sockets to end')
  })

  it('lets a request in flight finish with its answer, then ends its socket', async () => {
    const door = await startHttpServer(s.runtime, { host: '127.0.0.1', port: 0, logger: silentLogger(), drainMs: NEVER })
    const gate = fx.gate('http-close-in-flight')
    try {
      // A raw keep-alive client that never closes its side: only the server can end the socket.
      const client = await openSocket(door.url)
      let received = ''
      client.socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')))
      const body = JSON.stringify({ url: fx.url('/gate/http-close-in-flight') })
      client.socket.write(
        `POST /md HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      )
      await gate.reached
      const closing = door.close()
      gate.release()
      await bounded(client.closed, 30_000, 'the server to end the socket once the answer is out')
      await bounded(closing, 20_000, 'close() once the request in flight has its answer')
      expect(received).toMatch(/^HTTP\/1\.1 200 /)
      expect(received).toContain('"markdown"')
    } finally {
      gate.release()
    }
  })

  it('ends a live monitor stream (an open dashboard) instead of waiting for it', async () => {
    const door = await startHttpServer(s.runtime, { host: '127.0.0.1', port: 0, logger: silentLogger(), drainMs: NEVER })
    const controller = new AbortController()
    try {
      const res = await fetch(door.url + '/monitor/stream', { signal: controller.signal })
      expect(res.headers.get('content-type')).toContain('text/event-stream')
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      await reader.read()
      await bounded(door.close(), 20_000, 'close() with a live stream open')
      // The stream ended the way streams end, with an end event, not by a cut connection.
      let rest = ''
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value)
      expect(rest).toContain('event: end')
    } finally {
      controller.abort()
    }
  })
})
