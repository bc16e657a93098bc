import { ChildProcess } from 'node:child_process'
import { basename } from 'node:path'

/**
 * The unit lane's guard (installed by tests/helpers/unit-lane-setup.ts, the lane's set-up file):
 * a test there that would launch Chromium, a redis-server or a `serve` process fails at once,
 * saying which, instead of quietly making the lane slow or dependent on them. Every asynchronous
 * spawn (spawn, exec, execFile, fork, and Playwright's launch) goes through
 * ChildProcess.prototype.spawn.
 */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/chrom(e|ium)|headless[-_]shell/i, 'Chromium'],
  [/^redis-server$/, 'redis-server'],
  [/(^|\/)src\/main\/(serve|index)\.ts$|(^|\/)growth-server\.ts$/, 'crawldeck service process'],
]

/** The internal method every spawn ends in (not in Node's type definitions). */
interface Spawnable {
  spawn(this: ChildProcess, options: { file: string; args?: readonly string[] }): unknown
}
const proto = ChildProcess.prototype as unknown as Spawnable

/** Installs the guard unless it is in place; returns what removes it (nothing, if it was there already). */
export function installUnitLaneGuard(): () => void {
  const original = proto.spawn
  if ((original as { unitLaneGuard?: true }).unitLaneGuard) return () => {}
  const guarded = function guardedSpawn(this: ChildProcess, options: { file: string; args?: readonly string[] }) {
    const words = [options.file, ...(options.args ?? [])].map(String)
    for (const [pattern, what] of FORBIDDEN) {
      if (words.some((w) => pattern.test(w) || pattern.test(basename(w)))) {
        throw new Error(
          `the unit lane starts no ${what} (${words.join(' ')}): take this test out of tests/unit-lane.ts, it belongs to the full \`npm test\` only`,
        )
      }
    }
    return original.call(this, options)
  }
  proto.spawn = Object.assign(guarded, { unitLaneGuard: true as const })
  return () => {
    proto.spawn = original
  }
}
