import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AddressPolicy, blocksPrivateTargets, parseCidr } from '../src/main/core/egress/address-policy.js'
import { EgressGuard } from '../src/main/core/egress/guard.js'
import { EGRESS_HEADER, EgressProxy } from '../src/main/core/egress/proxy.js'
import type { Lookup } from '../src/main/core/egress/resolve.js'
import type { ConfigInput } from '../src/main/core/config.js'
import { createRuntime } from '../src/main/core/runtime.js'
import { silentLogger } from '../src/main/core/logger.js'
import { BrowserConfigSchema } from '../src/shared/crawl-schemas.js'
import { ValidationError } from '../src/main/core/errors.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HOSTILE_ANSWER_REASONS, HOSTILE_ANSWERS, startRawTarget, watchEachTest, type RawTarget } from './helpers/raw-target.js'
import { waitFor } from './helpers/service.js'

/**
 * The egress guard without a browser: which addresses are refused, when the option is on by
 * default, and the proxy itself over real sockets (CONNECT, absolute-form http with keep-alive
 * and streamed bodies, DNS rebinding through an injected lookup).
 */

describe('address policy', () => {
  const policy = new AddressPolicy()

  it.each([
    ['0.1.2.3', '0.0.0.0/8'],
    ['10.0.0.1', '10.0.0.0/8'],
    ['100.64.1.1', '100.64.0.0/10'],
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.9.9.9', '127.0.0.0/8'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['172.16.0.1', '172.16.0.0/12'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.0.0.8', '192.0.0.0/24'],
    ['192.168.1.1', '192.168.0.0/16'],
    ['198.19.0.1', '198.18.0.0/15'],
    ['224.0.0.1', '224.0.0.0/4'],
    ['240.0.0.1', '240.0.0.0/4'],
    ['255.255.255.255', '240.0.0.0/4'],
    ['::', '::/128'],
    ['::1', '::1/128'],
    ['fd12:3456::1', 'fc00::/7'],
    ['fe80::1', 'fe80::/10'],
    ['ff02::1', 'ff00::/8'],
    ['::ffff:10.0.0.1', '10.0.0.0/8'],
    ['::ffff:7f00:1', '127.0.0.0/8'],
    ['::169.254.169.254', '169.254.0.0/16'],
    ['64:ff9b::10.1.2.3', '10.0.0.0/8'],
    ['64:ff9b::7f00:1', '127.0.0.0/8'],
    // Local-use NAT64 translates into whatever network its operator chose: refused as a whole.
    ['64:ff9b:1::808:808', '64:ff9b:1::/48'],
    ['64:ff9b:1:ffff::1', '64:ff9b:1::/48'],
    // Every notation of an IPv6 address that carries an IPv4 one is judged by that IPv4 address.
    ['0:0:0:0:0:FFFF:169.254.169.254', '169.254.0.0/16'],
    ['::ffff:0:10.0.0.1', '10.0.0.0/8'],
    ['::ffff:0:a9fe:a9fe', '169.254.0.0/16'],
    ['2002:a9fe:a9fe::1', '169.254.0.0/16'],
    ['2002:7f00:1::', '127.0.0.0/8'],
    // Teredo: a private server (10.0.0.1), or a private client behind its flipped bits (~10.0.0.1).
    ['2001:0:a00:1::f7f7:f7f7', '10.0.0.0/8'],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', '10.0.0.0/8'],
  ])('refuses %s (%s)', (address, range) => {
    expect(policy.blocked(address)?.range).toContain(range)
  })

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '192.169.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '::ffff:0:8.8.8.8',
    '64:ff9b:2::1',
    '2002:808:808::1',
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
  ])('lets %s through', (address) => {
    expect(policy.blocked(address)).toBeNull()
  })

  it('an allow-list exempts exactly its networks, in every notation of them', () => {
    const allowing = new AddressPolicy(['127.0.0.1/32', '10.20.0.0/16', 'fd00::5'])
    expect(allowing.blocked('127.0.0.1')).toBeNull()
    expect(allowing.blocked('::ffff:127.0.0.1')).toBeNull()
    expect(allowing.blocked('127.0.0.2')).not.toBeNull()
    expect(allowing.blocked('10.20.9.9')).toBeNull()
    expect(allowing.blocked('10.21.0.1')).not.toBeNull()
    expect(allowing.blocked('fd00::5')).toBeNull()
    expect(allowing.blocked('fd00::6')).not.toBeNull()
  })

  it('a refusal of an embedded address names the form and the address inside', () => {
    expect(policy.blocked('2002:a9fe:a9fe::1')?.range).toBe('169.254.0.0/16 (link-local (cloud metadata)) embedded in IPv6 (6to4 169.254.169.254)')
    expect(policy.blocked('2001:0:4136:e378:8000:63bf:f5ff:fffe')?.range).toContain('(Teredo client 10.0.0.1)')
    expect(policy.blocked('::ffff:0:10.0.0.1')?.range).toContain('(IPv4-translated 10.0.0.1)')
  })

  it('an allow-list exempts an embedded address like the address itself', () => {
    const allowing = new AddressPolicy(['10.20.0.0/16'])
    expect(allowing.blocked('2002:a14:1::')).toBeNull()
    expect(allowing.blocked('::ffff:0:10.20.0.1')).toBeNull()
    expect(allowing.blocked('2002:a15:1::')).not.toBeNull()
  })

  it('parses IPs and CIDRs and nothing else', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' })
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' })
    for (const bad of ['10.0.0.0/33', 'intranet.local', '10.0.0/8', '::1/129', '10.0.0.0/', '']) expect(parseCidr(bad)).toBeNull()
  })
})

