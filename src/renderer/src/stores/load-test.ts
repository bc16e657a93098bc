import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import { contract } from '../../../shared/contract'
import { errorKeyOf, isRefusal, LoadStats, planLoad, type LoadSample, type LoadSnapshot } from '../lib/load-stats'
import { TransportError } from '../transport/types'
import { useMonitorStore } from './monitor'
import { useTransport } from './transport'

/*
 * The Playground's load test: N URLs sent through the transport as /crawl calls, at most
 * `concurrency` in flight and never more pages than admission takes at this moment (the monitor
 * store's live admission limit, which moves when the limit is adaptive). Its answers feed the
 * pure LoadStats; the monitor's own request counts are read before and after so the summary shows
 * both sides of the same period.
 *
 * Two deliveries: 'call' (POST /crawl, one answer per request) and 'stream' (POST /crawl/stream,
 * a line per URL as each finishes). Stop sends nothing more; a stream in flight is aborted through
 * its AbortSignal, but Transport.call takes no signal, so a /crawl in flight is waited for; the
 * view says which.
 */

export type LoadRunState = 'idle' | 'running' | 'stopping' | 'done' | 'stopped'

export interface LoadForm {
  urls: string
  source: 'list' | 'repeat'
  /** N when one URL is repeated. */
  count: number
  concurrency: number
  /** URLs per /crawl request. */
  batch: number
  delivery: 'call' | 'stream'
}

/** The monitor's counters for /crawl: what it saw, to set beside what the load test saw. */
/** The monitor's endpoints a load test's requests land on. */
const ENDPOINTS = [contract.crawl.path, contract.crawlStream.path]

export interface MonitorCounts {
  count: number
  errors: number
}

export interface LivePoint {
  /** Milliseconds since the run started. */
  t: number
  pagesPerSec: number
  p95Ms: number | null
  inFlight: number
}

export interface LoadSummary {
  state: 'done' | 'stopped'
  stats: LoadSnapshot
  /** Requests never sent because the run was stopped. */
  notSent: number
  /** Streams cut off by Stop while they ran (counted as failed, as the monitor counts them). */
  aborted: number
  /** The monitor's /crawl counters over the run (after minus before); null when they could not be read. */
  monitor: MonitorCounts | null
  /** Why the monitor's side is missing or differs (another client crawling at the same time, a reset). */
  monitorNote: string | null
}

/** How often the live view is redrawn while a run goes, and how many points its chart keeps. */
const TICK_MS = 500
const MAX_POINTS = 240
/** How long the summary waits for the monitor to count the last answers (it records a request when its work is over, a moment after the answer). */
const MONITOR_SETTLE_MS = 10_000

const now = () => performance.now()

/** What the load test reads of each URL's result, from /crawl's answer or a /crawl/stream line. */
type PageOutcome = { success: boolean; status_code: number | null; error_message: string | null }

function splitUrls(text: string): string[] {
  return text
    .split(/\s+/)
    .map((u) => u.trim())
    .filter((u) => u.length > 0)
}

