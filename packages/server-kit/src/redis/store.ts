import { LimitExceededError, SluiceError } from '@sluice/client'
import type {
  ChannelGapReason,
  ChannelMessage,
  ChannelMessageInit,
  ChannelStore,
  ChannelStoreRead,
} from '../channel/index.js'
import { compareStreamIds, isStreamId } from './ids.js'
import { entries, pairs, type RawEntry, streamEntries, text } from './replies.js'

/**
 * The part of a node-redis client (`createClient()` from the `redis` package, v5 or v6) the store
 * uses. Commands go through `sendCommand`, so the client's own reply transformations, RESP version
 * and modules do not matter.
 */
export interface RedisClientLike {
  /** `true` while the connection is up and usable (node-redis `isReady`). */
  readonly isReady: boolean
  sendCommand(args: readonly string[], options?: { timeout?: number }): Promise<unknown>
  /** A new, not yet connected client with the same options (for the blocking reader). */
  duplicate(): RedisClientLike
  connect(): Promise<unknown>
  /** Closes the connection at once, rejecting pending commands. */
  destroy(): void
  on(event: 'error', listener: (error: Error) => void): unknown
}

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected node-redis client, used for `XADD` / `XRANGE` / `XINFO`. The store also opens one
   * connection of its own with `client.duplicate()` for the blocking `XREAD` (a blocked connection
   * can run nothing else); it is closed when the channel is closed. The store never closes `client`.
   */
  client: RedisClientLike
  /** The Redis key of the stream, one per channel, e.g. `"sluice:chat"`. */
  key: string
  /**
   * History kept for resuming, in messages: every `XADD` trims with `MAXLEN ~ maxLength`, which
   * keeps at least this many (Redis trims whole radix-tree nodes, 100 entries by default, so a few
   * more may stay). Default 10,000.
   */
  maxLength?: number
  /**
   * Milliseconds a publish or a replay read may wait for Redis before it fails with
   * {@link RedisStoreError} (`STORE_UNAVAILABLE`). Bounds what waits in memory while Redis is
   * unreachable. Also how long one blocking `XREAD` waits for entries: a reader that gets no answer
   * within twice this (a frozen Redis, a half-open connection) replaces its connection and ends the
   * channel's subscriptions, as for a lost connection. Default 5000.
   */
  commandTimeout?: number
  /**
   * Largest message accepted by `publish`, in bytes of its JSON encoding; a bigger one is refused
   * with `LimitExceededError` (`limit: 'maxMessageSize'`) and not stored. Bounds what one entry
   * costs every instance (an `XREAD` batch holds `readCount` of them). Default 1 MiB, the same as
   * `@sluice/client`'s default `maxMessageSize`: a client with its defaults would refuse more.
   */
  maxMessageSize?: number
  /**
   * Most entries one blocking `XREAD` returns. A batch is fanned out at once, before the
   * subscribers' connections get a turn to drain, so it must stay well under the channel's
   * `maxQueue` (default 500), or a burst would end subscribers as slow consumers. Default 100.
   */
  readCount?: number
  /**
   * Connection losses of the reader, and stream entries that are not Sluice messages (skipped).
   * Default `console.error`. A publish or a replay that fails is not reported here: its promise
   * rejects.
   */
  onError?: (error: unknown) => void
}

/** A {@link ChannelStore} on a Redis Stream; see {@link createRedisStore}. */
export interface RedisStore<T = unknown> extends ChannelStore<T> {
  append(message: ChannelMessageInit<T>): Promise<string>
  readAfter(lastEventId: string, limit: number): Promise<ChannelStoreRead<T>>
  watch(onMessage: (message: ChannelMessage<T>) => void, onInterrupt?: (error: unknown) => void): () => void
  /** The stream's key. */
  readonly key: string
  /**
   * Resolves once the channel's live reader knows where the stream ends, that is, once every
   * message published from then on, by any instance, reaches this instance's subscribers. Await it
   * before accepting connections. Never rejects (it waits for Redis).
   */
  readonly ready: Promise<void>
}

/**
 * Why the Redis store failed: `STORE_UNAVAILABLE` (Redis is not connected, or did not answer within
 * `commandTimeout`: the publish or replay was not done, or for a timed-out publish, possibly done
 * without its id reaching us) or `STORE_INVALID_ENTRY` (an entry of the stream was not written by
 * this store).
 */
export class RedisStoreError extends SluiceError {
  /** The stream's key. */
  readonly key: string

