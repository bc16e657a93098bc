/*
 * The headless service's options, one row each: the parser (parse-options.ts), `--help` and the
 * README table (help.ts) are all generated from this table, so they cannot disagree. Names,
 * defaults and accepted values come from ConfigSchema.
 */
import { z } from 'zod'
import { ConfigSchema, type Config } from '../core/config.js'

type Key = keyof Config

/** How a command-line or environment string becomes a config value. */
export type OptionType = 'string' | 'integer' | 'number' | 'boolean' | 'string-list'

export interface OptionSpec {
  /** The ConfigSchema key, also the config file key. */
  readonly key: Key
  /** Kebab-case flag without the leading `--`; null: config file only. */
  readonly flag: string | null
  /** Environment variables, most specific first (the first one set wins). */
  readonly env: readonly string[]
  readonly type: OptionType
  /** Placeholder of the value in --help (none for booleans). */
  readonly arg: string
  readonly help: string
  /** How a null default reads in --help and the README. */
  readonly noneLabel?: string
}

type Row = Omit<OptionSpec, 'key'>

// A Record over every ConfigSchema key: adding an option to the schema without a row here
// fails to compile.
const ROWS: Record<Key, Row> = {
  host: { flag: 'host', env: ['CRAWLDECK_HOST'], type: 'string', arg: 'HOST', help: 'Address the HTTP API listens on.' },
  port: { flag: 'port', env: ['CRAWLDECK_PORT'], type: 'integer', arg: 'PORT', help: 'TCP port of the HTTP API; 0 picks a free one.' },
  data_dir: {
    flag: 'data-dir',
    env: ['CRAWLDECK_DATA_DIR'],
    type: 'string',
    arg: 'DIR',
    help: "Directory for crawldeck's own data (monitor history in monitor.json when no Redis is set); created at start-up if missing.",
  },
  redis_url: {
    flag: 'redis-url',
    env: ['CRAWLDECK_REDIS_URL', 'REDIS_URL'],
    type: 'string',
    arg: 'URL',
    help: 'Keep monitor history, the result cache and async jobs in this Redis (e.g. redis://127.0.0.1:6379) instead of the data dir; instances sharing it (and --redis-prefix) form a fleet (docs/scaling.md). If Redis goes away the service keeps serving and writes the pending history when it returns.',
    noneLabel: 'none',
  },
  redis_prefix: {
    flag: 'redis-prefix',
    env: ['CRAWLDECK_REDIS_PREFIX'],
    type: 'string',
    arg: 'PREFIX',
    help: 'Prefix of the Redis keys crawldeck writes: instances with the same Redis and prefix are one fleet (one job queue, one cache); a different prefix keeps an instance apart.',
  },
  cache_max_bytes: {
    flag: 'cache-max-bytes',
    env: ['CRAWLDECK_CACHE_MAX_BYTES'],
    type: 'integer',
    arg: 'BYTES',
    help: "Size cap of the result cache in the data dir (crawler_config.cache_mode); least recently used entries are evicted first. With --redis-url the cache lives in Redis, capped by Redis's own maxmemory.",
  },
  cache_ttl_seconds: {
    flag: 'cache-ttl',
    env: ['CRAWLDECK_CACHE_TTL'],
    type: 'integer',
    arg: 'SECONDS',
    help: 'Seconds a cached crawl result is served, in the data dir or Redis; 0 keeps entries until evicted or cleared.',
  },
  log_level: {
    flag: 'log-level',
    env: ['CRAWLDECK_LOG_LEVEL'],
    type: 'string',
    arg: 'LEVEL',
    help: 'Least severe log level written. Logs are JSON on stderr, readable when stderr is a terminal.',
  },
  chromium: {
    flag: 'chromium',
    env: ['CRAWLDECK_CHROMIUM'],
    type: 'string',
    arg: 'PATH',
    help: 'Chromium/Chrome binary to drive; when set, the only one tried. Unset: auto-detect.',
    noneLabel: 'auto-detect',
  },
  max_pages: { flag: 'max-pages', env: ['CRAWLDECK_MAX_PAGES'], type: 'integer', arg: 'N', help: 'Most pages open at once, across all browsers.' },
  adaptive_admission: {
    flag: 'adaptive-admission',
    env: ['CRAWLDECK_ADAPTIVE_ADMISSION'],
    type: 'boolean',
    arg: '',
    help: 'Move the page limit between --min-pages and --max-pages with measured page time, CPU and memory, so that admitted pages finish under overload; --adaptive-admission=false keeps --max-pages pages at once.',
  },
  min_pages: {
    flag: 'min-pages',
    env: ['CRAWLDECK_MIN_PAGES'],
    type: 'integer',
    arg: 'N',
    help: 'Floor of the adaptive page limit (at most --max-pages).',
  },
  queue_size: {
    flag: 'queue-size',
    env: ['CRAWLDECK_QUEUE_SIZE'],
    type: 'integer',
    arg: 'N',
    help: 'Requests allowed to wait for a page slot; beyond this the answer is 429.',
  },
  memory_threshold_percent: {
    flag: 'memory-threshold',
    env: ['CRAWLDECK_MEMORY_THRESHOLD'],
    type: 'number',
    arg: 'PERCENT',
    help: 'No new browser is launched (503) at or above this memory use, in % of the cgroup limit or host RAM.',
  },
  idle_ttl_seconds: {
    flag: 'idle-ttl',
    env: ['CRAWLDECK_IDLE_TTL'],
    type: 'number',
    arg: 'SECONDS',
    help: 'Janitor TTL when memory is low: idle cold browsers close after this, hot ones after twice it.',
  },
  promote_after_uses: {
    flag: 'promote-after',
    env: ['CRAWLDECK_PROMOTE_AFTER'],
    type: 'integer',
    arg: 'N',
    help: 'Uses after which a cold browser becomes hot.',
  },
  retire_after_pages: {
    flag: 'retire-after-pages',
    env: ['CRAWLDECK_RETIRE_AFTER_PAGES'],
    type: 'integer',
    arg: 'N',
    help: 'Pages after which a browser is retired and replaced.',
  },
  session_ttl_seconds: {
    flag: 'session-ttl',
    env: ['CRAWLDECK_SESSION_TTL'],
    type: 'number',
    arg: 'SECONDS',
    help: 'A named session (crawler_config.session_id) unused this long is closed, its page and browser lease given back.',
  },
  max_sessions: {
    flag: 'max-sessions',
    env: ['CRAWLDECK_MAX_SESSIONS'],
    type: 'integer',
    arg: 'N',
    help: 'Named sessions open at once; a request that would open one more gets 429 (0 turns sessions off).',
  },
  allow_js_code: {
    flag: 'allow-js-code',
    env: ['CRAWLDECK_ALLOW_JS_CODE'],
    type: 'boolean',
    arg: '',
    help: 'Accept crawler_config.js_code, which runs arbitrary script in the page.',
  },
  max_page_timeout_ms: {
    flag: 'max-page-timeout',
    env: ['CRAWLDECK_MAX_PAGE_TIMEOUT'],
    type: 'integer',
    arg: 'MS',
    help: 'Upper bound on crawler_config.page_timeout, in milliseconds.',
  },
  body_limit_bytes: { flag: 'body-limit', env: ['CRAWLDECK_BODY_LIMIT'], type: 'integer', arg: 'BYTES', help: 'Largest JSON request body accepted, in bytes.' },
  launch_permanent: {
    flag: null,
    env: [],
    type: 'boolean',
    arg: '',
    help: 'Launch the permanent browser at start-up (config file only; turned off by some tests).',
  },
  chromium_nice: {
    flag: 'chromium-nice',
    env: ['CRAWLDECK_CHROMIUM_NICE'],
    type: 'integer',
    arg: 'N',
    help: 'CPU niceness of every browser (0-19; 0 = same priority as the service) so the API and monitor answer first under load.',
  },
  admin_tokens: {
    flag: 'admin-token',
    env: ['CRAWLDECK_ADMIN_TOKEN'],
    type: 'string-list',
    arg: 'TOKENS',
    help: 'Bearer tokens with every right, comma-separated (at least 16 characters each).',
  },
  crawl_tokens: {
    flag: 'crawl-token',
    env: ['CRAWLDECK_CRAWL_TOKEN'],
    type: 'string-list',
    arg: 'TOKENS',
    help: 'Bearer tokens that may crawl and read the monitor, comma-separated.',
  },
  read_tokens: {
    flag: 'read-token',
    env: ['CRAWLDECK_READ_TOKEN'],
    type: 'string-list',
    arg: 'TOKENS',
    help: 'Bearer tokens that may only read the monitor, /metrics and the dashboard, comma-separated.',
  },
  allowed_hosts: {
    flag: 'allowed-hosts',
    env: ['CRAWLDECK_ALLOWED_HOSTS'],
    type: 'string-list',
    arg: 'NAMES',
    help: "Extra Host names the server answers to (comma-separated), e.g. a reverse proxy's name; loopback names and the bound address always work.",
  },
  cors_origins: {
    flag: 'cors-origins',
    env: ['CRAWLDECK_CORS_ORIGINS'],
    type: 'string-list',
    arg: 'ORIGINS',
    help: 'Origins allowed to call the API from a web page (CORS), comma-separated; none by default.',
  },
  trust_proxy: {
    flag: 'trust-proxy',
    env: ['CRAWLDECK_TRUST_PROXY'],
    type: 'boolean',
    arg: '',
    help: 'The service is behind a reverse proxy: the client address comes from the last X-Forwarded-For entry and https from X-Forwarded-Proto (sign-in lockout, Secure cookies). Never set it without such a proxy: clients could then claim any address.',
  },
  max_connections_per_client: {
    flag: 'max-connections-per-client',
    env: ['CRAWLDECK_MAX_CONNECTIONS_PER_CLIENT'],
    type: 'integer',
    arg: 'N',
    help: 'Open connections one connecting address may hold; further ones are closed at once. Behind a reverse proxy every connection comes from the proxy: raise it there.',
  },
  chromium_args: { flag: null, env: [], type: 'string-list', arg: '', help: 'Extra Chromium flags for every browser (config file only).' },
  alerts: {
    flag: null,
    env: [],
    type: 'string',
    arg: '',
    noneLabel: 'every rule on (docs/alerts.md)',
    help: 'Alert rules and alert webhooks, as the alerts object of Settings, e.g. {"rules": {"memory_high": {"threshold": 85}}, "webhooks": [{"url": "https://...", "format": "slack"}]}; saved Settings win over it (docs/alerts.md).',
  },
  monitor_completed_limit: {
    flag: 'completed-limit',
    env: ['CRAWLDECK_COMPLETED_LIMIT'],
    type: 'integer',
    arg: 'N',
    help: 'Completed requests the monitor keeps for /monitor/requests.',
  },
  block_private_targets: {
    flag: 'block-private-targets',
    env: ['CRAWLDECK_BLOCK_PRIVATE_TARGETS'],
    type: 'boolean',
    arg: '',
    help: 'Refuse private, loopback and link-local targets (SSRF defence): request URLs are checked and every browser goes through an egress proxy that also refuses redirects, subresources and names resolving there. Unset: on whenever others can reach the service, i.e. --host is not a loopback address, or any of --allowed-hosts (a reverse proxy), --cors-origins or a token is set; off only for a loopback bind without any of them. --block-private-targets=false turns it off.',
    noneLabel: 'on when others can reach the service',
  },
  private_targets_allowed: {
    flag: 'private-targets-allowed',
    env: ['CRAWLDECK_PRIVATE_TARGETS_ALLOWED'],
    type: 'string-list',
    arg: 'CIDRS',
    help: 'Networks exempt from --block-private-targets (comma-separated IPs or CIDRs, e.g. 10.20.0.0/16), to crawl an intranet on purpose.',
  },
  max_screenshot_height: {
    flag: 'max-screenshot-height',
    env: ['CRAWLDECK_MAX_SCREENSHOT_HEIGHT'],
    type: 'integer',
    arg: 'PX',
    help: 'Screenshots (full-page ones too) are clipped to this height, and to this width, in CSS pixels; a clipped result has screenshot_clipped true.',
  },
  max_capture_bytes: {
    flag: 'max-capture-bytes',
    env: ['CRAWLDECK_MAX_CAPTURE_BYTES'],
    type: 'integer',
    arg: 'BYTES',
    help: 'A URL whose result would be larger than this fails (HTTP 422, capture_too_large): a screenshot or PDF in bytes; the extracted fields together (HTML, cleaned HTML, links, images, metadata), the Markdown and js_code results in characters. Measured before anything is decoded.',
  },
  persist_interval_ms: {
    flag: 'persist-interval',
    env: ['CRAWLDECK_PERSIST_INTERVAL'],
    type: 'integer',
    arg: 'MS',
    help: 'How often monitor history is written to the store, in milliseconds (and once at shutdown).',
  },
  prewarm_pages: {
    flag: 'prewarm-pages',
    env: ['CRAWLDECK_PREWARM_PAGES'],
    type: 'integer',
    arg: 'N',
    help: 'Fresh context + page pairs kept ready per permanent or hot browser so a request skips page creation (never reused; 0 = off).',
  },
  job_ttl_seconds: {
    flag: 'job-ttl',
    env: ['CRAWLDECK_JOB_TTL'],
    type: 'integer',
    arg: 'SECONDS',
    help: 'Seconds a finished crawl job (/crawl/job) and its result are kept, in the data dir or Redis; then GET /crawl/job/{id} answers 404. 0 keeps them.',
  },
  job_drain_seconds: {
    flag: 'job-drain',
    env: ['CRAWLDECK_JOB_DRAIN'],
    type: 'number',
    arg: 'SECONDS',
    help: 'At shutdown (SIGTERM), seconds running jobs may take to finish; then they are stopped and handed back to the queue, to run again here or on another instance.',
  },
  job_lock_seconds: {
    flag: 'job-lock',
    env: ['CRAWLDECK_JOB_LOCK'],
    type: 'integer',
    arg: 'SECONDS',
    help: "With --redis-url: seconds a running job's lock outlives an instance that stopped answering (a crash, SIGKILL, a lost network), and how often the queue looks for such jobs; they run again on another instance within about twice this. Shorter takes over sooner, but an instance stalled that long loses its jobs to another.",
  },
  webhook_secret: {
    flag: 'webhook-secret',
    env: ['CRAWLDECK_WEBHOOK_SECRET'],
    type: 'string',
    arg: 'SECRET',
    help: 'Key of the HMAC-SHA256 signature sent with every job webhook (X-Crawldeck-Signature: sha256=<hex of the body>); at least 16 characters. Without it webhooks are unsigned.',
    noneLabel: 'none',
  },
  fleet_ttl_seconds: {
    flag: 'fleet-ttl',
    env: ['CRAWLDECK_FLEET_TTL'],
    type: 'integer',
    arg: 'SECONDS',
    help: "With --redis-url: seconds this instance's fleet registration outlives its last heartbeat (sent every third of it); a dead instance leaves /monitor/fleet within it.",
  },
  fleet_address: {
    flag: 'fleet-address',
    env: ['CRAWLDECK_FLEET_ADDRESS'],
    type: 'string',
    arg: 'HOST:PORT',
    help: 'Address other fleet members and the Fleet view reach this instance at; the address it listens on by default.',
    noneLabel: 'the listening address',
  },
  instance_name: {
    flag: 'instance-name',
    env: ['CRAWLDECK_INSTANCE_NAME'],
    type: 'string',
    arg: 'NAME',
    help: "This instance's name, kept across restarts: its monitor history in Redis is stored under it (so instances sharing a --redis-prefix keep their own) and /metrics labels every series with it. Letters, digits and . _ : @ -, at most 128.",
    noneLabel: '<hostname>:<port>',
  },
}

