import type { StandardSchemaV1 } from '@standard-schema/spec'
import { type Decoded, decode } from './connection/decode.js'
import { ValidationError } from './errors.js'

/** One Standard Schema per event type (https://standardschema.dev: zod, valibot, arktype, ...). */
export type EventSchemas = { readonly [event: string]: StandardSchemaV1 }

/**
 * A stream's event types and the schema of each one's data, shared by the server (what it may
 * publish) and the client (what it receives), with no code generation. Made by {@link defineEvents}.
 *
 * `discriminator` names the field that carries the event type where the transport has no event
 * name of its own (NDJSON lines and WebSocket messages): such a message is the envelope
 * `{ [discriminator]: eventType, data }`. SSE uses its `event:` field instead.
 */
export interface EventDefinition<S extends EventSchemas = EventSchemas, D extends string = string> {
  /** The schema of each event type's data. */
  readonly schemas: S
  /** The envelope field that carries the event type (NDJSON, WebSocket); default `"type"`. */
  readonly discriminator: D
  /**
   * The event types, in definition order. (Typed as `string[]`, not as the keys of `schemas`:
   * `keyof` would make the definition invariant, so a specific definition could not be passed
   * where any definition is accepted.)
   */
  readonly events: readonly string[]
}

/** Options of {@link defineEvents}. */
export interface DefineEventsOptions<D extends string = 'type'> {
  /** The envelope field carrying the event type on NDJSON and WebSocket (default `"type"`). */
  discriminator?: D
}

/** The event type names of a definition (`'tick' | 'done'`). */
export type EventName<Def extends EventDefinition> = keyof Def['schemas'] & string

/** What the server may publish as `data` of event type `K`: the schema's input type. */
export type EventInput<Def extends EventDefinition, K extends EventName<Def>> = StandardSchemaV1.InferInput<
  Def['schemas'][K]
>

/** What the client receives as `data` of event type `K` after validation: the schema's output type. */
export type EventOutput<Def extends EventDefinition, K extends EventName<Def>> = StandardSchemaV1.InferOutput<
  Def['schemas'][K]
>

/**
 * A typed SSE message as `createEventStream(url, { events })` yields it: a discriminated union on
 * `event`, so `if (message.event === 'tick')` narrows `message.data`.
 */
export type TypedEventMessage<Def extends EventDefinition> = {
  [K in EventName<Def>]: { event: K; data: EventOutput<Def, K>; id: string }
}[EventName<Def>]

/** The `data` of any event of a definition, after validation (the snapshot's `data`). */
export type TypedEventData<Def extends EventDefinition> = {
  [K in EventName<Def>]: EventOutput<Def, K>
}[EventName<Def>]

/**
 * A typed NDJSON line or WebSocket message as received: `{ type: 'tick', data: { n: 1 } }` (the
 * `type` key is the definition's `discriminator`), a discriminated union on that key.
 */
export type EventEnvelope<Def extends EventDefinition> = {
  [K in EventName<Def>]: { [P in Def['discriminator']]: K } & { data: EventOutput<Def, K> }
}[EventName<Def>]

/** A typed NDJSON line or WebSocket message as sent: like {@link EventEnvelope} with the input types. */
export type EventEnvelopeInput<Def extends EventDefinition> = {
  [K in EventName<Def>]: { [P in Def['discriminator']]: K } & { data: EventInput<Def, K> }
}[EventName<Def>]

/**
 * The two definitions of a WebSocket endpoint: what the client may send and what the server may
 * send. Pass the same object to `createSocketServer({ events })` and `createSocket(url, { events })`.
 *
 * @example
 * ```ts
 * export const chatEvents = {
 *   client: defineEvents({ say: z.object({ text: z.string() }) }),
 *   server: defineEvents({ said: z.object({ from: z.string(), text: z.string() }) }),
 * } satisfies SocketEvents
 * ```
 */
export interface SocketEvents<
  C extends EventDefinition = EventDefinition,
  S extends EventDefinition = EventDefinition,
> {
  /** What a client may send to the server. */
  readonly client: C
  /** What the server may send to a client. */
  readonly server: S
}

/**
 * What a typed connection does with a message whose event type the definition does not name:
 * `'ignore'` (the default; a server may add event types before its clients know them, and the
 * channel's own `sluice-gap` signal is one) drops it silently; `'report'` drops it and reports a
 * `ValidationError` (snapshot `error`, `onError`) naming the type.
 */
export type UnknownEvents = 'ignore' | 'report'

class Definition<S extends EventSchemas, D extends string> implements EventDefinition<S, D>, DefinitionDecoder {
  readonly schemas: S
  readonly discriminator: D
  readonly events: readonly string[]

