/**
 * The three kinds of stream (SSE, NDJSON, plain bytes/text): how items become chunks, the default
 * headers, keepalive and what a source error turns into. The pump and the sinks are shared.
 */
import { type EventMessage, formatEvent, formatNdjsonLine } from './format.js'
import type { ServeOptions, StreamEncoder } from './pump.js'

/**
 * Default keepalive interval (ms) for SSE and NDJSON. Bun closes a response that is silent for
 * 10 s, and proxies commonly cut idle connections at 30-100 s (nginx `proxy_read_timeout` 60 s,
 * AWS ALB 60 s, Cloudflare 100 s); 5 s stays under all of them with a 2x margin for a late timer,
 * at a cost of ~15 bytes per connection every 5 s.
 */
export const DEFAULT_KEEP_ALIVE = 5_000

/**
 * Base of the `retry:` sent when a stream ends because the server shuts down (ms), when no `retry`
 * option is set. A jitter of up to `shutdownJitter` is added.
 */
export const DEFAULT_SHUTDOWN_RETRY = 1_000

/**
 * Default jitter window (ms) of the shutdown `retry:`: every client of a restarting server would
 * otherwise reconnect in the same instant; spreading them over 5 s turns a spike into a ramp.
 */
export const DEFAULT_SHUTDOWN_JITTER = 5_000

/** SSE comment sent when the stream has been silent for `keepAlive` ms; clients ignore it. */
export const KEEP_ALIVE_COMMENT = ': keepalive\n\n'

/**
 * SSE comment that opens a stream without a `retry`. Some runtimes (`Bun.serve`) and proxies send
 * the status and headers only with the first body bytes; without this a silent stream would not be
 * `open` on the client until its first event or keepalive. Clients ignore comments.
 */
export const OPENING_COMMENT = ': open\n\n'

// `no-transform` keeps proxies from compressing (and so buffering) the stream; `x-accel-buffering`
// turns off nginx's response buffering: https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_buffering
const STREAMING_HEADERS = { 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' }

/** Default headers of an SSE response; `options.headers` merge over them. */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  ...STREAMING_HEADERS,
}

/** Default headers of an NDJSON response; `options.headers` merge over them. */
export const NDJSON_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/x-ndjson; charset=utf-8',
  ...STREAMING_HEADERS,
}

/** Default headers of a plain stream; set `content-type` (e.g. `text/plain; charset=utf-8`) for text. */
export const STREAM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/octet-stream',
  ...STREAMING_HEADERS,
}

/** Options of `sendEventStream` / `eventStreamResponse`. */
export interface ServeEventStreamOptions extends ServeOptions {
  /**
   * Milliseconds of silence after which a `: keepalive` comment is sent, or `false`. Default
   * {@link DEFAULT_KEEP_ALIVE} (5 s). Skipped while the connection is not drained.
   */
  keepAlive?: number | false
  /** Reconnection delay (ms) sent first as `retry:`, before any event. */
  retry?: number
  /**
   * On shutdown (`signal` aborted) the stream sends `retry: base + random(0..shutdownJitter)`
   * (base: `retry`, else 1 s) so clients do not all reconnect at once. Default 5 000 ms; `0` sends
   * the base exactly.
   */
  shutdownJitter?: number
  /**
   * Turns an error thrown by the source (or a message `formatEvent` rejects) into a final event,
   * then the stream ends cleanly. Return a string (sent as `event: error`, `data: <string>`), a
   * message (its `event` defaults to `"error"`), or `undefined` for no event. Without `onError`
   * the stream just ends, the error is logged with `console.error`, and its text is never sent.
   * Errors the source's `finally` throws are passed here too (the return value is then ignored).
   */
  onError?: (error: unknown) => string | EventMessage | undefined
}

