import type { StandardSchemaV1 } from '@standard-schema/spec'
import ReconnectingWebSocket, { type CloseEvent, type ErrorEvent, type Message } from 'partysocket/ws'
import {
  type AttemptContext,
  type AttemptEnd,
  ConnectionCore,
  DEFAULT_ITERATOR_BUFFER_SIZE,
  toSluiceError,
} from './connection/connection.js'
import { type Decoded, decode } from './connection/decode.js'
import { MAX_TIMER_DELAY } from './connection/retry.js'
import type { Connection, ConnectionOptions } from './connection/types.js'
import {
  type DefinitionDecoder,
  decoderOf,
  type EventDefinition,
  type EventEnvelope,
  type EventEnvelopeInput,
  type SocketEvents,
  type UnknownEvents,
} from './define.js'
import { HttpError, LimitExceededError, SluiceError, TimeoutError } from './errors.js'

/**
 * Anything shaped like the WHATWG `WebSocket` constructor: the browser's, or `WebSocket` from `ws`
 * (whose instances implement `addEventListener`, `send`, `close`, `readyState`, `binaryType`). Kept
 * structural so `ws`'s own types are accepted without a cast.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => object

/** What `send()` may put on the wire after `serialize`. */
export type SocketPayload = Message

/**
 * Application-level heartbeat. Browsers cannot send WebSocket pings, and a half-open TCP connection
 * (laptop sleep, NAT timeout) can stay "open" for minutes; so every `interval` ms the connection
 * sends `message`, and if NOTHING arrives within `timeout` ms after it, it drops the socket and
 * reconnects (the snapshot shows a `TimeoutError` with `timeout: 'heartbeat'`). Any message counts
 * as a sign of life. It needs a server that answers, e.g. with `{ "type": "pong" }`.
 *
 * @example
 * ```ts
 * createSocket(url, { WebSocket, heartbeat: { interval: 25_000, timeout: 10_000 } })
 * ```
 */
export interface HeartbeatOptions<TReceive = unknown, TSend = unknown> {
  /** ms between pings. */
  interval: number
  /** ms to wait for any message after a ping before reconnecting. */
  timeout: number
  /** What to send (through `serialize`); default `{ type: 'ping' }`. */
  message?: TSend
  /**
   * Recognises the server's answer so it is not delivered as a message. Default: an object whose
   * `type` is `"pong"`.
   */
  isPong?: (message: TReceive) => boolean
}

/**
 * Options of {@link createSocket}.
 *
 * Defaults: JSON both ways (`parse`: text frames through `JSON.parse`, binary frames delivered as
 * `ArrayBuffer`; `serialize`: `JSON.stringify`), `maxQueueSize` 1 000, `heartbeat` off,
 * `connectTimeout` 10 000 ms, retry policy as in `RetryOptions`.
 */
export interface SocketOptions<TReceive = unknown, TSend = unknown> extends ConnectionOptions<TReceive> {
  /**
   * The WebSocket implementation. Required where there is no global `WebSocket` (Node 20): pass
   * `WebSocket` from the `ws` package.
   */
  WebSocket?: WebSocketConstructor
  /** Subprotocols offered to the server. */
  protocols?: string | string[]
  /** Turns a received frame into data. Default: text -> `JSON.parse`, binary -> the `ArrayBuffer`. */
  parse?: (data: string | ArrayBuffer | Blob) => unknown
  /**
   * Standard Schema (zod, valibot, ...) validating the parsed data; failures surface `ValidationError`.
   * With an async schema, messages are delivered in arrival order, so those that arrive while one is
   * being validated wait; more than `iteratorBufferSize` waiting drops the socket with a
   * `LimitExceededError` and reconnects (a WebSocket cannot be paused, and the wait must be bounded).
   */
  schema?: StandardSchemaV1<unknown, TReceive>
  /** Turns what `send()` gets into a frame. Default `JSON.stringify`. */
  serialize?: (data: TSend) => SocketPayload
  /**
   * Most messages `send()` holds while the socket is not open (default 1 000); they are sent in order
   * on open. One more throws `LimitExceededError` (`limit: 'maxQueueSize'`): never a silent drop.
   */
  maxQueueSize?: number
  /** Application ping / pong-timeout, see {@link HeartbeatOptions}; `false` (default) is off. */
  heartbeat?: HeartbeatOptions<TReceive, TSend> | false
  /** ms the opening handshake may take before the attempt fails and is retried (default 10 000). */
  connectTimeout?: number
}

