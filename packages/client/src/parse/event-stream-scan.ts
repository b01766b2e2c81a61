/**
 * The light byte-level pass that runs next to eventsource-parser in `readEventStream`. The text
 * itself is decoded once per chunk and fed to eventsource-parser once per chunk (that is where the
 * speed comes from); this pass only looks at line boundaries and the first bytes of each line, to
 * keep the three rules eventsource-parser cannot keep for us:
 *
 * - `maxMessageSize` in bytes: everything buffered since the last dispatch (non-comment lines of
 *   the event being assembled, plus the line still arriving) may not pass the bound. The pass tells
 *   the caller how much of the chunk is whole lines before the offending one, so only that part is
 *   decoded and parsed: memory stays bounded and what came first is still delivered.
 * - The last event ID set by a block without data. eventsource-parser v3 forgets the `id:` of a
 *   block that dispatches nothing, while the spec keeps it in the "last event ID buffer"
 *   (https://html.spec.whatwg.org/multipage/server-sent-events.html#dispatchMessage). Only the
 *   `id:` lines of blocks that have no `data:` (yet) are kept as byte views and decoded, and only
 *   when such a block ends, so the usual stream (an `id:` next to its `data:`) decodes nothing here.
 * - One leading BOM (EF BB BF), even split across chunks, is not part of the first line.
 *
 * CR (0x0D) and LF (0x0A) never occur inside a multi-byte UTF-8 sequence, so line boundaries found
 * on bytes are the ones eventsource-parser finds on the decoded text: the pass and the parser see
 * the same lines and the same dispatches, in the same order.
 *
 * @internal
 */

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a
/** Bytes of a line start that decide its kind: "data:" is the longest prefix that matters. */
const HEAD = 5

/** A block without data that set the last event ID, after `at` data dispatches of the same chunk. */
export interface IdMove {
  readonly at: number
  readonly id: string
}

/**
 * Scans one SSE byte stream chunk by chunk. After each {@link EventStreamScan.scan}, `moves` lists
 * the ID moves of that chunk and `overflowed` is set when the bound was passed.
 *
 * @internal
 */
export class EventStreamScan {
  /** ID moves of blocks without data in the last scanned chunk, in stream order. */
  readonly moves: IdMove[] = []
  /** Set when the last scanned chunk passed the bound. */
  overflowed = false

  readonly #max: number
  /** Bytes of the non-comment lines of the block being assembled. */
  #messageBytes = 0
  /** Bytes of the line that has started but not ended yet (without a leading BOM). */
  #pendingBytes = 0
  /** First bytes of the pending line (only needed when a line spans chunks). */
  readonly #head = new Uint8Array(HEAD)
  #headLength = 0
  /** Views of the pending line while it may still be an `id` line; undefined once it cannot be. */
  #idParts: Uint8Array[] | undefined
  /** The `id` lines of the current block while it has no data (bounded by the message bound). */
  #blockIds: Uint8Array[] = []
  #blockHasData = false
  /** The previous chunk ended with CR: an LF starting the next chunk belongs to that CRLF. */
  #skipLf = false
  /** How many bytes of a leading BOM were matched; 3 once the stream start is behind us. */
  #bom = 0
  #dataDispatches = 0
  #idDecoder: TextDecoder | undefined

  constructor(maxMessageSize: number) {
    this.#max = maxMessageSize
  }

  /**
   * Nothing of a block is buffered: the last byte scanned ended a dispatch (or the stream has not
   * started), so the state equals a fresh {@link EventStreamScan.startBlock}.
   */
  get idle(): boolean {
    return (
      this.#bom === 3 &&
      this.#messageBytes === 0 &&
      this.#pendingBytes === 0 &&
      this.#headLength === 0 &&
      !this.#skipLf &&
      !this.#blockHasData &&
      this.#blockIds.length === 0
    )
  }

  /**
   * Forgets everything and takes the next byte as the start of a line of a new block, past the
   * stream start (no BOM). The caller uses it right after a blank line it found itself, so that it
   * can skip scanning whole blocks and scan again from the block still being assembled.
   */
  startBlock(): void {
    this.startStream()
    this.#bom = 3
  }

  /** Forgets everything: the next byte is the first of the stream (a BOM may come first). */
  startStream(): void {
    this.#messageBytes = 0
    this.#pendingBytes = 0
    this.#headLength = 0
    this.#idParts = undefined
    this.#blockIds.length = 0
    this.#blockHasData = false
    this.#skipLf = false
    this.#bom = 0
  }