describe('block_private_targets default', () => {
  it.each([
    ['0.0.0.0', true],
    ['192.168.1.20', true],
    ['10.0.0.5', true],
    ['::', true],
    ['crawler.example.com', true],
    ['127.0.0.1', false],
    ['127.0.1.1', false],
    ['::1', false],
    ['[::1]', false],
    ['localhost', false],
  ])('host %s: on = %s', (host, on) => {
    expect(blocksPrivateTargets({ block_private_targets: null, host })).toBe(on)
  })

  it('an explicit value wins over the bind address', () => {
    expect(blocksPrivateTargets({ block_private_targets: false, host: '0.0.0.0' })).toBe(false)
    expect(blocksPrivateTargets({ block_private_targets: true, host: '127.0.0.1' })).toBe(true)
  })

  // Behind a reverse proxy the bind is loopback, yet others call the service: whatever says so
  // turns the default on.
  it.each([
    ['allowed_hosts', { allowed_hosts: ['public.example'] }],
    ['cors_origins', { cors_origins: ['https://ops.example'] }],
    ['admin_tokens', { admin_tokens: ['admin-token-aaaaaaaaaaaa'] }],
    ['crawl_tokens', { crawl_tokens: ['crawl-token-cccccccccccc'] }],
    ['read_tokens', { read_tokens: ['read-token-rrrrrrrrrrrrr'] }],
  ])('a loopback bind with %s: on unless set to false', (_, extra) => {
    expect(blocksPrivateTargets({ block_private_targets: null, host: '127.0.0.1', ...extra })).toBe(true)
    expect(blocksPrivateTargets({ block_private_targets: false, host: '127.0.0.1', ...extra })).toBe(false)
  })

  it('a loopback bind with empty lists stays off', () => {
    expect(
      blocksPrivateTargets({
        block_private_targets: null,
        host: '127.0.0.1',
        allowed_hosts: [],
        cors_origins: [],
        admin_tokens: [],
        crawl_tokens: [],
        read_tokens: [],
      }),
    ).toBe(false)
  })

  it('the runtime starts the guard for a 0.0.0.0 bind, for a loopback one others reach, and not for a local one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crawldeck-egress-'))
    try {
      const cases: Array<[ConfigInput, boolean]> = [
        [{ host: '0.0.0.0' }, true],
        [{ host: '127.0.0.1' }, false],
        [{ host: '127.0.0.1', allowed_hosts: ['public.example'] }, true],
        [{ host: '127.0.0.1', crawl_tokens: ['crawl-token-cccccccccccc'] }, true],
        [{ host: '127.0.0.1', crawl_tokens: ['crawl-token-cccccccccccc'], block_private_targets: false }, false],
      ]
      for (const [config, on] of cases) {
        const runtime = await createRuntime({ ...config, data_dir: dir, launch_permanent: false, port: 0 }, { logger: silentLogger() })
        try {
          expect(runtime.egress !== null, JSON.stringify(config)).toBe(on)
        } finally {
          await runtime.close()
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------------------
// The proxy over real sockets.

interface Target {
  server: Server
  port: number
  /** TCP connections accepted (a refused target must see none). */
  connections: number
  requests: Array<{ method: string; url: string; body: string; headers: IncomingHttpHeaders }>
  close(): Promise<void>
}

/** An HTTP server on `host` that records what reaches it; /stream answers in chunks with a pause. */
async function startTarget(host: string): Promise<Target> {
  const t: Target = { server: null as unknown as Server, port: 0, connections: 0, requests: [], close: async () => {} }
  const sockets = new Set<Socket>()
  t.server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => (body += c))
    req.on('end', () => {
      t.requests.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers })
      if (req.url === '/cut') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 1000 })
        res.write('partial')
        // Once the partial body is on the wire, the target dies mid-answer.
        setImmediate(() => req.socket.destroy())
        return
      }
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('first;')
        // The second chunk waits for the test to have read the first: proves nothing is buffered.
        streamGate = () => res.end('second')
        return
      }
      const text = `${req.method} ${req.url} ${body.length}`
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text), 'x-seen-host': req.headers.host ?? '' })
      res.end(text)
    })
  })
  t.server.on('connection', (s: Socket) => {
    t.connections++
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => t.server.listen(0, host, () => r()))
  t.port = (t.server.address() as AddressInfo).port
  t.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy()
      t.server.close(() => r())
    })
  return t
}

