import type { ServiceImpl } from '../../../shared/contract.js'
import type { AlertEngine } from '../alerts/engine.js'
import { invalidInput } from '../errors.js'
import type { WebhookSender } from '../jobs/webhooks.js'

/** GET /monitor/alerts: what fires now, the kept history and every rule with its state. */
export function createAlertService(engine: AlertEngine): Pick<ServiceImpl, 'monitorAlerts'> {
  return {
    monitorAlerts: async () => engine.read(),
  }
}

/**
 * POST /settings, with alert webhooks checked against the same address policy as job webhooks
 * before anything is saved: a receiver on a private address is refused with a 400 naming the
 * entry, unless block_private_targets is off or private_targets_allowed covers it.
 */
export function withAlertTargetCheck(update: ServiceImpl['updateSettings'], sender: Pick<WebhookSender, 'checkTarget'>): ServiceImpl['updateSettings'] {
  return async (patch, ctx) => {
    const hooks = patch.alerts?.webhooks ?? []
    const issues: Array<{ path: string; message: string }> = []
    for (const [i, hook] of hooks.entries()) {
      const why = await sender.checkTarget(hook.url)
      if (why !== null) issues.push({ path: `alerts.webhooks.${i}.url`, message: `URL blocked: ${why}` })
    }
    if (issues.length > 0) throw invalidInput(issues)
    return update(patch, ctx)
  }
}
