/** Bytes a nested array/object may span before it is assembled here instead of by one `JSON.parse`. */
const SPLIT = 64 * 1024
/** First bytes of the text kept (decoded) for the excerpt of an error: at least 82 UTF-16 units. */
const HEAD = 256

// What the innermost container assembled here expects next (besides JSON whitespace).
const VALUE_OR_CLOSE = 0
const KEY_OR_CLOSE = 1
const COLON = 2
const VALUE = 3
const KEY = 4
const COMMA_OR_CLOSE = 5

// The kind of the piece being received: one key or value parsed by one `JSON.parse`.
const NONE = 0
const STRING = 1
const NESTED = 2
const SCALAR = 3

const STREAM = { stream: true }
const QUOTE = 0x22
const BACKSLASH = 0x5c

interface Frame {
  /** The array or object being filled. */
  v: unknown[] | Record<string, unknown>
  /** Object: the key whose value comes next. */
  k: string
  /** What comes next (VALUE_OR_CLOSE, ...). */
  s: number
  o: boolean
}

/**
 * One JSON array or object arriving as byte parts, parsed without ever holding its whole text: the
 * containers holding more than `split` bytes are assembled here, each key and each smaller value in
 * them is decoded and parsed on its own as soon as its last byte arrives, and its bytes are let go.
 * Memory is the value plus about one piece, instead of the line's bytes, its decoded text (two bytes
 * per character once one is non-ASCII) and the value all alive at once.
 *
 * The pieces are found on the bytes: inside a string only `"` (found with `indexOf`) and the
 * backslashes before it matter, outside one only brackets. Every piece starts and ends at an ASCII
 * byte, so decoding pieces gives the same text as decoding the whole (a truncated UTF-8 sequence is
 * one U+FFFD either way). What lies between pieces is checked here, the pieces by `JSON.parse`, so
 * any text `JSON.parse` would reject fails too (at {@link IncrementalJson.end}, with the first error).
 *
 * @internal
 */
