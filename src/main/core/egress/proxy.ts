import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import type { AddressPolicy } from './address-policy.js'
import { LOOKUP_TIMEOUT_MS, resolveTarget, systemLookup, type Lookup } from './resolve.js'

/** The header every refusal carries, so the crawler can tell it from a real 403 of the target. */
export const EGRESS_HEADER = 'x-crawldeck-egress'

/** One refused connection, remembered so a failed navigation can say why. */
export interface Refusal {
  /** host:port as the browser asked for it. */
  authority: string
  /**
   * blocked: a refused address; the others are answers a direct connection would also have
   * failed with (invalid_answer: the target's answer is not HTTP the proxy can pass on).
   */
  kind: 'blocked' | 'unresolved' | 'unreachable' | 'invalid_answer'
  message: string
}

const REFUSALS_KEPT = 256

/** Headers that describe one hop; never forwarded (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade'])

/** What a 407 asks the browser for. */
const CHALLENGE = 'Basic realm="crawldeck egress guard"'

/**
 * The egress guard: a forward HTTP proxy on 127.0.0.1 that every browser uses when private
 * targets are refused. It resolves each name itself, refuses it if ANY address is blocked, and
 * then connects to the address it checked, so a name that rebinds between the check and the
 * connection cannot reach a private address. CONNECT carries https and websockets (Chromium
 * tunnels ws:// through CONNECT too); absolute-form requests carry plain http, streamed both
 * ways. A refusal is a 403 with `x-crawldeck-egress: blocked` and a one-line reason.
 *
 * It listens on 127.0.0.1, where any local user could use it as a way out (or in): every request
 * and CONNECT must carry this run's random credentials (Proxy-Authorization: Basic), which only
 * our browsers are launched with; anything else is a 407. Nothing a client sends or a target
 * answers may fail more than its own connection: the proxy runs inside the service.
 */
export class EgressProxy {
  private readonly server: http.Server
  private readonly sockets = new Set<net.Socket>()
  private readonly refusals = new Map<string, Refusal>()
  private readonly agent = new http.Agent({ keepAlive: true })
  private port = 0
  /** This run's credentials, and the digest of "user:password" they are checked against. */
  readonly credentials = { username: randomBytes(12).toString('hex'), password: randomBytes(24).toString('base64url') }
  private readonly expected = sha256(`${this.credentials.username}:${this.credentials.password}`)

