import type { AlertRuleId, AlertRules } from '../../../shared/alert-settings.js'
import type { AlertRuleState, AlertSeverity } from '../../../shared/monitor-alerts.js'

/*
 * The alert rules as pure functions: a rule's reading from a snapshot of signals, and one step of
 * its state machine over an injected clock. ok → pending (the condition holds, not yet for
 * `for_seconds`) → firing → resolving (below threshold − hysteresis, not yet for
 * `resolve_after_seconds`) → ok. Exactly one 'fired' and one 'resolved' per episode: a value that
 * wobbles around the threshold while firing neither re-fires nor resolves.
 */

/** What the engine measured at one moment; null where there is nothing to measure. */
export interface AlertSignals {
  memory_percent: number | null
  /** Percent of the last N finished requests that failed, or null below min_requests. */
  error_rate_percent: number | null
  latency_p95_ms: number | null
  permanent_browser_down: boolean | null
  rejections: number
  persistence_ok: boolean
  /** Instances gone without a clean shutdown within the rule's window; null outside fleet mode. */
  fleet_gone: number | null
}

/** A rule's settings flattened to what the state machine needs. */
export interface RuleLimits {
  enabled: boolean
  threshold: number
  hysteresis: number
  for_seconds: number
  resolve_after_seconds: number
}

export interface RuleMeta {
  severity: AlertSeverity
  unit: string
  description: string
}

export const RULE_META: Record<AlertRuleId, RuleMeta> = {
  memory_high: { severity: 'warning', unit: '%', description: 'memory use at or above the threshold' },
  error_rate: { severity: 'critical', unit: '%', description: 'share of failed requests among the last requests' },
  latency_p95: { severity: 'warning', unit: 'ms', description: 'p95 request time over the window' },
  permanent_browser_down: { severity: 'critical', unit: '', description: 'the permanent browser has no live process' },
  admission_rejections: { severity: 'warning', unit: 'req', description: 'requests refused with 429/503 within the window' },
  persistence_degraded: { severity: 'warning', unit: '', description: 'monitor history cannot be written to its store' },
  fleet_instance_gone: { severity: 'critical', unit: 'instances', description: 'instances that left the fleet without a clean shutdown' },
}

/** The limits of rule `id` in `rules`; the state rules (down, degraded) fire on 1 and resolve on 0. */
export function limitsOf(id: AlertRuleId, rules: AlertRules): RuleLimits {
  const r = rules[id] as Partial<RuleLimits> & { enabled: boolean; for_seconds: number; resolve_after_seconds: number }
  return {
    enabled: r.enabled,
    threshold: r.threshold ?? 1,
    hysteresis: r.hysteresis ?? 0,
    for_seconds: r.for_seconds,
    resolve_after_seconds: r.resolve_after_seconds,
  }
}

/** Rule `id`'s reading in `s`: null when there is nothing to judge (counts as below the threshold). */
export function readingOf(id: AlertRuleId, s: AlertSignals): number | null {
  switch (id) {
    case 'memory_high':
      return s.memory_percent
    case 'error_rate':
      return s.error_rate_percent
    case 'latency_p95':
      return s.latency_p95_ms
    case 'permanent_browser_down':
      return s.permanent_browser_down === null ? null : s.permanent_browser_down ? 1 : 0
    case 'admission_rejections':
      return s.rejections
    case 'persistence_degraded':
      return s.persistence_ok ? 0 : 1
    case 'fleet_instance_gone':
      return s.fleet_gone
  }
}

export interface RuleState {
  phase: Exclude<AlertRuleState, 'disabled'>
  /** Epoch ms the phase began. */
  since: number
  /** While pending, firing or resolving: when the condition began, and the reading when it fired. */
  startedAt: number | null
  firedAt: number | null
  firedValue: number | null
  peak: number | null
}

export const INITIAL_STATE: RuleState = { phase: 'ok', since: 0, startedAt: null, firedAt: null, firedValue: null, peak: null }

