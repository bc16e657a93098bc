import { ref, type Ref } from 'vue'

/**
 * An answer the live feed does not carry (the fleet, alerts, webhook deliveries), asked for again
 * every `intervalMs` while at least one view watches it, and not at all otherwise.
 */
export interface Polled<T> {
  value: Ref<T | null>
  /** The last failure's message; null once an answer came. */
  error: Ref<string | null>
  /** Epoch ms of the last answer. */
  updatedAt: Ref<number | null>
  refresh(): Promise<void>
  /** Polls while at least one caller watches; returns the function that stops watching. */
  watch(): () => void
}

export function polled<T>(read: () => Promise<T>, intervalMs: number): Polled<T> {
  const value = ref<T | null>(null) as Ref<T | null>
  const error = ref<string | null>(null)
  const updatedAt = ref<number | null>(null)
  let watchers = 0
  let poll: ReturnType<typeof setInterval> | null = null

  async function refresh(): Promise<void> {
    try {
      value.value = await read()
      updatedAt.value = Date.now()
      error.value = null
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err)
    }
  }

  function watch(): () => void {
    watchers++
    if (poll === null) {
      void refresh()
      poll = setInterval(() => void refresh(), intervalMs)
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

  return { value, error, updatedAt, refresh, watch }
}