  constructor(schemas: S, discriminator: D) {
    this.schemas = schemas
    this.discriminator = discriminator
    this.events = Object.freeze(Object.keys(schemas))
    Object.freeze(this)
  }

  // The client's decoding lives on the definition (not in free functions the connections import),
  // so an app that never calls defineEvents bundles none of it.
  decodeEvent<T>(
    event: string,
    data: unknown,
    unknownEvents: UnknownEvents | undefined,
    parse: ((input: never) => unknown) | undefined,
  ): Decoded<T> | Promise<Decoded<T>> | null {
    const schema = schemaOf(this, event)
    if (schema === undefined) {
      return unknownEvents === 'report' ? { ok: false, error: unknownEventError(this, event) } : null
    }
    return decode<T>(data, parse, schema as StandardSchemaV1<unknown, T>, event)
  }

  decodeEnvelope<T>(value: unknown, unknownEvents: UnknownEvents | undefined): Decoded<T> | Promise<Decoded<T>> | null {
    const event = envelopeEvent(this, value)
    if (typeof event !== 'string') return { ok: false, error: event }
    const decoded = this.decodeEvent<unknown>(event, (value as { data?: unknown }).data, unknownEvents, undefined)
    if (decoded === null) return null
    const wrap = (result: Decoded<unknown>): Decoded<T> =>
      result.ok ? { ok: true, value: { [this.discriminator]: event, data: result.value } as T } : result
    return decoded instanceof Promise ? decoded.then(wrap) : wrap(decoded)
  }
}

/**
 * How a connection decodes with a definition: `null` means "skip silently" (an unknown type with
 * `unknownEvents: 'ignore'`). `decodeEvent` decodes the data of an event named `event` (SSE);
 * `decodeEnvelope` an envelope (NDJSON line, WebSocket message) into `{ [discriminator], data }`.
 *
 * @internal
 */
export interface DefinitionDecoder {
  decodeEvent<T>(
    event: string,
    data: unknown,
    unknownEvents: UnknownEvents | undefined,
    parse: ((input: never) => unknown) | undefined,
  ): Decoded<T> | Promise<Decoded<T>> | null
  decodeEnvelope<T>(value: unknown, unknownEvents: UnknownEvents | undefined): Decoded<T> | Promise<Decoded<T>> | null
}

/**
 * The decoder of a definition made by `defineEvents`; anything else is a `TypeError` when the
 * connection is created (a hand-made object has no validation to run).
 *
 * @internal
 */
export function decoderOf(definition: EventDefinition, name: string): DefinitionDecoder {
  if (typeof (definition as Partial<DefinitionDecoder>).decodeEnvelope !== 'function') {
    throw new TypeError(`${name}: events must be a definition made by defineEvents()`)
  }
  return definition as EventDefinition & DefinitionDecoder
}

/**
 * Defines a stream's event types once, for both ends: each gets a Standard Schema for its data.
 * The server publishes through it (`typedChannel`, `typedEvent`, `createSocketServer({ events })`:
 * a wrong event type or payload is a compile error, and a run-time error in development); the
 * client connects through it (`createEventStream(url, { events })`, `useEventStream`) and gets a
 * discriminated union, validated on receipt.
 *
 * Define it at module level (a hook compares it by identity) and import it from both ends.
 *
 * @example
 * ```ts
 * // shared/events.ts
 * import { z } from 'zod'
 * export const ticker = defineEvents({
 *   tick: z.object({ n: z.number() }),
 *   done: z.object({}),
 * })
 *
 * // client
 * for await (const message of createEventStream('/ticks', { events: ticker })) {
 *   if (message.event === 'tick') console.log(message.data.n) // number
 * }
 * ```
 */
export function defineEvents<S extends EventSchemas, const D extends string = 'type'>(
  schemas: S,
  options: DefineEventsOptions<D> = {},
): EventDefinition<S, D> {
  if (typeof schemas !== 'object' || schemas === null) {
    throw new TypeError('defineEvents: pass an object mapping each event type to a Standard Schema')
  }
  for (const [name, schema] of Object.entries(schemas)) {
    if (!isStandardSchema(schema)) {
      throw new TypeError(
        `defineEvents: the schema of event "${name}" is not a Standard Schema (zod 3.24+, valibot 1+, arktype 2+, ...)`,
      )
    }
    // An event type is an SSE `event:` field value: a line break would inject fields.
    if (name === '' || /[\r\n]/.test(name)) {
      throw new TypeError(`defineEvents: invalid event type ${JSON.stringify(name)} (empty, or contains CR / LF)`)
    }
  }
  const discriminator = (options.discriminator ?? 'type') as D
  if (typeof discriminator !== 'string' || discriminator === '' || discriminator === 'data') {
    throw new TypeError(
      `defineEvents: discriminator must be a non-empty string other than "data", got ${JSON.stringify(discriminator)}`,
    )
  }
  return new Definition(schemas, discriminator)
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  // Some validators (ArkType) are functions that also carry `~standard`.
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Partial<StandardSchemaV1>)['~standard']?.validate === 'function'
  )
}

