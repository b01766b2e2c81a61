import type { Server as HttpServer, IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Duplex } from 'node:stream'
import {
  assertEnvelope,
  type EventDefinition,
  type EventEnvelope,
  type EventEnvelopeInput,
  type SocketEvents,
} from '@sluice/client'
import { type PerMessageDeflateOptions, type RawData, WebSocket, WebSocketServer } from 'ws'
import { checkEnvelope, validatesByDefault } from './typed.js'

/**
 * Close codes the socket server uses (RFC 6455 section 7.4.1,
 * https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1, and the IANA registry).
 */
export const SocketCloseCode = {
  /** `close()`: the server is going away. */
  GoingAway: 1001,
  /** A message `parse` rejected (by default: not valid JSON). */
  InvalidPayload: 1007,
  /** A message over `maxPayload` (sent by `ws` itself). */
  MessageTooBig: 1009,
  /** A hook (`onConnect`, `onMessage`) threw or rejected. */
  InternalError: 1011,
  /** The peer did not read fast enough: more than `maxBufferedBytes` waited to be sent to it. */
  TryAgainLater: 1013,
} as const

/** One connected WebSocket peer. */
export interface SocketClient<TSend = unknown, TUser = undefined> {
  /** Random id (UUID), unique per connection. */
  readonly id: string
  /** What `authenticate` returned for this connection (`undefined` without `authenticate`). */
  readonly user: TUser
  /** The HTTP upgrade request (headers, URL, remote address). */
  readonly request: IncomingMessage
  /** The underlying `ws` WebSocket, for what this API does not cover. */
  readonly socket: WebSocket
  /**
   * Sends `JSON.stringify(data)` as a text message. Returns `false` when the socket is not open, or
   * when this message took the peer over `maxBufferedBytes` (the socket is then closing with
   * {@link SocketCloseCode.TryAgainLater}). Throws `TypeError` for data JSON cannot encode.
   */
  send(data: TSend): boolean
  /** Starts the closing handshake (default code 1000). */
  close(code?: number, reason?: string): void
}

/** A value `authenticate` may return: the user, or a refusal (`false`, `null`, `undefined`). */
export type AuthenticateResult<TUser> = TUser | false | null | undefined

