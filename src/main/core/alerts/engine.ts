import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ALERT_RULE_IDS, type AlertRuleId, type AlertSettings } from '../../../shared/alert-settings.js'
import type { FleetResponse } from '../../../shared/monitor-fleet.js'
import type { AlertRecord, AlertRuleView, AlertsResponse } from '../../../shared/monitor-alerts.js'
import type { EngineEventBus } from '../events.js'
import { displayUrl } from '../jobs/webhooks.js'
import type { Logger } from '../logger.js'
import { writeFileAtomic } from '../store/atomic-write.js'
import { deliverAlert, type AlertPoster } from './delivery.js'
import {
  departures,
  errorRatePercent,
  INITIAL_STATE,
  limitsOf,
  p95,
  readingOf,
  RULE_META,
  stepRule,
  type AlertSignals,
  type RuleState,
  type RuleTransition,
  type SeenInstance,
} from './rules.js'

/** How long a stop waits for alert deliveries under way (the whole shutdown has 15 s). */
const STOP_WAIT_MS = 3_000

/** Episodes kept (memory and alerts.json); older ones fall out. */
export const ALERT_HISTORY_SIZE = 200
/** Request outcomes and timings kept for the windows: bounds memory whatever the windows say. */
const MAX_SAMPLES = 20_000
export const ALERTS_FILE = 'alerts.json'

export interface AlertEngineDeps {
  events: EngineEventBus
  /** The saved alert settings, read at every tick: a change applies at the next reading. */
  settings: () => AlertSettings
  readMemoryPercent: () => number
  /** Whether the permanent browser is down; null when the service runs without one. */
  permanentDown: () => boolean | null
  persistenceOk: () => boolean
  /** The fleet in Redis; null without redis_url (a fleet of one loses nobody). */
  fleet: { list(): Promise<FleetResponse> } | null
  instance: string
  poster: AlertPoster
  logger: Logger
  /** Where alerts.json is kept (the data dir); null keeps the history in memory only. */
  dataDir: string | null
  now?: () => number
  /** Between readings (1 s). */
  intervalMs?: number
}

interface Sample {
  at: number
  ms: number
}

/**
 * Reads the signals once a second, steps every rule (rules.ts), and for each transition records
 * the episode, emits `alert:fired` / `alert:resolved` and delivers it to the alert webhooks.
 */
export class AlertEngine {
  private readonly now: () => number
  private readonly states = new Map<AlertRuleId, RuleState>()
  private readonly values = new Map<AlertRuleId, number | null>()
  private readonly active = new Map<AlertRuleId, AlertRecord>()
  /** Newest first. */
  private history: AlertRecord[] = []
  private readonly outcomes: boolean[] = []
  private readonly timings: Sample[] = []
  private readonly rejections: number[] = []
  private readonly gone: number[] = []
  private seen = new Map<string, SeenInstance>()
  private fleetPolledAt = 0
  private fleetTtlSeconds = 3
  private fleetPolling = false
  private timer: NodeJS.Timeout | null = null
  private readonly offs: Array<() => void> = []
  /** Deliveries under way. */
  private readonly work = new Set<Promise<unknown>>()
  /** Fleet reads under way. */
  private readonly reads = new Set<Promise<unknown>>()
  private writing: Promise<void> = Promise.resolve()

  constructor(private readonly deps: AlertEngineDeps) {
    this.now = deps.now ?? Date.now
    for (const id of ALERT_RULE_IDS) this.states.set(id, { ...INITIAL_STATE, since: this.now() })
  }

  /** Loads the kept history, listens to requests and starts reading. */
  async start(): Promise<void> {
    await this.load()
    this.offs.push(
      this.deps.events.on('request:finished', (e) => {
        if (e.aborted) return
        // Refused at admission is its own rule: a full queue is not the crawls failing.
        if (e.status_code === 429 || e.status_code === 503) push(this.rejections, e.end_time)
        if (e.status_code !== 429) {
          push(this.outcomes, e.success)
          push(this.timings, { at: e.end_time, ms: e.elapsed_ms })
        }
      }),
    )
    this.timer = setInterval(() => {
      // A reading that throws must not take the service down with it (a timer's throw would).
      try {
        this.tick()
      } catch (err) {
        this.deps.logger.error({ err }, 'alerts: a reading of the rules failed')
      }
    }, this.deps.intervalMs ?? 1000)
    this.timer.unref()
  }