/** A reconnecting WebSocket connection: every {@link Connection} member plus `send`. */
export interface SocketConnection<TReceive = unknown, TSend = unknown> extends Connection<TReceive> {
  /**
   * Sends at once when open; otherwise queues (bounded by `maxQueueSize`) and sends in order on the
   * next open. Throws `LimitExceededError` when the queue is full, and `TypeError` after `close()`.
   * Messages still queued when the connection closes for good are discarded with it.
   */
  send(data: TSend): void
}

/**
 * Options of {@link createSocket} with the endpoint's definitions (`{ client, server }`, each from
 * `defineEvents`, the same object the server's `createSocketServer({ events })` takes): received
 * messages are envelopes `{ type, data }` of the `server` definition, validated (a failure surfaces
 * a `ValidationError` with the event type and is not delivered; unknown types as `unknownEvents`
 * says); `send()` takes envelopes of the `client` definition (checked at compile time; the server
 * validates them on receipt).
 */
export interface TypedSocketOptions<C extends EventDefinition, S extends EventDefinition>
  extends Omit<SocketOptions<EventEnvelope<S>, EventEnvelopeInput<C>>, 'schema'> {
  /** What the client may send (`client`) and what the server may send (`server`). */
  events: SocketEvents<C, S>
  /** Unknown event types: `'ignore'` (default) or `'report'` (a non-fatal `ValidationError`). */
  unknownEvents?: UnknownEvents
}

const DEFAULT_MAX_QUEUE_SIZE = 1000
const DEFAULT_CONNECT_TIMEOUT = 10_000
const DEFAULT_PING = { type: 'ping' }

function defaultParse(data: string | ArrayBuffer | Blob): unknown {
  return typeof data === 'string' ? JSON.parse(data) : data
}

function defaultIsPong(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'pong'
}

type UrlInput = string | URL | (() => string | URL | Promise<string | URL>)

/** Turns a closed socket or error event into what the snapshot shows. */
function classifyFailure(error: Error | undefined, close: CloseEvent | undefined, connectTimeout: number): AttemptEnd {
  if (error) {
    if (error.message === 'TIMEOUT') {
      return {
        type: 'retry',
        error: new TimeoutError(
          'connectTimeout',
          connectTimeout,
          `WebSocket handshake took longer than ${connectTimeout} ms`,
        ),
      }
    }
    // `ws` (Node) reports the status of a refused upgrade, e.g. 401 from an `authenticate` hook;
    // as with HTTP streams, a 4xx other than 408/429 will not get better by retrying.
    const status = /Unexpected server response: (\d{3})/.exec(error.message)?.[1]
    if (status !== undefined) {
      const code = Number(status)
      const httpError = new HttpError(code, '', { cause: error })
      const fatal = code >= 400 && code < 500 && code !== 408 && code !== 429
      return fatal ? { type: 'close', error: httpError } : { type: 'retry', error: httpError }
    }
    return { type: 'retry', error: toSluiceError(error, 'NETWORK_ERROR') }
  }
  if (close && close.code !== 1000 && close.code !== 1001) {
    const reason = close.reason ? `: ${close.reason}` : ''
    return {
      type: 'retry',
      error: new SluiceError('SOCKET_CLOSED', `WebSocket closed with code ${close.code}${reason}`),
    }
  }
  return { type: 'retry' }
}

