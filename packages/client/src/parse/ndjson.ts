import type { NdjsonSyntaxError } from '../errors.js'
import { BatchIterator, type ByteInput, readBatches, StringChunkEncoder } from './chunks.js'
import { checkLimit } from './limit.js'
import { NdjsonLines } from './ndjson-lines.js'

/** Options of {@link readNdjson} (and, without `signal`, of {@link NdjsonParseStream}). */
export interface ReadNdjsonOptions {
  /**
   * Bound of one line in bytes (without its line break). As soon as the line being received passes
   * it, buffering stops and `LimitExceededError` (`limit: "maxLineSize"`, with `lineNumber`) is
   * thrown. Default {@link DEFAULT_MAX_LINE_SIZE} (8 MiB).
   */
  maxLineSize?: number
  /**
   * What to do with a line that is not valid JSON. `false` (the default): throw `NdjsonSyntaxError`
   * after every value before that line was delivered. `true`: skip the line. A function: skip the
   * line and call it with the error (to log or count bad lines).
   */
  skipInvalidLines?: boolean | ((error: NdjsonSyntaxError) => void)
  /** Aborting cancels the underlying reader and ends the iteration normally. */
  signal?: AbortSignal
}

/**
 * Default `maxLineSize` of {@link readNdjson} and {@link NdjsonParseStream}: 8 MiB. Far above
 * typical records, small enough that a server that never sends a newline cannot exhaust memory.
 */
export const DEFAULT_MAX_LINE_SIZE = 8 * 1024 * 1024

/**
 * Parses newline-delimited JSON (https://github.com/ndjson/ndjson-spec, also JSON Lines) into values.
 * UTF-8; LF or CRLF line breaks; blank lines skipped; a last line without a line break is parsed;
 * linear time however the lines are split into chunks.
 *
 * It does not check the response status or content type (`createNdjsonStream` does); a `Response`
 * without a body is an empty stream. Leaving the loop early, aborting `signal` or an error cancels
 * the underlying reader. Values are not validated: `T` is what you assert the lines contain.
 *
 * @throws `NdjsonSyntaxError` (with `lineNumber` and `excerpt`) for a line that is not JSON, unless
 * `skipInvalidLines`; `LimitExceededError` when a line passes `maxLineSize`; `TypeError` when
 * `input` is not a `Response` / `ReadableStream` or was already read; the stream's own error if
 * reading fails.
 *
 * @example
 * ```ts
 * const response = await fetch('/api/logs?follow=1')
 * for await (const entry of readNdjson<{ level: string; msg: string }>(response, { maxLineSize: 65_536 })) {
 *   console.log(entry.level, entry.msg)
 * }
 * ```
 */
export function readNdjson<T = unknown>(
  input: Response | ReadableStream<Uint8Array>,
  options: ReadNdjsonOptions = {},
): AsyncGenerator<T, void, undefined> {
  return new BatchIterator<T>(parseBatches<T>(input, options, options.signal, 'readNdjson'), options.signal)
}

/**
 * `TransformStream`, read when called. `class X extends TransformStream` reads a global at import
 * time, which bundlers must assume can throw, so they keep the class (and all it uses) in every
 * bundle that imports this module: a `readNdjson`-only import paid for `NdjsonParseStream`. A
 * `@__PURE__` call as the base lets them drop the class when it is not used.
 */
function transformStreamClass(): new <I, O>() => TransformStream<I, O> {
  return TransformStream
}

/**
 * NDJSON parsing as a `TransformStream`: write bytes (or strings), read parsed values. Same rules,
 * options and errors as {@link readNdjson} (it runs the same parser): the readable side errors with
 * `NdjsonSyntaxError` / `LimitExceededError` only after every value before the bad line was read.
 * Cancelling the readable side cancels the writable side (and, through `pipeThrough`, the source).
 *
 * @example
 * ```ts
 * const response = await fetch('/api/events.ndjson')
 * const values = response.body!.pipeThrough(new NdjsonParseStream<{ id: number }>())
 * for await (const value of values) console.log(value.id)
 * ```
 */
export class NdjsonParseStream<T = unknown> extends /* @__PURE__ */ transformStreamClass()<Uint8Array | string, T> {
  constructor(options: Omit<ReadNdjsonOptions, 'signal'> = {}) {
    // The base class is an identity stream: what is written to `writable` comes out of its own
    // readable unchanged, and the shared parser reads it from there.
    super()
    const raw = this.readable as unknown as ReadableStream<Uint8Array | string>
    const batches = parseBatches<T>(raw, options, undefined, 'NdjsonParseStream', new StringChunkEncoder())
    // The values are pulled from the parser, one chunk's batch per pull (a pull per value cost more
    // than the parsing). A transformer that enqueued values and then errored would lose the values
    // still queued (erroring a ReadableStream discards its queue), breaking "every value before the
    // bad line is delivered". Here the parser throws only on the `next()` after the batch of good
    // values, and with a high-water mark of 0 pull runs only once the queue is empty and a read
    // waits: the rejected pull errors the stream exactly at the read that follows the last good
    // value. At most one batch (one chunk's values) is ever queued.
    const parsed = new ReadableStream<T>(
      {
        async pull(controller) {
          const next = await batches.next()
          if (next.done) controller.close()
          else for (const value of next.value) controller.enqueue(value)
        },
        async cancel() {
          // Runs the parser's `finally`, which cancels the identity stream and so the writer.
          await batches.return(undefined)
        },
      },
      { highWaterMark: 0 },
    )
    Object.defineProperty(this, 'readable', { value: parsed, enumerable: true, configurable: true })
  }
}

/**
 * The one NDJSON parser behind `readNdjson` and `NdjsonParseStream`, one batch of values per chunk
 * (see {@link NdjsonLines}). An error thrown while parsing a chunk (bad line, bound) is thrown only
 * after the batch of values parsed from that chunk before it, so nothing valid that came first is
 * lost. Leaving early, aborting or an error ends `readBatches`, which releases the reader.
 */
function parseBatches<T>(
  input: ByteInput,
  options: Omit<ReadNdjsonOptions, 'signal'>,
  signal: AbortSignal | undefined,
  caller: string,
  text?: StringChunkEncoder,
): AsyncGenerator<readonly T[], void, undefined> {
  return readBatches(
    input,
    signal,
    caller,
    () => {
      const max = checkLimit(caller, 'maxLineSize', options.maxLineSize, DEFAULT_MAX_LINE_SIZE)
      const lines = new NdjsonLines<T>(max, options.skipInvalidLines ?? false)
      return (chunk) => {
        const batch: T[] = []
        let failure: { error: unknown } | undefined
        try {
          if (chunk === undefined) lines.end(batch)
          else lines.push(chunk, batch)
        } catch (error) {
          failure = { error }
        }
        return { batch, failure }
      }
    },
    text,
  )
}
