import { ContentTypeError, HttpError, SluiceError, TimeoutError } from '../errors.js'
import type { AttemptEnd } from './connection.js'
import { MAX_TIMER_DELAY, parseRetryAfter } from './retry.js'

/** The `fetch` signature a connection needs; pass your own to add auth, tracing or a polyfill. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/**
 * Request options shared by `createEventStream` and `createNdjsonStream`, named as in `fetch`.
 *
 * @example
 * ```ts
 * createEventStream('/api/chat', {
 *   method: 'POST',
 *   headers: async () => ({ authorization: `Bearer ${await getToken()}` }), // fresh on every attempt
 *   body: JSON.stringify({ prompt }),
 * })
 * ```
 */
export interface StreamRequestOptions {
  /** HTTP method, default `GET`. A request with another method is only sent again if `retryNonIdempotent`. */
  method?: string
  /** Request headers, or a function called before every attempt (e.g. to refresh a token). */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>)
  /**
   * Request body. To be sent again on reconnect it must be reusable (a string, `Blob`, `FormData`,
   * `URLSearchParams`, `ArrayBuffer`), not a `ReadableStream`.
   */
  body?: BodyInit | null
  /** As in `fetch` (`same-origin` by default in browsers; `include` for cross-origin cookies). */
  credentials?: RequestCredentials
  /** The `fetch` to use, default `globalThis.fetch` (looked up when the connection starts). */
  fetch?: FetchLike
  /**
   * Send a non-GET request again after a failure (default `false`): re-sending a POST can repeat a
   * costly or non-idempotent action (a charge, an LLM completion), so by default it is sent once and
   * a failure closes the connection with the error.
   */
  retryNonIdempotent?: boolean
  /**
   * Reconnect a stream silent for this many ms (no byte at all: keepalive comments count as
   * activity; the wait for the response headers counts as silence), with a `TimeoutError`
   * (`timeout: 'idleTimeout'`) on the snapshot meanwhile. `false` turns it off.
   */
  idleTimeout?: number | false
}

/**
 * Default `idleTimeout`: 60 s. Common proxies and load balancers (nginx `proxy_read_timeout`, AWS
 * ALB) drop a connection silent for 60 s anyway, so a stream silent that long is dead or about to be
 * killed; servers with a keepalive (Sluice's server-kit sends one every few seconds) stay well under.
 */
export const DEFAULT_IDLE_TIMEOUT = 60_000

/**
 * Checks the URL and the `fetch` when the connection is created, so a misconfiguration throws a
 * `TypeError` at once instead of being retried forever as if it were a network failure. Relative
 * URLs resolve against the page in browsers; Node has no base URL, so they need to be absolute.
 */
export function checkRequest(name: string, url: string | URL, fetchImpl: FetchLike | undefined): void {
  if (typeof fetchImpl !== 'function') {
    throw new TypeError(`${name}: no fetch available; pass one with the \`fetch\` option`)
  }
  const base = typeof location === 'undefined' ? undefined : location.href
  try {
    new URL(url, base)
  } catch (cause) {
    throw new TypeError(
      `${name}: invalid URL ${JSON.stringify(String(url))}${base === undefined ? ' (outside a browser the URL must be absolute)' : ''}`,
      { cause },
    )
  }
}

/** Safe methods may be repeated without side effects (RFC 9110 §9.2.1). */
export function isSafeMethod(method: string): boolean {
  const m = method.toUpperCase()
  return m === 'GET' || m === 'HEAD'
}

/**
 * `fetch` header values are ByteStrings; the SSE spec sends `Last-Event-ID` as UTF-8
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#the-eventsource-interface), so
 * each UTF-8 byte travels as one Latin-1 code unit, which puts exactly those bytes on the wire.
 */
export function toByteString(value: string): string {
  if (!/[\u0080-\uffff]/.test(value)) return value
  let out = ''
  for (const byte of new TextEncoder().encode(value)) out += String.fromCharCode(byte)
  return out
}

/** Builds the headers of one attempt: the user's, then `accept` (unless set) and `last-event-id` (SSE). */
export async function requestHeaders(
  headers: StreamRequestOptions['headers'],
  accept: string,
  lastEventId = '',
): Promise<Headers> {
  const result = new Headers(typeof headers === 'function' ? await headers() : headers)
  if (!result.has('accept')) result.set('accept', accept)
  if (lastEventId !== '') result.set('last-event-id', toByteString(lastEventId))
  return result
}

