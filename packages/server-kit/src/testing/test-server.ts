import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import {
  ContentTypeError,
  type EventStreamMessage,
  HttpError,
  type ReadEventStreamOptions,
  type ReadNdjsonOptions,
  readEventStream,
  readNdjson,
} from '@sluice/client'
import { type FetchHandler, toNodeHandler } from '../node-handler.js'
import { openTestSocket, type TestSocket, type TestSocketOptions } from './test-socket.js'

/** A `node:http` request listener, as given to `http.createServer` (Express apps are ones too). */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown

/**
 * What {@link createTestServer} serves: a Node listener (a function of two or more parameters), a
 * Fetch handler (a function of at most one parameter), or an object with a `fetch` method (a Hono
 * app, a Bun-style `{ fetch }` export). Pass `{ fetch }` when a Fetch handler declares more
 * parameters (e.g. `(request, env, ctx)`).
 */
export type TestServerHandler = NodeListener | FetchHandler | { fetch: FetchHandler }

/** `fetch` options for the test client's requests (`signal` combines with the server's own). */
export type TestRequestInit = RequestInit

/** A real HTTP server on `127.0.0.1` with a client that speaks its streams. */
export interface TestServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string
  /** The underlying server, e.g. to attach a WebSocket server to it. */
  readonly server: Server
  /**
   * Requests `path` and yields the parsed SSE messages (`@sluice/client`'s `readEventStream`).
   * Throws `HttpError` for a non-2xx status and `ContentTypeError` unless `text/event-stream`.
   * Breaking out of the loop closes the request; `close()`, `init.signal` or `options.signal`
   * aborting ends the loop normally.
   */
  events(
    path: string,
    init?: TestRequestInit,
    options?: ReadEventStreamOptions,
  ): AsyncGenerator<EventStreamMessage, void, undefined>
  /** Requests `path` and yields the parsed NDJSON values (`readNdjson`); same checks as `events`. */
  ndjson<T = unknown>(
    path: string,
    init?: TestRequestInit,
    options?: ReadNdjsonOptions,
  ): AsyncGenerator<T, void, undefined>
  /** Requests `path` and returns the raw `Response` (any status); `close()` aborts it if still open. */
  stream(path: string, init?: TestRequestInit): Promise<Response>
  /** Opens a WebSocket (`ws`) to `path`; resolves once open, rejects with `HttpError` if refused. */
  websocket(path: string, options?: TestSocketOptions): Promise<TestSocket>
  /**
   * Aborts every request and terminates every WebSocket it opened, destroys every connection still
   * open to the server (whoever opened it), then closes the server.
   */
  close(): Promise<void>
}

function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() })
}

function isNodeListener(handler: TestServerHandler): handler is NodeListener {
  return typeof handler === 'function' && handler.length >= 2
}

/**
 * Starts a real HTTP server on `127.0.0.1`, on a free port, serving `handler`, with a client for its
 * SSE, NDJSON, raw and WebSocket endpoints. Everything it opens is released by `close()`.
 *
 * @example
 * ```ts
 * const server = await createTestServer((request) => eventStreamResponse(request, [{ data: 'hi' }]))
 * for await (const message of server.events('/')) expect(message.data).toBe('hi')
 * await server.close()
 * ```
 */
export async function createTestServer(handler: TestServerHandler): Promise<TestServer> {
  const listener: NodeListener = isNodeListener(handler)
    ? handler
    : toNodeHandler(typeof handler === 'function' ? handler : (request) => handler.fetch(request))
  const server = createServer((req, res) => {
    void Promise.resolve()
      .then(() => listener(req, res))
      .then(undefined, (error: unknown) => {
        console.error('[sluice] test server handler failed:', error)
        if (!res.headersSent && !res.destroyed) res.writeHead(500).end()
        else res.destroy()
      })
  })
  // Every connection, including upgraded (WebSocket) ones that closeAllConnections() does not see,
  // so close() never waits on a client someone else opened.
  const connections = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    connections.add(socket)
    socket.once('close', () => connections.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  const requests = new Set<AbortController>()
  const sockets = new Set<TestSocket>()
  let closed = false

  const resolve = (path: string) => new URL(path, `${url}/`).href

  /** One tracked request: aborted by `close()`, by `init.signal`, or by `signal` (the reader's). */
  async function request(
    path: string,
    init: TestRequestInit | undefined,
    signals: ReadonlyArray<AbortSignal | null | undefined> = [],
  ): Promise<{ response: Response; signal: AbortSignal; done: () => void }> {
    if (closed) throw new Error('createTestServer: the server is closed')
    const controller = new AbortController()
    const linked = [init?.signal, ...signals].filter((signal): signal is AbortSignal => signal != null)
    const onAbort = (event: Event) => controller.abort((event.target as AbortSignal).reason)
    const done = () => {
      requests.delete(controller)
      for (const signal of linked) signal.removeEventListener('abort', onAbort)
    }
    requests.add(controller)
    for (const signal of linked) {
      if (signal.aborted) controller.abort(signal.reason)
      else signal.addEventListener('abort', onAbort, { once: true })
    }
    try {
      const response = await fetch(resolve(path), { ...init, signal: controller.signal })
      return { response, signal: controller.signal, done }
    } catch (error) {
      done()
      throw error
    }
  }

  async function open(path: string, init: TestRequestInit | undefined, expected: string, signal?: AbortSignal) {
    const opened = await request(path, init, [signal])
    const { response, done } = opened
    try {
      if (!response.ok) throw new HttpError(response.status, response.statusText)
      const type = response.headers.get('content-type')
      if (type?.split(';')[0]?.trim().toLowerCase() !== expected) throw new ContentTypeError(expected, type)
    } catch (error) {
      await response.body?.cancel()
      done()
      throw error
    }
    return opened
  }

  return {
    url,
    server,
    async *events(path, init, options) {
      const { response, signal, done } = await open(path, init, 'text/event-stream', options?.signal)
      try {
        // The body, not the Response: some servers (e.g. @hono/node-server) replace the global
        // Response class. The request's own signal makes close() end the loop normally.
        yield* readEventStream(response.body ?? emptyBody(), { ...options, signal })
      } finally {
        done()
      }
    },
    async *ndjson<T>(path: string, init?: TestRequestInit, options?: ReadNdjsonOptions) {
      const { response, signal, done } = await open(path, init, 'application/x-ndjson', options?.signal)
      try {
        yield* readNdjson<T>(response.body ?? emptyBody(), { ...options, signal })
      } finally {
        done()
      }
    },
    async stream(path, init) {
      // Tracked until close(): the caller may leave the body unread.
      const { response } = await request(path, init)
      return response
    },
    async websocket(path, options) {
      if (closed) throw new Error('createTestServer: the server is closed')
      const socket = await openTestSocket(resolve(path).replace(/^http/, 'ws'), options)
      sockets.add(socket)
      void socket.closed.then(() => sockets.delete(socket))
      return socket
    },
    async close() {
      if (closed) return
      closed = true
      for (const controller of requests) controller.abort(new Error('The test server closed'))
      requests.clear()
      await Promise.all([...sockets].map((socket) => socket.terminate()))
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose())
        // Keep-alive, streaming and upgraded connections would hold close() open forever.
        for (const socket of connections) socket.destroy()
      })
    },
  }
}
