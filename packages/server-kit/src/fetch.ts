/**
 * The Fetch sink: streams as a `Response` for Fetch runtimes (Hono, Bun, Deno, Workers, Next route
 * handlers). The body is a pull-based `ReadableStream`: the runtime pulls when the socket can take
 * more, and only then is the source pulled (backpressure).
 */
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

// One chunk queued at most: the source is pulled only after the runtime has taken the previous
// chunk, so a client that stops reading stops the source within one chunk. A chunk is one item of
// an asynchronous source, or a batch of a synchronous one's items of at most CHUNK_CHARS characters
// (plus the one item that crosses it): one enqueue, one read and one socket write per batch
// instead of per event (issue 6, server-throughput).
const QUEUED_CHUNKS = 1
const CHUNK_CHARS = 16 * 1024

// Stateless, so one for every stream (created on first use: nothing runs at import).
let utf8: TextEncoder | undefined

/**
 * The Fetch sink, a class (not a set of closures per stream: issue 7). It is also the body's
 * underlying source (`pull`, `cancel`) and the `request.signal` listener (`handleEvent`).
 */
class FetchSink implements PumpSink {
  readonly body: ReadableStream<Uint8Array>
  readonly #request: Request
  readonly #hooks: PumpHooks
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined
  #open = true

  constructor(request: Request, hooks: PumpHooks) {
    this.#request = request
    this.#hooks = hooks
    this.body = new ReadableStream<Uint8Array>(
      new BodySource(this),
      new CountQueuingStrategy({ highWaterMark: QUEUED_CHUNKS }),
    )
  }

  /** The body's controller, given once by the stream's `start`. */
  attach(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller
  }

  /** The runtime wants more (it pulls when the socket can take more): backpressure is released. */
  pulled(): void {
    this.#hooks.drain()
  }

  /** The runtime cancelled the body: the client went away (or a consumer stopped reading). */
  cancelled(): void {
    this.#open = false
    this.#hooks.disconnect()
  }

  /** `request.signal` aborted: the client went away. */
  handleEvent(): void {
    this.#hooks.disconnect()
  }

  start(): void {
    // Status and headers are the Response's; the runtime sends them as soon as it is returned.
    if (this.#request.signal.aborted) {
      this.#hooks.disconnect()
      return
    }
    this.#request.signal.addEventListener('abort', this, { once: true })
  }

  write(chunk: string | Uint8Array): boolean {
    const controller = this.#controller
    if (!this.#open || controller === undefined) return false
    utf8 ??= new TextEncoder()
    controller.enqueue(typeof chunk === 'string' ? utf8.encode(chunk) : chunk)
    return (controller.desiredSize ?? 0) > 0
  }

  isReady(): boolean {
    return this.#open && (this.#controller?.desiredSize ?? 0) > 0
  }

  room(): number {
    return CHUNK_CHARS
  }

  end(): Promise<void> {
    if (this.#open) this.#controller?.close()
    this.#close()
    return Promise.resolve()
  }

  destroy(reason: Error, clientGone: boolean): void {
    // A body nobody reads any more is closed quietly: erroring it would only make the runtime
    // log a failure for a client that simply left. Otherwise the error tells the runtime to
    // abort the connection, so the client sees a truncated response, not a complete one.
    if (this.#open && clientGone) this.#controller?.close()
    else if (this.#open) this.#controller?.error(reason)
    this.#close()
  }

  #close(): void {
    this.#open = false
    this.#request.signal.removeEventListener('abort', this)
  }
}

/** The body's underlying source: forwards to its sink (methods on the prototype, no closures). */
class BodySource implements UnderlyingDefaultSource<Uint8Array> {
  readonly #sink: FetchSink

  constructor(sink: FetchSink) {
    this.#sink = sink
  }

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#sink.attach(controller)
  }

  pull(): void {
    this.#sink.pulled()
  }

  cancel(): void {
    this.#sink.cancelled()
  }
}

function pumpResponse<T>(
  request: Request,
  source: StreamSource<T, Request>,
  encoder: StreamEncoder<T>,
  options: ServeOptions,
  defaults: Record<string, string>,
): Response {
  const { status, sendTimeout } = checkServeOptions(options)
  const headers = mergeHeaders(defaults, options.headers)
  let body: ReadableStream<Uint8Array> | undefined
  void runPump(
    {
      source,
      encoder,
      status,
      headers,
      request,
      lastEventId: resolveLastEventId(request.headers.get('last-event-id'), request.url),
      signal: options.signal,
      sendTimeout,
      onClose: options.onClose,
    },
    (hooks) => {
      const sink = new FetchSink(request, hooks)
      body = sink.body
      return sink
    },
  )
  // runPump creates the sink synchronously, so `body` is set here.
  return new Response(body ?? null, { status, headers })
}

/** A source of SSE messages for the Fetch helpers. */
export type FetchEventStreamSource = StreamSource<EventMessage, Request>

/**
 * Serves Server-Sent Events as a `Response` (Hono, Bun, Deno, Workers, Next route handlers). Same
 * behaviour as `sendEventStream`: headers at once, `retry:` first, keepalive, backpressure through a
 * pull-based body, `request.signal` abort or body cancel = client gone, `options.signal` = shutdown.
 *
 * @example
 * ```ts
 * // Hono
 * app.get('/events', (c) =>
 *   eventStreamResponse(c.req.raw, ({ lastEventId, signal }) => channel.subscribe({ lastEventId, signal })),
 * )
 * ```
 */
export function eventStreamResponse(
  request: Request,
  source: FetchEventStreamSource,
  options: ServeEventStreamOptions = {},
): Response {
  return pumpResponse(request, source, eventStreamEncoder(options), options, EVENT_STREAM_HEADERS)
}

/**
 * Serves NDJSON as a `Response` (one JSON value per line, `application/x-ndjson`).
 *
 * @example
 * ```ts
 * export const GET = (request: Request) =>
 *   ndjsonResponse(request, async function* ({ signal }) {
 *     for await (const token of llm.stream(prompt, { signal })) yield { token }
 *   })
 * ```
 */
export function ndjsonResponse<T = unknown>(
  request: Request,
  source: StreamSource<T, Request>,
  options: ServeNdjsonOptions = {},
): Response {
  return pumpResponse<unknown>(request, source, ndjsonEncoder(options), options, NDJSON_HEADERS)
}

/**
 * Streams plain text or bytes as a `Response` (downloads, logs) with backpressure and cleanup. A
 * source error errors the body, so the client sees a truncated transfer, never a complete-looking one.
 *
 * @example
 * ```ts
 * app.get('/logs', (c) =>
 *   streamResponse(c.req.raw, tail('/var/log/app.log'), { headers: { 'content-type': 'text/plain; charset=utf-8' } }),
 * )
 * ```
 */
export function streamResponse(
  request: Request,
  source: StreamSource<string | Uint8Array, Request>,
  options: ServeStreamOptions = {},
): Response {
  return pumpResponse(request, source, byteStreamEncoder(options), options, STREAM_HEADERS)
}