/** Options of {@link createSocketServer}. */
export interface SocketServerOptions<TReceive = unknown, TSend = unknown, TUser = undefined> {
  /**
   * The `node:http` / `node:https` server to attach to (its `upgrade` event). Without it, route
   * upgrades yourself with {@link SocketServer.handleUpgrade}.
   */
  server?: HttpServer | HttpsServer
  /**
   * The URL path served (query ignored), e.g. `"/ws"`. Upgrades for other paths are left alone for
   * other listeners (several socket servers can share one HTTP server, one per path), or answered
   * `404` when this is the server's only `upgrade` listener. Default: every path.
   */
  path?: string
  /**
   * Decides, during the upgrade and before any WebSocket exists, who may connect. Return the user
   * (any value, given to hooks as `client.user`) or `false` / `null` / `undefined` to answer
   * `401 Unauthorized`. A thrown error answers 401 too, unless it carries an HTTP `status`
   * (e.g. `@sluice/client`'s `HttpError(403)`), which is used instead; one without a status is also
   * reported to `onError`, since it may be a bug rather than a refusal.
   */
  authenticate?: (request: IncomingMessage) => AuthenticateResult<TUser> | Promise<AuthenticateResult<TUser>>
  /**
   * Browser origins allowed to connect (e.g. `["https://app.example.com"]`), or a predicate. Others
   * get `403 Forbidden`. Browsers send cookies with WebSocket handshakes from any site, so a
   * cookie-authenticated endpoint needs this (cross-site WebSocket hijacking). A request without
   * an `Origin` header (not a browser) is allowed by the list form: such a client could send any
   * origin it likes, so refusing it protects nothing; authenticate those. Default: no check.
   */
  allowedOrigins?: readonly string[] | ((origin: string | undefined, request: IncomingMessage) => boolean)
  /**
   * Largest message accepted, in bytes; a bigger one closes the socket with 1009 (`ws` checks it
   * while receiving, before buffering the message). Default 64 KiB: JSON messages are small, and
   * every connection may buffer this much (ws's own default is 100 MiB).
   */
  maxPayload?: number
  /**
   * Most bytes allowed to wait for a peer that does not read (`socket.bufferedAmount`). When a send
   * goes past it, the socket is closed with {@link SocketCloseCode.TryAgainLater} (1013) and gets no
   * more messages. Default 1 MiB: plenty for a peer that reads, a hard stop for one that does not.
   */
  maxBufferedBytes?: number
  /**
   * Ping every `interval` ms; a peer that has not answered the previous ping with a pong is
   * terminated (so a dead peer goes within two intervals). Default `{ interval: 30_000 }`: below the
   * 60 s idle timeout of common proxies (nginx `proxy_read_timeout`, AWS ALB), so pings also keep
   * the connection alive through them. `false` turns it off.
   */
  heartbeat?: { interval?: number } | false
  /** permessage-deflate. Default `false`: compression costs memory per connection and CPU. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
  /** Turns a received message's text into a value. Default `JSON.parse`; a throw closes with 1007. */
  parse?: (text: string) => TReceive
  /** How long `close()` waits for peers to answer the close handshake before terminating them. Default 5000 ms. */
  closeTimeout?: number
  /** A peer connected (after `authenticate`). A throw or rejection closes it with 1011. */
  onConnect?: (client: SocketClient<TSend, TUser>) => void | Promise<void>
  /** A message arrived and was parsed. Not awaited: messages are not serialized behind a slow handler. */
  onMessage?: (message: TReceive, client: SocketClient<TSend, TUser>) => void | Promise<void>
  /** A peer is gone, with the close code (1006 when the connection dropped or was terminated). */
  onClose?: (client: SocketClient<TSend, TUser>, code: number, reason: string) => void
  /**
   * A hook threw, or `authenticate` threw without a `status`. Default: `console.error`. Faults of the
   * peer (invalid or oversized messages, slowness, protocol errors) are not errors of the server:
   * they end in `onClose` with their close code. An `onError` that throws is logged with
   * `console.error`, never rethrown.
   */
  onError?: (error: unknown, client: SocketClient<TSend, TUser> | undefined) => void
}

/**
 * Options of {@link createSocketServer} with the endpoint's definitions (`{ client, server }`, each
 * from `defineEvents`; the same object the client's `createSocket(url, { events })` takes).
 * Received messages are envelopes `{ type, data }` of the `client` definition, validated before
 * `onMessage` (an invalid one, or an unknown type, closes that peer with 1007 and a reason naming
 * the event type and the issue, like any invalid payload); `send()` and `broadcast()` take envelopes
 * of the `server` definition, validated in development (a bad one throws `ValidationError` and
 * nothing is sent). Schemas must validate synchronously.
 */
export interface TypedSocketServerOptions<C extends EventDefinition, S extends EventDefinition, TUser = undefined>
  extends Omit<SocketServerOptions<EventEnvelope<C>, EventEnvelopeInput<S>, TUser>, 'parse'> {
  /** What clients may send (`client`) and what the server may send (`server`). */
  events: SocketEvents<C, S>
  /**
   * Validate what the server sends. Default: `true` unless `NODE_ENV` is `"production"`. What
   * clients send is always validated.
   */
  validate?: boolean
}

/** A WebSocket endpoint; see {@link createSocketServer}. */
export interface SocketServer<TSend = unknown, TUser = undefined> {
  /** The connected peers. */
  readonly clients: ReadonlySet<SocketClient<TSend, TUser>>
  /** `clients.size`. */
  readonly clientCount: number
  /**
   * Sends `data` (serialized once) to every open client, or those `filter` accepts; returns how many
   * it was sent to. Slow peers are closed as with {@link SocketClient.send}.
   */
  broadcast(data: TSend, filter?: (client: SocketClient<TSend, TUser>) => boolean): number
  /**
   * Handles one `upgrade` event: returns `false` (and leaves the socket alone) when the path does
   * not match, `true` when it took the request (accepted or refused). Attached for you with `server`.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean
  /**
   * Stops accepting (detaches from `server`, pending upgrades get 503), closes every socket with
   * 1001, terminates those that do not answer within `closeTimeout`, and stops the heartbeat.
   * Resolves when every socket is closed. Idempotent.
   */
  close(): Promise<void>
}