  constructor(code: 'STORE_UNAVAILABLE' | 'STORE_INVALID_ENTRY', key: string, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause })
    this.name = 'RedisStoreError'
    this.key = key
  }
}

/** Default {@link RedisStoreOptions.maxLength}. */
export const DEFAULT_REDIS_MAX_LENGTH = 10_000
/** Default {@link RedisStoreOptions.maxMessageSize}: 1 MiB. */
export const DEFAULT_REDIS_MAX_MESSAGE_SIZE = 1024 * 1024
/** Default {@link RedisStoreOptions.commandTimeout}. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT = 5_000
const DEFAULT_READ_COUNT = 100
/** Reader retry delays after a failure that is not a lost connection (node-redis waits for those). */
const RETRY_MIN = 100
const RETRY_MAX = 5_000

/**
 * A channel history in a Redis Stream, shared by every server instance on the same Redis: give each
 * instance's `createChannel` a store on the same `key`, and every subscriber on every instance gets
 * every message, in one order, with resume on any instance.
 *
 * - Ids: the Redis stream id (`"1732240000000-0"`) is the SSE id. Redis assigns it on `XADD`, in
 *   one strict order for all instances, so a client resumes with its `Last-Event-ID` anywhere.
 * - Live delivery: one blocking `XREAD` per channel on a dedicated connection, from the last id it
 *   saw. No polling delay, no message can fall between two reads (unlike pub/sub plus catch-up,
 *   where a notification lost during a reconnection must be detected), and after a reconnection it
 *   continues exactly where it stopped.
 * - Gaps: a `Last-Event-ID` no longer in the stream yields the channel's `sluice-gap` event with
 *   `reason: 'trimmed'` (older than the retained history) or `'unknown'` (never in this stream: a
 *   forged id, or one from before Redis lost its data in a restart without persistence).
 * - Redis down: `publish` rejects with {@link RedisStoreError} (`STORE_UNAVAILABLE`) at once when
 *   the client is not connected, else after `commandTimeout`; nothing is queued for later (while a
 *   command goes unanswered, further ones are refused at once, but for one probe per
 *   `commandTimeout`). The reader's lost or silent connection ends every subscription of the
 *   channel cleanly, so clients reconnect and resume from their last id once Redis is back (a
 *   resume while it is down fails, and the client retries with its backoff). A publish that timed
 *   out may still be appended when Redis answers: its outcome is unknown, as with any network call.
 *
 * Requires Redis 5 (streams); Redis 7 tells `trimmed` from `unknown` more precisely.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * import { createChannel } from '@sluice/server-kit'
 * import { createRedisStore } from '@sluice/server-kit/redis'
 *
 * const redis = await createClient({ url: process.env.REDIS_URL }).on('error', console.error).connect()
 * const store = createRedisStore<ChatMessage>({ client: redis, key: 'sluice:chat', maxLength: 10_000 })
 * const chat = createChannel({ store })
 * await store.ready
 * await chat.publish({ user: 'ada', text: 'hi' }) // "1732240000000-0"
 * ```
 */
export function createRedisStore<T = unknown>(options: RedisStoreOptions): RedisStore<T> {
  return new RedisStreamStore<T>(options)
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback
  if (!Number.isSafeInteger(result) || result <= 0) {
    throw new TypeError(`createRedisStore: ${name} must be a positive integer, got ${String(value)}`)
  }
  return result
}

class RedisStreamStore<T> implements RedisStore<T> {
  readonly key: string
  readonly ready: Promise<void>
  readonly #client: RedisClientLike
  readonly #maxLength: string
  readonly #timeout: number
  readonly #readCount: string
  readonly #maxMessageSize: number
  readonly #onError: (error: unknown) => void
  #resolveReady!: () => void
  #isReady = false
  #watching = false
  /** A command got no answer within commandTimeout, and none has been answered since. */
  #stalled = false
  /** A command is in flight while stalled (see #command). */
  #probing = false

