/**
 * Which pool browsers an operator may kill or a cleanup may close: the one rule the pool acts on
 * and the monitor shows, so the dashboard never offers what the pool would refuse.
 */
import type { ManagedBrowser } from './managed-browser.js'

export const PERMANENT_NOT_KILLABLE = 'the permanent browser cannot be killed; restart it instead'

/**
 * Why a kill is refused: the permanent browser never; a busy one not without force. `serving`
 * counts crawls outside sessions; `sessions` the named sessions whose page lives in it.
 */
export type KillBlocker = { kind: 'permanent' } | { kind: 'busy'; serving: number; sessions: number }

/**
 * What stands in the way of killing `b`, or null when nothing does. Busy counts only crawls still
 * running: leases that only wait for their context to close serve nothing, their crawls have answered.
 * A named session holds a lease for its whole life, idle or not: killing its browser ends it, so
 * it counts as busy too.
 */
export function killBlocker(b: Pick<ManagedBrowser, 'tier' | 'servingLeases' | 'sessions'>, opts: { force?: boolean } = {}): KillBlocker | null {
  if (b.tier === 'permanent') return { kind: 'permanent' }
  if (b.servingLeases > 0 && !opts.force) return { kind: 'busy', serving: Math.max(0, b.servingLeases - b.sessions), sessions: b.sessions }
  return null
}

/** A busy browser's load in words: "serving 2 crawl(s)", "holding 1 session(s)", or both. */
export function busyText(blocker: { serving: number; sessions: number }): string {
  const parts: string[] = []
  if (blocker.serving > 0 || blocker.sessions === 0) parts.push(`serving ${blocker.serving} crawl(s)`)
  if (blocker.sessions > 0) parts.push(`holding ${blocker.sessions} session(s)`)
  return parts.join(' and ')
}

/** Cold browsers a cleanup closes (idle) and spares (holding leases); retired ones close on their own. */
export function coldCleanup(browsers: ManagedBrowser[]): { idle: ManagedBrowser[]; busy: ManagedBrowser[] } {
  const cold = browsers.filter((b) => b.tier === 'cold' && b.acceptsLeases)
  return { idle: cold.filter((b) => b.leases === 0), busy: cold.filter((b) => b.leases > 0) }
}
