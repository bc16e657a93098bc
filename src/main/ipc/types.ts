import type { AppInfo } from '../../shared/ipc.js'
import type { ServiceImpl } from '../../shared/contract.js'
import type { Logger } from '../core/logger.js'
import type { LiveSubscription } from '../core/monitor/live.js'

/*
 * The few pieces of Electron the IPC door touches, as structural types: Electron's own ipcMain,
 * IpcMainEvent and WebContents satisfy them (tests/ipc/electron-types.test.ts checks that), and
 * tests drive the door with plain fakes. Nothing here imports electron.
 */

/** The window a message came from (Electron's WebContents). */
export interface WebContentsLike {
  readonly id: number
  send(channel: string, ...args: any[]): void
  isDestroyed(): boolean
  once(event: 'destroyed', listener: () => void): unknown
  removeListener(event: 'destroyed', listener: () => void): unknown
}

/** Electron's IpcMainEvent / IpcMainInvokeEvent, as far as the door reads them. */
export interface IpcEventLike {
  sender: WebContentsLike
  /** The frame that sent the message; null once it navigated away or was destroyed. */
  senderFrame?: { readonly url: string; readonly parent?: unknown } | null
}

export type IpcInvokeHandler = (event: IpcEventLike, ...args: any[]) => unknown
export type IpcListener = (event: IpcEventLike, ...args: any[]) => void

/** Electron's ipcMain, as far as the door uses it. */
export interface IpcMainLike {
  handle(channel: string, listener: IpcInvokeHandler): void
  removeHandler(channel: string): void
  on(channel: string, listener: IpcListener): unknown
  removeListener(channel: string, listener: IpcListener): unknown
}

/** The live feed (runtime.live): each window gets its own bounded subscription. */
export interface LiveSource {
  subscribe(): LiveSubscription
}

/**
 * What registerIpcDoor needs; the Electron entry passes:
 * - ipcMain: electron's ipcMain
 * - service: runtime.service (the same ServiceImpl the Koa door calls)
 * - live: runtime.live (the LiveFeed the SSE stream reads too)
 * - isAllowedSender: allowedSenderFor({ appOrigin, rendererUrl }) (see sender.ts)
 * - appInfo: what the window is told about the app (version, where Koa listens, platform)
 * - logger: refused messages and unexpected failures are logged here
 */
export interface IpcDoorDeps {
  ipcMain: IpcMainLike
  service: ServiceImpl
  live: LiveSource
  isAllowedSender(frameUrl: string): boolean
  appInfo(): AppInfo | Promise<AppInfo>
  logger: Logger
  /** Largest input accepted, in bytes of its JSON form (the HTTP door's body_limit_bytes). Default 1 MiB. */
  maxInputBytes?: number
}
