/**
 * How a connection waits before reconnecting. One policy for SSE, NDJSON and WebSocket connections.
 *
 * Defaults: `initialDelay` 1 000 ms, `maxDelay` 30 000 ms, `factor` 2, `maxAttempts` Infinity,
 * `minUptime` 5 000 ms, `jitter` true — the delays grow 1 s, 2 s, 4 s, ... up to 30 s, each one
 * drawn uniformly from `[0, ceiling]` ("full jitter"), so that clients dropped together by a server
 * restart do not all come back in the same instant.
 *
 * @example
 * ```ts
 * createEventStream('/events', { retry: { initialDelay: 500, maxDelay: 10_000, maxAttempts: 20 } })
 * createEventStream('/events', { retry: false }) // never reconnect: the first failure closes
 * ```
 */
export interface RetryOptions {
  /** Ceiling of the first delay, in ms (default 1 000). An SSE server's `retry:` field replaces it. */
  initialDelay?: number
  /** Largest ceiling a delay can grow to, in ms (default 30 000). */
  maxDelay?: number
  /** Each consecutive failure multiplies the ceiling by this (default 2). */
  factor?: number
  /**
   * How many times in a row to try again after a failure (default `Infinity`). Once exceeded the
   * connection closes with the last error. `0` is the same as `retry: false`.
   */
  maxAttempts?: number
  /**
   * How long (ms) a connection must stay open to count as healthy again, which resets the attempt
   * counter (default 5 000). Without it a server that accepts and drops at once would be hammered
   * at the initial delay forever.
   */
  minUptime?: number
  /**
   * Full jitter (default `true`): each delay is drawn uniformly from `[0, ceiling]`. `false` waits
   * exactly the ceiling (useful when a server's `retry:` must be honoured to the millisecond).
   */
  jitter?: boolean
}

/** The defaults of {@link RetryOptions}, documented there. */
export const DEFAULT_RETRY_OPTIONS: Readonly<Required<RetryOptions>> = Object.freeze({
  initialDelay: 1_000,
  maxDelay: 30_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
  minUptime: 5_000,
  jitter: true,
})

/**
 * The longest delay a timer can hold: `setTimeout` turns anything above 2^31 - 1 ms (~24.8 days)
 * into 1 ms, in Node and in browsers (https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#timers
 * converts the timeout to a 32-bit signed integer). A server asking for a longer `retry:` or
 * `Retry-After` must get the longest wait, never a reconnect storm.
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1

function check(name: keyof RetryOptions, value: number, min: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min) {
    throw new TypeError(`retry.${name} must be a number >= ${min}, got ${String(value)}`)
  }
  return value
}

/**
 * The one retry policy: exponential backoff with full jitter, a cap, a maximum number of attempts,
 * and server-given delays (`retry:` in SSE, `Retry-After` on 429/503).
 * See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/ for why full jitter.
 *
 * @example
 * ```ts
 * const policy = new RetryPolicy({ initialDelay: 100 })
 * policy.delay(1) // in [0, 100]
 * policy.delay(3) // in [0, 400]
 * ```
 */
export class RetryPolicy {
  readonly options: Readonly<Required<RetryOptions>>
  /** The reconnection time the server asked for with SSE `retry:`; replaces `initialDelay` once set. */
  serverDelay: number | undefined
  readonly #random: () => number

  /**
   * @param options `false` turns reconnection off (`maxAttempts: 0`).
   * @param random Source of jitter in `[0, 1)`; injectable so tests can check the bounds exactly.
   */
  constructor(options?: RetryOptions | false, random: () => number = Math.random) {
    const merged = { ...DEFAULT_RETRY_OPTIONS, ...(options === false ? { maxAttempts: 0 } : options) }
    for (const name of ['initialDelay', 'maxDelay', 'factor', 'maxAttempts', 'minUptime'] as const) {
      check(name, merged[name], name === 'factor' ? 1 : 0)
    }
    this.options = Object.freeze(merged)
    this.#random = random
  }

  /**
   * The largest delay (ms) before attempt number `attempt` (1 = first retry after a failure), before
   * jitter: `min(cap, initial * factor^(attempt - 1))`. A server's `retry:` replaces `initial`, and
   * may raise the cap: the server asked for that long, we never wait less than it asked.
   */
  ceiling(attempt: number): number {
    const initial = this.serverDelay ?? this.options.initialDelay
    const cap = Math.max(this.options.maxDelay, initial)
    const grown = initial * this.options.factor ** Math.max(0, attempt - 1)
    return Math.min(cap, grown)
  }

  /**
   * The delay (ms) before retry number `attempt`, or `undefined` when `maxAttempts` is exhausted and
   * the connection must close. `retryAfter` (ms, from a `Retry-After` header) is a floor: the server
   * said not before then (RFC 9110 §10.2.3), so jitter never brings the delay below it. Never more
   * than 2^31 - 1 ms, the longest a timer can wait.
   */
  delay(attempt: number, retryAfter?: number): number | undefined {
    if (attempt > this.options.maxAttempts) return undefined
    const ceiling = this.ceiling(attempt)
    const jittered = this.options.jitter ? Math.floor(this.#random() * (ceiling + 1)) : ceiling
    return Math.min(MAX_TIMER_DELAY, retryAfter === undefined ? jittered : Math.max(retryAfter, jittered))
  }
}

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns ms from
 * `now` (never negative), or `undefined` when absent or malformed.
 *
 * @example
 * ```ts
 * parseRetryAfter('120')                           // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT') // ms until then, 0 if past
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value == null) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // Only the HTTP-date form can contain letters; Date.parse alone would accept "1.5" or "-1".
  if (!/[a-z]/i.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
