import {
  assertEvent,
  type EventDefinition,
  type EventInput,
  type EventName,
  RESUMABLE_END_EVENT,
  RESUMABLE_ID_HEADER,
  RESUMABLE_STREAM_EVENT,
} from '@sluice/client'
import { type Channel, type ChannelEvent, createChannel, GAP_EVENT } from './channel/channel.js'
import { type ChannelStore, createMemoryStore } from './channel/store.js'
import type { ServeEventStreamOptions } from './encoders.js'
import { eventStreamResponse } from './fetch.js'
import { resolveLastEventId } from './pump.js'
import { jsonData, validatesByDefault } from './typed.js'

/** One event the work of a resumable stream yields: the SSE event type (optional) and its data. */
export interface ResumableEvent<TData = unknown> {
  /** SSE event type; absent means `message`. The `sluice-*` types are reserved. */
  readonly event?: string
  readonly data: TData
}

/** With a definition: the events the work may yield, typed by event type. */
export type TypedResumableEvent<Def extends EventDefinition> = {
  [K in EventName<Def>]: { readonly event: K; readonly data: EventInput<Def, K> }
}[EventName<Def>]

/** What the work of a resumable stream is given. */
export interface ResumableContext {
  /** The stream's id (also sent as the first event and the `sluice-stream-id` header). */
  readonly id: string
  /**
   * Aborted only by `close()` (server shutdown). A client leaving does NOT abort the work: that is
   * the point, the answer goes on and can be resumed.
   */
  readonly signal: AbortSignal
}

/**
 * The work behind a resumable stream: run once per `start()`, it yields the events (an LLM's
 * tokens...). Its end (normal or thrown) is published as the final `sluice-end` event.
 */
export type ResumableWork<TEvent extends ResumableEvent = ResumableEvent> = (
  context: ResumableContext,
) => AsyncIterable<TEvent> | Iterable<TEvent>

/** Where a stream id stands: see {@link ResumableStreams.status}. */
export type ResumableStatus = 'running' | 'finished' | 'expired' | 'unknown'

/** Options of {@link createResumableStreams}. */
export interface ResumableStreamsOptions<Def extends EventDefinition | undefined = undefined> {
  /** How long (ms) a finished stream can still be resumed. Default 5 minutes. Then: 410. */
  ttl?: number
  /**
   * Most streams kept at once (running or finished within `ttl`). Past it `start()` answers 503
   * (the work is not started). Default 1000.
   */
  maxStreams?: number
  /**
   * Most events each stream's history keeps (a ring buffer). A client resuming from before the
   * retained history gets the channel's `sluice-gap` signal, then the oldest events kept.
   * Default 10 000 (a long LLM answer in tokens). Ignored with `store`.
   */
  maxEvents?: number
  /**
   * How many expired ids are remembered to answer 410 rather than 404. Default 10 000; older
   * expired ids are answered 404 (unknown).
   */
  maxExpired?: number
  /**
   * A history store per stream, e.g. a shared one so another process can serve the history.
   * Default: an in-memory ring buffer of `maxEvents`. (The registry of ids, their state and the work
   * itself stay in this process.)
   */
  store?: (id: string) => ChannelStore
  /**
   * A shared definition (`defineEvents`): the work's events are typed by it and, in development,
   * validated before they are published (a bad one ends the work with an error, see `onError`).
   */
  events?: Def
  /** Validate events against `events`. Default: `true` unless `NODE_ENV` is `"production"`. */
  validate?: boolean
  /** Options of the SSE responses (`keepAlive`, `headers`, `retry`, `signal`, ...). */
  serve?: ServeEventStreamOptions
  /** The work threw (or yielded something invalid). Default `console.error`. The stream ends with `{ status: "error" }`. */
  onError?: (error: unknown, id: string) => void
}

/** A set of resumable streams; see {@link createResumableStreams}. */
export interface ResumableStreams<TEvent extends ResumableEvent = ResumableEvent> {
  /**
   * Starts `work` once under a new id and answers with its SSE stream: the `sluice-stream-id`
   * header, a first `sluice-stream` event `{ id }`, the work's events, and a final `sluice-end`
   * event `{ status }`. The work runs to its end even if this client leaves. 503 when
   * `maxStreams` streams are kept or after `close()`.
   */
  start(request: Request, work: ResumableWork<TEvent>): Response
  /**
   * Serves stream `id` by GET: every event after `Last-Event-ID` (header, or `lastEventId` query
   * parameter; from the first event without one), then live ones, ending after `sluice-end`.
   * `404` for an unknown id, `410` for an expired one, `204` (stop) when the client already has the
   * final event.
   */
  resume(request: Request, id: string): Response
  /** Where `id` stands: `running`, `finished` (resumable until `ttl`), `expired` (410) or `unknown` (404). */
  status(id: string): ResumableStatus
  /** Streams kept (running or finished within `ttl`). */
  readonly size: number
  /**
   * Aborts every running work (its `signal`), ends every response, clears the timers and forgets
   * every stream. Later calls answer 503. Idempotent.
   */
  close(): void
}

