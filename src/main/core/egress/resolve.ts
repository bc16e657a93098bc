import { promises as dns } from 'node:dns'
import { isIP } from 'node:net'
import type { AddressPolicy, BlockedRange } from './address-policy.js'

/** Every address a name resolves to. Injectable so tests can make a name rebind. */
export type Lookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>

export const systemLookup: Lookup = (hostname) => dns.lookup(hostname, { all: true, verbatim: true })

export type Resolution =
  /** Connect to exactly this address: the one that was checked (no second lookup, no rebinding). */
  | { kind: 'ok'; address: string }
  | { kind: 'blocked'; blocked: BlockedRange }
  | { kind: 'unresolved'; error: string }

/**
 * Resolves a host (name or IP literal, IPv6 with or without brackets) and checks every address:
 * one blocked address refuses the name, since the browser or a later lookup might pick it.
 */
export async function resolveTarget(host: string, policy: AddressPolicy, lookup: Lookup): Promise<Resolution> {
  const name = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  let addresses: string[]
  if (isIP(name) !== 0) addresses = [name]
  else {
    try {
      addresses = (await lookup(name)).map((a) => a.address)
    } catch (err) {
      return { kind: 'unresolved', error: (err as { code?: string }).code ?? String(err) }
    }
    if (addresses.length === 0) return { kind: 'unresolved', error: 'no address' }
  }
  for (const address of addresses) {
    const blocked = policy.blocked(address)
    if (blocked) return { kind: 'blocked', blocked }
  }
  return { kind: 'ok', address: addresses[0] as string }
}
