import { Resolver } from 'node:dns/promises'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import type { AddressPolicy, BlockedRange } from './address-policy.js'

/** Every address a name resolves to. Injectable so tests can make a name rebind. */
export type Lookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>

/** A lookup that has not answered by then counts as unresolved (ETIMEOUT). */
export const LOOKUP_TIMEOUT_MS = 5000

/** Lookups one API request may have in flight at once (a batch holds up to 100 URLs). */
export const LOOKUPS_PER_REQUEST = 8

/** How long a read of the hosts file is used before it is read again. */
const HOSTS_TTL_MS = 5000

export interface DnsLookupOptions {
  /** DNS servers ("ip" or "ip:port"); the system's (/etc/resolv.conf) when left out. */
  servers?: readonly string[]
  /** The hosts file consulted before DNS. */
  hostsFile?: string
}

/**
 * Name resolution that never touches libuv's thread pool. dns.lookup is getaddrinfo on one of
 * that pool's 4 threads, shared with every file write and zlib inflate of the process: a few
 * slow names stalled all of them. This asks DNS through c-ares (A and AAAA, asynchronous, on the
 * event loop) and answers from the hosts file first, the way getaddrinfo would (c-ares's resolve
 * does not read it); the file is read synchronously, being small and local, and cached briefly.
 * `localhost` and its subdomains are loopback without asking anyone (RFC 6761), as in Chromium.
 * Not kept from getaddrinfo: resolv.conf search domains for single-label names, and other NSS
 * sources (mDNS `.local` names, LDAP): such names do not resolve through the guard, though they
 * would without it.
 */
export function dnsLookup(options: DnsLookupOptions = {}): Lookup {
  const hostsFile = options.hostsFile ?? '/etc/hosts'
  let hosts: { readAt: number; names: Map<string, string[]> } | null = null
  let resolver: Resolver | null = null
  const fromHosts = (name: string): string[] | undefined => {
    if (hosts === null || Date.now() - hosts.readAt > HOSTS_TTL_MS) hosts = { readAt: Date.now(), names: readHosts(hostsFile) }
    return hosts.names.get(name)
  }
  return async (hostname) => {
    const name = hostname.toLowerCase().replace(/\.$/, '')
    const listed = fromHosts(name) ?? (name === 'localhost' || name.endsWith('.localhost') ? ['127.0.0.1', '::1'] : undefined)
    if (listed) return listed.map((address) => ({ address, family: isIP(address) }))
    if (resolver === null) {
      // c-ares gives up by itself too (2 tries, backing off from 1.5 s), so queries that the
      // caller stopped waiting for do not pile up.
      resolver = new Resolver({ timeout: 1500, tries: 2 })
      if (options.servers) resolver.setServers([...options.servers])
    }
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)])
    // IPv4 first: it is the one dialled, and many hosts (containers) have no IPv6 route.
    const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])]
    if (addresses.length > 0) return addresses.map((address) => ({ address, family: isIP(address) }))
    const failed = [v4, v6].find((r): r is PromiseRejectedResult => r.status === 'rejected')
    throw failed ? failed.reason : Object.assign(new Error(`no address for ${name}`), { code: 'ENODATA' })
  }
}

/** name -> addresses of a hosts file, in file order; empty when it cannot be read. */
function readHosts(path: string): Map<string, string[]> {
  const names = new Map<string, string[]>()
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return names
  }
  for (const line of text.split('\n')) {
    const [address, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/)
    // isIP accepts zone ids (fe80::1%eth0), which say nothing once the name is sent to a proxy.
    if (address === undefined || isIP(address) === 0 || address.includes('%')) continue
    for (const alias of aliases) {
      const key = alias.toLowerCase().replace(/\.$/, '')
      const list = names.get(key) ?? []
      if (!list.includes(address)) list.push(address)
      names.set(key, list)
    }
  }
  // IPv4 first, as for DNS answers.
  for (const list of names.values()) list.sort((a, b) => isIP(a) - isIP(b))
  return names
}

export const systemLookup: Lookup = dnsLookup()

export type Resolution =
  /** Connect to exactly this address: the one that was checked (no second lookup, no rebinding). */
  { kind: 'ok'; address: string } | { kind: 'blocked'; blocked: BlockedRange } | { kind: 'unresolved'; error: string }

/**
 * Resolves a host (name or IP literal, IPv6 with or without brackets) and checks every address:
 * one blocked address refuses the name, since the browser or a later lookup might pick it. A
 * lookup that has not answered within `timeoutMs` is unresolved (ETIMEOUT), whatever the lookup.
 */
export async function resolveTarget(host: string, policy: AddressPolicy, lookup: Lookup, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<Resolution> {
  const name = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  let addresses: string[]
  if (isIP(name) !== 0) addresses = [name]
  else {
    let timer: NodeJS.Timeout | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: `ETIMEOUT (no answer within ${timeoutMs} ms)` })), timeoutMs)
      })
      addresses = (await Promise.race([lookup(name), timeout])).map((a) => a.address)
    } catch (err) {
      return { kind: 'unresolved', error: (err as { code?: string }).code ?? String(err) }
    } finally {
      clearTimeout(timer)
    }
    if (addresses.length === 0) return { kind: 'unresolved', error: 'no address' }
  }
  for (const address of addresses) {
    const blocked = policy.blocked(address)
    if (blocked) return { kind: 'blocked', blocked }
  }
  return { kind: 'ok', address: addresses[0] as string }
}

/**
 * resolveTarget for every distinct host of one request, at most `concurrency` lookups at a time
 * (a batch of 100 URLs must not start 100 lookups at once), all within one `timeoutMs` budget:
 * names still waiting when it is spent are unresolved without a lookup, so 100 silent names
 * cost the request 5 s, not 100 / 8 times that. IP literals are checked whatever the budget.
 */
/**
 * A name with less of the budget left than this is not looked up. An answer cannot arrive in less,
 * and a worker whose lookup timed out can find a millisecond or two "left": its timer runs on the
 * event loop's cached clock, which lags Date.now(), so without this margin it started one more.
 */
const MIN_LOOKUP_MS = 10

export async function resolveTargets(
  hosts: readonly string[],
  policy: AddressPolicy,
  lookup: Lookup,
  options: { concurrency?: number; timeoutMs?: number } = {},
): Promise<Map<string, Resolution>> {
  const budget = options.timeoutMs ?? LOOKUP_TIMEOUT_MS
  const deadline = Date.now() + budget
  const distinct = [...new Set(hosts)]
  const out = new Map<string, Resolution>()
  let next = 0
  const worker = async () => {
    while (next < distinct.length) {
      const host = distinct[next++] as string
      const left = deadline - Date.now()
      const literal = isIP(host.replace(/^\[|\]$/g, '')) !== 0
      out.set(
        host,
        left >= MIN_LOOKUP_MS || literal
          ? await resolveTarget(host, policy, lookup, Math.max(left, 1))
          : { kind: 'unresolved', error: `ETIMEOUT (no answer within the request's ${budget} ms)` },
      )
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? LOOKUPS_PER_REQUEST, distinct.length) }, worker))
  return out
}
