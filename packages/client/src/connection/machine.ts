import type { SluiceError } from '../errors.js'
import type { ConnectionSnapshot } from './types.js'

/**
 * Everything that can happen to a connection. The reducer below is the ONE place that changes a
 * snapshot, so every transition is visible here (the shape of TanStack Query's `#dispatch`), instead
 * of being spread over flags such as `shouldReconnect` / `closeCalled`.
 */
export type ConnectionAction<TData> =
  /** An attempt starts (the first one, or after a backoff / `reconnect()`). */
  | { readonly type: 'connect' }
  /** The server accepted the attempt (SSE/NDJSON: 2xx with the right media type; WebSocket: `open`). */
  | { readonly type: 'open' }
  /** A message was delivered. `lastEventId` is only given by transports that have one (SSE). */
  | { readonly type: 'message'; readonly data: TData; readonly lastEventId?: string | undefined }
  /** The SSE last event ID changed (also by an `id:` in a block without data, which is no message). */
  | { readonly type: 'lastEventId'; readonly lastEventId: string }
  /** The attempt ended or failed and a new one is scheduled after a backoff. */
  | { readonly type: 'retry'; readonly error: SluiceError | undefined }
  /** A non-fatal error while the attempt goes on (e.g. one message failed validation). */
  | { readonly type: 'error'; readonly error: SluiceError }
  /** The connection stayed open for `minUptime`: it is healthy again, the attempt counter restarts. */
  | { readonly type: 'stable' }
  /** A fresh start asked by the user (`reconnect()`): the attempt counter restarts. */
  | { readonly type: 'reset' }
  /** Terminal. `error` is the reason when the connection did not close cleanly. */
  | { readonly type: 'close'; readonly error: SluiceError | undefined }

/** The snapshot of a connection that has not done anything yet. */
export function initialSnapshot<TData>(lastEventId = ''): ConnectionSnapshot<TData> {
  return { status: 'connecting', data: undefined, error: undefined, attempt: 0, lastEventId }
}

/**
 * The connection status reducer: `connecting -> open -> (reconnecting -> connecting -> open)* -> closed`.
 *
 * Pure: returns the SAME snapshot object when an action changes nothing, so `getSnapshot()` keeps its
 * identity and `useSyncExternalStore` does not re-render (or loop). `closed` is terminal: every
 * action after it is ignored.
 *
 * @example
 * ```ts
 * let s = initialSnapshot<string>()
 * s = connectionReducer(s, { type: 'open' })        // status 'open'
 * s = connectionReducer(s, { type: 'retry', error }) // status 'reconnecting', attempt 1
 * ```
 */
export function connectionReducer<TData>(
  state: ConnectionSnapshot<TData>,
  action: ConnectionAction<TData>,
): ConnectionSnapshot<TData> {
  if (state.status === 'closed') return state
  switch (action.type) {
    case 'connect':
      return state.status === 'connecting' ? state : { ...state, status: 'connecting' }
    case 'open':
      // A successful open clears the error of the failed attempts before it; the attempt counter only
      // restarts after `minUptime` (`stable`), so a server that accepts and drops at once still backs off.
      if (state.status === 'open' && state.error === undefined) return state
      return { ...state, status: 'open', error: undefined }
    case 'message': {
      const lastEventId = action.lastEventId ?? state.lastEventId
      if (Object.is(state.data, action.data) && lastEventId === state.lastEventId) return state
      // Spelled out rather than spread: this runs once per message, and a literal of a fixed shape
      // is several times cheaper than copying an object whose shape V8 has seen vary.
      return { status: state.status, data: action.data, error: state.error, attempt: state.attempt, lastEventId }
    }
    case 'lastEventId':
      return state.lastEventId === action.lastEventId ? state : { ...state, lastEventId: action.lastEventId }
    case 'retry':
      return { ...state, status: 'reconnecting', error: action.error, attempt: state.attempt + 1 }
    case 'error':
      return state.error === action.error ? state : { ...state, error: action.error }
    case 'stable':
    case 'reset':
      return state.attempt === 0 ? state : { ...state, attempt: 0 }
    case 'close':
      return { ...state, status: 'closed', error: action.error }
  }
}
