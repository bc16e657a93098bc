import { BlockList, isIP } from 'node:net'

/**
 * Which IP addresses a crawl may reach when private targets are refused (SSRF defence).
 * An IPv6 address that carries an IPv4 address (mapped, translated, compatible, NAT64, 6to4,
 * Teredo) is also judged by the IPv4 address inside it, so that no notation can smuggle a
 * private IPv4 address past the list.
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
  // Local-use NAT64 (RFC 8215): translates to whatever IPv4 network the operator chose, and its
  // prefix length (so where the IPv4 address sits) is local too: refused as a whole.
  { network: '64:ff9b:1::', prefix: 48, family: 'ipv6', what: 'local-use NAT64' },
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
const LOOPBACK = listOf(BLOCKED_RANGES.filter((r) => r.what === 'loopback'))

/** The 16 bytes of an IPv6 address (any notation isIP accepts), or null. */
function ipv6Bytes(address: string): Uint8Array | null {
  let canonical: string
  try {
    // The URL parser turns a dotted IPv4 tail into hex groups, lower-cases and compresses.
    canonical = new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1)
  } catch {
    return null
  }
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, null]
  const groupsOf = (part: string | null | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : [])
  const first = groupsOf(head)
  const last = groupsOf(tail)
  const groups = tail === null ? first : [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last]
  if (groups.length !== 8) return null
  const bytes = new Uint8Array(16)
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8
    bytes[2 * i + 1] = g & 255
  })
  return bytes
}

const ipv4At = (b: Uint8Array, at: number, mask = 0): string => [0, 1, 2, 3].map((i) => ((b[at + i] as number) ^ mask) & 255).join('.')
const zeros = (b: Uint8Array, from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0)

/**
 * Every IPv4 address an IPv6 address carries, with the form's name: a connection to it may end
 * at that IPv4 address (through a translator, a 6to4 or Teredo relay, or the kernel itself).
 */
export function embeddedIpv4(ipv6: string): Array<{ ipv4: string; form: string }> {
  const b = ipv6Bytes(ipv6)
  if (b === null) return []
  const out: Array<{ ipv4: string; form: string }> = []
  const pre = (bytes: number[]) => bytes.every((x, i) => b[i] === x)
  if (zeros(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) out.push({ ipv4: ipv4At(b, 12), form: 'IPv4-mapped' })
  // ::ffff:0:a.b.c.d (RFC 2765, SIIT)
  else if (zeros(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(b, 10, 12)) out.push({ ipv4: ipv4At(b, 12), form: 'IPv4-translated' })
  // ::a.b.c.d, deprecated, but a stack may still route it as IPv4
  else if (zeros(b, 0, 12)) out.push({ ipv4: ipv4At(b, 12), form: 'IPv4-compatible' })
  // 64:ff9b::/96, the well-known NAT64 prefix (RFC 6052)
  else if (pre([0x00, 0x64, 0xff, 0x9b]) && zeros(b, 4, 12)) out.push({ ipv4: ipv4At(b, 12), form: 'NAT64' })
  // 2002:AABB:CCDD::/48 relays to the IPv4 address AA.BB.CC.DD (RFC 3056)
  else if (pre([0x20, 0x02])) out.push({ ipv4: ipv4At(b, 2), form: '6to4' })
  // 2001:0::/32: the Teredo server, then the client's address with every bit flipped (RFC 4380)
  else if (pre([0x20, 0x01, 0x00, 0x00])) out.push({ ipv4: ipv4At(b, 4), form: 'Teredo server' }, { ipv4: ipv4At(b, 12, 0xff), form: 'Teredo client' })
  return out
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
      for (const { ipv4, form } of embeddedIpv4(address)) {
        if (!this.allowed.check(ipv4, 'ipv4') && BLOCKED.check(ipv4, 'ipv4')) {
          return { address, range: `${rangeOf(ipv4, 'ipv4')} embedded in IPv6 (${form} ${ipv4})` }
        }
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

/** What decides the block_private_targets default: who besides a local user can reach the service. */
export interface ExposureConfig {
  block_private_targets: boolean | null
  host: string
  allowed_hosts?: readonly string[]
  cors_origins?: readonly string[]
  admin_tokens?: readonly string[]
  crawl_tokens?: readonly string[]
  read_tokens?: readonly string[]
}

/**
 * Why private targets are refused, or null when they are not: the explicit option, or, unset,
 * any sign that others can reach the service. A loopback bind is not enough on its own: behind
 * a reverse proxy (allowed_hosts names it), called from web pages (cors_origins) or shared with
 * tokens, the callers are not the machine's owner, and a crawl token must not reach cloud
 * metadata or the intranet.
 */
export function privateTargetsReason(config: ExposureConfig): string | null {
  if (typeof config.block_private_targets === 'boolean') return config.block_private_targets ? 'block_private_targets is set' : null
  if (!isLoopbackBind(config.host)) return `host ${config.host} is not a loopback address`
  if (config.allowed_hosts?.length) return 'allowed_hosts is set (a reverse proxy forwards to the service)'
  if (config.cors_origins?.length) return 'cors_origins is set (web pages call the service)'
  if (config.admin_tokens?.length || config.crawl_tokens?.length || config.read_tokens?.length) return 'tokens are configured (others sign in)'
  return null
}

/** The effective block_private_targets: explicit, or on whenever others can reach the service (see privateTargetsReason). */
export function blocksPrivateTargets(config: ExposureConfig): boolean {
  return privateTargetsReason(config) !== null
}
