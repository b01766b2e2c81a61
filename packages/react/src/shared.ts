import type { Connection } from '@sluice/client'
import { bindRefOptions } from './options.js'

/**
 * A component's side of a connection: the store of one hook call. The entry tells it which
 * connection to follow; the member reads its latest options when the connection calls back.
 */
export interface EntryMember<TMessage> {
  /** Follow `connection` from now on (`null`: none). `reset` starts the folded state over. */
  attach(connection: Connection<TMessage, unknown> | null, reset: boolean): void
  /** The component's current options (callbacks included), read at call time. */
  currentOptions(): Readonly<Record<string, unknown>>
}

/** Everything an entry needs to open (and re-open) its connection. */
export interface EntryRequest<TMessage, TConnection extends Connection<TMessage, unknown>> {
  /** By-value identity of kind + URL + connection options (see `connectionIdentity`). */
  readonly identity: string
  /** `key` option: entries with a key are shared through the registry. */
  readonly key: string | undefined
  readonly url: string | URL
  /** Client options as the component passed them (callbacks are re-bound to refs here). */
  readonly options: Readonly<Record<string, unknown>>
  readonly pauseWhenHidden: boolean
  /**
   * Opens a connection. `previous` is the connection this one replaces (after `close()`, a pause,
   * or a fatal error), so a transport can resume from it (SSE: its last event ID).
   */
  readonly open: (url: string | URL, options: Record<string, unknown>, previous: TConnection | null) => TConnection
}

/**
 * One connection and the components using it. It is the single owner of the connection and of the
 * `visibilitychange` listener: it closes both on `dispose()`, which runs when the last member
 * leaves (deferred by a microtask, so `<StrictMode>`'s unmount/remount and a remount under the same
 * key in the same commit reuse the connection instead of opening a second one).
 */
export class ConnectionEntry<TMessage, TConnection extends Connection<TMessage, unknown>> {
  readonly identity: string
  readonly key: string | undefined
  readonly #members = new Set<EntryMember<TMessage>>()
  readonly #request: EntryRequest<TMessage, TConnection>
  #connection: TConnection | null = null
  #started = false
  #paused = false
  #closedByUser = false
  #disposed = false
  #removeVisibilityListener: (() => void) | undefined

  constructor(request: EntryRequest<TMessage, TConnection>) {
    this.identity = request.identity
    this.key = request.key
    this.#request = request
  }

  /** The live connection, `null` before the first member joins, while paused hidden, or after dispose. */
  get connection(): TConnection | null {
    return this.#connection
  }

  /** `true` while `pauseWhenHidden` holds the connection closed because the page is hidden. */
  get paused(): boolean {
    return this.#paused
  }

  get disposed(): boolean {
    return this.#disposed
  }

  get memberCount(): number {
    return this.#members.size
  }

