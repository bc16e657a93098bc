import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startHostileCorpus, type HostileCorpus } from './helpers/hostile-corpus.js'
import { serveDefaults, waitExit, waitReady, type Served } from './helpers/serve-process.js'

/*
 * Every page of the hostile corpus (tests/helpers/hostile-corpus.ts) through every crawl endpoint
 * of the real service, run as an operator runs it, with the egress guard on (so every byte also
 * crosses its proxy). A watcher asks /health all along. What must hold:
 * - the process stays up, and /health answers every time, its p99 under 100 ms;
 * - every answer comes, within its page_timeout plus a margin, and is either within its caps or
 *   a clear 4xx/5xx with an error and a code; no error text is longer than a few KB;
 * - after the corpus the service's JavaScript heap comes back to its baseline and its RSS near it,
 *   an ordinary page still crawls on every endpoint, and the monitor's error log holds only bounded
 *   text.
 */

const CAP = 8 * 1024 * 1024
const PAGE_TIMEOUT = 10_000
/** An answer's whole body: at most a few capped fields and the JSON around them. */
const MAX_BODY = 6 * CAP + 1024 * 1024
/** Error texts are cut where they are made (a few KB); the bound leaves room for the URL and a prefix. */
const MAX_ERROR = 16 * 1024
const ENDPOINTS = ['/md', '/html', '/crawl', '/crawl/stream', '/screenshot', '/pdf'] as const

let corpus: HostileCorpus
let svc: Served
let url = ''

/** The service's own JavaScript heap in use, from its /metrics (prom-client's default gauges). */
async function heapUsedBytes(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text)
  return Number(m?.[1] ?? Number.NaN)
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) * 1024
}

function body(endpoint: (typeof ENDPOINTS)[number], target: string): unknown {
  const crawler_config = { page_timeout: PAGE_TIMEOUT }
  if (endpoint === '/crawl' || endpoint === '/crawl/stream') return { urls: [target], crawler_config }
  return { url: target, crawler_config }
}

interface Answer {
  endpoint: string
  page: string
  status: number
  ms: number
  bytes: number
  problems: string[]
}

