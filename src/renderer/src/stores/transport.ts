import { BRIDGE_GLOBAL, type CrawldeckBridge } from '../../../shared/ipc'
import { HttpTransport } from '../transport/http'
import { IpcTransport } from '../transport/ipc'
import type { Transport } from '../transport/types'

/**
 * The transport the stores use, chosen once at start-up: IPC in the Electron window (where the
 * preload defined window.crawldeck), HTTP + SSE in a browser. Tests install a fake one.
 */
let current: Transport | null = null

export function setTransport(t: Transport): void {
  current = t
}

export function useTransport(): Transport {
  if (!current) throw new Error('no transport installed: call setTransport() before using the stores')
  return current
}

/** IpcTransport when the preload's bridge is there, else HTTP to the origin that served the page. */
export function selectTransport(scope: object = globalThis): Transport {
  const bridge = (scope as Record<string, unknown>)[BRIDGE_GLOBAL] as CrawldeckBridge | undefined
  if (bridge && typeof bridge === 'object' && typeof bridge.call === 'function' && typeof bridge.subscribeLive === 'function') {
    return new IpcTransport(bridge)
  }
  return new HttpTransport()
}
