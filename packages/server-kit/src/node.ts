/**
 * The Node sink: streams on `node:http` (`IncomingMessage` / `ServerResponse`), which also serves
 * Express (`req`, `res`) and Fastify (`request.raw`, `reply.raw` after `reply.hijack()`).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import {
  byteStreamEncoder,
  EVENT_STREAM_HEADERS,
  eventStreamEncoder,
  NDJSON_HEADERS,
  ndjsonEncoder,
  type ServeEventStreamOptions,
  type ServeNdjsonOptions,
  type ServeStreamOptions,
  STREAM_HEADERS,
} from './encoders.js'
import type { EventMessage } from './format.js'
import {
  checkServeOptions,
  mergeHeaders,
  type PumpHooks,
  type PumpSink,
  resolveLastEventId,
  runPump,
  type ServeOptions,
  type StreamEncoder,
  type StreamSource,
} from './pump.js'

/** Node `Headers` -> `writeHead` headers, keeping several `set-cookie` values apart. */
export function toNodeHeaders(headers: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of headers) {
    if (name !== 'set-cookie') out[name] = value
  }
  const cookies = headers.getSetCookie()
  if (cookies.length > 0) out['set-cookie'] = cookies
  return out
}

// The sink of a response, for the listeners below: shared functions (`this` is the response), not
// a closure per stream (issue 7, "One process, many streams").
const SINK = Symbol('sluice.nodeSink')
type SinkOwner = ServerResponse & { [SINK]?: NodeSink }

function onResponseDrain(this: SinkOwner): void {
  this[SINK]?.onDrain()
}

// 'close' before the response finished means the connection went away (client disconnect, or
// the socket was destroyed under us); after 'finish' it is the normal end.
function onResponseClose(this: SinkOwner): void {
  if (!this.writableFinished) this[SINK]?.hooks.disconnect()
}

function noteLateError(): void {
  // Intentionally nothing more: see the comment where this listener is attached.
}

/** The Node sink: writes to a `ServerResponse`; its 'drain' and 'close' events call the pump back. */
class NodeSink implements PumpSink {
  #needDrain = false
  readonly #res: SinkOwner
  readonly #statusText: string | undefined
  readonly hooks: PumpHooks

  constructor(res: ServerResponse, hooks: PumpHooks, statusText: string | undefined) {
    this.#res = res
    this.hooks = hooks
    this.#statusText = statusText
    this.#res[SINK] = this
    res.on('drain', onResponseDrain)
    res.on('close', onResponseClose)
    // Stays attached on purpose: a write racing a reset socket emits 'error' on `res`, and an
    // unhandled 'error' event would crash the process. The loss itself is reported by 'close'.
    res.on('error', noteLateError)
  }

  onDrain(): void {
    this.#needDrain = false
    this.hooks.drain()
  }

