import pino from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { startDesktop } from '../../src/main/desktop/desktop-app.js'
import { rootRefusal } from '../../src/main/desktop/root-refusal.js'
import { fake, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

/*
 * The desktop app never runs as root (its browsers could not be sandboxed): it says why in a
 * dialog and the log and exits 1 before it starts anything. Electron is faked; the refusal comes
 * before any engine would start, so nothing else is needed.
 */

const ROOT_LINUX = { uid: 0, platform: 'linux' } as const

function start(identity?: { uid: number | undefined; platform: NodeJS.Platform }) {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
  const started = startDesktop({
    logger,
    preload: '/p.cjs',
    rendererDir: '/app/out/renderer',
    trayIcon: '/none.png',
    ...(identity ? { identity } : {}),
    config: { launch_permanent: false },
  })
  return { started, lines }
}

describe('rootRefusal', () => {
  it('refuses root on Linux, macOS and other Unix-likes, and nobody else', () => {
    for (const platform of ['linux', 'darwin', 'freebsd'] as const) {
      expect(rootRefusal({ uid: 0, platform }), platform).toMatch(/does not run as root.*ordinary user account/)
    }
    expect(rootRefusal({ uid: 1000, platform: 'linux' })).toBeNull()
    expect(rootRefusal({ uid: 501, platform: 'darwin' })).toBeNull()
    expect(rootRefusal({ uid: undefined, platform: 'win32' })).toBeNull()
  })
})

describe('startDesktop as root', () => {
  it('shows why, logs it, exits 1, and starts nothing: no lock, no engine, no window', async () => {
    resetFake()
    const { started, lines } = start(ROOT_LINUX)
    expect(await started).toBeNull()
    expect(fake.errorBoxes).toEqual([{ title: 'crawldeck cannot run as root', content: rootRefusal(ROOT_LINUX) }])
    expect(await fake.app.exited).toBe(1)
    expect(fake.app.callsOf('exit')).toEqual([[1]])
    expect(fake.app.callsOf('requestSingleInstanceLock')).toEqual([])
    expect(fake.windows).toHaveLength(0)
    expect(fake.trays).toHaveLength(0)
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string })
    expect(logged).toEqual([expect.objectContaining({ level: 50, msg: rootRefusal(ROOT_LINUX) })])
  })

  it('decides from the real process when not told otherwise', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('this test process is not root: there is no real root to refuse')
    resetFake()
    const { started } = start()
    expect(await started).toBeNull()
    expect(fake.errorBoxes).toHaveLength(1)
    expect(await fake.app.exited).toBe(1)
  })
})
