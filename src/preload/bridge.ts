import {
  IPC_CHANNELS,
  type AppCommand,
  type AppInfo,
  type CrawldeckBridge,
  type IpcResult,
  type IpcStreamLine,
  type IpcStreamOutcome,
  type LiveEnded,
} from '../shared/ipc'
import type { OperationName } from '../shared/contract'
import type { LiveMessage } from '../shared/monitor-types'

/** Electron's ipcRenderer, as far as the bridge uses it (tests pass a fake). */
export interface IpcRendererLike {
  invoke(channel: string, ...args: any[]): Promise<any>
  send(channel: string, ...args: any[]): void
  on(channel: string, listener: (event: any, ...args: any[]) => void): unknown
  removeListener(channel: string, listener: (...args: any[]) => void): unknown
}

type Listener<T> = (payload: T) => void

/**
 * The one object the window sees as `window.crawldeck`: functions closed over ipcRenderer, so
 * page code can reach neither ipcRenderer nor a channel name, and listeners get the payload
 * only (the IpcRendererEvent would hand them `sender`, i.e. ipcRenderer itself).
 * Kept free of electron imports so tests and the Chromium e2e can run the real thing.
 */
export function createBridge(ipc: IpcRendererLike): CrawldeckBridge {
  /** Streams waiting for lines, by id. One ipcRenderer listener serves them all. */
  const streams = new Map<string, { onLine: Listener<unknown>; seen: number; want: number | null; settle: () => void }>()
  let streamListener: ((event: unknown, message: IpcStreamLine) => void) | null = null

  const liveListeners = new Set<Listener<LiveMessage | LiveEnded>>()
  const onLive = (_event: unknown, message: LiveMessage | LiveEnded) => {
    for (const listener of [...liveListeners]) {
      try {
        listener(message)
      } catch (err) {
        console.error(err)
      }
    }
    // Acked once handled: main keeps only a few messages in flight, so a window that stops
    // handling them is eventually dropped instead of buffered without end.
    if (message.type !== 'ended') ipc.send(IPC_CHANNELS.liveAck)
  }

  function ensureStreamListener(): void {
    if (streamListener) return
    streamListener = (_event, message) => {
      const entry = message && typeof message.id === 'string' ? streams.get(message.id) : undefined
      if (!entry) return
      entry.seen++
      try {
        entry.onLine(message.line)
      } finally {
        if (entry.want !== null && entry.seen >= entry.want) entry.settle()
      }
    }
    ipc.on(IPC_CHANNELS.streamLine, streamListener)
  }

  function dropStreamListenerIfIdle(): void {
    if (streams.size === 0 && streamListener) {
      ipc.removeListener(IPC_CHANNELS.streamLine, streamListener)
      streamListener = null
    }
  }

  const bridge: CrawldeckBridge = {
    call(op: OperationName, input: unknown, id?: string): Promise<IpcResult> {
      return ipc.invoke(IPC_CHANNELS.call, id === undefined ? { op, input } : { op, input, id })
    },

    async stream(op: OperationName, input: unknown, id: string, onLine: (line: unknown) => void): Promise<IpcResult<null>> {
      if (streams.has(id)) return { ok: false, error: { status: 409, code: 'conflict', message: `a stream with id ${JSON.stringify(id)} is already running` } }
      let settle!: () => void
      const allLines = new Promise<void>((resolve) => (settle = resolve))
      const entry = { onLine, seen: 0, want: null as number | null, settle }
      streams.set(id, entry)
      ensureStreamListener()
      try {
        const outcome: IpcStreamOutcome = await ipc.invoke(IPC_CHANNELS.stream, { id, op, input })
        // Lines are pushed separately from the reply: wait until every line main sent is here.
        entry.want = typeof outcome?.lines === 'number' ? outcome.lines : 0
        if (entry.seen >= entry.want) entry.settle()
        await allLines
        return outcome.ok ? { ok: true, value: null } : { ok: false, error: outcome.error }
      } finally {
        streams.delete(id)
        dropStreamListenerIfIdle()
      }
    },

    cancel(id: string): void {
      ipc.send(IPC_CHANNELS.cancel, { id })
    },

    subscribeLive(listener: (message: LiveMessage | LiveEnded) => void): () => void {
      const own = (message: LiveMessage | LiveEnded) => listener(message)
      if (liveListeners.size === 0) ipc.on(IPC_CHANNELS.live, onLive)
      liveListeners.add(own)
      // Every subscribe asks main for a fresh feed, so it opens with a snapshot.
      ipc.send(IPC_CHANNELS.liveStart)
      let subscribed = true
      return () => {
        if (!subscribed) return
        subscribed = false
        liveListeners.delete(own)
        if (liveListeners.size === 0) {
          ipc.send(IPC_CHANNELS.liveStop)
          ipc.removeListener(IPC_CHANNELS.live, onLive)
        }
      }
    },

    async appInfo(): Promise<AppInfo> {
      const result: IpcResult<AppInfo> = await ipc.invoke(IPC_CHANNELS.appInfo)
      if (!result.ok) throw new Error(result.error.message)
      return result.value
    },

    onAppCommand(listener: (command: AppCommand) => void): () => void {
      const own = (_event: unknown, command: AppCommand) => listener(command)
      ipc.on(IPC_CHANNELS.appCommand, own)
      let subscribed = true
      return () => {
        if (!subscribed) return
        subscribed = false
        ipc.removeListener(IPC_CHANNELS.appCommand, own)
      }
    },
  }
  return Object.freeze(bridge)
}
