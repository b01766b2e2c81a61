/**
 * The one owner of pulling a source into a sink. SSE, NDJSON and plain byte streams differ only in
 * their {@link StreamEncoder}; Node and Fetch differ only in their {@link PumpSink}. Everything
 * else lives here, once: headers first, keepalive, backpressure, send timeout, shutdown, errors, and
 * ending the source with `return()` so its `finally` runs.
 */
import { type IdleGroup, type IdleWatched, touchIdle, unwatchIdle, watchIdle } from './keep-alive.js'
import { PUSH_SOURCE, type PushCapable, type PushConsumer, type PushSource } from './push-source.js'
import { STREAM_END, type StreamEndListener, type StreamEndNotifier } from './stream-end.js'

/** What a source function receives. */
export interface StreamContext<R> {
  /**
   * Aborted as soon as the stream ends for any reason (client gone, shutdown, send timeout, error).
   * A generator blocked in `await` only runs its `finally` once that promise settles, so pass this
   * signal to whatever it waits on (`fetch`, `events.once`, a channel subscription) to stop at once.
   * It is created when first read (read after the end, it is already aborted), so a source that
   * never reads it, or passes the context itself to `channel.subscribe(ctx)`, costs no `AbortSignal`.
   */
  readonly signal: AbortSignal
  /**
   * The ID the client resumes from: the `Last-Event-ID` header, else a `lastEventId` query
   * parameter (for clients that cannot set headers); `undefined` when neither is set or both are empty.
   */
  readonly lastEventId: string | undefined
  /** The incoming request (`IncomingMessage` on Node, `Request` on Fetch runtimes). */
  readonly request: R
}

/** Anything the stream can pull items from. */
export type StreamIterable<T> = AsyncIterable<T> | Iterable<T> | ReadableStream<T>

/**
 * A stream's source: an (async) iterable, or a function of the {@link StreamContext} that returns
 * one (or a promise of one). It is only pulled while the connection can take more (backpressure),
 * and ended with `return()` when the stream ends, so a generator's `finally` always runs.
 */
export type StreamSource<T, R> =
  | StreamIterable<T>
  | ((context: StreamContext<R>) => StreamIterable<T> | PromiseLike<StreamIterable<T>>)

/**
 * Why a stream ended: the source finished (`end`), the client went away (`disconnect`), the source
 * or the encoder threw (`error`), `options.signal` aborted (`shutdown`), or a write could not drain
 * within `sendTimeout` (`send-timeout`).
 */
export type StreamEndReason = 'end' | 'disconnect' | 'error' | 'shutdown' | 'send-timeout'

/** How one kind of stream (SSE, NDJSON, bytes) turns items into chunks. Internal. */
export interface StreamEncoder<T> {
  encode(item: T): string | Uint8Array
  /** Written first, right after the headers (SSE `retry:` or an opening comment), so the body starts at once. */
  readonly preamble: string | undefined
  /** Written when the stream has been silent for `keepAlive` ms; `undefined` disables keepalive. */
  readonly keepAliveChunk: string | undefined
  readonly keepAlive: number | false
  /** Written before ending on shutdown (SSE: a jittered `retry:`). */
  shutdownChunk(): string | undefined
  /**
   * Turns a source error into a final chunk (`'final'`: then a clean end), or says the connection
   * must be aborted so the client sees a truncated body rather than a complete-looking one
   * (`'abort'`, for plain byte streams: a download must never look finished when it is not).
   */
  fail(error: unknown): { mode: 'final'; chunk: string | undefined } | { mode: 'abort' }
  /** Reports an error that has no other outlet (e.g. the source's `finally` threw). */
  report(error: unknown): void
}

/** Where a pump writes: a Node `ServerResponse` or a Fetch `ReadableStream` body. Internal. */
export interface PumpSink {
  /**
   * Sends the status and headers at once, before any event. A plain record is a helper's own
   * default headers, used as they are (lower-case names, never mutated).
   */
  start(status: number, headers: Headers | Readonly<Record<string, string>>): void
  /** Writes a chunk; `false` means the sink is full: wait for `hooks.drain()` before pulling more. */
  write(chunk: string | Uint8Array): boolean
  /** Whether a write now would not queue behind unsent data (keepalives are skipped otherwise). */
  isReady(): boolean
  /**
   * How many characters a synchronous source's batch may collect for the next write (at least 1
   * while ready): what the sink can take before it is full, so batching never buffers more than
   * writing item by item would (the sink's bound plus the one item that crosses it).
   */
  room(): number
  /** Ends cleanly once everything written is sent; resolves when done (or the connection closed). */
  end(): Promise<void>
  /**
   * Aborts the connection now. Idempotent. `clientGone` says nobody is reading any more, so a sink
   * may just close (a Fetch body is closed rather than errored, which runtimes would log).
   */
  destroy(reason: Error, clientGone: boolean): void
}

