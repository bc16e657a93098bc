import { BlockList, isIP } from 'node:net'

/**
 * Which IP addresses a crawl may reach when private targets are refused (SSRF defence).
 * Node's BlockList matches IPv4-mapped IPv6 (::ffff:a.b.c.d) against the IPv4 rules by itself;
 * the deprecated IPv4-compatible form (::a.b.c.d) and the NAT64 prefix (64:ff9b::/96) are
 * unwrapped here so that they cannot smuggle a private IPv4 address past the list.
 */

interface Range {
  readonly network: string
  readonly prefix: number
  readonly family: 'ipv4' | 'ipv6'
  /** What the range is, for the refusal message. */
  readonly what: string
}

const BLOCKED_RANGES: readonly Range[] = [
  { network: '0.0.0.0', prefix: 8, family: 'ipv4', what: '"this network"' },
  { network: '10.0.0.0', prefix: 8, family: 'ipv4', what: 'private' },
  { network: '100.64.0.0', prefix: 10, family: 'ipv4', what: 'shared (carrier-grade NAT)' },
  { network: '127.0.0.0', prefix: 8, family: 'ipv4', what: 'loopback' },
  { network: '169.254.0.0', prefix: 16, family: 'ipv4', what: 'link-local (cloud metadata)' },
  { network: '172.16.0.0', prefix: 12, family: 'ipv4', what: 'private' },
  { network: '192.0.0.0', prefix: 24, family: 'ipv4', what: 'IETF protocol assignments' },
  { network: '192.168.0.0', prefix: 16, family: 'ipv4', what: 'private' },
  { network: '198.18.0.0', prefix: 15, family: 'ipv4', what: 'benchmarking' },
  { network: '224.0.0.0', prefix: 4, family: 'ipv4', what: 'multicast' },
  { network: '240.0.0.0', prefix: 4, family: 'ipv4', what: 'reserved' },
  { network: '255.255.255.255', prefix: 32, family: 'ipv4', what: 'broadcast' },
  { network: '::', prefix: 128, family: 'ipv6', what: 'unspecified' },
  { network: '::1', prefix: 128, family: 'ipv6', what: 'loopback' },
  { network: 'fc00::', prefix: 7, family: 'ipv6', what: 'unique local' },
  { network: 'fe80::', prefix: 10, family: 'ipv6', what: 'link-local' },
  { network: 'ff00::', prefix: 8, family: 'ipv6', what: 'multicast' },
]

export interface Cidr {
  address: string
  prefix: number
  family: 'ipv4' | 'ipv6'
}

/** "10.1.2.3", "10.0.0.0/8", "fd00::/8", "::1": a network, or null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/')
  const address = (slash === -1 ? text : text.slice(0, slash)).trim()
  const version = isIP(address)
  if (version === 0) return null
  const max = version === 4 ? 32 : 128
  let prefix = max
  if (slash !== -1) {
    const bits = text.slice(slash + 1).trim()
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return null
    prefix = Number(bits)
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' }
}

function listOf(ranges: ReadonlyArray<{ network?: string; address?: string; prefix: number; family: 'ipv4' | 'ipv6' }>): BlockList {
  const list = new BlockList()
  for (const r of ranges) list.addSubnet((r.network ?? r.address) as string, r.prefix, r.family)
  return list
}

const BLOCKED = listOf(BLOCKED_RANGES)
const LOOPBACK = listOf([BLOCKED_RANGES[3] as Range, BLOCKED_RANGES[13] as Range])

/** The IPv4 address inside an IPv4-compatible (::a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address. */
function embeddedIpv4(ipv6: string): string | null {
  let canonical: string
  try {
    canonical = new URL(`http://[${ipv6}]/`).hostname
  } catch {
    return null
  }
  const m = /^\[(?:64:ff9b)?::(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,4})\]$/.exec(canonical)
  if (!m) return null
  const high = parseInt(m[1] ?? '0', 16)
  const low = parseInt(m[2] as string, 16)
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
}

/** The refused range an address falls in, e.g. "10.0.0.0/8 (private)". */
export interface BlockedRange {
  address: string
  range: string
}

export class AddressPolicy {
  private readonly allowed: BlockList
  readonly allowedText: readonly string[]

  /** `allowed`: networks the operator exempts on purpose (an intranet to crawl); already validated. */
  constructor(allowed: readonly string[] = []) {
    const cidrs = allowed.map((a) => parseCidr(a)).filter((c): c is Cidr => c !== null)
    this.allowed = listOf(cidrs)
    this.allowedText = allowed
  }

  /** Null when `address` (an IP literal) may be reached; otherwise the range that refuses it. */
  blocked(address: string): BlockedRange | null {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (this.allowed.check(address, family)) return null
    if (BLOCKED.check(address, family)) return { address, range: rangeOf(address, family) }
    if (family === 'ipv6') {
      const inner = embeddedIpv4(address)
      if (inner !== null && !this.allowed.check(inner, 'ipv4') && BLOCKED.check(inner, 'ipv4')) {
        return { address, range: `${rangeOf(inner, 'ipv4')} embedded in IPv6` }
      }
    }
    return null
  }
}

// Only on a refusal, so a linear walk is fine.
function rangeOf(address: string, family: 'ipv4' | 'ipv6'): string {
  for (const r of BLOCKED_RANGES) {
    if (listOf([r]).check(address, family)) return `${r.network}/${r.prefix} (${r.what})`
  }
  return 'a blocked range'
}

/** True for a loopback bind address or name: then nobody else can reach the service. */
export function isLoopbackBind(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (name === 'localhost' || name.endsWith('.localhost')) return true
  const version = isIP(name)
  return version !== 0 && LOOPBACK.check(name, version === 4 ? 'ipv4' : 'ipv6')
}

/** The effective block_private_targets: explicit, or on exactly when the service is bound beyond loopback. */
export function blocksPrivateTargets(config: { block_private_targets: boolean | null; host: string }): boolean {
  return config.block_private_targets ?? !isLoopbackBind(config.host)
}