/** The media type of a `content-type` header without parameters, lower-cased; `null` when absent. */
export function mediaType(contentType: string | null): string | null {
  if (contentType === null) return null
  return (contentType.split(';')[0] ?? '').trim().toLowerCase()
}

/**
 * Classifies a response before its body is read: `undefined` when the stream can be read, else how
 * the attempt ends. The body of a rejected response is cancelled here so its socket is released.
 * - `204 No Content`: the server says there is nothing (more) to stream: close, no error (as
 *   `EventSource` does: https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model).
 * - 5xx, 408 and 429: retry (`Retry-After` honoured as a floor on the delay).
 * - any other non-2xx: close with `HttpError`; retrying a 401/403/404 does not fix it.
 * - a 2xx whose media type is not one of `accepted`: close with `ContentTypeError`.
 */
export function classifyResponse(response: Response, accepted: readonly string[] | false): AttemptEnd | undefined {
  const release = () => {
    // The body of a response we will not read: cancel it so the connection is released. A failure
    // to cancel (already errored) changes nothing for us, so it is dropped on purpose.
    response.body?.cancel().catch(() => undefined)
  }
  if (response.status === 204) {
    release()
    return { type: 'close' }
  }
  if (!response.ok) {
    release()
    const retryAfter =
      response.status === 429 || response.status === 503
        ? parseRetryAfter(response.headers.get('retry-after'))
        : undefined
    const error = new HttpError(response.status, response.statusText, retryAfter === undefined ? {} : { retryAfter })
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429
    return retryable ? { type: 'retry', error, retryAfter } : { type: 'close', error }
  }
  if (accepted !== false) {
    const received = response.headers.get('content-type')
    const type = mediaType(received)
    if (type === null || !accepted.includes(type)) {
      release()
      return { type: 'close', error: new ContentTypeError(accepted.join(' or '), received) }
    }
  }
  return undefined
}

/** A fetch that failed before any response: DNS, refused, reset, offline. Retried. */
export function networkError(cause: unknown): SluiceError {
  const detail = cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : ''
  return new SluiceError('NETWORK_ERROR', `Network error${detail ? `: ${detail}` : ''}`, { cause })
}

/**
 * Fires `onIdle` once no `touch()` happened for `ms`. One timer per stream, re-armed only when it
 * fires early (comparing timestamps), instead of a clearTimeout/setTimeout pair per chunk.
 */
export class IdleTimer {
  #last = Date.now()
  #timer: ReturnType<typeof setTimeout> | undefined
  readonly #ms: number
  readonly #onIdle: (error: TimeoutError) => void

  constructor(ms: number, onIdle: (error: TimeoutError) => void) {
    this.#ms = ms
    this.#onIdle = onIdle
    this.#arm(ms)
  }

  touch(): void {
    this.#last = Date.now()
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(delay: number): void {
    // A longer delay would fire after 1 ms (see MAX_TIMER_DELAY) and re-arm in a busy loop; a capped
    // one fires early and re-arms for the rest.
    this.#timer = setTimeout(
      () => {
        const silent = Date.now() - this.#last
        if (silent < this.#ms) {
          this.#arm(this.#ms - silent)
          return
        }
        this.#timer = undefined
        this.#onIdle(
          new TimeoutError('idleTimeout', this.#ms, `No data for ${this.#ms} ms (idleTimeout): reconnecting`),
        )
      },
      Math.min(delay, MAX_TIMER_DELAY),
    )
  }
}

/** A TransformStream that reports every chunk to `onChunk` (activity for the idle timer). */
export function tap(body: ReadableStream<Uint8Array>, onChunk: () => void): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onChunk()
        controller.enqueue(chunk)
      },
    }),
  )
}

/**
 * `reading`, or `undefined` as soon as `signal` aborts. Aborting cancels the body, which ends a read
 * loop waiting for bytes; one waiting on something else (an async `schema` that never answers) would
 * hold the attempt forever, so the attempt ends without it. The abandoned read delivers nothing
 * more (the attempt is no longer live) and its outcome is the abort's, so a late failure of it is
 * dropped on purpose.
 */
