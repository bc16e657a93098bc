import type { ServiceImpl } from '../../../shared/contract.js'
import type { SettingKey, Settings, SettingsAnswer, SettingsPatch } from '../../../shared/settings.js'
import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import { blocksPrivateTargets, isLoopbackBind, privateTargetsReason } from '../egress/address-policy.js'
import { changedKeys, defaultSettings, digestTokens, holdsWholeTokens, keysOf, LIVE_KEYS, maskSettings, mergeSettings, pick, RESTART_KEYS, valueOf, type RestartKey } from '../settings/model.js'
import type { SettingsStore } from '../settings/store.js'
import { summariseIssues } from '../../../shared/validation.js'
import { ValidationError } from '../errors.js'

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
  /** The saved settings, tokens whole (for the host: notifications, the HTTP server, issue 6's token check). */
  current(): Settings
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
 * started from it, so saved values (a new port, a Redis URL) are what the next start uses.
 *
 * Memory threshold and idle TTL apply at once by writing them into that same Config object: the
 * pool reads `config.memory_threshold_percent` at each launch and the janitor reads
 * `config.idle_ttl_seconds` at each pass, so no component holds a stale copy.
 */
export async function createSettingsService(deps: { config: Config; store: SettingsStore; logger: Logger }): Promise<SettingsService> {
  const { config, store, logger } = deps
  const defaults = defaultSettings(config)
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
  writeIntoConfig(config, current, [...LIVE_KEYS, 'host', 'port', 'redis_url'])
  writeTokens(config, current)
  // The egress guard (block_private_targets) is on by default whenever others can reach the
  // service (a reachable bind, a proxy's name, CORS origins, tokens), but it is decided when the
  // engine starts: browsers are launched through it. Moving the HTTP server from loopback to a
  // reachable address live would leave private targets open until then, so that move waits for
  // the restart (restart_required) instead of being offered to the host. Tokens cannot wait (they
  // are what keeps strangers out), so tokens added to a service running without the guard apply
  // at once and the missing guard is reported (guardPending, in /health) until the restart.
  const guardRunning = blocksPrivateTargets(config)
  // The bind address alone decides whether a host move waits: tokens that already want the
  // guard are reported by guardPending, and moving between loopback addresses changes nothing.
  const needsGuard = (host: string) => !guardRunning && blocksPrivateTargets({ block_private_targets: config.block_private_targets, host })
  const guardPending = (): string | null => {
    if (guardRunning) return null
    const reason = privateTargetsReason(config)
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
    // Tokens turn sign-in on for HTTP at once; without an admin token nobody could change the
    // settings or run an action over HTTP any more, so that state is refused, not saved.
    const anyToken = next.tokens.admin.length + next.tokens.crawl.length + next.tokens.read.length > 0
    if (anyToken && next.tokens.admin.length === 0) {
      const issue = { path: 'tokens.admin', message: 'add an admin token too: once any token is set, settings and actions over HTTP need one' }
      throw new ValidationError(summariseIssues([issue]), [issue])
    }
    // Bound where others can reach it, emptying every list would leave nobody able to sign in
    // (the HTTP door never runs open there): refused, with the reason.
    if (patch.tokens !== undefined && !anyToken && !isLoopbackBind(config.host)) {
      const issue = { path: 'tokens', message: `the service listens on ${config.host}, which other machines can reach: keep at least an admin token` }
      throw new ValidationError(summariseIssues([issue]), [issue])
    }
    const changed = changedKeys(current, next)
    const keep = new Set([...chosen, ...keysOf(patch)])
    // On disk, digests only: settings.json (and every copy of it) is no key to the service.
    await store.save(digestTokens(pick(next, keep)))
    const previous = current
    current = next
    chosen = keep
    writeIntoConfig(config, current, LIVE_KEYS)
    // The HTTP door reads the token lists from the config on every check: new tokens work at once,
    // and removed ones (with every session signed in with them) stop at once. Only when the lists
    // were sent: a save of other settings keeps a token the HTTP door generated for itself.
    if (patch.tokens !== undefined) {
      writeTokens(config, current)
      const pendingGuard = guardPending()
      if (pendingGuard) logger.warn(pendingGuard)
    }
    const applied = changed.filter((k) => !(RESTART_KEYS as readonly string[]).includes(k))
    let offered = changed
    let offeredSettings = current
    if (changed.includes('host') && needsGuard(current.host)) {
      offered = changed.filter((k) => k !== 'host')
      offeredSettings = { ...current, host: String(running.host) }
      logger.warn({ host: current.host }, `host ${current.host} is reachable from other machines: it takes effect at the next start, which also starts refusing private targets (block_private_targets)`)
    }
    if (offered.length > 0) {
      for (const claimed of await notify({ settings: offeredSettings, previous, changed: offered })) {
        if (!offered.includes(claimed)) continue
        running[claimed] = valueOf(current, claimed)
        writeIntoConfig(config, current, [claimed].filter((k): k is 'host' | 'port' => k !== 'http_enabled'))
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
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    location: store.location,
    loadProblem: problem,
    guardPending,
  }
}

function writeIntoConfig(config: Config, s: Settings, keys: readonly ('memory_threshold_percent' | 'idle_ttl_seconds' | 'host' | 'port' | 'redis_url')[]): void {
  for (const key of keys) (config as Record<typeof key, unknown>)[key] = s[key]
}

function writeTokens(config: Config, s: Settings): void {
  config.admin_tokens = [...s.tokens.admin]
  config.crawl_tokens = [...s.tokens.crawl]
  config.read_tokens = [...s.tokens.read]
}
