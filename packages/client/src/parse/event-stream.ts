import { createParser } from 'eventsource-parser'
import { LimitExceededError } from '../errors.js'
import { parseChunks } from './chunks.js'
import { checkLimit } from './limit.js'
import { LineSplitter } from './lines.js'

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

const COLON = 0x3a

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
  /** Bytes of the non-comment lines of the event being assembled. */
  let messageBytes = 0

  const parser = createParser({
    onEvent: (event) => {
      // eventsource-parser reports an empty `event:` as undefined; the spec dispatches it as "message".
      ready.push({ event: event.event ?? 'message', data: event.data, id: lastEventId })
    },
    onRetry,
    onComment,
    // The only errors it reports are an invalid `retry:` value and an unknown field, both of which
    // the spec says to ignore; everything else is delivered through the callbacks above.
  })
  // eventsource-parser strips a BOM by looking for the *bytes* EF BB BF as characters in its first
  // chunk, which in decoded text are the letters "ï»¿". The splitter already drops the real BOM
  // (U+FEFF) at byte level, so the parser's check is spent on an empty first chunk.
  parser.feed('')

  const splitter = new LineSplitter({
    crEndsLine: true,
    maxLineBytes: maxMessageSize,
    onOverflow: (lineNumber) => {
      throw new LimitExceededError(
        'maxMessageSize',
        maxMessageSize,
        `Server-sent event larger than maxMessageSize (${maxMessageSize} bytes) at line ${lineNumber}`,
        { lineNumber },
      )
    },
    onLine: (line, _lineNumber, byteLength) => {
      if (line === '') {
        // Dispatch (https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage):
        // the last event ID is updated even when there is no data and nothing is dispatched.
        const before = ready.length
        parser.feed('\n')
        messageBytes = 0
        splitter.maxLineBytes = maxMessageSize
        if (lastEventId !== reportedLastEventId) {
          reportedLastEventId = lastEventId
          onLastEventId?.(lastEventId)
          // A dispatch that yielded a message carries the ID in it; one without data says it here.
          if (withIdMoves && ready.length === before) ready.push(new LastEventIdMove(lastEventId))
        }
        return
      }
      if (line.charCodeAt(0) !== COLON) {
        messageBytes += byteLength
        // The next line may only use what is left of the message's budget.
        splitter.maxLineBytes = maxMessageSize - messageBytes
        const id = idFieldValue(line)
        // "If the field value does not contain U+0000 NULL, then set the last event ID buffer".
        if (id !== undefined && !id.includes('\0')) lastEventId = id
      }
      parser.feed(`${line}\n`)
    },
  })

  // At the end of the stream a partial line and an event without its blank line are discarded, per
  // spec ("If the file ends in the middle of an event, before the final empty line, the incomplete
  // event is not dispatched.").
  yield* parseChunks(
    input,
    signal,
    'readEventStream',
    { push: (chunk) => splitter.push(chunk), end: () => splitter.end(false) },
    ready,
  )
}

/**
 * The value of an `id` field line, or undefined for any other line. eventsource-parser tracks the ID
 * only per dispatched event, and a block with an `id:` but no `data:` is never dispatched, so the
 * "last event ID buffer" is kept here (field name and value split exactly as the spec's
 * "process the field" step: https://html.spec.whatwg.org/multipage/server-sent-events.html#processField).
 */
function idFieldValue(line: string): string | undefined {
  if (line.charCodeAt(0) !== 0x69 || line.charCodeAt(1) !== 0x64) return undefined // "id"
  if (line.length === 2) return '' // a field without colon has an empty value
  if (line.charCodeAt(2) !== COLON) return undefined
  return line.slice(line.charCodeAt(3) === 0x20 ? 4 : 3) // only one leading space is stripped
}
