import type { StandardSchemaV1 } from '@standard-schema/spec'
import { ValidationError } from '../errors.js'

/** The outcome of decoding one message: its typed value, or the error that keeps it from delivery. */
export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ValidationError }

/**
 * How a connection turns a raw message into typed data: `parse` first (a throw becomes a
 * `ValidationError` carrying the cause), then the Standard Schema `schema` on its output
 * (https://standardschema.dev: zod, valibot, arktype, ...). A message that fails is not delivered;
 * the caller surfaces the error and the stream goes on.
 *
 * Returns synchronously when the schema validates synchronously, so that ordering and the
 * "listeners are called synchronously" contract hold; a Promise only for async schemas.
 */
export function decode<T>(
  input: unknown,
  parse: ((input: never) => unknown) | undefined,
  schema: StandardSchemaV1<unknown, T> | undefined,
  event?: string,
): Decoded<T> | Promise<Decoded<T>> {
  let value: unknown = input
  if (parse) {
    try {
      value = (parse as (input: unknown) => unknown)(input)
    } catch (cause) {
      return { ok: false, error: parseError(cause, event) }
    }
  }
  if (!schema) return { ok: true, value: value as T }
  // A validator that throws (or rejects) is a failed validation too, never a broken stream.
  const failed = (cause: unknown): Decoded<T> => {
    const reason = cause instanceof Error ? cause.message : String(cause)
    const message = `Schema validation threw${event ? ` on event "${event}"` : ''}: ${reason}`
    return {
      ok: false,
      error: new ValidationError(message, [{ message: reason }], { cause, ...(event === undefined ? {} : { event }) }),
    }
  }
  let result: StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>>
  try {
    result = schema['~standard'].validate(value)
  } catch (cause) {
    return failed(cause)
  }
  return result instanceof Promise ? result.then((r) => fromResult(r, event), failed) : fromResult(result, event)
}

function fromResult<T>(result: StandardSchemaV1.Result<T>, event: string | undefined): Decoded<T> {
  if (result.issues === undefined) return { ok: true, value: result.value }
  const first = result.issues[0]?.message ?? 'invalid'
  const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more issues)` : ''
  return {
    ok: false,
    error: new ValidationError(
      `A message${event ? ` of event "${event}"` : ''} failed schema validation: ${first}${more}`,
      result.issues,
      event === undefined ? {} : { event },
    ),
  }
}

/** The error of a `parse` option that threw: a `ValidationError` carrying the cause (and the event). */
export function parseError(cause: unknown, event: string | undefined): ValidationError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new ValidationError(
    `Could not parse a message${event ? ` of event "${event}"` : ''}: ${reason}`,
    [{ message: reason }],
    {
      cause,
      ...(event === undefined ? {} : { event }),
    },
  )
}
