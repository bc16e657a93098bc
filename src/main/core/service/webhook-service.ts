import type { ServiceImpl } from '../../../shared/contract.js'
import type { WebhookSender } from '../jobs/webhooks.js'
import type { WebhookLog } from '../monitor/webhook-log.js'

/** GET /monitor/webhooks: the monitor's record of recent deliveries. */
export function createWebhookService(deps: { log: WebhookLog; sender: WebhookSender }): Pick<ServiceImpl, 'monitorWebhooks'> {
  return {
    monitorWebhooks: async (query) => deps.log.read(query, deps.sender.signs),
  }
}
