import type { BareTrace } from './bare-loop.js'
import type { ClientTiming, ServerTrace } from './service-client.js'
import { median } from './stats.js'

/**
 * One row of the "where the time goes" table: the median of a step on each side, in ms. A pair is
 * a split of the row above into two sub-steps; null means the side has no such step.
 */
export type StepCell = number | readonly [number, number] | null

export interface StepRow {
  step: string
  a: StepCell
  b: StepCell
}

/**
 * Medians of each step at concurrency 1, (A) from client timings zipped with the engine's own
 * request events (one request in flight at a time, so the n-th trace is the n-th request), (B)
 * from the bare loop's own timestamps. Medians of steps do not add up exactly to the median total.
 */
export function stepBreakdown(client: readonly ClientTiming[], server: readonly ServerTrace[], bare: readonly BareTrace[]): StepRow[] {
  if (client.length !== server.length) throw new Error(`breakdown: ${client.length} client timings but ${server.length} server traces`)
  const a = {
    httpIn: [] as number[],
    admission: [] as number[],
    setup: [] as number[],
    goto: [] as number[],
    finish: [] as number[],
    httpOut: [] as number[],
    total: [] as number[],
  }
  client.forEach((c, i) => {
    const s = server[i] as ServerTrace
    if (s.acquiring === undefined || s.navigating === undefined || s.extracting === undefined || s.finished === undefined) return
    a.httpIn.push(s.started - c.sent)
    a.admission.push(s.acquiring - s.started)
    a.setup.push(s.navigating - s.acquiring)
    a.goto.push(s.extracting - s.navigating)
    a.finish.push(s.finished - s.extracting)
    a.httpOut.push(c.done - s.finished)
    a.total.push(c.done - c.sent)
  })
  const b = {
    context: bare.map((t) => t.context - t.start),
    page: bare.map((t) => t.page - t.context),
    setup: bare.map((t) => t.page - t.start),
    goto: bare.map((t) => t.goto - t.page),
    extract: bare.map((t) => t.extract - t.goto),
    close: bare.map((t) => t.closed - t.extract),
    finish: bare.map((t) => t.closed - t.goto),
    total: bare.map((t) => t.closed - t.start),
  }
  return [
    { step: 'HTTP in: fetch() → engine request:started (undici, Koa, body parser, zod, request tracking)', a: median(a.httpIn), b: null },
    { step: 'admission slot (started → acquiring)', a: median(a.admission), b: null },
    { step: 'pool lease + newContext + newPage (acquiring → navigating)', a: median(a.setup), b: median(b.setup) },
    { step: '↳ newContext / newPage', a: null, b: [median(b.context), median(b.page)] },
    { step: 'goto, domcontentloaded (navigating → extracting)', a: median(a.goto), b: median(b.goto) },
    // crawldeck closes the context after its answer, so A's row holds no close.
    { step: 'extract, + context.close on B (extracting → finished)', a: median(a.finish), b: median(b.finish) },
    { step: '↳ extract / context.close', a: null, b: [median(b.extract), median(b.close)] },
    { step: 'HTTP out: request:finished → client holds parsed JSON', a: median(a.httpOut), b: null },
    { step: 'total (median of per-request totals)', a: median(a.total), b: median(b.total) },
  ]
}