  constructor(options: RedisStoreOptions) {
    if (typeof options.client?.sendCommand !== 'function') {
      throw new TypeError('createRedisStore: client must be a node-redis client (createClient() from "redis")')
    }
    if (typeof options.key !== 'string' || options.key === '') {
      throw new TypeError(`createRedisStore: key must be a non-empty string, got ${JSON.stringify(options.key)}`)
    }
    this.#client = options.client
    this.key = options.key
    this.#maxLength = String(positive('maxLength', options.maxLength, DEFAULT_REDIS_MAX_LENGTH))
    this.#timeout = positive('commandTimeout', options.commandTimeout, DEFAULT_REDIS_COMMAND_TIMEOUT)
    this.#readCount = String(positive('readCount', options.readCount, DEFAULT_READ_COUNT))
    this.#maxMessageSize = positive('maxMessageSize', options.maxMessageSize, DEFAULT_REDIS_MAX_MESSAGE_SIZE)
    this.#onError = options.onError ?? ((error) => console.error('[sluice] redis store:', error))
    this.ready = new Promise((resolve) => {
      this.#resolveReady = () => {
        this.#isReady = true
        resolve()
      }
    })
  }

  compare(a: string, b: string): number {
    return compareStreamIds(a, b)
  }

  async append(message: ChannelMessageInit<T>): Promise<string> {
    const data = JSON.stringify(message.data)
    // Length in UTF-16 units is a lower bound of the UTF-8 size: only measure when it may be over.
    if (data.length * 3 > this.#maxMessageSize && Buffer.byteLength(data) > this.#maxMessageSize) {
      throw new LimitExceededError(
        'maxMessageSize',
        this.#maxMessageSize,
        `Cannot publish to Redis stream "${this.key}": the message is ${Buffer.byteLength(data)} bytes as JSON, over maxMessageSize (${this.#maxMessageSize})`,
      )
    }
    const fields = ['data', data]
    if (message.event !== undefined) fields.push('event', message.event)
    // A message appended before the reader knows where the stream ends would not reach this
    // instance's own live subscribers: wait (bounded) for the reader first.
    if (this.#watching && !this.#isReady) await this.#readerReady('publish')
    const reply = await this.#command(['XADD', this.key, 'MAXLEN', '~', this.#maxLength, '*', ...fields], 'publish')
    return text(reply, 'XADD')
  }

  async readAfter(lastEventId: string, limit: number): Promise<ChannelStoreRead<T>> {
    const count = String(limit)
    if (!isStreamId(lastEventId)) {
      return { messages: await this.#range('-', count), gap: 'unknown' }
    }
    // XRANGE's start is inclusive: asking for one more entry from lastEventId both checks that the
    // id is still in the stream and returns what follows it, in one round trip.
    const found = entries(
      await this.#command(['XRANGE', this.key, lastEventId, '+', 'COUNT', String(limit + 1)], 'replay'),
      'XRANGE',
    )
    if (found[0]?.id === lastEventId) return { messages: found.slice(1).map((entry) => this.#decode(entry)) }

    const info = await this.#info()
    if (info === undefined) return { messages: [], gap: 'unknown' }
    const beforeFirst = info.first !== undefined && compareStreamIds(lastEventId, info.first) < 0
    // Older than the first entry is a trimmed id when the stream has ever been trimmed (entries-added
    // counts every XADD since the stream was created, Redis 7+). When it was not, the id is from
    // another life of the stream: Redis lost it (restart without persistence) or it was forged.
    const reason: ChannelGapReason =
      beforeFirst && (info.entriesAdded === undefined || info.entriesAdded > info.length) ? 'trimmed' : 'unknown'
    // After a gap the messages start at the oldest one retained (the ChannelStore contract).
    const messages = beforeFirst
      ? found.slice(0, limit).map((entry) => this.#decode(entry))
      : await this.#range('-', count)
    return { messages, gap: reason }
  }

  watch(onMessage: (message: ChannelMessage<T>) => void, onInterrupt?: (error: unknown) => void): () => void {
    if (this.#watching) {
      throw new TypeError(
        `createRedisStore: the store of "${this.key}" already serves a channel; create one per channel`,
      )
    }
    this.#watching = true
    const reader = new Reader(() => this.#client.duplicate(), this.key, this.#readCount, this.#timeout, {
      delivered: (raw) => {
        let message: ChannelMessage<T>
        try {
          message = this.#decode(raw)
        } catch (error) {
          // Not ours (another program wrote to the key): nothing a subscriber could be given.
          this.#onError(error)
          return
        }
        onMessage(message)
      },
      established: () => this.#resolveReady(),
      interrupted: (error, first) => {
        if (first) {
          this.#onError(
            new RedisStoreError(
              'STORE_UNAVAILABLE',
              this.key,
              `Lost the live reader of Redis stream "${this.key}"; ending the channel's subscriptions so their clients resume (${errorText(error)})`,
              error,
            ),
          )
        }
        onInterrupt?.(error)
      },
      failed: (error) => this.#onError(error),
    })
    return () => reader.stop()
  }

  async #range(start: string, count: string): Promise<ChannelMessage<T>[]> {
    const found = entries(await this.#command(['XRANGE', this.key, start, '+', 'COUNT', count], 'replay'), 'XRANGE')
    return found.map((entry) => this.#decode(entry))
  }

  async #info(): Promise<{ length: number; first: string | undefined; entriesAdded: number | undefined } | undefined> {
    let reply: unknown
    try {
      reply = await this.#command(['XINFO', 'STREAM', this.key], 'replay')
    } catch (error) {
      // The key does not exist (never published, or Redis lost it): every id is unknown.
      if (error instanceof RedisStoreError && /no such key/i.test(errorText(error.cause))) return undefined
      throw error
    }
    const info = pairs(reply, 'XINFO STREAM')
    const first = info.get('first-entry')
    const added = info.get('entries-added')
    return {
      length: Number(info.get('length')),
      first: Array.isArray(first) && first.length > 0 ? text(first[0], 'XINFO STREAM') : undefined,
      entriesAdded: added === undefined ? undefined : Number(added),
    }
  }

  #decode(entry: RawEntry): ChannelMessage<T> {
    const data = entry.fields.get('data')
    let parsed: T
    try {
      if (data === undefined) throw new TypeError('no "data" field')
      parsed = JSON.parse(data) as T
    } catch (cause) {
      throw new RedisStoreError(
        'STORE_INVALID_ENTRY',
        this.key,
        `Entry ${entry.id} of Redis stream "${this.key}" is not a Sluice message (${errorText(cause)})`,
        cause,
      )
    }
    const event = entry.fields.get('event')
    return Object.freeze(event === undefined ? { id: entry.id, data: parsed } : { id: entry.id, event, data: parsed })
  }

  /**
   * Runs one command on the main client, failing fast when it is not connected (node-redis would
   * otherwise queue the command until it reconnects: unbounded memory and a publish that hangs).
   */
  async #command(args: string[], action: string): Promise<unknown> {
    const refuse = (why: string, cause?: unknown) =>
      new RedisStoreError(
        'STORE_UNAVAILABLE',
        this.key,
        `Cannot ${action} on Redis stream "${this.key}": ${why}`,
        cause,
      )
    if (!this.#client.isReady) throw refuse('the Redis client is not connected')
    // A Redis that stopped answering (frozen, or a half-open connection) keeps the socket open,
    // so node-redis keeps every command sent to it. While one such command is unanswered, at most
    // one more (a probe) is sent per commandTimeout; the others fail at once instead of piling up.
    const probe = this.#stalled
    if (probe && this.#probing) {
      throw refuse(`Redis has not answered for more than commandTimeout (${this.#timeout} ms)`)
    }
    this.#probing ||= probe
    try {
      // node-redis's own `timeout` option only covers a command not yet written to the socket.
      const reply = await withTimeout(this.#client.sendCommand(args, { timeout: this.#timeout }), this.#timeout)
      this.#stalled = false
      return reply
    } catch (cause) {
      if (cause instanceof CommandTimeout) this.#stalled = true
      throw refuse(`${args[0]} failed (commandTimeout ${this.#timeout} ms): ${errorText(cause)}`, cause)
    } finally {
      if (probe) this.#probing = false
    }
  }

  #readerReady(action: string): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RedisStoreError(
              'STORE_UNAVAILABLE',
              this.key,
              `Cannot ${action} on Redis stream "${this.key}": its live reader did not connect within commandTimeout (${this.#timeout} ms)`,
            ),
          ),
        this.#timeout,
      )
    })
    return Promise.race([this.ready, timedOut]).finally(() => clearTimeout(timer))
  }
}

