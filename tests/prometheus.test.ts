import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { configSignature, normaliseBrowserConfig } from '../src/main/core/pool/signature.js'
import { startFixtureServer, type FixtureServer } from './helpers/fixture-server.js'
import { freePort } from './helpers/redis-server.js'
import { startService, waitFor, type TestService } from './helpers/service.js'

/*
 * A real Prometheus (Debian's package) scrapes a running crawldeck with a read token, loads the
 * alerting rules shipped in docs/prometheus/, and answers every PromQL expression of the Grafana
 * dashboard in docs/grafana/ and of those rules with data. promtool checks a live scrape and the
 * rules file. So the shipped dashboard and rules cannot drift from the metrics' names and labels.
 */

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..')
const RULES = join(ROOT, 'docs/prometheus/crawldeck-alerts.yml')
const DASHBOARD = join(ROOT, 'docs/grafana/crawldeck.json')
const JOB = 'crawldeck'
const READ = 'prometheus-read-token-rrrrrrrr'
const ADMIN = 'prometheus-admin-token-aaaaaaa'

let fx: FixtureServer
let s: TestService
let dir: string
let prometheus: ChildProcess | null = null
let promUrl = ''
let promLog = ''

interface Sample {
  metric: Record<string, string>
  value: [number, string]
}

async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`)
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } }
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`)
  expect(body.data!.resultType, expr).toBe('vector')
  return body.data!.result
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok
  } catch {
    return false
  }
}

