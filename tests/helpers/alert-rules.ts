import { ALERT_RULE_IDS, type AlertRuleId } from '../../src/shared/alert-settings.js'

/** Every alert rule off: a test switches on the one it forces, so no other rule's episode mixes in. */
export const ALL_RULES_OFF = Object.fromEntries(ALERT_RULE_IDS.map((id) => [id, { enabled: false }])) as Record<AlertRuleId, { enabled: false }>