const DEFAULT_TTL = 5 * 60_000
const DEFAULT_MAX_STREAMS = 1000
const DEFAULT_MAX_EVENTS = 10_000
const DEFAULT_MAX_EXPIRED = 10_000

interface Entry {
  readonly id: string
  readonly channel: Channel<unknown, string | Promise<string>>
  readonly store: ChannelStore
  readonly controller: AbortController
  /** Resolves with the first event's id once it is stored. */
  readonly started: Promise<string>
  state: 'running' | 'finished'
  endId: string | undefined
  timer: ReturnType<typeof setTimeout> | undefined
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback
  if (!Number.isSafeInteger(result) || result <= 0) {
    throw new TypeError(`createResumableStreams: ${name} must be a positive integer, got ${String(value)}`)
  }
  return result
}

function plainResponse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  })
}

/**
 * Resumable POST streams for LLM-style answers: the work (the prompt) starts ONCE, by `start()`;
 * its events are kept in a channel with history while it runs and for `ttl` after; a client whose
 * connection dropped, or whose page reloaded, resumes by `GET` with `Last-Event-ID` and receives
 * exactly the events it missed, without running the prompt again. In memory by default (one
 * process); the history sits behind the channel store interface.
 *
 * Fetch-style (`Request -> Response`): Hono, Bun, Deno, Next route handlers; on `node:http` wrap
 * the handler with `toNodeHandler`. Client side: `createEventStream(url, { resumable })`.
 *
 * @example
 * ```ts
 * const answers = createResumableStreams({ ttl: 10 * 60_000 })
 * app.post('/api/chat', async (c) => {
 *   const { prompt } = await c.req.json()
 *   return answers.start(c.req.raw, async function* ({ signal }) {
 *     for await (const token of llm.stream(prompt, { signal })) yield { event: 'token', data: token }
 *   })
 * })
 * app.get('/api/chat/:id', (c) => answers.resume(c.req.raw, c.req.param('id')))
 * ```
 */
