import { performance } from 'node:perf_hooks'

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
