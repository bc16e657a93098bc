import type { z } from 'zod'
import type { Contract, OperationName, OperationOutput } from '../../../shared/contract'
import type { LiveMessage } from '../../../shared/monitor-types'

/** What a caller may send: the schema's input side (defaults may be left out). */
export type OperationCallInput<K extends OperationName> = z.input<Contract[K]['input']>

/** Connection state of the live feed, as shown in the health bar. */
export type LiveState = 'live' | 'reconnecting' | 'polling'

/**
 * The one door the renderer talks through. It is typed from the shared contract and knows
 * nothing of HTTP or IPC; HttpTransport implements it now, an IPC transport later.
 */
export interface Transport {
  call<K extends OperationName>(name: K, input: OperationCallInput<K>): Promise<OperationOutput<K>>
  /**
   * Live monitor messages: a `snapshot` first (and again after every reconnection or poll),
   * then incremental messages. Returns an unsubscribe function.
   */
  subscribe(onMessage: (m: LiveMessage) => void, onState: (s: LiveState) => void): () => void
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
