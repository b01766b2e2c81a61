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

// One chunk (one event) queued at most: the source is pulled only after the runtime has taken the
// previous chunk, so a client that stops reading stops the source within one event.
const QUEUED_CHUNKS = 1

function createFetchSink(request: Request, hooks: PumpHooks): { sink: PumpSink; body: ReadableStream<Uint8Array> } {
  const encoder = new TextEncoder()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let open = true
  const onAbort = () => hooks.disconnect()
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      pull() {
        hooks.drain()
      },
      cancel() {
        // The runtime cancels the body when the client goes away (or a consumer stops reading).
        open = false
        hooks.disconnect()
      },
    },
    new CountQueuingStrategy({ highWaterMark: QUEUED_CHUNKS }),
  )
  const close = () => {
    open = false
    request.signal.removeEventListener('abort', onAbort)
  }
  const sink: PumpSink = {
    start() {
      // Status and headers are the Response's; the runtime sends them as soon as it is returned.
      if (request.signal.aborted) {
        hooks.disconnect()
        return
      }
      request.signal.addEventListener('abort', onAbort, { once: true })
    },
    write(chunk) {
      if (!open) return false
      controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)
      return (controller.desiredSize ?? 0) > 0
    },
    isReady: () => open && (controller.desiredSize ?? 0) > 0,
    end() {
      if (open) controller.close()
      close()
      return Promise.resolve()
    },
    destroy(reason, clientGone) {
      // A body nobody reads any more is closed quietly: erroring it would only make the runtime
      // log a failure for a client that simply left. Otherwise the error tells the runtime to
      // abort the connection, so the client sees a truncated response, not a complete one.
      if (open && clientGone) controller.close()
      else if (open) controller.error(reason)
      close()
    },
  }
  return { sink, body }
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
      const made = createFetchSink(request, hooks)
      body = made.body
      return made.sink
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
