import { defineStore } from 'pinia'
import { ref } from 'vue'
import {
  NOTIFICATION_KINDS,
  TOKEN_ROLES,
  type SettingKey,
  type Settings,
  type SettingsAnswer,
  type SettingsPatch,
  type TokenRole,
} from '../../../shared/settings'
import { alertsForm, alertsPatch } from '../lib/alert-settings-form'
import { TransportError } from '../transport/types'
import { useTransport } from './transport'

/** The Settings form as the inputs hold it: numbers may be '' while typed, Redis '' means none. */
export interface SettingsForm {
  http_enabled: boolean
  host: string
  port: number | ''
  redis_url: string
  memory_threshold_percent: number | ''
  idle_ttl_seconds: number | ''
  /** '' means none: the engine looks for a browser itself. */
  chromium_path: string
  tokens: Record<TokenRole, string[]>
  notifications: Settings['notifications']
  /** Alert rules and alert webhooks (lib/alert-settings-form.ts). */
  alerts: Settings['alerts']
  close_to_tray: boolean
  start_at_login: boolean
  start_hidden: boolean
}

export interface SaveOutcome {
  applied: SettingKey[]
  restart_required: SettingKey[]
}

export function formFrom(s: Settings): SettingsForm {
  return {
    http_enabled: s.http_enabled,
    host: s.host,
    port: s.port,
    redis_url: s.redis_url ?? '',
    memory_threshold_percent: s.memory_threshold_percent,
    idle_ttl_seconds: s.idle_ttl_seconds,
    chromium_path: s.chromium_path ?? '',
    tokens: { admin: [...s.tokens.admin], crawl: [...s.tokens.crawl], read: [...s.tokens.read] },
    notifications: { ...s.notifications },
    alerts: alertsForm(s.alerts),
    close_to_tray: s.close_to_tray,
    start_at_login: s.start_at_login,
    start_hidden: s.start_hidden,
  }
}

/**
 * Only what the form changed, so settings.json keeps only the user's own choices (the rest keeps
 * following the service's flags and config file). Numbers are sent as typed: the server says
 * what is wrong with them. Empty token rows are dropped.
 */
export function patchFrom(form: SettingsForm, saved: Settings): SettingsPatch {
  const patch: Record<string, unknown> = {}
  const flat = {
    http_enabled: form.http_enabled,
    host: form.host.trim(),
    port: form.port,
    redis_url: form.redis_url.trim() === '' ? null : form.redis_url.trim(),
    memory_threshold_percent: form.memory_threshold_percent,
    idle_ttl_seconds: form.idle_ttl_seconds,
    chromium_path: form.chromium_path.trim() === '' ? null : form.chromium_path.trim(),
    close_to_tray: form.close_to_tray,
    start_at_login: form.start_at_login,
    start_hidden: form.start_hidden,
  }
  for (const [key, value] of Object.entries(flat)) if (value !== saved[key as keyof typeof flat]) patch[key] = value
  const tokens: Partial<Record<TokenRole, string[]>> = {}
  for (const role of TOKEN_ROLES) {
    const list = form.tokens[role].map((t) => t.trim()).filter((t) => t !== '')
    if (JSON.stringify(list) !== JSON.stringify(saved.tokens[role])) tokens[role] = list
  }
  if (Object.keys(tokens).length > 0) patch.tokens = tokens
  const notifications: Partial<Settings['notifications']> = {}
  for (const kind of NOTIFICATION_KINDS) if (form.notifications[kind] !== saved.notifications[kind]) notifications[kind] = form.notifications[kind]
  if (Object.keys(notifications).length > 0) patch.notifications = notifications
  const alerts = alertsPatch(form.alerts, saved.alerts)
  if (alerts !== null) patch.alerts = alerts
  return patch as SettingsPatch
}

export const useSettingsStore = defineStore('settings', () => {
  const saved = ref<Settings | null>(null)
  const form = ref<SettingsForm | null>(null)
  const loading = ref(false)
  const saving = ref(false)
  /** A failure that is not about one field (network, server error). */
  const error = ref<string | null>(null)
  /** The server's 400 details by path ('port', 'tokens.admin.1', ...). */
  const fieldErrors = ref<Record<string, string>>({})
  const outcome = ref<SaveOutcome | null>(null)
  /** Keys saved but waiting for a restart (also known after a reload). */
  const pending = ref<SettingKey[]>([])

  function accept(answer: SettingsAnswer): void {
    saved.value = answer.settings
    form.value = formFrom(answer.settings)
    pending.value = answer.restart_required
  }

  async function load(): Promise<void> {
    loading.value = true
    error.value = null
    try {
      accept(await useTransport().call('settings', {}))
    } catch (err) {
      error.value = `could not load the settings: ${err instanceof Error ? err.message : String(err)}`
    } finally {
      loading.value = false
    }
  }

  async function save(): Promise<void> {
    if (!form.value || !saved.value || saving.value) return
    saving.value = true
    error.value = null
    fieldErrors.value = {}
    outcome.value = null
    try {
      const answer = await useTransport().call('updateSettings', patchFrom(form.value, saved.value))
      accept(answer)
      outcome.value = { applied: answer.applied, restart_required: answer.restart_required }
    } catch (err) {
      const details = err instanceof TransportError ? (err.body as { details?: unknown } | null)?.details : undefined
      if (err instanceof TransportError && err.status === 400 && Array.isArray(details)) {
        const byPath: Record<string, string> = {}
        for (const d of details as Array<{ path: string; message: string }>) byPath[d.path] ??= d.message
        fieldErrors.value = byPath
        error.value = 'not saved: fix the fields marked below'
      } else {
        error.value = `not saved: ${err instanceof Error ? err.message : String(err)}`
      }
    } finally {
      saving.value = false
    }
  }

  function addToken(role: TokenRole): void {
    form.value?.tokens[role].push('')
  }

  function removeToken(role: TokenRole, index: number): void {
    form.value?.tokens[role].splice(index, 1)
  }

  return { saved, form, loading, saving, error, fieldErrors, outcome, pending, load, save, addToken, removeToken }
})
