/**
 * Which pool browsers an operator may kill or a cleanup may close: the one rule the pool acts on
 * and the monitor shows, so the dashboard never offers what the pool would refuse.
 */
import type { ManagedBrowser } from './managed-browser.js'

export const PERMANENT_NOT_KILLABLE = 'the permanent browser cannot be killed; restart it instead'

/** Why a kill is refused: the permanent browser never; a busy one not without force. */
export type KillBlocker = { kind: 'permanent' } | { kind: 'busy'; serving: number }

/**
 * What stands in the way of killing `b`, or null when nothing does. Busy counts only crawls still
 * running: leases that only wait for their context to close serve nothing, their crawls have answered.
 */
export function killBlocker(b: Pick<ManagedBrowser, 'tier' | 'servingLeases'>, opts: { force?: boolean } = {}): KillBlocker | null {
  if (b.tier === 'permanent') return { kind: 'permanent' }
  if (b.servingLeases > 0 && !opts.force) return { kind: 'busy', serving: b.servingLeases }
  return null
}

/** Cold browsers a cleanup closes (idle) and spares (holding leases); retired ones close on their own. */
export function coldCleanup(browsers: ManagedBrowser[]): { idle: ManagedBrowser[]; busy: ManagedBrowser[] } {
  const cold = browsers.filter((b) => b.tier === 'cold' && b.acceptsLeases)
  return { idle: cold.filter((b) => b.leases === 0), busy: cold.filter((b) => b.leases > 0) }
}