export type RuleTransition =
  | { kind: 'fired'; value: number; started_at: number; fired_at: number }
  | { kind: 'resolved'; value: number | null; started_at: number; fired_at: number; resolved_at: number; peak: number; fired_value: number }

/**
 * One reading of a rule. A disabled rule that was firing resolves at once (its episode closes);
 * one that was only pending goes back to ok.
 */
export function stepRule(state: RuleState, value: number | null, limits: RuleLimits, now: number): { state: RuleState; transition: RuleTransition | null } {
  const firing = state.phase === 'firing' || state.phase === 'resolving'
  const resolve = (): { state: RuleState; transition: RuleTransition } => ({
    state: { ...INITIAL_STATE, since: now },
    transition: {
      kind: 'resolved',
      value,
      started_at: state.startedAt ?? now,
      fired_at: state.firedAt ?? now,
      resolved_at: now,
      peak: Math.max(state.peak ?? 0, value ?? 0),
      fired_value: state.firedValue ?? 0,
    },
  })
  if (!limits.enabled) {
    if (firing) return resolve()
    return { state: state.phase === 'ok' ? state : { ...INITIAL_STATE, since: now }, transition: null }
  }
  const above = value !== null && value >= limits.threshold
  const clear = value === null || value < limits.threshold - limits.hysteresis
  const fire = (startedAt: number, v: number): { state: RuleState; transition: RuleTransition } => ({
    state: { phase: 'firing', since: now, startedAt, firedAt: now, firedValue: v, peak: v },
    transition: { kind: 'fired', value: v, started_at: startedAt, fired_at: now },
  })
  switch (state.phase) {
    case 'ok':
      if (!above) return { state, transition: null }
      if (limits.for_seconds <= 0) return fire(now, value)
      return { state: { ...INITIAL_STATE, phase: 'pending', since: now, startedAt: now }, transition: null }
    case 'pending':
      if (!above) return { state: { ...INITIAL_STATE, since: now }, transition: null }
      if (now - state.since >= limits.for_seconds * 1000) return fire(state.startedAt ?? state.since, value)
      return { state, transition: null }
    case 'firing': {
      const peak = Math.max(state.peak ?? 0, value ?? 0)
      if (!clear) return { state: { ...state, peak }, transition: null }
      if (limits.resolve_after_seconds <= 0) return resolve()
      return { state: { ...state, phase: 'resolving', since: now, peak }, transition: null }
    }
    case 'resolving': {
      const peak = Math.max(state.peak ?? 0, value ?? 0)
      if (!clear) return { state: { ...state, phase: 'firing', since: now, peak }, transition: null }
      if (now - state.since >= limits.resolve_after_seconds * 1000) return resolve()
      return { state: { ...state, peak }, transition: null }
    }
  }
}

/** Percent of failures among the last `window` outcomes; null when fewer than `min` are known. */
export function errorRatePercent(outcomes: readonly boolean[], window: number, min: number): number | null {
  const last = outcomes.slice(-window)
  if (last.length < Math.max(1, min)) return null
  return (last.filter((ok) => !ok).length / last.length) * 100
}

/** The 95th percentile (nearest rank) of `values`; null when fewer than `min`. */
export function p95(values: readonly number[], min: number): number | null {
  if (values.length < Math.max(1, min)) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] as number
}

export interface SeenInstance {
  heartbeat_at: number
  ttl_seconds: number
}

/**
 * Instances of `before` missing from `now`'s list, split into those whose registration expired
 * (gone without a clean shutdown: their last heartbeat is a whole TTL old) and those that left
 * cleanly (a clean close removes the registration at once, well within the TTL of its last
 * heartbeat, as long as the list is read at least every third of the TTL).
 */
export function departures(before: ReadonlyMap<string, SeenInstance>, present: ReadonlySet<string>, now: number): { expired: string[]; left: string[] } {
  const expired: string[] = []
  const left: string[] = []
  for (const [id, seen] of before) {
    if (present.has(id)) continue
    if (now - seen.heartbeat_at >= seen.ttl_seconds * 1000) expired.push(id)
    else left.push(id)
  }
  return { expired, left }
}
