/**
 * An internal handshake between the pump and a channel subscription, so that fan-out costs no
 * promise per message per subscriber (issue 6, fan-out; issue 7, "One process, many streams").
 *
 * Through the async iterator protocol, every delivery to every subscriber is a `next()` promise, a
 * reaction and a resolver, and every waiting stream holds a chain of them. A source that has its
 * items in memory can instead be asked for what it has right now (`take`), and tell the pump when
 * more arrived (`wait`): the pump then writes everything queued in one batch, with the same
 * backpressure as any source (it only takes while the sink can take more).
 */

/** The key of the method that returns a {@link PushSource}, or `undefined` when none is available now. Internal. */
export const PUSH_SOURCE: unique symbol = Symbol('sluice.pushSource')

/** Told when a {@link PushSource} has something to take again. Internal. */
export interface PushConsumer {
  /**
   * Called at most once per `wait`, in a microtask after the item arrived (never inside `publish`
   * itself): a burst published in one turn is then still queued when it is counted against the
   * source's bound, and one microtask wakes every reader of a fan-out.
   */
  wakeUp(): void
}

/**
 * A source whose items can be taken synchronously. Its items are never `undefined`. Internal.
 * Taking is the hot path of a fan-out (once per message per subscriber), so it allocates nothing:
 * no `IteratorResult` per item, and `queued` lets the pump skip sizing a batch for a single item.
 */
export interface PushSource<T> {
  /** The next item now, or `undefined` when none is queued (then `ended` says whether more may come). */
  take(): T | undefined
  /** How many items `take` would return right now. */
  readonly queued: number
  /** No item will be added any more: once `queued` is 0, the source is done. */
  readonly ended: boolean
  /** Registers `consumer` to be woken once, when `take` has something again (an item or the end). */
  wait(consumer: PushConsumer): void
}

/** An iterator that may offer a {@link PushSource}. Internal. */
export interface PushCapable<T> {
  [PUSH_SOURCE](): PushSource<T> | undefined
}
