import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import vm from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BRIDGE_GLOBAL, IPC_CHANNELS } from '../../src/shared/ipc.js'
import { buildShipped, type ShippedBuild } from './shipped-build.js'

/*
 * The preload that ships (out/preload/index.cjs from `electron-vite build`), run the way Electron
 * runs a sandboxed preload: in a context of its own, wrapped in a function that gets only what the
 * sandbox gives: a require that knows 'electron' (contextBridge, ipcRenderer), 'events', 'timers'
 * and 'url' and nothing else, a small `process`, Buffer, global and the immediates. No fs, no
 * child_process, no __dirname. It must load there and expose the bridge and nothing more.
 */

let build: ShippedBuild
let source: string

beforeAll(async () => {
  build = await buildShipped('crawldeck-shipped-preload-')
  source = readFileSync(join(build.out, 'preload/index.cjs'), 'utf8')
}, 180_000)

afterAll(() => build?.remove())

const nodeRequire = createRequire(import.meta.url)
/** The modules a sandboxed preload may require besides 'electron' (Electron's sandbox list). */
const SANDBOX_MODULES = ['events', 'timers', 'url'] as const

interface Run {
  exposed: Array<{ key: string; api: any }>
  invoked: Array<{ channel: string; args: unknown[] }>
  sent: Array<{ channel: string; args: unknown[] }>
  required: string[]
  /** `process` properties the preload read that the sandbox does not have. */
  missingProcess: string[]
  context: vm.Context
}

/** Runs the preload source in a sandbox-like context; `electron` false: the module is missing. */
function runPreload(code: string, opts: { electron?: boolean } = {}): Run {
  const run: Run = { exposed: [], invoked: [], sent: [], required: [], missingProcess: [], context: vm.createContext({ console }) }
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>()
  const ipcRenderer = {
    invoke: (channel: string, ...args: unknown[]) => {
      run.invoked.push({ channel, args })
      return Promise.resolve({ ok: true, data: { echoed: channel } })
    },
    send: (channel: string, ...args: unknown[]) => void run.sent.push({ channel, args }),
    on: (channel: string, fn: (...args: unknown[]) => void) => {
      listeners.set(channel, (listeners.get(channel) ?? new Set()).add(fn))
      return ipcRenderer
    },
    removeListener: (channel: string, fn: (...args: unknown[]) => void) => {
      listeners.get(channel)?.delete(fn)
      return ipcRenderer
    },
    emit: (channel: string, payload: unknown) => {
      for (const fn of listeners.get(channel) ?? []) fn({ sender: ipcRenderer }, payload)
    },
  }
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => void run.exposed.push({ key, api }) },
    ipcRenderer,
  }
  const sandboxRequire = (name: string) => {
    run.required.push(name)
    if (name === 'electron' && opts.electron !== false) return electron
    if ((SANDBOX_MODULES as readonly string[]).includes(name)) return nodeRequire(name)
    throw new Error(`module not found: ${name}`)
  }
  // What Electron's sandboxed `process` has (a subset of Node's): no binding, no dlopen, no cwd.
  const processSubset: Record<string, unknown> = {
    platform: process.platform,
    arch: process.arch,
    type: 'renderer',
    sandboxed: true,
    contextIsolated: true,
    isMainFrame: true,
    versions: { ...process.versions },
    env: {},
    argv: [],
    execPath: '/opt/crawldeck/crawldeck',
    pid: 1,
    on: () => undefined,
    once: () => undefined,
    removeListener: () => undefined,
    nextTick: (fn: () => void) => queueMicrotask(fn),
  }
  const sandboxProcess = new Proxy(processSubset, {
    get(target, prop) {
      if (typeof prop === 'string' && !(prop in target)) run.missingProcess.push(prop)
      return target[prop as string]
    },
  })
  const exports = {}
  const module = { exports }
  // Electron's wrapper for a sandboxed preload: these arguments are all it gets.
  const wrapped = vm.runInContext(`(function (exports, require, module, process, Buffer, global, setImmediate, clearImmediate) {${code}\n})`, run.context, {
    filename: 'preload/index.cjs',
  }) as (...args: unknown[]) => void
  wrapped(exports, sandboxRequire, module, sandboxProcess, Buffer, run.context, setImmediate, clearImmediate)
  ;(run as Run & { ipc: typeof ipcRenderer }).ipc = ipcRenderer
  return run
}

describe('the shipped preload in a sandbox-like vm context', () => {
  it("requires nothing but 'electron' and the sandbox's own modules", () => {
    const requires = [...source.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1])
    expect(requires.length).toBeGreaterThan(0)
    for (const name of requires) expect(['electron', ...SANDBOX_MODULES], String(name)).toContain(name)
    // A sandboxed preload has no ES modules and no import().
    expect(source).not.toMatch(/^\s*import\s|\bimport\(/m)
  })

  it('loads, and exposes exactly the bridge: one frozen object of the six functions', async () => {
    const run = runPreload(source)
    expect(run.missingProcess).toEqual([])
    expect(run.exposed.map((e) => e.key)).toEqual([BRIDGE_GLOBAL])
    const api = run.exposed[0]?.api as Record<string, unknown>
    expect(Object.keys(api).sort()).toEqual(['appInfo', 'call', 'cancel', 'onAppCommand', 'stream', 'subscribeLive'])
    for (const fn of Object.values(api)) expect(typeof fn).toBe('function')
    expect(Object.isFrozen(api)).toBe(true)
    // No ipcRenderer, channel names or electron module leak out through the API or onto the global.
    expect(JSON.stringify(Object.getOwnPropertyNames(run.context))).not.toMatch(/ipc|electron|crawldeck/i)
    // The functions really go over IPC: a call is one invoke on the call channel.
    await expect((api.call as (op: string, input: unknown) => Promise<unknown>)('monitorHealth', {})).resolves.toEqual({
      ok: true,
      data: { echoed: IPC_CHANNELS.call },
    })
    expect(run.invoked).toEqual([{ channel: IPC_CHANNELS.call, args: [{ op: 'monitorHealth', input: {} }] }])
    // Listeners get the payload only, never the event (whose `sender` is ipcRenderer).
    const got: unknown[] = []
    ;(api.onAppCommand as (fn: (c: unknown) => void) => void)((...args) => got.push(args))
    ;(run as Run & { ipc: { emit(c: string, p: unknown): void } }).ipc.emit(IPC_CHANNELS.appCommand, { type: 'navigate', view: 'monitor' })
    expect(got).toEqual([[{ type: 'navigate', view: 'monitor' }]])
  })

  it('refuses to work without its modules: a missing electron fails the load, and so does any other require', () => {
    expect(() => runPreload(source, { electron: false })).toThrow(/module not found: electron/)
    // The sandbox check bites: the same code asking for fs is refused.
    expect(() => runPreload(`require('fs')\n${source}`)).toThrow(/module not found: fs/)
    // And nothing of Node's outside the wrapper arguments is there: no __dirname, no global require.
    expect(() =>
      runPreload(`if (typeof __dirname !== 'undefined' || typeof globalThis.require !== 'undefined') throw new Error('node leaked')\n${source}`),
    ).not.toThrow()
  })
})
