import type { SluiceError } from '../errors.js'

/**
 * Lifecycle of every Sluice connection (SSE, NDJSON, WebSocket):
 * `connecting -> open -> (reconnecting -> connecting -> open)* -> closed`.
 * `closed` is terminal: after it no timer, listener, socket or reader is left.
 */
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed'

/**
 * Immutable view of a connection. The same object is returned by `getSnapshot()` until something
 * changes, so it can be used directly with React's `useSyncExternalStore`.
 */
export interface ConnectionSnapshot<T> {
  readonly status: ConnectionStatus
  /** Data of the latest message received, `undefined` before the first one. */
  readonly data: T | undefined
  /** The error that caused the latest reconnect or the close; cleared when a connection opens. */
  readonly error: SluiceError | undefined
  /** Consecutive failed attempts since the connection was last stable (0 while healthy). */
  readonly attempt: number
  /** Last event ID seen (SSE), `""` when none. */
  readonly lastEventId: string
}

/** What every connection returned by `createEventStream`, `createNdjsonStream` and `createSocket` offers. */
export interface Connection<TMessage, TData = TMessage> extends AsyncIterable<TMessage> {
  getSnapshot(): ConnectionSnapshot<TData>
  /** Calls `onChange` after every snapshot change; returns the unsubscribe function. */
  subscribe(onChange: () => void): () => void
  /**
   * Calls `onMessage` synchronously for every message delivered from now on (after `parse` /
   * `schema`), before the snapshot changes. Unlike `subscribe` nothing is coalesced, so a reducer
   * fed from here sees every message. Returns the unsubscribe function.
   */
  listen(onMessage: (message: TMessage) => void): () => void
  /** Closes for good. Idempotent; cancels a pending backoff timer; releases every resource. */
  close(): void
  /** Drops the current attempt (if any) and connects again at once, resetting the attempt counter. */
  reconnect(): void
}
