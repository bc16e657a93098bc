import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import { instanceName } from '../src/main/core/fleet/instance.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * GET /metrics: Prometheus text exposition format (0.0.4), parsed strictly line by line, with
 * every figure checked against the crawls this file made on its own fresh service.
 */

let fx: FixtureServer
let s: TestService

beforeAll(async () => {
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ max_pages: 4 })])
})

afterAll(async () => {
  await s?.close()
  await fx?.close()
})

// ---- a small strict parser of the text exposition format ---------------------------------

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
  line: number
}
interface Family {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help: string | null
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/

function parseValue(text: string, where: string): number {
  if (!FLOAT.test(text)) throw new Error(`${where}: not a number: ${JSON.stringify(text)}`)
  if (text === 'NaN') return Number.NaN
  if (/^[+-]?Inf$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  return Number(text)
}

/** `{a="x",b="y\"z"}` at `pos` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, pos: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {}
  let i = pos + 1
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 }
    const eq = line.indexOf('=', i)
    if (eq < 0) throw new Error(`${where}: label without '='`)
    const name = line.slice(i, eq)
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`)
    if (name in labels) throw new Error(`${where}: label ${name} twice`)
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value of ${name} is not quoted`)
    let value = ''
    let j = eq + 2
    for (; ; j++) {
      const c = line[j]
      if (c === undefined) throw new Error(`${where}: unterminated label value of ${name}`)
      if (c === '"') break
      if (c === '\\') {
        const e = line[++j]
        if (e === '\\') value += '\\'
        else if (e === '"') value += '"'
        else if (e === 'n') value += '\n'
        else throw new Error(`${where}: bad escape \\${e} in label value of ${name}`)
      } else value += c
    }
    labels[name] = value
    i = j + 1
    if (line[i] === ',') {
      i++
      continue
    }
    if (line[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label ${name}`)
  }
}

function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const finished = new Set<string>()
  let current: Family | null = null
  const familyOf = (sample: string): Family | undefined => {
    for (const suffix of ['', '_bucket', '_sum', '_count']) {
      if (suffix && !sample.endsWith(suffix)) continue
      const f = families.get(sample.slice(0, sample.length - suffix.length))
      if (!f) continue
      if (suffix === '' || f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket')) return f
    }
    return undefined
  }
  const open = (name: string, where: string): Family => {
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`)
    let f = families.get(name)
    if (f && current !== f) throw new Error(`${where}: lines of ${name} are not grouped together`)
    if (!f) {
      if (current) finished.add(current.name)
      f = { name, type: 'untyped', help: null, samples: [] }
      families.set(name, f)
      current = f
    }
    return f
  }
  const lines = text.split('\n')
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a newline')
  lines.pop()
  lines.forEach((line, index) => {
    const where = `line ${index + 1} ${JSON.stringify(line.slice(0, 120))}`
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!m) throw new Error(`${where}: a comment that is neither HELP nor TYPE`)
      const [, kind, name, rest] = m as unknown as [string, string, string, string]
      const f = open(name, where)
      if (kind === 'HELP') {
        if (f.help !== null) throw new Error(`${where}: second HELP for ${name}`)
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`)
        f.help = rest
      } else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`${where}: unknown TYPE ${rest}`)
        if (f.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`)
        f.type = rest as Family['type']
      }
      return
    }
    const nameEnd = line.search(/[{ ]/)
    if (nameEnd <= 0) throw new Error(`${where}: not a sample line`)
    const name = line.slice(0, nameEnd)
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${JSON.stringify(name)}`)
    let labels: Record<string, string> = {}
    let rest = nameEnd
    if (line[nameEnd] === '{') ({ labels, end: rest } = parseLabels(line, nameEnd, where))
    if (line[rest] !== ' ') throw new Error(`${where}: expected a space before the value`)
    const parts = line.slice(rest + 1).split(' ')
    if (parts.length < 1 || parts.length > 2 || parts.some((p) => p === '')) throw new Error(`${where}: expected "value [timestamp]"`)
    const value = parseValue(parts[0]!, where)
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`)
    const f = familyOf(name) ?? open(name, where)
    if (current !== f) throw new Error(`${where}: sample of ${f.name} outside its group`)
    if (f.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) throw new Error(`${where}: histogram bucket without le`)
    if (f.type === 'summary' && name === f.name && labels.quantile === undefined) throw new Error(`${where}: summary sample without quantile`)
    f.samples.push({ name, labels, value, line: index + 1 })
  })
  return families
}

async function scrape(): Promise<{ contentType: string | null; text: string; families: Map<string, Family> }> {
  const res = await fetch(s.url + '/metrics')
  expect(res.status).toBe(200)
  const text = await res.text()
  return { contentType: res.headers.get('content-type'), text, families: parseExposition(text) }
}

function value(families: Map<string, Family>, sample: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const smp of f.samples) {
      if (smp.name !== sample) continue
      // `instance` (the instance's stable name) is on every series; tests/fleet.test.ts checks it.
      const own = Object.keys(smp.labels).filter((k) => k !== 'instance')
      const asked = Object.keys(labels).filter((k) => k !== 'instance')
      if (Object.entries(labels).every(([k, v]) => smp.labels[k] === v) && own.length === asked.length) return smp.value
    }
  }
  return undefined
}

const BUCKETS = ['0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '15', '30', '60', '120', '+Inf']
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i

describe('GET /metrics', () => {
  it('the parser itself refuses malformed lines (guards the checks below)', () => {
    expect(() => parseExposition('a{b="c} 1\n')).toThrow(/unterminated/)
    expect(() => parseExposition('a{b="\\x"} 1\n')).toThrow(/bad escape/)
    expect(() => parseExposition('a{b=c} 1\n')).toThrow(/not quoted/)
    expect(() => parseExposition('a 1 2 3\n')).toThrow(/value \[timestamp\]/)
    expect(() => parseExposition('a one\n')).toThrow(/not a number/)
    expect(() => parseExposition('# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n')).toThrow(/grouped|outside/)
    expect(() => parseExposition('a 1')).toThrow(/newline/)
    expect(parseExposition('# HELP a x \\\\ y\n# TYPE a gauge\na{l="q\\"\\n\\\\"} -Inf\n').get('a')!.samples[0]).toMatchObject({
      labels: { l: 'q"\n\\' },
      value: -Infinity,
    })
  })

  it('counts crawls per endpoint and outcome, with a page-load duration histogram, pool, browser and system gauges; every line parses', async () => {
    // Before any crawl: both acquisition results are already series (at 0), so a dashboard's
    // hit/miss ratio has data from the first scrape on.
    const fresh = await scrape()
    expect(value(fresh.families, 'crawldeck_pool_acquisitions_total', { result: 'hit' })).toBe(0)
    expect(value(fresh.families, 'crawldeck_pool_acquisitions_total', { result: 'miss' })).toBe(0)
    expect(value(fresh.families, 'crawldeck_browsers', { tier: 'permanent' })).toBe(1)
    expect(value(fresh.families, 'crawldeck_queue_depth')).toBe(0)
    expect(value(fresh.families, 'crawldeck_markdown_conversions_total', { where: 'worker' })).toBe(0)
    expect(value(fresh.families, 'crawldeck_markdown_worker_failures_total')).toBe(0)

    // The crawls: endpoint -> status -> count.
    const made: Record<string, Record<string, number>> = {}
    const count = (endpoint: string, status: string) => {
      const e = (made[endpoint] ??= {})
      e[status] = (e[status] ?? 0) + 1
    }
    for (let i = 0; i < 2; i++) {
      expect((await s.postJson('/md', { url: fx.url('/') })).status).toBe(200)
      count('/md', 'success')
    }
    expect((await s.postJson('/md', { url: fx.url('/status/404') })).status).toBe(502)
    count('/md', 'error')
    expect((await s.postJson('/html', { url: fx.url('/about') })).status).toBe(200)
    count('/html', 'success')
    expect((await s.postJson('/crawl', { urls: [fx.url('/')] })).body.success).toBe(true)
    count('/crawl', 'success')
    const failed = await s.postJson('/crawl', { urls: [fx.url('/status/404')] })
    expect(failed.status).toBe(200)
    expect(failed.body.success).toBe(false)
    count('/crawl', 'error')
    const stream = await s.post('/crawl/stream', { urls: [fx.url('/about')] })
    expect(stream.status).toBe(200)
    await stream.text()
    count('/crawl/stream', 'success')
    expect((await s.postJson('/screenshot', { url: fx.url('/') })).status).toBe(200)
    count('/screenshot', 'success')
    expect((await s.postJson('/pdf', { url: fx.url('/about') })).status).toBe(200)
    count('/pdf', 'success')
    // A new config: a launch (a pool miss), then a kill (a close with reason "killed").
    const cfg = { viewport_width: 1234 }
    expect((await s.postJson('/md', { url: fx.url('/about'), browser_config: cfg })).status).toBe(200)
    count('/md', 'success')
    const kill = await s.postJson('/monitor/actions/kill_browser', { sig: configSignature(normaliseBrowserConfig(cfg)) })
    expect(kill.status).toBe(200)
    // A client that goes away mid-crawl.
    const g = fx.gate('metrics-abort')
    const controller = new AbortController()
    const finished = s.nextEvent('request:finished', (p) => p.url === fx.url('/gate/metrics-abort'), 30_000)
    const pending = s.post('/md', { url: fx.url('/gate/metrics-abort') }, { signal: controller.signal }).catch((err: unknown) => err)
    await g.reached
    controller.abort()
    await pending
    await finished
    g.release()
    count('/md', 'aborted')
    await waitFor(() => s.runtime.monitor.activeCount() === 0, 10_000, 'no active request')

    const { contentType, text, families } = await scrape()
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4(; charset=utf-8)?$/)

    // Every sample of a family with HELP and TYPE.
    for (const f of families.values()) {
      expect(f.help, `HELP of ${f.name}`).not.toBeNull()
      expect(f.type, `TYPE of ${f.name}`).not.toBe('untyped')
    }

    // --- requests_total{endpoint,status}: exactly the crawls made, and nothing else
    const requests = families.get('crawldeck_requests_total')!
    expect(requests.type).toBe('counter')
    const seen: Record<string, Record<string, number>> = {}
    for (const smp of requests.samples) {
      expect(Object.keys(smp.labels).sort()).toEqual(['endpoint', 'instance', 'status'])
      ;(seen[smp.labels.endpoint!] ??= {})[smp.labels.status!] = smp.value
    }
    expect(seen).toEqual(made)
    // ...which is also what the engine emitted.
    const finishedEvents = s.eventsOf('request:finished')
    expect(requests.samples.reduce((n, smp) => n + smp.value, 0)).toBe(finishedEvents.length)

    // --- the duration histogram: buckets 0.01..120 s and +Inf, cumulative
    const duration = families.get('crawldeck_request_duration_seconds')!
    expect(duration.type).toBe('histogram')
    for (const endpoint of Object.keys(made)) {
      const buckets = duration.samples.filter((smp) => smp.name.endsWith('_bucket') && smp.labels.endpoint === endpoint)
      expect(
        buckets.map((b) => b.labels.le),
        endpoint,
      ).toEqual(BUCKETS)
      const counts = buckets.map((b) => b.value)
      for (let i = 1; i < counts.length; i++) expect(counts[i]!, `${endpoint} le=${BUCKETS[i]}`).toBeGreaterThanOrEqual(counts[i - 1]!)
      const total = Object.values(made[endpoint]!).reduce((a, b) => a + b, 0)
      expect(counts.at(-1), endpoint).toBe(total)
      expect(value(families, 'crawldeck_request_duration_seconds_count', { endpoint })).toBe(total)
      const sum = value(families, 'crawldeck_request_duration_seconds_sum', { endpoint })!
      expect(sum).toBeGreaterThan(0)
      const elapsed = finishedEvents.filter((e) => e.endpoint === endpoint).reduce((n, e) => n + e.elapsed_ms / 1000, 0)
      expect(sum).toBeCloseTo(elapsed, 3)
    }

    // --- pool and browsers
    const leases = s.eventsOf('lease:acquired')
    expect(value(families, 'crawldeck_pool_acquisitions_total', { result: 'hit' })).toBe(leases.filter((l) => l.pool_hit).length)
    expect(value(families, 'crawldeck_pool_acquisitions_total', { result: 'miss' })).toBe(leases.filter((l) => !l.pool_hit).length)
    expect(value(families, 'crawldeck_pool_acquisitions_total', { result: 'miss' })).toBe(1)
    expect(families.get('crawldeck_browsers')!.type).toBe('gauge')
    expect(value(families, 'crawldeck_browsers', { tier: 'permanent' })).toBe(1)
    expect(value(families, 'crawldeck_browsers', { tier: 'hot' })).toBe(0)
    expect(value(families, 'crawldeck_browsers', { tier: 'cold' })).toBe(0)
    expect(value(families, 'crawldeck_browser_launches_total', { tier: 'permanent' })).toBe(1)
    expect(value(families, 'crawldeck_browser_launches_total', { tier: 'cold' })).toBe(1)
    expect(value(families, 'crawldeck_browser_closes_total', { reason: 'killed' })).toBe(1)
    expect(families.get('crawldeck_browser_closes_total')!.samples.reduce((n, smp) => n + smp.value, 0)).toBe(s.eventsOf('browser:closed').length)
    expect(value(families, 'crawldeck_queue_depth')).toBe(0)
    expect(families.get('crawldeck_queue_depth')!.type).toBe('gauge')

    // --- system ratios
    for (const name of ['crawldeck_memory_ratio', 'crawldeck_cpu_ratio']) {
      const v = value(families, name)
      expect(v, name).toBeDefined()
      expect(v!, name).toBeGreaterThanOrEqual(0)
      expect(v!, name).toBeLessThanOrEqual(1)
    }
    expect(value(families, 'crawldeck_memory_ratio')!).toBeGreaterThan(0)

    // --- default process metrics, under their conventional names (stock Node.js dashboards query them)
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds'])
      expect(families.has(name), name).toBe(true)
    expect(families.get('process_cpu_seconds_total')!.type).toBe('counter')
    // Every family is crawldeck's own or a default one; only counters end in _total.
    expect([...families.keys()].filter((n) => !/^(crawldeck|process|nodejs)_/.test(n))).toEqual([])
    expect([...families.values()].filter((f) => f.name.endsWith('_total') && f.type !== 'counter').map((f) => f.name)).toEqual([])
    expect(value(families, 'crawldeck_queue_limit')).toBe(s.runtime.admission.capacity.queue_limit)
    expect(value(families, 'crawldeck_persistence_ok')).toBe(1)

    // --- no unbounded label: no URL, no request or browser id anywhere
    for (const f of families.values()) {
      for (const smp of f.samples) {
        for (const [k, v] of Object.entries(smp.labels)) {
          // One value per instance (its stable name): bounded, and it may hold a container's hex host name.
          if (k === 'instance') {
            expect(v).toBe(instanceName(s.runtime.config))
            continue
          }
          expect(k, `line ${smp.line}`).not.toMatch(/url|id$/i)
          expect(v, `line ${smp.line} label ${k}`).not.toMatch(/http/i)
          expect(v, `line ${smp.line} label ${k}`).not.toMatch(UUID)
          expect(v, `line ${smp.line} label ${k}`).not.toMatch(/[0-9a-f]{12,}/)
        }
      }
    }
    expect(text).not.toContain(fx.origin)
  })

  it('a second scrape still parses and its counters never go down', async () => {
    const first = await scrape()
    expect((await s.postJson('/md', { url: fx.url('/about') })).status).toBe(200)
    const second = await scrape()
    for (const f of first.families.values()) {
      if (f.type !== 'counter') continue
      for (const smp of f.samples) {
        const later = value(second.families, smp.name, smp.labels)
        expect(later, `${smp.name}${JSON.stringify(smp.labels)}`).toBeDefined()
        expect(later!).toBeGreaterThanOrEqual(smp.value)
      }
    }
    expect(value(second.families, 'crawldeck_requests_total', { endpoint: '/md', status: 'success' })).toBe(
      value(first.families, 'crawldeck_requests_total', { endpoint: '/md', status: 'success' })! + 1,
    )
  })
})

describe('GET /metrics: where Markdown was converted', () => {
  it('a large page and a small one both count as worker (loop stays at 0), read from the converter at scrape time', async () => {
    const before = await scrape()
    const at = (f: Map<string, Family>, where: string) => value(f, 'crawldeck_markdown_conversions_total', { where }) ?? -1
    expect((await s.postJson('/md', { url: fx.url('/big?copies=4') })).status).toBe(200)
    expect((await s.postJson('/md', { url: fx.url('/') })).status).toBe(200)
    const after = await scrape()
    expect(at(after.families, 'worker') - at(before.families, 'worker')).toBe(2)
    expect(at(after.families, 'loop')).toBe(0)
    expect(at(after.families, 'worker')).toBe(s.runtime.markdown.stats().offloaded)
    expect(value(after.families, 'crawldeck_markdown_worker_failures_total')).toBe(0)
    expect(value(after.families, 'crawldeck_markdown_stopped_total', { why: 'timeout' })).toBe(0)
    expect(value(after.families, 'crawldeck_markdown_stopped_total', { why: 'aborted' })).toBe(0)
    expect(after.text).toContain('# TYPE crawldeck_markdown_conversions_total counter')
  })
})
