import { performance } from 'node:perf_hooks'

/** What one load run measured: every request's latency and the wall time of the whole run. */
export interface LoadRun {
  latencies: number[]
  wallMs: number
}

/**
 * Run `count` calls of `task` with `concurrency` workers pulling from one counter (a closed
 * loop: a worker starts its next request as soon as its previous one ends). Any failure aborts
 * the run: a benchmark that silently drops errors would report a speed it never had.
 */
export async function runLoad(task: (i: number) => Promise<void>, count: number, concurrency: number): Promise<LoadRun> {
  const { latencies, wallMs } = await closedLoop(
    async (i) => {
      await task(i)
      return null
    },
    count,
    concurrency,
  )
  return { latencies, wallMs }
}

/** Pages per second of one or more runs taken together (total requests over total wall time). */
export function throughput(runs: readonly LoadRun[]): number {
  let n = 0
  let ms = 0
  for (const r of runs) {
    n += r.latencies.length
    ms += r.wallMs
  }
  return ms > 0 ? (n * 1000) / ms : Number.NaN
}

/** What one contender measured in one cell (one page, one concurrency, one round). */
export interface CellRun {
  /** Pages crawled (a batch request counts each of its URLs). */
  pages: number
  /** Wall time from the first request sent to the last page done. */
  wallMs: number
  /** One latency per page, in ms. */
  latencies: number[]
  /** Requests that failed (counted only when failures are counted, not fatal); their pages are not in `pages`. */
  failed: number
  /** The first few distinct failure messages. */
  errors: string[]
  /** CPU the whole machine used during the run, ms (suite cells only; absent where not measured). */
  machineCpuMs?: number
}

/** Keep a failure's message, at most three distinct ones per cell. */
export function noteFailure(run: Pick<CellRun, 'failed' | 'errors'>, err: unknown): void {
  run.failed++
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? ''
  if (run.errors.length < 3 && !run.errors.includes(message)) run.errors.push(message)
}

/**
 * Closed loop: `concurrency` workers pull `tasks` task numbers from one counter and start the next
 * as soon as the previous one ends. A task returns the per-page latencies it knows (a batch
 * request: each URL's own duration), or null to have its own wall time counted as one page.
 * By default any failure aborts the cell: a benchmark that drops errors would report a speed it
 * never had. With `countFailures` a failed task adds no page but its time stays in the wall time
 * (so it lowers pages/s), and the cell reports how many failed and why: on a machine so loaded that
 * one page in hundreds times out, a 15-minute run still ends with figures that say so.
 */
export async function closedLoop(task: (i: number) => Promise<number[] | null>, tasks: number, concurrency: number, countFailures = false): Promise<CellRun> {
  const run: CellRun = { pages: 0, wallMs: 0, latencies: [], failed: 0, errors: [] }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks) {
      const i = next++
      const t0 = performance.now()
      let own: number[] | null
      try {
        own = await task(i)
      } catch (err) {
        if (!countFailures) throw err
        noteFailure(run, err)
        continue
      }
      if (own === null) run.latencies.push(performance.now() - t0)
      else run.latencies.push(...own)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks) }, () => worker()))
  run.wallMs = performance.now() - started
  run.pages = run.latencies.length
  return run
}
