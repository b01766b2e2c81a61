import { SluiceError } from '@sluice/client'
import { PUSH_SOURCE, type PushCapable, type PushConsumer, type PushSource } from '../push-source.js'
import { STREAM_END, type StreamEndNotifier } from '../stream-end.js'
import type {
  ChannelGapReason,
  ChannelMessage,
  ChannelMessageInit,
  ChannelStore,
  ChannelStoreRead,
  SyncChannelStore,
} from './store.js'
import { createMemoryStore } from './store.js'

/**
 * The event type of the in-band message that tells a subscriber its `lastEventId` could not be
 * resumed exactly (it is older than the retained history, or unknown). It is a normal SSE event, so
 * a browser's native `EventSource` sees it: `source.addEventListener('sluice-gap', reload)`. Its data
 * is a {@link ChannelGapData}; the messages that follow start at the oldest retained one. Publishing
 * with this event type is refused.
 */
export const GAP_EVENT = 'sluice-gap'

/** Data of the {@link GAP_EVENT} message. */
export interface ChannelGapData {
  /** The id the subscriber asked to resume after. */
  readonly lastEventId: string
  /** `trimmed`: messages after it were dropped from the history; `unknown`: never assigned here. */
  readonly reason: ChannelGapReason
  /** Id of the first message that follows the gap, or `null` when only live messages follow. */
  readonly nextId: string | null
}

/**
 * The in-band gap signal. It carries no `id`, so a client's last event ID stays the one it had until
 * the next real message.
 */
export interface ChannelGapMessage {
  readonly id?: undefined
  readonly event: typeof GAP_EVENT
  readonly data: ChannelGapData
}

/** What a subscription yields: published messages, and possibly one gap signal first. */
export type ChannelEvent<T = unknown> = ChannelMessage<T> | ChannelGapMessage

/** Options of {@link Channel.publish}. */
export interface PublishOptions {
  /** SSE event type. Must not contain CR or LF, and must not be {@link GAP_EVENT}. */
  event?: string
}

/** Options of {@link Channel.subscribe}. */
export interface SubscribeOptions {
  /**
   * Resume after this id (the `Last-Event-ID` a reconnecting client sends): every retained message
   * after it is replayed, then live ones follow with no gap and no duplicate. Absent: live only.
   */
  lastEventId?: string | undefined
  /** Aborting ends the subscription (pass the request's or the stream's signal). */
  signal?: AbortSignal | undefined
}

/**
 * A live subscription: an async iterator of {@link ChannelEvent}s. Calling `return()` (what
 * `for await` does on `break`, and what the stream pump does when the client leaves) removes the
 * subscriber at once, even while it waits for the next message.
 */
export interface ChannelSubscription<T = unknown> extends AsyncIterableIterator<ChannelEvent<T>, undefined, undefined> {
  next(): Promise<IteratorResult<ChannelEvent<T>, undefined>>
  return(): Promise<IteratorResult<ChannelEvent<T>, undefined>>
  [Symbol.asyncIterator](): ChannelSubscription<T>
}

/** Options of {@link createChannel}. */
export interface ChannelOptions<T = unknown> {
  /** Retained history for replay. Default: `createMemoryStore()` (the last 1000 messages). */
  store?: ChannelStore<T>
  /**
   * How many messages may wait for one subscriber that is not pulling (a slow client). Past it the
   * subscriber is ended normally: it is unregistered at once, takes no new message, delivers the
   * `maxQueue` already queued, then its iterator returns, its response closes, and the client
   * reconnects and resumes from its last id (Mercure's policy) instead of the server buffering
   * without bound. Default 500: queued messages are shared references, so this costs pointers; and
   * it is half the default history, so an ended subscriber can usually still resume exactly.
   */
  maxQueue?: number
  /** How many messages one replay read asks the store for. Default 100. */
  replayPageSize?: number
}

/**
 * A fan-out point with replay. `TPublished` is what `publish` returns: the id itself on a
 * synchronous store (the default), a promise of it on an asynchronous one.
 */