class SocketConnectionImpl<TReceive, TSend>
  extends ConnectionCore<TReceive, TReceive>
  implements SocketConnection<TReceive, TSend>
{
  readonly #queue: SocketPayload[] = []
  readonly #maxQueueSize: number
  readonly #serialize: (data: TSend) => SocketPayload
  #socket: ReconnectingWebSocket | undefined

  constructor(
    url: UrlInput,
    options: SocketOptions<TReceive, TSend> & { events?: SocketEvents; unknownEvents?: UnknownEvents },
  ) {
    super(options)
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (typeof WebSocketImpl !== 'function') {
      throw new TypeError(
        'createSocket: no WebSocket implementation. In Node 20 install `ws` and pass it: ' +
          "import { WebSocket } from 'ws'; createSocket(url, { WebSocket })",
      )
    }
    this.#maxQueueSize = options.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE
    if (!Number.isInteger(this.#maxQueueSize) || this.#maxQueueSize < 0) {
      throw new TypeError(`maxQueueSize must be an integer >= 0, got ${String(options.maxQueueSize)}`)
    }
    this.#serialize = options.serialize ?? ((data: TSend) => JSON.stringify(data))
    const heartbeat = options.heartbeat ?? false
    if (heartbeat && !(heartbeat.interval > 0 && heartbeat.timeout > 0)) {
      throw new TypeError('heartbeat.interval and heartbeat.timeout must be numbers > 0 (ms), or set heartbeat: false')
    }
    // Serialized once, here: a serializer that cannot encode the ping fails at creation, not later
    // inside a timer where nobody could catch it.
    const ping = heartbeat ? this.#serialize((heartbeat.message ?? DEFAULT_PING) as TSend) : undefined
    const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT
    const urlProvider = typeof url === 'function' ? async () => String(await url()) : String(url)
    const parse = options.parse ?? defaultParse
    const isPong = heartbeat ? (heartbeat.isPong ?? defaultIsPong) : undefined
    const maxBacklog = options.iteratorBufferSize ?? DEFAULT_ITERATOR_BUFFER_SIZE
    const events = options.events === undefined ? undefined : decoderOf(options.events.server, 'createSocket')

    const run = (context: AttemptContext<TReceive, TReceive>): Promise<AttemptEnd> => {
      // partysocket owns the socket: URL provider, protocols, connect timeout, swapping listeners
      // from one underlying WebSocket to the next. Its own backoff is off (`maxRetries: 0`, every
      // attempt is a `reconnect()` from us) because its wait is a bare setTimeout that `close()`
      // cannot cancel, and it has no jitter: the shared RetryPolicy decides when to try again.
      this.#socket ??= new ReconnectingWebSocket(urlProvider, options.protocols, {
        WebSocket: WebSocketImpl,
        startClosed: true,
        maxRetries: 0,
        maxEnqueuedMessages: 0,
        // Capped like every timer here: a longer one fires after 1 ms (see MAX_TIMER_DELAY).
        connectionTimeout: Math.min(connectTimeout, MAX_TIMER_DELAY),
      })
      const socket = this.#socket
      socket.binaryType = 'arraybuffer'
      return new Promise<AttemptEnd>((resolve) => {
        let failure: Error | undefined
        let closeEvent: CloseEvent | undefined
        let settled = false
        let pingTimer: ReturnType<typeof setInterval> | undefined
        let pongTimer: ReturnType<typeof setTimeout> | undefined
        // Once a schema answered asynchronously, messages go through this chain, one at a time, so
        // they are delivered in the order they arrived.
        let chain: Promise<void> | undefined
        // Messages waiting in `chain` behind a pending validation. A WebSocket cannot be paused, so
        // a validator slower than the server would make this wait grow without limit: past
        // `iteratorBufferSize` the attempt fails with LimitExceededError and reconnects instead.
        let backlog = 0

        const cleanup = () => {
          socket.removeEventListener('open', onOpen)
          socket.removeEventListener('message', onMessage)
          socket.removeEventListener('close', onClose)
          socket.removeEventListener('error', onError)
          context.signal.removeEventListener('abort', onAbort)
          clearInterval(pingTimer)
          clearTimeout(pongTimer)
        }
        const settle = (end: AttemptEnd) => {
          if (settled) return
          settled = true
          cleanup()
          socket.close()
          resolve(end)
        }
        // partysocket dispatches `close` and then, in the same call, the `error` that caused it:
        // classify on the next microtask so that the error is known.
        const settleSoon = () => queueMicrotask(() => settle(classifyFailure(failure, closeEvent, connectTimeout)))

        const onOpen = () => {
          // Queued messages go first, in order, before onOpen handlers can send new ones.
          for (const payload of this.#queue.splice(0)) socket.send(payload)
          context.open()
          if (heartbeat) {
            pingTimer = setInterval(
              () => {
                socket.send(ping as SocketPayload)
                pongTimer ??= setTimeout(
                  () => {
                    const message = `No message within ${heartbeat.timeout} ms of a heartbeat ping`
                    settle({ type: 'retry', error: new TimeoutError('heartbeat', heartbeat.timeout, message) })
                  },
                  Math.min(heartbeat.timeout, MAX_TIMER_DELAY),
                )
              },
              Math.min(heartbeat.interval, MAX_TIMER_DELAY),
            )
          }
        }
        const pong = (value: TReceive): boolean => {
          try {
            return isPong?.(value) === true
          } catch (error) {
            // A broken isPong must not take the socket down: the message is delivered instead.
            context.reportError(toSluiceError(error))
            return false
          }
        }
        const handle = (raw: string | ArrayBuffer | Blob): void | Promise<void> => {
          const decoded = events
            ? decodeTyped<TReceive>(events, raw, parse, options.unknownEvents)
            : decode<TReceive>(raw, parse, options.schema)
          const apply = (result: Awaited<typeof decoded>) => {
            if (result === null) return
            if (!result.ok) context.reportError(result.error)
            else if (!pong(result.value)) context.deliver(result.value, result.value)
          }
          if (decoded instanceof Promise) return decoded.then(apply)
          apply(decoded)
        }
        const onMessage = (event: MessageEvent) => {
          clearTimeout(pongTimer)
          pongTimer = undefined
          const raw = event.data as string | ArrayBuffer | Blob
          if (chain) {
            if (backlog >= maxBacklog) {
              const message =
                `More than ${maxBacklog} messages arrived while an async schema was still validating ` +
                'earlier ones; reconnecting. Validate faster or raise iteratorBufferSize.'
              settle({ type: 'retry', error: new LimitExceededError('iteratorBufferSize', maxBacklog, message) })
              return
            }
            backlog++
            chain = chain.then(() => {
              backlog--
              return handle(raw)
            })
            return
          }
          const result = handle(raw)
          if (result instanceof Promise) chain = result
        }
        const onClose = (event: CloseEvent) => {
          closeEvent = event
          settleSoon()
        }
        const onError = (event: ErrorEvent) => {
          failure = event.error ?? new Error(event.message)
          settleSoon()
        }
        const onAbort = () => settle({ type: 'retry' })

        socket.addEventListener('open', onOpen)
        socket.addEventListener('message', onMessage)
        socket.addEventListener('close', onClose)
        socket.addEventListener('error', onError)
        context.signal.addEventListener('abort', onAbort, { once: true })
        socket.reconnect()
      })
    }
    this.start({ run })
  }

  send = (data: TSend): void => {
    if (this.getSnapshot().status === 'closed') {
      throw new TypeError('send() was called after the socket connection was closed; create a new connection')
    }
    const payload = this.#serialize(data)
    const socket = this.#socket
    if (this.getSnapshot().status === 'open' && socket?.readyState === ReconnectingWebSocket.OPEN) {
      socket.send(payload)
      return
    }
    if (this.#queue.length >= this.#maxQueueSize) {
      throw new LimitExceededError(
        'maxQueueSize',
        this.#maxQueueSize,
        `The send queue is full (maxQueueSize ${this.#maxQueueSize}) while the socket is not open; the message was not queued`,
      )
    }
    this.#queue.push(payload)
  }

  protected override onClosed(): void {
    this.#queue.length = 0
  }
}