beforeAll(async () => {
  ;[fx, s] = await Promise.all([startFixtureServer(), startService({ max_pages: 4, read_tokens: [READ], admin_tokens: [ADMIN] })])
  dir = await mkdtemp(join(tmpdir(), 'crawldeck-prometheus-'))
  const port = await freePort()
  promUrl = `http://127.0.0.1:${port}`
  const target = new URL(s.url).host
  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(RULES)}`,
      'scrape_configs:',
      `  - job_name: ${JOB}`,
      '    metrics_path: /metrics',
      '    authorization:',
      '      type: Bearer',
      `      credentials: ${READ}`,
      '    static_configs:',
      `      - targets: [${JSON.stringify(target)}]`,
      '',
    ].join('\n'),
  )
  prometheus = spawn(
    '/usr/bin/prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  prometheus.stderr!.on('data', (d: Buffer) => (promLog = (promLog + d.toString()).slice(-4000)))
  await waitFor(() => prometheus?.exitCode === null && answers(`${promUrl}/-/ready`), 20_000, `prometheus ready (${promLog})`)
  await waitFor(
    async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string; lastError: string }> } }
      return r.data.activeTargets.length === 1 && r.data.activeTargets[0]!.health === 'up'
    },
    20_000,
    'the crawldeck target up',
  )
}, 45_000)

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus!.once('exit', r))
    prometheus.kill('SIGTERM')
    await exited
  }
  await s?.close()
  await fx?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The dashboard's expressions, with its variables as Grafana would fill them for this job. */
function dashboardExpressions(dashboard: any): { panel: string; expr: string }[] {
  const vars: Record<string, string> = { job: JOB, instance: '.*', __rate_interval: '1m', __interval: '15s', __range: '1m' }
  const fill = (expr: string) =>
    expr.replace(/\$\{?(\w+)\}?/g, (m, name: string) => {
      if (!(name in vars)) throw new Error(`unknown variable ${m} in ${expr}`)
      return vars[name]!
    })
  const out: { panel: string; expr: string }[] = []
  const walk = (panels: any[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push({ panel: `${p.title} ${t.refId}`, expr: fill(t.expr) })
      walk(p.panels ?? [])
    }
  }
  walk(dashboard.panels)
  return out
}

describe('Prometheus and Grafana', () => {
  it('promtool finds nothing to say of a live scrape, and the rules file passes promtool check rules', async () => {
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${READ}` } })
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toMatch(/^process_cpu_seconds_total[ {]/m)
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds[ {]/m)
    const check = spawn('/usr/bin/promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let said = ''
    check.stdout.on('data', (d: Buffer) => (said += d.toString()))
    check.stderr.on('data', (d: Buffer) => (said += d.toString()))
    const code = new Promise<number | null>((r) => check.once('exit', r))
    check.stdin.end(text)
    expect(await code, said).toBe(0)
    expect(said.trim()).toBe('')

    const rules = await run('/usr/bin/promtool', ['check', 'rules', RULES])
    expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/)
  })

  it('every expression of the Grafana dashboard and of the alerting rules returns data from the scraped service', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8'))
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39)
    const dsVar = dashboard.templating.list.find((v: any) => v.type === 'datasource')
    expect(dsVar?.query).toBe('prometheus')

    // Requests scraped before the traffic: the counters' series then exist before they grow, so
    // every rate sees the increase (a series first scraped after all the traffic has no increase).
    expect((await s.postJson('/html', { url: fx.url('/about') })).status).toBe(200)
    expect((await s.postJson('/md', { url: fx.url('/') })).status).toBe(200)
    expect((await s.postJson('/md', { url: fx.url('/status/404') })).status).toBe(502)
    expect((await s.postJson('/crawl', { urls: [fx.url('/about')] })).body.success).toBe(true)
    const warm = s.eventsOf('request:finished').length
    await waitFor(async () => Number((await query('sum(crawldeck_requests_total)'))[0]?.value[1]) === warm, 20_000, 'a scrape of the first request')

    // Traffic the panels show: successes, an error, cached answers, a new browser config (a launch) then its kill (a close).
    for (let i = 0; i < 3; i++) expect((await s.postJson('/md', { url: fx.url('/') })).status).toBe(200)
    expect((await s.postJson('/md', { url: fx.url('/status/404') })).status).toBe(502)
    expect((await s.postJson('/html', { url: fx.url('/about') })).status).toBe(200)
    expect((await s.postJson('/crawl', { urls: [fx.url('/'), fx.url('/about')] })).body.success).toBe(true)
    // The result cache: a miss (and a write), then a hit.
    for (let i = 0; i < 2; i++)
      expect((await s.postJson('/crawl', { urls: [fx.url('/about')], crawler_config: { cache_mode: 'enabled' } })).body.success).toBe(true)
    const cfg = { viewport_width: 1111 }
    expect((await s.postJson('/md', { url: fx.url('/about'), browser_config: cfg })).status).toBe(200)
    expect((await s.postJson('/monitor/actions/kill_browser', { sig: configSignature(normaliseBrowserConfig(cfg)) })).status).toBe(200)
    const made = s.eventsOf('request:finished').length
    // Until Prometheus has scraped after the last request, and twice more so that rates span them.
    await waitFor(async () => Number((await query('sum(crawldeck_requests_total)'))[0]?.value[1]) === made, 20_000, 'a scrape with every request')
    const seenAt = Number((await query('timestamp(up)'))[0]!.value[1])
    await waitFor(async () => Number((await query('timestamp(up)'))[0]?.value[1]) >= seenAt + 2, 10_000, 'two more scrapes')

    // The template variables: label_values(metric, label) finds this job and instance.
    for (const v of dashboard.templating.list.filter((x: any) => x.type === 'query')) {
      const m = /^label_values\((.+), (\w+)\)$/.exec(v.query.query)
      expect(m, v.name).not.toBeNull()
      const series = await query(m![1]!.replace(/\$(\w+)/g, (_, n: string) => (n === 'job' ? JOB : '.*')))
      expect(
        series.map((x) => x.metric[m![2]!]),
        v.name,
      ).toContain(m![2] === 'job' ? JOB : new URL(s.url).host)
    }

    const exprs = dashboardExpressions(dashboard)
    expect(exprs.length).toBeGreaterThan(20)
    const rules = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; query: string; health: string; lastError?: string }> }> }
    }
    const alerting = rules.data.groups.flatMap((g) => g.rules)
    expect(alerting.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'CrawldeckDown',
        'CrawldeckMemoryHigh',
        'CrawldeckErrorRateHigh',
        'CrawldeckLatencyP95High',
        'CrawldeckPermanentBrowserDown',
        'CrawldeckAdmissionRejections',
        'CrawldeckPersistenceDegraded',
      ]),
    )
    for (const r of alerting) {
      expect(r.health, `${r.name}: ${r.lastError}`).not.toBe('err')
      // The rule's condition without its threshold: the figure the threshold is compared with.
      const figure = r.query.replace(/\s*(==|!=|>=|<=|>|<)\s*[-+0-9.e]+\s*$/, '')
      expect(figure, `${r.name} ends in a threshold comparison`).not.toBe(r.query)
      exprs.push({ panel: `rule ${r.name}`, expr: figure })
    }

    const empty: string[] = []
    for (const { panel, expr } of exprs) {
      const result = await query(expr)
      // Data: at least one series, and at least one finite figure (not a NaN of 0/0).
      if (!result.some((x) => Number.isFinite(Number(x.value[1])))) empty.push(`${panel}: ${expr} -> ${JSON.stringify(result)}`)
    }
    expect(empty).toEqual([])
  }, 50_000)
})