/** The outcome of the upgrade checks: accept with the user, or refuse with an HTTP status. */
type Decision<TUser> = { user: TUser } | { status: number }

/** Default {@link SocketServerOptions.maxPayload}. */
export const DEFAULT_SOCKET_MAX_PAYLOAD = 64 * 1024
/** Default {@link SocketServerOptions.maxBufferedBytes}. */
export const DEFAULT_SOCKET_MAX_BUFFERED_BYTES = 1024 * 1024
/** Default heartbeat interval, in ms. */
export const DEFAULT_SOCKET_HEARTBEAT_INTERVAL = 30_000
const DEFAULT_CLOSE_TIMEOUT = 5_000
/** A close frame's reason is at most 123 bytes (RFC 6455 section 5.5: control frame payload <= 125). */
const MAX_REASON_BYTES = 123

/**
 * A JSON WebSocket endpoint on `ws`, attached to a `node:http` server at a path: authentication and
 * origin checks in the upgrade (plain 401 / 403, no WebSocket is created), a small `maxPayload`, no
 * compression, a heartbeat that terminates dead peers, a bound on what a slow peer may make the
 * server buffer, and `close()` that ends every socket with 1001.
 *
 * @example
 * ```ts
 * const server = http.createServer(app)
 * const sockets = createSocketServer<ChatIn, ChatOut, User>({
 *   server,
 *   path: '/ws',
 *   allowedOrigins: ['https://chat.example.com'],
 *   authenticate: (req) => sessions.get(parseCookie(req.headers.cookie).sid) ?? false,
 *   onMessage: (message, client) => sockets.broadcast({ from: client.user.name, text: message.text }),
 * })
 * server.listen(3000)
 * // on shutdown:
 * await sockets.close()
 * ```
 */
export function createSocketServer<C extends EventDefinition, S extends EventDefinition, TUser = undefined>(
  options: TypedSocketServerOptions<C, S, TUser>,
): SocketServer<EventEnvelopeInput<S>, TUser>
/**
 * A JSON WebSocket endpoint on `ws` (see the overload above for everything it does), with message
 * types given as type parameters: `TReceive` what `parse` returns (default `JSON.parse`), `TSend`
 * what `send` / `broadcast` take, `TUser` what `authenticate` returns.
 *
 * @example
 * ```ts
 * const sockets = createSocketServer<{ text: string }, { echo: string }>({
 *   server,
 *   path: '/echo',
 *   onMessage: (message, client) => client.send({ echo: message.text }),
 * })
 * ```
 */
export function createSocketServer<TReceive = unknown, TSend = unknown, TUser = undefined>(
  options?: SocketServerOptions<TReceive, TSend, TUser>,
): SocketServer<TSend, TUser>
export function createSocketServer<TReceive = unknown, TSend = unknown, TUser = undefined>(
  options: SocketServerOptions<TReceive, TSend, TUser> = {},
): SocketServer<TSend, TUser> {
  return new SocketServerImpl(options)
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback
  if (!Number.isSafeInteger(result) || result <= 0) {
    throw new TypeError(`createSocketServer: ${name} must be a positive integer, got ${String(value)}`)
  }
  return result
}

