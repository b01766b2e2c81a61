import { LimitExceededError } from '../errors.js'
import { type IncrementalJson, incrementalJson } from './json-incremental.js'

const CR = 0x0d
/**
 * A line still pending past this many bytes is parsed as it arrives when it is an array or object
 * ({@link incrementalJson}): its text and its value are then never alive at once.
 */
const INCREMENTAL = 1024 * 1024

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
  /** The parser the line's bytes go to once it passed `#incremental`; `null`: not an array/object. */
  #json: IncrementalJson | null | undefined
  /** Last byte appended (for `#json`, which keeps no parts: a CR before the LF does not count for the bound). */
  #last = 0
  readonly #incremental: number

  constructor(max: number, incremental = INCREMENTAL) {
    this.#max = max
    this.#incremental = incremental
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
    this.bytes = bytes
    if (to > from) this.#last = chunk[to - 1]!
    if (this.#json) {
      this.#json.push(chunk.subarray(from, to))
      return
    }
    this.#parts.push(chunk.subarray(from, to))
    if (this.#json === undefined && bytes > this.#incremental) this.#startJson()
  }

  /**
   * Hands the line to an {@link incrementalJson} parser if its first part starts (after a BOM and
   * whitespace) with `[` or `{`. Anything else, a BOM split across parts included, stays on the
   * whole-line path, which is right for every line.
   */
  #startJson(): void {
    const parts = this.#parts
    const first = parts[0]!
    const bom = this.#atStreamStart && first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf ? 3 : 0
    let i = bom
    while (first[i] === 0x20 || first[i] === 0x09 || first[i] === CR) i++
    this.#json = null
    if (first[i] !== 0x5b && first[i] !== 0x7b) return
    const json = incrementalJson()
    json.push(first.subarray(bom))
    for (let k = 1; k < parts.length; k++) json.push(parts[k]!)
    this.#parts = []
    this.#json = json
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
  take(chunk: Uint8Array | undefined, end: number, lineNumber: number, decoder: TextDecoder): string | IncrementalJson {
    const parts = this.#parts
    const size = this.bytes + end
    const json = this.#json
    const last = end > 0 && chunk !== undefined ? chunk[end - 1] : json ? this.#last : parts[parts.length - 1]?.at(-1)
    if (size - (last === CR ? 1 : 0) > this.#max) throw overflow(this.#max, lineNumber)
    this.#parts = []
    this.bytes = 0
    this.#json = undefined
    if (json) {
      this.#atStreamStart = false
      if (end > 0 && chunk !== undefined) json.push(chunk.subarray(0, end))
      return json
    }
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
