import type { StandardSchemaV1 } from '@standard-schema/spec'
import { type AttemptContext, type AttemptEnd, ConnectionCore } from './connection/connection.js'
import { decode, parseError } from './connection/decode.js'
import {
  checkRequest,
  DEFAULT_IDLE_TIMEOUT,
  type FetchLike,
  isSafeMethod,
  requestHeaders,
  runHttpAttempt,
  type StreamRequestOptions,
} from './connection/http.js'
import type { Connection, ConnectionOptions } from './connection/types.js'
import {
  decoderOf,
  type EventDefinition,
  type TypedEventData,
  type TypedEventMessage,
  type UnknownEvents,
} from './define.js'
import { SluiceError, ValidationError } from './errors.js'
import { type EventStreamMessage, LastEventIdMove, readEventStreamBatches } from './parse/event-stream.js'
import {
  loadResumePoint,
  RESUMABLE_END_EVENT,
  RESUMABLE_ID_HEADER,
  RESUMABLE_STREAM_EVENT,
  type ResumableOptions,
  type ResumePoint,
} from './resume.js'

/**
 * Options of {@link createEventStream}: the request (named as in `fetch`), decoding, and the
 * connection options every Sluice connection takes.
 *
 * Defaults: `GET`, `idleTimeout` 60 s, `retryNonIdempotent` false, `maxMessageSize` 8 MiB (the
 * parser's), retry policy as in `RetryOptions` (the server's `retry:` replaces its initial delay).
 */
export interface EventStreamOptions<T = string> extends ConnectionOptions<EventStreamMessage<T>>, StreamRequestOptions {
  /**
   * Turns the `data` string into `T` (e.g. `JSON.parse`). A throw surfaces a `ValidationError` and
   * the message is not delivered; the stream goes on.
   */
  parse?: (data: string) => T
  /**
   * A Standard Schema (zod, valibot, arktype...) for `data`. Without `parse` the data goes through
   * `JSON.parse` first. A message that fails surfaces a `ValidationError` (snapshot `error`,
   * `onError`) and is not delivered; the stream goes on.
   */
  schema?: StandardSchemaV1<unknown, T>
  /**
   * Given each raw message before `parse`; returning `true` closes the connection cleanly without
   * delivering that message and without reconnecting (LLM APIs end with `data: [DONE]`).
   */
  done?: (message: EventStreamMessage) => boolean
  /** `Last-Event-ID` to send on the first request (resume from a stored position). */
  lastEventId?: string
  /** Bound of one message in bytes (`LimitExceededError`, which closes the connection). */
  maxMessageSize?: number
  /**
   * Resume a stream served by server-kit's `createResumableStreams` by its id, after a dropped
   * connection or a page reload, instead of sending the first request (a POST) again. See
   * {@link ResumableOptions}.
   */
  resumable?: ResumableOptions
}

/**
 * Options of {@link createEventStream} with a shared definition (`defineEvents`): every message's
 * `data` goes through `JSON.parse` and the schema of its event type; `parse` and `schema` do not
 * apply. A message that fails surfaces a `ValidationError` carrying its `event` and is not
 * delivered. Event types the definition does not name are handled as `unknownEvents` says.
 */
export interface TypedEventStreamOptions<Def extends EventDefinition>
  extends Omit<EventStreamOptions<TypedEventData<Def>>, 'parse' | 'schema' | 'onMessage'> {
  /** The stream's definition, from `defineEvents` (shared with the server). */
  events: Def
  /** Unknown event types: `'ignore'` (default) or `'report'` (a non-fatal `ValidationError`). */
  unknownEvents?: UnknownEvents
  /** Called synchronously for every message, like `listen()`. */
  onMessage?: (message: TypedEventMessage<Def>) => void
}

/** A reconnecting SSE connection: yields `{ event, data, id }`; the snapshot's `data` is the latest `data`. */
export type EventStreamConnection<T = string> = Connection<EventStreamMessage<T>, T>

/**
 * A typed SSE connection: yields a discriminated union on `event` (`message.event === 'tick'`
 * narrows `message.data`); the snapshot's `data` is the latest message's data.
 */
export type TypedEventStreamConnection<Def extends EventDefinition> = Connection<
  TypedEventMessage<Def>,
  TypedEventData<Def>
>

/** What the implementation reads beyond the untyped options. */
interface EventStreamImplOptions<T> extends EventStreamOptions<T> {
  events?: EventDefinition
  unknownEvents?: UnknownEvents
}

const EVENT_STREAM = 'text/event-stream'

