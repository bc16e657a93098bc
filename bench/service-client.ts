import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { ConfigInput } from '../src/main/core/config.js'
import { silentLogger } from '../src/main/core/logger.js'
import { createRuntime, type Runtime } from '../src/main/core/runtime.js'
import { startHttpServer, type HttpServer } from '../src/main/http/server.js'

/**
 * Server-side timestamps of one tracked request (performance.now() ms), taken from the engine's
 * own events: started -> queued -> acquiring -> navigating -> extracting -> finished.
 * Listening costs a Map write per event; the engine emits these events whether or not anyone listens.
 */
export interface ServerTrace {
  started: number
  queued?: number
  acquiring?: number
  navigating?: number
  extracting?: number
  finished?: number
}

/** One client-side request of (A): when fetch was called and when the parsed JSON was in hand. */
export interface ClientTiming {
  sent: number
  done: number
}

export interface BenchService {
  runtime: Runtime
  http: HttpServer
  url: string
  /** Every request the engine tracked, in the order they started. */
  traces: ServerTrace[]
  /** TCP connections the HTTP server accepted: shows whether keep-alive held. */
  connections(): number
  /** Browser launches after start-up (recycling, crash): one mid-run would skew the figures. */
  relaunches(): number
  close(): Promise<void>
}

/**
 * (A): the real crawldeck service in this process (engine + Koa door) on 127.0.0.1, silent, temp
 * data dir; `config` overrides defaults (bench/prewarm.ts compares prewarm_pages values).
 */
export async function startBenchService(config: ConfigInput = {}): Promise<BenchService> {
  const dataDir = await mkdtemp(join(tmpdir(), 'crawldeck-bench-'))
  const logger = silentLogger()
  let runtime: Runtime
  let http: HttpServer
  try {
    runtime = await createRuntime({ ...config, data_dir: dataDir, host: '127.0.0.1', port: 0 }, { logger })
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }
  try {
    http = await startHttpServer(runtime, { host: '127.0.0.1', port: 0, logger })
  } catch (err) {
    await runtime.close()
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }

  let connections = 0
  http.server.on('connection', () => connections++)
  let relaunches = 0
  runtime.events.on('browser:launched', () => relaunches++)

  const traces: ServerTrace[] = []
  const byId = new Map<string, ServerTrace>()
  runtime.events.on('request:started', ({ id }) => {
    const trace: ServerTrace = { started: performance.now() }
    traces.push(trace)
    byId.set(id, trace)
  })
  runtime.events.on('request:phase', ({ id, phase }) => {
    const trace = byId.get(id)
    if (trace) trace[phase] = performance.now()
  })
  runtime.events.on('request:finished', ({ id }) => {
    const trace = byId.get(id)
    if (trace) trace.finished = performance.now()
    byId.delete(id)
  })

  return {
    runtime,
    http,
    url: http.url,
    traces,
    connections: () => connections,
    relaunches: () => relaunches,
    async close() {
      await http.close()
      await runtime.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

interface HtmlAnswer {
  success?: boolean
  html?: string
  error?: string
}

/**
 * POST /html {url} the way a client would: Node's fetch (undici, whose global dispatcher keeps
 * connections alive), JSON in and out, the answer parsed. Returns the cleaned HTML's length.
 */
export async function postHtml(baseUrl: string, pageUrl: string, timings?: ClientTiming[]): Promise<number> {
  const sent = performance.now()
  const res = await fetch(`${baseUrl}/html`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: pageUrl }),
  })
  const body = (await res.json()) as HtmlAnswer
  timings?.push({ sent, done: performance.now() })
  if (res.status !== 200 || body.success !== true || typeof body.html !== 'string') {
    throw new Error(`POST /html ${pageUrl} answered ${res.status}: ${body.error ?? JSON.stringify(body).slice(0, 200)}`)
  }
  return body.html.length
}
