import { LimitExceededError, SluiceError } from '../errors.js'
import { type ConnectionAction, connectionReducer, initialSnapshot } from './machine.js'
import { MAX_TIMER_DELAY, RetryPolicy } from './retry.js'
import type { Connection, ConnectionOptions, ConnectionSnapshot } from './types.js'

/** Default bound of one `for await` loop's buffer; see `ConnectionOptions.iteratorBufferSize`. */
export const DEFAULT_ITERATOR_BUFFER_SIZE = 1024

/**
 * How one attempt ended, as the transport classifies it:
 * - `retry`: try again after the backoff (network error, 5xx, 408/429, a stream that ended, idle
 *   timeout, WebSocket closed). `retryAfter` (ms) is the server's `Retry-After`, a floor on the delay.
 * - `close`: stop for good. Without `error` it is a clean end (SSE `204`, `done(message)`, a finished
 *   NDJSON response); with it, a fatal one (401, wrong content type, invalid NDJSON, ...).
 */
export type AttemptEnd =
  | { readonly type: 'retry'; readonly error?: SluiceError | undefined; readonly retryAfter?: number | undefined }
  | { readonly type: 'close'; readonly error?: SluiceError | undefined }

/** What the core gives a transport for one attempt. Every call after the attempt was dropped is ignored. */
export interface AttemptContext<TMessage, TData> {
  /** Aborted when the attempt is dropped (`close()`, `reconnect()`, abort signal): release everything. */
  readonly signal: AbortSignal
  /** Last event ID seen so far (SSE sends it as `Last-Event-ID`). */
  readonly lastEventId: string
  /** The server accepted the attempt. */
  open(): void
  /**
   * Delivers one message to listeners, iterators and the snapshot, in that order. Returns true when
   * a `for await` loop has fallen a batch behind: a transport that delivers a whole chunk's messages
   * in one go then awaits `drained()` before the next message, so a loop that keeps up is not
   * overrun.
   */
  deliver(message: TMessage, data: TData, lastEventId?: string): boolean
  /**
   * Resolves when every `for await` loop has taken all its buffered messages, or after one macrotask
   * if one has not (a loop awaiting I/O per message lags for real: from then on `deliver()` stops
   * asking to wait until the loops have drained, so one lagging loop fails at its own bound instead
   * of slowing the connection for every other consumer). Also resolves when the attempt is dropped.
   */
  drained(): Promise<void>
  /** A non-fatal error (e.g. a message failed validation): shown on the snapshot and `onError`. */
  reportError(error: SluiceError): void
  /** The last event ID changed (SSE), shown on the snapshot and sent on the next reconnect. */
  setLastEventId(id: string): void
  /** The server's own reconnection time (SSE `retry:`); replaces the policy's initial delay. */
  setServerDelay(ms: number): void
}

/**
 * The transport-specific half of a connection: how to run ONE attempt (open, read, deliver) and how
 * it ended. Everything else — status, backoff, timers, iterators, abort — is the core's.
 */
export interface Transport<TMessage, TData> {
  run(context: AttemptContext<TMessage, TData>): Promise<AttemptEnd>
}

interface IteratorSink<TMessage> {
  /** How many messages wait in the loop's buffer after this one (0: handed straight to the loop). */
  push(message: TMessage): number
  /** How many messages wait in the loop's buffer. */
  size(): number
  end(error: SluiceError | undefined): void
}

/** A transport waits for the loops once they hold this many messages (or half their bound). */
const HIGH_WATER = 64

/** What `subscribe`/`listen` return after close: there is nothing left to unsubscribe from. */
const NOOP = (): void => undefined

