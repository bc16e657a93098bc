import { EventEmitter } from 'node:events'
import type { IpcEventLike, IpcInvokeHandler, IpcListener, IpcMainLike, WebContentsLike } from '../../src/main/ipc/types.js'

/**
 * Stand-ins for the parts of Electron the IPC door touches (the binary cannot run here): an
 * ipcMain that records what was registered and lets a test invoke/send as a renderer would,
 * and a window (webContents) that records what main pushed to it and can be destroyed.
 */
export class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, IpcInvokeHandler>()
  readonly listeners = new Map<string, Set<IpcListener>>()

  handle(channel: string, listener: IpcInvokeHandler): void {
    // Electron throws on a second handler for one channel; so does the fake.
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, listener)
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel)
  }

  on(channel: string, listener: IpcListener): this {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set())
    this.listeners.get(channel)!.add(listener)
    return this
  }

  removeListener(channel: string, listener: IpcListener): this {
    this.listeners.get(channel)?.delete(listener)
    return this
  }

  /** ipcRenderer.invoke as the window would; like Electron, a handler that throws rejects. */
  async invoke(event: IpcEventLike, channel: string, ...args: unknown[]): Promise<any> {
    const handler = this.handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    return handler(event, ...structuredClone(args))
  }

  /** ipcRenderer.send as the window would. */
  send(event: IpcEventLike, channel: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(channel) ?? []) listener(event, ...structuredClone(args))
  }

  get registeredCount(): number {
    return this.handlers.size + [...this.listeners.values()].reduce((n, s) => n + s.size, 0)
  }
}

let nextId = 1

export class FakeWindow extends EventEmitter implements WebContentsLike {
  readonly id = nextId++
  destroyed = false
  readonly sent: Array<{ channel: string; payload: any }> = []
  /** Called on each push, after it is recorded. */
  onSend: ((channel: string, payload: any) => void) | null = null

  constructor(public url: string) {
    super()
  }

  send(channel: string, ...args: any[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed')
    const payload = structuredClone(args[0])
    this.sent.push({ channel, payload })
    this.onSend?.(channel, payload)
  }

  isDestroyed(): boolean {
    return this.destroyed
  }

  destroy(): void {
    this.destroyed = true
    this.emit('destroyed')
  }

  /** The event Electron would hand main for a message from this window's main frame. */
  event(frameUrl: string | null = this.url): IpcEventLike {
    return { sender: this, senderFrame: frameUrl === null ? null : { url: frameUrl } }
  }

  pushed(channel: string): any[] {
    return this.sent.filter((s) => s.channel === channel).map((s) => s.payload)
  }
}