  constructor(
    private readonly policy: AddressPolicy,
    private readonly lookup: Lookup = systemLookup,
    private readonly lookupTimeoutMs = LOOKUP_TIMEOUT_MS,
  ) {
    this.server = http.createServer((req, res) => this.onRequest(req, res))
    this.server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.onConnect(req, socket, head))
    this.server.on('connection', (socket: net.Socket) => this.track(socket))
    // Unparsable requests are left to Node's default 'clientError' handling: a 400, then that
    // socket alone is closed (tests/egress-proxy.test.ts sends garbage).
    // A failed accept (EMFILE) is emitted on the server; unheard, it would end the process.
    this.server.on('error', () => undefined)
    // A browser's keep-alive connections may idle between crawls; Node's default of 5 s is fine.
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    this.port = (this.server.address() as net.AddressInfo).port
  }

  /** What browsers are launched with as their proxy. */
  get serverUrl(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    this.agent.destroy()
    await closed
  }

  /** Why the guard refused `url`'s host and port, if it did (recently). */
  refusalFor(url: string): Refusal | undefined {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return undefined
    }
    const port = parsed.port || (parsed.protocol === 'https:' || parsed.protocol === 'wss:' ? '443' : '80')
    return this.refusals.get(`${parsed.hostname}:${port}`.toLowerCase())
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket)
    socket.once('close', () => this.sockets.delete(socket))
  }

  private remember(refusal: Refusal): Refusal {
    const key = refusal.authority.toLowerCase()
    this.refusals.delete(key)
    this.refusals.set(key, refusal)
    if (this.refusals.size > REFUSALS_KEPT) this.refusals.delete(this.refusals.keys().next().value as string)
    return refusal
  }

  /** True when the request carries this run's credentials (compared in constant time). */
  private authorized(req: http.IncomingMessage): boolean {
    const m = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(req.headers['proxy-authorization'] ?? '')
    if (!m) return false
    // Digests have one length, so the comparison takes the same time whatever was sent.
    return timingSafeEqual(sha256(Buffer.from(m[1] as string, 'base64').toString('latin1')), this.expected)
  }

  /** Resolve and check; null with the answer already sent when the target is refused or unknown. */
  private async target(host: string, authority: string, deny: (status: number, refusal: Refusal) => void): Promise<string | null> {
    const r = await resolveTarget(host, this.policy, this.lookup, this.lookupTimeoutMs)
    if (r.kind === 'ok') return r.address
    if (r.kind === 'blocked') {
      const via = r.blocked.address === host.replace(/^\[|\]$/g, '') ? '' : ` (${host} resolves to it)`
      const message = `${r.blocked.address}${via} is in ${r.blocked.range}; private and link-local targets are refused (block_private_targets)`
      deny(403, this.remember({ authority, kind: 'blocked', message }))
    } else deny(502, this.remember({ authority, kind: 'unresolved', message: `cannot resolve ${host}: ${r.error}` }))
    return null
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    // The browser's side may fail (reset, aborted upload) at any time: that ends this exchange only.
    req.on('error', () => res.destroy())
    res.on('error', () => undefined)
    if (!this.authorized(req)) return answer(res, 407, null, 'proxy authentication required', { 'proxy-authenticate': CHALLENGE })
    let url: URL
    try {
      url = new URL(req.url ?? '')
    } catch {
      return answer(res, 400, null, 'this is a forward proxy: send absolute-form http:// requests or CONNECT')
    }
    if (url.protocol !== 'http:') return answer(res, 400, null, `unsupported scheme ${url.protocol}`)
    // The URL parser already refuses ports above 65535; 0 is no port to connect to.
    if (url.port === '0') return answer(res, 400, null, 'port 0 is not a port to connect to')
    const port = Number(url.port) || 80
    const authority = `${url.hostname}:${port}`
    // Once: an invalid answer is refused, then the upstream request torn down, which errors again.
    let failed = false
    const fail = (refusal: Refusal) => {
      if (failed) return
      failed = true
      if (res.headersSent) res.destroy()
      else answer(res, 502, this.remember(refusal))
    }
    this.target(url.hostname, authority, (status, refusal) => answer(res, status, refusal))
      .then((address) => {
        if (address === null || res.destroyed) return
        const upstream = http.request({
          host: address,
          port,
          method: req.method,
          path: url.pathname + url.search,
          headers: forwardable(req.rawHeaders),
          setHost: false,
          agent: this.agent,
        })
        upstream.on('response', (up) => {
          up.on('error', () => fail({ authority, kind: 'unreachable', message: `${authority} broke off its answer` }))
          const status = up.statusCode ?? 0
          // A final answer is 200-999 (Node's parser stops at three digits); 1xx are interim
          // answers, and a 101 outside an upgrade is no answer the browser can use.
          if (status < 200 || status > 999) {
            upstream.destroy()
            return fail({ authority, kind: 'invalid_answer', message: `${authority} answered with status ${status}, which is not a final HTTP status` })
          }
          try {
            res.writeHead(status, up.statusMessage, forwardable(up.rawHeaders))
          } catch (err) {
            // Node's parser takes some bytes (controls in the reason phrase, for one) that Node
            // refuses to send on: the target's answer cannot be relayed as it is.
            upstream.destroy()
            return fail({
              authority,
              kind: 'invalid_answer',
              message: `${authority} answered with a status line or header that cannot be passed on (${errorCode(err)})`,
            })
          }
          up.pipe(res)
          // The target cut its answer short: cut the browser's too, rather than leave it waiting.
          up.once('close', () => {
            if (!up.complete) res.destroy()
          })
        })
        // The request's Upgrade header is never forwarded (hop-by-hop): a 101 switching protocols
        // anyway is no answer to it. Unheard, Node would leave the request hanging.
        upstream.on('upgrade', (_up, socket: net.Socket) => {
          socket.destroy()
          fail({ authority, kind: 'invalid_answer', message: `${authority} switched protocols (101) on a request that asked for no upgrade` })
        })
        upstream.on('error', (err) => {
          const code = errorCode(err)
          // HPE_*: the target answered something that is not HTTP (no status line, a status of
          // four digits, a header with invalid characters).
          const refusal: Refusal = code.startsWith('HPE_')
            ? { authority, kind: 'invalid_answer', message: `${authority} answered with something that is not valid HTTP (${code})` }
            : { authority, kind: 'unreachable', message: `cannot connect to ${address}:${port}: ${code}` }
          fail(refusal)
        })
        // The browser gave up (page closed): drop the upstream request with it.
        res.on('close', () => {
          if (!res.writableFinished) upstream.destroy()
        })
        req.pipe(upstream)
      })
      .catch((err: unknown) => fail({ authority, kind: 'unreachable', message: `cannot connect to ${authority}: ${errorCode(err)}` }))
  }

  private onConnect(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    client.on('error', () => client.destroy())
    if (!this.authorized(req)) return rawAnswer(client, 407, null, 'proxy authentication required', `proxy-authenticate: ${CHALLENGE}\r\n`)
    const authority = req.url ?? ''
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority)
    if (!m) return rawAnswer(client, 400, null, 'CONNECT needs host:port')
    const host = m[1] as string
    const port = Number(m[2])
    if (port < 1 || port > 65535) return rawAnswer(client, 400, null, `CONNECT needs a port from 1 to 65535, not ${m[2]}`)
    const fail = (refusal: Refusal, connected: boolean) => (connected ? client.destroy() : rawAnswer(client, 502, this.remember(refusal)))
    let connected = false
    this.target(host, authority, (status, refusal) => rawAnswer(client, status, refusal))
      .then((address) => {
        if (address === null || client.destroyed) return
        const upstream = net.connect({ host: address, port })
        this.track(upstream)
        upstream.once('connect', () => {
          connected = true
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
          if (head.length > 0) upstream.write(head)
          upstream.pipe(client)
          client.pipe(upstream)
        })
        upstream.on('error', (err) => fail({ authority, kind: 'unreachable', message: `cannot connect to ${address}:${port}: ${errorCode(err)}` }, connected))
        client.once('close', () => upstream.destroy())
        upstream.once('close', () => client.destroy())
      })
      .catch((err: unknown) => fail({ authority, kind: 'unreachable', message: `cannot connect to ${authority}: ${errorCode(err)}` }, connected))
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'latin1').digest()
}

