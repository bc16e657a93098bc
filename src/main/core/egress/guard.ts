import type { BrowserConfig } from '../../../shared/crawl-schemas.js'
import { CrawlFailedError, TargetBlockedError, ValidationError, type CrawldeckError, type ValidationIssue } from '../errors.js'
import { AddressPolicy } from './address-policy.js'
import { EgressProxy, EGRESS_HEADER, type Refusal } from './proxy.js'
import { resolveTarget, systemLookup, type Lookup } from './resolve.js'

/**
 * Chromium switches that would route around the guard's proxy or its name resolution. Playwright
 * appends a caller's extra_args after its own --proxy-server, and Chromium takes the last one.
 */
const BYPASS_FLAG = /^--(proxy-|no-proxy-server|host-resolver-rules|host-rules|winhttp-proxy-resolver)/i

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

  /** The `proxy` every browser is launched with. */
  get proxyServer(): { server: string } {
    return { server: this.proxy.serverUrl }
  }

  /**
   * Refuses (400) a request whose URL is, or resolves to, a blocked address, or whose browser
   * config would bypass the proxy. A name that does not resolve passes: the crawl reports it.
   */
  async checkRequest(urls: readonly string[], urlPath: (i: number) => string, browserConfig: BrowserConfig): Promise<void> {
    const issues: ValidationIssue[] = []
    if (browserConfig.proxy !== null) {
      issues.push({ path: 'browser_config.proxy', message: `browser_config.proxy cannot be used: ${OPTION_HINT}, and every browser goes through its guard` })
    }
    browserConfig.extra_args.forEach((arg, i) => {
      if (BYPASS_FLAG.test(arg)) issues.push({ path: `browser_config.extra_args.${i}`, message: `${arg.split('=')[0]} cannot be used: ${OPTION_HINT}` })
    })
    const verdicts = await Promise.all(urls.map((url) => resolveTarget(new URL(url).hostname, this.policy, this.lookup)))
    verdicts.forEach((v, i) => {
      if (v.kind !== 'blocked') return
      const host = new URL(urls[i] as string).hostname.replace(/^\[|\]$/g, '')
      const what = host === v.blocked.address ? `is the address ${v.blocked.address}` : `resolves to ${v.blocked.address}`
      issues.push({ path: urlPath(i), message: `${urls[i]} ${what}, in ${v.blocked.range}: ${OPTION_HINT}` })
    })
    if (issues.length > 0) throw new ValidationError(issues.map((i) => i.message).join('; '), issues)
  }

  /**
   * The error a navigation should fail with when the proxy answered it instead of the target:
   * its main response carries EGRESS_HEADER (plain http), or the navigation failed at the tunnel
   * (https: Chromium only says ERR_TUNNEL_CONNECTION_FAILED) to a host the proxy refused.
   */
  explain(failedUrl: string, responseHeader: string | undefined, error: unknown): CrawldeckError | null {
    const tunnelFailed = error !== null && /ERR_TUNNEL_CONNECTION_FAILED/.test(String((error as Error)?.message ?? error))
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

export { EGRESS_HEADER }
