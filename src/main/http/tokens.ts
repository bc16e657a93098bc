import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { isLoopbackBind } from '../core/egress/address-policy.js'
import type { LiveSettings } from '../core/settings/live.js'
import type { Logger } from '../core/logger.js'

/*
 * The tokens the HTTP door checks. Open for local use: with no token configured and a loopback
 * bind, nothing is asked. Bound to any other address, the service never runs open: with no token
 * configured it makes an admin token once, keeps it in the data dir readable by the owner only,
 * and says where it is (never the token itself: logs travel).
 */

export const ADMIN_TOKEN_FILE = 'admin-token'

/**
 * Makes sure a non-loopback bind never runs open: with no token configured, generates (or reads
 * back) the admin token file in `dataDir` and puts that token into the live settings, where the
 * HTTP door reads its tokens. Returns the file, or null when nothing had to be done.
 */
export function ensureTokens(live: Pick<LiveSettings, 'tokens' | 'useGeneratedAdminToken'>, dataDir: string, bindHost: string, logger: Logger): string | null {
  const { tokens } = live
  const configured = tokens.admin.length + tokens.crawl.length + tokens.read.length > 0
  // The same test of "can others reach it" as the settings service's and the egress guard's.
  if (configured || isLoopbackBind(bindHost)) return null
  const file = path.resolve(dataDir, ADMIN_TOKEN_FILE)
  let token: string
  try {
    token = readFileSync(file, 'utf8').trim()
    if (token.length < 32) throw new Error(`${file} holds no usable token`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    token = randomBytes(32).toString('base64url')
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, `${token}\n`, { mode: 0o600 })
  }
  // Whatever the umask or an earlier copy said: owner only.
  chmodSync(file, 0o600)
  logger.warn(
    { bind: bindHost, token_file: file },
    `bound to ${bindHost} with no token configured: every request needs the admin token in ${file} (Authorization: Bearer …); configure tokens to choose your own`,
  )
  live.useGeneratedAdminToken(token)
  return file
}
