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
}

/**
 * Closed loop: `concurrency` workers pull `tasks` task numbers from one counter and start the next
 * as soon as the previous one ends. A task returns the per-page latencies it knows (a batch
 * request: each URL's own duration), or null to have its own wall time counted as one page.
 * Any failure aborts the cell: a benchmark that drops errors would report a speed it never had.
 */
export async function closedLoop(task: (i: number) => Promise<number[] | null>, tasks: number, concurrency: number): Promise<CellRun> {
  const latencies: number[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < tasks) {
      const i = next++
      const t0 = performance.now()
      const own = await task(i)
      if (own === null) latencies.push(performance.now() - t0)
      else latencies.push(...own)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks) }, () => worker()))
  return { pages: latencies.length, wallMs: performance.now() - started, latencies }
}
