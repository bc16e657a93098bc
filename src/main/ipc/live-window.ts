import type { LiveEnded } from '../../shared/ipc.js'
import type { LiveMessage } from '../../shared/monitor-types.js'
import type { LiveSubscription } from '../core/monitor/live.js'

/**
 * Messages one window may have unacknowledged. webContents.send never blocks, so without acks a
 * window that stops reading (a hung renderer) would pile messages up in the IPC pipe forever.
 * With them, the pump stops pulling, the LiveFeed's bounded buffer fills, and the feed drops
 * the window as it drops a slow SSE client.
 */
export const LIVE_IN_FLIGHT = 32

/** Pumps one window's live subscription to it, honouring acks. */
export class LiveWindow {
  private inFlight = 0
  private stopped = false
  private wake: (() => void) | null = null
  readonly done: Promise<void>

  constructor(
    private readonly subscription: LiveSubscription,
    private readonly send: (message: LiveMessage | LiveEnded) => void,
  ) {
    void subscription.ended.then(() => this.wake?.())
    this.done = this.run()
  }

  /** The window handled one message. */
  ack(): void {
    if (this.inFlight > 0) this.inFlight--
    this.wake?.()
  }

  /** The window asked to stop, or is gone: end without telling it. */
  stop(): void {
    this.stopped = true
    this.subscription.close()
    this.wake?.()
  }

  private async run(): Promise<void> {
    for await (const message of this.subscription) {
      if (this.stopped) break
      this.send(message)
      this.inFlight++
      while (this.inFlight >= LIVE_IN_FLIGHT && !this.stopped && this.subscription.endReason === null) {
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = null
      }
      if (this.stopped) break
    }
    // The feed ended from main's side (slow window, service closing): say why, so the window
    // can resubscribe for a fresh snapshot.
    if (!this.stopped) this.send({ type: 'ended', reason: this.subscription.endReason ?? 'closed' })
  }
}
