import { defineStore } from 'pinia'
import type { FleetResponse } from '../../../shared/monitor-fleet'
import { polled } from '../lib/polled'
import { useTransport } from './transport'

/** How often the Fleet tab asks again: a third of the default 15 s TTL, as often as instances write. */
export const FLEET_POLL_MS = 5000

/**
 * The fleet (GET /monitor/fleet) while a view watches it: instances sharing this service's Redis,
 * polled since the live feed carries only this instance.
 */
export const useFleetStore = defineStore('fleet', () => {
  const { value: fleet, error, updatedAt, refresh, watch } = polled<FleetResponse>(() => useTransport().call('monitorFleet', {}), FLEET_POLL_MS)
  return { fleet, error, updatedAt, refresh, watch }
})