/** Options of `sendNdjson` / `ndjsonResponse`. */
export interface ServeNdjsonOptions extends ServeOptions {
  /**
   * Milliseconds of silence after which an empty line is sent, or `false`. Default
   * {@link DEFAULT_KEEP_ALIVE} (5 s). NDJSON has no comment syntax; empty lines are what the
   * ndjson spec lets parsers ignore (Sluice's `readNdjson` skips them). Set `false` for consumers
   * that split on `\n` and `JSON.parse` every line.
   */
  keepAlive?: number | false
  /**
   * Turns an error thrown by the source (or a value JSON cannot encode) into a final line, then a
   * clean end. Return any JSON value (e.g. `{ error: 'stream failed' }`), or `undefined` for none.
   * Without it the stream just ends and the error is logged with `console.error`.
   */
  onError?: (error: unknown) => unknown
}

/** Options of `sendStream` / `streamResponse` (plain bytes or text, e.g. downloads and logs). */
export interface ServeStreamOptions extends ServeOptions {
  /**
   * Called with an error thrown by the source. The connection is then aborted, so the client sees a
   * truncated response instead of one that looks complete. Default: `console.error`.
   */
  onError?: (error: unknown) => void
}

/** Reports an error that has no other outlet to `onError`, else to `console.error`. */
function report(onError: ((error: unknown) => unknown) | undefined, error: unknown): void {
  if (onError === undefined) {
    console.error('[sluice] stream source failed:', error)
    return
  }
  try {
    onError(error)
  } catch (failure) {
    console.error('[sluice] onError threw:', failure)
  }
}

function checkKeepAlive(keepAlive: number | false | undefined): number | false {
  const value = keepAlive ?? DEFAULT_KEEP_ALIVE
  if (value !== false && !(typeof value === 'number' && value > 0 && value <= 2 ** 31 - 1)) {
    throw new TypeError(`\`keepAlive\` must be a positive number of milliseconds or false, got ${String(keepAlive)}`)
  }
  return value
}

function checkNonNegativeInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError(`\`${name}\` must be a non-negative integer (ms), got ${String(value)}`)
  }
}

// The encoders are classes (methods on the prototype, a few fields per stream), not objects of
// closures: every open stream holds one (issue 7, "One process, many streams").

/** The SSE encoder: `formatEvent`, `retry:` first, comment keepalives, jittered shutdown retry. */
class EventStreamEncoder implements StreamEncoder<EventMessage> {
  readonly preamble: string
  readonly keepAlive: number | false
  readonly keepAliveChunk = KEEP_ALIVE_COMMENT
  readonly #retry: number | undefined
  readonly #shutdownJitter: number | undefined
  readonly #onError: ServeEventStreamOptions['onError']

  constructor(options: ServeEventStreamOptions) {
    this.keepAlive = checkKeepAlive(options.keepAlive)
    checkNonNegativeInteger('retry', options.retry)
    checkNonNegativeInteger('shutdownJitter', options.shutdownJitter)
    this.#retry = options.retry
    this.#shutdownJitter = options.shutdownJitter
    this.#onError = options.onError
    this.preamble = options.retry === undefined ? OPENING_COMMENT : formatEvent({ retry: options.retry })
  }

  encode(message: EventMessage): string {
    // A channel fans one frozen message out to every subscriber, one after the other: encode it
    // once, not once per connection (issue 6, fan-out). Only a frozen message is reused, by
    // identity: its fields cannot have changed since. One entry, so nothing grows.
    if (message === lastShared) return lastSharedFrame
    const frame = formatEvent(message)
    if (Object.isFrozen(message)) {
      lastShared = message
      lastSharedFrame = frame
    }
    return frame
  }

  shutdownChunk(): string {
    const base = this.#retry ?? DEFAULT_SHUTDOWN_RETRY
    const jitter = this.#shutdownJitter ?? DEFAULT_SHUTDOWN_JITTER
    return formatEvent({ retry: base + Math.floor(Math.random() * (jitter + 1)) })
  }

