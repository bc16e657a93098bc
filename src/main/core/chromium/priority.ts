import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/*
 * Chromium runs at a lower CPU priority than the service itself. On a busy machine the browsers'
 * renderers fill every core; without this, each API answer — a monitor GET, a health probe, the
 * Playwright messages that move a crawl along — waits in the run queue behind page rendering
 * (measured: GET /monitor/* p99 57 ms with the pool saturated on 2 cores, where the handler needs
 * 0.2 ms). With the browsers niced, the kernel runs the control plane first when it wakes and
 * gives the browsers all the CPU it leaves.
 *
 * Playwright spawns `executablePath` directly, so the only way to start Chromium — and every
 * process and thread it forks, which inherit the value — under `nice` is a tiny wrapper script
 * that `exec`s it: the PID stays the browser's own, so process-tree accounting is unchanged.
 *
 * Chromium sets its own threads' niceness (0 for most, -8 for its UI and compositor threads). An
 * unprivileged process can only raise its niceness, so those calls fail harmlessly and our value
 * stays; running as root they succeed and undo it. As root the wrapper therefore also drops
 * CAP_SYS_NICE (util-linux `setpriv`) before exec: a browser has no business raising its own
 * priority above the service that drives it.
 */

export interface ChromiumExecutable {
  /** What to hand to playwright's `executablePath`. */
  readonly launchPath: string
  /** The niceness every browser actually runs at (0 when the wrapper could not be used). */
  readonly nice: number
  /** Why the wrapper is not in use, when it was asked for and could not be. */
  readonly warning: string | null
  /** Remove the wrapper script. Idempotent. */
  dispose(): void
}

const NICE_BINARIES = ['/usr/bin/nice', '/bin/nice']
const SETPRIV_BINARIES = ['/usr/bin/setpriv', '/bin/setpriv']

/** `'` is the only character a single-quoted sh string cannot hold. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`
}

function findExecutable(candidates: readonly string[]): string | null {
  for (const p of candidates) {
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // next
    }
  }
  return null
}

export function chromiumExecutable(chromiumPath: string, nice: number): ChromiumExecutable {
  const direct = (warning: string | null): ChromiumExecutable => ({ launchPath: chromiumPath, nice: 0, warning, dispose() {} })
  if (nice === 0) return direct(null)
  if (process.platform === 'win32') return direct('chromium_nice is not supported on Windows; browsers run at normal priority')
  const niceBin = findExecutable(NICE_BINARIES)
  if (niceBin === null) return direct(`no 'nice' binary in ${NICE_BINARIES.join(' or ')}; browsers run at normal priority`)
  let prefix = ''
  let warning: string | null = null
  if (process.getuid?.() === 0) {
    const setpriv = findExecutable(SETPRIV_BINARIES)
    if (setpriv === null)
      warning = `running as root without util-linux 'setpriv': Chromium will put most of its threads back to normal priority (chromium_nice ${nice} applies only partly)`
    else prefix = `${shQuote(setpriv)} --bounding-set -sys_nice --inh-caps -sys_nice `
  }
  let dir: string
  try {
    dir = mkdtempSync(path.join(os.tmpdir(), 'crawldeck-chromium-'))
    const script = path.join(dir, 'chromium')
    // Playwright starts the browser in a session of its own, and with the kernel's autogroup
    // scheduling (sched_autogroup_enabled, on by default in most distributions) a session is
    // scheduled as one unit against other sessions, niceness counting only inside it. Setting the
    // group's niceness makes the browser yield to the service across that boundary too; where
    // there is no autogroup the write fails quietly and per-thread niceness does the work.
    const autogroup = process.platform === 'linux' ? `echo ${nice} > /proc/self/autogroup 2>/dev/null\n` : ''
    writeFileSync(script, `#!/bin/sh\n${autogroup}exec ${prefix}${shQuote(niceBin)} -n ${nice} ${shQuote(chromiumPath)} "$@"\n`, { mode: 0o700 })
    let disposed = false
    return {
      launchPath: script,
      nice,
      warning,
      dispose() {
        if (disposed) return
        disposed = true
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    return direct(`could not write the chromium_nice wrapper in ${os.tmpdir()} (${(err as Error).message}); browsers run at normal priority`)
  }
}
