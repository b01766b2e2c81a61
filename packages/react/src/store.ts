import type { Connection, ConnectionSnapshot } from '@sluice/client'
import type { EntryMember } from './shared.js'
import type { StreamState, Throttle } from './types.js'

/**
 * How a hook turns messages into `data`. `state` is private to the store and may be mutable (the
 * NDJSON accumulator pushes into one array); `view` makes the immutable value that is published.
 */
export interface Fold<TMessage, TState, TData> {
  /** The state before the first message; `seed` is the connection's snapshot when joining a live one. */
  initial(seed: ConnectionSnapshot<unknown> | undefined): TState
  step(state: TState, message: TMessage): TState
  view(state: TState): TData
}

/**
 * The fold of a hook given `reduce` and `initialState` (the same for every hook): the state is the
 * user's, published as it is. `initialState` is read when a connection starts, `reduce` per message.
 */
export function reducerFold<TMessage, TState>(
  reduce: (state: TState, message: TMessage) => TState,
  initialState: TState | undefined,
): Fold<TMessage, unknown, unknown> {
  return {
    initial: () => initialState,
    step: (state, message) => reduce(state as TState, message),
    view: (state) => state,
  }
}

/** What the store reads from the component on each message (a ref: always the latest render's). */
export interface StoreConfig<TMessage, TState, TData> {
  readonly fold: Fold<TMessage, TState, TData>
  readonly throttle: Throttle
  readonly onMessage: ((message: TMessage) => void) | undefined
  /** The component's raw options, for the connection's ref-read callbacks. */
  readonly options: Readonly<Record<string, unknown>>
}

/** A published snapshot, tagged with the identity of the connection it describes. */
export interface StoreSnapshot<TData> extends StreamState<TData> {
  readonly identity: string
  /** An exception thrown by `reduce` / `onMessage`: rethrown during render, like a reducer of `useReducer`. */
  readonly thrown: { readonly error: unknown } | undefined
}

/** Same interval `'frame'` uses where `requestAnimationFrame` does not exist (SSR, workers, Node). */
const FRAME_FALLBACK_MS = 16

/**
 * The external store behind one hook call (`useSyncExternalStore`).
 *
 * Messages come from `connection.listen()` — every one, synchronously — and are folded at once, so
 * React's batching cannot drop any. Rendering is driven by *publishing* a new snapshot object, which
 * the throttle rate-limits; between publishes `getSnapshot()` returns the very same object, so a
 * throttled store never triggers "Maximum update depth exceeded".
 *
 * Each `attach` unsubscribes from the previous connection. A callback of it may still fire once: the
 * client delivers a message to a copy of its listener list, so when an earlier listener (another
 * component sharing the key, through `onMessage`) replaced the connection, the later ones still get
 * that message. The store folds it only if its state goes on (`reset: false`: the message arrived
 * before the replacement, and every member must fold it); when the state started over (a new URL or
 * options, a detach) it belongs to a replaced connection and is dropped, so a replaced connection
 * never writes into its successor's state.
 */
export class StreamStore<TMessage, TState, TData> implements EntryMember<TMessage> {
  readonly #config: () => StoreConfig<TMessage, TState, TData>
  readonly #listeners = new Set<() => void>()
  #snapshot: StoreSnapshot<TData> | null = null
  #identity = ''
  #connection: Connection<TMessage, unknown> | null = null
  #isPaused: () => boolean = () => false
  /** Counts state restarts (a reset `attach`, `detach`): a delivery from before one is dropped. */
  #epoch = 0
  #unsubscribe: (() => void) | undefined
  #state: TState | undefined
  #stateChanged = false
  #data: TData | undefined
  #thrown: { readonly error: unknown } | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  #frame: number | undefined
  /** The `throttle` the pending timer or frame was scheduled with. */
  #scheduledWith: Throttle | undefined
  #lastPublish = Number.NEGATIVE_INFINITY

  constructor(config: () => StoreConfig<TMessage, TState, TData>) {
    this.#config = config
  }

  /** For `useSyncExternalStore`. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  /** `null` until a connection is attached: the hook then renders its initial snapshot. */
  readonly getSnapshot = (): StoreSnapshot<TData> | null => this.#snapshot

  /** The server never attaches a connection (effects do not run there). */
  readonly getServerSnapshot = (): StoreSnapshot<TData> | null => null

  /** The connection currently followed (for `send`). */
  get connection(): Connection<TMessage, unknown> | null {
    return this.#connection
  }

  /** Starts following an entry's connections under `identity`; `isPaused` reports `pauseWhenHidden`. */
  begin(identity: string, isPaused: () => boolean): void {
    this.#identity = identity
    this.#isPaused = isPaused
  }

  currentOptions(): Readonly<Record<string, unknown>> {
    return this.#config().options
  }