/** `n: Expected number` (the issue's path, dotted, then its message). */
function describeIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  const text = issues.slice(0, 3).map((issue) => {
    const path = (issue.path ?? []).map((segment) =>
      String(typeof segment === 'object' && segment !== null ? segment.key : segment),
    )
    return path.length > 0 ? `${path.join('.')}: ${issue.message}` : issue.message
  })
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more issues)` : ''
  return `${text.join('; ')}${more}`
}

function schemaOf(definition: EventDefinition, event: string): StandardSchemaV1 | undefined {
  // Own keys only: an event named "constructor" or "__proto__" must not find Object.prototype's.
  return Object.hasOwn(definition.schemas, event) ? definition.schemas[event] : undefined
}

function unknownEventError(definition: EventDefinition, event: string): ValidationError {
  const message = `Unknown event type "${event}": the definition has ${definition.events.map((e) => `"${e}"`).join(', ')}`
  return new ValidationError(message, [{ message }], { event })
}

/**
 * Validates `data` of event type `event` against the definition, synchronously, and returns the
 * schema's output. What server-kit runs before a typed publish, so a bad payload never reaches the
 * wire; usable by anyone who needs the same check.
 *
 * @throws `ValidationError` (with `event` and the schema's `issues`) when the data does not match;
 * `TypeError` for an event type the definition does not name, or a schema that validates
 * asynchronously (a publish cannot wait for it).
 *
 * @example
 * ```ts
 * assertEvent(ticker, 'tick', { n: 'one' })
 * // ValidationError: Event "tick" does not match its schema: n: Invalid input: expected number, received string
 * ```
 */
export function assertEvent<Def extends EventDefinition, K extends EventName<Def>>(
  definition: Def,
  event: K,
  data: unknown,
): EventOutput<Def, K> {
  const schema = schemaOf(definition, event)
  if (schema === undefined) {
    throw new TypeError(
      `Unknown event type ${JSON.stringify(event)}: the definition has ${definition.events.map((e) => `"${e}"`).join(', ')}`,
    )
  }
  let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>
  try {
    result = schema['~standard'].validate(data)
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw new ValidationError(`The schema of event "${event}" threw: ${reason}`, [{ message: reason }], {
      cause,
      event,
    })
  }
  if (result instanceof Promise) {
    // Keep the rejection (if any) from being reported as unhandled: the TypeError below is the answer.
    result.catch(() => undefined)
    throw new TypeError(
      `The schema of event "${event}" validates asynchronously; a typed publish needs a synchronous schema (or validate: false)`,
    )
  }
  if (result.issues !== undefined) {
    throw new ValidationError(
      `Event "${event}" does not match its schema: ${describeIssues(result.issues)}`,
      result.issues,
      { event },
    )
  }
  return result.value as EventOutput<Def, K>
}

/**
 * Validates a whole envelope (`{ type, data }`, an NDJSON line or a WebSocket message)
 * synchronously and returns it with the validated `data`.
 *
 * @throws `ValidationError` when it is not an object with a string discriminator, when the event
 * type is unknown, or when `data` does not match; `TypeError` for an asynchronous schema.
 *
 * @example
 * ```ts
 * assertEnvelope(chat.client, JSON.parse(text)) // { type: 'say', data: { text: 'hi' } }
 * ```
 */
export function assertEnvelope<Def extends EventDefinition>(definition: Def, value: unknown): EventEnvelope<Def> {
  const event = envelopeEvent(definition, value)
  if (typeof event !== 'string') throw event
  if (schemaOf(definition, event) === undefined) throw unknownEventError(definition, event)
  const data = assertEvent(definition, event, (value as { data?: unknown }).data)
  return { [definition.discriminator]: event, data } as EventEnvelope<Def>
}

/** The event type of an envelope, or the error saying why it has none. */
function envelopeEvent(definition: EventDefinition, value: unknown): string | ValidationError {
  const key = definition.discriminator
  const event =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)[key]
      : undefined
  if (typeof event === 'string') return event
  const message = `A message is not an event envelope: expected an object with a string "${key}" field and "data"`
  return new ValidationError(message, [{ message, path: [key] }])
}
