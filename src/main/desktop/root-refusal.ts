import type { ProcessIdentity } from '../core/chromium/sandbox.js'

/**
 * The desktop app never runs as root. Its window shows crawled pages' data and drives browsers
 * that load hostile pages; as root, Chromium's sandbox is off (it does not start sandboxed as
 * root: core/chromium/sandbox.ts), so one renderer exploit would own the machine. A desktop user
 * has an ordinary account to run it from; the headless service may run as root (containers), and
 * says so in its log and /health instead.
 *
 * Null when the app may start; otherwise the message to show. Windows has no root uid (getuid is
 * absent there), so only Linux, macOS and the other Unix-likes are refused.
 */
export function rootRefusal(id: ProcessIdentity): string | null {
  if (id.uid !== 0 || id.platform === 'win32') return null
  return (
    "crawldeck does not run as root: its browsers would run without Chromium's sandbox, so a hostile page " +
    "that exploits one would get root's rights. Start crawldeck from your ordinary user account " +
    '(not with sudo). To run crawldeck as root on a server, use the headless service (npm run serve) instead.'
  )
}