export const useLoadTestStore = defineStore('load-test', () => {
  const form = ref<LoadForm>({ urls: '', source: 'repeat', count: 40, concurrency: 4, batch: 1, delivery: 'call' })
  const state = ref<LoadRunState>('idle')
  const stats = shallowRef<LoadSnapshot | null>(null)
  const points = shallowRef<LivePoint[]>([])
  const inFlight = ref(0)
  const sent = ref(0)
  const total = ref(0)
  const summary = shallowRef<LoadSummary | null>(null)
  const error = ref<string | null>(null)
  /** The cap in force now: the plan's concurrency, lowered live when the admission limit falls. */
  const liveCap = ref(0)

  const monitor = useMonitorStore()
  const admission = computed(() => {
    const a = monitor.health?.admission
    return a ? { limit: a.limit, max_limit: a.max_limit } : null
  })
  const plan = computed(() =>
    planLoad({
      urls: splitUrls(form.value.urls),
      source: form.value.source,
      count: form.value.count,
      concurrency: form.value.concurrency,
      batch: form.value.batch,
      admission: admission.value,
    }),
  )
  const running = computed(() => state.value === 'running' || state.value === 'stopping')

  let run: {
    stats: LoadStats
    batches: string[][]
    next: number
    concurrency: number
    batch: number
    before: MonitorCounts | null
    delivery: 'call' | 'stream'
    abort: AbortController
    aborted: number
    ticker: ReturnType<typeof setInterval>
    settled: () => void
  } | null = null

  /** In-flight requests allowed now: the plan's concurrency, within today's admission limit. */
  function capNow(): number {
    if (!run) return 0
    const limit = admission.value?.limit ?? run.concurrency * run.batch
    return Math.max(1, Math.min(run.concurrency, Math.floor(limit / run.batch)))
  }

  function pump(): void {
    if (!run) return
    liveCap.value = capNow()
    while (state.value === 'running' && run.next < run.batches.length && inFlight.value < liveCap.value) {
      void issue(run.batches[run.next++]!)
    }
    if (inFlight.value === 0 && (state.value === 'stopping' || run.next >= run.batches.length)) run.settled()
  }

  async function issue(urls: string[]): Promise<void> {
    const r = run!
    inFlight.value++
    sent.value++
    const startedAt = now()
    let sample: LoadSample
    const input = { urls, crawler_config: { cache_mode: 'bypass' as const } }
    try {
      let results: PageOutcome[]
      if (r.delivery === 'stream') {
        results = []
        await useTransport().stream(
          'crawlStream',
          input,
          (line) => {
            if (line !== null && typeof line === 'object' && 'success' in line) results.push(line as PageOutcome)
          },
          r.abort.signal,
        )
      } else {
        results = (await useTransport().call('crawl', input)).results
      }
      const failedResults = results.filter((x) => !x.success)
      const first = failedResults[0]
      sample = {
        startedAt,
        endedAt: now(),
        outcome: failedResults.length === 0 ? 'ok' : 'failed',
        pages: results.length - failedResults.length,
        failedPages: failedResults.length,
        errorKey: first ? `page ${first.status_code ?? 'error'}: ${(first.error_message ?? 'failed').slice(0, 80)}` : null,
      }
    } catch (err) {
      const status = err instanceof TransportError ? err.status : 0
      const code = err instanceof TransportError ? err.code : null
      const aborted = r.abort.signal.aborted
      if (aborted) r.aborted++
      sample = {
        startedAt,
        endedAt: now(),
        outcome: !aborted && isRefusal(status) ? 'refused' : 'failed',
        pages: 0,
        failedPages: urls.length,
        errorKey: aborted ? 'stopped: stream aborted in flight' : errorKeyOf(status, code),
      }
    }
    r.stats.record(sample)
    inFlight.value--
    if (run === r) {
      stats.value = r.stats.snapshot(now())
      pump()
    }
  }

  async function readMonitorCounts(): Promise<MonitorCounts | null> {
    try {
      const all = await useTransport().call('monitorEndpointStats', {})
      let count = 0
      let errors = 0
      for (const e of ENDPOINTS) {
        count += all[e]?.count ?? 0
        errors += all[e]?.errors ?? 0
      }
      return { count, errors }
    } catch {
      return null
    }
  }

  function tick(): void {
    if (!run) return
    const snap = run.stats.snapshot(now())
    stats.value = snap
    const next = [...points.value, { t: snap.elapsedMs, pagesPerSec: snap.pagesPerSecWindow, p95Ms: snap.p95Ms, inFlight: inFlight.value }]
    points.value = next.length > MAX_POINTS ? next.slice(-MAX_POINTS) : next
  }

  /** The monitor's side of the run, waiting (briefly) until it has counted every answer the run got. */
  async function monitorSide(before: MonitorCounts | null, answered: number): Promise<{ monitor: MonitorCounts | null; note: string | null }> {
    if (before === null) return { monitor: null, note: 'the monitor could not be read before the run (its read scope is needed)' }
    const deadline = now() + MONITOR_SETTLE_MS
    let after = await readMonitorCounts()
    while (after !== null && after.count - before.count < answered && now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      after = await readMonitorCounts()
    }
    if (after === null) return { monitor: null, note: 'the monitor could not be read after the run' }
    const monitor = { count: after.count - before.count, errors: after.errors - before.errors }
    if (monitor.count < 0) return { monitor: null, note: 'the monitor’s stats were reset during the run' }
    const note = monitor.count !== answered ? 'the monitor counts every client of /crawl: another one crawled during the run' : null
    return { monitor, note }
  }

  /** True while start() reads the monitor's counts, before the run exists: a second click then starts nothing. */
  let starting = false

  async function start(): Promise<void> {
    if (running.value || starting) return
    const p = plan.value
    if (p.blocked) {
      error.value = p.blocked
      return
    }
    error.value = null
    summary.value = null
    const batches: string[][] = []
    for (let i = 0; i < p.urls.length; i += p.batch) batches.push(p.urls.slice(i, i + p.batch))
    starting = true
    const before = await readMonitorCounts().finally(() => (starting = false))
    const stats0 = new LoadStats(now())
    let settled!: () => void
    const done = new Promise<void>((resolve) => (settled = resolve))
    run = {
      stats: stats0,
      batches,
      next: 0,
      concurrency: p.concurrency,
      batch: p.batch,
      before,
      delivery: form.value.delivery,
      abort: new AbortController(),
      aborted: 0,
      ticker: setInterval(tick, TICK_MS),
      settled,
    }
    stats.value = stats0.snapshot(now())
    points.value = []
    inFlight.value = 0
    sent.value = 0
    total.value = batches.length
    state.value = 'running'
    pump()
    await done
    const r = run
    clearInterval(r.ticker)
    tick()
    const final = r.stats.snapshot(now())
    // stop() may have run while awaiting: read the state afresh, not as narrowed above.
    const ended: 'done' | 'stopped' = (state.value as LoadRunState) === 'stopping' ? 'stopped' : 'done'
    const side = await monitorSide(r.before, final.requests)
    summary.value = { state: ended, stats: final, notSent: r.batches.length - r.next, aborted: r.aborted, monitor: side.monitor, monitorNote: side.note }
    run = null
    state.value = ended
  }

  /** Sends nothing more; the run ends once the requests in flight are answered. */
  function stop(): void {
    if (state.value !== 'running') return
    state.value = 'stopping'
    run?.abort.abort()
    pump()
  }

  // A higher admission limit lets waiting requests go at once; a lower one is obeyed as requests finish.
  watch(
    () => admission.value?.limit,
    () => {
      if (state.value === 'running') pump()
    },
  )

  return { form, plan, state, running, stats, points, inFlight, sent, total, summary, error, liveCap, admission, start, stop }
})