export interface Channel<T = unknown, TPublished extends string | Promise<string> = string> {
  /**
   * Appends a message to the history and delivers it to every subscriber; returns its id. Throws
   * `TypeError` for an invalid `event` or data that JSON cannot encode, and `SluiceError` with code
   * `CHANNEL_CLOSED` after {@link Channel.close}.
   */
  publish(data: T, options?: PublishOptions): TPublished
  /**
   * Subscribes from now on (live only) or, with `lastEventId`, from just after that id. The
   * subscriber is registered at once, so nothing published after this call is missed even before
   * the first `next()`. After `close()` it returns an already-ended subscription.
   */
  subscribe(options?: SubscribeOptions): ChannelSubscription<T>
  /** Subscribers currently registered. */
  readonly subscriberCount: number
  /** `true` after {@link Channel.close}. */
  readonly closed: boolean
  /**
   * Ends every subscription cleanly (each first delivers what was already queued for it, if it had
   * caught up with the history) and refuses further publishes. Idempotent.
   */
  close(): void
}

/** Default {@link ChannelOptions.maxQueue}. */
export const DEFAULT_CHANNEL_MAX_QUEUE = 500
const DEFAULT_REPLAY_PAGE_SIZE = 100

/**
 * Creates a channel: publish once, deliver to every subscriber, and let a reconnecting subscriber
 * resume from its last id.
 *
 * @example
 * ```ts
 * const chat = createChannel<{ user: string; text: string }>()
 * // node:http / Express / Fastify (reply.raw):
 * app.get('/chat', (req, res) =>
 *   sendEventStream(req, res, ({ lastEventId, signal }) => chat.subscribe({ lastEventId, signal })),
 * )
 * chat.publish({ user: 'ada', text: 'hi' }, { event: 'chat' }) // the id, e.g. "1763775123456000"
 * ```
 */
export function createChannel<T = unknown>(
  options?: ChannelOptions<T> & { store?: SyncChannelStore<T> },
): Channel<T, string>
/**
 * A channel on an asynchronous store (e.g. `@sluice/server-kit/redis`): `publish` returns a promise
 * of the id, which rejects when the store cannot append.
 *
 * @example
 * ```ts
 * const chat = createChannel({ store: createRedisStore({ client, key: 'chat' }) })
 * const id = await chat.publish({ text: 'hi' })
 * ```
 */
export function createChannel<T = unknown>(
  options: ChannelOptions<T> & { store: ChannelStore<T> },
): Channel<T, Promise<string>>
export function createChannel<T = unknown>(options: ChannelOptions<T> = {}): Channel<T, string | Promise<string>> {
  return new ChannelImpl<T>(options)
}

const isPositiveInteger = (value: number) => Number.isSafeInteger(value) && value > 0

class ChannelImpl<T> implements Channel<T, string | Promise<string>> {
  readonly #store: ChannelStore<T>
  readonly #maxQueue: number
  readonly #pageSize: number
  /** Registered subscribers, in no particular order (see {@link Subscriber}'s `#slot`). */
  readonly #subscribers: Subscriber<T>[] = []
  #closed = false
  /** Set once the store answered asynchronously: from then on fan-out follows publish order. */
  #chain: Promise<unknown> | undefined
  readonly #unwatch: (() => void) | undefined

