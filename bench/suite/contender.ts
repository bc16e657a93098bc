import type { CellRun } from '../load.js'

export type ContenderId = 'a' | 'a-batch' | 'b' | 'c' | 'd' | 'd-incognito'

/** One way of getting pages crawled, measured cell by cell. */
export interface Contender {
  id: ContenderId
  /** Short name for tables and the chart legend. */
  label: string
  /** What it does per page, for the docs. */
  method: string
  /** What one request shares with the others (cookies, storage, cache, process). */
  isolation: string
  /** False where the contender has no form at that concurrency (the cell shows "—"). */
  supports(concurrency: number): boolean
  /** Crawl `url` about `pages` times with `concurrency` pages in flight. */
  run(url: string, pages: number, concurrency: number): Promise<CellRun>
  /** One crawl of `url`, returning a short description of the result (sanity line). */
  probe(url: string): Promise<string>
  dispose(): Promise<void>
}
