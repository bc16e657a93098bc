import { isIP } from 'node:net'
import { hostname, networkInterfaces } from 'node:os'
import type { Middleware } from 'koa'
import { CrawldeckError } from '../core/errors.js'

/*
 * A service on 127.0.0.1 is reachable from every web page its user opens: the page cannot read
 * our answers (no CORS), but it can send requests, and with DNS rebinding (evil.example resolving
 * to 127.0.0.1 after the page loaded) it can even read them under its own origin. So:
 * - the Host header must name this service (loopback names, the bound address, or an operator's
 *   allow-list): a rebinding page's requests carry Host: evil.example and are refused;
 * - a state-changing request (POST/PUT/PATCH/DELETE) whose Origin is another site is refused,
 *   which also covers browsers that send a cross-site Origin on a simple POST;
 * - CORS answers only for origins the operator listed (none by default);
 * - every answer carries headers that stop it being framed, sniffed or leaking its URL.
 * JSON-only bodies (body.ts) close the last door: a cross-site <form> cannot send JSON.
 */

export interface GuardOptions {
  /** The address the server is bound to (decides the default allowed Host names). */
  bindHost: string
  /** Extra Host names (without port) the operator allows, e.g. a reverse proxy's public name. */
  allowedHosts: readonly string[]
  /** Origins (scheme://host[:port]) that may call the API from a browser (CORS); none by default. */
  corsOrigins: readonly string[]
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1'])
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', ''])
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** API answers are data, never documents: nothing may load, run or frame. The dashboard sets its own. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/** The host name of a Host header, lower-cased, without port or IPv6 brackets; null when malformed. */
export function hostName(header: string): string | null {
  const h = header.trim().toLowerCase()
  if (h === '') return null
  if (h.startsWith('[')) {
    const end = h.indexOf(']')
    if (end < 0) return null
    const rest = h.slice(end + 1)
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null
    return h.slice(1, end)
  }
  const m = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(h)
  return m ? (m[1] as string).replace(/\.$/, '') : null
}

export function isLoopbackHost(name: string): boolean {
  return LOOPBACK_NAMES.has(name) || name.endsWith('.localhost') || (isIP(name) === 4 && name.startsWith('127.'))
}

/** A bind address as a host name: without IPv6 brackets, lower-cased. */
export function bindName(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase()
}

/**
 * The names this machine answers to by itself: its host name (and its short form) and the
 * address of every interface. Bound to every interface, these are what a client that was not
 * told another name can use.
 */
export function machineNames(): Set<string> {
  const names = new Set<string>()
  const host = hostname().toLowerCase()
  names.add(host)
  names.add(host.split('.')[0] as string)
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) names.add(i.address.toLowerCase().replace(/%.*$/, ''))
  return names
}

/** Whether a request's Host header names this service. */
export function hostAllowed(header: string | undefined, opts: GuardOptions, names: () => Set<string> = machineNames): boolean {
  if (header === undefined) return false
  const name = hostName(header)
  if (name === null) return false
  if (isLoopbackHost(name)) return true
  if (opts.allowedHosts.some((h) => h.toLowerCase() === name)) return true
  const bind = bindName(opts.bindHost)
  if (name === bind) return true
  // Bound to every interface: the machine's own names and addresses. Any other name (a reverse
  // proxy's, a DNS name) is the operator's to list: a name nobody listed is what a DNS-rebinding
  // page sends.
  return WILDCARD_BINDS.has(bind) && names().has(name)
}

/** Whether an Origin header names the site the request was sent to (its Host). */
export function sameOrigin(origin: string, hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false
  try {
    const u = new URL(origin)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host === hostHeader.trim().toLowerCase()
  } catch {
    return false
  }
}

export function guard(opts: GuardOptions): Middleware {
  const cors = new Set(opts.corsOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()))
  // Interfaces come and go (a VPN, DHCP): looked up again at most once a minute.
  let known: { at: number; names: Set<string> } | null = null
  const names = () => {
    if (known === null || Date.now() - known.at > 60_000) known = { at: Date.now(), names: machineNames() }
    return known.names
  }
  return async (ctx, next) => {
    // Headers first, so that refusals below carry them too.
    ctx.set('X-Content-Type-Options', 'nosniff')
    ctx.set('Referrer-Policy', 'no-referrer')
    ctx.set('X-Frame-Options', 'DENY')
    ctx.set('Content-Security-Policy', API_CSP)

    // API answers hold live state and, for some, secrets: no cache (browser or proxy) keeps them.
    // The dashboard's files set their own.
    ctx.set('Cache-Control', 'no-store')

    const host = ctx.get('host') || undefined
    if (!hostAllowed(host, opts, names)) {
      // The names that would work are not listed: they are the operator's, not the caller's.
      throw new CrawldeckError(
        403,
        'host_not_allowed',
        `Host ${JSON.stringify((host ?? '').slice(0, 256))} is not a name of this service; its operator can add it with --allowed-hosts`,
      )
    }

    const origin = ctx.get('origin')
    const corsAllowed = origin !== '' && cors.has(origin.toLowerCase())
    if (corsAllowed) {
      ctx.set('Access-Control-Allow-Origin', origin)
      ctx.set('Vary', 'Origin')
      if (ctx.method === 'OPTIONS') {
        ctx.set('Access-Control-Allow-Methods', 'GET, POST')
        ctx.set('Access-Control-Allow-Headers', 'Content-Type, Authorization')
        ctx.set('Access-Control-Max-Age', '600')
        ctx.status = 204
        return
      }
    }
    if (UNSAFE_METHODS.has(ctx.method) && origin !== '' && !corsAllowed && !sameOrigin(origin, host)) {
      throw new CrawldeckError(
        403,
        'origin_not_allowed',
        `requests from ${origin === 'null' ? 'an opaque origin' : origin} may not change anything here; allow the origin with --cors-origins if it is yours`,
      )
    }
    await next()
  }
}
