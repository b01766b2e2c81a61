/**
 * The one line splitter behind both parsers. It works on bytes, not text:
 *
 * - CR (0x0D) and LF (0x0A) never occur inside a multi-byte UTF-8 sequence, so splitting bytes is
 *   safe, and decoding a whole line at once means a character split across chunks is always
 *   decoded right (https://encoding.spec.whatwg.org/#utf-8-decoder). A truncated sequence before
 *   a line break becomes one U+FFFD, exactly as decoding the whole stream would.
 * - Sizes are counted in bytes, so limits mean what they say on the wire.
 * - Linear time: a line spanning many chunks is kept as a list of chunk views and joined once
 *   when its end arrives, never re-copied per chunk.
 * - Bounded: the pending line may not grow past `maxLineBytes`; `onOverflow` is called (and must
 *   throw) before anything past the bound is buffered.
 *
 * @internal
 */

const LF = 0x0a
const CR = 0x0d

/** How a {@link LineSplitter} splits, bounds and delivers lines. */
export interface LineSplitterOptions {
  /**
   * `true` for SSE, where CR, LF and CRLF all end a line
   * (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream).
   * `false` for NDJSON, where only LF ends a line and a CR right before it is dropped
   * (https://github.com/ndjson/ndjson-spec#32-delimiter).
   */
  readonly crEndsLine: boolean
  /** Receives every complete line (without its line break), its 1-based number and its size in bytes. */
  readonly onLine: (line: string, lineNumber: number, byteLength: number) => void
  /** Called with the number of the line being buffered when it would pass `maxLineBytes`; must throw. */
  readonly onOverflow: (lineNumber: number) => never
  /** Initial bound of one pending line in bytes. */
  readonly maxLineBytes: number
}

/**
 * Splits a byte stream into UTF-8 decoded lines, bounded by `maxLineBytes`.
 *
 * @example
 * ```ts
 * const splitter = new LineSplitter({ crEndsLine: false, maxLineBytes: 1024, onLine: console.log, onOverflow: fail })
 * splitter.push(bytes) // calls onLine for every complete line
 * splitter.end(true) // a last line without line break
 * ```
 */
export class LineSplitter {
  /** Bound of the pending line in bytes; the owner may lower it as a message grows (SSE). */
  maxLineBytes: number
  /** Number of lines completed so far. */
  lineCount = 0

  readonly #crEndsLine: boolean
  readonly #onLine: (line: string, lineNumber: number, byteLength: number) => void
  readonly #onOverflow: (lineNumber: number) => never
  // `ignoreBOM: true` keeps a BOM in the output: lines are decoded one by one, and without it every
  // decode() call would strip a leading U+FEFF. Only the stream's first BOM is stripped, below.
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  #parts: Uint8Array[] = []
  #pendingBytes = 0
  /** The previous chunk ended with CR (SSE): an LF starting the next chunk belongs to that CRLF. */
  #skipLf = false
  #atStreamStart = true

  constructor(options: LineSplitterOptions) {
    this.#crEndsLine = options.crEndsLine
    this.#onLine = options.onLine
    this.#onOverflow = options.onOverflow
    this.maxLineBytes = options.maxLineBytes
  }

  /** Bytes of the line that has started but not ended yet. */
  get pendingBytes(): number {
    return this.#pendingBytes
  }

  push(chunk: Uint8Array): void {
    const length = chunk.byteLength
    if (length === 0) return
    let start = 0
    if (this.#skipLf) {
      this.#skipLf = false
      if (chunk[0] === LF) start = 1
    }
    // Cache the next CR / LF positions so a chunk with many LFs and no CR is scanned once, not once
    // per line (eventsource-parser does the same).
    let nextLf = chunk.indexOf(LF, start)
    let nextCr = this.#crEndsLine ? chunk.indexOf(CR, start) : -1
    while (start < length) {
      if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf(LF, start)
      if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf(CR, start)
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf)
      if (end === -1) break
      this.#append(chunk, start, end)
      this.#emitLine()
      start = end + 1
      if (chunk[end] === CR) {
        if (start === length) this.#skipLf = true
        else if (chunk[start] === LF) start += 1
      }
    }
    if (start < length) this.#append(chunk, start, length)
  }

  /**
   * End of input. With `emitPartial` (NDJSON) a last line without a line break is delivered; without
   * it (SSE) it is discarded, as the spec requires for an unterminated line.
   */
  end(emitPartial: boolean): void {
    if (emitPartial && this.#parts.length > 0) this.#emitLine()
    this.#parts = []
    this.#pendingBytes = 0
  }

  #append(chunk: Uint8Array, from: number, to: number): void {
    if (to === from) return
    const bytes = this.#pendingBytes + (to - from)
    // NDJSON: one extra byte is allowed while the line is pending, for the CR of a CRLF that is not
    // counted once the line ends (checked again in #emitLine).
    if (bytes > this.maxLineBytes + (this.#crEndsLine ? 0 : 1)) this.#onOverflow(this.lineCount + 1)
    this.#parts.push(chunk.subarray(from, to))
    this.#pendingBytes = bytes
  }

  #emitLine(): void {
    let line: Uint8Array
    const parts = this.#parts
    if (parts.length === 0) line = EMPTY
    else if (parts.length === 1) line = parts[0]!
    else {
      line = new Uint8Array(this.#pendingBytes)
      let offset = 0
      for (const part of parts) {
        line.set(part, offset)
        offset += part.byteLength
      }
    }
    this.#parts = []
    this.#pendingBytes = 0
    if (!this.#crEndsLine && line[line.byteLength - 1] === CR) line = line.subarray(0, -1)
    if (line.byteLength > this.maxLineBytes) this.#onOverflow(this.lineCount + 1)
    if (this.#atStreamStart) {
      this.#atStreamStart = false
      // One leading U+FEFF (EF BB BF) is not part of the stream; a second one is
      // (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream).
      if (line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf) line = line.subarray(3)
    }
    this.lineCount += 1
    this.#onLine(line.byteLength === 0 ? '' : this.#decoder.decode(line), this.lineCount, line.byteLength)
  }
}

const EMPTY = new Uint8Array(0)
