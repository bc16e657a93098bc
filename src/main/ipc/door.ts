import type { CrawlBatch } from '../../shared/api-types.js'
import { contract, type CallContext, type OperationName } from '../../shared/contract.js'
import { IPC_CHANNELS, type IpcError, type IpcResult, type IpcStreamLine, type IpcStreamOutcome, type LiveEnded } from '../../shared/ipc.js'
import type { LiveMessage } from '../../shared/monitor-types.js'
import { plainJson } from '../../shared/raw-json.js'
import { describeError } from '../core/error-body.js'
import { AbortedError, ConflictError, CrawldeckError } from '../core/errors.js'
import { collectBatch } from '../core/service/batch-results.js'
import { LiveWindow } from './live-window.js'
import { checkJsonValue, operationFor, parseInput, readEnvelope, readId, routeOf, type IpcRoute } from './messages.js'
import type { IpcDoorDeps, IpcEventLike, IpcListener, WebContentsLike } from './types.js'

/*
 * The IPC door: the ipcMain handlers that serve the contract to the Electron window, with the
 * same service, input schemas and error shapes as the HTTP door.
 */

const DEFAULT_MAX_INPUT_BYTES = 1024 * 1024

export interface IpcDoor {
  /** Remove every handler, abort every call still running and end every live feed. */
  dispose(): void
}

/** What one window has running: calls by id (cancel and window close abort them) and its live feed. */
interface WindowState {
  sender: WebContentsLike
  calls: Map<string, AbortController>
  live: LiveWindow | null
  onDestroyed: () => void
}

class SenderRefusedError extends CrawldeckError {
  constructor(url: string | null) {
    super(403, 'forbidden_sender', url === null ? 'the sending frame is gone or has no URL' : 'this frame may not talk to crawldeck')
  }
}

/** Which channel serves each operation of the contract, generated from it. */
export function ipcRoutes(): Record<OperationName, IpcRoute> {
  return Object.fromEntries((Object.keys(contract) as OperationName[]).map((name) => [name, routeOf(contract[name])])) as Record<OperationName, IpcRoute>
}

/**
 * The IPC door: the same contract and service as the Koa door, for the Electron window. json,
 * batch (its results gathered into one answer) and text operations answer on `call`, ndjson
 * ones push lines and answer on `stream`, the live operation pushes LiveMessages on `live`.
 * Every message is checked (sender frame URL, envelope, input with the HTTP door's schemas) and
 * every outcome is an IpcResult: nothing thrown here crosses the boundary, and a failure reads
 * the same status/code/message as over HTTP.
 */
