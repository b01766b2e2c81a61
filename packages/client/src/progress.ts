import { HttpError, LimitExceededError, SluiceError } from './errors.js'

/** How much of a body has arrived. */
export interface Progress {
  /** Bytes received so far (after any content decoding the runtime did). */
  readonly loaded: number
  /**
   * Total size in bytes when the server announced it with `Content-Length` and the body is not
   * content-encoded; `undefined` when unknown (then show an indeterminate progress bar).
   */
  readonly total: number | undefined
}

/** Options of {@link readWithProgress}. */
export interface ReadWithProgressOptions {
  /** Called after every chunk, and once with `loaded === 0` before the first one. */
  onProgress?: (progress: Progress) => void
  /** Aborting cancels the body reader; the promise rejects with the signal's reason. */
  signal?: AbortSignal
  /**
   * Most bytes to hold in memory (default 512 MiB). Past it the body is cancelled and the promise
   * rejects with a `LimitExceededError` naming `maxSize`, instead of growing memory without bound.
   */
  maxSize?: number
}

/** The whole body, as a `Blob` typed with the response's `Content-Type`. */
export interface ReadWithProgressResult {
  readonly blob: Blob
  /** The file name from `Content-Disposition` (`filename*` preferred), `undefined` when none. */
  readonly filename: string | undefined
  /** The final progress (`loaded === blob.size`). */
  readonly progress: Progress
}

const DEFAULT_MAX_SIZE = 512 * 1024 * 1024

/**
 * Cancels a body we are giving up on. A cancel only fails when the stream already errored or
 * closed, and then there is nothing left to release; the error that made us stop (HTTP status,
 * limit, abort) is the one reported, so this one is deliberately dropped.
 */
function release(cancel: Promise<void> | undefined): Promise<void> {
  return (cancel ?? Promise.resolve()).catch(() => undefined)
}

/**
 * The announced body size of `response`, or `undefined` when it cannot be trusted.
 *
 * `Content-Length` counts the bytes on the wire, but a fetch body yields *decoded* bytes: with
 * `Content-Encoding: gzip` the two differ, so the total is unknown rather than wrong
 * (https://fetch.spec.whatwg.org/#http-network-fetch decodes before the body is exposed).
 */
export function contentLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding')
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return undefined
  const header = response.headers.get('content-length')
  if (header === null || !/^\d+$/.test(header.trim())) return undefined
  const length = Number(header.trim())
  return Number.isSafeInteger(length) ? length : undefined
}

/**
 * The file name a `Content-Disposition` header suggests, `undefined` when none.
 * `filename*` (RFC 5987 / RFC 6266 §4.3, UTF-8 percent-encoded) wins over `filename`.
 *
 * @example
 * ```ts
 * filenameFromContentDisposition('attachment; filename="report.csv"') // "report.csv"
 * ```
 */
export function filenameFromContentDisposition(header: string | null): string | undefined {
  if (header === null) return undefined
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header)
  if (extended?.[2] !== undefined) {
    try {
      return decodeURIComponent(extended[2].trim())
    } catch {
      // A malformed percent-encoding is the server's mistake; fall back to the plain `filename`.
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header)
  const value = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2]?.trim()
  return value === undefined || value === '' ? undefined : value
}

/**
 * Reads a `Response` body to the end while reporting bytes received and the total when known.
 * The reader is always released: on completion, on abort, on error and past `maxSize`.
 *
 * A response that is not `ok` rejects with `HttpError` before anything is read.
 *
 * @example
 * ```ts
 * const response = await fetch('/export.csv', { signal })
 * const { blob, filename } = await readWithProgress(response, {
 *   signal,
 *   onProgress: ({ loaded, total }) => (bar.value = total ? loaded / total : 0),
 * })
 * ```
 */
export async function readWithProgress(
  response: Response,
  options: ReadWithProgressOptions = {},
): Promise<ReadWithProgressResult> {
  const { onProgress, signal, maxSize = DEFAULT_MAX_SIZE } = options
  if (!(maxSize > 0)) throw new TypeError(`maxSize must be a positive number of bytes, got ${maxSize}`)
  if (!response.ok) {
    // Release the connection: an unread error body would otherwise keep the socket busy.
    await release(response.body?.cancel())
    throw new HttpError(response.status, response.statusText)
  }
  const total = contentLength(response)
  const filename = filenameFromContentDisposition(response.headers.get('content-disposition'))
  const type = response.headers.get('content-type') ?? ''
  signal?.throwIfAborted()

  if (response.body === null) {
    const progress = { loaded: 0, total }
    onProgress?.(progress)
    return { blob: new Blob([], { type }), filename, progress }
  }
  if (total !== undefined && total > maxSize) {
    await release(response.body.cancel())
    throw new LimitExceededError(
      'maxSize',
      maxSize,
      `The body announces ${total} bytes, more than maxSize (${maxSize} bytes)`,
    )
  }

  const reader = response.body.getReader()
  // One owner for the abort listener: added here, removed in `finally`.
  const onAbort = () => {
    void release(reader.cancel(signal?.reason))
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  const chunks: Uint8Array[] = []
  let loaded = 0
  try {
    onProgress?.({ loaded, total })
    for (;;) {
      const { done, value } = await reader.read()
      // A cancelled reader resolves `done`; the abort must still reject, not look like a short body.
      signal?.throwIfAborted()
      if (done) break
      loaded += value.byteLength
      if (loaded > maxSize) {
        await release(reader.cancel())
        throw new LimitExceededError(
          'maxSize',
          maxSize,
          `The body is larger than maxSize (${maxSize} bytes); ${loaded} bytes were received`,
        )
      }
      chunks.push(value)
      onProgress?.({ loaded, total })
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason
    if (error instanceof SluiceError) throw error
    throw new SluiceError('BODY_READ_ERROR', `Reading the body failed after ${loaded} bytes`, { cause: error })
  } finally {
    signal?.removeEventListener('abort', onAbort)
    reader.releaseLock()
  }
  const progress = { loaded, total }
  return { blob: new Blob(chunks as BlobPart[], { type }), filename, progress }
}
