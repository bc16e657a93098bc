import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/*
 * Network traffic for the monitor: bytes sent and received through this network namespace
 * (loopback left out), and their rates per second.
 */

export interface NetworkTotals {
  sent_bytes: number
  recv_bytes: number
}

/**
 * Bytes through this network namespace's interfaces, from /proc/net/dev (which is already
 * per-container). Loopback is left out: it is the service talking to itself, not the crawl
 * traffic an operator wants to see.
 */
export function readNetworkTotals(procRoot = '/proc'): NetworkTotals {
  let text: string
  try {
    text = readFileSync(join(procRoot, 'net/dev'), 'utf8')
  } catch {
    return { sent_bytes: 0, recv_bytes: 0 }
  }
  let sent = 0
  let recv = 0
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const iface = line.slice(0, colon).trim()
    if (iface === 'lo') continue
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number)
    recv += fields[0] ?? 0
    sent += fields[8] ?? 0
  }
  return { sent_bytes: sent, recv_bytes: recv }
}

export interface NetworkRates extends NetworkTotals {
  sent_bytes_per_sec: number
  recv_bytes_per_sec: number
}

/** Per-second rates from the difference between two readings; never sleeps. */
export class NetworkSampler {
  private last: NetworkTotals
  private lastAt: number
  private rates = { sent: 0, recv: 0 }

  constructor(
    private readonly read: () => NetworkTotals = () => readNetworkTotals(),
    private readonly now: () => number = Date.now,
  ) {
    this.last = read()
    this.lastAt = now()
  }

  sample(): NetworkRates {
    const current = this.read()
    const at = this.now()
    const seconds = (at - this.lastAt) / 1000
    // Two calls in the same instant carry no new information: keep the previous rate.
    if (seconds >= 0.2) {
      this.rates = {
        sent: Math.max(0, current.sent_bytes - this.last.sent_bytes) / seconds,
        recv: Math.max(0, current.recv_bytes - this.last.recv_bytes) / seconds,
      }
      this.last = current
      this.lastAt = at
    }
    return { ...current, sent_bytes_per_sec: this.rates.sent, recv_bytes_per_sec: this.rates.recv }
  }
}
