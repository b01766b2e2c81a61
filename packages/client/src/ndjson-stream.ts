import type { StandardSchemaV1 } from '@standard-schema/spec'
import { type AttemptContext, type AttemptEnd, ConnectionCore } from './connection/connection.js'
import { decode } from './connection/decode.js'
import {
  checkRequest,
  DEFAULT_IDLE_TIMEOUT,
  type FetchLike,
  isSafeMethod,
  requestHeaders,
  runHttpAttempt,
  type StreamRequestOptions,
  tap,
} from './connection/http.js'
import type { Connection, ConnectionOptions } from './connection/types.js'
import { decoderOf, type EventDefinition, type EventEnvelope, type UnknownEvents } from './define.js'
import type { SluiceError } from './errors.js'
import { readNdjson } from './parse/ndjson.js'

/**
 * Media types `createNdjsonStream` accepts by default: the NDJSON and JSON Lines names in use
 * (`application/x-ndjson` is what Sluice's server-kit, Ollama and Elasticsearch send). Not
 * `application/json-seq` (RFC 7464): its records start with an RS byte, which is not NDJSON.
 */
export const NDJSON_CONTENT_TYPES: readonly string[] = Object.freeze([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonl',
  'application/jsonlines',
  'application/x-jsonlines',
  'application/json-lines',
])

/** The request a `resume` hook asks for: a new URL, or fields replacing those of the first request. */
export type NdjsonResumeRequest =
  | string
  | URL
  | { url?: string | URL; method?: string; headers?: StreamRequestOptions['headers']; body?: BodyInit | null }

/** What a `resume` hook is told about the attempt that just ended. */
export interface NdjsonResumeInfo {
  /** Why it ended: `undefined` when the server ended the response normally or `reconnect()` dropped it. */
  readonly error: SluiceError | undefined
  /** Items delivered so far over the connection's life (all attempts). */
  readonly received: number
}

/**
 * Options of {@link createNdjsonStream}.
 *
 * Defaults: `GET`, `idleTimeout` 60 s, `contentTypes` {@link NDJSON_CONTENT_TYPES}, `maxLineSize`
 * 8 MiB (the parser's), invalid lines fatal, no `resume`, retry policy as in `RetryOptions`.
 */
export interface NdjsonStreamOptions<T = unknown> extends ConnectionOptions<T>, StreamRequestOptions {
  /** Turns each parsed JSON value into `T`; a throw surfaces a `ValidationError` and skips the item. */
  parse?: (value: unknown) => T
  /** A Standard Schema (zod, valibot...) for each value; failures surface `ValidationError`, the item is skipped. */
  schema?: StandardSchemaV1<unknown, T>
  /** Bound of one line in bytes; past it the connection closes with `LimitExceededError`. */
  maxLineSize?: number
  /**
   * A line that is not JSON closes the connection with `NdjsonSyntaxError` (default). With `true` it
   * is skipped and reported as a non-fatal error (snapshot `error`, `onError`); the stream goes on.
   */
  skipInvalidLines?: boolean
  /** Accepted response media types; `false` skips the check. */
  contentTypes?: readonly string[] | false
  /**
   * NDJSON has no resume protocol, so by default a response that ends closes the connection
   * cleanly, and a failure is retried only while no item has arrived (re-requesting after items
   * would deliver them twice); a failure after items closes the connection with the error.
   *
   * With `resume`, every end and every retryable failure asks it for the next request, built from
   * the last item received (a cursor): return a URL or request fields to continue (after the
   * backoff), or `false` / `undefined` to close. Providing it is the opt-in to re-send non-GET
   * requests.
   *
   * @example
   * ```ts
   * createNdjsonStream<LogEntry>('/logs?follow=1', {
   *   resume: (last) => `/logs?follow=1${last ? `&after=${last.seq}` : ''}`,
   * })
   * ```
   */
  resume?: (lastItem: T | undefined, info: NdjsonResumeInfo) => NdjsonResumeRequest | false | undefined
}

/** A reconnecting NDJSON connection: yields each item; the snapshot's `data` is the latest item. */
export type NdjsonStreamConnection<T = unknown> = Connection<T, T>

/**
 * Options of {@link createNdjsonStream} with a shared definition (`defineEvents`): every line is an
 * envelope `{ type, data }` (`type` is the definition's `discriminator`), its `data` validated by
 * the schema of its type. A line that fails surfaces a `ValidationError` carrying the event type and
 * is skipped; unknown types are handled as `unknownEvents` says.
 */
export interface TypedNdjsonStreamOptions<Def extends EventDefinition>
  extends Omit<NdjsonStreamOptions<EventEnvelope<Def>>, 'parse' | 'schema'> {
  /** The stream's definition, from `defineEvents` (shared with the server). */
  events: Def
  /** Unknown event types: `'ignore'` (default) or `'report'` (a non-fatal `ValidationError`). */
  unknownEvents?: UnknownEvents
}

interface RequestState {
  url: string | URL
  method: string
  headers: StreamRequestOptions['headers']
  body: BodyInit | null
}