class SocketServerImpl<TReceive, TSend, TUser> implements SocketServer<TSend, TUser> {
  readonly #options: SocketServerOptions<TReceive, TSend, TUser>
  readonly #clients = new Set<Client<TSend, TUser>>()
  readonly #wss: WebSocketServer
  readonly #maxBufferedBytes: number
  readonly #heartbeatInterval: number | undefined
  readonly #closeTimeout: number
  readonly #parse: (text: string) => TReceive
  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (this.handleUpgrade(request, socket, head)) return
    // Another path, and no other upgrade listener to take it: Node would leave the request hanging
    // until the client gives up, so it is answered here.
    if (this.#options.server?.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404)
  }
  #heartbeat: NodeJS.Timeout | undefined
  #closing: Promise<void> | undefined
  /** With `events`: checks what is sent against the server's definition before it is serialized. */
  readonly #check: ((data: unknown) => void) | undefined

  constructor(options: SocketServerOptions<TReceive, TSend, TUser> & { events?: SocketEvents; validate?: boolean }) {
    this.#options = options
    const maxPayload = positive('maxPayload', options.maxPayload, DEFAULT_SOCKET_MAX_PAYLOAD)
    this.#maxBufferedBytes = positive('maxBufferedBytes', options.maxBufferedBytes, DEFAULT_SOCKET_MAX_BUFFERED_BYTES)
    this.#closeTimeout = positive('closeTimeout', options.closeTimeout, DEFAULT_CLOSE_TIMEOUT)
    this.#heartbeatInterval =
      options.heartbeat === false
        ? undefined
        : positive('heartbeat.interval', options.heartbeat?.interval, DEFAULT_SOCKET_HEARTBEAT_INTERVAL)
    if (options.path !== undefined && !options.path.startsWith('/')) {
      throw new TypeError(`createSocketServer: path must start with "/", got ${JSON.stringify(options.path)}`)
    }
    const { events } = options
    const validate = options.validate ?? validatesByDefault()
    this.#check = events && ((data: unknown) => checkEnvelope(events.server, data, validate))
    // A typed endpoint validates every received envelope: a throw here closes the peer with 1007.
    this.#parse =
      options.parse ??
      (events
        ? (text: string) => assertEnvelope(events.client, JSON.parse(text)) as TReceive
        : (JSON.parse as (text: string) => TReceive))
    // noServer: this class owns the upgrade step (path, origin, authenticate); clientTracking off
    // because the client set lives here, with the heartbeat state.
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload,
      perMessageDeflate: options.perMessageDeflate ?? false,
    })
    options.server?.on('upgrade', this.#onUpgrade)
  }

  get clients(): ReadonlySet<SocketClient<TSend, TUser>> {
    return this.#clients
  }

  get clientCount(): number {
    return this.#clients.size
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const { path } = this.#options
    if (path !== undefined && pathnameOf(request.url) !== path) return false
    if (this.#closing !== undefined) {
      refuseUpgrade(socket, 503)
      return true
    }
    void this.#admit(request, socket, head)
    return true
  }

  async #admit(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Node hands over the raw socket without an error listener; a peer resetting it while
    // `authenticate` runs must not crash the process. The socket is destroyed then: nothing to do.
    const ignoreReset = () => undefined
    socket.on('error', ignoreReset)
    let decision: Decision<TUser>
    try {
      decision = await this.#decide(request)
    } catch (error) {
      // `allowedOrigins` as a predicate threw: a server bug, not the peer's fault.
      this.#reportError(error, undefined)
      decision = { status: 500 }
    } finally {
      socket.off('error', ignoreReset)
    }
    if (socket.destroyed) return
    if (this.#closing !== undefined) return refuseUpgrade(socket, 503)
    if ('status' in decision) return refuseUpgrade(socket, decision.status)
    // ws validates the handshake itself (version, key, extensions) and answers 400 when it is wrong.
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#connect(ws, request, decision.user))
  }

  async #decide(request: IncomingMessage): Promise<Decision<TUser>> {
    const { allowedOrigins, authenticate } = this.#options
    if (allowedOrigins !== undefined) {
      const header = request.headers.origin
      const origin = typeof header === 'string' ? header : undefined
      const allowed =
        typeof allowedOrigins === 'function'
          ? allowedOrigins(origin, request)
          : origin === undefined || allowedOrigins.some((allowedOrigin) => sameOrigin(allowedOrigin, origin))
      if (!allowed) return { status: 403 }
    }
    if (authenticate === undefined) return { user: undefined as TUser }
    let user: AuthenticateResult<TUser>
    try {
      user = await authenticate(request)
    } catch (error) {
      const status = (error as { status?: unknown } | null)?.status
      if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599) return { status }
      this.#reportError(error, undefined)
      return { status: 401 }
    }
    if (user === false || user === null || user === undefined) return { status: 401 }
    return { user }
  }

  #connect(ws: WebSocket, request: IncomingMessage, user: TUser): void {
    const client = new Client<TSend, TUser>(ws, request, user, this.#maxBufferedBytes, this.#check)
    this.#clients.add(client)
    ws.on('pong', () => {
      client.alive = true
    })
    ws.on('message', (data, isBinary) => this.#receive(client, data, isBinary))
    // Protocol errors (oversized message: 1009, invalid frame: 1002 or 1007) and resets: ws closes
    // the socket itself and `close` follows with the code, reported through onClose.
    ws.on('error', () => undefined)
    ws.once('close', (code, reason) => {
      this.#clients.delete(client)
      if (this.#clients.size === 0) this.#stopHeartbeat()
      this.#runHook(client, () => this.#options.onClose?.(client, code, reason.toString()))
    })
    this.#startHeartbeat()
    this.#runHook(client, () => this.#options.onConnect?.(client), true)
  }

  #receive(client: Client<TSend, TUser>, data: RawData, isBinary: boolean): void {
    let message: TReceive
    try {
      message = this.#parse(rawToText(data, isBinary))
    } catch (error) {
      // RFC 6455 1007: "data within a message that was not consistent with the type of the message".
      client.close(SocketCloseCode.InvalidPayload, `Invalid message: ${(error as Error).message}`)
      return
    }
    this.#runHook(client, () => this.#options.onMessage?.(message, client), true)
  }

  /** Runs a hook; a throw or rejection is reported and, when `closeOnError`, closes the client with 1011. */
  #runHook(client: Client<TSend, TUser>, hook: () => unknown, closeOnError = false): void {
    const fail = (error: unknown) => {
      this.#reportError(error, client)
      if (closeOnError) client.close(SocketCloseCode.InternalError, 'Internal server error')
    }
    try {
      const result = hook()
      if (result instanceof Promise) result.catch(fail)
    } catch (error) {
      fail(error)
    }
  }

  #reportError(error: unknown, client: SocketClient<TSend, TUser> | undefined): void {
    const { onError } = this.#options
    if (onError === undefined) {
      console.error('[sluice] socket server:', error)
      return
    }
    // Called from ws event listeners and promise reactions: a throw here would be an uncaught
    // exception (a process crash) or an unhandled rejection, and would skip closing the client.
    try {
      onError(error, client)
    } catch (failure) {
      console.error('[sluice] socket server onError threw:', failure)
    }
  }

  #startHeartbeat(): void {
    const interval = this.#heartbeatInterval
    if (interval === undefined || this.#heartbeat !== undefined) return
    this.#heartbeat = setInterval(() => {
      for (const client of this.#clients) {
        if (!client.alive) {
          // No pong since the last ping: the peer (or the path to it) is dead. No close handshake,
          // it would wait for that dead peer too.
          client.socket.terminate()
          continue
        }
        client.alive = false
        client.socket.ping()
      }
    }, interval)
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat)
    this.#heartbeat = undefined
  }

  broadcast(data: TSend, filter?: (client: SocketClient<TSend, TUser>) => boolean): number {
    this.#check?.(data)
    const text = serialize(data)
    let sent = 0
    for (const client of this.#clients) {
      if ((filter === undefined || filter(client)) && client.sendText(text)) sent++
    }
    return sent
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown(): Promise<void> {
    this.#options.server?.off('upgrade', this.#onUpgrade)
    this.#stopHeartbeat()
    const clients = [...this.#clients]
    const closed = clients.map(
      (client) =>
        new Promise<void>((resolve) => {
          if (client.socket.readyState === WebSocket.CLOSED) resolve()
          else client.socket.once('close', () => resolve())
        }),
    )
    for (const client of clients) client.close(SocketCloseCode.GoingAway, 'Server shutting down')
    const stragglers = setTimeout(() => {
      for (const client of clients) client.socket.terminate()
    }, this.#closeTimeout)
    try {
      await Promise.all(closed)
    } finally {
      clearTimeout(stragglers)
    }
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()))
  }
}