  constructor(options: ChannelOptions<T>) {
    this.#maxQueue = options.maxQueue ?? DEFAULT_CHANNEL_MAX_QUEUE
    this.#pageSize = options.replayPageSize ?? DEFAULT_REPLAY_PAGE_SIZE
    if (!isPositiveInteger(this.#maxQueue)) {
      throw new TypeError(`createChannel: maxQueue must be a positive integer, got ${String(options.maxQueue)}`)
    }
    if (!isPositiveInteger(this.#pageSize)) {
      throw new TypeError(
        `createChannel: replayPageSize must be a positive integer, got ${String(options.replayPageSize)}`,
      )
    }
    this.#store = options.store ?? createMemoryStore<T>()
    this.#unwatch = this.#store.watch?.(
      (message) => this.#fanOut(message, false),
      () => this.#interrupt(),
    )
  }

  get subscriberCount(): number {
    return this.#subscribers.length
  }

  get closed(): boolean {
    return this.#closed
  }

  publish(data: T, options?: PublishOptions): string | Promise<string> {
    if (this.#closed) {
      throw new SluiceError('CHANNEL_CLOSED', 'Cannot publish: the channel is closed (close() was called)')
    }
    const event = options?.event
    assertPublishable(data, event)
    const init: ChannelMessageInit<T> = event === undefined ? { data } : { event, data }
    // A store that reports appends itself (shared across processes) is the one source of fan-out.
    if (this.#unwatch !== undefined) return this.#store.append(init)

    if (this.#chain === undefined) {
      const appended = this.#store.append(init)
      if (typeof appended === 'string') {
        // Just appended synchronously: its id is above every id any subscriber holds.
        this.#fanOut(freezeMessage(appended, init), true)
        return appended
      }
      return this.#enqueue(appended, init)
    }
    // Once asynchronous, appends run one at a time so that subscribers receive messages in id
    // order: two overlapping appends could otherwise resolve (and fan out) out of order.
    return this.#enqueue(
      this.#chain.then(() => this.#store.append(init)),
      init,
    )
  }

  #enqueue(appended: Promise<string>, init: ChannelMessageInit<T>): Promise<string> {
    const published = appended.then((id) => {
      this.#fanOut(freezeMessage(id, init), false)
      return id
    })
    // The caller sees a failed append through `published`; the chain only orders later publishes.
    this.#chain = published.then(
      () => undefined,
      () => undefined,
    )
    return published
  }

  /** `newest`: the id is known to be above every id queued or delivered, so no duplicate check. */
  #fanOut(message: ChannelMessage<T>, newest: boolean): void {
    // An index loop over an array: this runs once per message per subscriber (issue 6, fan-out),
    // and the iterator protocol over a Set costs more than the push itself.
    const subscribers = this.#subscribers
    for (let i = 0; i < subscribers.length; i++) {
      const subscriber = subscribers[i]!
      subscriber.push(message, newest)
      // One that overflowed removed itself, and the last one moved into its slot: visit that one too.
      if (subscribers[i] !== subscriber) i--
    }
  }

  subscribe(options: SubscribeOptions = {}): ChannelSubscription<T> {
    const { lastEventId } = options
    // Without lastEventId there is no replay: the subscriber is live from the start.
    const subscriber = new Subscriber<T>(this.#store, this.#maxQueue, this.#subscribers, lastEventId === undefined)
    // Given a stream's context itself, the pump tells the subscriber when the stream ends, so the
    // context never has to create its AbortSignal (see stream-end.ts); otherwise, the signal.
    const notifier = (options as SubscribeOptions & Partial<StreamEndNotifier>)[STREAM_END]
    if (this.#closed) subscriber.end(false)
    else if (notifier?.call(options, subscriber, options) !== true) subscriber.follow(options.signal)
    // The first replay read starts now, with the registration. On a synchronous store (the
    // default) both happen in the same instant, so the read sees exactly what the live queue will
    // not: a gap it reports is a real one. (On an asynchronous store appends may land between the
    // two, so a gap signal is conservative: something may have been missed.)
    let firstRead: ChannelStoreRead<T> | Promise<ChannelStoreRead<T>> | undefined
    if (lastEventId !== undefined && !subscriber.ended) {
      try {
        firstRead = this.#store.readAfter(lastEventId, this.#pageSize)
      } catch (error) {
        subscriber.end(false)
        throw error
      }
      // A rejection is surfaced by the replay's `await`; this only keeps it from being reported as
      // unhandled when the subscription is returned before it is ever read.
      if (firstRead instanceof Promise) firstRead.catch(() => undefined)
    }
    // Live only (the common case): no replay generator at all, the subscriber is the iterator.
    if (lastEventId === undefined) return new Subscription(subscriber, undefined)
    return new Subscription(subscriber, this.#replay(subscriber, lastEventId, firstRead))
  }

  /**
   * Replays history after `lastEventId`, then hands over to the live queue. The subscriber was
   * registered before the first read, so every message fanned out after that moment is in its live
   * queue; with an asynchronous store a read may also contain some of them, and a message may reach
   * a read before the fan-out. So the replay stops at the first message already queued, and the
   * queue drops (now and later) every id up to the last one replayed: no gap, no duplicate, whatever
   * the store's timing. A gap signal is sent just before the first message that follows it, so its
   * `nextId` is the id actually delivered next. Once live, the generator is done and the
   * {@link Subscription} reads the subscriber's queue directly.
   */
  async *#replay(
    subscriber: Subscriber<T>,
    lastEventId: string,
    firstRead: ChannelStoreRead<T> | Promise<ChannelStoreRead<T>> | undefined,
  ): AsyncGenerator<ChannelEvent<T>, void> {
    try {
      let cursor = lastEventId
      // The highest id this subscriber has, for dropping duplicates; an id the store did not
      // recognise cannot be compared with anything.
      let delivered: string | undefined = lastEventId
      let gap: { lastEventId: string; reason: ChannelGapReason } | undefined
      let read = firstRead
      replay: while (!subscriber.ended) {
        const page = await (read ?? this.#store.readAfter(cursor, this.#pageSize))
        read = undefined
        if (subscriber.ended) return
        if (page.gap !== undefined) {
          if (delivered === lastEventId) delivered = undefined
          gap ??= { lastEventId: cursor, reason: page.gap }
        }
        for (const message of page.messages) {
          const firstLive = subscriber.firstLiveId()
          if (firstLive !== undefined && this.#store.compare(message.id, firstLive) >= 0) break replay
          if (gap !== undefined) {
            yield gapMessage(gap.lastEventId, gap.reason, message.id)
            gap = undefined
            if (subscriber.ended) return
          }
          yield message
          cursor = delivered = message.id
          if (subscriber.ended) return
        }
        // A short page reached the end of the history as it was when read; anything appended
        // after that read is fanned out to the live queue.
        if (page.messages.length < this.#pageSize) break
      }
      subscriber.goLive(delivered)
      if (gap !== undefined) {
        // Told at once, even when no message follows yet, so a client can refetch its state now.
        yield gapMessage(gap.lastEventId, gap.reason, subscriber.firstLiveId() ?? null)
      }
    } catch (error) {
      // A failed read ends the subscription (the error reaches the reader through next()).
      subscriber.end(false)
      throw error
    }
  }

  /**
   * The store lost track of the shared history (see {@link ChannelStore.watch}): live delivery may
   * have a hole, so every subscription ends (after what was queued in order) and its client
   * resumes from its last id. The channel stays open.
   */
  #interrupt(): void {
    // A copy: each one leaves the registry as it ends.
    for (const subscriber of this.#subscribers.slice()) subscriber.end(true)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#unwatch?.()
    for (const subscriber of this.#subscribers.slice()) subscriber.end(true)
  }
}

type Delivery<T> = IteratorResult<ChannelEvent<T>, undefined>
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * One subscriber's state: its bounded live queue, and the one place that ends it. Kept small, one
 * per open stream (issue 7): no closures; it is its own abort listener (`handleEvent`), and a
 * waiting reader holds one promise. A stream pump reads it as a {@link PushSource} instead: no
 * promise at all, and whatever is queued is written in one batch.
 */
class Subscriber<T> implements PushSource<ChannelEvent<T>> {
  ended = false
  readonly #queue: ChannelMessage<T>[] = []
  /** Highest id queued or delivered: a message at or below it is a duplicate. */
  #floor: string | undefined
  #live: boolean
  /** The pending `next()` of a reader waiting for a message, and how to settle it. */
  #waiting: Promise<Delivery<T>> | undefined
  #wake: ((subscriber: Subscriber<T>) => void) | undefined
  /** A pump waiting for the next message (see push-source.ts). */
  #consumer: PushConsumer | undefined
  readonly #store: ChannelStore<T>
  readonly #maxQueue: number
  readonly #registry: Subscriber<T>[]
  /** Its index in the registry while registered: removal swaps the last one in, O(1). */
  #slot: number
  #signal: AbortSignal | undefined

  constructor(store: ChannelStore<T>, maxQueue: number, registry: Subscriber<T>[], live: boolean) {
    this.#store = store
    this.#maxQueue = maxQueue
    this.#live = live
    this.#registry = registry
    this.#slot = registry.length
    registry.push(this)
  }

  /** Ends with `signal` (at once when it already aborted). */
  follow(signal: AbortSignal | undefined): void {
    if (signal === undefined || this.ended) return
    if (signal.aborted) {
      this.end(false)
      return
    }
    this.#signal = signal
    signal.addEventListener('abort', this, { once: true })
  }

  /** The subscription's `signal` aborted, or the stream it feeds ended (see stream-end.ts). */
  handleEvent(): void {
    this.end(false)
  }

  push(message: ChannelMessage<T>, newest: boolean): void {
    if (this.ended || (!newest && this.#isDuplicate(message.id))) return
    if (this.#queue.length >= this.#maxQueue) {
      // Too far behind: end it rather than buffer without bound. It still gets what is queued
      // (a bounded, in-order prefix) when it follows the replay, so even a subscriber that had
      // received nothing yet ends with a last id to resume from; nothing retained is lost.
      this.end(true)
      return
    }
    this.#queue.push(message)
    this.#floor = message.id
    this.#wakeUp()
  }

  firstLiveId(): string | undefined {
    return this.#queue[0]?.id
  }

  /** Switches from replay to live; drops queued messages the replay already delivered. */
  goLive(delivered: string | undefined): void {
    if (delivered !== undefined) {
      let duplicates = 0
      while (duplicates < this.#queue.length && this.#store.compare(this.#queue[duplicates]!.id, delivered) <= 0) {
        duplicates++
      }
      this.#queue.splice(0, duplicates)
      if (!this.#isDuplicate(delivered)) this.#floor = delivered
    }
    this.#live = true
  }

  #isDuplicate(id: string): boolean {
    return this.#floor !== undefined && this.#store.compare(id, this.#floor) <= 0
  }

  /** The next live message, waiting for one if the queue is empty; done once ended and drained. */
  next(): Promise<Delivery<T>> {
    // A second reader while one waits is served after it, in order (as an async generator would).
    if (this.#waiting !== undefined) return this.#waiting.then(() => this.next())
    if (this.#queue.length > 0 || this.ended) return Promise.resolve(this.shift())
    // The message is taken one microtask after the wake-up, not by the wake-up itself: a burst
    // published in one turn then finds it still queued, so `maxQueue` counts it (the bound and
    // what an overflowing subscriber still receives stay exact). `takeAfterWake` is shared, not a
    // closure. (A push reader, see push-source.ts, takes in a later microtask for the same reason.)
    this.#waiting = new Promise<Subscriber<T>>((resolve) => {
      this.#wake = resolve
    }).then(takeAfterWake)
    return this.#waiting
  }

  /** {@link PushSource.take}: the next queued message, else `undefined`. */
  take(): ChannelEvent<T> | undefined {
    return this.#queue.shift()
  }

  /** {@link PushSource.queued}. */
  get queued(): number {
    return this.#queue.length
  }

  /** {@link PushSource.wait}. */
  wait(consumer: PushConsumer): void {
    this.#consumer = consumer
    if (this.#queue.length > 0 || this.ended) this.#wakeUp()
  }

  /** Whether a `next()` is pending (then a push reader must not take from under it). */
  get reading(): boolean {
    return this.#waiting !== undefined
  }

  /** The waiting reader's turn: another `next()` chained behind it may now read directly. */
  takeAfterWake(): Delivery<T> {
    this.#waiting = undefined
    return this.shift()
  }

  /** The next queued message, or done (only called when one is queued or the subscriber ended). */
  shift(): Delivery<T> {
    const message = this.#queue.shift()
    return message !== undefined ? { done: false, value: message } : DONE
  }

  /**
   * Ends the subscription (idempotent): unregisters, detaches from the signal, wakes a waiting
   * reader. `drain` keeps the queued messages to deliver first, only when they follow the replay;
   * a queue collected during an unfinished replay would open a hole in the sequence.
   */
  end(drain: boolean): void {
    if (!drain || !this.#live) this.#queue.length = 0
    if (this.ended) return
    this.ended = true
    const registry = this.#registry
    const last = registry.pop()!
    if (last !== this) {
      registry[this.#slot] = last
      last.#slot = this.#slot
    }
    this.#signal?.removeEventListener('abort', this)
    this.#wakeUp()
  }

  /** Settles a waiting reader with the next message, or with done when the queue ended empty. */
  #wakeUp(): void {
    const consumer = this.#consumer
    if (consumer !== undefined) {
      this.#consumer = undefined
      wakeLater(consumer)
    }
    const wake = this.#wake
    if (wake === undefined) return
    this.#wake = undefined
    wake(this)
  }
}

// Push readers to wake in the next microtask (see push-source.ts): one microtask per fan-out for
// all of them, not one each. Created on first use (nothing runs at import).
let toWake: PushConsumer[] | undefined

function wakeLater(consumer: PushConsumer): void {
  if (toWake === undefined) {
    toWake = []
    queueMicrotask(wakeAll)
  }
  toWake.push(consumer)
}

function wakeAll(): void {
  const consumers = toWake ?? []
  toWake = undefined
  for (const consumer of consumers) {
    try {
      consumer.wakeUp()
    } catch (error) {
      // One reader's failure must not leave the others asleep: wake them all, then surface it as
      // an uncaught error would have been (the pump itself reports everything and never throws).
      queueMicrotask(() => {
        throw error
      })
    }
  }
}

function takeAfterWake<T>(subscriber: Subscriber<T>): Delivery<T> {
  return subscriber.takeAfterWake()
}

/**
 * What `subscribe()` returns: the replay generator first (when resuming), then the subscriber's
 * live queue. `return()` acts at once: an async generator would queue it behind a pending `next()`,
 * which would keep a departed client registered until the next publish.
 */
class Subscription<T> implements ChannelSubscription<T>, PushCapable<ChannelEvent<T>> {
  readonly #subscriber: Subscriber<T>
  #replay: AsyncGenerator<ChannelEvent<T>, void> | undefined
  #returned = false

  constructor(subscriber: Subscriber<T>, replay: AsyncGenerator<ChannelEvent<T>, void> | undefined) {
    this.#subscriber = subscriber
    this.#replay = replay
  }

  next(): Promise<Delivery<T>> {
    if (this.#returned) return Promise.resolve(DONE)
    if (this.#replay !== undefined) return this.#nextReplayed(this.#replay)
    return this.#subscriber.next()
  }

  async #nextReplayed(replay: AsyncGenerator<ChannelEvent<T>, void>): Promise<Delivery<T>> {
    const result = await replay.next()
    if (result.done !== true) return result
    // The replay handed over to the live queue (or ended the subscriber, which is then done).
    if (this.#replay === replay) this.#replay = undefined
    return this.#returned ? DONE : this.#subscriber.next()
  }

  /**
   * The live queue as a {@link PushSource} for the stream pump, once the replay (if any) has handed
   * over and no `next()` is pending; until then the pump reads through `next()`.
   */
  [PUSH_SOURCE](): PushSource<ChannelEvent<T>> | undefined {
    if (this.#returned || this.#replay !== undefined || this.#subscriber.reading) return undefined
    return this.#subscriber
  }

  return(): Promise<Delivery<T>> {
    this.#returned = true
    // Wakes a pending next(), which then finds the subscription ended.
    this.#subscriber.end(false)
    return Promise.resolve(DONE)
  }

  [Symbol.asyncIterator](): ChannelSubscription<T> {
    return this
  }
}

function gapMessage(lastEventId: string, reason: ChannelGapReason, nextId: string | null): ChannelGapMessage {
  return { event: GAP_EVENT, data: { lastEventId, reason, nextId } }
}

function freezeMessage<T>(id: string, init: ChannelMessageInit<T>): ChannelMessage<T> {
  return Object.freeze(init.event === undefined ? { id, data: init.data } : { id, event: init.event, data: init.data })
}

/**
 * Refuses, at publish time, what would break every subscriber's stream later: an `event` that would
 * inject SSE fields (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
 * splits lines on CR and LF), the reserved gap event type, and data JSON cannot encode.
 */
function assertPublishable(data: unknown, event: string | undefined): void {
  if (event !== undefined) {
    if (typeof event !== 'string' || /[\r\n]/.test(event)) {
      throw new TypeError(`publish: event must be a string without CR or LF, got ${JSON.stringify(event)}`)
    }
    if (event === GAP_EVENT) {
      throw new TypeError(`publish: the event type "${GAP_EVENT}" is reserved for the channel's gap signal`)
    }
  }
  if (typeof data === 'string') return
  let encoded: string | undefined
  try {
    encoded = JSON.stringify(data)
  } catch (cause) {
    throw new TypeError(`publish: data cannot be encoded as JSON (${(cause as Error).message})`, { cause })
  }
  if (encoded === undefined) {
    throw new TypeError(`publish: data of type ${typeof data} cannot be encoded as JSON; pass a string or a JSON value`)
  }
}