  start(status: number, headers: Headers | Readonly<Record<string, string>>): void {
    const res = this.#res
    if (res.destroyed || res.writableEnded) {
      this.hooks.disconnect()
      return
    }
    if (!res.headersSent) {
      // Not `instanceof`: a Response's headers may come from another realm (jsdom, a vm context).
      const nodeHeaders = isHeaders(headers) ? toNodeHeaders(headers) : headers
      if (this.#statusText === undefined) res.writeHead(status, nodeHeaders)
      else res.writeHead(status, this.#statusText, nodeHeaders)
      // Headers go out now, before the first event: the client is `open` as soon as it is accepted.
      res.flushHeaders()
    }
    // Small events must not wait for Nagle's algorithm to coalesce them.
    res.socket?.setNoDelay(true)
  }

  write(chunk: string | Uint8Array): boolean {
    const res = this.#res
    if (res.destroyed || res.writableEnded) return false
    const ok = res.write(chunk)
    if (!ok) this.#needDrain = true
    return ok
  }

  isReady(): boolean {
    return !this.#needDrain && !this.#res.destroyed
  }

  room(): number {
    const res = this.#res
    return Math.max(1, res.writableHighWaterMark - res.writableLength)
  }

  end(): Promise<void> {
    const res = this.#res
    return new Promise<void>((resolve) => {
      const settle = () => {
        res.off('finish', settle)
        res.off('close', settle)
        this.#detach()
        resolve()
      }
      if (res.destroyed || res.writableFinished) {
        settle()
        return
      }
      res.on('finish', settle)
      res.on('close', settle)
      if (!res.writableEnded) res.end()
    })
  }

  destroy(): void {
    this.#detach()
    this.#res.destroy()
  }

  #detach(): void {
    const res = this.#res
    res.off('drain', onResponseDrain)
    res.off('close', onResponseClose)
    res[SINK] = undefined
  }
}

function isHeaders(headers: Headers | Readonly<Record<string, string>>): headers is Headers {
  return typeof (headers as { getSetCookie?: unknown }).getSetCookie === 'function'
}

function nodeHeaderValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Runs the pump for one Node request/response pair. Internal; shared by the three helpers below. */
export function pumpNode<T>(
  req: IncomingMessage,
  res: ServerResponse,
  source: StreamSource<T, IncomingMessage>,
  encoder: StreamEncoder<T>,
  options: ServeOptions,
  defaults: Record<string, string>,
  extra?: { statusText?: string | undefined; exactHeaders?: Headers },
): Promise<void> {
  const { status, sendTimeout } = checkServeOptions(options)
  // Without extra headers, the defaults go to `writeHead` as they are: a `Headers` object per
  // stream (and the Fetch headers code it compiles and runs) is only needed to merge.
  const headers =
    extra?.exactHeaders ?? (options.headers === undefined ? defaults : mergeHeaders(defaults, options.headers))
  return runPump(
    {
      // A HEAD response has no body (Node drops every write), so an endless source would be pulled
      // in a busy loop: send the headers and end.
      source: req.method === 'HEAD' ? [] : source,
      encoder,
      status,
      headers,
      request: req,
      lastEventId: resolveLastEventId(nodeHeaderValue(req.headers['last-event-id']), req.url ?? '/'),
      signal: options.signal,
      sendTimeout,
      onClose: options.onClose,
    },
    (hooks) => new NodeSink(res, hooks, extra?.statusText),
  )
}

/** A source of SSE messages for the Node helpers. */
export type NodeEventStreamSource = StreamSource<EventMessage, IncomingMessage>

/**
 * Serves Server-Sent Events on a Node response (`node:http`, Express, Fastify's `reply.raw`).
 *
 * Sends the status and headers at once, then `retry:` (when set), then every message the source
 * yields, pulling the next one only once the socket has drained. A `: keepalive` comment goes out
 * after 5 s of silence. The returned promise resolves when the stream has ended for any reason
 * (source done, client gone, shutdown, send timeout, source error); it never rejects for those. It
 * rejects only for misuse (invalid options), before anything is sent.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http'
 * import { sendEventStream } from '@sluice/server-kit'
 *
 * createServer((req, res) =>
 *   sendEventStream(req, res, async function* ({ signal, lastEventId }) {
 *     let n = Number(lastEventId ?? 0)
 *     while (!signal.aborted) {
 *       yield { id: String(++n), event: 'tick', data: { n } }
 *       await new Promise((resolve) => setTimeout(resolve, 1000))
 *     }
 *   }),
 * ).listen(3000)
 * ```
 *
 * @example Fastify
 * ```ts
 * app.get('/events', (request, reply) => {
 *   reply.hijack()
 *   return sendEventStream(request.raw, reply.raw, channel.subscribe.bind(channel))
 * })
 * ```
 */
export function sendEventStream(
  req: IncomingMessage,
  res: ServerResponse,
  source: NodeEventStreamSource,
  options: ServeEventStreamOptions = {},
): Promise<void> {
  // Not an `async` function: the pump's own promise is returned, none more held by an open stream.
  try {
    return pumpNode(req, res, source, eventStreamEncoder(options), options, EVENT_STREAM_HEADERS)
  } catch (misuse) {
    return Promise.reject(misuse)
  }
}

/**
 * Serves NDJSON (one JSON value per line, `application/x-ndjson`) on a Node response, with the same
 * backpressure, keepalive (an empty line), timeouts and cleanup as {@link sendEventStream}.
 *
 * @example
 * ```ts
 * app.get('/rows', (req, res) =>
 *   sendNdjson(req, res, async function* ({ signal }) {
 *     for await (const row of db.query('select * from logs', { signal })) yield row
 *   }),
 * )
 * ```
 */
export function sendNdjson<T = unknown>(
  req: IncomingMessage,
  res: ServerResponse,
  source: StreamSource<T, IncomingMessage>,
  options: ServeNdjsonOptions = {},
): Promise<void> {
  // Not an `async` function: the pump's own promise is returned, none more held by an open stream.
  try {
    return pumpNode<unknown>(req, res, source, ndjsonEncoder(options), options, NDJSON_HEADERS)
  } catch (misuse) {
    return Promise.reject(misuse)
  }
}

/**
 * Streams plain text or bytes (downloads, logs) on a Node response with backpressure, `sendTimeout`
 * and cleanup. The source yields strings (sent as UTF-8) or `Uint8Array`s; a `ReadableStream` works
 * too. A source error aborts the connection so the client never mistakes a truncated download for a
 * complete one. Default `content-type: application/octet-stream`; set `headers` for anything else.
 *
 * @example
 * ```ts
 * app.get('/export.csv', (req, res) =>
 *   sendStream(req, res, exportRows(), {
 *     headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="export.csv"' },
 *   }),
 * )
 * ```
 */
export function sendStream(
  req: IncomingMessage,
  res: ServerResponse,
  source: StreamSource<string | Uint8Array, IncomingMessage>,
  options: ServeStreamOptions = {},
): Promise<void> {
  // Not an `async` function: the pump's own promise is returned, none more held by an open stream.
  try {
    return pumpNode(req, res, source, byteStreamEncoder(options), options, STREAM_HEADERS)
  } catch (misuse) {
    return Promise.reject(misuse)
  }
}