  /**
   * Stops reading; waits for deliveries under way and the last write of alerts.json, at most
   * STOP_WAIT_MS: a receiver that holds its answer must not hold the shutdown. A fleet read under
   * way is not waited for: with Redis gone it may never answer, and its answer no longer matters.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    for (const off of this.offs.splice(0)) off()
    let timer: NodeJS.Timeout | undefined
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_WAIT_MS)
    })
    const late = await Promise.race([this.drain(this.work).then(() => false), gaveUp])
    clearTimeout(timer)
    if (late) this.deps.logger.warn(`alerts: stopped with ${this.work.size} delivery(ies) still under way after ${STOP_WAIT_MS / 1000} s`)
  }

  /** Every delivery, fleet read and write under way has ended (tests wait on it). */
  async settled(): Promise<void> {
    await Promise.all([this.drain(this.work), this.drain(this.reads)])
  }

  private async drain(set: Set<Promise<unknown>>): Promise<void> {
    while (set.size > 0) await Promise.allSettled([...set])
    await this.writing
  }

  /** One reading of every rule (the timer calls it; tests may too). */
  tick(): void {
    const now = this.now()
    const settings = this.deps.settings()
    const signals = this.signals(settings, now)
    for (const id of ALERT_RULE_IDS) {
      const value = readingOf(id, signals)
      this.values.set(id, value)
      const limits = limitsOf(id, settings.rules)
      // A rule with nothing to watch here (no permanent browser, no fleet) stays off.
      const applicable =
        !(id === 'permanent_browser_down' && signals.permanent_browser_down === null) && !(id === 'fleet_instance_gone' && signals.fleet_gone === null)
      const step = stepRule(this.states.get(id) ?? INITIAL_STATE, value, { ...limits, enabled: limits.enabled && applicable }, now)
      this.states.set(id, step.state)
      if (step.transition) this.record(id, step.transition, limits.threshold, settings)
    }
    this.pollFleet(settings, now)
  }

  read(): AlertsResponse {
    const settings = this.deps.settings()
    const rules: AlertRuleView[] = ALERT_RULE_IDS.map((id) => {
      const state = this.states.get(id) ?? INITIAL_STATE
      const config = settings.rules[id] as Record<string, number | boolean>
      return {
        id,
        severity: RULE_META[id].severity,
        description: RULE_META[id].description,
        unit: RULE_META[id].unit,
        config: { ...config },
        state: config.enabled ? state.phase : 'disabled',
        value: this.values.get(id) ?? null,
        since: state.since,
      }
    })
    return {
      active: [...this.active.values()].sort((a, b) => a.fired_at - b.fired_at).map((r) => ({ ...r })),
      history: this.history.map((r) => ({ ...r })),
      rules,
      targets: settings.webhooks.map((w) => ({ url: displayUrl(w.url), format: w.format })),
    }
  }

  /** The other fleet members as the fleet rule last read them (their departure is what it watches). */
  fleetMembers(): string[] {
    return [...this.seen.keys()]
  }

  /** Rules firing now, for /metrics' crawldeck_alerts_firing. */
  firing(): Record<AlertRuleId, boolean> {
    return Object.fromEntries(ALERT_RULE_IDS.map((id) => [id, this.active.has(id)])) as Record<AlertRuleId, boolean>
  }

