import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { chromiumExecutable } from '../src/main/core/chromium/priority.js'
import { processTree } from '../src/main/core/system/process-tree.js'
import { TestScope } from './helpers/service.js'

/*
 * Browsers run niced so the service's own work (API answers, the monitor, Playwright's messages)
 * gets a core first when the renderers fill them all. Checked on the real processes: every thread
 * of every process of the browser, and the browser's scheduling autogroup where the kernel has one.
 */

const scope = new TestScope(() => {
  throw new Error('no fixture server in this file')
})
afterEach(() => scope.closeAll())

/** Niceness of every thread of every process in the browser's tree (field 19 of /proc/<pid>/task/<tid>/stat). */
async function threadNiceness(rootPid: number): Promise<number[]> {
  const out: number[] = []
  for (const pid of await processTree(rootPid)) {
    let tids: string[]
    try {
      tids = readdirSync(`/proc/${pid}/task`)
    } catch {
      continue // exited since the scan
    }
    for (const tid of tids) {
      let stat: string
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1')
      } catch {
        continue
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.push(Number(fields[16])) // state is field 3 → index 0, so nice (field 19) is index 16
    }
  }
  return out
}

function autogroupNice(pid: number): number | null {
  const file = `/proc/${pid}/autogroup`
  if (!existsSync(file)) return null
  const m = /nice\s+(-?\d+)/.exec(readFileSync(file, 'utf8'))
  return m ? Number(m[1]) : null
}

describe('chromium_nice', () => {
  it('writes an exec wrapper that quotes the binary path, and removes it on dispose', () => {
    const exe = chromiumExecutable("/opt/my chrome/it's here", 7)
    try {
      expect(exe.nice).toBe(7)
      expect(exe.launchPath).not.toBe("/opt/my chrome/it's here")
      const script = readFileSync(exe.launchPath, 'utf8')
      expect(script).toMatch(/^#!\/bin\/sh\n/)
      expect(script).toContain(` -n 7 '/opt/my chrome/it'\\''s here' "$@"`)
      expect(script).toMatch(/\nexec /)
    } finally {
      exe.dispose()
    }
    expect(existsSync(exe.launchPath)).toBe(false)
  })

  it('0 launches the binary itself', () => {
    const exe = chromiumExecutable('/usr/bin/chromium', 0)
    expect(exe).toMatchObject({ launchPath: '/usr/bin/chromium', nice: 0, warning: null })
  })

  it('every thread of the running browser runs at the configured niceness, and so does its autogroup', async () => {
    const svc = await scope.serve({ chromium_nice: 7 })
    const pid = svc.runtime.pool.permanent()?.pid
    expect(pid).toBeTypeOf('number')
    const nices = await threadNiceness(pid as number)
    expect(nices.length).toBeGreaterThan(5)
    // Chromium sets its own threads' priority (0, or -8 for its UI threads); running as root it
    // would succeed without the capability drop, so a single thread off 7 is a failure.
    expect(new Set(nices)).toEqual(new Set([7]))
    const group = autogroupNice(pid as number)
    if (group !== null) expect(group).toBe(7)
    // The PID the pool tracks is Chromium itself, not the wrapper shell (exec keeps the PID).
    expect(readFileSync(`/proc/${pid}/cmdline`, 'latin1')).toMatch(/chrom/)
  })

  it('with 0 the browser keeps the service priority', async () => {
    const svc = await scope.serve({ chromium_nice: 0 })
    const pid = svc.runtime.pool.permanent()?.pid as number
    const nices = await threadNiceness(pid)
    expect(nices).not.toContain(7)
    expect(Math.max(...nices)).toBeLessThanOrEqual(0)
  })
})
