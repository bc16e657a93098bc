/**
 * Whether browsers run inside Chromium's sandbox. The sandbox is what keeps a renderer that a
 * hostile page has taken over (crawled pages are hostile content) from reaching the rest of the
 * machine: on Linux it puts each renderer in its own user, PID and network namespaces under a
 * seccomp-bpf filter. It is on whenever Chromium allows it.
 *
 * Chromium refuses to start as root on Linux unless told --no-sandbox (its zygote: "Running as
 * root without --no-sandbox is not supported"), so a service running as root has to launch its
 * browsers unsandboxed. That is worth saying loudly: a warning at start-up and a line in /health.
 * On macOS and Windows Chromium sandboxes whatever the user (Windows has no getuid at all).
 *
 * Where the sandbox cannot work for an ordinary user either (unprivileged user namespaces turned
 * off, and no setuid sandbox helper installed), Chromium does not start; the launch error says how
 * to fix that, or to put --no-sandbox in the config file's chromium_args. The operator's switches
 * are not checked (the operator owns the machine), but one that turns the sandbox off is reported
 * like root is.
 */

/** Who the service runs as; `uid` is undefined where process.getuid does not exist (Windows). */
export interface ProcessIdentity {
  readonly uid: number | undefined
  readonly platform: NodeJS.Platform
}

export interface SandboxPolicy {
  /** Launch with Chromium's sandbox (playwright's chromiumSandbox); false adds --no-sandbox. */
  readonly sandbox: boolean
  /** Why browsers run unsandboxed and how to avoid it; null when they are sandboxed. */
  readonly warning: string | null
}

export const ROOT_UNSANDBOXED_WARNING =
  "browsers run without Chromium's sandbox because crawldeck runs as root (Chromium does not start sandboxed as root): " +
  "a page that exploits the renderer then runs with root's rights. Run crawldeck as an ordinary user " +
  '(in a container, a non-root USER) and browsers are sandboxed.'

export const OPERATOR_UNSANDBOXED_WARNING =
  "browsers run without Chromium's sandbox because the config's chromium_args has --no-sandbox: " +
  "a page that exploits the renderer then runs with crawldeck's rights. Remove it from chromium_args once the sandbox can start here."

/** Added to a launch error that says Chromium's sandbox could not start (see pool.ts). */
export const SANDBOX_UNAVAILABLE_HINT =
  "Chromium's sandbox cannot start on this machine: it needs unprivileged user namespaces " +
  '(sysctl user.max_user_namespaces above 0, and kernel.unprivileged_userns_clone=1 where it exists; in a container, a seccomp profile that allows them) ' +
  "or Chromium's setuid sandbox helper (Debian: apt-get install chromium-sandbox). Enable one, or knowingly run browsers unsandboxed with --no-sandbox in the config file's chromium_args."

export function currentIdentity(): ProcessIdentity {
  return { uid: process.getuid?.(), platform: process.platform }
}

/**
 * The sandbox decision for a service running as `id`, whose operator added `chromiumArgs` to every
 * browser: off for root on Linux and the other Unix-likes Chromium treats alike, and when the
 * operator said --no-sandbox.
 */
export function sandboxPolicy(id: ProcessIdentity, chromiumArgs: readonly string[] = []): SandboxPolicy {
  const rootNeedsNoSandbox = id.uid === 0 && id.platform !== 'darwin' && id.platform !== 'win32'
  if (rootNeedsNoSandbox) return { sandbox: false, warning: ROOT_UNSANDBOXED_WARNING }
  if (chromiumArgs.includes('--no-sandbox')) return { sandbox: false, warning: OPERATOR_UNSANDBOXED_WARNING }
  return { sandbox: true, warning: null }
}