  /** Joins `member` (opening the connection on the first join) and attaches it with a fresh state. */
  add(member: EntryMember<TMessage>): void {
    if (this.#disposed) throw new Error('Sluice internal error: a disposed connection entry was reused')
    this.#members.add(member)
    if (!this.#started) this.#start()
    member.attach(this.#connection, true)
  }

  /** Leaves; the last member's leaving disposes the entry one microtask later unless someone rejoins. */
  remove(member: EntryMember<TMessage>): void {
    if (!this.#members.delete(member) || this.#members.size > 0) return
    // Deferred: StrictMode's simulated unmount is followed, in the same task, by a remount that
    // must find this entry alive. A real unmount closes one microtask later.
    queueMicrotask(() => {
      if (this.#members.size === 0) this.dispose()
    })
  }

  /** Closes the connection for good (a user `close()`): no reconnect, not even on `visibilitychange`. */
  close(): void {
    this.#closedByUser = true
    const wasPaused = this.#paused
    this.#paused = false
    this.#connection?.close()
    if (wasPaused) this.#notify(false)
  }

  /**
   * Connects again now. A live connection restarts its attempt (the client drops the old attempt,
   * so nothing from it is delivered); a closed or paused one is replaced by a new connection.
   */
  reconnect(): void {
    if (this.#disposed) return
    this.#closedByUser = false
    const current = this.#connection
    if (!this.#paused && current !== null && current.getSnapshot().status !== 'closed') {
      current.reconnect()
      return
    }
    this.#paused = false
    this.#replace()
  }

  /** Releases everything this entry owns. Idempotent. */
  dispose(): void {
    if (this.#disposed) return
    this.#disposed = true
    this.#removeVisibilityListener?.()
    this.#removeVisibilityListener = undefined
    this.#connection?.close()
    if (this.key !== undefined && (registry.get(this.key) as unknown) === this) registry.delete(this.key)
  }

  #start(): void {
    this.#started = true
    if (this.#request.pauseWhenHidden && typeof document !== 'undefined') {
      const onVisibilityChange = () => this.#onVisibilityChange()
      document.addEventListener('visibilitychange', onVisibilityChange)
      this.#removeVisibilityListener = () => document.removeEventListener('visibilitychange', onVisibilityChange)
      if (document.visibilityState === 'hidden') {
        this.#paused = true
        return
      }
    }
    this.#connection = this.#open(null)
  }

  #onVisibilityChange(): void {
    if (this.#disposed || this.#closedByUser) return
    if (document.visibilityState === 'hidden') {
      if (this.#paused) return
      // Set before close() so members publish the close as `idle`, not as a terminal `closed`.
      this.#paused = true
      this.#connection?.close()
      this.#notify(false)
    } else if (this.#paused) {
      this.#paused = false
      this.#replace()
    }
  }

  #replace(): void {
    const previous = this.#connection
    previous?.close()
    this.#connection = this.#open(previous)
    this.#notify(false)
  }

  #open(previous: TConnection | null): TConnection {
    const { url, options, open } = this.#request
    const bound = bindRefOptions(options, () => [...this.#members].map((member) => member.currentOptions()))
    return open(url, bound, previous)
  }

  #notify(reset: boolean): void {
    for (const member of this.#members) member.attach(this.#connection, reset)
  }
}

/**
 * Shared connections by `key`. Only touched from effects, so server rendering never fills it.
 * Entries of every message type live here; an entry is only handed out to a caller whose identity
 * string (which names the hook kind and every option) is equal, which is what makes the cast in
 * `obtainEntry` sound.
 */
const registry = new Map<string, ConnectionEntry<unknown, Connection<unknown, unknown>>>()

/**
 * The entry for `request`: the keyed one from the registry when the key is in use with the same
 * identity, a new one otherwise.
 *
 * Same key, different identity while the existing entry still has members: in development a
 * `TypeError` (two components would silently disagree about one connection); in production the
 * newcomer gets its own, unshared connection with exactly the options it asked for.
 */
export function obtainEntry<TMessage, TConnection extends Connection<TMessage, unknown>>(
  request: EntryRequest<TMessage, TConnection>,
  hookName: string,
): ConnectionEntry<TMessage, TConnection> {
  if (request.key === undefined) return new ConnectionEntry(request)
  const existing = registry.get(request.key) as ConnectionEntry<TMessage, TConnection> | undefined
  if (existing !== undefined && !existing.disposed) {
    if (existing.identity === request.identity) return existing
    if (existing.memberCount > 0) {
      // Development only. Bundlers replace `process.env.NODE_ENV` textually, so in a production build
      // this condition is constant-false and the message below is removed; a browser without that
      // replacement has no `process` and counts as production.
      if (typeof process !== 'undefined' && process.env !== undefined && process.env.NODE_ENV !== 'production') {
        throw new TypeError(
          `${hookName}: key ${JSON.stringify(request.key)} is already used by a connection with different options.\n` +
            `  in use:    ${existing.identity}\n  requested: ${request.identity}\n` +
            'Components that share a key share one connection, so they must pass the same URL and connection ' +
            'options (headers, body, method, retry, ...). Use a different key, or pass identical options.',
        )
      }
      return new ConnectionEntry({ ...request, key: undefined })
    }
    // Nobody uses it any more (its dispose is only pending): close it before the new one opens.
    existing.dispose()
  }
  const entry = new ConnectionEntry(request)
  registry.set(request.key, entry as unknown as ConnectionEntry<unknown, Connection<unknown, unknown>>)
  return entry
}
