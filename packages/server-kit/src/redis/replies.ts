/**
 * Raw replies of the stream commands, normalised. The store sends commands with `sendCommand` so
 * that it works the same on node-redis v5 and v6 and whatever reply transformation the application
 * configured; the price is that a reply's shape depends on the protocol: RESP2 answers maps as flat
 * `[key, value, ...]` arrays, RESP3 as maps (plain objects or `Map`s, depending on the client's
 * type mapping), and strings may be `Buffer`s.
 */

/** One stream entry: its id and its field/value pairs. */
export interface RawEntry {
  readonly id: string
  readonly fields: ReadonlyMap<string, string>
}

/** A bulk string reply as text. */
export function text(value: unknown, what: string): string {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8')
  if (typeof value === 'number') return String(value)
  throw new TypeError(`Unexpected Redis reply for ${what}: ${describe(value)}`)
}

/** A map reply (RESP3 object or `Map`, or a RESP2 flat array) as key/value pairs. */
export function pairs(value: unknown, what: string): Map<string, unknown> {
  const result = new Map<string, unknown>()
  if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) result.set(text(value[i], what), value[i + 1])
    return result
  }
  if (value instanceof Map) {
    for (const [key, item] of value) result.set(text(key, what), item)
    return result
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) result.set(key, item)
    return result
  }
  throw new TypeError(`Unexpected Redis reply for ${what}: ${describe(value)}`)
}

/** The reply of `XRANGE` / `XREVRANGE` (or one stream of `XREAD`): `[[id, [field, value, ...]], ...]`. */
export function entries(value: unknown, what: string): RawEntry[] {
  if (value === null || value === undefined) return []
  if (!Array.isArray(value)) throw new TypeError(`Unexpected Redis reply for ${what}: ${describe(value)}`)
  return value.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new TypeError(`Unexpected Redis stream entry in ${what}: ${describe(entry)}`)
    }
    const fields = new Map<string, string>()
    for (const [key, item] of pairs(entry[1], what)) fields.set(key, text(item, what))
    return { id: text(entry[0], what), fields }
  })
}

/**
 * The entries of `key` in an `XREAD` reply: RESP2 `[[key, entries]]`, RESP3 `{ key: entries }`;
 * `null` when `BLOCK` timed out.
 */
export function streamEntries(value: unknown, key: string, what: string): RawEntry[] {
  if (value === null || value === undefined) return []
  if (Array.isArray(value)) {
    for (const stream of value) {
      if (Array.isArray(stream) && stream.length === 2 && text(stream[0], what) === key) return entries(stream[1], what)
    }
    return []
  }
  return entries(pairs(value, what).get(key), what)
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `an array of ${value.length}`
  return typeof value
}
