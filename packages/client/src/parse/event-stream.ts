import { createParser } from 'eventsource-parser'
import { LimitExceededError } from '../errors.js'
import { BatchIterator, type ChunkResult, readBatches } from './chunks.js'
import { EventStreamScan, type IdMove } from './event-stream-scan.js'
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
  return new BatchIterator(
    parseBatches(input, options, false) as AsyncGenerator<readonly EventStreamMessage[], void, undefined>,
    options.signal,
  )
}

/**
 * The messages of each chunk as one batch, with `withIdMoves` also a {@link LastEventIdMove} for
 * every block without data that changes the last event ID. An error of a chunk (the bound) is thrown
 * by the call after the batch of the messages before it, so nothing valid that came first is lost.
 * Leaving it for any reason ends `readBatches`, which releases the reader.
 */
function parseBatches(
  input: Response | ReadableStream<Uint8Array>,
  options: ReadEventStreamOptions,
  withIdMoves: boolean,
  onChunk?: () => void,
): AsyncGenerator<ReadonlyArray<EventStreamMessage | LastEventIdMove>, void, undefined> {
  return readBatches(input, options.signal, 'readEventStream', () => {
    const parse = eventStreamParser(options, withIdMoves)
    return (chunk) => {
      // At the end nothing is fed (see eventStreamParser).
      if (chunk === undefined) return NOTHING
      onChunk?.()
      return parse(chunk)
    }
  })
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
 * `readEventStream` for `createEventStream`: the messages of each chunk as one batch (one async step
 * per chunk instead of one per message), with a {@link LastEventIdMove} in stream order for every
 * block without data that changes the last event ID. An error of a chunk (the bound) is thrown by
 * the call after the batch of the messages before it. The caller checks its signal between messages.
 * `onChunk` is called as each chunk arrives (activity for the idle timer, without a stream in between).
 *
 * @internal
 */
export function readEventStreamBatches(
  input: Response | ReadableStream<Uint8Array>,
  options: ReadEventStreamOptions = {},
  onChunk?: () => void,
): AsyncGenerator<ReadonlyArray<EventStreamMessage | LastEventIdMove>, void, undefined> {
  return parseBatches(input, options, true, onChunk)
}

/**
 * The parser behind both readers: a function that takes the stream's chunks in order and returns
 * the messages of each. At the end of the stream nothing is fed: a partial line and an event without
 * its blank line are discarded, per spec ("If the file ends in the middle of an event, before the
 * final empty line, the incomplete event is not dispatched.").
 */
function eventStreamParser(
  options: ReadEventStreamOptions,
  withIdMoves: boolean,
): (chunk: Uint8Array) => ChunkResult<EventStreamMessage | LastEventIdMove> {
  const { onRetry, onComment, onLastEventId } = options
  const maxMessageSize = checkLimit(
    'readEventStream',
    'maxMessageSize',
    options.maxMessageSize,
    DEFAULT_MAX_MESSAGE_SIZE,
  )

  /**
   * Messages dispatched by the chunk being parsed, yielded after it (bounded by one chunk's size).
   * `id` is first what eventsource-parser reports: the block's own `id:` or undefined, resolved
   * against the last event ID once the chunk is parsed.
   */
  let parsed: EventStreamMessage[] = []
  // The spec's "last event ID buffer": it is not reset at dispatch, so the ID persists across events.
  let lastEventId = ''
  let out: Array<EventStreamMessage | LastEventIdMove> = parsed
  const moveTo = (id: string) => {
    if (id === lastEventId) return
    lastEventId = id
    onLastEventId?.(id)
    if (withIdMoves) out.push(new LastEventIdMove(id))
  }
  /** Gives every message of the chunk its last event ID, with the ID moves of blocks without data in order. */
  const resolve = (moves: readonly IdMove[]) => {
    out = moves.length === 0 || !withIdMoves ? parsed : []
    let m = 0
    for (let i = 0; i < parsed.length; i++) {
      // A move recorded after `at` data dispatches comes before the message with that index.
      while (m < moves.length && moves[m]!.at <= i) moveTo(moves[m++]!.id)
      const message = parsed[i]!
      // eventsource-parser gives the `id:` of the dispatched block only; without one the last
      // event ID buffer keeps its value.
      if (message.id === undefined) message.id = lastEventId
      else moveTo(message.id)
      if (out !== parsed) out.push(message)
    }
    while (m < moves.length) moveTo(moves[m++]!.id)
  }

  const parser = createParser({
    onEvent: (event) => {
      // eventsource-parser reports an empty `event:` as undefined; the spec dispatches it as "message".
      parsed.push({ event: event.event ?? 'message', data: event.data, id: event.id as string })
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

  // The byte scan (EventStreamScan) keeps the bound exact in bytes and finds the ID of blocks
  // without data, but it costs as much as parsing. It runs only where it can matter:
  // - from 'here', on every byte (after CR line breaks, or once a block came near the bound, until
  //   the next blank line);
  // - otherwise the scan stands at the start of the block being assembled, whose bytes so far are
  //   kept in `block` (views of chunks already read, at most the bound), and a chunk is parsed
  //   without it when it cannot pass the bound (all of `block` and the chunk together fit) and
  //   every blank line in it dispatched a message. When one did not (a block without data ended),
  //   the scan runs from `block` over the chunk to find the ID moves, before anything is yielded.
  const scan = new EventStreamScan(maxMessageSize)
  /**
   * Where the scan stands: 'here' (it has seen every byte so far), or at the start of `block`, which
   * is the 'stream start' (no blank line yet: the scan starts with its BOM rule) or a 'block start'.
   */
  let scanFrom: 'here' | 'stream start' | 'block start' = 'stream start'
  const block: Uint8Array[] = []
  let blockBytes = 0
  /** Bytes of the stream before the chunk in hand, to say where an oversized message is. */
  let offset = 0
  /** The previous chunk's text ended with LF: a blank line may straddle the two chunks. */
  let endsLf = false

  const rescan = (chunk: Uint8Array) => {
    if (scanFrom === 'stream start') scan.startStream()
    else scan.startBlock()
    for (const part of block) scan.scan(part)
    return scan.scan(chunk)
  }

  const push = (chunk: Uint8Array) => {
    const length = chunk.byteLength
    let exact = scanFrom === 'here' || blockBytes + length > maxMessageSize
    let end = length
    if (exact) end = scanFrom === 'here' ? scan.scan(chunk) : rescan(chunk)
    // `text` is the chunk as decoded, whose LFs are the chunk's; the parser may be fed it adjusted.
    const text = decoder.decode(end === length ? chunk : chunk.subarray(0, end), { stream: true })
    // CR and LF bytes are the same characters in the text (never part of a multi-byte character).
    const hasCr = text.indexOf('\r') !== -1
    if (hasCr && !exact) {
      // Blank lines are only counted on LF line breaks: scan this chunk (cannot pass the bound).
      rescan(chunk)
      exact = true
    }
    const blanks = hasCr ? 0 : blankLines(text, endsLf)
    if (text.length > 0) {
      let fed = text
      if (skipLf) {
        skipLf = false
        if (fed.charCodeAt(0) === LF) fed = fed.slice(1)
      }
      // eventsource-parser waits for the next chunk before it acts on a CR that ends its input (it
      // might be a CRLF), so a dispatch would be delayed by a chunk, or lost at the end of the
      // stream. The CR is fed as LF instead and a following LF dropped.
      if (fed.charCodeAt(fed.length - 1) === CR) {
        fed = `${fed}\n`
        skipLf = true
      }
      parser.feed(fed)
    }
    if (!exact && blanks !== parsed.length) {
      // At least one blank line dispatched no message: a block without data, whose `id:` (if any)
      // still moves the last event ID. Cannot pass the bound (checked above).
      rescan(chunk)
      exact = true
    }
    resolve(exact ? scan.moves : NO_MOVES)
    if (scan.overflowed && exact) {
      throw new LimitExceededError(
        'maxMessageSize',
        maxMessageSize,
        `Server-sent event larger than maxMessageSize (${maxMessageSize} bytes); the stream was parsed up to byte ${offset + end}`,
      )
    }
    offset += length
    if (hasCr) {
      // Blank lines found on text without CR only: with CR the scan stays on every byte until
      // nothing of a block is buffered.
      // The scan has seen this chunk: nothing kept from before it is needed any more.
      scanFrom = scan.idle ? 'block start' : 'here'
      block.length = 0
      blockBytes = 0
      endsLf = false
      return
    }
    const blankEnd = blanks === 0 ? -1 : byteIndexAfter(chunk, text, lastBlankAfter)
    endsLf = text.length > 0 ? text.charCodeAt(text.length - 1) === LF : endsLf
    if (blankEnd !== -1) {
      // The scan restarts at the block after the last blank line; its bytes so far are kept.
      scan.startBlock()
      scanFrom = 'block start'
      block.length = 0
      blockBytes = length - blankEnd
      if (blockBytes > 0) block.push(blankEnd === 0 ? chunk : chunk.subarray(blankEnd))
    } else if (exact) {
      // The scan has seen every byte so far: it goes on from here, one chunk at a time (rescanning
      // the kept block for every chunk near the bound would be quadratic), until a blank line.
      scanFrom = scan.idle ? 'block start' : 'here'
      block.length = 0
      blockBytes = 0
    } else {
      block.push(chunk)
      blockBytes += length
    }
  }

  return (chunk) => {
    let failure: { error: unknown } | undefined
    try {
      push(chunk)
    } catch (error) {
      failure = { error }
    }
    // Most chunks of a large event complete nothing: no new arrays or result for them.
    if (out.length === 0 && failure === undefined) return NOTHING
    const batch = out
    parsed = []
    out = parsed
    return { batch, failure }
  }
}

const LF = 0x0a
const CR = 0x0d
const NO_MOVES: readonly IdMove[] = []
const NOTHING: ChunkResult<never> = { batch: [], failure: undefined }

/** Text index just after the last blank line that {@link blankLines} counted. */
let lastBlankAfter = -1

/**
 * Blank lines in `text` (LF line breaks only), counting each one that ends a non-empty block: a
 * lower bound of the blocks dispatched, so a count equal to the messages the parser dispatched
 * means every block that ended had data. A blank line straddling two chunks counts in the second.
 * Leaves the index after the last one counted in `lastBlankAfter` (the blank lines of a run of them
 * are counted from the first, so it may stand before the last of such a run: what follows it is then
 * an empty line, which starts no block).
 */
function blankLines(text: string, previousEndsLf: boolean): number {
  let count = 0
  let from = 0
  if (previousEndsLf && text.charCodeAt(0) === LF) {
    count = 1
    from = 1
  }
  for (;;) {
    const at = text.indexOf('\n\n', from)
    if (at === -1) break
    count += 1
    from = at + 2
  }
  lastBlankAfter = from
  return count
}

/**
 * The byte index in `chunk` of text index `after` (just after an LF of `text`, the chunk decoded),
 * found by counting the LFs from there to the end, which are the same in both.
 */
function byteIndexAfter(chunk: Uint8Array, text: string, after: number): number {
  let lfs = 1
  for (let at = text.indexOf('\n', after); at !== -1; at = text.indexOf('\n', at + 1)) lfs += 1
  let index = chunk.byteLength
  for (let k = 0; k < lfs; k++) index = chunk.lastIndexOf(LF, index - 1)
  return index + 1
}
