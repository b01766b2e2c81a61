import type { SluiceError } from '../errors.js'
import type { RetryOptions } from './retry.js'

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

/**
 * Options every connection takes (`createEventStream`, `createNdjsonStream`, `createSocket`).
 *
 * @example
 * ```ts
 * const controller = new AbortController()
 * const conn = createEventStream('/events', {
 *   signal: controller.signal, // abort = close()
 *   retry: { maxAttempts: 10 },
 *   onError: (error) => console.warn(error.code, error.message),
 * })
 * ```
 */
export interface ConnectionOptions<TMessage = unknown> {
  /** Reconnection policy (see `RetryOptions` for the defaults); `false` never reconnects. */
  retry?: RetryOptions | false
  /** Aborting it closes the connection for good, exactly like `close()`. */
  signal?: AbortSignal
  /** Called each time an attempt opens (the first time and after every reconnect). */
  onOpen?: () => void
  /**
   * Called with every error the connection meets: a failed attempt (before the backoff), the error
   * that closes it, and non-fatal ones such as a message that failed validation.
   */
  onError?: (error: SluiceError) => void
  /** Called synchronously for every message, like `listen()`. */
  onMessage?: (message: TMessage) => void
  /**
   * How many messages one `for await` loop may fall behind before it fails (default 1 024). Past it
   * the loop first yields the buffered messages, then throws a `LimitExceededError`
   * (`limit: 'iteratorBufferSize'`): a consumer slower than the stream learns it lost messages
   * instead of growing memory without bound or silently missing some. The connection goes on.
   */
  iteratorBufferSize?: number
}
