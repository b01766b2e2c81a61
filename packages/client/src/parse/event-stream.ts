import { createParser } from 'eventsource-parser'
import { LimitExceededError } from '../errors.js'
import { readChunks } from './chunks.js'
import { EventStreamScan } from './event-stream-scan.js'
import { checkLimit } from './limit.js'

/**
 * One server-sent event, as `readEventStream` and `createEventStream` yield it.
 *
 * @example
 * ```ts
 * const message: EventStreamMessage = { event: 'message', data: 'hello', id: '' }
 * ```
 */
export interface EventStreamMessage<T = string> {
  /** The `event:` field, `"message"` when the server sent none (as `EventSource` does). */
  event: string
  /** The `data:` lines joined with `"\n"` (or what `parse` / `schema` made of them). */
  data: T
  /**
   * The last event ID as the spec defines it: set by an `id:` field and kept for later events until
   * another `id:` field changes it (an `id:` in a block without data counts too); `""` when none.
   */
  id: string
}

/** Options of {@link readEventStream}. */
export interface ReadEventStreamOptions {
  /** Called with the delay of every valid `retry:` field (ASCII digits only; anything else is ignored). */
  onRetry?: (ms: number) => void
  /** Called with the text of every comment line (`: keepalive` gives `"keepalive"`). */
  onComment?: (text: string) => void
  /**
   * Called when a dispatch (a blank line) changes the last event ID, including for a block without
   * `data:`, which yields no message but still moves the ID a reconnect must send as
   * `Last-Event-ID`. Called while parsing, before that block's message (if any) is yielded.
   */
  onLastEventId?: (id: string) => void
  /**
   * Bound of one message in bytes: everything buffered since the last dispatch (the lines of the
   * event being assembled and the line still arriving; comments are not buffered and do not count).
   * Past it the iterator throws `LimitExceededError` (`limit: "maxMessageSize"`) without reading
   * further. Default {@link DEFAULT_MAX_MESSAGE_SIZE} (8 MiB).
   */
  maxMessageSize?: number
  /** Aborting cancels the underlying reader and ends the iteration normally. */
  signal?: AbortSignal
}

/**
 * Default `maxMessageSize` of {@link readEventStream}: 8 MiB. Far above chat tokens, JSON patches
 * or log lines, small enough that a server that never sends a blank line cannot exhaust memory.
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 8 * 1024 * 1024

/**
 * Parses a `text/event-stream` body into messages, following the WHATWG rules
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
 * with `eventsource-parser`. Always decoded as UTF-8; CR, LF and CRLF line breaks; one leading BOM
 * ignored; an event that is not terminated by a blank line when the stream ends is not dispatched.
 *
 * It does not check the response status or content type (`createEventStream` does); a `Response`
 * without a body is an empty stream. Leaving the loop early, aborting `signal` or an error cancels
 * the underlying reader.
 *
 * @throws `LimitExceededError` when one message passes `maxMessageSize`; `TypeError` when `input`
 * is not a `Response` / `ReadableStream` or was already read; the stream's own error if reading fails.
 *
 * @example
 * ```ts
 * const response = await fetch('/api/chat', { method: 'POST', body })
 * for await (const { event, data, id } of readEventStream(response)) {
 *   if (data === '[DONE]') break // cancels the response body
 *   console.log(event, id, JSON.parse(data))
 * }
 * ```
 */
export function readEventStream(
  input: Response | ReadableStream<Uint8Array>,
  options: ReadEventStreamOptions = {},
): AsyncGenerator<EventStreamMessage, void, undefined> {
  return parseEventStream(input, options, false) as AsyncGenerator<EventStreamMessage, void, undefined>
}

/**
 * The last event ID moved by a block without data (which dispatches no message), in stream order
 * among the messages. `createEventStream` reads these so that the ID it sends on reconnect is the
 * one of the last message it handled, never one the parser has read ahead in the same chunk.
 *
 * @internal
 */
export class LastEventIdMove {
  constructor(readonly lastEventId: string) {}
}

/**
 * `readEventStream`, and with `withIdMoves` also a {@link LastEventIdMove} in stream order for every
 * block without data that changes the last event ID.
 *
 * @internal
 */
export function readEventStreamWithIdMoves(
  input: Response | ReadableStream<Uint8Array>,
  options: ReadEventStreamOptions = {},
): AsyncGenerator<EventStreamMessage | LastEventIdMove, void, undefined> {
  return parseEventStream(input, options, true)
}

