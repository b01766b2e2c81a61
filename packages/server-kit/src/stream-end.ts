/**
 * An internal handshake between the pump and what a source subscribes to (the channel), so that one
 * open stream does not need an `AbortController` only to tell its subscription that it ended.
 *
 * The pump's `StreamContext` creates `ctx.signal` only when something reads it; an `AbortSignal` with
 * a listener is the largest single piece of a stream's state (about 1 KB in Node 20: an
 * `EventTarget` with its own hidden class, two maps and a listener; issue 7, "One process, many
 * streams"). A channel given the context itself (`channel.subscribe(ctx)`) registers here instead of
 * reading `ctx.signal`; the pump calls it back at the moment it would abort the signal.
 */

/** The key of the registration method on a pump's context. Internal. */
export const STREAM_END: unique symbol = Symbol('sluice.streamEnd')

/** Told once when the stream ends (where `ctx.signal` would abort). Internal. */
export interface StreamEndListener {
  handleEvent(): void
}

/** A context that can notify one listener of the stream's end. Internal. */
export interface StreamEndNotifier {
  /**
   * Registers `listener`; `false` when it cannot: `options` (the object this method was found on)
   * is not the context itself (a copy such as `{ ...ctx, signal }` may carry another signal), the
   * stream already ended, or another listener holds the one slot. Then read `signal` instead.
   */
  [STREAM_END](listener: StreamEndListener, options: object): boolean
}