/** The one option table, in display order. */
export const OPTIONS: readonly OptionSpec[] = (Object.keys(ROWS) as Key[]).map((key) => ({ key, ...ROWS[key] }))

/** `--config`: not a config value itself, it says where more values come from. */
export const CONFIG_FILE_OPTION = {
  flag: 'config',
  env: ['CRAWLDECK_CONFIG'],
  arg: 'FILE',
  help: 'JSON file of options, keyed by the config file keys of this table.',
} as const

// ---------------------------------------------------------------------------------------
// What ConfigSchema accepts, read from the schema itself so messages never drift from it.

/** The schema of one option's value, as the config file and the parser check it. */
export function fieldSchema(key: Key): z.ZodType {
  return ConfigSchema.shape[key]
}

function unwrapField(key: Key): { inner: z.ZodType; nullable: boolean } {
  let inner: z.ZodType = fieldSchema(key)
  let nullable = false
  for (;;) {
    if (inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType
    else if (inner instanceof z.ZodNullable) {
      nullable = true
      inner = inner.unwrap() as z.ZodType
    } else break
  }
  return { inner, nullable }
}

/** "an integer 0..65535", "one of fatal, error, ...": what a value of `key` must be. */
export function acceptedValues(key: Key, opts: { fromFile?: boolean } = {}): string {
  const { inner, nullable } = unwrapField(key)
  let text: string
  if (inner instanceof z.ZodNumber) {
    const range = inner.minValue !== null && inner.maxValue !== null ? ` ${inner.minValue}..${inner.maxValue}` : ''
    text = `${inner.isInt ? 'an integer' : 'a number'}${range}`
  } else if (inner instanceof z.ZodEnum) {
    text = `one of ${inner.options.join(', ')}`
  } else if (inner instanceof z.ZodBoolean) {
    text = opts.fromFile ? 'true or false' : 'true or false (or 1 / 0)'
  } else if (inner instanceof z.ZodString) {
    text = (inner.minLength ?? 0) > 0 ? 'a non-empty string' : 'a string'
  } else if (inner instanceof z.ZodArray) {
    text = 'a list of strings'
  } else if (inner instanceof z.ZodObject) {
    text = 'an object of the fields docs/alerts.md lists'
  } else {
    text = 'a valid value'
  }
  return nullable && opts.fromFile ? `${text} or null` : text
}

/** Every option's default. */
export const DEFAULTS: Config = ConfigSchema.parse({})

export function defaultLabel(spec: OptionSpec): string {
  const value = DEFAULTS[spec.key]
  if (value === null) return spec.noneLabel ?? 'none'
  if (Array.isArray(value)) return JSON.stringify(value)
  return String(value)
}
