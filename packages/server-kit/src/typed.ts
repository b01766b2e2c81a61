import { assertEnvelope, assertEvent, type EventDefinition, type EventInput, type EventName } from '@sluice/client'
import type { Channel, ChannelSubscription, SubscribeOptions } from './channel/channel.js'
import type { EventMessage } from './format.js'

/**
 * Whether typed publishes validate by default: in development, not in production, as React and most
 * libraries decide (`NODE_ENV`). Read at call time, never at import (no side effects at import), and
 * through `globalThis` so runtimes without `process` (Workers, Deno without compat) get `true`.
 */
export function validatesByDefault(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  return env?.NODE_ENV !== 'production'
}

/** Options of the typed server helpers (`typedChannel`, `typedEvent`, `typedEnvelope`). */
export interface TypedOptions {
  /**
   * Validate every payload against its schema before it is published or yielded (a bad one throws
   * a `ValidationError` naming the event type and the issue, and nothing reaches the wire).
   * Default: `true` unless `NODE_ENV` is `"production"` (the compile-time types still hold there).
   */
  validate?: boolean
}

/**
 * A channel published through a definition: `publish('tick', { n: 1 })` is checked at compile time
 * (event type and payload) and, in development, at run time. Subscriptions are the channel's own
 * (a typed client validates on receipt).
 */
export interface TypedChannel<Def extends EventDefinition, TPublished extends string | Promise<string> = string> {
  /**
   * Publishes `data` as event type `event`; returns the id the channel assigned. Throws
   * `ValidationError` (code `VALIDATION_ERROR`, with `event` and `issues`) for a payload that
   * does not match its schema when validating, `TypeError` for an unknown event type.
   */
  publish<K extends EventName<Def>>(event: K, data: EventInput<Def, K>): TPublished
  /** As {@link Channel.subscribe}: a subscription is an SSE `source` as it is. */
  subscribe(options?: SubscribeOptions): ChannelSubscription<unknown>
  /** The underlying channel (for `subscriberCount`, `close()`, relays...). */
  readonly channel: Channel<unknown, TPublished>
  /** The definition it publishes through. */
  readonly definition: Def
}

/**
 * Wraps a channel so that publishing goes through a shared definition: a wrong event type or
 * payload is a compile error, and (in development) a clear run-time `ValidationError` before
 * anything is stored or sent. The event type becomes the SSE `event:` field, so a client
 * connected with `createEventStream(url, { events: definition })` gets the discriminated union.
 *
 * @example
 * ```ts
 * const ticks = typedChannel(ticker, createChannel())
 * ticks.publish('tick', { n: 1 })
 * ticks.publish('tick', { n: 'one' }) // compile error; at run time (dev): ValidationError
 * app.get('/ticks', (req, res) =>
 *   sendEventStream(req, res, ({ lastEventId, signal }) => ticks.subscribe({ lastEventId, signal })),
 * )
 * ```
 */
export function typedChannel<Def extends EventDefinition, TPublished extends string | Promise<string>>(
  definition: Def,
  channel: Channel<unknown, TPublished>,
  options: TypedOptions = {},
): TypedChannel<Def, TPublished> {
  const validate = options.validate ?? validatesByDefault()
  return {
    definition,
    channel,
    publish(event, data) {
      if (validate) assertEvent(definition, event, data)
      else assertKnown(definition, event)
      return channel.publish(jsonData(data), { event })
    },
    subscribe: (subscribeOptions) => channel.subscribe(subscribeOptions),
  }
}

/**
 * One typed SSE message to yield from a source (`sendEventStream`, `eventStreamResponse`):
 * `yield typedEvent(ticker, 'tick', { n: 1 })`. Validated in development like
 * {@link typedChannel}'s publish; `id` is optional.
 *
 * @example
 * ```ts
 * eventStreamResponse(request, async function* () {
 *   for (let n = 1; n <= 3; n++) yield typedEvent(ticker, 'tick', { n })
 *   yield typedEvent(ticker, 'done', {})
 * })
 * ```
 */
export function typedEvent<Def extends EventDefinition, K extends EventName<Def>>(
  definition: Def,
  event: K,
  data: EventInput<Def, K>,
  options: TypedOptions & { id?: string } = {},
): EventMessage & { event: K; data: EventInput<Def, K> } {
  if (options.validate ?? validatesByDefault()) assertEvent(definition, event, data)
  else assertKnown(definition, event)
  const encoded = jsonData(data) as EventInput<Def, K>
  return options.id === undefined ? { event, data: encoded } : { event, data: encoded, id: options.id }
}

/**
 * Typed SSE data is always JSON on the wire, because a typed client `JSON.parse`s every message
 * before its schema runs. `formatEvent` JSON-encodes everything but strings (a plain string is sent
 * as its text), so a string payload is encoded here: `"hello"`, not `hello`.
 */
export function jsonData(data: unknown): unknown {
  return typeof data === 'string' ? JSON.stringify(data) : data
}

/**
 * One typed envelope `{ type, data }` (`type` is the definition's discriminator) for an NDJSON
 * line (`ndjsonResponse`, `sendNdjson`) or a WebSocket message, validated in development.
 *
 * @example
 * ```ts
 * ndjsonResponse(request, async function* () {
 *   yield typedEnvelope(progress, 'step', { pct: 50 }) // {"type":"step","data":{"pct":50}}
 * })
 * ```
 */
export function typedEnvelope<Def extends EventDefinition, K extends EventName<Def>>(
  definition: Def,
  event: K,
  data: EventInput<Def, K>,
  options: TypedOptions = {},
): { [P in Def['discriminator']]: K } & { data: EventInput<Def, K> } {
  if (options.validate ?? validatesByDefault()) assertEvent(definition, event, data)
  else assertKnown(definition, event)
  return { [definition.discriminator]: event, data } as { [P in Def['discriminator']]: K } & {
    data: EventInput<Def, K>
  }
}

/**
 * Checks an envelope a socket server is about to send (validated in development), so a bad
 * payload throws before anything is written. Used by `createSocketServer({ events })`.
 */
export function checkEnvelope(definition: EventDefinition, value: unknown, validate: boolean): void {
  if (validate) {
    assertEnvelope(definition, value)
    return
  }
  const event = (value as Record<string, unknown> | null)?.[definition.discriminator]
  assertKnown(definition, typeof event === 'string' ? event : String(event))
}

function assertKnown(definition: EventDefinition, event: string): void {
  // Even without validation an event type outside the definition is refused: a typed client would
  // drop it, which is silent data loss.
  if (!Object.hasOwn(definition.schemas, event)) {
    throw new TypeError(
      `Unknown event type ${JSON.stringify(event)}: the definition has ${definition.events.map((e) => `"${e}"`).join(', ')}`,
    )
  }
}