export function registerIpcDoor(deps: IpcDoorDeps): IpcDoor {
  const { ipcMain, service, live, isAllowedSender, logger } = deps
  const maxBytes = deps.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES
  const routes = ipcRoutes()
  const liveOp = (Object.keys(routes) as OperationName[]).find((name) => routes[name] === 'live')
  const windows = new Map<number, WindowState>()
  const loggedRefusals = new WeakSet<object>()
  let anonymousCalls = 0
  let disposed = false

  /** The sending frame's URL; null when it is gone, or is a subframe (the app never embeds frames). */
  function frameUrlOf(event: IpcEventLike): string | null {
    try {
      const frame = event.senderFrame
      if (!frame || (frame.parent !== undefined && frame.parent !== null)) return null
      const url = frame.url
      return typeof url === 'string' && url !== '' ? url : null
    } catch {
      // Electron throws when the frame was disposed between the send and now.
      return null
    }
  }

  /** The sender's window, once its frame URL passed the check; refuses with 403 otherwise. */
  function admit(event: IpcEventLike, channel: string): WindowState {
    if (disposed) throw new CrawldeckError(503, 'shutting_down', 'the service is shutting down')
    const url = frameUrlOf(event)
    let allowed: boolean
    try {
      allowed = url !== null && isAllowedSender(url)
    } catch {
      allowed = false
    }
    const sender = event?.sender
    if (!allowed || !sender || typeof sender.id !== 'number' || sender.isDestroyed()) {
      // Once per window: a hostile page sending in a loop must not flood the log.
      if (sender && typeof sender === 'object' && !loggedRefusals.has(sender)) {
        loggedRefusals.add(sender)
        logger.warn({ channel, frame_url: url?.slice(0, 200) ?? null }, 'IPC message from a refused sender')
      }
      throw new SenderRefusedError(url)
    }
    let state = windows.get(sender.id)
    if (!state) {
      const created: WindowState = { sender, calls: new Map(), live: null, onDestroyed: () => closeWindow(sender.id) }
      state = created
      windows.set(sender.id, created)
      sender.once('destroyed', created.onDestroyed)
    }
    return state
  }

  function closeWindow(id: number): void {
    const state = windows.get(id)
    if (!state) return
    windows.delete(id)
    for (const controller of state.calls.values()) controller.abort()
    state.calls.clear()
    state.live?.stop()
    state.live = null
  }

  function push(state: WindowState, channel: string, payload: IpcStreamLine | LiveMessage | LiveEnded): boolean {
    if (disposed || state.sender.isDestroyed()) return false
    try {
      state.sender.send(channel, payload)
      return true
    } catch (err) {
      logger.warn({ err, channel }, 'IPC push to a window failed')
      return false
    }
  }

  function toIpcError(err: unknown, where: Record<string, unknown>): IpcError {
    const outcome = describeError(err, logger, { door: 'ipc', ...where })
    const error: IpcError = { status: outcome.status, code: outcome.code, message: outcome.message }
    if (outcome.details !== undefined) error.details = outcome.details
    return error
  }

  async function settle<T>(where: Record<string, unknown>, work: () => Promise<T>): Promise<IpcResult<T>> {
    try {
      return { ok: true, value: await work() }
    } catch (err) {
      return { ok: false, error: toIpcError(err, where) }
    }
  }

  /** A CallContext whose signal aborts on cancel(id) or when the window goes; `release` forgets it. */
  function track(state: WindowState, id: string | null): { ctx: CallContext; release: () => void } {
    // Anonymous calls still need a key so that closing the window aborts them.
    // (':' cannot start a renderer-chosen id, so the two never collide.)
    const key = id ?? `:anonymous:${++anonymousCalls}`
    if (state.calls.has(key)) throw new ConflictError(`a call with id ${JSON.stringify(id)} is already running`)
    const controller = new AbortController()
    state.calls.set(key, controller)
    return {
      ctx: { signal: controller.signal, transport: 'ipc' },
      release: () => {
        if (state.calls.get(key) === controller) state.calls.delete(key)
      },
    }
  }

  async function onCall(event: IpcEventLike, payload: unknown): Promise<IpcResult> {
    const where: Record<string, unknown> = { channel: IPC_CHANNELS.call }
    return settle(where, async () => {
      const state = admit(event, IPC_CHANNELS.call)
      const message = readEnvelope(payload, ['op', 'input', 'id'], maxBytes)
      where.op = typeof message.op === 'string' ? message.op.slice(0, 100) : null
      const name = operationFor(message.op, 'call')
      const input = parseInput(name, message.input)
      const { ctx, release } = track(state, readId(message.id, false))
      try {
        const impl = service[name] as (input: unknown, ctx: CallContext) => Promise<unknown>
        let value: unknown
        try {
          value = await impl(input, ctx)
          // A window asks for the whole answer at once: the results are gathered here.
          if (contract[name].response === 'batch') value = await collectBatch(value as CrawlBatch)
        } catch (err) {
          // Whatever the engine raised on the way out, a cancelled call reads as cancelled.
          if (!ctx.signal.aborted) throw err
        }
        if (ctx.signal.aborted) throw new AbortedError()
        return value
      } finally {
        release()
      }
    })
  }

  async function onStream(event: IpcEventLike, payload: unknown): Promise<IpcStreamOutcome> {
    let lines = 0
    const where: Record<string, unknown> = { channel: IPC_CHANNELS.stream }
    const result = await settle(where, async () => {
      const state = admit(event, IPC_CHANNELS.stream)
      const message = readEnvelope(payload, ['op', 'input', 'id'], maxBytes)
      where.op = typeof message.op === 'string' ? message.op.slice(0, 100) : null
      const name = operationFor(message.op, 'stream')
      const id = readId(message.id, true) as string
      const input = parseInput(name, message.input)
      const { ctx, release } = track(state, id)
      try {
        const impl = service[name] as (input: unknown, ctx: CallContext) => Promise<AsyncIterable<unknown>>
        try {
          const source = await impl(input, ctx)
          for await (const item of source) {
            if (ctx.signal.aborted) break
            // A window gets objects: a cache hit still in its stored JSON is parsed here.
            if (!push(state, IPC_CHANNELS.streamLine, { id, line: plainJson(item) })) break
            lines++
          }
        } catch (err) {
          // Whatever the engine raised on the way out, a cancelled stream reads as cancelled.
          if (!ctx.signal.aborted) throw err
        }
        if (ctx.signal.aborted) throw new AbortedError()
        return null
      } finally {
        release()
      }
    })
    return { ...result, lines }
  }

  const onCancel: IpcListener = (event, payload) => {
    try {
      const state = admit(event, IPC_CHANNELS.cancel)
      const id = readId(readEnvelope(payload, ['id'], maxBytes).id, true) as string
      state.calls.get(id)?.abort()
    } catch (err) {
      if (!(err instanceof SenderRefusedError)) logger.warn({ err, channel: IPC_CHANNELS.cancel }, 'IPC message refused')
    }
  }

  const onLiveStart: IpcListener = (event, payload) => {
    try {
      const state = admit(event, IPC_CHANNELS.liveStart)
      if (!liveOp) throw new CrawldeckError(404, 'unknown_operation', 'the contract has no live operation')
      // The live operation's own input schema: the same one GET /monitor/stream checks.
      if (payload !== undefined) checkLiveInput(payload)
      // A second start (a resubscribe) replaces the feed, so it opens with a fresh snapshot.
      state.live?.stop()
      const window = new LiveWindow(live.subscribe(), (message) => {
        if (state.live === window) push(state, IPC_CHANNELS.live, message)
      })
      state.live = window
      window.done.catch((err: unknown) => logger.warn({ err }, 'IPC live feed failed'))
    } catch (err) {
      if (!(err instanceof SenderRefusedError)) logger.warn({ err, channel: IPC_CHANNELS.liveStart }, 'IPC message refused')
    }
  }

  function checkLiveInput(payload: unknown): void {
    checkJsonValue(payload, maxBytes)
    parseInput(liveOp as OperationName, payload)
  }

  const onLiveStop: IpcListener = (event) => {
    try {
      const state = admit(event, IPC_CHANNELS.liveStop)
      state.live?.stop()
      state.live = null
    } catch {
      // refused senders are logged by admit
    }
  }

  const onLiveAck: IpcListener = (event) => {
    try {
      admit(event, IPC_CHANNELS.liveAck).live?.ack()
    } catch {
      // refused senders are logged by admit
    }
  }

  async function onAppInfo(event: IpcEventLike): Promise<IpcResult> {
    return settle({ channel: IPC_CHANNELS.appInfo }, async () => {
      admit(event, IPC_CHANNELS.appInfo)
      return deps.appInfo()
    })
  }

  ipcMain.handle(IPC_CHANNELS.call, onCall)
  ipcMain.handle(IPC_CHANNELS.stream, onStream)
  ipcMain.handle(IPC_CHANNELS.appInfo, onAppInfo)
  const listeners: Array<[string, IpcListener]> = [
    [IPC_CHANNELS.cancel, onCancel],
    [IPC_CHANNELS.liveStart, onLiveStart],
    [IPC_CHANNELS.liveStop, onLiveStop],
    [IPC_CHANNELS.liveAck, onLiveAck],
  ]
  for (const [channel, listener] of listeners) ipcMain.on(channel, listener)

  return {
    dispose() {
      if (disposed) return
      disposed = true
      ipcMain.removeHandler(IPC_CHANNELS.call)
      ipcMain.removeHandler(IPC_CHANNELS.stream)
      ipcMain.removeHandler(IPC_CHANNELS.appInfo)
      for (const [channel, listener] of listeners) ipcMain.removeListener(channel, listener)
      for (const [id, state] of [...windows]) {
        state.sender.removeListener('destroyed', state.onDestroyed)
        closeWindow(id)
      }
    },
  }
}
