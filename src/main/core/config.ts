import { z } from 'zod'
import { TOKEN_MESSAGE, TOKEN_PATTERN } from '../../shared/settings.js'
import { AlertSettingsPatchSchema, DEFAULT_ALERT_SETTINGS, mergeAlertSettings } from '../../shared/alert-settings.js'
import { parseCidr } from './egress/address-policy.js'

/**
 * The whole service configuration, with its defaults. Sources are merged in
 * cli/parse-options.ts (defaults < config file < environment < flags); this schema is the one
 * place that says what each option means and what values it accepts.
 */
const TokenString = z.string().regex(TOKEN_PATTERN, TOKEN_MESSAGE)

export const ConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(11235),
    data_dir: z.string().min(1).default('./.crawldeck'),
    redis_url: z.string().min(1).nullable().default(null),
    redis_prefix: z.string().min(1).default('crawldeck:'),
    /** Bytes the embedded result cache may hold; the least recently used entries go first. With Redis, Redis's maxmemory caps it instead. */
    cache_max_bytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(1024 * 1024 * 1024 * 1024)
      .default(1024 * 1024 * 1024),
    /** Seconds a cached result is served (both backends); 0 keeps entries until evicted or cleared. */
    cache_ttl_seconds: z
      .number()
      .int()
      .min(0)
      .max(365 * 86_400)
      .default(86_400),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Path to a Chromium/Chrome binary; null means auto-detect. */
    chromium: z.string().min(1).nullable().default(null),
    /** Most pages open at once, across all browsers. */
    max_pages: z.number().int().min(1).max(256).default(8),
    /**
     * Let the page limit move between min_pages and max_pages with measured page time, CPU and
     * memory (core/admission/limiter.ts); false: max_pages pages at once, always.
     */
    adaptive_admission: z.boolean().default(true),
    /** The adaptive page limit's floor. */
    min_pages: z.number().int().min(1).max(256).default(1),
    /** Requests allowed to wait for a page slot; beyond this the answer is 429. */
    queue_size: z.number().int().min(0).max(10_000).default(64),
    /** Refuse to launch a browser at or above this memory use (percent of the cgroup limit or host RAM). */
    memory_threshold_percent: z.number().min(0).max(100).default(95),
    /** Base idle TTL of the janitor when memory is LOW: cold browsers after this, hot after twice it. */
    idle_ttl_seconds: z.number().min(0).max(86_400).default(300),
    /** Uses after which a cold browser becomes hot. */
    promote_after_uses: z.number().int().min(1).max(1_000_000).default(3),
    /** Pages after which a browser is retired and replaced (Chromium slows down with age). */
    retire_after_pages: z.number().int().min(1).max(10_000_000).default(500),
    /** A named session (crawler_config.session_id) idle this long is closed, in seconds. */
    session_ttl_seconds: z.number().min(1).max(86_400).default(600),
    /** Named sessions open at once; a request that would open one more is answered 429. */
    max_sessions: z.number().int().min(0).max(1024).default(16),
    /** js_code in crawler_config runs arbitrary script in the page: off unless the operator allows it. */
    allow_js_code: z.boolean().default(false),
    /** Upper bound on crawler_config.page_timeout, in ms. */
    max_page_timeout_ms: z.number().int().min(1000).max(600_000).default(120_000),
    /** Largest JSON body accepted, in bytes. */
    body_limit_bytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /** Launch the permanent browser at start-up (turned off only by tests that start many runtimes). */
    launch_permanent: z.boolean().default(true),
    /** Completed requests the monitor keeps for /monitor/requests. */
    monitor_completed_limit: z.number().int().min(1).max(100_000).default(100),
    /** How often monitor state is written to the store, in ms (and once at shutdown). */
    persist_interval_ms: z.number().int().min(50).max(600_000).default(1000),
    /**
     * Niceness every browser runs at (Linux/macOS), 0-19. Renderers fill every core under load; a
     * positive value lets the service's own work (API answers, monitor, Playwright messages) run
     * first. 0 runs the browsers at the service's own priority.
     */
    chromium_nice: z.number().int().min(0).max(19).default(10),
    /** Bearer tokens per scope (read < crawl < admin). None configured + loopback bind = open for local use. */
    admin_tokens: z.array(TokenString).default([]),
    crawl_tokens: z.array(TokenString).default([]),
    read_tokens: z.array(TokenString).default([]),
    /** Host names (besides loopback names and the bound address) the HTTP server answers to: DNS-rebinding defence. */
    allowed_hosts: z.array(z.string().min(1)).default([]),
    /** Origins allowed to call the API from a web page (CORS). Empty: no CORS, and cross-site POSTs are refused. */
    cors_origins: z.array(z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'an origin like https://ops.example.com')).default([]),
    /**
     * Behind a reverse proxy: take the client's address from the last X-Forwarded-For entry and
     * the scheme from X-Forwarded-Proto (sign-in lockout, Secure cookies). Off by default:
     * without a proxy in front, any client could claim any address.
     */
    trust_proxy: z.boolean().default(false),
    /**
     * Open connections one connecting address may hold; further ones are closed at once. Bounds
     * what a client that opens sockets and never finishes a request can take from everyone else.
     * Counted by the socket's address: behind a proxy, that is the proxy's.
     */
    max_connections_per_client: z.number().int().min(1).max(100_000).default(128),
    /** Extra Chromium flags for every browser, after the built-in ones. */
    chromium_args: z.array(z.string()).default([]),
    /**
     * Refuse crawling private, loopback and link-local addresses (SSRF defence): URLs are checked
     * up front and every browser goes through the egress guard (core/egress). Null: on whenever
     * others can reach the service: `host` is not a loopback address, or allowed_hosts (a reverse
     * proxy), cors_origins or any token is set (egress/address-policy.ts, privateTargetsReason).
     * Browsers are launched with it, so no live change.
     */
    block_private_targets: z.boolean().nullable().default(null),
    /** Networks (CIDR or single IPs) exempt from block_private_targets, e.g. an intranet crawled on purpose. */
    private_targets_allowed: z.array(z.string().refine((s) => parseCidr(s) !== null, 'an IP address or CIDR network like 10.1.0.0/16')).default([]),
    /** Screenshots are clipped to this height (and width) in CSS px; the result says so (screenshot_clipped). */
    max_screenshot_height: z.number().int().min(100).max(1_000_000).default(16_384),
    /** A screenshot, PDF or page HTML (in characters) larger than this fails its URL (422 capture_too_large). */
    max_capture_bytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(32 * 1024 * 1024),
    /**
     * Fresh context + page pairs kept ready per permanent or hot browser, so a request does not
     * wait for page creation; never reused across requests. 0 turns the reserve off. 1 by default:
     * at concurrency 1 it gave 1.14-1.20x the pages/s and 16-22 ms lower p50, at 4 and 8 it was
     * neutral (docs/benchmarks.md, "Pre-warmed pages"); 2 adds little and holds one more renderer.
     */
    prewarm_pages: z.number().int().min(0).max(16).default(1),
    /**
     * Key of the HMAC-SHA256 signature of every webhook body (X-Crawldeck-Signature), so receivers
     * can tell a delivery came from this service. Null: webhooks are sent unsigned.
     */
    webhook_secret: z.string().min(16, 'at least 16 characters: a short key is guessed from signed bodies').max(1024).nullable().default(null),
    /** Seconds a finished job (/crawl/job) and its result are kept; 0 keeps them until the store is cleared. 3600 as Crawl4AI. */
    job_ttl_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(3600),
    /** At shutdown, seconds running jobs may take to finish before they are handed back to the queue (to run again). */
    job_drain_seconds: z.number().min(0).max(600).default(5),
    /**
     * With redis_url: seconds a running job's lock outlives a silent instance (renewed every half
     * of it), and how often the queue looks for lapsed locks, so a dead instance's jobs run
     * elsewhere within about twice this. Short: taken over sooner, but a process stalled that long
     * (swapping, a paused VM) loses its jobs to another, which then runs them again.
     */
    job_lock_seconds: z.number().int().min(2).max(600).default(30),
    /** Seconds a fleet member's registration outlives its last heartbeat (heartbeats every third of it); with redis_url only. */
    fleet_ttl_seconds: z.number().int().min(3).max(300).default(15),
    /** host:port (or URL) other fleet members and the dashboard reach this instance at; the address it listens on when left out. */
    fleet_address: z.string().min(1).max(512).nullable().default(null),
    /**
     * This instance's stable name: the key of its monitor history in Redis (one per instance under
     * a shared prefix) and the `instance` label of /metrics. Null: `<hostname>:<port>`.
     */
    instance_name: z
      .string()
      .regex(/^[A-Za-z0-9._:@-]{1,128}$/, 'instance_name must be 1 to 128 letters, digits or . _ : @ - (it is part of Redis keys and a metrics label)')
      .nullable()
      .default(null),
    /**
     * Alert rules and alert webhooks, in the form of Settings' `alerts` (any part of it; the rest
     * keeps its default, docs/alerts.md). Settings saved later win over it. Null: the defaults.
     */
    alerts: AlertSettingsPatchSchema.nullable()
      .default(null)
      .superRefine((patch, ctx) => {
        for (const issue of mergeAlertSettings(DEFAULT_ALERT_SETTINGS, patch ?? undefined).issues)
          ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path.split('.').slice(1) })
      }),
  })
  .strict()

export type Config = z.output<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>

/**
 * Keys Settings can change while the engine runs (host and port only when the desktop shell moves
 * its HTTP server). Their start values come from here; their current values live in
 * LiveSettings (settings/live.ts), which is where engine components read them.
 */
export const LIVE_CONFIG_KEYS = [
  'host',
  'port',
  'memory_threshold_percent',
  'idle_ttl_seconds',
  'admin_tokens',
  'crawl_tokens',
  'read_tokens',
] as const satisfies readonly (keyof Config)[]
export type LiveConfigKey = (typeof LIVE_CONFIG_KEYS)[number]

/**
 * The configuration as an engine component takes it: fixed for the life of the runtime, and
 * without the live keys, so a component cannot read a start value where it needs the current one.
 */
export type FixedConfig = Readonly<Omit<Config, LiveConfigKey>>

export function resolveConfig(input: ConfigInput = {}): Config {
  return ConfigSchema.parse(input)
}
