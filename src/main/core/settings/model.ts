import { createHash } from 'node:crypto'
import {
  isMaskedToken,
  isTokenDigest,
  maskToken,
  NOTIFICATION_KINDS,
  SETTING_KEYS,
  TOKEN_ROLES,
  type SettingKey,
  type Settings,
  type SettingsPatch,
  type TokenRole,
} from '../../../shared/settings.js'
import { DEFAULT_ALERT_SETTINGS, mergeAlertSettings } from '../../../shared/alert-settings.js'
import type { Config } from '../config.js'
import { invalidInput } from '../errors.js'

/*
 * Pure rules of the Settings: defaults, merging a saved or sent patch, masking tokens and
 * which keys the running engine can take without a restart.
 */

/**
 * Keys that shape what is started (the HTTP server, the monitor store, the browsers' program): in
 * `serve` they need a restart. Every other key applies at once: the engine's (memory threshold, idle TTL, tokens)
 * through LiveSettings (settings/live.ts), which the engine reads on every use; the notifications
 * and close to tray through the desktop shell, which reads the settings service's `current()` each
 * time; start at login / hidden through the shell's onChange listener, which updates the login item.
 */
export const RESTART_KEYS = ['http_enabled', 'host', 'port', 'redis_url', 'chromium_path'] as const satisfies readonly SettingKey[]
export type RestartKey = (typeof RESTART_KEYS)[number]

/**
 * Defaults: the engine's configuration (itself the ConfigSchema defaults overlaid by file, env
 * and flags) for the keys it has; for the others, what a fresh desktop install should do.
 */
export function defaultSettings(config: Config): Settings {
  return {
    http_enabled: true,
    host: config.host,
    port: config.port,
    redis_url: config.redis_url,
    memory_threshold_percent: config.memory_threshold_percent,
    idle_ttl_seconds: config.idle_ttl_seconds,
    // Not the config's `chromium`: that one (a flag, the environment, the config file) wins over this.
    chromium_path: null,
    tokens: { admin: [...config.admin_tokens], crawl: [...config.crawl_tokens], read: [...config.read_tokens] },
    notifications: { crash: true, memory_high: true, error_burst: true },
    // Every rule on; the config file's `alerts` laid over them (checked when the config was parsed).
    alerts: mergeAlertSettings(DEFAULT_ALERT_SETTINGS, config.alerts ?? undefined).value,
    // A desktop app that also serves an API keeps serving with its window closed.
    close_to_tray: true,
    start_at_login: false,
    start_hidden: false,
  }
}

/**
 * `base` with `patch` laid over it. Masked tokens in the patch stand for saved ones: each takes
 * the first unused saved token of that role with the same mask, else the update is refused.
 */
export function mergeSettings(base: Settings, patch: SettingsPatch): Settings {
  const tokens = { ...base.tokens }
  const issues: Array<{ path: string; message: string }> = []
  for (const role of TOKEN_ROLES) {
    const sent = patch.tokens?.[role]
    if (!sent) continue
    const unused = [...base.tokens[role]]
    tokens[role] = sent.map((value, i) => {
      if (!isMaskedToken(value)) return value
      const at = unused.findIndex((t) => maskToken(t) === value)
      if (at < 0) {
        issues.push({ path: `tokens.${role}.${i}`, message: 'this masked token matches no saved token: type the full value' })
        return value
      }
      return unused.splice(at, 1)[0]!
    })
  }
  const alerts = mergeAlertSettings(base.alerts, patch.alerts)
  issues.push(...alerts.issues)
  if (issues.length > 0) throw invalidInput(issues)
  const { tokens: _t, notifications: _n, alerts: _a, ...flat } = patch
  const defined = Object.fromEntries(Object.entries(flat).filter(([, v]) => v !== undefined))
  const notifications = { ...base.notifications }
  for (const kind of NOTIFICATION_KINDS) {
    const v = patch.notifications?.[kind]
    if (v !== undefined) notifications[kind] = v
  }
  return { ...base, ...defined, tokens, notifications, alerts: alerts.value }
}

export function valueOf(settings: Settings, key: SettingKey): unknown {
  const [head, sub] = key.split('.') as [keyof Settings, string | undefined]
  const v = settings[head]
  return sub === undefined ? v : (v as Record<string, unknown> | undefined)?.[sub]
}

/** Keys whose values differ between two settings, in SETTING_KEYS order. */
export function changedKeys(a: Settings, b: Settings): SettingKey[] {
  return SETTING_KEYS.filter((k) => JSON.stringify(valueOf(a, k)) !== JSON.stringify(valueOf(b, k)))
}

/** A token as Settings keep it: its digest form (a digest stays as it is). */
export function tokenDigest(token: string): string {
  if (isTokenDigest(token)) return token
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}:${token.slice(-4)}`
}

/** `s` with every token in its digest form. */
export function digestTokens<T extends { tokens?: Partial<Record<TokenRole, string[]>> }>(s: T): T {
  if (!s.tokens) return s
  const tokens: Partial<Record<TokenRole, string[]>> = {}
  for (const role of TOKEN_ROLES) {
    const list = s.tokens[role]
    if (list !== undefined) tokens[role] = list.map(tokenDigest)
  }
  return { ...s, tokens }
}

/** Whether any token of `s` is still kept whole (a settings.json from before digests). */
export function holdsWholeTokens(s: { tokens?: Partial<Record<TokenRole, string[]>> }): boolean {
  return TOKEN_ROLES.some((role) => (s.tokens?.[role] ?? []).some((t) => !isTokenDigest(t)))
}

/** What may leave the engine: every token masked. */
export function maskSettings(s: Settings): Settings {
  const tokens = { ...s.tokens }
  for (const role of TOKEN_ROLES) tokens[role] = s.tokens[role].map(maskToken)
  return { ...s, tokens, notifications: { ...s.notifications } }
}

/** Keys a patch sets (dotted for nested ones). */
export function keysOf(patch: SettingsPatch): SettingKey[] {
  return SETTING_KEYS.filter((k) => valueOf(patch as Settings, k) !== undefined)
}

/** The values of `keys` in `s` as a patch: what settings.json keeps (only what the user chose). */
export function pick(s: Settings, keys: Iterable<SettingKey>): SettingsPatch {
  const wanted = new Set(keys)
  const out: Record<string, unknown> = {}
  for (const key of SETTING_KEYS) {
    if (!wanted.has(key)) continue
    const [head, sub] = key.split('.') as [string, string | undefined]
    if (sub === undefined) out[head] = valueOf(s, key)
    else out[head] = { ...(out[head] as object | undefined), [sub]: valueOf(s, key) }
  }
  return out as SettingsPatch
}