  /**
   * Scans `chunk` and returns how many of its bytes may be parsed: all of them, or (when the bound
   * is passed, see `overflowed`) those before the line that passed it.
   */
  scan(chunk: Uint8Array): number {
    this.moves.length = 0
    this.overflowed = false
    this.#dataDispatches = 0
    const length = chunk.byteLength
    let start = 0
    if (this.#skipLf && length > 0) {
      this.#skipLf = false
      if (chunk[0] === LF) start = 1
    }
    if (this.#bom < 3) {
      start = this.#skipBom(chunk)
      if (start === length) return length
    }
    // Cache the next CR / LF positions so a chunk with many LFs and no CR is scanned once.
    let nextLf = chunk.indexOf(LF, start)
    let nextCr = chunk.indexOf(CR, start)
    while (start < length) {
      if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf(LF, start)
      if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf(CR, start)
      const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : Math.min(nextCr, nextLf)
      if (end === -1) break
      if (!this.#line(chunk, start, end)) return start
      start = end + 1
      if (chunk[end] === CR) {
        if (start === length) this.#skipLf = true
        else if (chunk[start] === LF) start += 1
      }
    }
    if (start < length && !this.#partial(chunk, start, length)) return start
    return length
  }

  /** Matches a leading BOM byte by byte (it may be split across chunks); returns where the text starts. */
  #skipBom(chunk: Uint8Array): number {
    let start = 0
    while (this.#bom < 3 && start < chunk.byteLength) {
      if (chunk[start] !== BOM[this.#bom]) {
        // Not a BOM after all: the bytes taken for one are the first bytes of the first line.
        for (let i = 0; i < this.#bom; i++) this.#head[i] = BOM[i]!
        this.#headLength = this.#bom
        this.#pendingBytes = this.#bom
        this.#bom = 3
        return start
      }
      this.#bom += 1
      start += 1
    }
    return start
  }

  /** A complete line: `chunk[start, end)` after the pending bytes. False when it passes the bound. */
  #line(chunk: Uint8Array, start: number, end: number): boolean {
    const pending = this.#pendingBytes
    const bytes = pending + (end - start)
    let source = chunk
    let at = start
    if (pending > 0) {
      this.#fillHead(chunk, start, end)
      source = this.#head
      at = 0
    }
    const headLength = pending > 0 ? this.#headLength : end - start
    this.#pendingBytes = 0
    this.#headLength = 0
    if (bytes === 0) {
      this.#dispatch()
      this.#idParts = undefined
      return true
    }
    // The pending line was bounded together with the message; a comment is not kept afterwards.
    if (this.#messageBytes + bytes > this.#max) {
      this.overflowed = true
      return false
    }
    const first = source[at]
    if (first === COLON) {
      this.#idParts = undefined
      return true
    }
    this.#messageBytes += bytes
    if (isData(source, at, headLength)) {
      // The block dispatches: eventsource-parser reports its ID with the message.
      this.#blockHasData = true
      this.#blockIds.length = 0
    } else if (!this.#blockHasData && isId(source, at, headLength)) {
      const parts = this.#idParts
      this.#blockIds.push(
        pending > 0 && parts !== undefined ? join(parts, chunk.subarray(start, end)) : chunk.subarray(start, end),
      )
    }
    this.#idParts = undefined
    return true
  }

  /** The rest of a chunk after its last line break. False when it passes the bound. */
  #partial(chunk: Uint8Array, start: number, end: number): boolean {
    const bytes = this.#pendingBytes + (end - start)
    if (this.#messageBytes + bytes > this.#max) {
      this.overflowed = true
      return false
    }
    const wasEmpty = this.#pendingBytes === 0 && this.#headLength === 0
    this.#fillHead(chunk, start, end)
    this.#pendingBytes = bytes
    // Keep the line's bytes only while it may be an `id` line of a block without data.
    if (this.#blockHasData || !mayBeId(this.#head, this.#headLength)) this.#idParts = undefined
    else if (wasEmpty) this.#idParts = [chunk.subarray(start, end)]
    else this.#idParts?.push(chunk.subarray(start, end))
    return true
  }

  #fillHead(chunk: Uint8Array, start: number, end: number): void {
    let length = this.#headLength
    for (let i = start; length < HEAD && i < end; i++) this.#head[length++] = chunk[i]!
    this.#headLength = length
  }

  /** A blank line: the spec's dispatch. */
  #dispatch(): void {
    if (this.#blockHasData) this.#dataDispatches += 1
    else if (this.#blockIds.length > 0) {
      // "If the field value does not contain U+0000 NULL, then set the last event ID buffer": the
      // last such `id` line of the block wins.
      for (let i = this.#blockIds.length - 1; i >= 0; i--) {
        this.#idDecoder ??= new TextDecoder('utf-8', { ignoreBOM: true })
        const line = this.#idDecoder.decode(this.#blockIds[i])
        const id = line.length === 2 ? '' : line.slice(line.charCodeAt(3) === 0x20 ? 4 : 3)
        if (!id.includes('\0')) {
          this.moves.push({ at: this.#dataDispatches, id })
          break
        }
      }
    }
    this.#blockHasData = false
    this.#blockIds.length = 0
    this.#messageBytes = 0
  }
}

const BOM = [0xef, 0xbb, 0xbf] as const

/** A `data` field line: "data:" or the bare field name "data" (processField with an empty value). */
function isData(b: Uint8Array, at: number, length: number): boolean {
  return (
    length >= 4 &&
    b[at] === 0x64 &&
    b[at + 1] === 0x61 &&
    b[at + 2] === 0x74 &&
    b[at + 3] === 0x61 &&
    (length === 4 || b[at + 4] === COLON)
  )
}

/** An `id` field line: "id:" or the bare field name "id". */
function isId(b: Uint8Array, at: number, length: number): boolean {
  return length >= 2 && b[at] === 0x69 && b[at + 1] === 0x64 && (length === 2 || b[at + 2] === COLON)
}

/** Whether a line starting with these bytes may still turn out to be an `id` line. */
function mayBeId(head: Uint8Array, length: number): boolean {
  return (length < 1 || head[0] === 0x69) && (length < 2 || head[1] === 0x64) && (length < 3 || head[2] === COLON)
}

function join(parts: Uint8Array[], last: Uint8Array): Uint8Array {
  let size = last.byteLength
  for (const part of parts) size += part.byteLength
  const out = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  out.set(last, offset)
  return out
}
