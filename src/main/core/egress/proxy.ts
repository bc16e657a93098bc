import http from 'node:http'
import net from 'node:net'
import type { AddressPolicy } from './address-policy.js'
import { resolveTarget, systemLookup, type Lookup } from './resolve.js'

/** The header every refusal carries, so the crawler can tell it from a real 403 of the target. */
export const EGRESS_HEADER = 'x-crawldeck-egress'

/** One refused connection, remembered so a failed navigation can say why. */
export interface Refusal {
  /** host:port as the browser asked for it. */
  authority: string
  /** blocked: a refused address; the others are answers a direct connection would also have failed with. */
  kind: 'blocked' | 'unresolved' | 'unreachable'
  message: string
}

const REFUSALS_KEPT = 256

/** Headers that describe one hop; never forwarded (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade'])

/**
 * The egress guard: a forward HTTP proxy on 127.0.0.1 that every browser uses when private
 * targets are refused. It resolves each name itself, refuses it if ANY address is blocked, and
 * then connects to the address it checked, so a name that rebinds between the check and the
 * connection cannot reach a private address. CONNECT carries https and websockets (Chromium
 * tunnels ws:// through CONNECT too); absolute-form requests carry plain http, streamed both
 * ways. A refusal is a 403 with `x-crawldeck-egress: blocked` and a one-line reason.
 */
export class EgressProxy {
  private readonly server: http.Server
  private readonly sockets = new Set<net.Socket>()
  private readonly refusals = new Map<string, Refusal>()
  private readonly agent = new http.Agent({ keepAlive: true })
  private port = 0

  constructor(
    private readonly policy: AddressPolicy,
    private readonly lookup: Lookup = systemLookup,
  ) {
    this.server = http.createServer((req, res) => this.onRequest(req, res))
    this.server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.onConnect(req, socket, head))
    this.server.on('connection', (socket: net.Socket) => this.track(socket))
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

  /** Resolve and check; null with the answer already sent when the target is refused or unknown. */
  private async target(host: string, authority: string, deny: (status: number, refusal: Refusal) => void): Promise<string | null> {
    const r = await resolveTarget(host, this.policy, this.lookup)
    if (r.kind === 'ok') return r.address
    if (r.kind === 'blocked') {
      const via = r.blocked.address === host.replace(/^\[|\]$/g, '') ? '' : ` (${host} resolves to it)`
      const message = `${r.blocked.address}${via} is in ${r.blocked.range}; private and link-local targets are refused (block_private_targets)`
      deny(403, this.remember({ authority, kind: 'blocked', message }))
    } else deny(502, this.remember({ authority, kind: 'unresolved', message: `cannot resolve ${host}: ${r.error}` }))
    return null
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    let url: URL
    try {
      url = new URL(req.url ?? '')
    } catch {
      return answer(res, 400, null, 'this is a forward proxy: send absolute-form http:// requests or CONNECT')
    }
    if (url.protocol !== 'http:') return answer(res, 400, null, `unsupported scheme ${url.protocol}`)
    const port = Number(url.port) || 80
    void this.target(url.hostname, `${url.hostname}:${port}`, (status, refusal) => answer(res, status, refusal)).then((address) => {
      if (address === null) return
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
        res.writeHead(up.statusCode ?? 502, up.statusMessage, forwardable(up.rawHeaders))
        up.pipe(res)
        // The target cut its answer short: cut the browser's too, rather than leave it waiting.
        up.once('close', () => {
          if (!up.complete) res.destroy()
        })
      })
      upstream.on('error', (err) => {
        if (res.headersSent) res.destroy()
        else answer(res, 502, this.remember({ authority: `${url.hostname}:${port}`, kind: 'unreachable', message: `cannot connect to ${address}:${port}: ${errorCode(err)}` }))
      })
      // The browser gave up (page closed): drop the upstream request with it.
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy()
      })
      req.pipe(upstream)
    })
  }

  private onConnect(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    client.on('error', () => client.destroy())
    const authority = req.url ?? ''
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority)
    if (!m) return rawAnswer(client, 400, null, 'CONNECT needs host:port')
    const host = m[1] as string
    const port = Number(m[2])
    void this.target(host, authority, (status, refusal) => rawAnswer(client, status, refusal)).then((address) => {
      if (address === null || client.destroyed) return
      const upstream = net.connect({ host: address, port })
      this.track(upstream)
      let connected = false
      upstream.once('connect', () => {
        connected = true
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        if (head.length > 0) upstream.write(head)
        upstream.pipe(client)
        client.pipe(upstream)
      })
      upstream.on('error', (err) => {
        if (connected) client.destroy()
        else rawAnswer(client, 502, this.remember({ authority, kind: 'unreachable', message: `cannot connect to ${address}:${port}: ${errorCode(err)}` }))
      })
      client.once('close', () => upstream.destroy())
      upstream.once('close', () => client.destroy())
    })
  }
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

function errorCode(err: Error): string {
  return (err as { code?: string }).code ?? err.message
}

/** The proxy's own answer; a refusal names itself in EGRESS_HEADER (blocked, unresolved, unreachable). */
function answer(res: http.ServerResponse, status: number, refusal: Refusal | null, text = refusal?.message ?? ''): void {
  const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) }
  if (refusal) headers[EGRESS_HEADER] = refusal.kind
  res.writeHead(status, headers)
  res.end(text)
}

function rawAnswer(socket: net.Socket, status: number, refusal: Refusal | null, text = refusal?.message ?? ''): void {
  const reason = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway'
  const extra = refusal ? `${EGRESS_HEADER}: ${refusal.kind}\r\n` : ''
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\n${extra}content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`)
}
