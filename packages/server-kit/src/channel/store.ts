/**
 * A message as a channel hands it out: the id the store assigned, the optional SSE event type and the
 * data, shaped like the messages `formatEvent` takes, so a subscription can be the `source` of
 * `sendEventStream` / `eventStreamResponse` as it is.
 */
export interface ChannelMessage<T = unknown> {
  /** Assigned by the store on append; strictly increasing in the store's own order. */
  readonly id: string
  /** SSE event type; absent means the default `message` type. */
  readonly event?: string
  readonly data: T
}

/** What {@link ChannelStore.append} is given: a message before the store assigned its id. */
export interface ChannelMessageInit<T = unknown> {
  readonly event?: string
  readonly data: T
}

/**
 * Why a read could not continue exactly after the id asked for:
 * - `trimmed`: the id was valid but messages after it have already left the retained history;
 * - `unknown`: the store never assigned this id (another server instance, a restart, a forged id).
 */
export type ChannelGapReason = 'trimmed' | 'unknown'

/** The answer of {@link ChannelStore.readAfter}. */
export interface ChannelStoreRead<T = unknown> {
  /**
   * Messages after the id asked for, oldest first, at most `limit`. When `gap` is set, these start at
   * the oldest message still retained instead.
   */
  readonly messages: readonly ChannelMessage<T>[]
  /** Set when the messages do not follow the id asked for without a hole. */
  readonly gap?: ChannelGapReason
}

/**
 * The retained history of a channel. The channel calls `append` once per publish and `readAfter` to
 * replay history to a subscriber that resumes; both may return promises, so a shared store (Redis
 * Streams: `XADD` assigns the id, `XRANGE (id + COUNT limit` reads after it, `MAXLEN ~` trims) can
 * implement it. {@link createMemoryStore} is the default.
 *
 * Contract: ids are strings, assigned by `append` in a strict order that `compare` tells;
 * `readAfter(id, limit)` returns the messages appended after `id`, oldest first, and reports through
 * `gap` when it cannot (the id is unknown or already trimmed).
 *
 * @example
 * ```ts
 * const channel = createChannel({ store: createMemoryStore({ maxSize: 5000 }) })
 * ```
 */
export interface ChannelStore<T = unknown> {
  /** Stores a message and returns the id it assigned. */
  append(message: ChannelMessageInit<T>): string | Promise<string>
  /** Messages after `lastEventId`, oldest first, at most `limit` (a positive integer). */
  readAfter(lastEventId: string, limit: number): ChannelStoreRead<T> | Promise<ChannelStoreRead<T>>
  /**
   * Orders two ids this store assigned: negative when `a` came first, 0 when equal, positive
   * after. The channel needs it because, with an asynchronous store, a message can be visible to a
   * replay read before (or after) it reaches the live fan-out; comparing ids is what lets it drop
   * the copy it already delivered, whatever the timing.
   */
  compare(a: string, b: string): number
  /**
   * Optional: tells the channel about every message appended to the store by anyone (for example,
   * other processes on a shared store), in append order, and returns a function that stops it. When
   * present, the channel fans out what `watch` reports instead of its own publishes, so subscribers
   * of every process see every message once.
   *
   * A store that may miss appends while it is cut off from the shared history (a lost connection,
   * a restart that lost data) calls `onInterrupt`: the channel then ends every current subscription
   * cleanly, so each client reconnects and resumes from its last id through `readAfter`, which
   * replays what it missed or reports the gap.
   */
  watch?(onMessage: (message: ChannelMessage<T>) => void, onInterrupt?: (error: unknown) => void): () => void
}

/**
 * A {@link ChannelStore} that answers synchronously, like {@link createMemoryStore}. A channel on a
 * synchronous store publishes synchronously: `publish()` returns the id itself, not a promise.
 */
