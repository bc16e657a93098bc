import type { OperationName } from './contract.js'
import type { LiveMessage } from './monitor-types.js'

/*
 * The IPC door's wire vocabulary, shared by main (src/main/ipc), the preload (src/preload) and
 * the renderer's IpcTransport. Channel names live only here and in those three places: the
 * renderer's page code never sees one (the preload exposes functions, not channels).
 */

export const IPC_CHANNELS = {
  /** invoke: `{ op, input }` → IpcResult. Every json/text operation of the contract. */
  call: 'crawldeck:call',
  /** invoke: `{ id, op, input }` → IpcResult<null> once the stream has ended; lines arrive on streamLine. */
  stream: 'crawldeck:stream',
  /** main → renderer: `{ id, line }` for each line of a streaming operation. */
  streamLine: 'crawldeck:stream:line',
  /** send: `{ id }` cancels a call or stream still running (its CallContext.signal aborts). */
  cancel: 'crawldeck:cancel',
  /** send: start / stop the live feed for this window. */
  liveStart: 'crawldeck:live:start',
  liveStop: 'crawldeck:live:stop',
  /** main → renderer: one LiveMessage, or `{ type: 'ended', reason }` when main dropped the feed. */
  live: 'crawldeck:live',
  /**
   * send: the window has handled one live message. Main keeps at most a few unacknowledged
   * messages in flight per window, so a window that stops reading backs up into the LiveFeed's
   * bounded buffer and is dropped there, exactly like a slow SSE client.
   */
  liveAck: 'crawldeck:live:ack',
  /** invoke → AppInfo. */
  appInfo: 'crawldeck:app-info',
  /** main → renderer: an AppCommand from the tray, the app menu or a notification click. */
  appCommand: 'crawldeck:app-command',
} as const

/** A call's outcome as it crosses the IPC boundary (Errors do not survive structured clone whole). */
export type IpcResult<T = unknown> = { ok: true; value: T } | { ok: false; error: IpcError }

/** The same fields as the HTTP error body, plus the status the HTTP door would have answered. */
export interface IpcError {
  status: number
  code: string
  message: string
  details?: unknown
}

/** The live feed ended from main's side (slow consumer dropped, service closing). */
export interface LiveEnded {
  type: 'ended'
  reason: 'closed' | 'slow_client'
}

/** What main tells the window about itself. */
export interface AppInfo {
  version: string
  /** Where the Koa server listens (REST API and /dashboard for remote access), or null when it is off. */
  http_url: string | null
  platform: string
}

/** Commands main sends the window: the tray, the app menu and notifications drive the UI with these. */
export type AppCommand =
  { type: 'navigate'; view: 'monitor' | 'playground' | 'settings' } | { type: 'set-live-paused'; paused: boolean } | { type: 'toggle-live-paused' }

/**
 * The one object the preload exposes as `window.crawldeck`: functions only. Listeners get the
 * payload, never the Electron event; every subscribe returns its unsubscribe.
 */
export interface CrawldeckBridge {
  call(op: OperationName, input: unknown, id?: string): Promise<IpcResult>
  stream(op: OperationName, input: unknown, id: string, onLine: (line: unknown) => void): Promise<IpcResult<null>>
  cancel(id: string): void
  subscribeLive(listener: (message: LiveMessage | LiveEnded) => void): () => void
  appInfo(): Promise<AppInfo>
  onAppCommand(listener: (command: AppCommand) => void): () => void
}

/** main → renderer on IPC_CHANNELS.streamLine: one line of the stream `id`. */
export interface IpcStreamLine {
  id: string
  line: unknown
}

/**
 * What the stream invoke answers main → preload: the outcome, and how many lines were sent
 * before it. Pushed lines and invoke replies travel separately, so the preload waits until it
 * has seen that many lines before it settles the stream.
 */
export type IpcStreamOutcome = IpcResult<null> & { lines: number }

/** The global the preload defines. */
export const BRIDGE_GLOBAL = 'crawldeck'
