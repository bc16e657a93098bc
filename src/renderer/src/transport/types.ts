import type { z } from 'zod'
import type { Contract, OperationName, OperationOutput } from '../../../shared/contract'
import type { AuthSession } from '../../../shared/api-types'
import type { AppCommand, AppInfo } from '../../../shared/ipc'
import type { LiveMessage } from '../../../shared/monitor-types'

/** What a caller may send: the schema's input side (defaults may be left out). */
export type OperationCallInput<K extends OperationName> = z.input<Contract[K]['input']>

/** Connection state of the live feed, as shown in the health bar. */
export type LiveState = 'live' | 'reconnecting' | 'polling'

/**
 * The one door the renderer talks through. It is typed from the shared contract and knows
 * nothing of HTTP or IPC: HttpTransport (HTTP + SSE, in a browser) and IpcTransport (the desktop window) implement it.
 */
export interface Transport {
  call<K extends OperationName>(name: K, input: OperationCallInput<K>): Promise<OperationOutput<K>>
  /**
   * Live monitor messages: a `snapshot` first (and again after every reconnection or poll),
   * then incremental messages. Returns an unsubscribe function.
   */
  subscribe(onMessage: (m: LiveMessage) => void, onState: (s: LiveState) => void): () => void
  /**
   * An 'ndjson' operation (crawlStream): each line handed to `onLine` as it arrives; resolves
   * when the stream has ended, rejects with a TransportError as call() does. `signal` stops it.
   */
  stream<K extends OperationName>(name: K, input: OperationCallInput<K>, onLine: (line: unknown) => void, signal?: AbortSignal): Promise<void>
  /**
   * Present only inside the desktop app: what the main process says about itself (where its
   * HTTP server listens) and the commands its tray, menu and notifications send the window.
   */
  readonly desktop?: DesktopChannel
  /**
   * Present only over HTTP: the dashboard's sign-in (a token traded for an HttpOnly session
   * cookie, which every later call and the SSE stream carry by themselves).
   */
  readonly session?: SessionChannel
}

export interface SessionChannel {
  status(): Promise<AuthSession>
  /** Rejects with a TransportError (401 wrong token, 429 too many tries) when refused. */
  signIn(token: string): Promise<AuthSession>
  signOut(): Promise<AuthSession>
  /** Called when any call is answered 401: the session ended (expired, signed out elsewhere). */
  onUnauthorized(listener: () => void): () => void
}

export interface DesktopChannel {
  appInfo(): Promise<AppInfo>
  /** Returns the unsubscribe function. */
  onAppCommand(listener: (command: AppCommand) => void): () => void
}

/** A failed call, with the server's error body when there was one. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    readonly body: unknown,
  ) {
    super(message)
    this.name = 'TransportError'
  }
}