  fail(error: unknown): { mode: 'final'; chunk: string | undefined } {
    const onError = this.#onError
    if (onError === undefined) {
      report(onError, error)
      return { mode: 'final', chunk: undefined }
    }
    const reply = onError(error)
    if (reply === undefined) return { mode: 'final', chunk: undefined }
    const message = typeof reply === 'string' ? { event: 'error', data: reply } : { event: 'error', ...reply }
    return { mode: 'final', chunk: formatEvent(message) }
  }

  report(error: unknown): void {
    report(this.#onError, error)
  }
}

// The last frozen message encoded, and its frame (see EventStreamEncoder.encode).
let lastShared: EventMessage | undefined
let lastSharedFrame = ''

// The encoder of streams with no SSE option set: it holds only settings, so all of them share one
// (one object less per open stream). Created on first use: nothing runs at import.
let defaultEventStreamEncoder: EventStreamEncoder | undefined

/** The SSE encoder: `formatEvent`, `retry:` first, comment keepalives, jittered shutdown retry. */
export function eventStreamEncoder(options: ServeEventStreamOptions): StreamEncoder<EventMessage> {
  if (
    options.keepAlive === undefined &&
    options.retry === undefined &&
    options.shutdownJitter === undefined &&
    options.onError === undefined
  ) {
    defaultEventStreamEncoder ??= new EventStreamEncoder({})
    return defaultEventStreamEncoder
  }
  return new EventStreamEncoder(options)
}

/** The NDJSON encoder: one `JSON.stringify` line per value, empty-line keepalives. */
class NdjsonEncoder implements StreamEncoder<unknown> {
  readonly preamble: string | undefined
  readonly keepAlive: number | false
  readonly keepAliveChunk = '\n'
  readonly #onError: ServeNdjsonOptions['onError']

  constructor(options: ServeNdjsonOptions) {
    this.keepAlive = checkKeepAlive(options.keepAlive)
    this.#onError = options.onError
    // An empty line opens the body at once (see OPENING_COMMENT), only when the user accepted empty
    // lines by leaving keepalive on: readers skip them, a naive line splitter may not.
    this.preamble = this.keepAlive === false ? undefined : '\n'
  }

  encode(value: unknown): string {
    return formatNdjsonLine(value)
  }

  shutdownChunk(): undefined {
    return undefined
  }

  fail(error: unknown): { mode: 'final'; chunk: string | undefined } {
    const onError = this.#onError
    if (onError === undefined) {
      report(onError, error)
      return { mode: 'final', chunk: undefined }
    }
    const reply = onError(error)
    return { mode: 'final', chunk: reply === undefined ? undefined : formatNdjsonLine(reply) }
  }

  report(error: unknown): void {
    report(this.#onError, error)
  }
}

/** The NDJSON encoder: one `JSON.stringify` line per value, empty-line keepalives. */
export function ndjsonEncoder(options: ServeNdjsonOptions): StreamEncoder<unknown> {
  return new NdjsonEncoder(options)
}

/** The plain encoder: strings and bytes as they are; no keepalive (no byte is neutral in arbitrary content). */
export function byteStreamEncoder(options: ServeStreamOptions): StreamEncoder<string | Uint8Array> {
  const { onError } = options
  return {
    encode(chunk) {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) return chunk
      // A Uint8Array of another realm (jsdom's globals next to Node's streams, a vm context) fails
      // `instanceof` but is the same bytes.
      if (ArrayBuffer.isView(chunk) && Object.prototype.toString.call(chunk) === '[object Uint8Array]') {
        const bytes = chunk as ArrayBufferView
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      }
      throw new TypeError(
        `A stream chunk must be a string or a Uint8Array, got ${chunk === null ? 'null' : typeof chunk}`,
      )
    },
    preamble: undefined,
    keepAlive: false,
    keepAliveChunk: undefined,
    shutdownChunk: () => undefined,
    fail(error) {
      report(onError, error)
      return { mode: 'abort' }
    },
    report: (error) => report(onError, error),
  }
}