class EventStreamConnectionImpl<T> extends ConnectionCore<EventStreamMessage<T>, T> {
  constructor(url: string | URL, options: EventStreamImplOptions<T>) {
    const { resumable } = options
    const resumeKey = resumable?.key ?? `sluice-resume:${String(url)}`
    const stored = resumable === undefined ? {} : loadResumePoint(resumable.storage, resumeKey)
    // replay: 'all' asks the server for the stream from its start (no Last-Event-ID).
    const storedLastEventId =
      stored.point === undefined ? undefined : resumable?.replay === 'all' ? '' : stored.point.lastEventId
    // The spec's "last event ID buffer" survives reconnects; the parser reports every change,
    // including an `id:` in a block without data.
    let lastEventId = storedLastEventId ?? options.lastEventId ?? ''
    super(options, { lastEventId })
    if (stored.error) options.onError?.(stored.error)
    if (resumable !== undefined && typeof resumable.url !== 'function') {
      throw new TypeError('createEventStream: resumable.url must be a function (id) => URL of the stream by GET')
    }
    const method = (options.method ?? 'GET').toUpperCase()
    // A non-GET request is sent once unless the user opts in: see StreamRequestOptions.retryNonIdempotent.
    const retryable = isSafeMethod(method) || options.retryNonIdempotent === true
    const idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
    if (idleTimeout !== false && !(idleTimeout > 0)) {
      throw new TypeError(`idleTimeout must be a number of ms > 0 or false, got ${String(idleTimeout)}`)
    }
    checkRequest('createEventStream', url, options.fetch ?? globalThis.fetch)
    const events = options.events === undefined ? undefined : decoderOf(options.events, 'createEventStream')
    // Called with one argument only (no reviver), so JSON.parse itself serves.
    const parse = options.parse ?? (options.schema ? JSON.parse : undefined)
    const plain = events === undefined && options.schema === undefined
    // A resumable stream's id, once known: every later attempt is a GET of that stream (safe to
    // repeat), never the first request again.
    let streamId = stored.point?.id
    const savePosition = (context: AttemptContext<EventStreamMessage<T>, T>, clear = false): void => {
      if (resumable === undefined || streamId === undefined) return
      const point: ResumePoint = { id: streamId, lastEventId }
      try {
        if (clear) resumable.storage?.removeItem(resumeKey)
        else resumable.storage?.setItem(resumeKey, JSON.stringify(point))
        if (!clear) resumable.onPosition?.(point)
      } catch (cause) {
        // A full or forbidden storage loses the reload case only; the live stream goes on.
        context.reportError(
          new SluiceError('RESUME_STORAGE_ERROR', `Could not store the resume position "${resumeKey}"`, { cause }),
        )
      }
    }

    const run = async (context: AttemptContext<EventStreamMessage<T>, T>): Promise<AttemptEnd> => {
      const fetchImpl: FetchLike = options.fetch ?? globalThis.fetch
      let target: string | URL = url
      if (resumable !== undefined && streamId !== undefined) {
        try {
          target = resumable.url(streamId)
        } catch (cause) {
          return {
            type: 'close',
            error: new SluiceError('RESUME_URL_ERROR', 'resumable.url() threw', { cause }),
          }
        }
      }
      const resuming = target !== url
      const headers = await requestHeaders(options.headers, EVENT_STREAM, lastEventId)
      const end = await runHttpAttempt({
        url: target,
        init: {
          method: resuming ? 'GET' : method,
          headers,
          body: resuming ? null : (options.body ?? null),
          // EventSource fetches with cache mode "no-store"; a cached stream would replay stale events.
          cache: 'no-store',
          ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        },
        fetch:
          resumable === undefined || streamId !== undefined
            ? fetchImpl
            : async (input, init) => {
                const response = await fetchImpl(input, init)
                // The id also comes as a header, with the status: a connection that drops after the
                // headers but before the first event can still be resumed instead of lost.
                const id = response.ok ? response.headers.get(RESUMABLE_ID_HEADER) : null
                if (id) {
                  streamId = id
                  savePosition(context)
                }
                return response
              },
        accepted: [EVENT_STREAM],
        idleTimeout,
        signal: context.signal,
        onOpen: context.open,
        read: async (body, signal, onChunk) => {
          const batches = readEventStreamBatches(
            body,
            {
              signal,
              onRetry: context.setServerDelay,
              ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
            },
            onChunk,
          )
          // The ID the next attempt sends moves as messages are handled (delivered or skipped), not
          // as the parser reads them: the parser is up to one chunk ahead, and a reconnect() from a
          // listener in the middle of a chunk must resume with the chunk's next message, not after
          // its last. A dropped attempt moves it no more.
          // The signal, read once per message, is mirrored in a local: AbortSignal's getter is not free.
          // abort() dispatches synchronously, so a listener calling close() is seen at the next check.
          let dropped = signal.aborted
          const onAbort = (): void => {
            dropped = true
          }
          signal.addEventListener('abort', onAbort, { once: true })
          const handled = (id: string): void => {
            if (!dropped) lastEventId = id
          }
          try {
            // One async step per chunk; the messages of a chunk are handled in one go, stopping as
            // soon as the attempt is dropped (a listener calling reconnect() or close()).
            for await (const batch of batches) {
              for (const message of batch) {
                if (dropped) return undefined
                if (message instanceof LastEventIdMove) {
                  handled(message.lastEventId)
                  continue
                }
                let finished = false
                try {
                  finished = options.done?.(message) === true
                } catch (cause) {
                  // A throwing predicate is treated like a failed parse: reported, message skipped.
                  handled(message.id)
                  const reason = cause instanceof Error ? cause.message : String(cause)
                  context.reportError(
                    new ValidationError(`done() threw: ${reason}`, [{ message: reason }], {
                      cause,
                      event: message.event,
                    }),
                  )
                  continue
                }
                if (finished) return 'done'
                if (resumable !== undefined) {
                  // The resumable protocol's own events (server-kit's createResumableStreams) are
                  // read here and never delivered.
                  if (message.event === RESUMABLE_STREAM_EVENT) {
                    handled(message.id)
                    const id = streamIdOf(message.data)
                    if (id === undefined) {
                      context.reportError(
                        new ValidationError(`Invalid ${RESUMABLE_STREAM_EVENT} event: expected {"id": string}`, [
                          { message: 'expected {"id": string}' },
                        ]),
                      )
                    } else {
                      streamId = id
                      savePosition(context)
                    }
                    continue
                  }
                  if (message.event === RESUMABLE_END_EVENT) {
                    savePosition(context, true)
                    return 'done'
                  }
                }
                let data: T
                if (plain) {
                  // No schema and no event definitions: the common case, without a result object per
                  // message.
                  handled(message.id)
                  if (parse === undefined) data = message.data as T
                  else {
                    try {
                      data = (parse as (input: string) => T)(message.data)
                    } catch (cause) {
                      context.reportError(parseError(cause, message.event))
                      continue
                    }
                  }
                } else {
                  let decoded =
                    events === undefined
                      ? decode<T>(message.data, parse, options.schema, message.event)
                      : events.decodeEvent<T>(message.event, message.data, options.unknownEvents, JSON.parse)
                  if (decoded instanceof Promise) decoded = await decoded
                  // Handled from here (delivered or skipped), after an async schema answered: a
                  // message dropped while it was being validated is asked for again.
                  handled(message.id)
                  if (decoded === null) continue
                  if (!decoded.ok) {
                    context.reportError(decoded.error)
                    continue
                  }
                  data = decoded.value
                }
                const behind = context.deliver(
                  data === (message.data as unknown)
                    ? (message as EventStreamMessage<T>)
                    : { event: message.event, data, id: message.id },
                  data,
                  message.id,
                )
                if (resumable !== undefined) savePosition(context)
                // A `for await` loop that fell a batch behind takes what it has before the next
                // message (its buffer is for a loop that really lags).
                if (behind) await context.drained()
              }
            }
          } finally {
            signal.removeEventListener('abort', onAbort)
            // The snapshot follows the delivered messages' ids; it catches up here with the messages
            // skipped and an `id:` in a trailing block without data: the ID the next reconnect sends.
            context.setLastEventId(lastEventId)
          }
          return undefined
        },
      })
      // A resumable stream that is gone (404 unknown, 410 expired) or over (204: the client already
      // has its end) will not come back: forget it. Not on close() (a page unloading): the stored
      // position is what the next page resumes from.
      if (resuming && end.type === 'close' && !context.signal.aborted) savePosition(context, true)
      if (end.type === 'retry' && !retryable && streamId === undefined) return { type: 'close', error: end.error }
      return end
    }
    this.start({ run })
  }
}

