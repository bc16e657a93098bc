import type { BrowserConfig } from '../../../shared/crawl-schemas.js'
import { CrawlFailedError, invalidInput, TargetBlockedError, type CrawldeckError, type ValidationIssue } from '../errors.js'
import { AddressPolicy } from './address-policy.js'
import { EgressProxy, EGRESS_HEADER, type Refusal } from './proxy.js'
import { resolveTargets, systemLookup, type Lookup } from './resolve.js'

/**
 * Added to every browser's switches while the guard is on. WebRTC sends UDP (STUN/TURN) straight
 * from the browser, past any HTTP proxy; this policy allows only UDP that goes through the proxy,
 * i.e. none.
 */
export const EGRESS_CHROMIUM_ARGS: readonly string[] = Object.freeze(['--force-webrtc-ip-handling-policy=disable_non_proxied_udp'])

const OPTION_HINT = 'this server refuses private and link-local targets (block_private_targets; an operator can exempt networks with private_targets_allowed)'

/**
 * Private-target refusal for the engine, on when block_private_targets is in effect: a quick check
 * of request URLs before any browser work, and the proxy every browser goes through, which is
 * what actually holds (redirects, subresources, rebinding names). Owned by the runtime.
 */
export class EgressGuard {
  private constructor(
    readonly policy: AddressPolicy,
    readonly proxy: EgressProxy,
    private readonly lookup: Lookup,
  ) {}

  static async start(allowed: readonly string[], lookup: Lookup = systemLookup): Promise<EgressGuard> {
    const policy = new AddressPolicy(allowed)
    const proxy = new EgressProxy(policy, lookup)
    await proxy.start()
    return new EgressGuard(policy, proxy, lookup)
  }

  /**
   * The `proxy` every browser is launched with, with the proxy's per-run credentials: Playwright
   * answers Chromium's 407 challenges with them (every other local process gets the 407).
   */
  get proxyServer(): { server: string; username: string; password: string } {
    return { server: this.proxy.serverUrl, ...this.proxy.credentials }
  }

  /**
   * Refuses (400) a request whose URL is, or resolves to, a blocked address, or whose browser
   * config names its own proxy. A name that does not resolve passes: the crawl reports it.
   * Switches that would route around the proxy (--proxy-server, --host-resolver-rules, a WebRTC
   * policy) never get this far: the request schema takes none of them in extra_args, guard on or
   * off (shared/browser-switches.ts).
   */
  async checkRequest(urls: readonly string[], urlPath: (i: number) => string, browserConfig: BrowserConfig): Promise<void> {
    const issues: ValidationIssue[] = []
    if (browserConfig.proxy !== null) {
      issues.push({ path: 'browser_config.proxy', message: `browser_config.proxy cannot be used: ${OPTION_HINT}, and every browser goes through its guard` })
    }
    const hosts = urls.map((url) => new URL(url).hostname)
    const verdicts = await resolveTargets(hosts, this.policy, this.lookup)
    hosts.forEach((h, i) => {
      const v = verdicts.get(h)
      if (v?.kind !== 'blocked') return
      const host = new URL(urls[i] as string).hostname.replace(/^\[|\]$/g, '')
      const what = host === v.blocked.address ? `is the address ${v.blocked.address}` : `resolves to ${v.blocked.address}`
      issues.push({ path: urlPath(i), message: `${urls[i]} ${what}, in ${v.blocked.range}: ${OPTION_HINT}` })
    })
    if (issues.length > 0) throw invalidInput(issues)
  }

  /**
   * The error a navigation should fail with when the proxy answered it instead of the target:
   * its main response carries EGRESS_HEADER (plain http), or the navigation failed at the tunnel
   * (https: Chromium only says ERR_TUNNEL_CONNECTION_FAILED) to a host the proxy refused.
   */
  explain(failedUrl: string, responseHeader: string | undefined, error: unknown): CrawldeckError | null {
    const tunnelFailed = error !== null && isTunnelFailure(error)
    if (responseHeader === undefined && !tunnelFailed) return null
    const refusal: Refusal | undefined = this.proxy.refusalFor(failedUrl)
    if (refusal === undefined) {
      return responseHeader === 'blocked' ? new TargetBlockedError(`the egress guard refused ${failedUrl}: ${OPTION_HINT}`) : null
    }
    if (refusal.kind === 'blocked') return new TargetBlockedError(`the egress guard refused ${failedUrl}: ${refusal.message}`)
    return new CrawlFailedError(`${failedUrl}: ${refusal.message}`)
  }

  close(): Promise<void> {
    return this.proxy.close()
  }
}

/**
 * Chromium's net error for an https navigation whose CONNECT the proxy answered with a refusal;
 * it reaches us only as text in Playwright's message (no code of ours to check), so it is
 * recognised by that text here and nowhere else.
 */
function isTunnelFailure(error: unknown): boolean {
  return /ERR_TUNNEL_CONNECTION_FAILED/.test(String((error as Error)?.message ?? error))
}

export { EGRESS_HEADER }
