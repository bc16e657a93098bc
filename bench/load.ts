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
  const latencies: number[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      const t0 = performance.now()
      await task(i)
      latencies.push(performance.now() - t0)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, () => worker()))
  return { latencies, wallMs: performance.now() - started }
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
