import type { ConnectionStatus, SluiceError } from '@sluice/client'

/**
 * A hook's status: the client's {@link ConnectionStatus} plus `'idle'`.
 *
 * `'idle'` means *no connection exists*: `url` is `null`, `enabled` is `false`, or
 * `pauseWhenHidden` holds the connection closed while the page is hidden. It is also what a server
 * render reports when `url` is `null`; with a URL the first render (server and client alike) is
 * `'connecting'`, because the connection opens right after mount.
 */
export type StreamStatus = ConnectionStatus | 'idle'

/** What a hook renders: the connection's state with `data` folded from every message. */
export interface StreamState<TData> {
  readonly status: StreamStatus
  /** The reduced state (`reduce`), or the hook's default: the latest message's data, or (NDJSON) the items so far. */
  readonly data: TData
  /** The error that caused the latest reconnect or the close; `undefined` once a connection opens. */
  readonly error: SluiceError | undefined
  /** Consecutive failed attempts since the connection was last stable. */
  readonly attempt: number
  /** Last event ID seen (SSE), `""` when none. */
  readonly lastEventId: string
}

/** Returned by every hook. `close` and `reconnect` keep their identity for the component's lifetime. */
export interface StreamResult<TData> extends StreamState<TData> {
  /** Closes the connection for good (status `'closed'`); other components sharing its `key` see it close too. */
  readonly close: () => void
  /**
   * Connects again now, resetting the attempt counter. After `close()` or a fatal error this opens a
   * new connection (SSE resumes from `lastEventId`); the folded `data` is kept.
   */
  readonly reconnect: () => void
}

/**
 * How often the hook publishes a new snapshot (= renders) while messages arrive.
 * A number is a minimum interval in milliseconds (`0`: publish after every message); `'frame'`
 * publishes at most once per animation frame (`requestAnimationFrame`, or every 16 ms where there
 * is none). Status, error and attempt changes are always published at once.
 *
 * Browsers do not run animation frames in a hidden tab: with `'frame'`, messages are still folded
 * there, and the result is published when the tab is visible again. Use a number to keep
 * publishing in the background.
 */
export type Throttle = number | 'frame'

/** Options every hook understands, on top of the client's connection options. */
export interface StreamHookOptions<TMessage> {
  /** `false`: open no connection (status `'idle'`). Default `true`. Same as passing `url: null`. */
  enabled?: boolean
  /**
   * Components passing the same `key` share one connection: reference-counted, opened by the first,
   * closed when the last unmounts (one heartbeat per socket). They must pass the same URL and
   * connection options; a mismatch throws a `TypeError` in development. Each component folds its
   * own `data` from the messages that arrive while it is mounted.
   */
  key?: string
  /** Render coalescing; see {@link Throttle}. Default `'frame'`: at most one render per frame, whatever the message rate. */
  throttle?: Throttle
  /**
   * Close the connection while the page is hidden (`visibilitychange`) and open a new one when it is
   * visible again (status `'idle'` meanwhile). Default `false`: a background tab keeps its stream.
   */
  pauseWhenHidden?: boolean
  /**
   * Throw the error to the nearest error boundary when the connection has **closed** with an error
   * (a fatal status, a validation failure that ended it, retries exhausted). `true` for every such
   * error, or a predicate. Errors while reconnecting are never thrown: unmounting the component
   * would cancel the retry. Default `false`.
   */
  throwOnError?: boolean | ((error: SluiceError) => boolean)
  /** Called synchronously for every message (never coalesced). A new identity never reconnects. */
  onMessage?: (message: TMessage) => void
}

/** Fold every message into `data` (instead of the hook's default). Read from a ref: a new identity never reconnects. */
export interface ReduceOptions<TMessage, TState> {
  /** Pure: returns the next state. Called for every message, in order, outside of render. */
  reduce: (state: TState, message: TMessage) => TState
  /** The state before the first message, and after a new connection (new URL or options) starts. */
  initialState: TState
}

/** The options only the hooks read; the rest goes to the client. */
export const HOOK_OPTION_NAMES: ReadonlySet<string> = new Set([
  'enabled',
  'key',
  'throttle',
  'pauseWhenHidden',
  'throwOnError',
  'onMessage',
  'reduce',
  'initialState',
  'maxItems',
])
