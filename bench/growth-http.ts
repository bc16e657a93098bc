import { Agent, request as httpRequest, type IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'

/*
 * The bench's HTTP client: node:http over keep-alive sockets (far cheaper per request than fetch,
 * which matters when the client shares two cores with the server it loads), and a consuming
 * Server-Sent Events client.
 */

export interface Answer {
  status: number
  bytes: number
  ms: number
  body: string
}

export class GrowthClient {
  private readonly base: URL
  private readonly agent: Agent

  constructor(url: string, sockets: number) {
    this.base = new URL(url)
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets })
  }

  post(path: string, body: unknown): Promise<Answer> {
    return this.send('POST', path, JSON.stringify(body))
  }

  get(path: string): Promise<Answer> {
    return this.send('GET', path, null)
  }

  async getJson<T>(path: string): Promise<T> {
    const a = await this.get(path)
    if (a.status !== 200) throw new Error(`GET ${path} answered ${a.status}: ${a.body.slice(0, 200)}`)
    return JSON.parse(a.body) as T
  }

  private send(method: 'GET' | 'POST', path: string, payload: string | null, retried = false): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now()
      const headers: Record<string, string | number> =
        payload === null ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
      const req = httpRequest({ host: this.base.hostname, port: this.base.port, path, method, agent: this.agent, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const buf = Buffer.concat(chunks)
          resolve({ status: res.statusCode ?? 0, bytes: buf.length, ms: performance.now() - t0, body: buf.toString('utf8') })
        })
        res.on('error', reject)
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        // The server closed an idle keep-alive socket just as this request went out on it (the
        // race Node's docs describe for reusedSocket): nothing reached the service, send it again.
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET') this.send(method, path, payload, true).then(resolve, reject)
        else reject(err)
      })
      req.end(payload ?? undefined)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

/** One live dashboard's worth of traffic: GET /monitor/stream, every byte read, events counted. */
export class SseClient {
  messages = 0
  bytes = 0
  /** Resolves once the snapshot event has arrived (the subscription is in the feed's set). */
  readonly ready: Promise<void>
  /** Set when the server ended the stream on its own (e.g. a slow-client drop). */
  endedBy: string | null = null
  private readonly req: ReturnType<typeof httpRequest>
  private closed = false

  constructor(url: string) {
    const base = new URL(url)
    let onReady!: () => void
    let onFail!: (err: Error) => void
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve
      onFail = reject
    })
    this.ready.catch(() => undefined)
    let pending = ''
    let gotSnapshot = false
    this.req = httpRequest(
      { host: base.hostname, port: base.port, path: '/monitor/stream', method: 'GET', headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) onFail(new Error(`GET /monitor/stream answered ${res.statusCode}`))
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          this.bytes += Buffer.byteLength(chunk)
          pending += chunk
          let end = pending.indexOf('\n\n')
          while (end >= 0) {
            const event = pending.slice(0, end)
            pending = pending.slice(end + 2)
            const name = /^event: (.*)$/m.exec(event)?.[1]
            if (name !== undefined) {
              this.messages++
              if (!gotSnapshot && name === 'snapshot') {
                gotSnapshot = true
                onReady()
              }
              if (name === 'end') this.endedBy = /^data: (.*)$/m.exec(event)?.[1] ?? 'end'
            }
            end = pending.indexOf('\n\n')
          }
        })
        res.on('end', () => {
          if (!this.closed && this.endedBy === null) this.endedBy = 'connection ended'
        })
      },
    )
    this.req.on('error', (err) => {
      if (!this.closed) onFail(err)
    })
    this.req.end()
  }

  close(): void {
    this.closed = true
    this.req.destroy()
  }
}