export interface SyncChannelStore<T = unknown> extends ChannelStore<T> {
  append(message: ChannelMessageInit<T>): string
  readAfter(lastEventId: string, limit: number): ChannelStoreRead<T>
}

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How many of the most recent messages are kept for replay (a ring buffer: the oldest is dropped
   * when a new one arrives). Default 1000: about 1 MB at 1 KB per message, enough for a client to
   * come back after a few seconds of disconnection at hundreds of messages per second. `0` keeps no
   * history (resuming is still exact when nothing was published meanwhile).
   */
  maxSize?: number
  /**
   * The first id assigned (a positive safe integer). Default: the current time in microseconds
   * (`Date.now() * 1000`), so ids keep increasing across restarts: after a deploy, a client that
   * resumes from an id of the previous run gets the gap signal (`trimmed`) instead of silently
   * resuming in the middle of the new run's unrelated messages. (This holds unless the previous
   * run averaged more than a million messages per second.) Pass `1` for small ids, e.g. in tests.
   */
  firstId?: number
}

/** Default {@link MemoryStoreOptions.maxSize}. */
export const DEFAULT_MEMORY_STORE_SIZE = 1000

/** Canonical decimal form only ("7", not "07" or "7.0"), so one id has exactly one spelling. */
const CANONICAL_ID = /^(?:0|[1-9]\d{0,15})$/

/**
 * The default {@link ChannelStore}: the last `maxSize` messages of one process, in a ring buffer.
 * Ids are consecutive decimal integers from `firstId` (time-based by default, so a restarted process
 * never reuses an id of the previous run). Another instance has ids of its own: when clients may
 * resume against any of several instances, use a shared store.
 *
 * @example
 * ```ts
 * const store = createMemoryStore({ maxSize: 100, firstId: 1 })
 * const id = store.append({ data: 'hello' }) // "1"
 * store.readAfter('0', 10) // { messages: [{ id: '1', data: 'hello' }] }
 * ```
 */
export function createMemoryStore<T = unknown>(options: MemoryStoreOptions = {}): SyncChannelStore<T> {
  const maxSize = options.maxSize ?? DEFAULT_MEMORY_STORE_SIZE
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw new TypeError(`createMemoryStore: maxSize must be a non-negative integer, got ${String(options.maxSize)}`)
  }
  const first = options.firstId ?? Date.now() * 1000
  if (!Number.isSafeInteger(first) || first < 1) {
    throw new TypeError(`createMemoryStore: firstId must be a positive integer, got ${String(options.firstId)}`)
  }
  // ring[(seq - first) % maxSize] holds message number seq; messages oldest..last are retained.
  // Filled from index 0 and grown as messages arrive, so a store that stays small (a resumable
  // answer of 100 tokens under a 10,000 bound) costs what it holds, not its bound.
  const ring: ChannelMessage<T>[] = []
  const slot = (seq: number) => (seq - first) % maxSize
  let last = first - 1

  return {
    append(message) {
      last += 1
      const stored: ChannelMessage<T> = Object.freeze(
        message.event === undefined
          ? { id: String(last), data: message.data }
          : { id: String(last), event: message.event, data: message.data },
      )
      if (maxSize > 0) ring[slot(last)] = stored
      return stored.id
    },

    compare(a, b) {
      return Number(a) - Number(b)
    },

    readAfter(lastEventId, limit) {
      const oldest = Math.max(first, last - maxSize + 1)
      const from = (start: number, gap?: ChannelGapReason): ChannelStoreRead<T> => {
        const end = Math.min(last, start + limit - 1)
        const messages: ChannelMessage<T>[] = []
        for (let seq = start; seq <= end; seq++) messages.push(ring[slot(seq)]!)
        return gap === undefined ? { messages } : { messages, gap }
      }
      if (!CANONICAL_ID.test(lastEventId)) return from(oldest, 'unknown')
      const after = Number(lastEventId)
      // An id this store has not assigned yet: from another instance, or forged. Replaying from it
      // would silently skip or repeat messages.
      if (after > last) return from(oldest, 'unknown')
      // Older than the history, including every id of a previous run (they are all below `first`).
      if (after + 1 < oldest) return from(oldest, 'trimmed')
      return from(after + 1)
    },
  }
}
