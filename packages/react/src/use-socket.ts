import {
  createSocket,
  type EventDefinition,
  type EventEnvelope,
  type EventEnvelopeInput,
  type SocketConnection,
  type SocketEvents,
  type SocketOptions,
  type UnknownEvents,
} from '@sluice/client'
import { useCallback, useMemo } from 'react'
import { type Fold, reducerFold } from './store.js'
import type { ReduceOptions, StreamHookOptions, StreamResult } from './types.js'
import { useConnection } from './use-connection.js'

/**
 * Options of {@link useSocket}: the client's `SocketOptions` (`WebSocket`, `protocols`, `parse`,
 * `schema`, `serialize`, `maxQueueSize`, `heartbeat`, `retry`, `onOpen`, `onError`, ...) plus the
 * hook options. `data` is typed from `schema`, from `parse`'s return type, or from `TReceive`.
 */
export interface UseSocketOptions<TReceive = unknown, TSend = unknown>
  extends Omit<SocketOptions<TReceive, TSend>, 'onMessage' | 'parse'>,
    StreamHookOptions<TReceive> {
  /** Turns a received frame into data. Default: text through `JSON.parse`, binary as `ArrayBuffer`. */
  parse?: (data: string | ArrayBuffer | Blob) => TReceive
}

/** {@link UseSocketOptions} with a reducer: `data` is the folded state. */
export interface UseSocketReduceOptions<TReceive, TSend, TState>
  extends UseSocketOptions<TReceive, TSend>,
    ReduceOptions<TReceive, TState> {}

/**
 * {@link useSocket} options with the endpoint's definitions (`{ client, server }`, the object the
 * server's `createSocketServer({ events })` takes): received messages are the `server`
 * definition's envelopes, validated; `send()` only takes the `client` definition's.
 */
export interface UseTypedSocketOptions<C extends EventDefinition, S extends EventDefinition>
  extends Omit<UseSocketOptions<EventEnvelope<S>, EventEnvelopeInput<C>>, 'schema' | 'parse'> {
  /** Turns a received frame into the envelope to validate. Default: text through `JSON.parse`. */
  parse?: (data: string | ArrayBuffer | Blob) => unknown
  /** What the client may send (`client`) and what the server may send (`server`). */
  events: SocketEvents<C, S>
  /** Unknown event types: `'ignore'` (default) or `'report'` (a non-fatal `ValidationError`). */
  unknownEvents?: UnknownEvents
}

/** {@link UseTypedSocketOptions} with a reducer over the typed envelopes. */
export interface UseTypedSocketReduceOptions<C extends EventDefinition, S extends EventDefinition, TState>
  extends UseTypedSocketOptions<C, S>,
    ReduceOptions<EventEnvelope<S>, TState> {}

/** What {@link useSocket} returns: the stream state plus `send`. */
export interface UseSocketResult<TData, TSend> extends StreamResult<TData> {
  /**
   * Sends at once when open; queues (bounded by `maxQueueSize`) while connecting or reconnecting.
   * Throws a `TypeError` when there is no connection (idle, paused, closed, or before the first
   * effect ran — child effects run before their parent's), and `LimitExceededError` when the queue
   * is full. Its identity never changes.
   */
  readonly send: (data: TSend) => void
}

function latestFold<TReceive>(): Fold<TReceive, TReceive | undefined, TReceive | undefined> {
  return {
    // Joining a shared socket shows its latest message at once.
    initial: (seed) => seed?.data as TReceive | undefined,
    step: (_state, message) => message,
    view: (state) => state,
  }
}

/**
 * A reconnecting WebSocket (`createSocket` from `@sluice/client`, on partysocket) as React state.
 * `data` is the latest message, or what `reduce` folds from every message. JSON both ways by default.
 * With `key`, components share one socket (and one heartbeat).
 *
 * In Node (tests, SSR never connects) pass `WebSocket` from `ws`; browsers use their global one.
 *
 * @example
 * ```tsx
 * type Incoming = { type: 'message'; user: string; text: string }
 * type Outgoing = { type: 'say'; text: string }
 *
 * function Chat({ room }: { room: string }) {
 *   const { data: messages, status, send } = useSocket<Incoming, Outgoing, Incoming[]>(
 *     `wss://chat.example.com/rooms/${room}`,
 *     { reduce: (all, message) => [...all, message], initialState: [], heartbeat: { interval: 25_000, timeout: 10_000 } },
 *   )
 *   return (
 *     <>
 *       {status !== 'open' && <p>{status}…</p>}
 *       <ul>{messages.map((m, i) => <li key={i}>{m.user}: {m.text}</li>)}</ul>
 *       <button type="button" onClick={() => send({ type: 'say', text: 'hi' })}>Say hi</button>
 *     </>
 *   )
 * }
 * ```
 */
export function useSocket<C extends EventDefinition, S extends EventDefinition>(
  url: string | URL | null | undefined,
  options: UseTypedSocketOptions<C, S> & { reduce?: undefined },
): UseSocketResult<EventEnvelope<S> | undefined, EventEnvelopeInput<C>>
export function useSocket<C extends EventDefinition, S extends EventDefinition, TState>(
  url: string | URL | null | undefined,
  options: UseTypedSocketReduceOptions<C, S, TState>,
): UseSocketResult<TState, EventEnvelopeInput<C>>
export function useSocket<TReceive = unknown, TSend = unknown>(
  url: string | URL | null | undefined,
  options?: UseSocketOptions<TReceive, TSend> & { reduce?: undefined },
): UseSocketResult<TReceive | undefined, TSend>
export function useSocket<TReceive = unknown, TSend = unknown, TState = unknown>(
  url: string | URL | null | undefined,
  options: UseSocketReduceOptions<TReceive, TSend, TState>,
): UseSocketResult<TState, TSend>
export function useSocket<TReceive, TSend, TState>(
  url: string | URL | null | undefined,
  options: UseSocketOptions<TReceive, TSend> & Partial<ReduceOptions<TReceive, TState>> = {},
): UseSocketResult<TReceive | TState | undefined, TSend> {
  const { reduce } = options
  const fold: Fold<TReceive, unknown, unknown> =
    reduce === undefined
      ? (latestFold<TReceive>() as Fold<TReceive, unknown, unknown>)
      : reducerFold(reduce, options.initialState)
  const [result, getConnection] = useConnection<TReceive, unknown, unknown, SocketConnection<TReceive, TSend>>(url, {
    hookName: 'useSocket',
    options,
    fold,
    open: (target, clientOptions) =>
      createSocket<TReceive, TSend>(target, clientOptions as SocketOptions<TReceive, TSend>),
  })
  const send = useCallback(
    (data: TSend) => {
      const connection = getConnection()
      if (connection === null) {
        throw new TypeError(
          'useSocket: send() was called while there is no connection: the url is null, enabled is false, ' +
            'pauseWhenHidden closed it while the page is hidden, or the effect that opens it has not run yet ' +
            "(a child's effects run before its parent's; send from an event handler or the same component's effect).",
        )
      }
      connection.send(data)
    },
    [getConnection],
  )
  return useMemo(() => ({ ...result, data: result.data as TReceive | TState | undefined, send }), [result, send])
}