  private signals(settings: AlertSettings, now: number): AlertSignals {
    const r = settings.rules
    const latencyFrom = now - r.latency_p95.window_seconds * 1000
    const maxWindow = Math.max(r.latency_p95.window_seconds, r.admission_rejections.window_seconds) * 1000
    while (this.timings.length > 0 && (this.timings[0] as Sample).at < now - maxWindow) this.timings.shift()
    while (this.rejections.length > 0 && (this.rejections[0] as number) < now - maxWindow) this.rejections.shift()
    while (this.gone.length > 0 && (this.gone[0] as number) < now - r.fleet_instance_gone.window_seconds * 1000) this.gone.shift()
    let memory: number | null = null
    try {
      memory = this.deps.readMemoryPercent()
    } catch (err) {
      this.deps.logger.warn({ err }, 'alerts: could not read memory')
    }
    return {
      memory_percent: memory,
      error_rate_percent: errorRatePercent(this.outcomes, r.error_rate.window_requests, r.error_rate.min_requests),
      latency_p95_ms: p95(
        this.timings.filter((t) => t.at >= latencyFrom).map((t) => t.ms),
        r.latency_p95.min_requests,
      ),
      permanent_browser_down: this.deps.permanentDown(),
      rejections: this.rejections.filter((at) => at >= now - r.admission_rejections.window_seconds * 1000).length,
      persistence_ok: this.deps.persistenceOk(),
      fleet_gone: this.deps.fleet === null ? null : this.gone.length,
    }
  }

  /** Reads the fleet every third of its TTL (what departures() needs to tell a crash from a clean close). */
  private pollFleet(settings: AlertSettings, now: number): void {
    const fleet = this.deps.fleet
    if (fleet === null || this.fleetPolling || !settings.rules.fleet_instance_gone.enabled) return
    if (now - this.fleetPolledAt < Math.max(1000, (this.fleetTtlSeconds * 1000) / 3)) return
    this.fleetPolledAt = now
    this.fleetPolling = true
    this.track(
      this.reads,
      fleet
        .list()
        .then((answer) => {
          // Redis unreachable: only this instance is listed, which says nothing about the others.
          if (answer.error !== null) return
          this.fleetTtlSeconds = answer.ttl_seconds
          const at = this.now()
          const present = new Set(answer.instances.map((i) => i.id))
          const { expired } = departures(this.seen, present, at)
          for (const id of expired) {
            this.deps.logger.warn({ instance: id }, 'alerts: a fleet instance stopped sending heartbeats')
            push(this.gone, at)
          }
          this.seen = new Map(answer.instances.filter((i) => !i.self).map((i) => [i.id, { heartbeat_at: i.heartbeat_at, ttl_seconds: i.ttl_seconds }]))
        })
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'alerts: could not read the fleet'))
        .finally(() => (this.fleetPolling = false)),
    )
  }

  private record(id: AlertRuleId, t: RuleTransition, threshold: number, settings: AlertSettings): void {
    const meta = RULE_META[id]
    let record: AlertRecord
    if (t.kind === 'fired') {
      record = {
        id: `alr_${randomBytes(6).toString('hex')}`,
        alert: id,
        severity: meta.severity,
        status: 'firing',
        value: round(t.value),
        peak: round(t.value),
        last_value: round(t.value),
        threshold,
        unit: meta.unit,
        started_at: t.started_at,
        fired_at: t.fired_at,
        resolved_at: null,
        instance: this.deps.instance,
        summary: firedSummary(id, t.value, threshold, settings),
      }
      this.active.set(id, record)
      this.history.unshift(record)
      if (this.history.length > ALERT_HISTORY_SIZE) this.history.length = ALERT_HISTORY_SIZE
    } else {
      const open = this.active.get(id)
      this.active.delete(id)
      const resolved: AlertRecord = {
        ...(open ?? {
          id: `alr_${randomBytes(6).toString('hex')}`,
          alert: id,
          severity: meta.severity,
          value: round(t.fired_value),
          threshold,
          unit: meta.unit,
          started_at: t.started_at,
          fired_at: t.fired_at,
          instance: this.deps.instance,
        }),
        status: 'resolved',
        peak: round(t.peak),
        last_value: t.value === null ? null : round(t.value),
        resolved_at: t.resolved_at,
        summary: resolvedSummary(id, t.value, settings.rules[id].enabled),
      }
      record = resolved
      const at = this.history.findIndex((r) => r.id === resolved.id)
      if (at >= 0) this.history[at] = resolved
      else this.history.unshift(resolved)
    }
    this.deps.logger.info(
      { alert: id, status: record.status, value: record.value, threshold },
      `alert ${id} ${record.status === 'firing' ? 'fired' : 'resolved'}`,
    )
    this.deps.events.emit(record.status === 'firing' ? 'alert:fired' : 'alert:resolved', { ...record })
    if (settings.webhooks.length > 0) this.track(this.work, deliverAlert(this.deps.poster, settings.webhooks, record))
    this.save()
  }

  private track(set: Set<Promise<unknown>>, p: Promise<unknown>): void {
    set.add(p)
    void p.finally(() => set.delete(p))
  }

  private file(): string | null {
    return this.deps.dataDir === null ? null : join(this.deps.dataDir, ALERTS_FILE)
  }

  /** The history as it was at the last stop; episodes still firing then were cut by the restart. */
  private async load(): Promise<void> {
    const file = this.file()
    if (file === null) return
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch {
      return
    }
    try {
      const parsed = JSON.parse(text) as { history?: unknown }
      if (!Array.isArray(parsed.history)) return
      const now = this.now()
      this.history = (parsed.history as AlertRecord[])
        .filter((r) => r && typeof r.id === 'string' && (ALERT_RULE_IDS as readonly string[]).includes(r.alert))
        .slice(0, ALERT_HISTORY_SIZE)
        .map((r) => (r.status === 'firing' ? { ...r, status: 'resolved', resolved_at: now, summary: `${r.summary} (closed by a restart)` } : r))
    } catch (err) {
      this.deps.logger.warn({ err, file }, 'alerts: the kept alert history could not be read; starting empty')
    }
  }

  /** Writes are chained: two renames racing could leave the older history last. */
  private save(): void {
    const file = this.file()
    if (file === null) return
    const text = JSON.stringify({ history: this.history })
    this.writing = this.writing
      .then(() => writeFileAtomic(file, text))
      .catch((err: unknown) => this.deps.logger.warn({ err, file }, 'alerts: could not write the alert history'))
  }
}

