/**
 * Test helpers shared by the parser tests: build a byte stream from chunks, and observe whether
 * the consumer cancelled it.
 */

const encoder = new TextEncoder()

/** The chunk sizes every conformance case runs at; `Infinity` is the whole input as one chunk. */
export const CHUNK_SIZES = [1, 2, 3, 7, Number.POSITIVE_INFINITY] as const

/** Encodes text (or passes bytes through) as UTF-8. */
export function bytes(input: string | Uint8Array): Uint8Array {
  return typeof input === 'string' ? encoder.encode(input) : input
}

/** Splits `input` into chunks of `size` bytes (the last one may be shorter). */
export function splitBytes(input: Uint8Array, size: number): Uint8Array[] {
  if (size >= input.byteLength) return input.byteLength === 0 ? [] : [input]
  const chunks: Uint8Array[] = []
  for (let offset = 0; offset < input.byteLength; offset += size) {
    chunks.push(input.slice(offset, offset + size))
  }
  return chunks
}

/** Splits `input` at the given byte offsets (sorted, de-duplicated, out-of-range ones dropped). */
export function splitAt(input: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(offsets)].filter((o) => o > 0 && o < input.byteLength).sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let start = 0
  for (const cut of cuts) {
    chunks.push(input.slice(start, cut))
    start = cut
  }
  if (start < input.byteLength) chunks.push(input.slice(start))
  return chunks
}

/** What a {@link chunkedStream} records about how its consumer treated it. */
export interface StreamProbe {
  /** Resolves with the reason when the consumer cancels the stream. */
  readonly cancelled: Promise<unknown>
  /** Whether `cancel` was called. */
  readonly wasCancelled: () => boolean
  /** Number of chunks the consumer pulled so far. */
  readonly pulled: () => number
  /** Resolves once the consumer is waiting for data past the last chunk (a read is pending). */
  readonly drained: Promise<void>
}

/**
 * A pull-based `ReadableStream` that hands out `chunks` one per read, then closes (or, with
 * `keepOpen`, stays open forever, like a live server stream). Pull-based so a test can tell how far
 * the consumer read.
 */
export function chunkedStream(
  chunks: readonly Uint8Array[],
  options: { keepOpen?: boolean; error?: unknown } = {},
): { stream: ReadableStream<Uint8Array>; probe: StreamProbe } {
  let index = 0
  let cancelledFlag = false
  let resolveCancelled: (reason: unknown) => void = () => undefined
  const cancelled = new Promise<unknown>((resolve) => {
    resolveCancelled = resolve
  })
  let resolveDrained: () => void = () => undefined
  const drained = new Promise<void>((resolve) => {
    resolveDrained = resolve
  })
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[index]
        if (chunk !== undefined) {
          index += 1
          controller.enqueue(chunk)
          return
        }
        resolveDrained()
        if (options.error !== undefined) controller.error(options.error)
        else if (!options.keepOpen) controller.close()
        // keepOpen: never resolve more data; the consumer has to cancel.
        else return new Promise<void>(() => undefined)
      },
      cancel(reason) {
        cancelledFlag = true
        resolveCancelled(reason)
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, probe: { cancelled, wasCancelled: () => cancelledFlag, pulled: () => index, drained } }
}

/** Collects every value of an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = []
  for await (const value of iterable) values.push(value)
  return values
}