let streamGate: (() => void) | null = null

/** One raw exchange on a socket: sends `text`, resolves with everything read until the peer closes or `until` matches. */
function exchange(socket: Socket, text: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    socket.setEncoding('utf8')
    const onData = (c: string) => {
      got += c
      if (until?.test(got)) done()
    }
    const done = () => {
      socket.off('data', onData)
      resolve(got)
    }
    socket.on('data', onData)
    socket.once('end', done)
    socket.once('error', reject)
    socket.write(text)
  })
}

/** The Proxy-Authorization value carrying `proxy`'s per-run credentials (what Playwright sends for our browsers). */
function basic(proxy: EgressProxy, username = proxy.credentials.username, password = proxy.credentials.password): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
}

/** The same as a raw header line, CRLF included. */
function authLine(proxy: EgressProxy): string {
  return `Proxy-Authorization: ${basic(proxy)}\r\n`
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

describe('egress proxy', () => {
  let allowed: Target
  let blocked: Target
  let proxy: EgressProxy
  const opened: Socket[] = []

  beforeAll(async () => {
    ;[allowed, blocked] = await Promise.all([startTarget('127.0.0.1'), startTarget('127.0.0.2')])
    proxy = new EgressProxy(new AddressPolicy(['127.0.0.1/32']))
    await proxy.start()
  })

  afterAll(async () => {
    await proxy?.close()
    await Promise.all([allowed?.close(), blocked?.close()])
  })

  afterEach(() => {
    for (const s of opened.splice(0)) s.destroy()
  })

  async function socketToProxy(): Promise<Socket> {
    const s = await openSocket(Number(new URL(proxy.serverUrl).port))
    opened.push(s)
    return s
  }

  it('CONNECT to a blocked address is refused with 403 and the guard header; the target sees no connection', async () => {
    const s = await socketToProxy()
    const reply = await exchange(s, `CONNECT 127.0.0.2:${blocked.port} HTTP/1.1\r\nHost: 127.0.0.2:${blocked.port}\r\n${authLine(proxy)}\r\n`)
    expect(reply).toMatch(/^HTTP\/1\.1 403 /)
    expect(reply.toLowerCase()).toContain(`${EGRESS_HEADER}: blocked`)
    expect(reply).toContain('127.0.0.2 is in 127.0.0.0/8 (loopback)')
    expect(reply).toContain('block_private_targets')
    expect(blocked.connections).toBe(0)
    expect(proxy.refusalFor(`https://127.0.0.2:${blocked.port}/`)?.kind).toBe('blocked')
  })

  it('CONNECT to an IPv6 loopback and to cloud metadata is refused', async () => {
    for (const authority of ['[::1]:443', '169.254.169.254:443', '[::ffff:10.0.0.1]:443']) {
      const s = await socketToProxy()
      const reply = await exchange(s, `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${authLine(proxy)}\r\n`)
      expect(reply, authority).toMatch(/^HTTP\/1\.1 403 /)
    }
  })

  it('CONNECT to an allowed address tunnels bytes both ways', async () => {
    const s = await socketToProxy()
    const established = await exchange(s, `CONNECT 127.0.0.1:${allowed.port} HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\n${authLine(proxy)}\r\n`, /\r\n\r\n/)
    expect(established).toMatch(/^HTTP\/1\.1 200 /)
    const reply = await exchange(s, `GET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    expect(reply).toContain('GET /tunnelled 0')
  })

  it('absolute-form http: keep-alive on one client connection, request bodies forwarded, Host kept', async () => {
    const s = await socketToProxy()
    const base = `http://127.0.0.1:${allowed.port}`
    const first = await exchange(
      s,
      `GET ${base}/one?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\nProxy-Connection: keep-alive\r\n${authLine(proxy)}\r\n`,
      /GET \/one\?q=1 0$/,
    )
    expect(first).toMatch(/^HTTP\/1\.1 200 /)
    expect(first.toLowerCase()).toContain(`x-seen-host: 127.0.0.1:${allowed.port}`)
    const body = 'x'.repeat(100_000)
    const second = await exchange(
      s,
      `POST ${base}/two HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\nContent-Length: ${body.length}\r\n${authLine(proxy)}\r\n${body}`,
      /POST \/two 100000$/,
    )
    expect(second).toMatch(/^HTTP\/1\.1 200 /)
    expect(allowed.requests.find((r) => r.url === '/two')?.body.length).toBe(100_000)
  })

  it('absolute-form http streams the answer: the first chunk arrives before the target ends it', async () => {
    streamGate = null
    const chunks: string[] = []
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: Number(new URL(proxy.serverUrl).port),
          path: `http://127.0.0.1:${allowed.port}/stream`,
          headers: { 'proxy-authorization': basic(proxy) },
        },
        (res: IncomingMessage) => {
          res.setEncoding('utf8')
          res.on('data', (c: string) => {
            chunks.push(c)
            if (chunks.join('') === 'first;') streamGate?.()
          })
          res.on('end', () => resolve())
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end()
    })
    expect(chunks.join('')).toBe('first;second')
  })

  it("a target that dies mid-answer ends the browser's connection too (no hang)", async () => {
    const s = await socketToProxy()
    // Resolves on 'end' (or a reset): the proxy must not keep the half-answered client waiting.
    const got = await exchange(s, `GET http://127.0.0.1:${allowed.port}/cut HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\n${authLine(proxy)}\r\n`).catch(
      (e: Error) => `reset: ${e.message}`,
    )
    expect(got).toMatch(/partial|reset/)
  })

  it('absolute-form http to a blocked address is a 403 naming the block; the target sees nothing', async () => {
    const s = await socketToProxy()
    const reply = await exchange(
      s,
      `GET http://127.0.0.2:${blocked.port}/pixel HTTP/1.1\r\nHost: 127.0.0.2:${blocked.port}\r\n${authLine(proxy)}\r\n`,
      /block_private_targets\)$/,
    )
    expect(reply).toMatch(/^HTTP\/1\.1 403 /)
    expect(reply.toLowerCase()).toContain(`${EGRESS_HEADER}: blocked`)
    expect(blocked.connections).toBe(0)
  })

  describe('DNS rebinding', () => {
    /** A name whose answers change per call, counting the calls. */
    function rebinding(answers: string[][]): Lookup & { calls: number } {
      const fn = Object.assign(
        async () => {
          const list = answers[Math.min(fn.calls, answers.length - 1)] as string[]
          fn.calls++
          return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
        },
        { calls: 0 },
      )
      return fn
    }

    it('a name public at the pre-check and private at connect time is refused at connect time', async () => {
      const lookup = rebinding([['203.0.113.7'], ['127.0.0.2']])
      const guard = await EgressGuard.start(['127.0.0.1/32'], lookup)
      try {
        // The API's pre-check sees the public answer and lets the request through...
        await guard.checkRequest([`http://rebind.test:${blocked.port}/`], () => 'url', BrowserConfigSchema.parse({}))
        // ...the browser's connection through the proxy resolves again and meets the private one.
        const s = await openSocket(Number(new URL(guard.proxy.serverUrl).port))
        opened.push(s)
        const reply = await exchange(
          s,
          `GET http://rebind.test:${blocked.port}/ HTTP/1.1\r\nHost: rebind.test:${blocked.port}\r\n${authLine(guard.proxy)}\r\n`,
          /block_private_targets\)$/,
        )
        expect(reply).toMatch(/^HTTP\/1\.1 403 /)
        expect(reply).toContain('127.0.0.2 (rebind.test resolves to it)')
        expect(blocked.connections).toBe(0)
        expect(lookup.calls).toBe(2)
      } finally {
        await guard.close()
      }
    })

    it('the proxy connects to the address it checked: one lookup, no second resolution', async () => {
      // First answer allowed (127.0.0.1), any later one private: a second lookup would land on 127.0.0.2.
      const lookup = rebinding([['127.0.0.1'], ['127.0.0.2']])
      const proxy2 = new EgressProxy(new AddressPolicy(['127.0.0.1/32']), lookup)
      await proxy2.start()
      try {
        const before = allowed.requests.length
        const s = await openSocket(Number(new URL(proxy2.serverUrl).port))
        opened.push(s)
        const reply = await exchange(
          s,
          `GET http://rebind.test:${allowed.port}/checked HTTP/1.1\r\nHost: rebind.test:${allowed.port}\r\n${authLine(proxy2)}\r\n`,
          /GET \/checked 0$/,
        )
        expect(reply).toMatch(/^HTTP\/1\.1 200 /)
        expect(allowed.requests.length).toBe(before + 1)
        expect(lookup.calls).toBe(1)
      } finally {
        await proxy2.close()
      }
    })

    it('a name with one public and one private address is refused', async () => {
      const lookup = rebinding([['203.0.113.7', '10.1.2.3']])
      const guard = await EgressGuard.start([], lookup)
      try {
        const err = await guard.checkRequest(['http://mixed.test/'], () => 'url', BrowserConfigSchema.parse({})).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(ValidationError)
        expect((err as Error).message).toContain('http://mixed.test/ resolves to 10.1.2.3, in 10.0.0.0/8 (private)')
        expect((err as Error).message).toContain('block_private_targets')
      } finally {
        await guard.close()
      }
    })
  })

  describe('credentials', () => {
    it("every request and CONNECT without this run's credentials is a 407 asking for Basic; the target sees nothing", async () => {
      const before = { connections: allowed.connections, requests: allowed.requests.length }
      const wrong = `Proxy-Authorization: ${basic(proxy, proxy.credentials.username, 'not-the-password')}\r\n`
      const otherRun = new EgressProxy(new AddressPolicy(['127.0.0.1/32']))
      const stale = `Proxy-Authorization: ${basic(otherRun)}\r\n`
      for (const [what, auth] of [
        ['none', ''],
        ['wrong password', wrong],
        ["another run's", stale],
        ['not Basic', 'Proxy-Authorization: Bearer x\r\n'],
      ] as const) {
        // Read up to the end of the answer's head: an accepted CONNECT would stay open as a tunnel.
        const connect = await exchange(
          await socketToProxy(),
          `CONNECT 127.0.0.1:${allowed.port} HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\n${auth}\r\n`,
          /\r\n\r\n/,
        )
        expect(connect, `CONNECT, ${what}`).toMatch(/^HTTP\/1\.1 407 /)
        expect(connect.toLowerCase(), `CONNECT, ${what}`).toContain('proxy-authenticate: basic realm=')
        const get = await exchange(
          await socketToProxy(),
          `GET http://127.0.0.1:${allowed.port}/secret HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\nConnection: close\r\n${auth}\r\n`,
        )
        expect(get, `GET, ${what}`).toMatch(/^HTTP\/1\.1 407 /)
        expect(get.toLowerCase(), `GET, ${what}`).toContain('proxy-authenticate: basic realm=')
      }
      expect(allowed.connections).toBe(before.connections)
      expect(allowed.requests.length).toBe(before.requests)
    })

    it('each run has its own random credentials, and they are never forwarded to the target', async () => {
      const other = new EgressProxy(new AddressPolicy())
      expect(other.credentials.username).not.toBe(proxy.credentials.username)
      expect(other.credentials.password).not.toBe(proxy.credentials.password)
      expect(proxy.credentials.password.length).toBeGreaterThanOrEqual(32)
      const s = await socketToProxy()
      const reply = await exchange(
        s,
        `GET http://127.0.0.1:${allowed.port}/echo HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\nConnection: close\r\n${authLine(proxy)}\r\n`,
      )
      expect(reply).toMatch(/^HTTP\/1\.1 200 /)
      expect(allowed.requests.at(-1)?.url).toBe('/echo')
      expect(allowed.requests.at(-1)?.headers).not.toHaveProperty('proxy-authorization')
    })
  })

  describe('hostile clients and targets fail their own connection only', () => {
    const watch = watchEachTest()
    let raw: RawTarget

    beforeAll(async () => {
      raw = await startRawTarget((path) => HOSTILE_ANSWERS[path.slice(1)])
    })

    afterAll(async () => {
      await raw?.close()
    })

    /** The proxy still relays: the check after every hostile exchange. */
    async function stillWorks(): Promise<void> {
      const s = await socketToProxy()
      const reply = await Promise.race([
        exchange(s, `GET http://127.0.0.1:${allowed.port}/after HTTP/1.1\r\nHost: 127.0.0.1:${allowed.port}\r\nConnection: close\r\n${authLine(proxy)}\r\n`),
        watch().failed,
      ])
      expect(reply).toMatch(/^HTTP\/1\.1 200 /)
    }

    it.each([
      ['CONNECT 1.2.3.4:99999', /^HTTP\/1\.1 400 /],
      ['CONNECT 1.2.3.4:0', /^HTTP\/1\.1 400 /],
      ['CONNECT [::1]:0', /^HTTP\/1\.1 400 /],
      ['CONNECT :0', /^HTTP\/1\.1 400 /],
    ])('%s (with credentials) is a 400', async (line, expected) => {
      const s = await socketToProxy()
      const reply = await Promise.race([exchange(s, `${line} HTTP/1.1\r\nHost: x\r\n${authLine(proxy)}\r\n`), watch().failed])
      expect(reply).toMatch(expected)
      await stillWorks()
    })

    it('an absolute-form request to port 0 is a 400, not a request to port 80', async () => {
      const s = await socketToProxy()
      const reply = await Promise.race([
        exchange(s, `GET http://127.0.0.1:0/ HTTP/1.1\r\nHost: 127.0.0.1:0\r\nConnection: close\r\n${authLine(proxy)}\r\n`),
        watch().failed,
      ])
      expect(reply).toMatch(/^HTTP\/1\.1 400 /)
    })

    it.each([
      ['binary garbage', '\x00\x01\x02\xff\xfe garbage\r\n\r\n'],
      ['a request line of spaces', '   \r\n\r\n'],
      ['a header without a colon', `GET http://127.0.0.1:1/ HTTP/1.1\r\nno colon here\r\n\r\n`],
      ['a TLS hello to the plain proxy', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'],
    ])('%s gets a 400', async (_, bytes) => {
      const s = await socketToProxy()
      const reply = await Promise.race([exchange(s, bytes), watch().failed])
      expect(reply).toMatch(/^HTTP\/1\.1 400 /)
      await stillWorks()
    })

    it.each(HOSTILE_ANSWER_REASONS)('a target answering %s is a 502 naming the problem', async (kind, message) => {
      const s = await socketToProxy()
      const reply = await Promise.race([
        exchange(s, `GET http://127.0.0.1:${raw.port}/${kind} HTTP/1.1\r\nHost: 127.0.0.1:${raw.port}\r\nConnection: close\r\n${authLine(proxy)}\r\n`),
        watch().failed,
      ])
      expect(reply).toMatch(/^HTTP\/1\.1 502 /)
      expect(reply.toLowerCase()).toContain(`${EGRESS_HEADER}: invalid_answer`)
      expect(reply).toContain(message)
      expect(proxy.refusalFor(`http://127.0.0.1:${raw.port}/${kind}`)?.kind).toBe('invalid_answer')
      await stillWorks()
    })

    it("a never-ending chunked body is relayed as it comes, and the target's connection ends with the client's", async () => {
      const s = await socketToProxy()
      const reply = await Promise.race([
        exchange(s, `GET http://127.0.0.1:${raw.port}/endless HTTP/1.1\r\nHost: 127.0.0.1:${raw.port}\r\n${authLine(proxy)}\r\n`, /more\n\r\n.*more\n/s),
        watch().failed,
      ])
      expect(reply).toMatch(/^HTTP\/1\.1 200 /)
      expect(raw.open).toBeGreaterThan(0)
      s.destroy()
      await waitFor(() => raw.open === 0, 10_000, "the endless answer's upstream connection to close")
      await stillWorks()
    })
  })
})