/**
 * A reconnecting Server-Sent Events connection over `fetch`, so any method, headers and body work
 * (unlike `EventSource`). Sends `Accept: text/event-stream` and, on reconnect, `Last-Event-ID`;
 * honours `retry:`; reconnects on network errors, 5xx, 408/429 (after `Retry-After`), a stream that
 * ends and an idle timeout; stops on 204 (clean) and on other 4xx or a wrong content type (error).
 *
 * @example
 * ```ts
 * const prices = createEventStream('/prices', { schema: z.object({ symbol: z.string(), price: z.number() }) })
 * prices.subscribe(() => render(prices.getSnapshot())) // { status, data, error, attempt, lastEventId }
 *
 * // LLM token stream over POST, ending on [DONE]
 * const chat = createEventStream('/v1/chat', {
 *   method: 'POST', body: JSON.stringify({ prompt }), done: (m) => m.data === '[DONE]',
 * })
 * for await (const { data } of chat) output += data
 * ```
 */
export function createEventStream<Def extends EventDefinition>(
  url: string | URL,
  options: TypedEventStreamOptions<Def>,
): TypedEventStreamConnection<Def>
export function createEventStream<T = string>(
  url: string | URL,
  options?: EventStreamOptions<T>,
): EventStreamConnection<T>
export function createEventStream<T = string>(
  url: string | URL,
  options: EventStreamOptions<T> = {},
): EventStreamConnection<T> {
  return new EventStreamConnectionImpl<T>(url, options)
}

/** The id in a `sluice-stream` event's data, or `undefined` when it has none. */
function streamIdOf(data: string): string | undefined {
  try {
    const value = JSON.parse(data) as { id?: unknown } | null
    return typeof value?.id === 'string' && value.id !== '' ? value.id : undefined
  } catch {
    // Not JSON: reported by the caller as an invalid event, like any other missing id.
    return undefined
  }
}
