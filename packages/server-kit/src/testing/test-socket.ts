import { HttpError, LimitExceededError, TimeoutError } from '@sluice/client'
import { type ClientOptions, WebSocket } from 'ws'

/** How a WebSocket closed. */
export interface TestSocketClose {
  readonly code: number
  readonly reason: string
}

/** A message received by a {@link TestSocket}: text frames as strings, binary frames as bytes. */
export type TestSocketMessage = string | Uint8Array

/** Options of `TestServer.websocket()`: `ws` client options plus subprotocols. */
export interface TestSocketOptions extends ClientOptions {
  protocols?: string | string[]
  /** Default timeout of `receive()` / `receiveJson()`, in ms. Default 5 000. */
  receiveTimeout?: number
}

/** A `ws` client with promise-based receiving, for tests. */
export interface TestSocket {
  /** The underlying `ws` WebSocket (e.g. to listen for `ping`). */
  readonly raw: WebSocket
  /** Sends a text (string) or binary (bytes) message. */
  send(data: string | Uint8Array): void
  /** Sends `JSON.stringify(value)` as a text message. */
  sendJson(value: unknown): void
  /**
   * The next message (messages are queued from the moment the socket opened). Rejects with
   * `TimeoutError` when none arrives within `timeout` ms, and with an `Error` naming the close code
   * when the socket closed first.
   */
  receive(options?: { timeout?: number }): Promise<TestSocketMessage>
  /** The next message, `JSON.parse`d. */
  receiveJson<T = unknown>(options?: { timeout?: number }): Promise<T>
  /** Starts the closing handshake; resolves once closed. */
  close(code?: number, reason?: string): Promise<TestSocketClose>
  /** Drops the connection without a closing handshake; resolves once closed. */
  terminate(): Promise<TestSocketClose>
  /** Resolves when the socket has closed, however it closed. */
  readonly closed: Promise<TestSocketClose>
}

/** Bound on messages received but not yet taken with `receive()`. */
const MAX_QUEUED_MESSAGES = 10_000
const DEFAULT_RECEIVE_TIMEOUT = 5_000
const DEFAULT_HANDSHAKE_TIMEOUT = 5_000

/** Opens a {@link TestSocket}; resolves once open. Internal to `createTestServer`. */
export function openTestSocket(url: string, options: TestSocketOptions = {}): Promise<TestSocket> {
  const { protocols, receiveTimeout = DEFAULT_RECEIVE_TIMEOUT, ...clientOptions } = options
  const ws = new WebSocket(url, protocols, { handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT, ...clientOptions })
  const queue: TestSocketMessage[] = []
  let waiter: { resolve: (message: TestSocketMessage) => void; reject: (error: Error) => void } | undefined
  let failure: Error | undefined
  let closeInfo: TestSocketClose | undefined

  const closed = new Promise<TestSocketClose>((resolve) => {
    ws.on('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString() }
      failure ??= new Error(`The WebSocket closed (code ${code}) before a message arrived`)
      waiter?.reject(failure)
      waiter = undefined
      resolve(closeInfo)
    })
  })

  ws.on('message', (data, isBinary) => {
    // Binary frames as a plain Uint8Array copy (a ws Buffer may be a view into a shared pool).
    const message: TestSocketMessage = isBinary ? new Uint8Array(toBytes(data)) : toBytes(data).toString()
    if (waiter !== undefined) {
      const { resolve } = waiter
      waiter = undefined
      resolve(message)
      return
    }
    if (queue.length >= MAX_QUEUED_MESSAGES) {
      failure = new LimitExceededError(
        'maxQueuedMessages',
        MAX_QUEUED_MESSAGES,
        `The test socket queued ${MAX_QUEUED_MESSAGES} messages nobody received; it was terminated`,
      )
      ws.terminate()
      return
    }
    queue.push(message)
  })

  function receive(opts?: { timeout?: number }): Promise<TestSocketMessage> {
    const next = queue.shift()
    if (next !== undefined) return Promise.resolve(next)
    if (closeInfo !== undefined || failure !== undefined) {
      return Promise.reject(failure ?? new Error('The WebSocket is closed'))
    }
    if (waiter !== undefined) return Promise.reject(new Error('receive() is already waiting for a message'))
    const ms = opts?.timeout ?? receiveTimeout
    return new Promise<TestSocketMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiter = undefined
        reject(new TimeoutError('receiveTimeout', ms, `No WebSocket message arrived within ${ms} ms`))
      }, ms)
      waiter = {
        resolve: (message) => {
          clearTimeout(timer)
          resolve(message)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
    })
  }

  const socket: TestSocket = {
    raw: ws,
    send(data) {
      ws.send(data)
    },
    sendJson(value) {
      ws.send(JSON.stringify(value))
    },
    receive,
    async receiveJson<T>(opts?: { timeout?: number }) {
      const message = await receive(opts)
      return JSON.parse(typeof message === 'string' ? message : new TextDecoder().decode(message)) as T
    },
    close(code, reason) {
      if (ws.readyState !== WebSocket.CLOSED) ws.close(code, reason)
      return closed
    },
    terminate() {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate()
      return closed
    },
    closed,
  }

  return new Promise<TestSocket>((resolve, reject) => {
    const onOpen = () => {
      cleanup()
      resolve(socket)
    }
    const onError = (error: Error) => {
      cleanup()
      reject(error)
    }
    const onUnexpected = (
      req: { destroy(): void },
      res: { statusCode?: number; statusMessage?: string; resume(): void },
    ) => {
      cleanup()
      res.resume()
      req.destroy()
      reject(new HttpError(res.statusCode ?? 0, res.statusMessage ?? ''))
    }
    const cleanup = () => {
      ws.off('open', onOpen)
      ws.off('error', onError)
      ws.off('unexpected-response', onUnexpected)
    }
    ws.on('open', onOpen)
    ws.on('error', onError)
    ws.on('unexpected-response', onUnexpected)
    // After the handshake, errors (e.g. a peer that violates the protocol) end in 'close'; this
    // listener keeps them from crashing the test process, and records them for receive().
    ws.on('error', (error) => {
      failure ??= error
    })
  })
}

function toBytes(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data
  if (Array.isArray(data)) return Buffer.concat(data)
  return Buffer.from(data)
}