interface ReaderEvents {
  delivered(entry: RawEntry): void
  /** The reader knows where to start: every entry appended from now on will be delivered. */
  established(): void
  /**
   * A read failed after the reader was established: the subscribers must resume through a replay,
   * since Redis may have lost entries meanwhile (a restart without persistence). `first` is true for
   * the first failure of an outage (report it once).
   */
  interrupted(error: unknown, first: boolean): void
  /** A failure before the reader was established. */
  failed(error: unknown): void
}

/**
 * The blocking `XREAD` loop on its own connection: the one owner of that connection and of the
 * retry timer, both released by {@link Reader.stop}.
 */
class Reader {
  readonly #open: () => RedisClientLike
  readonly #key: string
  readonly #count: string
  readonly #block: number
  readonly #events: ReaderEvents
  #connection: RedisClientLike
  #stopped = false
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #wakeRetry: (() => void) | undefined
  /** Last id delivered: reading resumes after it, so a reconnection neither skips nor repeats. */
  #cursor: string | undefined
  #healthy = false

  /**
   * `open` makes a new, unconnected connection (`client.duplicate()`); `block` is how long one
   * `XREAD` waits for entries, in ms (Redis answers `null` when none came).
   */
  constructor(open: () => RedisClientLike, key: string, count: string, block: number, events: ReaderEvents) {
    this.#open = open
    this.#key = key
    this.#count = count
    this.#block = block
    this.#events = events
    this.#connection = this.#connect()
    void this.#run()
  }

