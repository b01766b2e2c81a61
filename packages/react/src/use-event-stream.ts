import {
  createEventStream,
  type EventDefinition,
  type EventStreamConnection,
  type EventStreamMessage,
  type EventStreamOptions,
  type TypedEventData,
  type TypedEventMessage,
  type TypedEventStreamOptions,
} from '@sluice/client'
import { type Fold, reducerFold } from './store.js'
import type { ReduceOptions, StreamHookOptions, StreamResult } from './types.js'
import { useConnection } from './use-connection.js'

/**
 * Options of {@link useEventStream}: the client's `EventStreamOptions` (`method`, `headers`,
 * `body`, `credentials`, `fetch`, `parse`, `schema`, `done`, `idleTimeout`, `retry`,
 * `retryNonIdempotent`, `lastEventId`, `maxMessageSize`, `onOpen`, `onError`, ...) plus the hook
 * options. `data` is typed from `parse`'s return type or from `schema`.
 */
export interface UseEventStreamOptions<T = string>
  extends Omit<EventStreamOptions<T>, 'onMessage'>,
    StreamHookOptions<EventStreamMessage<T>> {}

/** {@link UseEventStreamOptions} with a reducer over whole messages (`{ event, data, id }`): `data` is the folded state. */
export interface UseEventStreamReduceOptions<T, TState>
  extends UseEventStreamOptions<T>,
    ReduceOptions<EventStreamMessage<T>, TState> {}

/**
 * {@link useEventStream} options with a shared definition (`defineEvents`, imported from the same
 * module as the server's): messages are a discriminated union on `event`, validated on receipt
 * (see `TypedEventStreamOptions` in `@sluice/client`). Define it at module level: it is compared
 * by identity, a new definition reconnects.
 */
export interface UseTypedEventStreamOptions<Def extends EventDefinition>
  extends Omit<TypedEventStreamOptions<Def>, 'onMessage'>,
    StreamHookOptions<TypedEventMessage<Def>> {}

/** {@link UseTypedEventStreamOptions} with a reducer over the typed messages. */
export interface UseTypedEventStreamReduceOptions<Def extends EventDefinition, TState>
  extends UseTypedEventStreamOptions<Def>,
    ReduceOptions<TypedEventMessage<Def>, TState> {}

/** The Last-Event-ID to resume from after each connection the hooks opened; see {@link trackResumePoint}. */
const resumePoints = new WeakMap<EventStreamConnection<unknown>, () => string>()

function resumePoint(connection: EventStreamConnection<unknown>): string {
  return resumePoints.get(connection)?.() ?? connection.getSnapshot().lastEventId
}

/**
 * Follows the ID a replacement of `connection` must resume from: the ID of the last message handed to
 * listeners, or a later move of the snapshot's ID (an `id:` in a block without data). The snapshot
 * alone lags one message behind when the replacement starts inside a listener (`close()` then
 * `reconnect()` from `onMessage`): the client updates it after the listeners ran, and a closed
 * connection takes no update, so the new one would ask the server for that message again. Both
 * callbacks go with the connection: `close()` drops its listeners.
 */
function trackResumePoint<T>(connection: EventStreamConnection<T>): EventStreamConnection<T> {
  let seen = connection.getSnapshot().lastEventId
  let resumeFrom = seen
  // Registered before any component's listener, so it has run when one of those replaces it.
  connection.listen((message) => {
    resumeFrom = message.id
  })
  connection.subscribe(() => {
    const id = connection.getSnapshot().lastEventId
    if (id !== seen) {
      seen = id
      resumeFrom = id
    }
  })
  resumePoints.set(connection as EventStreamConnection<unknown>, () => resumeFrom)
  return connection
}

/**
 * Server-Sent Events over `fetch` (`createEventStream` from `@sluice/client`) as React state: any
 * method, headers and body; reconnects with `Last-Event-ID`; `done` ends an LLM-style stream.
 * `data` is the latest message's data, or what `reduce` folds from every message.
 *
 * The connection opens after mount and closes on unmount; it reconnects only when the URL or a
 * request option changes by value (a new `headers` object with the same entries does nothing).
 *
 * @example
 * ```tsx
 * // Live price, re-rendered at most once per frame however fast ticks arrive.
 * function Price({ symbol }: { symbol: string }) {
 *   const { data, status } = useEventStream(`/prices/${symbol}`, { parse: (d) => Number(d) })
 *   return <span aria-busy={status !== 'open'}>{data ?? '…'}</span>
 * }
 * ```
 *
 * @example
 * ```tsx
 * // A POST-based token stream with a Stop button.
 * function Answer({ prompt }: { prompt: string }) {
 *   const { data: text, status, close } = useEventStream('/api/chat', {
 *     method: 'POST',
 *     headers: { 'content-type': 'application/json' },
 *     body: JSON.stringify({ prompt }),
 *     done: (message) => message.data === '[DONE]',
 *     parse: (d) => (JSON.parse(d) as { token: string }).token,
 *     reduce: (all, message) => all + message.data,
 *     initialState: '',
 *   })
 *   return (
 *     <>
 *       <p>{text}</p>
 *       {status === 'open' && <button type="button" onClick={close}>Stop</button>}
 *     </>
 *   )
 * }
 * ```
 */
export function useEventStream<Def extends EventDefinition>(
  url: string | URL | null | undefined,
  options: UseTypedEventStreamOptions<Def> & { reduce?: undefined },
): StreamResult<TypedEventData<Def> | undefined>
export function useEventStream<Def extends EventDefinition, TState>(
  url: string | URL | null | undefined,
  options: UseTypedEventStreamReduceOptions<Def, TState>,
): StreamResult<TState>
export function useEventStream<T = string>(
  url: string | URL | null | undefined,
  options?: UseEventStreamOptions<T> & { reduce?: undefined },
): StreamResult<T | undefined>
export function useEventStream<T = string, TState = unknown>(
  url: string | URL | null | undefined,
  options: UseEventStreamReduceOptions<T, TState>,
): StreamResult<TState>
export function useEventStream<T, TState>(
  url: string | URL | null | undefined,
  options: UseEventStreamOptions<T> & Partial<ReduceOptions<EventStreamMessage<T>, TState>> = {},
): StreamResult<T | TState | undefined> {
  const { reduce } = options
  const fold: Fold<EventStreamMessage<T>, unknown, unknown> = reduce === undefined
    ? {
        // Joining a shared stream shows its latest message at once.
        initial: (seed) => seed?.data,
        step: (_state, message) => message.data,
        view: (state) => state,
      }
    : reducerFold(reduce, options.initialState)
  const [result] = useConnection<EventStreamMessage<T>, unknown, unknown, EventStreamConnection<T>>(url, {
    hookName: 'useEventStream',
    options,
    fold,
    open: (target, clientOptions, previous) => {
      const resumeFrom = previous === null ? undefined : resumePoint(previous)
      // A connection replacing a closed or paused one resumes where it stopped (Last-Event-ID),
      // as the browser's EventSource does across its own reconnections.
      const withResume = resumeFrom ? { ...clientOptions, lastEventId: resumeFrom } : clientOptions
      return trackResumePoint(createEventStream<T>(target, withResume as EventStreamOptions<T>))
    },
  })
  // Already memoized by useConnection; only its data type is narrowed here.
  return result as StreamResult<T | TState | undefined>
}
