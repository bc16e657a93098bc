import type { Transport } from '../transport/types'

/**
 * The transport the stores use, chosen once at start-up (HTTP in a browser, IPC in the Electron
 * window later). Tests install a fake one.
 */
let current: Transport | null = null

export function setTransport(t: Transport): void {
  current = t
}

export function useTransport(): Transport {
  if (!current) throw new Error('no transport installed: call setTransport() before using the stores')
  return current
}
