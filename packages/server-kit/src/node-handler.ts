/**
 * Serves a Fetch handler (`(request) => Response`) on `node:http`: the Request -> Response adapter.
 * The response body goes through the same pump as every other stream, so it gets backpressure,
 * `sendTimeout` and cleanup for free.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { byteStreamEncoder } from './encoders.js'
import { pumpNode, toNodeHeaders } from './node.js'
import { checkServeOptions } from './pump.js'

// Statuses whose responses have no body: https://fetch.spec.whatwg.org/#null-body-status
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/** A Fetch-style handler, as Hono's `app.fetch`, Bun's `fetch` or a Next route handler. */
export type FetchHandler = (request: Request) => Response | Promise<Response>

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /**
   * Called when the handler throws (the client gets a bare `500`) or the response body errors (the
   * connection is aborted). Default: `console.error`.
   */
  onError?: (error: unknown) => void
  /** Milliseconds a body write may wait to drain; see `ServeOptions.sendTimeout`. Default 30 s. */
  sendTimeout?: number | false
}

/**
 * Turns a Fetch handler into a `node:http` request listener. The `Request`'s `signal` aborts when
 * the client disconnects, so `eventStreamResponse` and friends see the disconnect; the response
 * body is pulled only while the socket drains. Useful to serve `eventStreamResponse` from
 * `node:http`, or a Hono app without `@hono/node-server`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { eventStreamResponse, toNodeHandler } from '@sluice/server-kit'
 *
 * createServer(toNodeHandler((request) => eventStreamResponse(request, ticks()))).listen(3000)
 * ```
 */
export function toNodeHandler(
  handler: FetchHandler,
  options: NodeHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const report = options.onError ?? ((error: unknown) => console.error('[sluice] fetch handler failed:', error))
  // Validated once, here, so a misconfiguration throws at setup instead of rejecting per request.
  const { sendTimeout } = checkServeOptions({ sendTimeout: options.sendTimeout })
  return async (req, res) => {
    const controller = new AbortController()
    const onClose = () => {
      // 'close' before the response finished: the client went away mid-request or mid-stream.
      if (!res.writableFinished) controller.abort(new DOMException('The client disconnected', 'AbortError'))
    }
    res.on('close', onClose)
    try {
      let request: Request
      try {
        request = toRequest(req, controller.signal)
      } catch {
        // Only a malformed request gets here (e.g. a Host header no URL can be built from): the
        // client's mistake, answered as such, not reported as a server failure.
        if (!res.headersSent && !res.destroyed) res.writeHead(400).end()
        return
      }
      let response: Response
      try {
        response = await handler(request)
      } catch (error) {
        // A handler that gave up because the client left (e.g. an AbortError from request.signal)
        // did nothing wrong, and nobody is there to answer.
        if (controller.signal.aborted) return
        report(error)
        if (!res.headersSent && !res.destroyed) res.writeHead(500).end()
        return
      }
      const { body } = response
      const statusText = response.statusText || undefined
      if (body === null || req.method === 'HEAD' || NULL_BODY_STATUSES.has(response.status)) {
        if (!res.headersSent && !res.destroyed) {
          const headers = toNodeHeaders(response.headers)
          if (statusText === undefined) res.writeHead(response.status, headers)
          else res.writeHead(response.status, statusText, headers)
          res.end()
        }
        // Never sent: cancel it so its source is released (its failure, if any, is the source's).
        await body?.cancel().then(undefined, report)
        return
      }
      // pumpNode never rejects for a valid status, and a Response's status always is one.
      await pumpNode(
        req,
        res,
        body,
        byteStreamEncoder({ onError: report }),
        { status: response.status, sendTimeout },
        {},
        { statusText, exactHeaders: response.headers },
      )
    } finally {
      res.off('close', onClose)
    }
  }
}

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const protocol = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  const url = new URL(req.url ?? '/', `${protocol}://${req.headers.host ?? 'localhost'}`)
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]
    const value = raw[i + 1]
    // HTTP/2 pseudo-headers (":path") are not valid Fetch header names.
    if (name !== undefined && value !== undefined && !name.startsWith(':')) headers.append(name, value)
  }
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal }
  if (hasBody) {
    init.body = requestBody(req)
    // Required by the Fetch spec for a streamed request body.
    init.duplex = 'half'
  }
  return new Request(url, init)
}

// Request bodies are pulled 64 KiB at a time: the socket is paused while the handler does not read.
const BODY_HIGH_WATER_MARK = 64 * 1024

/**
 * The request body as a pull-based stream (no `node:stream` import, so the package's root entry
 * stays loadable on Fetch runtimes). Cancelling it discards the rest of the body instead of
 * destroying the socket, so the handler can still answer.
 */
function requestBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false
  const detach = () => {
    settled = true
    req.off('data', onData)
    req.off('end', onEnd)
    req.off('error', onError)
    req.off('close', onClose)
  }
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const onData = (chunk: Buffer) => {
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    if ((controller.desiredSize ?? 0) <= 0) req.pause()
  }
  const onEnd = () => {
    detach()
    controller.close()
  }
  const onError = (error: Error) => {
    detach()
    controller.error(error)
  }
  const onClose = () => {
    // 'close' before 'end': the client went away mid-body.
    if (!settled) onError(new Error('The client disconnected before the request body was complete'))
  }
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
        req.on('data', onData)
        req.on('end', onEnd)
        req.on('error', onError)
        req.on('close', onClose)
        req.pause()
      },
      pull() {
        req.resume()
      },
      cancel() {
        detach()
        // Discard what is left, bounded by what the client sends; the socket stays usable.
        req.resume()
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: BODY_HIGH_WATER_MARK }),
  )
}