/** How a sink tells the pump what happened to the connection. */
export interface PumpHooks {
  drain(): void
  disconnect(): void
}

/** Options every stream helper accepts. */
export interface ServeOptions {
  /** Response status. Default `200`. */
  status?: number
  /** Extra response headers, merged over the defaults (e.g. `Content-Disposition` for a download). */
  headers?: HeadersInit
  /** Server shutdown: aborting it ends the stream cleanly (SSE first sends a jittered `retry:`). */
  signal?: AbortSignal
  /**
   * Milliseconds a write may wait for the connection to drain before the stream is ended (the
   * connection is aborted: a peer that reads nothing for this long is stalled or gone). Also bounds
   * the final flush. Default `30_000`; `false` waits forever (not recommended).
   */
  sendTimeout?: number | false
  /** Called once when the stream has ended, with the reason (metrics, logging). */
  onClose?: (reason: StreamEndReason) => void
}

/** Resolved inputs of one pump run. Internal. */
export interface PumpInput<T, R> {
  readonly source: StreamSource<T, R>
  readonly encoder: StreamEncoder<T>
  readonly status: number
  readonly headers: Headers | Readonly<Record<string, string>>
  readonly request: R
  readonly lastEventId: string | undefined
  readonly signal: AbortSignal | undefined
  readonly sendTimeout: number | false
  readonly onClose: ((reason: StreamEndReason) => void) | undefined
}

/** Default `sendTimeout`: see {@link ServeOptions.sendTimeout}. */
export const DEFAULT_SEND_TIMEOUT = 30_000

/**
 * Pulls `input.source` into the sink made by `createSink` until the stream ends, and resolves then
 * (with nothing: the Node helpers return this very promise; why it ended goes to `onClose`). Never
 * rejects: every error is either turned into the stream's end or reported.
 */
export function runPump<T, R>(input: PumpInput<T, R>, createSink: (hooks: PumpHooks) => PumpSink): Promise<void> {
  return new Pump(input, createSink).done
}

/**
 * One stream's pump. A class rather than a cloud of per-call closures because one process holds
 * many streams (issue 7): each closure is a function object plus a context per stream, while
 * methods live once on the prototype. It is its own {@link PumpHooks} (the sink calls it back), its
 * own shutdown `EventListener` (`handleEvent`) and its own keepalive entry ({@link IdleWatched}).
 * While a stream waits for an asynchronous source, all it holds is one pending `next()` promise;
 * waiting for a push source (a live channel subscription), it holds nothing but its registration.
 * A synchronous source, or what a push source has queued, is written in batches (`#pullSync`).
 */
class Pump<T, R> implements PumpHooks, IdleWatched, PushConsumer {
  readonly done: Promise<void>
  readonly #encoder: StreamEncoder<T>
  readonly #sendTimeout: number | false
  readonly #signal: AbortSignal | undefined
  readonly #onClose: ((reason: StreamEndReason) => void) | undefined
  readonly #sink: PumpSink
  /** `ctx.signal`, created when first read (see stream-end.ts). */
  #controller: AbortController | undefined
  /** A subscription told of the end directly instead of through `ctx.signal` (see stream-end.ts). */
  #endListener: StreamEndListener | undefined
  #reason: StreamEndReason | undefined
  #resolve!: () => void
  #ended = false
  #iterator: AsyncIterator<T> | undefined
  /** The source's own iterator when it is synchronous: pulled in batches, without a promise per item. */
  #sync: Iterator<T> | undefined
  /** The source's push side, once it offers one (a live channel subscription, see push-source.ts). */
  #push: PushSource<T> | undefined
  /** The pump is paused until the sink drains (`drain()` resumes it). */
  #waitingForDrain = false
  #drainTimer: ReturnType<typeof setTimeout> | undefined
  // Keepalive links, owned by keep-alive.ts.
  idleSince = 0
  idlePrev: IdleWatched | undefined = undefined
  idleNext: IdleWatched | undefined = undefined
  idleGroup: IdleGroup | undefined = undefined
  // One pair of callbacks per stream for every `next()` (not a closure per item), created when an
  // asynchronous source first needs them.
  #onNext: ((result: IteratorResult<T>) => void) | undefined
  #onNextError: ((error: unknown) => void) | undefined
  /** Continues a long synchronous batch run in a microtask; created on first use. */
  #onWake: (() => void) | undefined

