import { NdjsonSyntaxError } from '../errors.js'
import type { IncrementalJson } from './json-incremental.js'
import { overflow, PendingLine } from './ndjson-pending.js'

const LF = 0x0a
const CR = 0x0d
const STREAM = { stream: true }
/** Longest excerpt of a bad line kept in `NdjsonSyntaxError.excerpt`. */
const EXCERPT_LENGTH = 80

/**
 * The synchronous core of the NDJSON parser: bytes in, values out, one chunk at a time. Each chunk
 * is handled in three parts:
 *
 * - the end of the line that started in earlier chunks (kept as byte views by {@link PendingLine}),
 *   joined and decoded on its own;
 * - the whole lines after it, up to the chunk's last LF, decoded with one `decode()` call and split
 *   on `"\n"` as text;
 * - the bytes after the last LF, kept as a view (not decoded) until the line ends.
 *
 * Splitting on bytes is safe and decoding whole lines gives exactly what decoding the whole stream
 * would: LF (0x0A) never occurs inside a multi-byte UTF-8 sequence, and a truncated sequence before
 * it becomes one U+FFFD either way (https://encoding.spec.whatwg.org/#utf-8-decoder). Line sizes are
 * counted in bytes on the chunk, so `maxLineSize` means what it says on the wire, and a line is
 * never buffered past it.
 *
 * @internal
 */
export class NdjsonLines<T> {
  /** Lines completed so far (blank ones included): the number in errors is 1-based. */
  #lineNumber = 0
  readonly #max: number
  readonly #skip: boolean | ((error: NdjsonSyntaxError) => void)
  // `ignoreBOM: true` for both: every decode() here starts at a line start, and without it each
  // call would strip a leading U+FEFF. Only the stream's first BOM is stripped (by PendingLine).
  // Two decoders because each is the faster one for its job in Node 20 (measured): the streaming
  // converter for the ~16 KiB runs of whole lines (each run ends with its LF, so it never carries a
  // partial character from one call to the next), the one-shot decoder for a line that spanned
  // chunks (about 4x faster on a 20 MB ASCII line).
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  readonly #lineDecoder = new TextDecoder('utf-8', { ignoreBOM: true })
  readonly #pending: PendingLine

  constructor(max: number, skip: boolean | ((error: NdjsonSyntaxError) => void), incremental?: number) {
    this.#max = max
    this.#skip = skip
    this.#pending = new PendingLine(max, incremental)
  }

  /**
   * Parses the lines `chunk` completes into `out` and keeps the rest of it.
   *
   * @throws `NdjsonSyntaxError` / `LimitExceededError` for a bad line, after the values of the lines
   * before it were pushed to `out`.
   */
  push(chunk: Uint8Array, out: T[]): void {
    const pending = this.#pending
    let start = 0
    const firstLf = chunk.indexOf(LF)
    if (firstLf === -1) {
      pending.append(chunk, 0, chunk.byteLength, this.#lineNumber + 1)
      return
    }
    // The line that started in an earlier chunk, and the stream's first line (its BOM), take the
    // careful path; every other line is decoded with the rest of the chunk below.
    if (pending.bytes > 0 || this.#lineNumber === 0) {
      const line = pending.take(chunk, firstLf, this.#lineNumber + 1, this.#lineDecoder)
      this.#parse(line, out)
      start = firstLf + 1
    }
    const lastLf = chunk.lastIndexOf(LF)
    if (lastLf >= start) {
      // Up to and with the last LF: the text ends with "\n", and the LF flushes a truncated
      // sequence before it as U+FFFD in this call.
      const lines = this.#decoder.decode(chunk.subarray(start, lastLf + 1), STREAM)
      // Any one of these lines has at most `lastLf - start` bytes: only when that could pass the
      // bound are the lines measured one by one (on the bytes, so it stays exact).
      if (lastLf - start > this.#max) this.#measured(lines, chunk, start, out)
      else this.#lines(lines, out)
    }
    if (lastLf + 1 < chunk.byteLength) pending.append(chunk, lastLf + 1, chunk.byteLength, this.#lineNumber + 1)
  }

  /**
   * The lines of `text` (each ends with "\n"), none of which can pass the bound. A line starting
   * with `{` (nearly every NDJSON line) is parsed right here, counted in a local; any other line,
   * and one that does not parse, goes through {@link NdjsonLines.#parse} (blank lines, the error
   * with its line number, skipping), so this loop is only a shortcut for the common case.
   */
  #lines(text: string, out: T[]): void {
    let n = this.#lineNumber
    for (let from = 0; from < text.length; n++) {
      const nl = text.indexOf('\n', from)
      const line = text.slice(from, nl)
      const first = text.charCodeAt(from)
      from = nl + 1
      if (first === 0x7b) {
        try {
          out.push(JSON.parse(line) as T)
          continue
        } catch {
          // Parsed again below, to report (or skip) it with its line number.
        }
      }
      this.#lineNumber = n
      this.#parse(line, out)
    }
    this.#lineNumber = n
  }

  /** {@link NdjsonLines.#lines} for a run of lines any of which might pass the bound: each is measured on the bytes. */
  #measured(lines: string, chunk: Uint8Array, start: number, out: T[]): void {
    let byteStart = start
    for (let from = 0; from < lines.length; ) {
      const nl = lines.indexOf('\n', from)
      const byteEnd = chunk.indexOf(LF, byteStart)
      const crlf = byteEnd > byteStart && chunk[byteEnd - 1] === CR ? 1 : 0
      if (byteEnd - byteStart - crlf > this.#max) throw overflow(this.#max, this.#lineNumber + 1)
      byteStart = byteEnd + 1
      this.#parse(lines.slice(from, nl), out)
      from = nl + 1
    }
  }

  /** End of input: a last line without a line break is a line too. */
  end(out: T[]): void {
    if (this.#pending.bytes > 0)
      this.#parse(this.#pending.take(undefined, 0, this.#lineNumber + 1, this.#lineDecoder), out)
  }

  #parse(line: string | IncrementalJson, out: T[]): void {
    const n = ++this.#lineNumber
    const text = typeof line === 'string'
    // Blank (or whitespace-only) lines separate nothing and are skipped, as most producers emit
    // a trailing newline and some a blank keepalive line.
    if (text && isBlank(line)) return
    let value: T
    try {
      // A CR left from a CRLF is JSON whitespace (RFC 8259 section 2): no need to cut it off first.
      value = (text ? JSON.parse(line) : line.end()) as T
    } catch (cause) {
      const error = new NdjsonSyntaxError(n, excerpt(text ? line : line.head()), { cause })
      if (this.#skip === false) throw error
      if (typeof this.#skip === 'function') this.#skip(error)
      return
    }
    out.push(value)
  }
}

/** JSON whitespace only (https://www.rfc-editor.org/rfc/rfc8259#section-2): space, tab, CR, LF. */
function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i)
    if (code !== 0x20 && code !== 0x09 && code !== 0x0d && code !== 0x0a) return false
  }
  return true
}

/** The start of a bad line for the error, without the CR of a CRLF and without cutting a surrogate pair. */
function excerpt(line: string): string {
  const length = line.charCodeAt(line.length - 1) === 0x0d ? line.length - 1 : line.length
  let end = Math.min(length, EXCERPT_LENGTH)
  const last = line.charCodeAt(end - 1)
  if (end === EXCERPT_LENGTH && last >= 0xd800 && last <= 0xdbff) end -= 1
  return line.slice(0, end)
}