class NdjsonStreamConnectionImpl<T> extends ConnectionCore<T, T> {
  constructor(
    url: string | URL,
    options: NdjsonStreamOptions<T> & { events?: EventDefinition; unknownEvents?: UnknownEvents },
  ) {
    super(options)
    const idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
    if (idleTimeout !== false && !(idleTimeout > 0)) {
      throw new TypeError(`idleTimeout must be a number of ms > 0 or false, got ${String(idleTimeout)}`)
    }
    checkRequest('createNdjsonStream', url, options.fetch ?? globalThis.fetch)
    const events = options.events === undefined ? undefined : decoderOf(options.events, 'createNdjsonStream')
    let request: RequestState = {
      url,
      method: (options.method ?? 'GET').toUpperCase(),
      headers: options.headers,
      body: options.body ?? null,
    }
    let received = 0
    let lastItem: T | undefined
    /** Items were delivered since `resume` last built `request`. */
    let behind = false
    /** Asks `resume` for the request that continues after the last item; the end when it says stop. */
    const resumeAfter = (resume: NonNullable<typeof options.resume>, error: SluiceError | undefined) => {
      const next = resume(lastItem, { error, received })
      if (next === false || next === undefined) return { type: 'close', error } as const
      request =
        typeof next === 'string' || next instanceof URL
          ? { ...request, url: next }
          : {
              url: next.url ?? request.url,
              method: (next.method ?? request.method).toUpperCase(),
              headers: next.headers ?? request.headers,
              body: next.body === undefined ? request.body : next.body,
            }
      behind = false
      return undefined
    }

    const run = async (context: AttemptContext<T, T>): Promise<AttemptEnd> => {
      // reconnect() drops an attempt before it could ask `resume` where to go on: ask now, so the
      // new request starts after the last item delivered instead of delivering items again.
      if (options.resume && behind) {
        const stop = resumeAfter(options.resume, undefined)
        if (stop) return stop
      }
      const fetchImpl: FetchLike = options.fetch ?? globalThis.fetch
      const end = await runHttpAttempt({
        url: request.url,
        init: {
          method: request.method,
          headers: await requestHeaders(request.headers, 'application/x-ndjson'),
          body: request.body,
          cache: 'no-store',
          ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        },
        fetch: fetchImpl,
        accepted: options.contentTypes ?? NDJSON_CONTENT_TYPES,
        idleTimeout,
        signal: context.signal,
        onOpen: context.open,
        read: async (body, signal, onChunk) => {
          const values = readNdjson(onChunk ? tap(body, onChunk) : body, {
            signal,
            ...(options.maxLineSize === undefined ? {} : { maxLineSize: options.maxLineSize }),
            ...(options.skipInvalidLines ? { skipInvalidLines: context.reportError } : {}),
          })
          for await (const value of values) {
            let decoded =
              events === undefined
                ? decode<T>(value, options.parse, options.schema)
                : events.decodeEnvelope<T>(value, options.unknownEvents)
            if (decoded === null) continue
            if (decoded instanceof Promise) decoded = await decoded
            // Dropped while an async schema validated it: not delivered, so the cursor stays.
            if (signal.aborted) return undefined
            if (!decoded.ok) {
              context.reportError(decoded.error)
              continue
            }
            received++
            lastItem = decoded.value
            behind = true
            context.deliver(decoded.value, decoded.value)
          }
          return undefined
        },
      })
      // Dropped by close(), reconnect() or the abort signal: the core ignores this end, and the
      // next attempt (if any) asks `resume` itself; a dropped attempt must not move `request`.
      if (context.signal.aborted) return end
      if (end.type === 'close') return end
      if (options.resume) return resumeAfter(options.resume, end.error) ?? end
      // No resume: a finished response is the whole stream; a failure can only be retried while
      // nothing was delivered, and a non-GET only if the user opted in.
      if (end.error === undefined) return { type: 'close' }
      const retryable = received === 0 && (isSafeMethod(request.method) || options.retryNonIdempotent === true)
      return retryable ? end : { type: 'close', error: end.error }
    }
    this.start({ run })
  }
}

/**
 * A newline-delimited JSON stream over `fetch` with the shared connection lifecycle: typed items
 * (`parse` / `schema`), bounded lines, idle timeout, retries of failed requests, and an optional
 * `resume` hook that continues from the last item (NDJSON itself has no resume protocol).
 *
 * @example
 * ```ts
 * const progress = createNdjsonStream<{ step: string; done: boolean }>('/jobs/42/progress')
 * for await (const update of progress) console.log(update.step)
 * // the loop ends when the server ends the response
 * ```
 */
export function createNdjsonStream<Def extends EventDefinition>(
  url: string | URL,
  options: TypedNdjsonStreamOptions<Def>,
): NdjsonStreamConnection<EventEnvelope<Def>>
export function createNdjsonStream<T = unknown>(
  url: string | URL,
  options?: NdjsonStreamOptions<T>,
): NdjsonStreamConnection<T>
export function createNdjsonStream<T = unknown>(
  url: string | URL,
  options: NdjsonStreamOptions<T> = {},
): NdjsonStreamConnection<T> {
  return new NdjsonStreamConnectionImpl<T>(url, options)
}
