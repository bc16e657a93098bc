import type { ServiceImpl } from '../../../shared/contract.js'
import type { SettingKey, Settings, SettingsAnswer, SettingsPatch } from '../../../shared/settings.js'
import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import { blocksPrivateTargets, isLoopbackBind, privateTargetsReason, type ExposureConfig } from '../egress/address-policy.js'
import { configView, LiveSettings, type LiveValues } from '../settings/live.js'
import {
  changedKeys,
  defaultSettings,
  digestTokens,
  holdsWholeTokens,
  keysOf,
  maskSettings,
  mergeSettings,
  pick,
  RESTART_KEYS,
  valueOf,
  type RestartKey,
} from '../settings/model.js'
import type { SettingsStore } from '../settings/store.js'
import { chromiumPathProblem } from '../chromium/locate.js'
import { invalidInput } from '../errors.js'

/** Keys a host can put into effect itself by restarting its own HTTP server. */
export const HTTP_KEYS = ['http_enabled', 'host', 'port'] as const satisfies readonly RestartKey[]
export type HttpKey = (typeof HTTP_KEYS)[number]

export interface SettingsChange {
  /** Full values, tokens included: listeners run in the engine's own process. */
  settings: Settings
  previous: Settings
  /** Keys whose value changed, in SETTING_KEYS order (never empty). */
  changed: SettingKey[]
}

/**
 * Called after each saved update that changed something. The desktop shell restarts its HTTP
 * server on the new address here and returns the HTTP keys it put into effect, which then move
 * from `restart_required` to `applied`. A listener that throws is logged; its keys stay
 * `restart_required`.
 */
export type SettingsListener = (change: SettingsChange) => void | readonly HttpKey[] | Promise<void | readonly HttpKey[]>

export interface SettingsService {
  /** The two contract operations, spread into the runtime's ServiceImpl. */
  readonly operations: Pick<ServiceImpl, 'settings' | 'updateSettings'>
  /** The saved settings, tokens whole (for the host: notifications, the HTTP server, the token check). */
  current(): Settings
  /**
   * The configuration this start runs with: the one given, with the restart keys saved in
   * settings.json laid over it, frozen. Its live keys are getters onto `live`.
   */
  readonly config: Readonly<Config>
  /** The values Settings change while the engine runs, for components to read; this service writes them. */
  readonly live: LiveSettings
  /** Returns the function that removes the listener. */
  onChange(listener: SettingsListener): () => void
  /** Where settings.json lives. */
  readonly location: string
  /** Why the saved file was set aside at start-up, or null. */
  readonly loadProblem: string | null
  /** Why the egress guard should be on but is not running (it starts with the engine), or null. */
  guardPending(): string | null
}

/**
 * Loads settings.json and lays what the user chose over the engine's config before anything is
 * started from it, so saved values (a new port, a Redis URL) are what this start uses. The result
 * (`config`) is frozen: nothing changes it while the engine runs.
 *
 * What Settings change while the engine runs (memory threshold, idle TTL, the token lists, and
 * the HTTP address once the desktop shell has moved its server) lives in `live`
 * (settings/live.ts), and this service is its writer. Every component that acts on such a value
 * reads it there when it acts: the pool at each launch, the page reserve before each pair, the
 * janitor at each pass, /health and the HTTP door at each request. None is handed a copy.
 */
