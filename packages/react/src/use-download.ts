import { type ReadWithProgressResult, readWithProgress, SluiceError } from '@sluice/client'
import { useEffect, useState, useSyncExternalStore } from 'react'

/** Where a download is: `idle` before `start()`, `aborted` after `abort()` (or unmount). */
export type DownloadStatus = 'idle' | 'downloading' | 'done' | 'error' | 'aborted'

/** What {@link useDownload} renders. */
export interface DownloadState {
  readonly status: DownloadStatus
  /** Bytes received so far. */
  readonly loaded: number
  /** Total bytes when the server announced it (`Content-Length`, no encoding), else `undefined`. */
  readonly total: number | undefined
  /** Why the download failed (`HttpError`, `LimitExceededError`, or code `NETWORK_ERROR` / `BODY_READ_ERROR`). */
  readonly error: SluiceError | undefined
  /** The body and its suggested file name, once `status` is `done`. */
  readonly result: ReadWithProgressResult | undefined
}

/** Options of {@link useDownload}. */
export interface UseDownloadOptions {
  /** Minimum ms between progress renders (default 100). Status changes render at once. */
  throttle?: number
  /** Most bytes held in memory; see `readWithProgress`'s `maxSize`. */
  maxSize?: number
  /** A custom `fetch` (tests, auth wrappers). Read when `start()` is called. */
  fetch?: typeof fetch
}

/** {@link DownloadState} plus the two actions; both keep their identity for the component's lifetime. */
export interface DownloadResult extends DownloadState {
  /**
   * Fetches `url` and reads the whole body with progress. Aborts a download already running.
   * Resolves with the result, or `undefined` when it failed or was aborted (see `error`); never rejects.
   */
  readonly start: (url: string | URL, init?: RequestInit) => Promise<ReadWithProgressResult | undefined>
  /** Aborts the running download (status `aborted`); nothing when none runs. */
  readonly abort: () => void
}

const IDLE: DownloadState = { status: 'idle', loaded: 0, total: undefined, error: undefined, result: undefined }

/**
 * Owns one download at a time: its `AbortController` and the progress throttle timer, both
 * released when it ends, when a new one starts, and on `dispose()` (unmount).
 */
class DownloadController {
  #state: DownloadState = IDLE
  #pending: DownloadState | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #lastPublish = 0
  #abort: AbortController | undefined
  readonly #listeners = new Set<() => void>()

  constructor(private readonly options: () => UseDownloadOptions) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  readonly getSnapshot = (): DownloadState => this.#state

  #publish(state: DownloadState): void {
    this.#clearTimer()
    this.#pending = undefined
    this.#state = state
    this.#lastPublish = Date.now()
    for (const listener of this.#listeners) listener()
  }

  /** Progress is coalesced: at most one render per `throttle` ms, the latest value always shown. */
  #progress(state: DownloadState): void {
    const throttle = this.options().throttle ?? 100
    const wait = this.#lastPublish + throttle - Date.now()
    if (wait <= 0) {
      this.#publish(state)
      return
    }
    this.#pending = state
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      if (this.#pending !== undefined) this.#publish(this.#pending)
    }, wait)
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  readonly start = async (url: string | URL, init?: RequestInit): Promise<ReadWithProgressResult | undefined> => {
    this.abort()
    const controller = new AbortController()
    this.#abort = controller
    // The caller's own signal (if any) aborts this download too.
    const signal = init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal
    const { fetch: fetchImpl = globalThis.fetch, maxSize } = this.options()
    this.#publish({ ...IDLE, status: 'downloading' })
    const current = () => this.#abort === controller
    try {
      let response: Response
      try {
        response = await fetchImpl(url, { ...init, signal })
      } catch (error) {
        if (signal.aborted) throw error
        throw new SluiceError('NETWORK_ERROR', `The download request failed: ${String(error)}`, { cause: error })
      }
      const result = await readWithProgress(response, {
        signal,
        ...(maxSize === undefined ? {} : { maxSize }),
        onProgress: ({ loaded, total }) => {
          if (current()) this.#progress({ ...IDLE, status: 'downloading', loaded, total })
        },
      })
      if (!current()) return undefined
      this.#abort = undefined
      this.#publish({ ...IDLE, status: 'done', ...result.progress, result })
      return result
    } catch (error) {
      // abort() already reported its own end, and a superseded download reports nothing.
      if (!current()) return undefined
      this.#abort = undefined
      if (signal.aborted) {
        // The caller's `init.signal` aborted it.
        this.#publish({ ...(this.#pending ?? this.#state), status: 'aborted' })
        return undefined
      }
      const failure =
        error instanceof SluiceError
          ? error
          : new SluiceError('DOWNLOAD_ERROR', `The download failed: ${String(error)}`, { cause: error })
      this.#publish({ ...this.#state, status: 'error', error: failure })
      return undefined
    }
  }

  readonly abort = (): void => {
    const controller = this.#abort
    if (controller === undefined) return
    this.#abort = undefined
    controller.abort(new DOMException('The download was aborted', 'AbortError'))
    this.#publish({ ...(this.#pending ?? this.#state), status: 'aborted' })
  }

  /** Unmount: abort and drop the timer, without notifying (nothing listens any more). */
  dispose(): void {
    this.#abort?.abort(new DOMException('The component unmounted', 'AbortError'))
    this.#abort = undefined
    this.#clearTimer()
  }
}

/**
 * Downloads a file with a progress bar: `start(url)` fetches it and reads the body with
 * `readWithProgress`; `loaded` / `total` update at most every `throttle` ms. Unmounting aborts.
 *
 * @example
 * ```tsx
 * const download = useDownload()
 * const save = async () => {
 *   const result = await download.start('/export.csv')
 *   if (result) saveBlob(result.blob, result.filename ?? 'export.csv')
 * }
 * return <progress value={download.loaded} max={download.total} />
 * ```
 */
export function useDownload(options: UseDownloadOptions = {}): DownloadResult {
  // Options are read when used, so passing a new object every render changes nothing.
  const latest = useLatest(options)
  const [controller] = useState(() => new DownloadController(() => latest.current))
  useEffect(() => () => controller.dispose(), [controller])
  const state = useSyncExternalStore(controller.subscribe, controller.getSnapshot, controller.getSnapshot)
  return { ...state, start: controller.start, abort: controller.abort }
}

function useLatest<T>(value: T): { readonly current: T } {
  const [ref] = useState(() => ({ current: value }))
  // Written in an effect, not during render, so a discarded render never leaks its options.
  useEffect(() => {
    ref.current = value
  })
  return ref
}
