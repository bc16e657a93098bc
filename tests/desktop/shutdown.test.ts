import type { Logger } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { installQuitHandler, type QuittableApp } from '../../src/main/desktop/shutdown.js'

/** Electron's app as far as quitting goes: before-quit listeners may hold the quit. */
function fakeApp() {
  const listeners: Array<(e: { preventDefault(): void }) => void> = []
  const exits: number[] = []
  let resolveExit: (code: number) => void = () => undefined
  const exited = new Promise<number>((r) => (resolveExit = r))
  const app: QuittableApp & { quit(): boolean } = {
    on: (_event, listener) => listeners.push(listener),
    exit: (code = 0) => {
      exits.push(code)
      resolveExit(code)
    },
    /** Returns whether the quit was held (Electron would otherwise exit at once). */
    quit: () => {
      let held = false
      for (const l of listeners) l({ preventDefault: () => (held = true) })
      return held
    },
  }
  return { app, exits, exited }
}

function fakeLogger() {
  const errors: unknown[][] = []
  const logger = { error: (...args: unknown[]) => errors.push(args), warn: () => undefined, info: () => undefined } as unknown as Logger
  return { logger, errors }
}

/** A step that finishes only when the test says so. */
function deferred() {
  let resolve: () => void = () => undefined
  let reject: (err: Error) => void = () => undefined
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

afterEach(() => vi.useRealTimers())

describe('quit', () => {
  it('holds the quit, stops HTTP, then closes the engine, then exits 0', async () => {
    const { app, exits, exited } = fakeApp()
    const order: string[] = []
    const http = deferred()
    installQuitHandler({
      app,
      logger: fakeLogger().logger,
      beforeShutdown: () => order.push('shell'),
      stopHttp: async () => {
        order.push('http:start')
        await http.promise
        order.push('http:done')
      },
      closeRuntime: async () => {
        order.push('runtime')
      },
    })
    expect(app.quit()).toBe(true)
    await Promise.resolve()
    // The engine waits for the HTTP server to be closed (no new crawl arrives while browsers go).
    expect(order).toEqual(['shell', 'http:start'])
    expect(exits).toEqual([])
    http.resolve()
    expect(await exited).toBe(0)
    expect(order).toEqual(['shell', 'http:start', 'http:done', 'runtime'])
  })

  it('a second Quit while closing starts no second shutdown and does not exit early', async () => {
    const { app, exits, exited } = fakeApp()
    const runtime = deferred()
    let httpStops = 0
    let runtimeCloses = 0
    installQuitHandler({
      app,
      logger: fakeLogger().logger,
      stopHttp: async () => void httpStops++,
      closeRuntime: async () => {
        runtimeCloses++
        await runtime.promise
      },
    })
    expect(app.quit()).toBe(true)
    await vi.waitFor(() => expect(runtimeCloses).toBe(1))
    expect(app.quit()).toBe(true)
    expect(app.quit()).toBe(true)
    expect(exits).toEqual([])
    runtime.resolve()
    expect(await exited).toBe(0)
    expect({ httpStops, runtimeCloses, exits }).toEqual({ httpStops: 1, runtimeCloses: 1, exits: [0] })
  })

  it('a failing step is logged, the engine is still closed, and the app still exits (code 1)', async () => {
    const { app, exited } = fakeApp()
    const { logger, errors } = fakeLogger()
    let closed = false
    installQuitHandler({
      app,
      logger,
      stopHttp: async () => {
        throw new Error('EADDRINUSE')
      },
      closeRuntime: async () => {
        closed = true
      },
    })
    app.quit()
    expect(await exited).toBe(1)
    expect(closed).toBe(true)
    expect(errors).toHaveLength(1)
    expect(String((errors[0]?.[0] as { err: Error }).err.message)).toBe('EADDRINUSE')
  })

  it('an engine close that never ends still exits after the timeout', async () => {
    vi.useFakeTimers()
    const { app, exits } = fakeApp()
    const { logger, errors } = fakeLogger()
    installQuitHandler({ app, logger, timeoutMs: 15_000, stopHttp: async () => undefined, closeRuntime: () => new Promise(() => undefined) })
    app.quit()
    await vi.advanceTimersByTimeAsync(14_999)
    expect(exits).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(exits).toEqual([1])
    expect(errors).toHaveLength(1)
  })
})