  #connect(): RedisClientLike {
    const connection = this.#open()
    // node-redis emits `error` for every failed (re)connection attempt; without a listener an
    // EventEmitter would throw it. The outcome is handled by the loop below (a rejected command).
    connection.on('error', () => undefined)
    return connection
  }

  async #run(): Promise<void> {
    let failures = 0
    let connecting: Promise<unknown> | undefined = this.#connection.connect()
    while (!this.#stopped) {
      try {
        // connect() keeps retrying (node-redis reconnect strategy) until it succeeds or stop()
        // destroys the connection.
        if (connecting !== undefined) await connecting
        connecting = undefined
        if (this.#stopped) return
        if (this.#cursor === undefined) {
          // Start after the stream's last entry (0-0 before the first one): from this answer on,
          // every entry appended by any instance is read.
          const last = entries(
            await withTimeout(
              this.#connection.sendCommand(['XREVRANGE', this.#key, '+', '-', 'COUNT', '1']),
              2 * this.#block,
            ),
            'XREVRANGE',
          )
          if (this.#stopped) return
          this.#cursor = last[0]?.id ?? '0-0'
          this.#healthy = true
          this.#events.established()
        }
        // A lost connection rejects the command at once (node-redis fails the commands awaiting a
        // reply when the socket closes). A silent one (Redis frozen, a half-open TCP connection
        // after a failover) does not: Redis answers a BLOCK within `block` ms even when nothing
        // came, so no answer within twice that means the connection is dead.
        const reply = await withTimeout(
          this.#connection.sendCommand([
            'XREAD',
            'COUNT',
            this.#count,
            'BLOCK',
            String(this.#block),
            'STREAMS',
            this.#key,
            this.#cursor,
          ]),
          2 * this.#block,
        )
        if (this.#stopped) return
        this.#healthy = true
        failures = 0
        for (const entry of streamEntries(reply, this.#key, 'XREAD')) {
          this.#cursor = entry.id
          this.#events.delivered(entry)
        }
      } catch (error) {
        if (this.#stopped) return
        if (this.#cursor !== undefined) {
          // Every failure, not only the first of an outage: a subscriber that arrived between two
          // failures may have missed entries Redis lost in the second one.
          this.#events.interrupted(error, this.#healthy)
        } else {
          this.#events.failed(error)
        }
        this.#healthy = false
        if (error instanceof CommandTimeout) {
          // node-redis only reconnects when the socket closes; a silent connection is replaced.
          this.#connection.destroy()
          this.#connection = this.#connect()
          connecting = this.#connection.connect()
        }
        // While disconnected, node-redis holds the next XREAD until it has reconnected; this delay
        // only keeps a command that keeps failing (e.g. the key holds another type) from spinning.
        await this.#delay(Math.min(RETRY_MAX, RETRY_MIN * 2 ** Math.min(failures, 10)))
        failures++
      }
    }
  }

  #delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wakeRetry = resolve
      this.#retryTimer = setTimeout(resolve, ms)
    })
  }

  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#retryTimer)
    this.#wakeRetry?.()
    // Rejects the pending XREAD (and a pending connect), which ends the loop.
    this.#connection.destroy()
  }
}

/** No answer from Redis within the time allowed. */
class CommandTimeout extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`)
    this.name = 'CommandTimeout'
  }
}

/**
 * `command`, or a {@link CommandTimeout} after `ms`. The command itself stays with node-redis (a
 * reply that comes later is matched to it and dropped); its late failure is not unhandled.
 */
function withTimeout<T>(command: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandTimeout(ms)), ms)
  })
  command.catch(() => undefined) // settled late, after the timeout: already reported as one
  return Promise.race([command, timedOut]).finally(() => clearTimeout(timer))
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
