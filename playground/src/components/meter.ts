import { useSyncExternalStore } from 'react'

/**
 * Counts bytes received by one page's connection. The count changes on every chunk, so listeners
 * are told at most every 250 ms: the network panel stays live without re-rendering per chunk.
 */
export class ByteMeter {
  #bytes = 0
  #published = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  readonly #listeners = new Set<() => void>()

  add(bytes: number): void {
    this.#bytes += bytes
    // One pending timer at most; it is cleared when the last listener leaves.
    if (this.#timer === undefined && this.#listeners.size > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#published = this.#bytes
        for (const listener of this.#listeners) listener()
      }, 250)
    }
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0 && this.#timer !== undefined) {
        clearTimeout(this.#timer)
        this.#timer = undefined
      }
    }
  }

  readonly getSnapshot = (): number => this.#published
}

/** The meter's published byte count, re-rendering at most every 250 ms. */
export function useBytes(meter: ByteMeter): number {
  return useSyncExternalStore(meter.subscribe, meter.getSnapshot)
}

/**
 * A `fetch` that reports every body chunk to `meter`, for the client's `fetch` option. The body is
 * piped through a pass-through `TransformStream`, so nothing is buffered here.
 */
export function meteredFetch(meter: ByteMeter): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init)
    if (response.body === null) return response
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        meter.add(chunk.byteLength)
        controller.enqueue(chunk)
      },
    })
    return new Response(response.body.pipeThrough(counter), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }
}

/**
 * A `WebSocket` constructor that reports the size of every received frame to `meter`, for the
 * socket's `WebSocket` option. Created lazily: the browser global is only touched when called.
 */
export function meteredWebSocket(meter: ByteMeter): typeof WebSocket {
  const encoder = new TextEncoder()
  return class MeteredWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      this.addEventListener('message', (event: MessageEvent<unknown>) => {
        const { data } = event
        if (typeof data === 'string') meter.add(encoder.encode(data).byteLength)
        else if (data instanceof ArrayBuffer) meter.add(data.byteLength)
        else if (data instanceof Blob) meter.add(data.size)
      })
    }
  }
}

/** `1234567` -> `"1.2 MB"`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

/** `12345` -> `"12,345"`. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US')
}
