/*
 * What never reaches a log whole: tokens, passwords, cookies and credentials inside URLs. Logs
 * travel (terminals, files, log shippers, bug reports); the values below stay in the process.
 */

export const REDACTED = '[redacted]'

/** A URL as logs and /health may show it: user name, password and any secret-looking parameter masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.username) u.username = '***'
    if (u.password) u.password = '***'
    for (const key of [...u.searchParams.keys()]) if (/pass|secret|token|auth/i.test(key)) u.searchParams.set(key, '***')
    return u.toString()
  } catch {
    return REDACTED
  }
}

/** Whether a URL carries a user name, a password or a secret-looking parameter. */
export function urlHasCredentials(url: string): boolean {
  return redactUrl(url) !== url
}

/**
 * Paths pino masks in every log line (one level of `*`): the config as logged at start-up, request
 * headers, and the credential fields of anything logged with them (a browser config's proxy, a
 * Settings patch's tokens).
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  'config.admin_tokens',
  'config.crawl_tokens',
  'config.read_tokens',
  'config.webhook_secret',
  '*.authorization',
  '*.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["proxy-authorization"]',
  '*.password',
  '*.token',
  '*.tokens',
  '*.proxy.password',
  '*.proxy.username',
  '*.browser_config.proxy',
  'password',
  'token',
  'tokens',
  'redis_url',
  '*.redis_url',
]

/** How pino masks a redacted value: a URL keeps its shape (host, port) with its credentials masked. */
export function censor(value: unknown): unknown {
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return redactUrl(value)
  return REDACTED
}
