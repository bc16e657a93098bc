import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { LatestReading, readsProc, systemInfo, type SystemInfo } from './system-info.js'

/*
 * Network traffic for the monitor: bytes sent and received through this network namespace
 * (loopback left out), and their rates per second. Off Linux, the host's interfaces from
 * systeminformation.
 */

export interface NetworkTotals {
  sent_bytes: number
  recv_bytes: number
  /** When the counters were read (Date.now()), when that is not the moment they are handed over. */
  at?: number
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

/** Loopback by the names macOS (lo0), Linux (lo) and Windows ("Loopback Pseudo-Interface 1") give it. */
const LOOPBACK = /^lo\d*$|loopback/i

/**
 * The host's interface counters from systeminformation, synchronously: the last reading's totals
 * with the time they were read, each call starting the next (at most one a second: each is a
 * spawned netstat on macOS, a PowerShell run on Windows).
 */
export function portableNetworkTotals(si: SystemInfo = systemInfo, onError?: (err: unknown) => void): () => NetworkTotals {
  const latest = new LatestReading<NetworkTotals | null>(
    async () => {
      let sent = 0
      let recv = 0
      for (const i of await si.networkStats('*')) {
        if (LOOPBACK.test(i.iface)) continue
        sent += Number.isFinite(i.tx_bytes) && i.tx_bytes > 0 ? i.tx_bytes : 0
        recv += Number.isFinite(i.rx_bytes) && i.rx_bytes > 0 ? i.rx_bytes : 0
      }
      return { sent_bytes: sent, recv_bytes: recv, at: Date.now() }
    },
    null,
    { minIntervalMs: 1000, onError },
  )
  void latest.refresh()
  // Before the first answer: no traffic yet, and no time, so no rate is made from it.
  return () => latest.get() ?? { sent_bytes: 0, recv_bytes: 0, at: 0 }
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
    private readonly read: () => NetworkTotals = readsProc() ? () => readNetworkTotals() : portableNetworkTotals(),
    private readonly now: () => number = Date.now,
  ) {
    this.last = read()
    this.lastAt = this.last.at ?? now()
  }

  sample(): NetworkRates {
    const current = this.read()
    const at = current.at ?? this.now()
    const seconds = (at - this.lastAt) / 1000
    // Two calls in the same instant (or the same reading twice) carry no new information: keep the previous rate.
    if (seconds >= 0.2) {
      this.rates = {
        sent: Math.max(0, current.sent_bytes - this.last.sent_bytes) / seconds,
        recv: Math.max(0, current.recv_bytes - this.last.recv_bytes) / seconds,
      }
      this.last = current
      this.lastAt = at
    }
    return { sent_bytes: current.sent_bytes, recv_bytes: current.recv_bytes, sent_bytes_per_sec: this.rates.sent, recv_bytes_per_sec: this.rates.recv }
  }
}