/**
 * A reconnecting WebSocket on `partysocket`, with the shared state machine and retry policy. JSON
 * by default; `send()` queues (bounded) while not open; optional application heartbeat.
 *
 * @example
 * ```ts
 * import { WebSocket } from 'ws' // Node only; browsers have a global WebSocket
 * const chat = createSocket<ChatEvent, ChatCommand>('wss://example.com/chat', { WebSocket })
 * chat.send({ type: 'join', room: 'lobby' }) // queued until open
 * for await (const event of chat) console.log(event)
 * ```
 */
export function createSocket<C extends EventDefinition, S extends EventDefinition>(
  url: UrlInput,
  options: TypedSocketOptions<C, S>,
): SocketConnection<EventEnvelope<S>, EventEnvelopeInput<C>>
export function createSocket<TReceive = unknown, TSend = unknown>(
  url: UrlInput,
  options?: SocketOptions<TReceive, TSend>,
): SocketConnection<TReceive, TSend>
export function createSocket<TReceive = unknown, TSend = unknown>(
  url: UrlInput,
  options: SocketOptions<TReceive, TSend> = {},
): SocketConnection<TReceive, TSend> {
  return new SocketConnectionImpl<TReceive, TSend>(url, options)
}

/** A typed socket's decoding: `parse` (JSON by default), then the envelope against the server's definition. */
function decodeTyped<T>(
  definition: DefinitionDecoder,
  raw: string | ArrayBuffer | Blob,
  parse: (data: string | ArrayBuffer | Blob) => unknown,
  unknownEvents: UnknownEvents | undefined,
): Decoded<T> | Promise<Decoded<T>> | null {
  const parsed = decode<unknown>(raw, parse, undefined)
  if (parsed instanceof Promise || !parsed.ok) return parsed as Decoded<T>
  return definition.decodeEnvelope<T>(parsed.value, unknownEvents)
}