function push<T>(list: T[], item: T): void {
  list.push(item)
  if (list.length > MAX_SAMPLES) list.splice(0, list.length - MAX_SAMPLES)
}

function round(v: number): number {
  return Math.round(v * 10) / 10
}

function firedSummary(id: AlertRuleId, value: number, threshold: number, s: AlertSettings): string {
  const r = s.rules
  const held = (seconds: number) => (seconds > 0 ? ` for ${seconds} s` : '')
  switch (id) {
    case 'memory_high':
      return `memory use ${round(value)} % is at or above ${threshold} %${held(r.memory_high.for_seconds)}`
    case 'error_rate':
      return `${round(value)} % of the last ${r.error_rate.window_requests} requests failed (threshold ${threshold} %)`
    case 'latency_p95':
      return `p95 request time ${Math.round(value)} ms over the last ${r.latency_p95.window_seconds} s is at or above ${threshold} ms`
    case 'permanent_browser_down':
      return `the permanent browser is down${held(r.permanent_browser_down.for_seconds)}`
    case 'admission_rejections':
      return `${value} request(s) refused with 429/503 in the last ${r.admission_rejections.window_seconds} s (threshold ${threshold})`
    case 'persistence_degraded':
      return `monitor history is not being saved to its store${held(r.persistence_degraded.for_seconds)}`
    case 'fleet_instance_gone':
      return `${value} fleet instance(s) stopped sending heartbeats without a clean shutdown in the last ${r.fleet_instance_gone.window_seconds} s`
  }
}

function resolvedSummary(id: AlertRuleId, value: number | null, enabled: boolean): string {
  if (!enabled) return `${id} resolved: the rule was switched off`
  const shown = value === null ? 'nothing to measure' : `${round(value)}${RULE_META[id].unit ? ` ${RULE_META[id].unit}` : ''}`
  switch (id) {
    case 'permanent_browser_down':
      return 'the permanent browser is up again'
    case 'persistence_degraded':
      return 'monitor history is being saved again'
    default:
      return `${id} back below its threshold (now ${shown})`
  }
}
