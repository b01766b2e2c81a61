import { LimitExceededError } from '../errors.js'

const CR = 0x0d

/**
 * The NDJSON line that has started but not ended yet: views of the chunks it arrived in, not
 * decoded, joined once when its LF arrives (linear for any line length, never re-copied per chunk).
 * Bounded: a part that would take the line past `max` bytes is refused before it is kept.
 *
 * @internal
 */
export class PendingLine {
  /** Bytes kept so far. */
  bytes = 0
  #parts: Uint8Array[] = []
  readonly #max: number
  /** The stream's first line has not ended yet: it may start with a BOM. */
  #atStreamStart = true

  constructor(max: number) {
    this.#max = max
  }

  /**
   * Keeps `chunk[from, to)` as the next part of line `lineNumber`. One byte past `max` is allowed
   * while the line is pending, for the CR of a CRLF, which does not count
   * (https://github.com/ndjson/ndjson-spec#32-delimiter); {@link PendingLine.take} checks exactly.
   *
   * @throws `LimitExceededError` when the line would pass the bound.
   */
  append(chunk: Uint8Array, from: number, to: number, lineNumber: number): void {
    const bytes = this.bytes + (to - from)
    if (bytes > this.#max + 1) throw overflow(this.#max, lineNumber)
    this.#parts.push(chunk.subarray(from, to))
    this.bytes = bytes
  }

  /**
   * Ends the line with `chunk[0, end)` (`chunk` undefined at the end of the stream) and returns it
   * decoded, without a leading BOM if it is the stream's first line. Its CR (if any) is kept: JSON
   * parsing treats it as whitespace.
   *
   * Memory: the parts are dropped and the joined copy is only referenced inside this call, so what
   * outlives it is the string alone (the caller's `JSON.parse` then never runs next to a second
   * full copy of the line that is still reachable).
   *
   * @throws `LimitExceededError` when the line (without the CR of a CRLF) passes the bound.
   */
  take(chunk: Uint8Array | undefined, end: number, lineNumber: number, decoder: TextDecoder): string {
    const parts = this.#parts
    const size = this.bytes + end
    const last = end > 0 && chunk !== undefined ? chunk[end - 1] : parts[parts.length - 1]?.at(-1)
    if (size - (last === CR ? 1 : 0) > this.#max) throw overflow(this.#max, lineNumber)
    this.#parts = []
    this.bytes = 0
    let line: Uint8Array
    // Without parts, `take` is only called for a line that ends in `chunk`.
    if (parts.length === 0) line = (chunk ?? new Uint8Array(0)).subarray(0, end)
    else if (parts.length === 1 && end === 0) line = parts[0]!
    else {
      line = new Uint8Array(size)
      let offset = 0
      for (const part of parts) {
        line.set(part, offset)
        offset += part.byteLength
      }
      if (end > 0 && chunk !== undefined) line.set(chunk.subarray(0, end), offset)
      parts.length = 0
    }
    if (this.#atStreamStart) {
      this.#atStreamStart = false
      // One leading U+FEFF (EF BB BF) is not part of the stream; a second one is, as for
      // TextDecoder's default (https://encoding.spec.whatwg.org/#dom-textdecoder-ignorebom).
      if (line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf) line = line.subarray(3)
    }
    return line.byteLength === 0 ? '' : decoder.decode(line)
  }
}

/**
 * The error for line `lineNumber` passing `maxLineSize` (`max` bytes).
 *
 * @internal
 */
export function overflow(max: number, lineNumber: number): LimitExceededError {
  return new LimitExceededError(
    'maxLineSize',
    max,
    `NDJSON line ${lineNumber} is longer than maxLineSize (${max} bytes)`,
    {
      lineNumber,
    },
  )
}
