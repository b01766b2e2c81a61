/**
 * The one owner of a stream reader for the parsers: acquiring it, reading it, and releasing it on
 * every way out (end of stream, `break` / `iterator.return()`, abort, error). Both `readEventStream`
 * and `readNdjson` read through {@link readBatches}, so leaving their loop for any reason runs its
 * `finally`, which cancels the source.
 *
 * @internal
 */

/** What the parsers accept: a fetch `Response` or a byte stream (strings only via `NdjsonParseStream`). */
export type ByteInput = Response | ReadableStream<Uint8Array> | ReadableStream<Uint8Array | string>

/**
 * What parsing one chunk gives: the values it completed, and the error that stops the stream after
 * them (so nothing valid that came before an error in the same chunk is lost).
 */
export interface ChunkResult<T> {
  readonly batch: readonly T[]
  readonly failure: { readonly error: unknown } | undefined
}

/**
 * Reads `input` chunk by chunk and yields what `parse` (made by `makeParser`) makes of each chunk (its `batch`, when not
 * empty), then throws the chunk's `failure` if it has one. At the end of the stream `parse` is
 * called once more with `undefined` (a parser that completes a last value without its line break
 * does it then). One generator between the reader and the consumer: a second one per chunk (a
 * chunk reader iterated by a parsing generator) cost several percent of a whole parse.
 *
 * - A `Response` without a body (e.g. `204`) is an empty stream.
 * - String chunks are UTF-8 encoded by `text` (a {@link StringChunkEncoder}) when the caller takes
 *   text (`NdjsonParseStream`); without it they are a `TypeError`. Only the caller that accepts text
 *   imports the encoder, so `readEventStream` / `createEventStream` bundles leave it out.
 * - `signal` aborting cancels the reader (with `signal.reason`) and ends the generator normally,
 *   without the end-of-stream call.
 * - Leaving early (`return()`) or an error cancels the reader before the lock is released.
 */
export async function* readBatches<T>(
  input: ByteInput,
  signal: AbortSignal | undefined,
  caller: string,
  makeParser: () => (chunk: Uint8Array | undefined) => ChunkResult<T>,
  text?: StringChunkEncoder,
): AsyncGenerator<readonly T[], void, undefined> {
  // Made here, on the first next(), like everything else: a bad option (a limit that is not a
  // positive integer) rejects the first next() before the input is touched, as with the parsers'
  // own generators before.
  const parse = makeParser()
  const reader = acquireReader(input, caller)
  if (reader === undefined) return
  let finished = false
  const onAbort = () => {
    // The pending read() (if any) resolves with done once cancelled, which ends the loop below.
    reader.cancel(signal?.reason).catch(ignoreCancelFailure)
  }
  try {
    if (signal?.aborted) return
    signal?.addEventListener('abort', onAbort, { once: true })
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array | string>
      try {
        result = await reader.read()
      } catch (error) {
        // A fetch body aborted by the same signal rejects with an AbortError: that is the end the
        // caller asked for, not a failure.
        if (signal?.aborted) return
        throw error
      }
      if (signal?.aborted) return
      if (result.done) {
        finished = true
        const rest = text?.end()
        if (rest !== undefined) {
          const { batch, failure } = parse(rest)
          if (batch.length > 0) yield batch
          if (failure !== undefined) throw failure.error
        }
        const { batch, failure } = parse(undefined)
        if (batch.length > 0) yield batch
        if (failure !== undefined) throw failure.error
        return
      }
      const bytes = toBytes(result.value, text, caller)
      if (bytes.byteLength === 0) continue
      const { batch, failure } = parse(bytes)
      if (batch.length > 0) yield batch
      if (failure !== undefined) throw failure.error
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (!finished) {
      // cancel() runs the source's cancel algorithm synchronously; its promise is not awaited, so a
      // source whose cancel never settles cannot make `break` (or an error) hang.
      reader.cancel(signal?.aborted ? signal.reason : undefined).catch(ignoreCancelFailure)
    }
    reader.releaseLock()
  }
}

function acquireReader(input: ByteInput, caller: string): ReadableStreamDefaultReader<Uint8Array | string> | undefined {
  // Duck-typed, not `instanceof`: a Response or ReadableStream can come from another realm or from a
  // polyfill that replaced the global (e.g. @hono/node-server swaps `globalThis.Response`), and is
  // still a perfectly good body to read.
  if (isResponseLike(input)) {
    if (input.bodyUsed) {
      throw new TypeError(`${caller}: the Response body was already read; pass a fresh Response (or response.clone()).`)
    }
    // No body (204, HEAD): nothing to parse.
    if (input.body === null) return undefined
    return input.body.getReader()
  }
  if (isReadableStream(input)) {
    if (input.locked) {
      throw new TypeError(`${caller}: the ReadableStream is locked by another reader; release it or tee() it first.`)
    }
    return (input as ReadableStream<Uint8Array | string>).getReader()
  }
  throw new TypeError(`${caller}: expected a Response or a ReadableStream<Uint8Array>, got ${describe(input)}.`)
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ReadableStream).getReader === 'function' &&
    typeof (value as ReadableStream).locked === 'boolean'
  )
}