async function* parseEventStream(
  input: Response | ReadableStream<Uint8Array>,
  options: ReadEventStreamOptions,
  withIdMoves: boolean,
): AsyncGenerator<EventStreamMessage | LastEventIdMove, void, undefined> {
  const { onRetry, onComment, onLastEventId, signal } = options
  const maxMessageSize = checkLimit(
    'readEventStream',
    'maxMessageSize',
    options.maxMessageSize,
    DEFAULT_MAX_MESSAGE_SIZE,
  )

  /** Messages dispatched by the chunk being parsed, yielded after it. Bounded by one chunk's size. */
  const ready: Array<EventStreamMessage | LastEventIdMove> = []
  // The spec's "last event ID buffer": it is not reset at dispatch, so the ID persists across events.
  let lastEventId = ''
  let reportedLastEventId = ''
  const scan = new EventStreamScan(maxMessageSize)
  /** How many of the current chunk's ID moves and messages were handled, to merge them in order. */
  let movesDone = 0
  let eventsDone = 0
  // Blocks without data that moved the ID before the next message (or the end of the chunk).
  const applyMoves = (upTo: number) => {
    const moves = scan.moves
    while (movesDone < moves.length && moves[movesDone]!.at <= upTo) {
      lastEventId = moves[movesDone]!.id
      movesDone += 1
      if (lastEventId !== reportedLastEventId) {
        reportedLastEventId = lastEventId
        onLastEventId?.(lastEventId)
        if (withIdMoves) ready.push(new LastEventIdMove(lastEventId))
      }
    }
  }

  const parser = createParser({
    onEvent: (event) => {
      applyMoves(eventsDone)
      eventsDone += 1
      // eventsource-parser gives the `id:` of the dispatched block only; without one the last
      // event ID buffer keeps its value.
      if (event.id !== undefined) lastEventId = event.id
      if (lastEventId !== reportedLastEventId) {
        reportedLastEventId = lastEventId
        onLastEventId?.(lastEventId)
      }
      // eventsource-parser reports an empty `event:` as undefined; the spec dispatches it as "message".
      ready.push({ event: event.event ?? 'message', data: event.data, id: lastEventId })
    },
    onRetry,
    onComment,
    // The only errors it reports are an invalid `retry:` value and an unknown field, both of which
    // the spec says to ignore; everything else is delivered through the callbacks above.
  })
  // eventsource-parser strips a BOM by looking for the *bytes* EF BB BF as characters in its first
  // chunk, which in decoded text are the letters "ï»¿". The decoder below already drops the real BOM
  // (U+FEFF, once, at the start of the stream), so the parser's check is spent on an empty chunk.
  parser.feed('')
  // One streaming decoder for the whole stream: a character split across chunks is decoded right
  // (https://encoding.spec.whatwg.org/#utf-8-decoder) and a leading BOM is removed exactly once.
  const decoder = new TextDecoder('utf-8')
  /** The text fed last ended with CR, fed as LF: an LF starting the next text completes that CRLF. */
  let skipLf = false

  const push = (chunk: Uint8Array) => {
    const end = scan.scan(chunk)
    movesDone = 0
    eventsDone = 0
    let text = decoder.decode(end === chunk.byteLength ? chunk : chunk.subarray(0, end), { stream: true })
    if (text.length > 0) {
      if (skipLf) {
        skipLf = false
        if (text.charCodeAt(0) === LF) text = text.slice(1)
      }
      // eventsource-parser waits for the next chunk before it acts on a CR that ends its input (it
      // might be a CRLF), so a dispatch would be delayed by a chunk, or lost at the end of the
      // stream. The CR is fed as LF instead and a following LF dropped.
      if (text.charCodeAt(text.length - 1) === CR) {
        text = `${text}\n`
        skipLf = true
      }
      parser.feed(text)
    }
    applyMoves(Number.POSITIVE_INFINITY)
    if (scan.overflowLine > 0) {
      const lineNumber = scan.overflowLine
      throw new LimitExceededError(
        'maxMessageSize',
        maxMessageSize,
        `Server-sent event larger than maxMessageSize (${maxMessageSize} bytes) at line ${lineNumber}`,
        { lineNumber },
      )
    }
  }

  // The loop of `parseChunks`, inlined: a message passes through one generator here instead of
  // three (this one, `parseChunks` and its per-chunk batch), which is most of the per-message cost
  // of small events. An error thrown while parsing a chunk (the bound) is rethrown only after the
  // messages parsed from that chunk before it were delivered, so nothing valid that came first is
  // lost. Leaving the loop for any reason ends `readChunks`, which releases the reader.
  // At the end of the stream a partial line and an event without its blank line are discarded, per
  // spec ("If the file ends in the middle of an event, before the final empty line, the incomplete
  // event is not dispatched."): nothing is fed at the end.
  for await (const chunk of readChunks(input, signal, 'readEventStream')) {
    let failure: { error: unknown } | undefined
    try {
      push(chunk)
    } catch (error) {
      failure = { error }
    }
    for (let i = 0; i < ready.length; i++) {
      if (signal?.aborted) return
      yield ready[i]!
    }
    ready.length = 0
    if (failure !== undefined) throw failure.error
  }
}

const LF = 0x0a
const CR = 0x0d
