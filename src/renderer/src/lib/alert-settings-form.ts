import { ALERT_RULE_IDS, type AlertSettings, type AlertSettingsPatch } from '../../../shared/alert-settings'

/** A copy the form can edit: no object shared with the saved settings. */
export function alertsForm(saved: AlertSettings): AlertSettings {
  return JSON.parse(JSON.stringify(saved)) as AlertSettings
}

/**
 * What the form changed in `alerts`, or null: each rule's changed fields, and the webhook list
 * whole when it changed (empty URL rows dropped). Numbers go as typed: the server says what is wrong.
 */
export function alertsPatch(form: AlertSettings, saved: AlertSettings): AlertSettingsPatch | null {
  const patch: { rules?: Record<string, Record<string, unknown>>; webhooks?: AlertSettings['webhooks'] } = {}
  for (const id of ALERT_RULE_IDS) {
    const now = form.rules[id] as Record<string, unknown>
    const before = saved.rules[id] as Record<string, unknown>
    const changed = Object.fromEntries(Object.entries(now).filter(([k, v]) => v !== before[k]))
    if (Object.keys(changed).length > 0) (patch.rules ??= {})[id] = changed
  }
  const hooks = form.webhooks.map((w) => ({ url: w.url.trim(), format: w.format })).filter((w) => w.url !== '')
  if (JSON.stringify(hooks) !== JSON.stringify(saved.webhooks)) patch.webhooks = hooks
  return Object.keys(patch).length > 0 ? (patch as AlertSettingsPatch) : null
}
