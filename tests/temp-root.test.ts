import { chmodSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { claimTempRun, sweepDeadRuns } from '../src/main/core/system/temp-root.js'
import { descendants, serveDefaults, tempDir, waitExit, waitReady } from './helpers/serve-process.js'

/*
 * Temp folders live under one crawldeck-owned root, one folder per run, and a start removes the
 * runs of processes that are gone: a SIGKILLed service no longer leaves Chromium profiles and
 * Playwright folders in /tmp for ever.
 */

const uid = process.getuid?.() ?? 0
const runsIn = (root: string) => readdirSync(root).filter((n) => n.startsWith('run-'))

describe('the temp root', () => {
  it('a SIGKILLed service leaves its run folder; the next start removes it, and a clean stop removes its own', async () => {
    const base = tempDir()
    const root = path.join(base, `crawldeck-${uid}`)
    const first = serveDefaults([], { TMPDIR: base })
    const { url } = await waitReady(first)
    const crawl = await fetch(`${url}/md`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${url}/dashboard/` }),
    })
    await crawl.arrayBuffer()
    // Everything temporary went into the run folder: nothing of Playwright's or Chromium's beside it.
    // (tsx, the test's loader, keeps its cache there before crawldeck starts: not ours.)
    expect(readdirSync(base).filter((n) => !n.startsWith('tsx-'))).toEqual([`crawldeck-${uid}`])
    const [run] = runsIn(root)
    expect(run).toMatch(new RegExp(`^run-${first.pid}-`))
    const inside = readdirSync(path.join(root, run as string))
    expect(inside.some((n) => n.startsWith('playwright'))).toBe(true)

    const browsers = descendants(first.pid)
    process.kill(first.pid, 'SIGKILL')
    await waitExit(first)
    // Its browsers go with their pipe; wait until they have, so the folder is truly left behind.
    for (const pid of browsers) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    expect(runsIn(root)).toEqual([run])

    const second = serveDefaults([], { TMPDIR: base })
    await waitReady(second)
    const now = runsIn(root)
    expect(now).not.toContain(run)
    expect(now).toHaveLength(1)
    expect(second.stderr).toMatch(/removed 1 temp folder/)
    second.child.kill('SIGTERM')
    expect((await waitExit(second)).code).toBe(0)
    expect(runsIn(root)).toEqual([])
  }, 120_000)

  it("keeps the runs of live processes and fresh folders without an owner; removes a dead PID's and stale unowned ones", () => {
    const base = tempDir()
    const saved = process.env.TMPDIR
    const mine = claimTempRun(base)
    try {
      const root = mine.root
      mkdirSync(path.join(root, 'run-dead'))
      writeFileSync(path.join(root, 'run-dead', 'owner.json'), JSON.stringify({ pid: 2 ** 22 + 12345, started: null }))
      mkdirSync(path.join(root, 'run-reused'))
      // This very process's PID, but another start time: the PID was reused, the owner is gone.
      writeFileSync(path.join(root, 'run-reused', 'owner.json'), JSON.stringify({ pid: process.pid, started: '1' }))
      mkdirSync(path.join(root, 'run-starting'))
      mkdirSync(path.join(root, 'run-stale'))
      const old = new Date(Date.now() - 3600_000)
      utimesSync(path.join(root, 'run-stale'), old, old)
      const removed = sweepDeadRuns(root)
        .map((d) => path.basename(d))
        .sort()
      expect(removed).toEqual(process.platform === 'linux' ? ['run-dead', 'run-reused', 'run-stale'] : ['run-dead', 'run-stale'])
      expect(runsIn(root)).toContain(path.basename(mine.dir))
      expect(runsIn(root)).toContain('run-starting')
      expect(process.env.TMPDIR).toBe(mine.dir)
    } finally {
      mine.remove()
      if (saved === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = saved
    }
  })

  it('refuses a root that is a link or open to others', () => {
    const base = tempDir()
    const elsewhere = path.join(base, 'elsewhere')
    mkdirSync(elsewhere)
    symlinkSync(elsewhere, path.join(base, `crawldeck-${uid}`))
    expect(() => claimTempRun(base)).toThrow(/is a symbolic link/)
    const open = tempDir()
    mkdirSync(path.join(open, `crawldeck-${uid}`), { mode: 0o777 })
    // mkdir's mode is cut by the umask: make it open for real.
    chmodSync(path.join(open, `crawldeck-${uid}`), 0o777)
    expect(() => claimTempRun(open)).toThrow(/open to other users/)
  })
})
