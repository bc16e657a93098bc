import { EventEmitter } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { openLogFile, type LogFile } from '../../src/main/core/log-file.js'
import pino from 'pino'
import { silentLogger } from '../../src/main/core/logger.js'
import { handleMainErrors, watchChildProcesses, watchRenderer, type ErrorSource, type Report } from '../../src/main/desktop/crash-handling.js'
import { electronModule, fake, FakeBrowserWindow, resetFake } from './electron-fake.js'

vi.mock('electron', async () => (await import('./electron-fake.js')).electronModule)

/* Crash handling on the desktop path, with the fake firing Electron's events. */

let dir: string
let logFile: LogFile
beforeEach(() => {
  resetFake()
  dir = mkdtempSync(join(tmpdir(), 'crawldeck-crash-'))
  logFile = openLogFile({ dir })
})
afterEach(async () => {
  await logFile.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The app's logger writes to stderr too (tests/desktop/log-file.test.ts); here only the file matters. */
const fileLogger = () => pino({ level: 'info', base: { service: 'crawldeck' } }, logFile.stream)

/** The log file's lines, once everything written so far is on disk. */
async function logLines(): Promise<Array<Record<string, any>>> {
  await logFile.close()
  return readFileSync(logFile.path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

function renderer(opts: { maxReloads?: number } = {}) {
  const win = new FakeBrowserWindow({})
  const reports: Report[] = []
  const quits: number[] = []
  const c = clock()
  watchRenderer(win as never, {
    logger: fileLogger(),
    report: (r) => reports.push(r),
    dialog: electronModule.dialog as never,
    quit: () => quits.push(1),
    now: c.now,
    ...opts,
  })
  return { win, reports, quits, clock: c }
}

describe('a gone renderer', () => {
  it('is logged, reported and reloaded', async () => {
    const { win, reports } = renderer()
    win.webContents.processGone('crashed', 139)
    expect(win.webContents.reloads).toBe(1)
    expect(reports).toEqual([{ title: 'The crawldeck window crashed', body: expect.stringContaining('Reason: crashed') }])
    const lines = await logLines()
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, msg: 'the window renderer is gone', reason: 'crashed', exit_code: 139 }))
  })

  it('is reloaded at most 3 times a minute; then a dialog asks, and its choices work', async () => {
    const { win, reports, quits, clock: c } = renderer()
    for (let i = 0; i < 3; i++) win.webContents.processGone('oom')
    expect(win.webContents.reloads).toBe(3)
    // The 4th within the minute: no reload, the dialog instead (answered "Reload").
    fake.answerMessageBox = () => 0
    win.webContents.processGone('oom')
    expect(win.webContents.reloads).toBe(3)
    expect(fake.messageBoxes).toHaveLength(1)
    expect(fake.messageBoxes[0]!.window).toBe(win)
    expect(fake.messageBoxes[0]!.options).toMatchObject({
      type: 'error',
      message: 'The crawldeck window keeps crashing',
      buttons: ['Reload', 'Close window', 'Quit crawldeck'],
    })
    expect(fake.messageBoxes[0]!.options.detail).toContain('crashed 4 times within a minute (last reason: oom)')
    await vi.waitFor(() => expect(win.webContents.reloads).toBe(4))
    expect(reports).toHaveLength(3)
    // "Reload" started the count again: 2 more crashes reload on their own, the 3rd... and a
    // minute later the old ones no longer count.
    win.webContents.processGone('crashed')
    win.webContents.processGone('crashed')
    expect(win.webContents.reloads).toBe(6)
    c.advance(60_000)
    win.webContents.processGone('crashed')
    expect(win.webContents.reloads).toBe(7)
    // Past the limit again, answered "Quit crawldeck".
    win.webContents.processGone('crashed')
    win.webContents.processGone('crashed')
    fake.answerMessageBox = () => 2
    win.webContents.processGone('crashed')
    await vi.waitFor(() => expect(quits).toEqual([1]))
    expect(win.webContents.reloads).toBe(9)
    const lines = await logLines()
    expect(lines.filter((l) => l.msg === 'the window keeps crashing: no more reloads without asking')).toHaveLength(2)
  })

  it('"Close window" destroys the window (the app keeps running in the tray)', async () => {
    const { win } = renderer({ maxReloads: 0 })
    fake.answerMessageBox = () => 1
    win.webContents.processGone('crashed')
    await vi.waitFor(() => expect(win.destroyed).toBe(true))
    expect(win.webContents.reloads).toBe(0)
  })

  it('a clean exit or a closed window is no crash: no reload, no report', async () => {
    const { win, reports } = renderer()
    win.webContents.processGone('clean-exit', 0)
    expect(win.webContents.reloads).toBe(0)
    win.destroy()
    win.webContents.processGone('killed')
    expect(win.webContents.reloads).toBe(0)
    expect(reports).toEqual([])
    expect((await logLines()).every((l) => l.level === 30)).toBe(true)
  })
})

describe('gone helper processes', () => {
  it('are logged: an error for a crash, info for a clean exit', async () => {
    watchChildProcesses(fake.app as never, fileLogger())
    fake.app.emit('child-process-gone', {}, { type: 'GPU', reason: 'crashed', exitCode: 11, name: 'GPU' })
    fake.app.emit('child-process-gone', {}, { type: 'Utility', reason: 'clean-exit', exitCode: 0, serviceName: 'network.mojom.NetworkService' })
    const lines = await logLines()
    expect(lines).toEqual([
      expect.objectContaining({ level: 50, msg: 'a helper process is gone', type: 'GPU', reason: 'crashed', exit_code: 11 }),
      expect.objectContaining({ level: 30, msg: 'a helper process exited', type: 'Utility', service_name: 'network.mojom.NetworkService' }),
    ])
  })
})

describe('errors nothing caught in the main process', () => {
  function setup() {
    const source = new EventEmitter()
    const shutdowns: number[] = []
    const c = clock()
    const dispose = handleMainErrors({
      source: source as unknown as ErrorSource,
      logger: fileLogger(),
      dialog: electronModule.dialog as never,
      shutdown: async (code) => void shutdowns.push(code),
      logFile: logFile.path,
      now: c.now,
    })
    return { source, shutdowns, clock: c, dispose }
  }

  it('an uncaught exception is logged to the file, shown, and quits through the orderly shutdown (exit 1), once', async () => {
    const { source, shutdowns } = setup()
    source.emit('uncaughtException', new Error('boom in main'), 'uncaughtException')
    expect(fake.errorBoxes).toEqual([
      { title: 'crawldeck hit an unexpected error and quits', content: `boom in main\n\nThe details are in the log file: ${logFile.path}` },
    ])
    expect(shutdowns).toEqual([1])
    // Another one while quitting: logged, no second box.
    source.emit('uncaughtException', new Error('and another'), 'uncaughtException')
    expect(fake.errorBoxes).toHaveLength(1)
    const lines = await logLines()
    expect(lines[0]).toMatchObject({ level: 60, msg: 'uncaught exception in the main process: crawldeck quits', err: { message: 'boom in main' } })
    expect(lines[0]!.err.stack).toContain('boom in main')
    expect(lines[1]).toMatchObject({ level: 50, err: { message: 'and another' } })
  })

  it('an unhandled rejection is logged and shown without blocking, at most once a minute; the app keeps running', async () => {
    const { source, shutdowns, clock: c, dispose } = setup()
    source.emit('unhandledRejection', new Error('nobody awaited me'))
    source.emit('unhandledRejection', 'a plain string')
    expect(fake.messageBoxes).toHaveLength(1)
    expect(fake.messageBoxes[0]!.options).toMatchObject({ type: 'error', message: 'crawldeck hit an unexpected error' })
    expect(fake.messageBoxes[0]!.options.detail).toContain('nobody awaited me\n\ncrawldeck keeps running.')
    c.advance(60_000)
    source.emit('unhandledRejection', new Error('later'))
    expect(fake.messageBoxes).toHaveLength(2)
    expect(fake.errorBoxes).toEqual([])
    expect(shutdowns).toEqual([])
    const lines = await logLines()
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'unhandled promise rejection in the main process'],
      [50, 'unhandled promise rejection in the main process'],
      [50, 'unhandled promise rejection in the main process'],
    ])
    dispose()
    expect(source.listenerCount('uncaughtException') + source.listenerCount('unhandledRejection')).toBe(0)
  })

  it('a dialog that fails does not stop the shutdown', () => {
    const source = new EventEmitter()
    const shutdowns: number[] = []
    handleMainErrors({
      source: source as unknown as ErrorSource,
      logger: silentLogger(),
      dialog: {
        showErrorBox: () => {
          throw new Error('no display')
        },
        showMessageBox: () => Promise.reject(new Error('no display')),
      } as never,
      shutdown: async (code) => void shutdowns.push(code),
    })
    source.emit('unhandledRejection', new Error('x'))
    source.emit('uncaughtException', new Error('y'), 'uncaughtException')
    expect(shutdowns).toEqual([1])
  })
})