function isResponseLike(value: unknown): value is Response {
  if (typeof value !== 'object' || value === null || isReadableStream(value)) return false
  const { body, bodyUsed } = value as Response
  return typeof bodyUsed === 'boolean' && (body === null || isReadableStream(body))
}

function toBytes(chunk: unknown, text: StringChunkEncoder | undefined, caller: string): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk
  // A Uint8Array of another realm (jsdom's globals next to Node's fetch, an iframe, a vm context)
  // fails `instanceof` but is the same bytes: view them without copying.
  if (ArrayBuffer.isView(chunk) && Object.prototype.toString.call(chunk) === '[object Uint8Array]') {
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  }
  if (typeof chunk === 'string' && text !== undefined) return text.encode(chunk)
  throw new TypeError(
    `${caller}: expected Uint8Array chunks, got ${describe(chunk)}. Pipe text through a TextEncoderStream first.`,
  )
}

/**
 * UTF-8 encodes string chunks, carrying a high surrogate that ends one chunk into the next, so a
 * surrogate pair split across chunks is not turned into U+FFFD twice. One per stream.
 */
export class StringChunkEncoder {
  #encoder: TextEncoder | undefined
  #carry = ''

  encode(text: string): Uint8Array {
    let whole = this.#carry + text
    this.#carry = ''
    const last = whole.charCodeAt(whole.length - 1)
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#carry = whole.slice(-1)
      whole = whole.slice(0, -1)
    }
    this.#encoder ??= new TextEncoder()
    return this.#encoder.encode(whole)
  }

  /** Bytes still owed at end of stream: a dangling high surrogate becomes U+FFFD, as TextEncoder does. */
  end(): Uint8Array | undefined {
    if (this.#carry === '') return undefined
    const rest = this.#carry
    this.#carry = ''
    this.#encoder ??= new TextEncoder()
    return this.#encoder.encode(rest)
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return value.constructor?.name ?? 'object'
  return typeof value
}

/**
 * Cancelling rejects only when the stream already errored (that error is the one being surfaced)
 * or when the source's own `cancel()` throws while we are leaving; neither may replace the reason
 * the iteration ended, so it is deliberately not rethrown.
 */
function ignoreCancelFailure(_error: unknown): void {
  // Intentionally nothing: see above.
}

const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined })
const NO_VALUES: readonly never[] = []

/**
 * What `readEventStream` and `readNdjson` return: the values of each parsed chunk (a batch from
 * `source`), one per `next()`. An async generator yielding them costs several promise steps per
 * value, most of what reading small messages costs beyond parsing; here a value already parsed is
 * one resolved promise. It behaves as the generator it replaces: calls are served in order; an error
 * of a chunk comes after the values parsed before it; `return()`, `throw()`, an abort between values
 * and an error all end the batch generator, whose `finally` (in `readChunks`) releases the reader.
 *
 * @internal
 */
export class BatchIterator<T> implements AsyncGenerator<T, void, undefined> {
  readonly #source: AsyncGenerator<readonly T[], void, undefined>
  readonly #signal: AbortSignal | undefined
  #batch: readonly T[] = NO_VALUES
  #index = 0
  #done = false
  /** The call reading the next batch; calls made meanwhile wait for it, as a generator's do. */
  #busy: Promise<unknown> | undefined

  constructor(source: AsyncGenerator<readonly T[], void, undefined>, signal: AbortSignal | undefined) {
    this.#source = source
    this.#signal = signal
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<T, void>> {
    if (this.#busy !== undefined) return this.#busy.then(() => this.next())
    if (this.#done) return Promise.resolve(DONE)
    if (this.#index < this.#batch.length) {
      if (this.#signal?.aborted) return this.return()
      return Promise.resolve({ done: false, value: this.#batch[this.#index++] as T })
    }
    const read = this.#read()
    this.#busy = read.then(ignore, ignore)
    return read
  }

  async return(): Promise<IteratorResult<T, void>> {
    if (this.#busy !== undefined) await this.#busy
    this.#done = true
    this.#batch = NO_VALUES
    await this.#source.return(undefined)
    return DONE
  }

  async throw(error: unknown): Promise<IteratorResult<T, void>> {
    await this.return()
    throw error
  }

  async #read(): Promise<IteratorResult<T, void>> {
    try {
      for (;;) {
        const result = await this.#source.next()
        if (result.done) {
          this.#done = true
          return DONE
        }
        this.#busy = undefined
        if (this.#signal?.aborted) return await this.return()
        const batch = result.value
        if (batch.length > 0) {
          this.#batch = batch
          this.#index = 1
          return { done: false, value: batch[0] as T }
        }
      }
    } catch (error) {
      // The batch generator has ended (its `finally` released the reader): so has this iterator.
      this.#done = true
      throw error
    } finally {
      this.#busy = undefined
    }
  }
}

/** The settled outcome of a read is its caller's; a call queued behind it only waits for it. */
function ignore(_value: unknown): void {
  // Nothing: see above.
}
