import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { FleetResponse } from '../../../shared/monitor-fleet'
import { useTransport } from './transport'

/** How often the Fleet tab asks again: a third of the default 15 s TTL, as often as instances write. */
export const FLEET_POLL_MS = 5000

/**
 * The fleet (GET /monitor/fleet) while a view watches it: instances sharing this service's Redis,
 * polled since the live feed carries only this instance.
 */
export const useFleetStore = defineStore('fleet', () => {
  const fleet = ref<FleetResponse | null>(null)
  const error = ref<string | null>(null)
  /** Epoch ms of the last answer. */
  const updatedAt = ref<number | null>(null)
  let watchers = 0
  let poll: ReturnType<typeof setInterval> | null = null

  async function refresh(): Promise<void> {
    try {
      fleet.value = await useTransport().call('monitorFleet', {})
      updatedAt.value = Date.now()
      error.value = null
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  /** Polls while at least one caller watches; returns the function that stops watching. */
  function watch(): () => void {
    watchers++
    if (poll === null) {
      void refresh()
      poll = setInterval(() => void refresh(), FLEET_POLL_MS)
    }
    let stopped = false
    return () => {
      if (stopped) return
      stopped = true
      watchers--
      if (watchers === 0 && poll !== null) {
        clearInterval(poll)
        poll = null
      }
    }
  }

  return { fleet, error, updatedAt, refresh, watch }
})