/** rawHeaders without hop-by-hop ones (and without those the Connection header names). */
function forwardable(raw: string[]): string[] {
  let named: Set<string> | null = null
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') {
      named ??= new Set()
      for (const n of (raw[i + 1] as string).split(',')) named.add(n.trim().toLowerCase())
    }
  }
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue
    out.push(raw[i] as string, raw[i + 1] as string)
  }
  return out
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null
  return String(e?.code ?? e?.message ?? err)
}

/** The proxy's own answer; a refusal names itself in EGRESS_HEADER (blocked, unresolved, unreachable, invalid_answer). */
function answer(res: http.ServerResponse, status: number, refusal: Refusal | null, text = refusal?.message ?? '', extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra }
  if (refusal) headers[EGRESS_HEADER] = refusal.kind
  // The reason phrase is given: a target's invalid one may already sit in res.statusMessage.
  res.writeHead(status, http.STATUS_CODES[status], headers)
  res.end(text)
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 407: 'Proxy Authentication Required', 502: 'Bad Gateway' }

function rawAnswer(socket: net.Socket, status: number, refusal: Refusal | null, text = refusal?.message ?? '', extraHeaders = ''): void {
  if (socket.destroyed) return
  const extra = (refusal ? `${EGRESS_HEADER}: ${refusal.kind}\r\n` : '') + extraHeaders
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\n${extra}content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  )
}