export function createResumableStreams<Def extends EventDefinition>(
  options: ResumableStreamsOptions<Def> & { events: Def },
): ResumableStreams<TypedResumableEvent<Def>>
export function createResumableStreams(options?: ResumableStreamsOptions): ResumableStreams
export function createResumableStreams(
  options: ResumableStreamsOptions<EventDefinition | undefined> = {},
): ResumableStreams {
  const ttl = positiveInteger('ttl', options.ttl, DEFAULT_TTL)
  const maxStreams = positiveInteger('maxStreams', options.maxStreams, DEFAULT_MAX_STREAMS)
  const maxEvents = positiveInteger('maxEvents', options.maxEvents, DEFAULT_MAX_EVENTS)
  const maxExpired = positiveInteger('maxExpired', options.maxExpired, DEFAULT_MAX_EXPIRED)
  const definition = options.events
  const validate = options.validate ?? validatesByDefault()
  const onError =
    options.onError ?? ((error: unknown, id: string) => console.error(`[sluice] resumable stream ${id}:`, error))
  const entries = new Map<string, Entry>()
  /** Expired ids, oldest first (a Map keeps insertion order), bounded by `maxExpired`. */
  const expired = new Map<string, true>()
  let closed = false

  const expire = (entry: Entry): void => {
    clearTimeout(entry.timer)
    entries.delete(entry.id)
    // Ends every response still following it: their clients reconnect and get 410.
    entry.channel.close()
    expired.set(entry.id, true)
    if (expired.size > maxExpired) {
      const oldest = expired.keys().next()
      if (!oldest.done) expired.delete(oldest.value)
    }
  }

  const checkEvent = (value: unknown): ResumableEvent => {
    if (typeof value !== 'object' || value === null || !('data' in value)) {
      throw new TypeError('A resumable stream work must yield { event?, data } objects')
    }
    const { event, data } = value as ResumableEvent
    if (event !== undefined && typeof event !== 'string') throw new TypeError('A yielded event type must be a string')
    if (event === RESUMABLE_STREAM_EVENT || event === RESUMABLE_END_EVENT || event === GAP_EVENT) {
      throw new TypeError(`The event type "${event}" is reserved by Sluice; use another name`)
    }
    if (definition !== undefined) {
      if (event === undefined || !Object.hasOwn(definition.schemas, event)) {
        throw new TypeError(
          `Unknown event type ${JSON.stringify(event)}: the definition has ${definition.events.map((e) => `"${e}"`).join(', ')}`,
        )
      }
      if (validate) assertEvent(definition, event, data)
    }
    return event === undefined ? { data } : { event, data }
  }

  /** Pulls the work into the channel, then publishes the end and starts the ttl. Never rejects. */
  const run = async (entry: Entry, work: ResumableWork): Promise<void> => {
    let status: 'complete' | 'error' = 'complete'
    try {
      await entry.started
      const events = work({ id: entry.id, signal: entry.controller.signal })
      for await (const value of events) {
        if (entry.controller.signal.aborted) break
        const { event, data } = checkEvent(value)
        // With a definition the client JSON-parses every event's data, strings included.
        await entry.channel.publish(
          definition === undefined ? data : jsonData(data),
          event === undefined ? {} : { event },
        )
      }
    } catch (error) {
      status = 'error'
      // After close() the channel refuses publishes and the work was aborted: not a failure to report.
      if (!entry.controller.signal.aborted) onError(error, entry.id)
    }
    if (entry.controller.signal.aborted) return
    try {
      entry.endId = await entry.channel.publish({ status }, { event: RESUMABLE_END_EVENT })
    } catch (error) {
      onError(error, entry.id)
    }
    entry.state = 'finished'
    if (entries.get(entry.id) === entry) {
      entry.timer = setTimeout(() => expire(entry), ttl)
      // Expiry alone must not keep a process alive (a script that served one answer can exit);
      // close() clears it. `unref` is Node's / Bun's / Deno's; other runtimes return a number.
      ;(entry.timer as { unref?: () => void }).unref?.()
    }
  }

  /** The events after `after` (all of them when `undefined`), ending after the final event. */
  async function* follow(entry: Entry, after: string | undefined): AsyncGenerator<ChannelEvent, void> {
    const startId = await entry.started
    if (after === undefined) {
      yield { id: startId, event: RESUMABLE_STREAM_EVENT, data: { id: entry.id } }
    }
    // The subscription replays the history after `after`, then follows live events, with no gap and
    // no duplicate (the channel's guarantee); leaving the loop returns it.
    for await (const message of entry.channel.subscribe({ lastEventId: after ?? startId })) {
      yield message
      if (message.event === RESUMABLE_END_EVENT) return
    }
  }

  const serve = (request: Request, entry: Entry, after: string | undefined, headers?: HeadersInit): Response => {
    const merged = new Headers(options.serve?.headers)
    for (const [name, value] of new Headers(headers)) merged.set(name, value)
    return eventStreamResponse(request, follow(entry, after), { ...options.serve, headers: merged })
  }

  return {
    get size() {
      return entries.size
    },

    start(request, work) {
      if (closed) return plainResponse(503, 'Resumable streams are closed')
      if (typeof work !== 'function') throw new TypeError('start(request, work): work must be a function')
      if (entries.size >= maxStreams) {
        return plainResponse(503, `Too many resumable streams (maxStreams ${maxStreams}); try again later`)
      }
      const id = globalThis.crypto.randomUUID()
      const store = options.store?.(id) ?? createMemoryStore({ maxSize: maxEvents, firstId: 1 })
      const channel = createChannel({ store }) as Channel<unknown, string | Promise<string>>
      const started = Promise.resolve(channel.publish({ id }, { event: RESUMABLE_STREAM_EVENT }))
      const entry: Entry = {
        id,
        channel,
        store,
        controller: new AbortController(),
        started,
        state: 'running',
        endId: undefined,
        timer: undefined,
      }
      entries.set(id, entry)
      // A store that failed to take the first event fails the work too (run reports it).
      void run(entry, work)
      return serve(request, entry, undefined, {
        [RESUMABLE_ID_HEADER]: id,
        // Lets a cross-origin page read the id (CORS exposes only safelisted headers).
        'access-control-expose-headers': RESUMABLE_ID_HEADER,
      })
    },

    resume(request, id) {
      if (closed) return plainResponse(503, 'Resumable streams are closed')
      const entry = entries.get(id)
      if (entry === undefined) {
        return expired.has(id)
          ? plainResponse(410, `Stream ${id} has expired`)
          : plainResponse(404, `No stream with id ${JSON.stringify(id)}`)
      }
      const after = resolveLastEventId(request.headers.get('last-event-id'), request.url)
      // The client already has the final event: nothing more will ever come. 204 tells an SSE
      // client to stop reconnecting (https://html.spec.whatwg.org/multipage/server-sent-events.html#sse-processing-model).
      if (entry.endId !== undefined && after !== undefined && entry.store.compare(after, entry.endId) >= 0) {
        return new Response(null, { status: 204 })
      }
      return serve(request, entry, after)
    },

    status(id) {
      const entry = entries.get(id)
      if (entry !== undefined) return entry.state
      return expired.has(id) ? 'expired' : 'unknown'
    },

    close() {
      if (closed) return
      closed = true
      for (const entry of entries.values()) {
        entry.controller.abort()
        clearTimeout(entry.timer)
        entry.channel.close()
      }
      entries.clear()
      expired.clear()
    },
  }
}
