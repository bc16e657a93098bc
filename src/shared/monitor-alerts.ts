import type { AlertRuleId } from './alert-settings.js'

/**
 * What GET /monitor/alerts answers: the alerts firing now, the history of alerts (each episode
 * once, fired and, when it has, resolved), and every rule with its settings and state.
 */

export type AlertSeverity = 'warning' | 'critical'
export type AlertRuleState = 'disabled' | 'ok' | 'pending' | 'firing' | 'resolving'

/** One episode of a rule: from the moment it fired to the moment it resolved. */
export interface AlertRecord {
  /** Unique per episode. */
  id: string
  alert: AlertRuleId
  severity: AlertSeverity
  status: 'firing' | 'resolved'
  /** The rule's reading when it fired (memory %, error %, ms, count, 1 for a down/degraded state). */
  value: number
  /** The highest reading while it fired. */
  peak: number
  /** The reading now (firing) or when it resolved. */
  last_value: number | null
  threshold: number
  unit: string
  /** Epoch ms: when the condition began (the start of its `for`), when it fired, when it resolved. */
  started_at: number
  fired_at: number
  resolved_at: number | null
  /** The instance that raised it (the fleet id, also /metrics' `instance` label). */
  instance: string
  summary: string
}

export interface AlertRuleView {
  id: AlertRuleId
  severity: AlertSeverity
  /** What the rule watches, in words. */
  description: string
  unit: string
  /** The rule's settings as saved (Settings' alerts.rules.<id>). */
  config: Record<string, number | boolean>
  state: AlertRuleState
  /** Its latest reading; null with nothing to measure (too few requests, no fleet). */
  value: number | null
  /** Epoch ms the state began. */
  since: number
}

export interface AlertsResponse {
  /** Firing now, oldest first. */
  active: AlertRecord[]
  /** Every kept episode, newest first (the active ones included). */
  history: AlertRecord[]
  rules: AlertRuleView[]
  /** Webhooks alerts are delivered to (user info stripped from the URLs). */
  targets: Array<{ url: string; format: string }>
}