  constructor(input: PumpInput<T, R>, createSink: (hooks: PumpHooks) => PumpSink) {
    this.#encoder = input.encoder
    this.#sendTimeout = input.sendTimeout
    this.#signal = input.signal
    this.#onClose = input.onClose
    this.done = new Promise<void>((resolve) => {
      this.#resolve = resolve
    })
    this.#sink = createSink(this)
    this.#start(input).then(undefined, (error: unknown) => {
      // Only a sink failing synchronously (e.g. writeHead on a response in a bad state) gets here.
      this.#encoder.report(error)
      this.#finish('error', { abort: true })
    })
  }

  /** The sink can take more: resume a pump paused for backpressure. */
  drain(): void {
    if (!this.#waitingForDrain) return
    this.#waitingForDrain = false
    clearTimeout(this.#drainTimer)
    this.#drainTimer = undefined
    this.#pull()
  }

  disconnect(): void {
    this.#finish('disconnect')
  }

  /** `options.signal` aborted: the server is shutting down. */
  handleEvent(): void {
    this.#finish('shutdown')
  }

  /** Silent for `keepAlive` ms (see keep-alive.ts). Never into a full buffer: data is already waiting to go out. */
  onIdle(): void {
    const chunk = this.#encoder.keepAliveChunk
    if (this.#ended || chunk === undefined || !this.#sink.isReady()) return
    try {
      this.#sink.write(chunk)
    } catch (error) {
      // Called from the shared timer: a throw there would skip every other stream's keepalive (and
      // crash the process). A sink that throws cannot be written to: abort this stream, say why.
      this.#encoder.report(error)
      this.#finish('error', { abort: true })
    }
  }

  #write(chunk: string | Uint8Array): void {
    if (this.idleGroup !== undefined) touchIdle(this)
    this.#sink.write(chunk)
  }

  async #start(input: PumpInput<T, R>): Promise<void> {
    const { source, encoder } = input
    const signal = this.#signal
    // An iterable given as is may already hold resources (a channel subscription registers when
    // created), so it is owned from the start: even a stream that ends before its first pull
    // returns it.
    let invalidSource: unknown
    if (typeof source !== 'function') {
      try {
        this.#own(source)
      } catch (error) {
        invalidSource = error
      }
    }
    this.#sink.start(input.status, input.headers)
    if (this.#ended) return // the connection was already gone
    if (signal?.aborted) {
      this.#finish('shutdown')
      return
    }
    signal?.addEventListener('abort', this, { once: true })
    if (encoder.preamble !== undefined) this.#sink.write(encoder.preamble)
    if (encoder.keepAlive !== false && encoder.keepAliveChunk !== undefined) watchIdle(this, encoder.keepAlive)
    if (invalidSource !== undefined) {
      this.#fail(invalidSource)
      return
    }

    if (typeof source === 'function') {
      try {
        const iterable = await source(new PumpContext<R>(this, input.lastEventId, input.request))
        this.#own(iterable)
        if (this.#ended) {
          // The stream ended while the source was being set up: release what it returned.
          this.#closeIterator()
          return
        }
      } catch (error) {
        this.#fail(error)
        return
      }
    }
    this.#pull()
  }

  /** Takes ownership of the source's iterator: a synchronous one directly, anything else as async. */
  #own(iterable: StreamIterable<T>): void {
    if (isSyncIterable(iterable)) this.#sync = iterable[Symbol.iterator]()
    else this.#iterator = toAsyncIterator(iterable)
  }

  /**
   * Asks the source for its next item, unless the sink is full (then waits for `drain()`, at most
   * `sendTimeout` ms). A stream that ends meanwhile does not wait for a source stuck in `await`:
   * teardown happens at once, and the late result is dropped by {@link Pump.#handleNext}.
   */
  #pull(): void {
    if (this.#ended) return
    if (!this.#sink.isReady()) {
      this.#waitingForDrain = true
      if (this.#sendTimeout !== false) this.#drainTimer = setTimeout(Pump.#sendTimedOut, this.#sendTimeout, this)
      return
    }
    if (this.#push !== undefined) {
      this.#pullPush(this.#push)
      return
    }
    if (this.#sync !== undefined) {
      this.#pullSync(this.#sync)
      return
    }
    const iterator = this.#iterator
    if (iterator === undefined) return
    try {
      const push = (iterator as Partial<PushCapable<T>>)[PUSH_SOURCE]?.()
      if (push !== undefined) {
        this.#push = push
        this.#pullPush(push)
        return
      }
      // After the stream ended, a late rejection lands here and is moot (often the AbortError
      // ctx.signal caused): `#fail` ignores it, and it is never an unhandled rejection.
      this.#onNext ??= (result: IteratorResult<T>) => this.#handleNext(result)
      this.#onNextError ??= (error: unknown) => this.#fail(error)
      iterator.next().then(this.#onNext, this.#onNextError)
    } catch (error) {
      this.#fail(error)
    }
  }

  /**
   * The push source has something again (called in a microtask after it arrived, see
   * push-source.ts). Never throws: `#pull` turns every failure into the stream's end.
   */
  wakeUp(): void {
    this.#pull()
  }

  /**
   * Synchronous source: pulls items at once and writes them in batches of up to the sink's
   * `room()` (at most {@link SYNC_BATCH_CHARS} characters), one `write` per batch rather than per item (and no
   * promise per item), while the sink can take more. Backpressure and `sendTimeout` work as for
   * any source: the sink's readiness is checked after every batch, and a full sink pauses the pump
   * until `drain()`. What was pulled before an error is written before the error is handled.
   */
  #pullSync(sync: Iterator<T>): void {
    const encoder = this.#encoder
    let batch = ''
    // Bounded work per call even for a sink that never fills (a microtask continues it).
    for (let batches = 0; batches < SYNC_BATCHES_PER_TURN; batches++) {
      let outcome: 'full' | 'done' = 'full'
      let failure: { error: unknown } | undefined
      const room = Math.min(SYNC_BATCH_CHARS, this.#sink.room())
      try {
        while (batch.length < room) {
          const result = sync.next()
          if (result.done) {
            outcome = 'done'
            break
          }
          const chunk = encoder.encode(result.value)
          if (typeof chunk === 'string') batch += chunk
          else {
            // Bytes are not concatenated: the batch so far goes out first, then the bytes as they are.
            if (!this.#writeBatch(batch)) return
            batch = ''
            if (!this.#writeBatch(chunk)) return
          }
        }
      } catch (error) {
        failure = { error }
      }
      if (!this.#writeBatch(batch)) return
      batch = ''
      if (failure !== undefined) {
        this.#fail(failure.error)
        return
      }
      if (outcome === 'done') {
        this.#finish('end')
        return
      }
      if (this.#ended || this.#sync !== sync) return
      if (!this.#sink.isReady()) {
        this.#pull() // waits for drain
        return
      }
    }
    this.#onWake ??= () => this.#pull()
    queueMicrotask(this.#onWake)
  }

  /**
   * A push source's queued items (a live channel subscription): the same batches, bounds and
   * backpressure as {@link Pump.#pullSync}, on the path every fan-out takes once per subscriber
   * per message. Usually one item is queued: it is written as it is, without asking the sink for
   * its room (two getters deep into the socket) and without a result object per item.
   */
  #pullPush(push: PushSource<T>): void {
    const encoder = this.#encoder
    for (let batches = 0; batches < SYNC_BATCHES_PER_TURN; batches++) {
      let batch = ''
      let room = 0
      try {
        for (let item = push.take(); item !== undefined; item = push.take()) {
          const chunk = encoder.encode(item)
          if (typeof chunk === 'string') batch += chunk
          else {
            // Bytes are not concatenated: the batch so far goes out first, then the bytes as they are.
            if (!this.#writeBatch(batch) || !this.#writeBatch(chunk)) return
            batch = ''
          }
          if (push.queued === 0) break
          // Sized only once a second item could join: the bound of #pullSync, from the same moment.
          if (room === 0) room = Math.min(SYNC_BATCH_CHARS, this.#sink.room())
          if (batch.length >= room) break
        }
      } catch (error) {
        // What was taken before the error goes out first, as with any source.
        if (this.#writeBatch(batch)) this.#fail(error)
        return
      }
      if (!this.#writeBatch(batch) || this.#push !== push) return
      if (push.queued === 0) {
        if (push.ended) this.#finish('end')
        else push.wait(this)
        return
      }
      if (!this.#sink.isReady()) {
        this.#pull() // waits for drain
        return
      }
    }
    this.#onWake ??= () => this.#pull()
    queueMicrotask(this.#onWake)
  }

  /** Writes one batch (nothing when empty); `false` when the stream has ended or the sink threw. */
  #writeBatch(chunk: string | Uint8Array): boolean {
    if (this.#ended) return false
    if (chunk.length === 0) return true
    try {
      this.#write(chunk)
      return !this.#ended
    } catch (error) {
      this.#encoder.report(error)
      this.#finish('error', { abort: true })
      return false
    }
  }

  /** Registers the one end listener (see {@link PumpContext}); `false` when it cannot. */
  registerEndListener(listener: StreamEndListener): boolean {
    if (this.#ended || this.#endListener !== undefined) return false
    this.#endListener = listener
    return true
  }

  /** `ctx.signal`, created on first read. */
  abortSignal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      // Read after the end: already aborted, as it would have been.
      if (this.#reason !== undefined) this.#controller.abort(endedError(this.#reason))
    }
    return this.#controller.signal
  }

  static #sendTimedOut<U, Q>(this: void, pump: Pump<U, Q>): void {
    pump.#drainTimer = undefined
    pump.#finish('send-timeout')
  }

  #handleNext(result: IteratorResult<T>): void {
    if (this.#ended) return
    let chunk: string | Uint8Array
    try {
      if (result.done) {
        this.#finish('end')
        return
      }
      chunk = this.#encoder.encode(result.value)
    } catch (error) {
      this.#fail(error)
      return
    }
    try {
      this.#write(chunk)
    } catch (error) {
      // A sink that throws (rather than reporting through its events) is in a state the pump
      // cannot write to any more: abort the connection, and say why.
      this.#encoder.report(error)
      this.#finish('error', { abort: true })
      return
    }
    this.#pull()
  }

  #closeIterator(): void {
    this.#push = undefined
    const sync = this.#sync
    this.#sync = undefined
    if (sync !== undefined) {
      // A sync generator's `finally` runs right here; a throw from it has no other outlet.
      try {
        sync.return?.()
      } catch (error) {
        this.#encoder.report(error)
      }
      return
    }
    const current = this.#iterator
    this.#iterator = undefined
    if (current?.return === undefined) return
    // Not awaited: the socket is released first, whatever the source does. An async generator
    // suspended at `yield` runs its `finally` right away; one blocked in `await` runs it when that
    // promise settles, which `ctx.signal` (aborted just before) lets the source make immediate.
    const encoder = this.#encoder
    try {
      Promise.resolve(current.return()).then(undefined, (error: unknown) => encoder.report(error))
    } catch (error) {
      encoder.report(error)
    }
  }

  /**
   * The one teardown path: runs once, whatever ended the stream. `release` says how the connection
   * is let go: aborted (the client is gone or stalled, or a byte stream failed), or ended cleanly
   * after an optional last chunk (the source's end, the `onError` event, the shutdown `retry:`).
   */
  #finish(reason: StreamEndReason, release: Release = this.#defaultRelease(reason)): void {
    if (this.#ended) return
    this.#ended = true
    this.#reason = reason
    unwatchIdle(this)
    clearTimeout(this.#drainTimer)
    this.#drainTimer = undefined
    this.#waitingForDrain = false
    this.#signal?.removeEventListener('abort', this)
    this.#controller?.abort(endedError(reason))
    const endListener = this.#endListener
    this.#endListener = undefined
    try {
      endListener?.handleEvent()
    } catch (error) {
      this.#encoder.report(error)
    }
    this.#closeIterator()

    const sink = this.#sink
    const sendTimeout = this.#sendTimeout
    let released: Promise<void>
    if (release.abort) {
      sink.destroy(new Error(ABORT_MESSAGES[reason].replace('%', String(sendTimeout))), reason === 'disconnect')
      released = Promise.resolve()
    } else {
      // One bounded chunk, written even into a full buffer; the flush below is bounded anyway.
      if (release.last !== undefined) sink.write(release.last)
      released = endWithin(sink, sendTimeout)
    }
    void released.then(() => {
      try {
        this.#onClose?.(reason)
      } catch (error) {
        this.#encoder.report(error)
      }
      this.#resolve()
    })
  }

  #defaultRelease(reason: StreamEndReason): Release {
    if (reason === 'disconnect' || reason === 'send-timeout') return { abort: true }
    return { abort: false, last: reason === 'shutdown' ? this.#encoder.shutdownChunk() : undefined }
  }

  #fail(error: unknown): void {
    if (this.#ended) return // an error while tearing down (e.g. the AbortError ctx.signal caused) is expected
    let outcome: ReturnType<StreamEncoder<T>['fail']>
    try {
      outcome = this.#encoder.fail(error)
    } catch (onErrorFailure) {
      this.#encoder.report(onErrorFailure)
      outcome = { mode: 'final', chunk: undefined }
    }
    this.#finish('error', outcome.mode === 'abort' ? { abort: true } : { abort: false, last: outcome.chunk })
  }
}

/**
 * The most characters a synchronous source's batch collects before it is written (a Node
 * response's default `highWaterMark`, 16 KiB), and how many batches one call writes before it lets
 * other work run. Both bound the work and memory of one pull, whatever the sink says.
 */
const SYNC_BATCH_CHARS = 16 * 1024
const SYNC_BATCHES_PER_TURN = 4

/**
 * A stream's source context. A class, so every stream's context has the same shape: `signal` is an
 * own, enumerable accessor (so `{ ...ctx }` keeps it) whose getter is one shared function, and
 * `[STREAM_END]` lives on the prototype. (An object literal with a getter per stream would get a
 * hidden class of its own each time: hundreds of bytes per open stream, issue 7.) The getter
 * creates the `AbortController` on first read; a context handed on as is to a channel registers
 * through `STREAM_END` and never needs one.
 */
class PumpContext<R> implements StreamContext<R>, StreamEndNotifier {
  declare readonly signal: AbortSignal
  declare readonly lastEventId: string | undefined
  declare readonly request: R
  readonly #pump: { abortSignal(): AbortSignal; registerEndListener(listener: StreamEndListener): boolean }

  static readonly #signalProperty: PropertyDescriptor = {
    get(this: PumpContext<unknown>): AbortSignal {
      return this.#pump.abortSignal()
    },
    enumerable: true,
    configurable: true,
  }

  constructor(
    pump: { abortSignal(): AbortSignal; registerEndListener(listener: StreamEndListener): boolean },
    lastEventId: string | undefined,
    request: R,
  ) {
    this.#pump = pump
    Object.defineProperty(this, 'signal', PumpContext.#signalProperty)
    this.lastEventId = lastEventId
    this.request = request
  }

  /** Only the context itself registers: a copy such as `{ ...ctx, signal }` may carry another signal. */
  [STREAM_END](listener: StreamEndListener, options: object): boolean {
    return options === this && this.#pump.registerEndListener(listener)
  }
}

function isSyncIterable<T>(value: StreamIterable<T>): value is Iterable<T> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !isReadableStream<T>(value) &&
    !(Symbol.asyncIterator in value) &&
    Symbol.iterator in value
  )
}

function endedError(reason: StreamEndReason): DOMException {
  return new DOMException(`The stream ended (${reason})`, 'AbortError')
}

type Release = { readonly abort: true } | { readonly abort: false; readonly last: string | undefined }

const ABORT_MESSAGES: Record<StreamEndReason, string> = {
  end: 'The stream ended',
  disconnect: 'The client disconnected',
  error: 'The stream source failed',
  shutdown: 'The server is shutting down',
  'send-timeout': 'A write could not drain within sendTimeout (% ms)',
}

/** Ends the sink, aborting it if the final flush does not complete within `sendTimeout`. */
function endWithin(sink: PumpSink, sendTimeout: number | false): Promise<void> {
  const flushed = sink.end()
  if (sendTimeout === false) return flushed
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      sink.destroy(new Error(`The final flush did not complete within sendTimeout (${sendTimeout} ms)`), false)
      resolve()
    }, sendTimeout)
  })
  return Promise.race([flushed, timedOut]).then(() => clearTimeout(timer))
}

/**
 * An async iterator over any supported iterable. A `ReadableStream` is read through its own reader
 * so `return()` cancels it at once, even while a read is pending (its built-in async iterator
 * would wait for that read first).
 */
export function toAsyncIterator<T>(iterable: StreamIterable<T>): AsyncIterator<T> {
  if (typeof iterable !== 'object' || iterable === null) {
    throw new TypeError(
      `A stream source must be an (async) iterable or a function returning one, got ${typeof iterable}`,
    )
  }
  if (isReadableStream<T>(iterable)) return readerIterator(iterable)
  if (Symbol.asyncIterator in iterable) return iterable[Symbol.asyncIterator]()
  if (Symbol.iterator in iterable) {
    const sync = iterable[Symbol.iterator]()
    return {
      next: async () => sync.next(),
      return: async (value?: unknown) => sync.return?.(value) ?? { done: true, value: undefined },
    }
  }
  throw new TypeError('A stream source must be an (async) iterable or a function returning one')
}

function isReadableStream<T>(value: object): value is ReadableStream<T> {
  return typeof (value as { getReader?: unknown }).getReader === 'function'
}

function readerIterator<T>(stream: ReadableStream<T>): AsyncIterator<T> {
  const reader = stream.getReader()
  return {
    async next() {
      const { done, value } = await reader.read()
      return done ? { done: true, value: undefined } : { done: false, value }
    },
    async return() {
      // cancel() settles a pending read() with done, and releases the underlying source. It
      // rejects only when the stream has already errored, with that same stored error: it was
      // either delivered by next() already or caused by this teardown (e.g. the client left), so it
      // is not reported a second time as a cleanup failure.
      await reader.cancel().then(undefined, (alreadyErrored: unknown) => alreadyErrored)
      return { done: true, value: undefined }
    },
  }
}

/** `Last-Event-ID` header first, then the `lastEventId` query parameter; empty means none. */
export function resolveLastEventId(header: string | null | undefined, url: string): string | undefined {
  if (header) return decodeUtf8Header(header)
  const query = url.indexOf('?')
  if (query === -1) return undefined
  const fromQuery = new URLSearchParams(url.slice(query + 1)).get('lastEventId')
  return fromQuery ? fromQuery : undefined
}

/** Defaults, then the user's headers over them (case-insensitively; `set-cookie` accumulates). */
export function mergeHeaders(defaults: Record<string, string>, user: HeadersInit | undefined): Headers {
  const headers = new Headers(defaults)
  if (user === undefined) return headers
  for (const [name, value] of new Headers(user)) {
    if (name === 'set-cookie') headers.append(name, value)
    else headers.set(name, value)
  }
  return headers
}

/**
 * Clients send `Last-Event-ID` as UTF-8 bytes (the SSE spec's id is any string), but both Node and
 * the Fetch `Headers` hand header values over as one character per byte (Latin-1). Undo that so a
 * non-ASCII id round-trips; a value that is not valid UTF-8 was really Latin-1 and stays as it is.
 */
function decodeUtf8Header(value: string): string {
  let ascii = true
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code > 0xff) return value // already decoded text, not a byte string
    if (code > 0x7f) ascii = false
  }
  if (ascii) return value
  const bytes = Uint8Array.from(value, (char) => char.charCodeAt(0))
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    // Not UTF-8 (TextDecoder's only failure here): the client sent Latin-1, which the value already is.
    return value
  }
}

const NULL_BODY_STATUSES = new Set([204, 205, 304])

/** Validates the options every helper shares; misuse is a `TypeError` that names the option. */
export function checkServeOptions(options: ServeOptions): { status: number; sendTimeout: number | false } {
  const status = options.status ?? 200
  // 204, 205 and 304 responses cannot have a body (the Fetch `Response` constructor throws for them).
  if (!Number.isInteger(status) || status < 200 || status > 599 || NULL_BODY_STATUSES.has(status)) {
    throw new TypeError(
      `\`status\` must be an integer from 200 to 599 that allows a body (not 204, 205 or 304), got ${String(options.status)}`,
    )
  }
  const sendTimeout = options.sendTimeout ?? DEFAULT_SEND_TIMEOUT
  if (sendTimeout !== false && !(typeof sendTimeout === 'number' && sendTimeout > 0 && sendTimeout <= 2 ** 31 - 1)) {
    throw new TypeError(
      `\`sendTimeout\` must be a positive number of milliseconds or false, got ${String(sendTimeout)}`,
    )
  }
  return { status, sendTimeout }
}
