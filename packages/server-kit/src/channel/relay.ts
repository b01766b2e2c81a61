import type { Channel, ChannelGapData } from './channel.js'

/** Where {@link relayChannel} delivers: anything with a `broadcast`, such as `createSocketServer()`. */
export interface RelayTarget<T> {
  broadcast(data: T): unknown
}

/** Options of {@link relayChannel}. */
export interface RelayOptions {
  /** Aborting stops the relay (as the returned function does). */
  signal?: AbortSignal
  /**
   * Milliseconds to wait before subscribing again after the subscription ended while the channel
   * is open (its store lost the shared history for a while, e.g. Redis restarted). Default 1000.
   */
  retryDelay?: number
  /**
   * The relay could not resume exactly (its last id was trimmed, or lost in a Redis restart):
   * messages may have been missed. Default: reported to `onError`.
   */
  onGap?: (gap: ChannelGapData) => void
  /** A resume failed (e.g. Redis still down; it is retried) or a broadcast threw. Default `console.error`. */
  onError?: (error: unknown) => void
}

const DEFAULT_RETRY_DELAY = 1_000

/**
 * Delivers every message of `channel` to `target.broadcast(data)`. With a channel on a shared store
 * (`@sluice/server-kit/redis`), publishing to the channel from any instance reaches the WebSocket
 * clients of every instance: call `channel.publish(data)` where you would call
 * `sockets.broadcast(data)`. When the subscription ends while the channel is still open (the
 * store was cut off from Redis), the relay subscribes again after `retryDelay`, resuming from the
 * last id it relayed, so messages published meanwhile are not skipped silently. Returns a function
 * that stops it; it also stops when the channel is closed.
 *
 * @example
 * ```ts
 * const chat = createChannel({ store: createRedisStore({ client: redis, key: 'sluice:chat' }) })
 * const sockets = createSocketServer<ChatIn, ChatOut>({
 *   server,
 *   path: '/ws',
 *   onMessage: (message, client) => void chat.publish({ from: client.id, text: message.text }),
 * })
 * const stopRelay = relayChannel(chat, sockets)
 * ```
 */
export function relayChannel<T>(
  channel: Channel<T, string | Promise<string>>,
  target: RelayTarget<T>,
  options: RelayOptions = {},
): () => void {
  const retryDelay = options.retryDelay ?? DEFAULT_RETRY_DELAY
  if (!Number.isFinite(retryDelay) || retryDelay < 0) {
    throw new TypeError(`relayChannel: retryDelay must be a non-negative number of ms, got ${String(retryDelay)}`)
  }
  const onError = options.onError ?? ((error: unknown) => console.error('[sluice] relayChannel:', error))
  const onGap =
    options.onGap ??
    ((gap: ChannelGapData) =>
      onError(
        new Error(`relayChannel: could not resume after ${gap.lastEventId} (${gap.reason}); messages were missed`),
      ))
  // The one owner of the subscription and the retry timer: aborting releases both.
  const controller = new AbortController()
  const stop = () => controller.abort()
  const { signal } = controller
  options.signal?.addEventListener('abort', stop, { once: true })

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done, { once: true })
      function done() {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
    })

  const run = async () => {
    let lastEventId: string | undefined
    while (!signal.aborted && !channel.closed) {
      try {
        for await (const message of channel.subscribe({ lastEventId, signal })) {
          if (message.id === undefined) {
            onGap(message.data)
            continue
          }
          lastEventId = message.id
          try {
            target.broadcast(message.data)
          } catch (error) {
            onError(error)
          }
        }
      } catch (error) {
        // The resume read failed (the store is still unreachable): retried below.
        onError(error)
      }
      if (signal.aborted || channel.closed) break
      await wait(retryDelay)
    }
    options.signal?.removeEventListener('abort', stop)
  }
  void run()
  return stop
}
