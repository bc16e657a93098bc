import { z } from 'zod'

/*
 * The alert rules and where alerts are delivered: Settings' `alerts` (GET/POST /settings) and the
 * config file's `alerts` key. Every rule is on by default; src/main/core/alerts/rules.ts says how
 * each is evaluated.
 */

export const ALERT_RULE_IDS = [
  'memory_high',
  'error_rate',
  'latency_p95',
  'permanent_browser_down',
  'admission_rejections',
  'persistence_degraded',
  'fleet_instance_gone',
] as const
export type AlertRuleId = (typeof ALERT_RULE_IDS)[number]

export const ALERT_WEBHOOK_FORMATS = ['json', 'slack', 'discord'] as const
export type AlertWebhookFormat = (typeof ALERT_WEBHOOK_FORMATS)[number]

const Seconds = z.number().min(0).max(86_400)
const Count = z.number().int().min(1).max(100_000)

/** What every rule has: fired once its value has stood at or above `threshold` for `for_seconds`. */
const base = {
  enabled: z.boolean(),
  /** How long the condition must hold before the alert fires (0: at the first reading). */
  for_seconds: Seconds,
  /** How long the value must stay below threshold − hysteresis before the alert resolves. */
  resolve_after_seconds: Seconds,
}
/** Rules over a measured number: the threshold, and how far below it the value must fall to resolve. */
const measured = {
  ...base,
  threshold: z.number().positive().max(1e9),
  hysteresis: z.number().min(0).max(1e9),
}

export const AlertRulesSchema = z
  .object({
    /** Memory use (percent of the cgroup limit or host RAM). */
    memory_high: z.object({ ...measured, threshold: z.number().positive().max(100) }).strict(),
    /** Percent of the last `window_requests` finished requests that failed (none counted below `min_requests`). */
    error_rate: z.object({ ...measured, threshold: z.number().positive().max(100), window_requests: Count, min_requests: Count }).strict(),
    /** p95 of request time in ms over the last `window_seconds` (none counted below `min_requests`). */
    latency_p95: z.object({ ...measured, window_seconds: z.number().int().min(1).max(86_400), min_requests: Count }).strict(),
    /** The permanent browser is not connected (only when the service launches one). */
    permanent_browser_down: z.object(base).strict(),
    /** Requests answered 429 or 503 (queue full, browser refused) within the last `window_seconds`. */
    admission_rejections: z.object({ ...measured, window_seconds: z.number().int().min(1).max(86_400) }).strict(),
    /** The monitor's history cannot be written to its store. */
    persistence_degraded: z.object(base).strict(),
    /** Instances that left the fleet without a clean shutdown (their heartbeat expired) within `window_seconds`; with redis_url only. */
    fleet_instance_gone: z.object({ ...base, window_seconds: z.number().int().min(1).max(86_400) }).strict(),
  })
  .strict()

const MAX_ALERT_WEBHOOKS = 10

/** http(s) only, no user info in the log; whether the address may be reached is checked by the engine on save. */
const AlertWebhookUrl = z
  .string()
  .trim()
  .min(1)
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v)
      return u.protocol === 'http:' || u.protocol === 'https:'
    } catch {
      return false
    }
  }, 'give an http:// or https:// URL')

export const AlertWebhookSchema = z
  .object({
    url: AlertWebhookUrl,
    /** 'json': crawldeck's own body; 'slack' / 'discord': what their incoming webhooks accept. */
    format: z.enum(ALERT_WEBHOOK_FORMATS).default('json'),
  })
  .strict()

export const AlertSettingsSchema = z
  .object({
    rules: AlertRulesSchema,
    webhooks: z.array(AlertWebhookSchema).max(MAX_ALERT_WEBHOOKS),
  })
  .strict()

export type AlertRules = z.output<typeof AlertRulesSchema>
export type AlertSettings = z.output<typeof AlertSettingsSchema>
export type AlertWebhook = z.output<typeof AlertWebhookSchema>

/** An update of `alerts`: any field of any rule; a webhook list replaces the saved one. */
export const AlertSettingsPatchSchema = z
  .object({
    rules: z
      .object({
        memory_high: AlertRulesSchema.shape.memory_high.partial().optional(),
        error_rate: AlertRulesSchema.shape.error_rate.partial().optional(),
        latency_p95: AlertRulesSchema.shape.latency_p95.partial().optional(),
        permanent_browser_down: AlertRulesSchema.shape.permanent_browser_down.partial().optional(),
        admission_rejections: AlertRulesSchema.shape.admission_rejections.partial().optional(),
        persistence_degraded: AlertRulesSchema.shape.persistence_degraded.partial().optional(),
        fleet_instance_gone: AlertRulesSchema.shape.fleet_instance_gone.partial().optional(),
      })
      .strict()
      .optional(),
    webhooks: z.array(AlertWebhookSchema).max(MAX_ALERT_WEBHOOKS).optional(),
  })
  .strict()
export type AlertSettingsPatch = z.output<typeof AlertSettingsPatchSchema>

/** Every rule on, at levels that mean trouble on any machine (docs/alerts.md explains each). */
export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  rules: {
    memory_high: { enabled: true, threshold: 90, for_seconds: 30, hysteresis: 5, resolve_after_seconds: 30 },
    error_rate: { enabled: true, threshold: 20, window_requests: 50, min_requests: 10, for_seconds: 0, hysteresis: 5, resolve_after_seconds: 30 },
    latency_p95: { enabled: true, threshold: 30_000, window_seconds: 60, min_requests: 5, for_seconds: 0, hysteresis: 5000, resolve_after_seconds: 30 },
    permanent_browser_down: { enabled: true, for_seconds: 15, resolve_after_seconds: 5 },
    admission_rejections: { enabled: true, threshold: 10, window_seconds: 60, for_seconds: 0, hysteresis: 0, resolve_after_seconds: 0 },
    persistence_degraded: { enabled: true, for_seconds: 30, resolve_after_seconds: 5 },
    fleet_instance_gone: { enabled: true, window_seconds: 300, for_seconds: 0, resolve_after_seconds: 0 },
  },
  webhooks: [],
}

export interface AlertSettingsIssue {
  path: string
  message: string
}

/**
 * `base` with `patch` laid over it, rule by rule; the issues of the result (a hysteresis that
 * would never let the alert resolve) with their dotted paths under `alerts`.
 */
export function mergeAlertSettings(base: AlertSettings, patch: AlertSettingsPatch | undefined): { value: AlertSettings; issues: AlertSettingsIssue[] } {
  const rules = { ...base.rules } as Record<AlertRuleId, object>
  for (const id of ALERT_RULE_IDS) {
    const sent = patch?.rules?.[id]
    if (sent === undefined) continue
    const defined = Object.fromEntries(Object.entries(sent).filter(([, v]) => v !== undefined))
    rules[id] = { ...base.rules[id], ...defined }
  }
  const value = { rules: rules as AlertRules, webhooks: (patch?.webhooks ?? base.webhooks).map((w) => ({ ...w })) }
  const issues: AlertSettingsIssue[] = []
  for (const id of ALERT_RULE_IDS) {
    const rule = value.rules[id] as { threshold?: number; hysteresis?: number }
    if (rule.threshold !== undefined && rule.hysteresis !== undefined && rule.hysteresis >= rule.threshold)
      issues.push({
        path: `alerts.rules.${id}.hysteresis`,
        message: `hysteresis (${rule.hysteresis}) must be below the threshold (${rule.threshold}), or the alert could never resolve`,
      })
  }
  return { value, issues }
}