async function crawl(endpoint: (typeof ENDPOINTS)[number], page: string): Promise<Answer> {
  const t0 = Date.now()
  const problems: string[] = []
  const r = await fetch(`${url}${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body(endpoint, corpus.url(page))),
    signal: AbortSignal.timeout(PAGE_TIMEOUT + 30_000),
  })
  const text = await r.text()
  const answer: Answer = { endpoint, page, status: r.status, ms: Date.now() - t0, bytes: text.length, problems }
  if (text.length > MAX_BODY) problems.push(`a body of ${text.length} characters`)
  const lines = endpoint === '/crawl/stream' ? text.split('\n').filter((l) => l !== '') : [text]
  for (const line of lines) {
    let json: Record<string, unknown>
    try {
      json = JSON.parse(line) as Record<string, unknown>
    } catch {
      problems.push(`not JSON: ${line.slice(0, 200)}`)
      continue
    }
    if (r.status >= 400) {
      if (r.status >= 600 || typeof json.error !== 'string' || typeof json.code !== 'string') problems.push(`an unclear error answer: ${line.slice(0, 300)}`)
    }
    for (const message of errorTexts(json)) if (message.length > MAX_ERROR) problems.push(`an error text of ${message.length} characters`)
  }
  if (r.status !== 200 && (r.status < 400 || r.status >= 600)) problems.push(`status ${r.status}`)
  return answer
}

/** Every error text an answer carries, wherever it is (a result's error_message, a stream line's error). */
function errorTexts(json: unknown): string[] {
  const out: string[] = []
  const visit = (v: unknown, key: string) => {
    if (typeof v === 'string') {
      if (key === 'error' || key === 'error_message') out.push(v)
    } else if (Array.isArray(v)) for (const x of v) visit(x, key)
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'html' && k !== 'cleaned_html' && k !== 'markdown') visit(x, k)
  }
  visit(json, '')
  return out
}

beforeAll(async () => {
  corpus = await startHostileCorpus()
  svc = serveDefaults([
    '--max-capture-bytes',
    String(CAP),
    '--block-private-targets',
    '--private-targets-allowed',
    '127.0.0.1/32',
    '--max-pages',
    '4',
    '--queue-size',
    '64',
  ])
  url = (await waitReady(svc)).url
}, 120_000)

afterAll(async () => {
  if (svc && !svc.exited) {
    svc.child.kill('SIGTERM')
    await waitExit(svc).catch(() => undefined)
  }
  await corpus?.close()
})

describe('the hostile corpus, through every endpoint of the real service', () => {
  it('stays up and answerable; every answer in its caps or a clear error; memory comes back; an ordinary page still works', async () => {
    // Warm up: every endpoint once on the ordinary page, then the baseline.
    for (const e of ENDPOINTS) expect((await crawl(e, 'plain')).status, e).toBe(200)
    const baseline = rssBytes(svc.pid)
    const heapBaseline = await heapUsedBytes()

    const health: number[] = []
    const healthFailures: string[] = []
    let running = true
    const watcher = (async () => {
      while (running) {
        const t0 = performance.now()
        try {
          const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) })
          await r.arrayBuffer()
          if (r.status !== 200) healthFailures.push(`status ${r.status}`)
        } catch (err) {
          healthFailures.push(String(err))
        }
        health.push(performance.now() - t0)
        await new Promise((r) => setTimeout(r, 50))
      }
    })()

    const jobs = corpus.pages.filter((p) => p !== 'plain').flatMap((page) => ENDPOINTS.map((endpoint) => ({ endpoint, page })))
    const answers: Answer[] = []
    let next = 0
    // Four clients at a time, as many as the service has page slots.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++] as (typeof jobs)[number]
          answers.push(await crawl(job.endpoint, job.page).catch((err) => ({ ...job, status: 0, ms: 0, bytes: 0, problems: [`no answer: ${String(err)}`] })))
          expect(svc.exited, `the service exited during ${job.page} ${job.endpoint}: ${svc.stderr.slice(-2000)}`).toBe(false)
        }
      }),
    )
    running = false
    await watcher

    const summary = answers.map(
      (a) => `${a.page} ${a.endpoint}: ${a.status} in ${a.ms} ms, ${a.bytes} chars${a.problems.length ? ` ${a.problems.join('; ')}` : ''}`,
    )
    console.log(summary.join('\n'))
    expect(answers.filter((a) => a.problems.length > 0).map((a) => `${a.page} ${a.endpoint}: ${a.problems.join('; ')}`)).toEqual([])
    expect(healthFailures).toEqual([])
    const sorted = [...health].sort((a, b) => a - b)
    const p99 = sorted[Math.floor(sorted.length * 0.99)] as number
    console.log(
      `/health: ${health.length} answers, p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms`,
    )
    expect(p99).toBeLessThan(100)

    // An ordinary page still works everywhere, and nothing of the corpus is left running.
    for (const e of ENDPOINTS) expect((await crawl(e, 'plain')).status, e).toBe(200)
    const errorLog = await fetch(`${url}/monitor/logs/errors?limit=500`)
    expect(errorLog.status).toBe(200)
    const errors = await errorLog.text()
    expect(errors.length).toBeLessThan(4 * 1024 * 1024)

    // Memory: the process's RSS back near where it started (the allocator and V8 keep some of the
    // pages the largest answers made them grow), and its heap back to its baseline.
    const limit = baseline + 128 * 1024 * 1024
    let rss = rssBytes(svc.pid)
    for (let i = 0; i < 60 && rss > limit; i++) {
      await new Promise((r) => setTimeout(r, 1000))
      rss = rssBytes(svc.pid)
    }
    // The service's JavaScript heap comes back to its baseline once collected (V8 collects when it
    // sees fit: the timers' garbage gets it there within seconds).
    let heap = await heapUsedBytes()
    for (let i = 0; i < 60 && heap > heapBaseline + 16 * 2 ** 20; i++) {
      await new Promise((r) => setTimeout(r, 1000))
      heap = await heapUsedBytes()
    }
    console.log(`service heap used: baseline ${(heapBaseline / 2 ** 20).toFixed(1)} MB, after the corpus ${(heap / 2 ** 20).toFixed(1)} MB`)
    console.log(`service RSS: baseline ${(baseline / 2 ** 20).toFixed(0)} MB, after the corpus ${(rss / 2 ** 20).toFixed(0)} MB`)
    expect(heap).toBeLessThan(heapBaseline + 16 * 2 ** 20)
    expect(rss).toBeLessThan(limit)
  }, 900_000)
})