class Client<TSend, TUser> implements SocketClient<TSend, TUser> {
  readonly id = globalThis.crypto.randomUUID()
  readonly user: TUser
  readonly request: IncomingMessage
  readonly socket: WebSocket
  /** Answered the last heartbeat ping (or none was sent yet). */
  alive = true
  readonly #maxBufferedBytes: number
  readonly #check: ((data: unknown) => void) | undefined

  constructor(
    socket: WebSocket,
    request: IncomingMessage,
    user: TUser,
    maxBufferedBytes: number,
    check?: (data: unknown) => void,
  ) {
    this.socket = socket
    this.request = request
    this.user = user
    this.#maxBufferedBytes = maxBufferedBytes
    this.#check = check
  }

  send(data: TSend): boolean {
    this.#check?.(data)
    return this.sendText(serialize(data))
  }

  sendText(text: string): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) return false
    this.socket.send(text)
    if (this.socket.bufferedAmount > this.#maxBufferedBytes) {
      // The peer is not reading: stop feeding it rather than buffer without bound. The close frame
      // queues behind the data; ws destroys the socket if the peer never completes the handshake.
      this.close(
        SocketCloseCode.TryAgainLater,
        `Slow consumer: more than ${this.#maxBufferedBytes} bytes waiting (maxBufferedBytes)`,
      )
      return false
    }
    return true
  }

  close(code?: number, reason?: string): void {
    const state = this.socket.readyState
    if (state === WebSocket.CLOSING || state === WebSocket.CLOSED) return
    this.socket.close(code, reason === undefined ? undefined : truncateReason(reason))
  }
}

