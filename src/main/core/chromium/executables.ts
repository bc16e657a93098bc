import type { ChromiumBinaries } from './locate.js'
import { chromiumExecutable, type ChromiumExecutable } from './priority.js'

/** One binary the pool can launch: the real path (for messages) and what playwright spawns. */
export interface PoolBinary {
  readonly path: string
  /** The binary itself, or the wrapper that runs it niced (priority.ts). */
  readonly launchPath: string
}

/** The pool's launchable binaries: headless browsers run one, headed browsers (if any) the other. */
export interface PoolExecutables {
  readonly headless: PoolBinary
  /** Null when only a headless shell is installed: a headed browser_config then fails with a clear error. */
  readonly headed: PoolBinary | null
  /** The niceness browsers actually run at. */
  readonly nice: number
  readonly warning: string | null
  /** Remove the wrappers. Idempotent. */
  dispose(): void
}

/** The niced wrappers for the located binaries: one per distinct binary. */
export function poolExecutables(binaries: ChromiumBinaries, nice: number): PoolExecutables {
  const headless = chromiumExecutable(binaries.headless, nice)
  const headedPath = binaries.headed
  const headed: ChromiumExecutable | null = headedPath === null ? null : headedPath === binaries.headless ? headless : chromiumExecutable(headedPath, nice)
  return {
    headless: { path: binaries.headless, launchPath: headless.launchPath },
    headed: headedPath === null || headed === null ? null : { path: headedPath, launchPath: headed.launchPath },
    nice: headless.nice,
    warning: headless.warning,
    dispose() {
      headless.dispose()
      headed?.dispose()
    },
  }
}
