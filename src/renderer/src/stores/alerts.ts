import { defineStore } from 'pinia'
import { computed } from 'vue'
import type { AlertsResponse } from '../../../shared/monitor-alerts'
import { polled } from '../lib/polled'
import { useTransport } from './transport'

/** How often alerts are asked for: rules are read once a second, and the tab's badge should follow. */
export const ALERTS_POLL_MS = 3000

/**
 * The alerts (GET /monitor/alerts): what fires now, the history and the rules. Polled while a view
 * watches them (the activity tabs do, for the badge); the live feed does not carry them.
 */
export const useAlertsStore = defineStore('alerts', () => {
  const { value: alerts, error, updatedAt, refresh, watch } = polled<AlertsResponse>(() => useTransport().call('monitorAlerts', {}), ALERTS_POLL_MS)
  const activeCount = computed(() => alerts.value?.active.length ?? 0)

  return { alerts, error, updatedAt, activeCount, refresh, watch }
})