function serialize(data: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify(data)
  } catch (cause) {
    throw new TypeError(`socket send: data cannot be encoded as JSON (${(cause as Error).message})`, { cause })
  }
  if (text === undefined) throw new TypeError(`socket send: data of type ${typeof data} cannot be encoded as JSON`)
  return text
}

/** Created on first use: nothing is allocated when the module is imported. */
let strictUtf8: TextDecoder | undefined

function rawToText(data: RawData, isBinary: boolean): string {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
  // Text frames were checked as UTF-8 by ws already; binary frames are decoded strictly so that
  // malformed bytes are refused instead of becoming U+FFFD.
  if (!isBinary) return bytes.toString('utf8')
  strictUtf8 ??= new TextDecoder('utf-8', { fatal: true })
  return strictUtf8.decode(bytes)
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason)
  if (bytes.length <= MAX_REASON_BYTES) return reason
  // Cut on a character boundary: a lone half of a UTF-8 sequence would make the frame invalid.
  let end = MAX_REASON_BYTES
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}

/**
 * The path of a request target, or `undefined` when it is no URL: Node's parser lets targets such as
 * `http://[` through, and a `new URL` throw inside the `upgrade` listener would crash the process.
 */
function pathnameOf(target: string | undefined): string | undefined {
  if (!URL.canParse(target ?? '/', 'http://localhost')) return undefined
  return new URL(target ?? '/', 'http://localhost').pathname
}

function sameOrigin(allowed: string, origin: string): boolean {
  return allowed.replace(/\/+$/, '').toLowerCase() === origin.toLowerCase()
}

/** Answers a refused upgrade with a plain HTTP response, as ws's own abortHandshake does. */
function refuseUpgrade(socket: Duplex, status: number): void {
  if (socket.destroyed) return
  const text = STATUS_CODES[status] ?? 'Error'
  // Node hands over upgrade sockets without an error listener: a peer resetting the connection
  // while the answer is written must not crash the process. The socket is destroyed either way.
  socket.on('error', () => socket.destroy())
  socket.once('finish', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  )
}