function untilAborted<T>(reading: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  // Marks a late failure of an abandoned read as handled (see above); reading.then() below still
  // passes a failure on while the attempt waits for it.
  reading.catch(() => undefined)
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    reading.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** One HTTP streaming attempt, as `createEventStream` and `createNdjsonStream` describe it. */
export interface HttpAttempt {
  url: string | URL
  init: Omit<RequestInit, 'signal'>
  fetch: FetchLike
  /** Media types the response may have (`false`: do not check). */
  accepted: readonly string[] | false
  idleTimeout: number | false
  /** The attempt's signal from the core: aborted by close() / reconnect(). */
  signal: AbortSignal
  /** The response was accepted: the connection is open. */
  onOpen(): void
  /**
   * Reads the body to its end, delivering messages. Resolves `'done'` to close cleanly (e.g. the
   * `done` predicate matched), `undefined` when the stream ended. Errors it throws are classified:
   * a `SluiceError` other than a network failure (size limit, invalid NDJSON) closes the
   * connection; anything else is a broken stream and is retried. `onChunk` (when an idle timeout
   * runs) must be called as each chunk of the body arrives: `tap()` does it for a reader that cannot.
   */
  read(
    body: ReadableStream<Uint8Array>,
    signal: AbortSignal,
    onChunk: (() => void) | undefined,
  ): Promise<'done' | undefined>
}

/**
 * Runs one attempt: fetch, classify the response, read with an idle timeout, classify how it
 * ended. Retry gating (non-GET, NDJSON without resume) is the caller's: this returns what the
 * failure is, not whether to retry it. Owns and always releases: the fetch's AbortController, the
 * listener on the core's signal and the idle timer.
 */
export async function runHttpAttempt(attempt: HttpAttempt): Promise<AttemptEnd> {
  // Dropped before the request went out (e.g. close() right after creation, while the headers were
  // being built): the user's fetch is not called at all. The outcome of a dropped attempt is ignored.
  if (attempt.signal.aborted) return { type: 'retry' }
  const local = new AbortController()
  let idleError: TimeoutError | undefined
  const onAbort = () => local.abort(attempt.signal.reason)
  attempt.signal.addEventListener('abort', onAbort, { once: true })
  // The idle timer runs from the request on: a server that accepts the connection but never sends
  // its headers is as silent as one that stops mid-stream (undici would wait 5 minutes for them).
  const idle =
    attempt.idleTimeout === false
      ? undefined
      : new IdleTimer(attempt.idleTimeout, (error) => {
          idleError = error
          local.abort(error)
        })
  try {
    let response: Response
    try {
      // Called detached, never as `attempt.fetch(...)`: browsers' fetch throws "Illegal invocation"
      // when its `this` is not the global object (Node, Bun and Deno do not check).
      const fetchImpl = attempt.fetch
      response = await fetchImpl(attempt.url, { ...attempt.init, signal: local.signal })
    } catch (error) {
      return { type: 'retry', error: idleError ?? networkError(error) }
    }
    const rejected = classifyResponse(response, attempt.accepted)
    if (rejected) return rejected
    if (local.signal.aborted) {
      // Dropped while the headers arrived: release the body, the outcome is ignored anyway.
      response.body?.cancel().catch(() => undefined)
      return { type: 'retry', error: idleError }
    }
    attempt.onOpen()
    // A 2xx without a body is a stream that ended at once.
    if (response.body === null) return { type: 'retry' }
    idle?.touch()
    try {
      const onChunk = idle ? () => idle.touch() : undefined
      const ended = await untilAborted(attempt.read(response.body, local.signal, onChunk), local.signal)
      if (idleError) return { type: 'retry', error: idleError }
      return ended === 'done' ? { type: 'close' } : { type: 'retry' }
    } catch (error) {
      if (idleError) return { type: 'retry', error: idleError }
      if (error instanceof SluiceError && error.code !== 'NETWORK_ERROR') return { type: 'close', error }
      return { type: 'retry', error: networkError(error) }
    }
  } finally {
    idle?.stop()
    attempt.signal.removeEventListener('abort', onAbort)
    // Whatever the path, nothing of this attempt stays open: aborting the fetch releases the body.
    local.abort()
  }
}
