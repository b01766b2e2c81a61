/**
 * Bytes a nested array/object may span before it is assembled here instead of by one `JSON.parse`;
 * a quarter of it, the bytes of elements parsed together by one `JSON.parse`. Kept small because
 * a decoded run longer than about 64 K characters is a large V8 object (its own pages, collected
 * only by a full GC): runs of 64 KiB made the 20 MB benchmark line 2.8x slower than 8 KiB ones.
 */
const SPLIT = 32 * 1024
/** First bytes of the text kept (decoded) for the excerpt of an error: at least 82 UTF-16 units. */
const HEAD = 256
const STREAM = { stream: true }
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** An array or object assembled here. */
interface Frame {
  v: unknown[] | Record<string, unknown>
  o: boolean
  /** Object: the key of the element assembled in the frame above. */
  k: string
  /** Whether it has an element yet. */
  n: boolean
}

/**
 * One JSON value arriving as byte parts, parsed without ever holding its whole text (see
 * {@link incrementalJson}).
 *
 * @internal
 */
export interface IncrementalJson {
  /** Takes the next bytes (kept as a view until the elements they belong to are parsed). */
  push(bytes: Uint8Array): void
  /**
   * End of the text: returns its value.
   *
   * @throws `SyntaxError` when the text is not JSON (the first error, even if found earlier).
   */
  end(): unknown
  /** The start of the text, decoded (for an error's excerpt). */
  head(): string
}

/**
 * Parses a JSON text from byte parts as they arrive, for a huge NDJSON line: its text (two bytes per
 * character in V8 once one is non-ASCII) and its value are then never alive at once, only the
 * value and about `split` bytes.
 *
 * An array or object is assembled here once it spans more than `split` bytes, and recursively so
 * for its elements; the elements of an assembled container are parsed in runs of about
 * `split / 4` bytes cut at its commas, as `JSON.parse("[" + run + "]")` (or `{…}` in an object, the members'
 * own properties copied with `Object.defineProperty`, so "__proto__" stays a plain key, last key
 * wins). The bytes are only scanned for strings (the next `"` is found with `indexOf`) and
 * brackets. Every cut is at an ASCII byte, so decoding the runs gives the text decoding the whole
 * would (a truncated UTF-8 sequence is one U+FFFD either way), and every byte is checked by a
 * `JSON.parse` (the text before an assembled element, as `[text 0]` / `{text 0}`, and after it,
 * as `[0 text]`), or here (commas, empty elements, brackets): what `JSON.parse` of the whole text
 * rejects fails too.
 *
 * @internal
 */
