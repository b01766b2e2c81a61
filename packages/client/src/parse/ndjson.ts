import { NdjsonSyntaxError } from '../errors.js'
import { type ByteInput, readChunks, StringChunkEncoder } from './chunks.js'
import { checkLimit } from './limit.js'
import { overflow, PendingLine } from './ndjson-pending.js'

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

/** Longest excerpt of a bad line kept in `NdjsonSyntaxError.excerpt`. */
const EXCERPT_LENGTH = 80

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
  return parseNdjson<T>(input, options, options.signal, 'readNdjson')
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
    const values = parseNdjson<T>(raw, options, undefined, 'NdjsonParseStream', new StringChunkEncoder())
    // The values are pulled from the parser one read at a time. A transformer that enqueued values
    // and then errored would lose the values still queued (erroring a ReadableStream discards its
    // queue), breaking "every value before the bad line is delivered"; pulling makes the error
    // surface exactly at the read that follows the last good value.
    const parsed = new ReadableStream<T>(
      {
        async pull(controller) {
          const next = await values.next()
          if (next.done) controller.close()
          else controller.enqueue(next.value)
        },
        async cancel() {
          // Runs the parser's `finally`, which cancels the identity stream and so the writer.
          await values.return(undefined)
        },
      },
      { highWaterMark: 0 },
    )
    Object.defineProperty(this, 'readable', { value: parsed, enumerable: true, configurable: true })
  }
}

/**
 * The one NDJSON parser behind `readNdjson` and `NdjsonParseStream`: one async generator that
 * yields each value as its line is parsed (no per-chunk batch, no nested generators: a value passes
 * through this generator only). Each chunk is handled in three parts:
 *
 * - the end of the line that started in earlier chunks (kept as byte views), joined and decoded on
 *   its own;
 * - the whole lines after it, up to the chunk's last LF, decoded with one `decode()` call and split
 *   on `"\n"` as text;
 * - the bytes after the last LF, kept as a view (not decoded) until the line ends.
 *
 * Splitting on bytes is safe and decoding whole lines gives exactly what decoding the whole stream
 * would: LF (0x0A) never occurs inside a multi-byte UTF-8 sequence, and a truncated sequence before
 * it becomes one U+FFFD either way (https://encoding.spec.whatwg.org/#utf-8-decoder). Line sizes are
 * counted in bytes on the chunk, so `maxLineSize` means what it says on the wire, and a line is
 * never buffered past it. Leaving the loop for any reason ends `readChunks`, which releases the
 * reader.
 */
async function* parseNdjson<T>(
  input: ByteInput,
  options: Omit<ReadNdjsonOptions, 'signal'>,
  signal: AbortSignal | undefined,
  caller: string,
  text?: StringChunkEncoder,
): AsyncGenerator<T, void, undefined> {
  const max = checkLimit(caller, 'maxLineSize', options.maxLineSize, DEFAULT_MAX_LINE_SIZE)
  const skip = options.skipInvalidLines ?? false
  // `ignoreBOM: true` everywhere: every decode() here starts at a line start, and without it each
  // call would strip a leading U+FEFF. Only the stream's first BOM is stripped (by `PendingLine`).
  // Two decoders because each is the faster one for its job in Node (measured): the streaming
  // converter for the many ~16 KiB runs of whole lines (they end with their LF, so it never carries
  // a partial character from one call to the next), the one-shot decoder for a line that spanned
  // chunks (several times faster on a long ASCII line). Browsers do not care.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  const lineDecoder = new TextDecoder('utf-8', { ignoreBOM: true })
  const pending = new PendingLine(max)
  /** Lines completed so far (blank ones included): the number in errors is 1-based. */
  let lineNumber = 0

  /** JSON.parse with the `skipInvalidLines` rules; SKIP for a blank or skipped line. */
  const parse = (line: string, n: number): T | typeof SKIP => {
    // Blank (or whitespace-only) lines separate nothing and are skipped, as most producers emit
    // a trailing newline and some a blank keepalive line.
    if (isBlank(line)) return SKIP
    try {
      // A CR left from a CRLF is JSON whitespace (RFC 8259 section 2): no need to cut it off first.
      return JSON.parse(line) as T
    } catch (cause) {
      const error = new NdjsonSyntaxError(n, excerpt(line), { cause })
      if (skip === false) throw error
      if (typeof skip === 'function') skip(error)
      return SKIP
    }
  }

  for await (const chunk of readChunks(input, signal, caller, text)) {
    let start = 0
    const firstLf = chunk.indexOf(LF)
    if (firstLf === -1) {
      pending.append(chunk, 0, chunk.byteLength, lineNumber + 1)
      continue
    }
    // The line that started in an earlier chunk, and the stream's first line (its BOM), take the
    // careful path; every other line is decoded with the rest of the chunk below.
    if (pending.bytes > 0 || lineNumber === 0) {
      const line = pending.take(chunk, firstLf, lineNumber + 1, lineDecoder)
      lineNumber += 1
      const value = parse(line, lineNumber)
      if (value !== SKIP) {
        if (signal?.aborted) return
        yield value
      }
      start = firstLf + 1
    }
    const lastLf = chunk.lastIndexOf(LF)
    if (lastLf >= start) {
      // Up to and with the last LF: the text ends with "\n", and the LF flushes a truncated
      // sequence before it as U+FFFD in this call.
      const lines = decoder.decode(chunk.subarray(start, lastLf + 1), STREAM)
      // Any one of these lines has at most `lastLf - start` bytes: only when that could pass the
      // bound are the lines measured one by one (on the bytes, so it stays exact).
      let byteStart = lastLf - start > max ? start : -1
      for (let from = 0; from < lines.length; ) {
        const nl = lines.indexOf('\n', from)
        const line = lines.slice(from, nl)
        from = nl + 1
        lineNumber += 1
        if (byteStart !== -1) {
          const byteEnd = chunk.indexOf(LF, byteStart)
          const crlf = byteEnd > byteStart && chunk[byteEnd - 1] === CR ? 1 : 0
          if (byteEnd - byteStart - crlf > max) throw overflow(max, lineNumber)
          byteStart = byteEnd + 1
        }
        const value = parse(line, lineNumber)
        if (value !== SKIP) {
          if (signal?.aborted) return
          yield value
        }
      }
    }
    if (lastLf + 1 < chunk.byteLength) pending.append(chunk, lastLf + 1, chunk.byteLength, lineNumber + 1)
  }
  if (signal?.aborted) return
  // A last line without a line break is a line too.
  if (pending.bytes > 0) {
    const line = pending.take(undefined, 0, lineNumber + 1, lineDecoder)
    lineNumber += 1
    const value = parse(line, lineNumber)
    if (value !== SKIP) yield value
  }
}

const LF = 0x0a
const CR = 0x0d
const STREAM = { stream: true }
/** What `parse` returns for a line that gives no value (blank, or skipped as invalid). */
const SKIP: unique symbol = /* @__PURE__ */ Symbol()

/** JSON whitespace only (https://www.rfc-editor.org/rfc/rfc8259#section-2): space, tab, CR, LF. */
function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i)
    if (code !== 0x20 && code !== 0x09 && code !== 0x0d && code !== 0x0a) return false
  }
  return true
}

function excerpt(line: string): string {
  if (line.length <= EXCERPT_LENGTH) return line
  let end = EXCERPT_LENGTH
  // Do not cut a surrogate pair in half.
  const last = line.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end -= 1
  return line.slice(0, end)
}