export class IncrementalJson {
  /** Held byte parts, from the start of the pending piece (or the scan position) on. */
  #parts: Uint8Array[] = []
  /** Offset (from the start of the text) of `#parts[0]`. */
  #partsStart = 0
  #end = 0
  /** Next byte to scan. */
  #pos = 0
  /** Containers assembled here, innermost last. */
  #stack: Frame[] = []
  #root: unknown
  #done = false
  #error: SyntaxError | undefined
  /** Start of the piece being received, -1 between pieces. */
  #start = -1
  #kind = NONE
  /** Nesting depth inside a NESTED piece. */
  #depth = 0
  #inString = false
  /** The scan stopped right after an odd run of backslashes inside a string. */
  #escape = false
  #head = ''
  #headBytes = 0
  readonly #headDecoder = new TextDecoder('utf-8', { ignoreBOM: true })
  readonly #split: number
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true })

  constructor(split = SPLIT) {
    this.#split = split
  }

  /** The start of the text, decoded (for an error's excerpt). */
  get head(): string {
    // A sequence cut by the end of a short text is U+FFFD, as in the text decoded whole.
    return this.#head + this.#headDecoder.decode()
  }

  /** Takes the next bytes of the text (kept as a view until the piece they belong to is parsed). */
  push(bytes: Uint8Array): void {
    if (this.#headBytes < HEAD) {
      // Decoded as it comes (a copy of the bytes would be a second copy of the line's start).
      const n = Math.min(HEAD - this.#headBytes, bytes.byteLength)
      this.#head += this.#headDecoder.decode(bytes.subarray(0, n), STREAM)
      this.#headBytes += n
    }
    if (this.#error !== undefined || bytes.byteLength === 0) return
    this.#parts.push(bytes)
    this.#end += bytes.byteLength
    while (this.#error === undefined && this.#pos < this.#end) {
      // The part holding #pos (after a promotion, #pos moves back to an earlier part).
      let offset = this.#partsStart
      let index = 0
      while (offset + this.#parts[index]!.byteLength <= this.#pos) offset += this.#parts[index++]!.byteLength
      this.#scan(this.#parts[index]!, offset)
    }
    if (this.#error !== undefined) {
      this.#parts = []
      this.#stack = []
      return
    }
    // Parts wholly before what may still be needed are released.
    const keep = this.#start >= 0 ? this.#start : this.#pos
    while (this.#parts.length > 0 && this.#partsStart + this.#parts[0]!.byteLength <= keep)
      this.#partsStart += this.#parts.shift()!.byteLength
  }

  /**
   * End of the text: returns its value.
   *
   * @throws `SyntaxError` when the text is not JSON.
   */
  end(): unknown {
    if (this.#error === undefined && !this.#done) this.#fail(this.#end)
    if (this.#error !== undefined) throw this.#error
    return this.#root
  }

  /** Scans `b` (whose first byte is at `offset`) from `#pos` to its end, or until `#pos` moves back. */
  #scan(b: Uint8Array, offset: number): void {
    let i = this.#pos - offset
    const n = b.byteLength
    while (i < n && this.#error === undefined) {
      const kind = this.#kind
      if (kind === STRING || (kind === NESTED && this.#inString)) {
        if (this.#escape) {
          this.#escape = false
          i++
          continue
        }
        const q = b.indexOf(QUOTE, i)
        if (q === -1) {
          this.#escape = oddBackslashes(b, i, n)
          i = n
          break
        }
        const escaped = oddBackslashes(b, i, q)
        i = q + 1
        if (escaped) continue
        if (kind === STRING) this.#piece(offset + i)
        else this.#inString = false
      } else if (kind === NESTED) {
        const c = b[i++]!
        if (c === QUOTE) this.#inString = true
        else if (c === 0x5b || c === 0x7b) this.#depth++
        else if (c === 0x5d || c === 0x7d) {
          if (--this.#depth === 0) {
            this.#piece(offset + i)
            continue
          }
        } else continue
        if (offset + i - this.#start > this.#split) {
          // Too big for one parse: from its first byte on, it is assembled here.
          const open = this.#start
          this.#start = -1
          this.#kind = NONE
          this.#inString = false
          this.#open(this.#byte(open))
          this.#pos = open + 1
          return
        }
      } else if (kind === SCALAR) {
        const c = b[i]!
        // Letters, digits, + - . (a number or a literal); JSON.parse judges them.
        if (
          (c >= 0x61 && c <= 0x7a) ||
          (c >= 0x30 && c <= 0x39) ||
          (c >= 0x41 && c <= 0x5a) ||
          c === 0x2b ||
          c === 0x2d ||
          c === 0x2e
        )
          i++
        else this.#piece(offset + i)
      } else {
        const c = b[i]!
        if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
          i++
          continue
        }
        const top = this.#stack[this.#stack.length - 1]
        if (top === undefined) {
          // Before the value, or after it (where only whitespace may follow).
          if (this.#done || (c !== 0x5b && c !== 0x7b)) {
            this.#fail(offset + i)
            return
          }
          this.#open(c)
          i++
          continue
        }
        const s = top.s
        if (
          (s === VALUE_OR_CLOSE && c === 0x5d) ||
          (s === KEY_OR_CLOSE && c === 0x7d) ||
          (s === COMMA_OR_CLOSE && c === (top.o ? 0x7d : 0x5d))
        ) {
          this.#stack.pop()
          this.#add(top.v)
          i++
        } else if (s === COMMA_OR_CLOSE) {
          if (c !== 0x2c) {
            this.#fail(offset + i)
            return
          }
          top.s = top.o ? KEY : VALUE
          i++
        } else if (s === COLON) {
          if (c !== 0x3a) {
            this.#fail(offset + i)
            return
          }
          top.s = VALUE
          i++
        } else if (s !== VALUE && s !== VALUE_OR_CLOSE && c !== QUOTE) {
          this.#fail(offset + i)
          return
        } else {
          // A key or a value starts: a string, an array/object or a scalar (an empty one, for a
          // byte no value starts with, fails in JSON.parse).
          this.#start = offset + i
          if (c === QUOTE) this.#kind = STRING
          else if (c === 0x5b || c === 0x7b) {
            this.#kind = NESTED
            this.#depth = 1
          } else {
            this.#kind = SCALAR
            continue
          }
          i++
        }
      }
    }
    this.#pos = offset + i
  }

  /** The pending piece ends before `end`: parse it and put it in its container. */
  #piece(end: number): void {
    const start = this.#start
    this.#start = -1
    this.#kind = NONE
    let value: unknown
    try {
      value = JSON.parse(this.#decoder.decode(this.#bytes(start, end)))
    } catch (error) {
      this.#error = error as SyntaxError
      return
    }
    const top = this.#stack[this.#stack.length - 1]!
    if (top.s === KEY_OR_CLOSE || top.s === KEY) {
      top.k = value as string
      top.s = COLON
    } else this.#add(value)
  }

  #open(c: number): void {
    const o = c === 0x7b
    this.#stack.push({ v: o ? {} : [], k: '', s: o ? KEY_OR_CLOSE : VALUE_OR_CLOSE, o })
  }

  /** A complete value goes into the innermost container (or is the result). */
  #add(value: unknown): void {
    const top = this.#stack[this.#stack.length - 1]
    if (top === undefined) {
      this.#root = value
      this.#done = true
      return
    }
    // Defined, not assigned: a "__proto__" key is an own data property, as JSON.parse makes it.
    if (top.o) Object.defineProperty(top.v, top.k, { value, writable: true, enumerable: true, configurable: true })
    else (top.v as unknown[]).push(value)
    top.s = COMMA_OR_CLOSE
  }

  /** Bytes `[start, end)` of the text (all still held): a view when one part has them, else a copy. */
  #bytes(start: number, end: number): Uint8Array {
    let offset = this.#partsStart
    let index = 0
    while (offset + this.#parts[index]!.byteLength <= start) offset += this.#parts[index++]!.byteLength
    const first = this.#parts[index]!
    if (end - offset <= first.byteLength) return first.subarray(start - offset, end - offset)
    const out = new Uint8Array(end - start)
    let at = 0
    for (let from = start - offset; at < out.byteLength; from = 0) {
      const part = this.#parts[index++]!.subarray(from, from + out.byteLength - at)
      out.set(part, at)
      at += part.byteLength
    }
    return out
  }

  #byte(at: number): number {
    return this.#bytes(at, at + 1)[0]!
  }

  #fail(at: number): void {
    this.#error = new SyntaxError(`Unexpected JSON at byte ${at}`)
  }
}

/** Whether `b[from, to)` ends with an odd run of backslashes (which escapes the byte at `to`). */
function oddBackslashes(b: Uint8Array, from: number, to: number): boolean {
  let i = to
  while (i > from && b[i - 1] === BACKSLASH) i--
  return ((to - i) & 1) === 1
}
