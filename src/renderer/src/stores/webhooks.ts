import { defineStore } from 'pinia'
import type { WebhooksResponse } from '../../../shared/monitor-webhooks'
import { polled } from '../lib/polled'
import { useTransport } from './transport'

/** How often the Webhooks tab asks again: a delivery retrying is re-tried 1, 2, 4, 8 s apart. */
export const WEBHOOKS_POLL_MS = 2000
/** Deliveries asked for: the newest ones, more than a screen holds. */
export const WEBHOOKS_SHOWN = 100

/**
 * Recent webhook deliveries (GET /monitor/webhooks) while a view watches them: polled, since the
 * live feed does not carry them.
 */
export const useWebhooksStore = defineStore('webhooks', () => {
  const {
    value: log,
    error,
    updatedAt,
    refresh,
    watch,
  } = polled<WebhooksResponse>(() => useTransport().call('monitorWebhooks', { limit: WEBHOOKS_SHOWN, status: 'all' }), WEBHOOKS_POLL_MS)
  return { log, error, updatedAt, refresh, watch }
})
