/*
 * The Playground load test's arithmetic, with no timers, stores or transport: what one run's
 * answers add up to (completed, failed, refused, latency percentiles, pages per second) and how
 * far a run may go (the caps on N and concurrency). Time is always passed in, so tests decide it.
 */

/** How a request of the load test ended. `refused`: the service said 429/503 (admission full, shutting down). */
export type LoadOutcome = 'ok' | 'failed' | 'refused'

/** One request's answer, as the load test records it. */
export interface LoadSample {
  /** performance.now()-style milliseconds, from the run's own clock. */
  startedAt: number
  endedAt: number
  outcome: LoadOutcome
  /** Pages the request crawled successfully (a batch request carries several URLs). */
  pages: number
  /** Pages of the request that failed (URL-level failures inside a 200 answer count here too). */
  failedPages: number
  /** What went wrong, for grouping: 'HTTP 500 internal', 'page 404', ...; null when nothing did. */
  errorKey: string | null
}

export interface ErrorGroup {
  key: string
  count: number
}

export interface LoadSnapshot {
  /** Requests answered: ok + failed + refused. */
  requests: number
  ok: number
  failed: number
  refused: number
  pages: number
  failedPages: number
  /** Latency of answered requests that were not refused (a refusal is instant and says nothing of crawling). */
  p50Ms: number | null
  p95Ms: number | null
  /** Pages finished in the last `windowMs`, per second of that window (or of the run, while it is younger). */
  pagesPerSecWindow: number
  /** Pages over the whole run, per second since its start. */
  pagesPerSecOverall: number
  elapsedMs: number
  /** Largest groups first. */
  errors: ErrorGroup[]
}

/** Nearest-rank percentile of an ascending list: the smallest value with at least p% of values at or below it. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

/**
 * A run's answers, kept as they come. Latencies are kept sorted by insertion (binary search), so
 * a snapshot is O(groups) plus a walk of the recent window, never a sort of the whole run.
 */
export class LoadStats {
  private readonly latencies: number[] = []
  /** End time and pages of each answer, in arrival order (ends are nondecreasing when fed in real time). */
  private readonly ends: number[] = []
  private readonly endPages: number[] = []
  private readonly groups = new Map<string, number>()
  private counts = { ok: 0, failed: 0, refused: 0, pages: 0, failedPages: 0 }

  constructor(readonly startedAt: number) {}

  record(s: LoadSample): void {
    this.counts[s.outcome]++
    this.counts.pages += s.pages
    this.counts.failedPages += s.failedPages
    if (s.errorKey !== null) this.groups.set(s.errorKey, (this.groups.get(s.errorKey) ?? 0) + 1)
    if (s.outcome !== 'refused') insertSorted(this.latencies, Math.max(0, s.endedAt - s.startedAt))
    this.ends.push(s.endedAt)
    this.endPages.push(s.pages)
  }

  snapshot(now: number, windowMs = 5000): LoadSnapshot {
    const elapsed = Math.max(0, now - this.startedAt)
    const from = now - windowMs
    let recent = 0
    for (let i = this.ends.length - 1; i >= 0 && this.ends[i]! > from; i--) recent += this.endPages[i]!
    const windowSpan = Math.min(windowMs, elapsed)
    const { ok, failed, refused, pages, failedPages } = this.counts
    return {
      requests: ok + failed + refused,
      ok,
      failed,
      refused,
      pages,
      failedPages,
      p50Ms: percentile(this.latencies, 50),
      p95Ms: percentile(this.latencies, 95),
      pagesPerSecWindow: windowSpan > 0 ? (recent * 1000) / windowSpan : 0,
      pagesPerSecOverall: elapsed > 0 ? (pages * 1000) / elapsed : 0,
      elapsedMs: elapsed,
      errors: [...this.groups].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key)),
    }
  }
}

function insertSorted(list: number[], v: number): void {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (list[mid]! <= v) lo = mid + 1
    else hi = mid
  }
  list.splice(lo, 0, v)
}

/** A failed call's group: the HTTP status and the service's error code, which say why without the per-URL noise. */
export function errorKeyOf(status: number, code: string | null): string {
  if (status === 0) return code === null ? 'network error' : `network error (${code})`
  return code === null ? `HTTP ${status}` : `HTTP ${status} ${code}`
}

/** 429 (admission queue full) and 503 (not available now): the service turned the request away. */
export function isRefusal(status: number): boolean {
  return status === 429 || status === 503
}

/** The most URLs one run may send: enough to load a pool, few enough that a typo cannot hammer a site. */
export const MAX_LOAD_URLS = 1000

export interface LoadPlanInput {
  /** The URLs as typed, one per line (already split). */
  urls: readonly string[]
  /** 'repeat': the first URL, `count` times; 'list': the URLs as given. */
  source: 'list' | 'repeat'
  count: number
  concurrency: number
  /** URLs per request (1: one /crawl per URL). */
  batch: number
  /** The admission page limit now and its ceiling, from the monitor; null while unknown. */
  admission: { limit: number; max_limit: number } | null
}

export interface LoadPlan {
  urls: string[]
  concurrency: number
  batch: number
  /** Why the plan is smaller than what was asked: each note is shown beside the form. */
  notes: string[]
  /** Why nothing can run; null when the plan can. */
  blocked: string | null
}

/** Caps a run: at most MAX_LOAD_URLS URLs, and never more pages in flight than admission takes now. */
export function planLoad(input: LoadPlanInput): LoadPlan {
  const notes: string[] = []
  const clean = (n: number, min: number) => (Number.isFinite(n) ? Math.max(min, Math.floor(n)) : min)
  let urls: string[]
  if (input.source === 'repeat') {
    const first = input.urls[0]
    const count = clean(input.count, 1)
    const n = Math.min(count, MAX_LOAD_URLS)
    if (count > MAX_LOAD_URLS) notes.push(`N capped at ${MAX_LOAD_URLS} (asked ${count})`)
    urls = first === undefined ? [] : Array.from({ length: n }, () => first)
  } else {
    urls = input.urls.slice(0, MAX_LOAD_URLS)
    if (input.urls.length > MAX_LOAD_URLS) notes.push(`N capped at ${MAX_LOAD_URLS} (the list has ${input.urls.length})`)
  }
  const batch = Math.min(clean(input.batch, 1), 100)
  if (clean(input.batch, 1) > 100) notes.push('batch capped at 100 URLs per request (the /crawl limit)')
  let concurrency = clean(input.concurrency, 1)
  if (input.admission === null) {
    return { urls, concurrency: Math.min(concurrency, 1), batch, notes, blocked: 'the admission limit is not known yet (waiting for the monitor)' }
  }
  // A batch request holds up to `batch` pages at once, each one admission slot.
  const pages = Math.max(1, Math.min(input.admission.limit, input.admission.max_limit))
  const cap = Math.max(1, Math.floor(pages / batch))
  if (concurrency > cap) {
    notes.push(
      batch > 1
        ? `concurrency capped at ${cap}: a request of ${batch} URLs holds ${batch} pages, and the admission limit is ${input.admission.limit} now`
        : `concurrency capped at ${cap}: the admission limit is ${input.admission.limit} pages now (max ${input.admission.max_limit})`,
    )
    concurrency = cap
  }
  return { urls, concurrency, batch, notes, blocked: urls.length === 0 ? 'enter at least one URL' : null }
}
