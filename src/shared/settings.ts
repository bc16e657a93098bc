import { z } from 'zod'
import { AlertSettingsPatchSchema, AlertSettingsSchema } from './alert-settings.js'

/*
 * The Settings of crawldeck (the desktop app's Settings view, also GET/POST /settings): the bind
 * address, Redis, the memory guard, the janitor, tokens and notifications, saved in settings.json.
 * The keys shared with the engine's ConfigSchema (host, port, redis_url, memory_threshold_percent,
 * idle_ttl_seconds) keep its names and bounds (tests/settings/schema.test.ts fails if they drift)
 * and take their defaults from it in src/main/core/settings/model.ts: this file holds no copy of a
 * default.
 */

/**
 * What a token may be, wherever it comes from (flags, env, config file, Settings). No '*', so a
 * masked value (below) can never be mistaken for a real one; 16 characters at least, since a
 * token someone can guess is no token.
 */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=-]{16,256}$/
const MASKED_PATTERN = /^\*{8}[A-Za-z0-9._~+/=-]{4}$/
export const TOKEN_MESSAGE = 'a token is 16 to 256 characters of A-Z a-z 0-9 . _ ~ + / = -'

/**
 * How Settings keep a token once saved: its SHA-256 (what the HTTP door compares) and its last 4
 * characters (what the mask shows), never the token itself, so settings.json and a copy of it
 * are no key to the service. ':' is no token character, so a digest is never taken for a token.
 */
export const TOKEN_DIGEST_PATTERN = /^sha256:[0-9a-f]{64}:[A-Za-z0-9._~+/=-]{4}$/

export function isTokenDigest(value: string): boolean {
  return TOKEN_DIGEST_PATTERN.test(value)
}

/** Tokens never leave the engine whole: 8 stars and the last 4 characters (length hidden too); a saved digest masks the same way. */
export function maskToken(token: string): string {
  return `********${token.slice(-4)}`
}

export function isMaskedToken(value: string): boolean {
  return MASKED_PATTERN.test(value)
}

/** A token, or the digest Settings keep of one. */
const Token = z.string().refine((v) => TOKEN_PATTERN.test(v) || TOKEN_DIGEST_PATTERN.test(v), TOKEN_MESSAGE)
/** In an update a list may carry a saved token back in its masked form: "keep this one". */
const TokenOrMask = z.string().refine((v) => TOKEN_PATTERN.test(v) || MASKED_PATTERN.test(v) || TOKEN_DIGEST_PATTERN.test(v), TOKEN_MESSAGE)
const MAX_TOKENS = 32

export const TOKEN_ROLES = ['admin', 'crawl', 'read'] as const
export type TokenRole = (typeof TOKEN_ROLES)[number]

export const NOTIFICATION_KINDS = ['crash', 'memory_high', 'error_burst'] as const
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number]

/**
 * The Chromium, Chrome or Edge program the engine launches (Settings' "Chromium path"): absolute,
 * in the form of the machine the engine runs on (/..., C:\... or \\server\...). That it exists and
 * is executable is checked by the engine when it is saved (settings-service.ts).
 */
const ChromiumPath = z
  .string()
  .trim()
  .min(1)
  .max(4096)
  .refine((v) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(v) && !v.includes('\0'), 'give the absolute path of the browser program (/... or C:\\...)')

const RedisUrl = z
  .string()
  .min(1)
  .refine((v) => /^rediss?:\/\/\S+$/.test(v), 'a Redis URL starts with redis:// or rediss://')

/** Fields, bounds and messages of every setting; SettingsSchema and SettingsPatchSchema derive from it. */
const fields = {
  /** The desktop app's Koa server (REST API + /dashboard for remote access). `serve` always listens. */
  http_enabled: z.boolean(),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  /** null: monitor history in the data dir. */
  redis_url: RedisUrl.nullable(),
  memory_threshold_percent: z.number().min(0).max(100),
  idle_ttl_seconds: z.number().min(0).max(86_400),
  /** null: the engine looks for Chromium, Chrome or Edge in the usual places. --chromium and CRAWLDECK_CHROMIUM win over it. */
  chromium_path: ChromiumPath.nullable(),
  /** Desktop app: closing the window keeps crawldeck (engine, REST API, /dashboard) running in the tray; Quit is explicit. */
  close_to_tray: z.boolean(),
  /** Desktop app: the system starts it at login. */
  start_at_login: z.boolean(),
  /** Desktop app: it starts with no window, only its tray icon (the engine runs). */
  start_hidden: z.boolean(),
}

export const SettingsSchema = z
  .object({
    ...fields,
    /** Bearer tokens per scope, checked by the HTTP door (src/main/http/auth.ts); a change applies at once. */
    tokens: z.object({ admin: z.array(Token).max(MAX_TOKENS), crawl: z.array(Token).max(MAX_TOKENS), read: z.array(Token).max(MAX_TOKENS) }).strict(),
    /** Native notifications of the desktop app, each can be switched off. */
    notifications: z.object({ crash: z.boolean(), memory_high: z.boolean(), error_burst: z.boolean() }).strict(),
    /** Alert rules and the webhooks alerts go to (alert-settings.ts); a change applies at the next reading. */
    alerts: AlertSettingsSchema,
  })
  .strict()

/** An update: any subset; a token list replaces the saved list (masked entries keep saved tokens). */
export const SettingsPatchSchema = z
  .object({
    http_enabled: fields.http_enabled.optional(),
    host: fields.host.optional(),
    port: fields.port.optional(),
    redis_url: fields.redis_url.optional(),
    memory_threshold_percent: fields.memory_threshold_percent.optional(),
    idle_ttl_seconds: fields.idle_ttl_seconds.optional(),
    chromium_path: fields.chromium_path.optional(),
    close_to_tray: fields.close_to_tray.optional(),
    start_at_login: fields.start_at_login.optional(),
    start_hidden: fields.start_hidden.optional(),
    tokens: z
      .object({
        admin: z.array(TokenOrMask).max(MAX_TOKENS).optional(),
        crawl: z.array(TokenOrMask).max(MAX_TOKENS).optional(),
        read: z.array(TokenOrMask).max(MAX_TOKENS).optional(),
      })
      .strict()
      .optional(),
    notifications: z.object({ crash: z.boolean().optional(), memory_high: z.boolean().optional(), error_burst: z.boolean().optional() }).strict().optional(),
    alerts: AlertSettingsPatchSchema.optional(),
  })
  .strict()

export type Settings = z.output<typeof SettingsSchema>
export type SettingsPatch = z.output<typeof SettingsPatchSchema>

/** Every setting by name, nested ones dotted: what `applied` and `restart_required` list. */
export const SETTING_KEYS = [
  'http_enabled',
  'host',
  'port',
  'redis_url',
  'memory_threshold_percent',
  'idle_ttl_seconds',
  'chromium_path',
  ...TOKEN_ROLES.map((r) => `tokens.${r}` as const),
  ...NOTIFICATION_KINDS.map((k) => `notifications.${k}` as const),
  'alerts',
  'close_to_tray',
  'start_at_login',
  'start_hidden',
] as const
export type SettingKey = (typeof SETTING_KEYS)[number]

/** The answer of both GET and POST /settings. `settings.tokens` are masked. */
export interface SettingsAnswer {
  settings: Settings
  /** Keys this update changed that the running service uses now (always empty for GET). */
  applied: SettingKey[]
  /**
   * Keys whose saved value the running service does not use yet (bind address, port, HTTP on/off,
   * Redis URL): they take effect at the next start. GET lists them too until then.
   */
  restart_required: SettingKey[]
}