  attach(connection: Connection<TMessage, unknown> | null, reset: boolean): void {
    this.#release()
    this.#connection = connection
    if (reset || this.#snapshot === null) {
      this.#epoch++
      this.#state = this.#config().fold.initial(connection?.getSnapshot())
      this.#stateChanged = true
      this.#thrown = undefined
    }
    if (connection !== null) {
      const epoch = this.#epoch
      const stopListening = connection.listen((message) => {
        if (epoch === this.#epoch) this.#onMessage(message)
      })
      // No check needed here: #onChange reads the connection followed now, whoever calls it.
      const stopSubscription = connection.subscribe(() => this.#onChange())
      this.#unsubscribe = () => {
        stopListening()
        stopSubscription()
      }
    }
    this.#publish()
  }

  /** Stops following any connection: no callback, timer or frame of this store survives it. */
  detach(): void {
    this.#release()
    this.#epoch++
    this.#connection = null
    // No notification: the component is unmounting or already renders another identity.
    this.#snapshot = null
  }

  #release(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.#cancelScheduled()
  }

  #onMessage(message: TMessage): void {
    if (this.#thrown !== undefined) return
    const config = this.#config()
    try {
      this.#state = config.fold.step(this.#state as TState, message)
      this.#stateChanged = true
      config.onMessage?.(message)
    } catch (error) {
      // A throwing reducer is a bug in the component; surface it where React surfaces render
      // errors (the error boundary) instead of inside the client's delivery loop.
      this.#thrown = { error }
      this.#publish()
      return
    }
    this.#schedule()
  }

  #onChange(): void {
    const previous = this.#snapshot
    const next = this.#connection?.getSnapshot()
    if (
      previous === null ||
      next === undefined ||
      this.#status(next) !== previous.status ||
      next.error !== previous.error ||
      next.attempt !== previous.attempt
    ) {
      // Lifecycle changes are rare and meaningful (spinners, banners): never delayed.
      this.#publish()
    } else if (next.lastEventId !== previous.lastEventId) {
      // Moves with every message: it rides along with the throttled data.
      this.#schedule()
    }
  }

  #status(snapshot: ConnectionSnapshot<unknown> | undefined): StreamState<TData>['status'] {
    if (this.#isPaused()) return 'idle'
    // No connection while attached and not paused: the user closed it before it ever opened.
    return snapshot?.status ?? 'closed'
  }

  /**
   * The component rendered with options that may carry another `throttle`. A publish pending under
   * the old one is scheduled again under the new one, so lowering it (e.g. from a slow background
   * rate back to `'frame'`) shows the folded messages now, not when the old interval ends.
   */
  throttleChanged(): void {
    if (this.#timer === undefined && this.#frame === undefined) return
    if (this.#config().throttle === this.#scheduledWith) return
    this.#cancelScheduled()
    this.#schedule()
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#frame !== undefined) return
    const { throttle } = this.#config()
    this.#scheduledWith = throttle
    if (throttle === 'frame' && typeof requestAnimationFrame === 'function') {
      this.#frame = requestAnimationFrame(() => {
        this.#frame = undefined
        this.#publish()
      })
      return
    }
    const interval = throttle === 'frame' ? FRAME_FALLBACK_MS : throttle
    const wait = this.#lastPublish + interval - Date.now()
    if (!(wait > 0)) {
      this.#publish()
      return
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#publish()
    }, wait)
  }

  #cancelScheduled(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#frame !== undefined && typeof cancelAnimationFrame === 'function') cancelAnimationFrame(this.#frame)
    this.#timer = undefined
    this.#frame = undefined
  }

  #publish(): void {
    this.#cancelScheduled()
    const connection = this.#connection?.getSnapshot()
    if (this.#stateChanged) {
      this.#data = this.#config().fold.view(this.#state as TState)
      this.#stateChanged = false
    }
    const previous = this.#snapshot
    const next: StoreSnapshot<TData> = {
      identity: this.#identity,
      status: this.#status(connection),
      data: this.#data as TData,
      error: connection?.error,
      attempt: connection?.attempt ?? 0,
      lastEventId: connection?.lastEventId ?? previous?.lastEventId ?? '',
      thrown: this.#thrown,
    }
    this.#lastPublish = Date.now()
    if (previous !== null && sameSnapshot(previous, next)) return
    this.#snapshot = next
    for (const listener of [...this.#listeners]) listener()
  }
}

function sameSnapshot<TData>(a: StoreSnapshot<TData>, b: StoreSnapshot<TData>): boolean {
  return (
    a.identity === b.identity &&
    a.status === b.status &&
    Object.is(a.data, b.data) &&
    a.error === b.error &&
    a.attempt === b.attempt &&
    a.lastEventId === b.lastEventId &&
    a.thrown === b.thrown
  )
}
