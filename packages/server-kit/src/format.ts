/**
 * SSE and NDJSON encoding: the only place that turns a value into bytes on the wire.
 *
 * SSE format: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * NDJSON: https://github.com/ndjson/ndjson-spec
 */

/**
 * One Server-Sent Events message, as yielded by an SSE source and accepted by {@link formatEvent}.
 * Every field is optional; a message without `data` dispatches no event in the browser but still
 * sets the last event ID (`id`) or the reconnection delay (`retry`).
 */
export interface EventMessage<T = unknown> {
  /** The payload. A string is sent as is (one `data:` line per line); anything else is `JSON.stringify`-ed. */
  data?: T
  /** The event type (`addEventListener(type)` in the browser); the browser's default is `"message"`. */
  event?: string
  /** The event ID the client sends back as `Last-Event-ID` when it reconnects. */
  id?: string
  /** Reconnection delay in milliseconds the client should use from now on. */
  retry?: number
  /** A comment line, ignored by clients (keepalives, debugging). */
  comment?: string
}

// The SSE grammar ends a line at CRLF, a lone LF or a lone CR, so all three split a value.
// https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
const LINE_BREAK = /\r\n|\r|\n/

function checkField(name: 'event' | 'id', value: unknown): string {
  if (typeof value !== 'string') {
    throw new TypeError(`formatEvent: \`${name}\` must be a string, got ${describe(value)}`)
  }
  // A line break would end the field early and let the rest of the value inject other fields
  // (`id: 1\nevent: admin`), so it is refused rather than escaped.
  if (value.includes('\n') || value.includes('\r')) {
    throw new TypeError(
      `formatEvent: \`${name}\` must not contain CR or LF (it would inject SSE fields): ${JSON.stringify(value)}`,
    )
  }
  // The spec makes clients ignore an `id` field that contains NUL, so sending one would silently
  // lose the ID: https://html.spec.whatwg.org/multipage/server-sent-events.html#processField
  if (name === 'id' && value.includes('\0')) {
    throw new TypeError(
      `formatEvent: \`id\` must not contain NUL (clients ignore such an id): ${JSON.stringify(value)}`,
    )
  }
  return value
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

function lines(prefix: string, text: string): string {
  // Most values are one line: two scans are much cheaper than a regex split and its array.
  if (text.indexOf('\n') === -1 && text.indexOf('\r') === -1) return `${prefix}${text}\n`
  let out = ''
  for (const line of text.split(LINE_BREAK)) out += `${prefix}${line}\n`
  return out
}

/**
 * Encodes one SSE message as text, ending with the blank line that dispatches it.
 *
 * - `data` that is not a string is `JSON.stringify`-ed (a value JSON cannot encode throws a
 *   `TypeError`, see {@link formatNdjsonLine}); text with line breaks (CR, LF or CRLF) becomes
 *   several `data:` lines, which the client joins back with `\n`.
 * - `comment` is split the same way into `:` lines.
 * - An `event` or `id` containing CR or LF, or an `id` containing NUL, throws a `TypeError`: no
 *   field injection, no silently ignored id.
 * - `retry` must be a non-negative integer (milliseconds), else `TypeError`.
 *
 * Each field value is written after `": "`; the parser strips exactly one leading space, so values
 * that start with spaces survive.
 *
 * @example
 * ```ts
 * formatEvent({ event: 'price', id: '42', data: { symbol: 'ACME', price: 12.5 } })
 * // 'event: price\nid: 42\ndata: {"symbol":"ACME","price":12.5}\n\n'
 * ```
 */
export function formatEvent(msg: EventMessage): string {
  if (typeof msg !== 'object' || msg === null) {
    throw new TypeError(`formatEvent: expected a message object like { data }, got ${describe(msg)}`)
  }
  let out = ''
  if (msg.comment !== undefined) {
    if (typeof msg.comment !== 'string') {
      throw new TypeError(`formatEvent: \`comment\` must be a string, got ${describe(msg.comment)}`)
    }
    out += lines(': ', msg.comment)
  }
  if (msg.retry !== undefined) {
    if (typeof msg.retry !== 'number' || !Number.isSafeInteger(msg.retry) || msg.retry < 0) {
      // Clients only accept ASCII digits: https://html.spec.whatwg.org/multipage/server-sent-events.html#processField
      throw new TypeError(`formatEvent: \`retry\` must be a non-negative integer (ms), got ${describe(msg.retry)}`)
    }
    out += `retry: ${msg.retry}\n`
  }
  if (msg.event !== undefined) out += `event: ${checkField('event', msg.event)}\n`
  if (msg.id !== undefined) out += `id: ${checkField('id', msg.id)}\n`
  if (msg.data !== undefined) {
    // `JSON.stringify` escapes every control character inside strings and adds no whitespace
    // without an indent argument, so its output is always one line: no split needed.
    out +=
      typeof msg.data === 'string'
        ? lines('data: ', msg.data)
        : `data: ${encodeJson(msg.data, 'formatEvent: `data`')}\n`
  }
  return `${out}\n`
}

/**
 * Encodes one NDJSON line: `JSON.stringify(value)` plus `\n`. `JSON.stringify` never emits a raw
 * line break (they are escaped inside strings), so one value is always exactly one line.
 *
 * A value JSON cannot encode throws a `TypeError` that names the problem instead of writing a
 * broken line: `undefined`, a function or a symbol (for which `JSON.stringify` returns
 * `undefined`), a cycle, or a BigInt. Inside objects, `undefined` and function properties are
 * dropped as `JSON.stringify` always does.
 *
 * @example
 * ```ts
 * formatNdjsonLine({ step: 1, text: 'a\nb' }) // '{"step":1,"text":"a\\nb"}\n'
 * ```
 */
export function formatNdjsonLine(value: unknown): string {
  return `${encodeJson(value, 'NDJSON value')}\n`
}

function encodeJson(value: unknown, what: string): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (error) {
    // A cycle or a BigInt: JSON.stringify's own message names which one; keep it as the cause.
    const reason = error instanceof Error ? error.message : String(error)
    throw new TypeError(`${what} cannot be encoded as JSON: ${reason}`, { cause: error })
  }
  if (text === undefined) {
    throw new TypeError(
      `${what} cannot be encoded as JSON: JSON.stringify returned undefined for ${typeof value} (send null or a JSON value instead)`,
    )
  }
  return text
}