export function incrementalJson(split = SPLIT): IncrementalJson {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  const headDecoder = new TextDecoder('utf-8', { ignoreBOM: true })
  let head = ''
  let headBytes = 0
  /** Held parts, from (the part holding) `runStart` on. */
  let parts: Uint8Array[] = []
  /** Offset of `parts[0]` in the text. */
  let partsStart = 0
  let end = 0
  /** Next byte to scan. */
  let pos = 0
  /** Holds the whole text's value as its only element. */
  const root: Frame = { v: [], o: false, k: '', n: false }
  /** Assembled containers, innermost last. */
  let stack = [root]
  /** Nesting in the current element of the innermost assembled container. */
  let depth = 0
  let inString = false
  /** The scan stopped right after an odd run of backslashes inside a string. */
  let escaped = false
  /** Where the element's outermost array/object opened, and whether it is an object. */
  let open = 0
  let openObject = false
  /** Start of the elements not parsed yet, and of the current one. */
  let runStart = 0
  let elementStart = 0
  /** The current element was assembled: only whitespace may follow it. */
  let given = false
  let error: unknown

  const fail = (at: number): never => {
    throw new SyntaxError(`Unexpected JSON at byte ${at}`)
  }

  /**
   * Bytes `[from, to)` (all held) decoded, between the two characters of `wrap` if given: they are
   * copied in with the bytes, since `"[" + text + "]"` would be flattened into a second copy.
   */
  const text = (from: number, to: number, wrap = ''): string => {
    const pad = wrap.length >> 1
    const out = new Uint8Array(to - from + 2 * pad)
    if (pad) {
      out[0] = wrap.charCodeAt(0)
      out[out.byteLength - 1] = wrap.charCodeAt(1)
    }
    let offset = partsStart
    for (let at = from, index = 0; at < to; ) {
      const part = parts[index++]!
      const start = offset
      offset += part.byteLength
      if (offset <= at) continue
      const bytes = part.subarray(at - start, to - start)
      out.set(bytes, at - from + pad)
      at += bytes.byteLength
    }
    return decoder.decode(out)
  }

  const add = (frame: Frame, key: string, value: unknown): void => {
    // Defined, not assigned: a "__proto__" key is an own data property, as JSON.parse makes it.
    if (frame.o) Object.defineProperty(frame.v, key, { value, writable: true, enumerable: true, configurable: true })
    else (frame.v as unknown[]).push(value)
    frame.n = true
  }

  /** Parses the elements `[runStart, to)` into the innermost container; `closing`: they are its last. */
  const flush = (to: number, closing: boolean): void => {
    const frame = stack[stack.length - 1]!
    if (given) {
      JSON.parse(`[0${text(runStart, to)}]`)
      return
    }
    const parsed = JSON.parse(text(runStart, to, frame.o ? '{}' : '[]')) as Record<string, unknown>
    const keys = frame.o ? Object.keys(parsed) : (parsed as unknown as unknown[])
    // No element: only `[]` / `{}` as a whole is valid, not an empty element before or after a comma.
    if (keys.length === 0 && (!closing || frame.n)) fail(to)
    if (frame.o) for (const key of keys as string[]) add(frame, key, parsed[key])
    else for (const value of keys) add(frame, '', value)
  }

  /** Scans `b` (whose first byte is at `offset`) from `pos` to its end, or until `pos` moves back. */
  const scan = (b: Uint8Array, offset: number): void => {
    let i = pos - offset
    const n = b.byteLength
    while (i < n) {
      if (inString) {
        if (escaped) {
          escaped = false
          i++
          continue
        }
        const q = b.indexOf(QUOTE, i)
        if (q === -1) {
          escaped = oddBackslashes(b, i, n)
          i = n
        } else {
          inString = oddBackslashes(b, i, q)
          i = q + 1
        }
        continue
      }
      const c = b[i++]!
      const at = offset + i - 1
      if (c === QUOTE) inString = true
      else if (c === 0x5b || c === 0x7b) {
        if (depth++ === 0) {
          open = at
          openObject = c === 0x7b
        }
      } else if (c === 0x5d || c === 0x7d) {
        if (depth > 0) depth--
        else {
          // The innermost assembled container ends.
          const frame = stack[stack.length - 1]!
          if (frame === root || c !== (frame.o ? 0x7d : 0x5d)) fail(at)
          flush(at, true)
          stack.pop()
          const parent = stack[stack.length - 1]!
          add(parent, parent.k, frame.v)
          given = true
          runStart = elementStart = at + 1
        }
        continue
      } else if (c === 0x2c && depth === 0) {
        if (given || at - runStart > split >> 2) {
          flush(at, false)
          runStart = at + 1
          given = false
        }
        elementStart = at + 1
        continue
      } else continue
      if (depth > 0 && at - open > split) {
        // Too big for one parse: from its first byte on, this element is assembled here.
        if (given) fail(open)
        const frame = stack[stack.length - 1]!
        if (elementStart > runStart) flush(elementStart - 1, false)
        const key = Object.keys(
          JSON.parse(frame.o ? `{${text(elementStart, open)} 0}` : `[${text(elementStart, open)} 0]`),
        )
        frame.k = key[0]!
        stack.push({ v: openObject ? {} : [], o: openObject, k: '', n: false })
        pos = runStart = elementStart = open + 1
        depth = 0
        // (The byte that triggered this may have been a string's opening quote.)
        inString = false
        return
      }
    }
    pos = offset + i
  }

  return {
    head: () => head + headDecoder.decode(),
    push(bytes) {
      if (headBytes < HEAD) {
        // Decoded as it comes: a copy of the bytes would be a second copy of the line's start.
        const n = Math.min(HEAD - headBytes, bytes.byteLength)
        head += headDecoder.decode(bytes.subarray(0, n), STREAM)
        headBytes += n
      }
      if (error !== undefined || bytes.byteLength === 0) return
      parts.push(bytes)
      end += bytes.byteLength
      try {
        while (pos < end) {
          // The part holding `pos` (after an element is assembled, `pos` moves back).
          let offset = partsStart
          let index = 0
          while (offset + parts[index]!.byteLength <= pos) offset += parts[index++]!.byteLength
          scan(parts[index]!, offset)
        }
      } catch (cause) {
        error = cause
        parts = []
        stack = []
        return
      }
      while (parts.length > 0 && partsStart + parts[0]!.byteLength <= runStart) partsStart += parts.shift()!.byteLength
    },
    end() {
      if (error === undefined)
        try {
          if (stack.length > 1 || depth > 0 || inString) fail(end)
          flush(end, true)
          if (root.v.length !== 1) fail(end)
        } catch (cause) {
          error = cause
        }
      if (error !== undefined) throw error
      return (root.v as unknown[])[0]
    },
  }
}

/** Whether `b[from, to)` ends with an odd run of backslashes (which escapes the byte at `to`). */
function oddBackslashes(b: Uint8Array, from: number, to: number): boolean {
  let i = to
  while (i > from && b[i - 1] === BACKSLASH) i--
  return ((to - i) & 1) === 1
}
