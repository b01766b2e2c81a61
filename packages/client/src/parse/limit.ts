/**
 * Validates a size limit option: a positive integer number of bytes, or the default when omitted.
 * There is deliberately no "unlimited": every buffer has a bound. Misuse throws a `TypeError` that
 * names the option.
 *
 * @internal
 */
export function checkLimit(caller: string, name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (Number.isSafeInteger(value) && value > 0) return value
  throw new TypeError(`${caller}: ${name} must be a positive integer number of bytes, got ${String(value)}.`)
}