export async function createSettingsService(deps: { config: Config; store: SettingsStore; logger: Logger }): Promise<SettingsService> {
  const { store, logger } = deps
  const defaults = defaultSettings(deps.config)
  const loaded = await store.load()
  let problem = loaded.problem
  let current = defaults
  let chosen = new Set<SettingKey>()
  try {
    current = mergeSettings(defaults, loaded.overrides)
    chosen = new Set(keysOf(loaded.overrides))
  } catch (err) {
    problem = `${store.location} holds a masked token instead of a real one (${(err as Error).message}): using the defaults`
  }
  if (problem) logger.warn({ file: store.location }, problem)
  // A settings.json from before tokens were kept as digests: rewritten at once, so the tokens
  // themselves do not stay on disk until the next save.
  if (problem === null && holdsWholeTokens(loaded.overrides)) {
    try {
      await store.save(digestTokens(loaded.overrides))
      logger.info({ file: store.location }, 'settings.json now keeps digests of its tokens instead of the tokens')
    } catch (err) {
      logger.warn({ err, file: store.location }, 'could not rewrite settings.json with token digests: its tokens stay as they were until the next save')
    }
  }
  // The Redis URL is read once, at start; host and port are where this start binds and move only
  // when the desktop shell moves its HTTP server (see `update`).
  const live = new LiveSettings({ ...liveOf(current), host: current.host, port: current.port }, logger)
  const config = configView({ ...deps.config, redis_url: current.redis_url }, live)
  // The egress guard (block_private_targets) is on by default whenever others can reach the
  // service (a reachable bind, a proxy's name, CORS origins, tokens), but it is decided when the
  // engine starts: browsers are launched through it. Moving the HTTP server from loopback to a
  // reachable address live would leave private targets open until then, so that move waits for
  // the restart (restart_required) instead of being offered to the host. Tokens cannot wait (they
  // are what keeps strangers out), so tokens added to a service running without the guard apply
  // at once and the missing guard is reported (guardPending, in /health) until the restart.
  //
  // Who can reach the service now: the fixed lists, and the bind address and tokens as they are.
  const exposure = (): ExposureConfig => ({
    block_private_targets: config.block_private_targets,
    allowed_hosts: config.allowed_hosts,
    cors_origins: config.cors_origins,
    host: live.host,
    admin_tokens: live.tokens.admin,
    crawl_tokens: live.tokens.crawl,
    read_tokens: live.tokens.read,
  })
  const guardRunning = blocksPrivateTargets(exposure())
  // The bind address alone decides whether a host move waits: tokens that already want the
  // guard are reported by guardPending, and moving between loopback addresses changes nothing.
  const needsGuard = (host: string) => !guardRunning && blocksPrivateTargets({ block_private_targets: config.block_private_targets, host })
  const guardPending = (): string | null => {
    if (guardRunning) return null
    const reason = privateTargetsReason(exposure())
    return reason === null ? null : `private targets are not refused yet: ${reason}, which turns the egress guard on at the next start; restart crawldeck`
  }

  // What the started service actually uses for the keys that need a restart.
  const running: Record<RestartKey, unknown> = Object.fromEntries(RESTART_KEYS.map((k) => [k, valueOf(current, k)])) as Record<RestartKey, unknown>
  const listeners = new Set<SettingsListener>()
  let queue: Promise<unknown> = Promise.resolve()

  const pending = (): SettingKey[] => RESTART_KEYS.filter((k) => JSON.stringify(running[k]) !== JSON.stringify(valueOf(current, k)))
  const answer = (applied: SettingKey[]): SettingsAnswer => ({ settings: maskSettings(current), applied, restart_required: pending() })

  async function update(patch: SettingsPatch): Promise<SettingsAnswer> {
    const next = mergeSettings(current, patch)
    // Checked now, where the user can fix it, rather than at the next start: a path that is not a
    // program would only be found then (and that start would fall back to the usual places).
    const chromiumProblem = patch.chromium_path ? chromiumPathProblem(patch.chromium_path) : null
    if (chromiumProblem !== null) throw invalidInput([{ path: 'chromium_path', message: chromiumProblem }])
    // Tokens turn sign-in on for HTTP at once; without an admin token nobody could change the
    // settings or run an action over HTTP any more, so that state is refused, not saved.
    const anyToken = next.tokens.admin.length + next.tokens.crawl.length + next.tokens.read.length > 0
    if (anyToken && next.tokens.admin.length === 0) {
      const issue = { path: 'tokens.admin', message: 'add an admin token too: once any token is set, settings and actions over HTTP need one' }
      throw invalidInput([issue])
    }
    // Bound where others can reach it, emptying every list would leave nobody able to sign in
    // (the HTTP door never runs open there): refused, with the reason.
    if (patch.tokens !== undefined && !anyToken && !isLoopbackBind(live.host)) {
      const issue = { path: 'tokens', message: `the service listens on ${live.host}, which other machines can reach: keep at least an admin token` }
      throw invalidInput([issue])
    }
    const changed = changedKeys(current, next)
    const keep = new Set([...chosen, ...keysOf(patch)])
    // On disk, digests only: settings.json (and every copy of it) is no key to the service.
    await store.save(digestTokens(pick(next, keep)))
    const previous = current
    current = next
    chosen = keep
    // The HTTP door reads the token lists from `live` on every check: new tokens work at once,
    // and removed ones (with every session signed in with them) stop at once. Only when the lists
    // were sent: a save of other settings keeps a token the HTTP door generated for itself.
    live.set(
      patch.tokens !== undefined ? liveOf(current) : { memory_threshold_percent: current.memory_threshold_percent, idle_ttl_seconds: current.idle_ttl_seconds },
    )
    if (patch.tokens !== undefined) {
      const pendingGuard = guardPending()
      if (pendingGuard) logger.warn(pendingGuard)
    }
    const applied = changed.filter((k) => !(RESTART_KEYS as readonly string[]).includes(k))
    let offered = changed
    let offeredSettings = current
    if (changed.includes('host') && needsGuard(current.host)) {
      offered = changed.filter((k) => k !== 'host')
      offeredSettings = { ...current, host: String(running.host) }
      logger.warn(
        { host: current.host },
        `host ${current.host} is reachable from other machines: it takes effect at the next start, which also starts refusing private targets (block_private_targets)`,
      )
    }
    if (offered.length > 0) {
      for (const claimed of await notify({ settings: offeredSettings, previous, changed: offered })) {
        if (!offered.includes(claimed)) continue
        running[claimed] = valueOf(current, claimed)
        // The HTTP server now listens there: the address the token check above goes by.
        if (claimed === 'host') live.set({ host: current.host })
        if (claimed === 'port') live.set({ port: current.port })
        applied.push(claimed)
      }
    }
    logger.info({ changed, applied, restart_required: pending(), file: store.location }, 'settings saved')
    return answer(applied.sort((a, b) => changed.indexOf(a) - changed.indexOf(b)))
  }

  async function notify(change: SettingsChange): Promise<Set<HttpKey>> {
    const claimed = new Set<HttpKey>()
    for (const listener of listeners) {
      try {
        for (const key of (await listener(change)) ?? []) if ((HTTP_KEYS as readonly string[]).includes(key)) claimed.add(key)
      } catch (err) {
        logger.error({ err }, 'a settings listener failed: its settings apply at the next start')
      }
    }
    return claimed
  }

  return {
    operations: {
      settings: async () => answer([]),
      // One update at a time: each merges over the result of the one before.
      updateSettings: (patch) => {
        const run = queue.then(() => update(patch))
        queue = run.catch(() => undefined)
        return run
      },
    },
    current: () => current,
    config,
    live,
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    location: store.location,
    loadProblem: problem,
    guardPending,
  }
}

/** The live values Settings apply at once (host and port wait for the host to claim them). */
function liveOf(s: Settings): Omit<LiveValues, 'host' | 'port'> {
  return {
    memory_threshold_percent: s.memory_threshold_percent,
    idle_ttl_seconds: s.idle_ttl_seconds,
    admin_tokens: s.tokens.admin,
    crawl_tokens: s.tokens.crawl,
    read_tokens: s.tokens.read,
  }
}
