import { LIVE_CONFIG_KEYS, type Config, type LiveConfigKey } from '../config.js'
import type { Logger } from '../logger.js'

/*
 * The settings that change while the engine runs, in one explicit place. The Config a runtime
 * starts from is fixed (frozen) once settings.json has been laid over it; what Settings may
 * change afterwards lives here, and every component that acts on such a value reads it from here
 * when it acts (a getter) or hears of the change (onChange). Nothing keeps its own copy: a number
 * handed over at construction is exactly the stale value this object exists to rule out.
 *
 * Engine components take the rest of the config as FixedConfig (config.ts), which has no live
 * key to read by mistake.
 *
 * The settings service (service/settings-service.ts) is the one writer. The HTTP door adds the
 * admin token it generates for a reachable bind with no token (useGeneratedAdminToken), and only
 * while no token is configured.
 */

/** The live values, named as in Config. Token lists are frozen copies: nobody edits one in place. */
export type LiveValues = { readonly [K in LiveConfigKey]: Readonly<Config[K]> }
export type LiveKey = LiveConfigKey

/** The token lists per scope, as the HTTP door checks them. */
export interface LiveTokens {
  readonly admin: readonly string[]
  readonly crawl: readonly string[]
  readonly read: readonly string[]
}

export type LiveListener<K extends LiveKey> = (value: LiveValues[K], previous: LiveValues[K]) => void

/** The live keys of a config: what a LiveSettings starts from. */
export function liveValuesOf(config: LiveValues): LiveValues {
  return {
    host: config.host,
    port: config.port,
    memory_threshold_percent: config.memory_threshold_percent,
    idle_ttl_seconds: config.idle_ttl_seconds,
    admin_tokens: Object.freeze([...config.admin_tokens]),
    crawl_tokens: Object.freeze([...config.crawl_tokens]),
    read_tokens: Object.freeze([...config.read_tokens]),
  }
}

export class LiveSettings {
  private values: LiveValues
  private tokenView: LiveTokens
  private readonly listeners = new Map<LiveKey, Set<LiveListener<never>>>()

  constructor(
    initial: LiveValues,
    private readonly logger?: Pick<Logger, 'error'>,
  ) {
    this.values = liveValuesOf(initial)
    this.tokenView = tokensFrom(this.values)
  }

  /** At or above it the pool launches no browser and the page reserve makes no pair. */
  get memoryThresholdPercent(): number {
    return this.values.memory_threshold_percent
  }

  /** The janitor's base idle TTL (cold browsers after it, hot after twice it, when memory is LOW). */
  get idleTtlSeconds(): number {
    return this.values.idle_ttl_seconds
  }

  /** What the HTTP door accepts now: a token added works at once, a removed one stops at once. */
  get tokens(): LiveTokens {
    return this.tokenView
  }

  /** The address the HTTP server listens on: moves only when the host (the desktop shell) moved it. */
  get host(): string {
    return this.values.host
  }

  get port(): number {
    return this.values.port
  }

  get<K extends LiveKey>(key: K): LiveValues[K] {
    return this.values[key]
  }

  /**
   * `listener` runs after each change of `key`, once every key of that change is in place (so it
   * reads a consistent whole). Returns the function that removes it.
   */
  onChange<K extends LiveKey>(key: K, listener: LiveListener<K>): () => void {
    let set = this.listeners.get(key)
    if (!set) this.listeners.set(key, (set = new Set()))
    set.add(listener as LiveListener<never>)
    return () => void set.delete(listener as LiveListener<never>)
  }

  /**
   * The settings service's write: the new values of some keys, then the listeners of those that
   * changed. Returns the keys that changed. Anything else calling it skips the checks of
   * POST /settings (tests do, to reach states those checks refuse).
   */
  set(changes: Partial<LiveValues>): LiveKey[] {
    const previous = this.values
    const next: Record<string, unknown> = { ...previous }
    for (const [key, value] of Object.entries(changes)) if (value !== undefined) next[key] = Array.isArray(value) ? Object.freeze([...value]) : value
    const changed = LIVE_CONFIG_KEYS.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(previous[k]))
    if (changed.length === 0) return changed
    this.values = next as LiveValues
    if (changed.some((k) => k.endsWith('_tokens'))) this.tokenView = tokensFrom(this.values)
    for (const key of changed) {
      for (const listener of [...(this.listeners.get(key) ?? [])]) {
        try {
          ;(listener as LiveListener<typeof key>)(this.values[key] as never, previous[key] as never)
        } catch (err) {
          this.logger?.error({ err, setting: key }, 'a live settings listener failed')
        }
      }
    }
    return changed
  }

  /**
   * The HTTP door, bound where others can reach it with no token configured, never runs open: it
   * generates an admin token (http/tokens.ts) and puts it here. Refused (false) once any token is
   * configured, so it can never replace tokens the user chose. A later save of the token lists
   * through Settings replaces it; a save of other settings keeps it.
   */
  useGeneratedAdminToken(token: string): boolean {
    const { admin, crawl, read } = this.tokenView
    if (admin.length + crawl.length + read.length > 0) return false
    this.set({ admin_tokens: [token] })
    return true
  }
}

/**
 * The runtime's `config`: one frozen object with every Config key, the fixed ones as values and
 * the live ones as getters onto `live`. For callers that read a whole config (the monitor, the
 * doors at start-up, tests); engine components that act on a live value take `live` itself.
 */
export function configView(fixed: Config, live: LiveSettings): Readonly<Config> {
  const view = {} as Config
  const liveKeys = new Set<string>(LIVE_CONFIG_KEYS)
  for (const [key, value] of Object.entries(fixed)) {
    if (liveKeys.has(key)) Object.defineProperty(view, key, { get: () => live.get(key as LiveKey), enumerable: true })
    else Object.defineProperty(view, key, { value: Array.isArray(value) ? Object.freeze([...value]) : value, enumerable: true })
  }
  return Object.freeze(view)
}

function tokensFrom(values: LiveValues): LiveTokens {
  return Object.freeze({ admin: values.admin_tokens, crawl: values.crawl_tokens, read: values.read_tokens })
}