/** Turns anything thrown into a SluiceError for the snapshot (`error` is always a SluiceError). */
export function toSluiceError(error: unknown, code = 'UNEXPECTED_ERROR'): SluiceError {
  if (error instanceof SluiceError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new SluiceError(code, message, { cause: error })
}

/** Calls a user callback; an exception in it must not break the connection, so it is rethrown on
 * its own task (reported like an exception in an EventTarget listener) instead of being swallowed. */
function safely<A extends unknown[]>(fn: ((...args: A) => void) | undefined, ...args: A): void {
  if (fn === undefined) return
  try {
    fn(...args)
  } catch (error) {
    queueMicrotask(() => {
      throw error
    })
  }
}

/**
 * The store and lifecycle shared by SSE, NDJSON and WebSocket connections: immutable snapshot,
 * `subscribe`, `listen`, `for await`, `close()`, `reconnect()`, abort signal, backoff timers.
 *
 * Resource ownership: the core owns the backoff timer, the `minUptime` timer, the abort-signal and
 * `online` listeners and each attempt's `AbortController`; the transport owns what it opens inside an
 * attempt and releases it when the attempt's signal aborts or the attempt ends. `close()` releases
 * all of it synchronously.
 */
export class ConnectionCore<TMessage, TData> implements Connection<TMessage, TData> {
  #snapshot: ConnectionSnapshot<TData>
  /**
   * The last message's snapshot change while nobody is subscribed: applied (through the reducer)
   * when the snapshot is next read or changed, so a connection read only by `for await` or
   * `listen()` does not build a snapshot object per message that nobody looks at.
   */
  #unapplied = false
  #unappliedData: TData | undefined
  #unappliedId: string | undefined
  readonly #subscribers = new Set<() => void>()
  readonly #listeners = new Set<(message: TMessage) => void>()
  readonly #iterators = new Set<IteratorSink<TMessage>>()
  readonly #policy: RetryPolicy
  readonly #options: ConnectionOptions<TMessage>
  readonly #bufferSize: number
  #transport: Transport<TMessage, TData> | undefined
  #attempt: AbortController | undefined
  #backoffTimer: ReturnType<typeof setTimeout> | undefined
  #stableTimer: ReturnType<typeof setTimeout> | undefined
  #release: Array<() => void> = []
  /** The transport waiting in `drained()`. */
  #drainWait: (() => void) | undefined
  /**
   * Ends a wait that outlived a macrotask: a loop that keeps up drains within the microtasks of the
   * task that filled it, so a wait still pending when a timer runs is waiting on a loop that lags.
   * One timer serves every wait started before it runs (not one per wait: that cost more than the
   * waits saved).
   */
  #lagTimer: ReturnType<typeof setTimeout> | undefined
  /** A wait ended by its timer: some loop lags for real; `deliver()` asks no more waits until all drained. */
  #lagging = false
  readonly #highWater: number

  constructor(options: ConnectionOptions<TMessage> = {}, initial: { lastEventId?: string } = {}) {
    this.#options = options
    this.#policy = new RetryPolicy(options.retry)
    this.#bufferSize = options.iteratorBufferSize ?? DEFAULT_ITERATOR_BUFFER_SIZE
    if (!Number.isInteger(this.#bufferSize) || this.#bufferSize < 1) {
      throw new TypeError(`iteratorBufferSize must be a positive integer, got ${String(options.iteratorBufferSize)}`)
    }
    this.#highWater = Math.min(HIGH_WATER, Math.ceil(this.#bufferSize / 2))
    this.#snapshot = initialSnapshot<TData>(initial.lastEventId ?? '')
  }

  /** Starts the first attempt. Separate from the constructor so a subclass is fully built first. */
  protected start(transport: Transport<TMessage, TData>): void {
    this.#transport = transport
    const { signal } = this.#options
    if (signal?.aborted) {
      this.#finish(undefined)
      return
    }
    if (signal) {
      const onAbort = () => this.close()
      signal.addEventListener('abort', onAbort, { once: true })
      this.#release.push(() => signal.removeEventListener('abort', onAbort))
    }
    // Browsers: when the page comes back online, a connection waiting out its backoff tries at once.
    // `window` is touched only here, never at import time, so SSR and Node import cleanly.
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      const onOnline = () => {
        if (this.#backoffTimer !== undefined) {
          clearTimeout(this.#backoffTimer)
          this.#backoffTimer = undefined
          this.#startAttempt()
        }
      }
      window.addEventListener('online', onOnline)
      this.#release.push(() => window.removeEventListener('online', onOnline))
    }
    this.#startAttempt()
  }

  getSnapshot = (): ConnectionSnapshot<TData> => this.#current()

  subscribe = (onChange: () => void): (() => void) => {
    if (this.#snapshot.status === 'closed') return NOOP
    this.#subscribers.add(onChange)
    return () => {
      this.#subscribers.delete(onChange)
    }
  }

  listen = (onMessage: (message: TMessage) => void): (() => void) => {
    if (this.#snapshot.status === 'closed') return NOOP
    this.#listeners.add(onMessage)
    return () => {
      this.#listeners.delete(onMessage)
    }
  }

  close = (): void => {
    if (this.#snapshot.status === 'closed') return
    this.#dropAttempt()
    this.#finish(undefined)
  }

  reconnect = (): void => {
    if (this.#snapshot.status === 'closed') return
    this.#dropAttempt()
    this.#dispatch({ type: 'reset' })
    this.#startAttempt()
  };

  /**
   * Each loop gets its own buffer (bounded by `iteratorBufferSize`) and sees the messages delivered
   * after it started. It ends when the connection closes: normally after a clean close, by throwing
   * the error after a failed one. Breaking out of the loop only detaches that loop; the connection
   * stays open (other loops, hooks and listeners may share it) until `close()`. Messages delivered
   * before the close and still in the loop's buffer are handed to it first (for a loop that keeps
   * up, at most one batch: the transport waits for the loops once they hold `HIGH_WATER`).
   */
  [Symbol.asyncIterator](): AsyncIterator<TMessage, undefined> {
    // A queue: `buffer[head]` is the oldest message. Taken slots are cleared and the array is reset
    // when empty (or compacted), so next() costs O(1) instead of shift()'s O(n) on a full buffer.
    const buffer: (TMessage | undefined)[] = []
    let head = 0
    /** The `next()` waiting for a message; settled with a result or with the close error. */
    let pending: ((result: IteratorResult<TMessage, undefined> | Promise<never>) => void) | undefined
    // `failure` is thrown once the buffer is drained: the close error or an overflow.
    let failure: SluiceError | undefined
    let ended = false
    /** What a drained, ended loop answers: the failure once, then done. */
    const last = (): IteratorResult<TMessage, undefined> | Promise<never> => {
      const error = failure
      failure = undefined
      return error ? Promise.reject(error) : { done: true, value: undefined }
    }
    const sink: IteratorSink<TMessage> = {
      push: (message) => {
        // A listener may close the connection while a message is being delivered to everyone.
        if (ended) return 0
        const waiting = pending
        pending = undefined
        if (waiting) {
          waiting({ done: false, value: message })
          return 0
        }
        const size = buffer.push(message) - head
        if (size > this.#bufferSize) {
          buffer.pop()
          const max = this.#bufferSize
          sink.end(
            new LimitExceededError(
              'iteratorBufferSize',
              max,
              `A for-await loop over this connection fell more than ${max} messages behind; it stopped ` +
                'receiving messages. Consume faster, raise iteratorBufferSize, or use listen().',
            ),
          )
          return 0
        }
        return size
      },
      size: () => buffer.length - head,
      end: (error) => {
        if (ended) return
        ended = true
        failure = error
        this.#iterators.delete(sink)
        // A waiting next() means the buffer is empty.
        const waiting = pending
        pending = undefined
        waiting?.(last())
        this.#checkDrained()
      },
    }
    if (this.#snapshot.status === 'closed') sink.end(this.#snapshot.error)
    else this.#iterators.add(sink)
    return {
      next: () => {
        if (head < buffer.length) {
          const value = buffer[head] as TMessage
          buffer[head++] = undefined
          if (head === buffer.length) {
            buffer.length = 0
            head = 0
            if (this.#drainWait !== undefined || this.#lagging) this.#checkDrained()
          } else if (head >= 1024 && head * 2 >= buffer.length) {
            // A loop that stays behind never empties its buffer: drop the taken slots now and then.
            buffer.splice(0, head)
            head = 0
          }
          return Promise.resolve({ done: false, value })
        }
        return ended
          ? Promise.resolve(last())
          : new Promise((resolve) => {
              pending = resolve
            })
      },
      return: () => {
        // Leaving the loop ends it quietly, even after a failed close.
        failure = undefined
        buffer.length = 0
        head = 0
        sink.end(undefined)
        // A next() still waiting (called without awaiting the previous one) must not hang forever.
        return Promise.resolve(last())
      },
    }
  }

  /** Ends the transport's `drained()` wait once no loop has buffered messages. */
  #checkDrained(): void {
    for (const sink of this.#iterators) if (sink.size() > 0) return
    this.#lagging = false
    this.#endDrainWait()
  }

  #endDrainWait(): void {
    const resolve = this.#drainWait
    if (resolve === undefined) return
    this.#drainWait = undefined
    resolve()
  }

  /** The snapshot, with the last message applied if it was not yet. */
  #current(): ConnectionSnapshot<TData> {
    if (this.#unapplied) {
      this.#unapplied = false
      const data = this.#unappliedData as TData
      const lastEventId = this.#unappliedId
      this.#unappliedData = undefined
      this.#snapshot = connectionReducer(this.#snapshot, { type: 'message', data, lastEventId })
    }
    return this.#snapshot
  }

  /** The snapshot reducer is the only place that changes state; this is the only place calling it. */
  #dispatch(action: ConnectionAction<TData>): void {
    const next = connectionReducer(this.#current(), action)
    if (next === this.#snapshot) return
    this.#snapshot = next
    for (const onChange of [...this.#subscribers]) safely(onChange)
  }

  /**
   * A delivered message's snapshot change. While nobody subscribes it is only recorded (the last
   * message's data and the last ID given) and applied when the snapshot is next read or changed:
   * applying message after message without a subscriber equals applying the last one with the last
   * ID any of them carried, and costs an object per message that nobody looks at.
   */
  #message(data: TData, lastEventId: string | undefined): void {
    if (this.#subscribers.size === 0 && this.#snapshot.status !== 'closed') {
      if (lastEventId !== undefined || !this.#unapplied) this.#unappliedId = lastEventId
      this.#unapplied = true
      this.#unappliedData = data
      return
    }
    this.#dispatch({ type: 'message', data, lastEventId })
  }

  #startAttempt(): void {
    const transport = this.#transport
    if (transport === undefined) return
    const controller = new AbortController()
    this.#attempt = controller
    this.#dispatch({ type: 'connect' })
    // The controller is aborted only after `#attempt` stopped pointing at it (#dropAttempt,
    // #attemptEnded), so the identity says it all, without an AbortSignal getter per message.
    const live = () => this.#attempt === controller
    const context: AttemptContext<TMessage, TData> = {
      signal: controller.signal,
      lastEventId: this.#current().lastEventId,
      open: () => {
        if (!live()) return
        this.#dispatch({ type: 'open' })
        clearTimeout(this.#stableTimer)
        if (this.#snapshot.attempt > 0) {
          // Capped: a longer timer fires after 1 ms, and `minUptime: Infinity` must mean "never".
          this.#stableTimer = setTimeout(
            () => {
              this.#stableTimer = undefined
              this.#dispatch({ type: 'stable' })
            },
            Math.min(this.#policy.options.minUptime, MAX_TIMER_DELAY),
          )
        }
        safely(this.#options.onOpen)
      },
      deliver: (message, data, lastEventId) => {
        if (!live()) return false
        // Order is part of the contract: listeners see every message synchronously, before the
        // (coalescible) snapshot change, so a reducer fed by listen() never loses one. The listeners
        // are copied (one may add another, which must wait for the next message); the sinks are not:
        // pushing runs no user code, and a sink that ends removes only itself, which Set iteration
        // allows.
        if (this.#listeners.size > 0) for (const onMessage of [...this.#listeners]) safely(onMessage, message)
        if (this.#options.onMessage !== undefined) safely(this.#options.onMessage, message)
        let buffered = 0
        for (const sink of this.#iterators) {
          const size = sink.push(message)
          if (size > buffered) buffered = size
        }
        this.#message(data, lastEventId)
        return buffered >= this.#highWater && !this.#lagging
      },
      drained: () =>
        new Promise<void>((resolve) => {
          // One transport loop per attempt, so at most one wait; a stale one is ended first.
          this.#endDrainWait()
          if (!live()) {
            resolve()
            return
          }
          this.#drainWait = resolve
          this.#lagTimer ??= setTimeout(() => {
            this.#lagTimer = undefined
            if (this.#drainWait === undefined) return
            this.#lagging = true
            this.#endDrainWait()
          }, 0)
          this.#checkDrained()
        }),
      reportError: (error) => {
        if (!live()) return
        this.#dispatch({ type: 'error', error })
        safely(this.#options.onError, error)
      },
      setLastEventId: (lastEventId) => {
        if (!live()) return
        this.#dispatch({ type: 'lastEventId', lastEventId })
      },
      setServerDelay: (ms) => {
        if (!live()) return
        this.#policy.serverDelay = ms
      },
    }
    let run: Promise<AttemptEnd>
    try {
      run = transport.run(context)
    } catch (error) {
      run = Promise.reject(error)
    }
    run.then(
      (end) => this.#attemptEnded(controller, end),
      (error: unknown) => this.#attemptEnded(controller, { type: 'close', error: toSluiceError(error) }),
    )
  }

  #attemptEnded(controller: AbortController, end: AttemptEnd): void {
    // A dropped attempt (close(), reconnect()) ends later; its outcome no longer matters.
    if (this.#attempt !== controller) return
    this.#attempt = undefined
    // Tell the transport the attempt is over whatever the path, so nothing it opened outlives it.
    controller.abort()
    clearTimeout(this.#stableTimer)
    this.#stableTimer = undefined
    this.#stopWaiting()
    if (end.type === 'close') {
      this.#finish(end.error)
      return
    }
    const delay = this.#policy.delay(this.#snapshot.attempt + 1, end.retryAfter)
    if (delay === undefined) {
      this.#finish(end.error)
      return
    }
    this.#dispatch({ type: 'retry', error: end.error })
    if (end.error) safely(this.#options.onError, end.error)
    // onError may have closed the connection.
    if (this.#snapshot.status === 'closed') return
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined
      this.#startAttempt()
    }, delay)
  }

  #dropAttempt(): void {
    clearTimeout(this.#backoffTimer)
    this.#backoffTimer = undefined
    clearTimeout(this.#stableTimer)
    this.#stableTimer = undefined
    const attempt = this.#attempt
    this.#attempt = undefined
    attempt?.abort()
    this.#stopWaiting()
  }

  /**
   * An attempt is over (dropped or ended): a transport waiting for the loops goes on at once (sees
   * its signal aborted and stops), and the lag timer of its waits goes with it.
   */
  #stopWaiting(): void {
    this.#endDrainWait()
    clearTimeout(this.#lagTimer)
    this.#lagTimer = undefined
  }

  /** The one cleanup path: every way of closing (user, abort, fatal error, clean end) comes here. */
  #finish(error: SluiceError | undefined): void {
    this.#dropAttempt()
    for (const release of this.#release.splice(0)) release()
    this.#dispatch({ type: 'close', error })
    if (error) safely(this.#options.onError, error)
    for (const sink of [...this.#iterators]) sink.end(error)
    this.#subscribers.clear()
    this.#listeners.clear()
    this.onClosed()
  }

  /** Hook for a transport's own state that lives as long as the connection (e.g. a send queue). */
  protected onClosed(): void {
    // Nothing by default: the core has released its own resources already.
  }
}
