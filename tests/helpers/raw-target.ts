import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, beforeEach, expect } from 'vitest'

/**
 * A TCP server on 127.0.0.1 that answers each request with exactly the bytes a test gives for
 * its path, valid HTTP or not (what no http.Server can be made to send). The request head is
 * read up to its blank line; the path is the request target's path (origin-form or absolute).
 */
export type RawAnswer =
  /** Written as latin1, then the connection is closed. */
  | string
  /** A chunked 200 whose body never ends: a chunk every 100 ms until the peer goes away. */
  | { endless: true; contentType?: string }

/**
 * Answers no target should give, by name: each must fail its own exchange and nothing else.
 * Node's parser rejects some (HPE_*); others it takes and Node then refuses to send on
 * (status 099, a control character in the reason phrase).
 */
export const HOSTILE_ANSWERS: Record<string, RawAnswer> = {
  status099: 'HTTP/1.1 099 X\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi',
  status101: 'HTTP/1.1 101 Switching Protocols\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi',
  upgrade101: 'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\nbytes of another protocol',
  status1000: 'HTTP/1.1 1000 X\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi',
  badreason: 'HTTP/1.1 200 O\x01K\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi',
  badheader: 'HTTP/1.1 200 OK\r\nx-bad: a\x01b\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi',
  badname: 'HTTP/1.1 200 OK\r\nx b: v\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nhi',
  nostatus: 'this is no HTTP at all\r\n\r\n',
  endless: { endless: true },
}

/** What the egress proxy's 502 says of each answer above that ends at once (the endless one does not). */
export const HOSTILE_ANSWER_REASONS: ReadonlyArray<[kind: string, reason: string]> = [
  ['status099', 'not a final HTTP status'],
  ['status101', 'not a final HTTP status'],
  ['upgrade101', 'switched protocols (101) on a request that asked for no upgrade'],
  ['status1000', 'not valid HTTP'],
  ['badreason', 'cannot be passed on'],
  ['badheader', 'not valid HTTP'],
  ['badname', 'not valid HTTP'],
  ['nostatus', 'not valid HTTP'],
]

export interface RawTarget {
  origin: string
  port: number
  /** Requests seen, by path. */
  hits: Map<string, number>
  /** Connections open right now (an endless answer's connection must not outlive the crawl). */
  open: number
  close(): Promise<void>
}

export async function startRawTarget(answers: (path: string) => RawAnswer | undefined): Promise<RawTarget> {
  const sockets = new Set<Socket>()
  const target: RawTarget = { origin: '', port: 0, hits: new Map(), open: 0, close: async () => {} }
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    target.open++
    let timer: NodeJS.Timeout | undefined
    socket.once('close', () => {
      sockets.delete(socket)
      target.open--
      clearInterval(timer)
    })
    socket.on('error', () => socket.destroy())
    let head = ''
    socket.setEncoding('latin1')
    const onData = (chunk: string) => {
      head += chunk
      if (!head.includes('\r\n\r\n')) return
      socket.off('data', onData)
      const requestTarget = head.split(' ')[1] ?? '/'
      const path = requestTarget.startsWith('http') ? new URL(requestTarget).pathname : (requestTarget.split('?')[0] ?? '/')
      target.hits.set(path, (target.hits.get(path) ?? 0) + 1)
      const answer = answers(path) ?? 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'
      if (typeof answer === 'string') {
        socket.end(Buffer.from(answer, 'latin1'))
        return
      }
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: ${answer.contentType ?? 'text/plain'}\r\ntransfer-encoding: chunked\r\ncache-control: no-store\r\n\r\n`)
      const piece = answer.contentType?.startsWith('text/html') ? '<p>more</p>\n' : 'more\n'
      timer = setInterval(() => socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`), 100)
    }
    socket.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  target.port = (server.address() as AddressInfo).port
  target.origin = `http://127.0.0.1:${target.port}`
  target.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
  return target
}

/**
 * Collects what would end the process: an exception no handler caught or a rejection nobody
 * handled. `failed` rejects with the first of them, so a test can race its exchange against it
 * and fail with the cause instead of a timeout.
 */
export function watchProcess(): { errors: unknown[]; failed: Promise<never>; stop(): void } {
  const errors: unknown[] = []
  let reject: (err: unknown) => void = () => {}
  const failed = new Promise<never>((_, r) => (reject = r))
  // Raced, never awaited alone: without this, a failure after the race would go unhandled itself.
  failed.catch(() => undefined)
  const onError = (err: unknown) => {
    errors.push(err)
    reject(err)
  }
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)
  return {
    errors,
    failed,
    stop() {
      process.off('uncaughtException', onError)
      process.off('unhandledRejection', onError)
    },
  }
}

/**
 * watchProcess around every test of the enclosing suite: each test gets a fresh watcher, and a
 * test after which anything went uncaught fails. The getter returns the current test's watcher.
 */
export function watchEachTest(): () => ReturnType<typeof watchProcess> {
  let watch = watchProcess()
  watch.stop()
  beforeEach(() => {
    watch = watchProcess()
  })
  afterEach(() => {
    watch.stop()
    expect(watch.errors).toEqual([])
  })
  return () => watch
}
