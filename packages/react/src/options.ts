/**
 * How the hooks decide whether a re-render asks for a *different* connection.
 *
 * Users write `useEventStream(url, { headers: { authorization: token }, onMessage: (m) => ... })`
 * inline, so every render passes new objects and new functions. Reconnecting on identity would open
 * a connection per render (a complaint about today's hooks), so:
 * - data options (URL, method, headers, body, retry, heartbeat, ...) are compared **by value**:
 *   they are folded into one string, the connection's *identity*, used as an effect dependency;
 * - top-level functions (`onOpen`, `onError`, `parse`, `done`, `fetch`, `serialize`, ...) and the
 *   `schema` are **read from a ref** when called, so a new identity never reconnects; only whether
 *   they are present is part of the identity (presence changes what the connection does).
 */

/** The option whose value is a constructor: compared by identity, never wrapped (`new` needs the real class). */
const CONSTRUCTOR_OPTION = 'WebSocket'

/** The option read through a ref although it is an object, because users often build it inline. */
const REF_OBJECT_OPTION = 'schema'

let nextObjectId = 0
// Objects that have no meaningful value to compare (a Blob, a FormData, an AbortSignal, a class)
// are compared by identity: a WeakMap gives each one a stable number without keeping it alive.
const objectIds = new WeakMap<object, number>()

function objectId(value: object): number {
  let id = objectIds.get(value)
  if (id === undefined) {
    id = ++nextObjectId
    objectIds.set(value, id)
  }
  return id
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Serialises `value` so that two values that would make the same request give the same string:
 * plain objects with sorted keys, arrays, `Headers` (lower-cased, sorted; header names are
 * case-insensitive, RFC 9110 §5.1), `URL`, `URLSearchParams`, byte buffers by content. Functions
 * give `fn` (presence only: they are read from a ref, see {@link bindRefOptions}). Any other object
 * (a `Blob`, a `FormData`, an `AbortSignal`, a class) is compared by identity.
 */
export function valueKey(value: unknown, seen: Set<object> = new Set()): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
    case 'boolean':
      return String(value)
    case 'bigint':
      return `${value}n`
    case 'undefined':
      return 'u'
    case 'symbol':
      return `sym#${objectId(Object(value) as object)}`
    case 'function':
      return 'fn'
  }
  if (value === null) return 'null'
  const object = value as object
  // A cycle cannot describe a request; identity is the only safe comparison for it.
  if (seen.has(object)) return `cycle#${objectId(object)}`
  seen.add(object)
  try {
    if (Array.isArray(object)) return `[${object.map((item) => valueKey(item, seen)).join(',')}]`
    if (typeof Headers !== 'undefined' && object instanceof Headers) {
      const entries = [...object.entries()].map(
        ([name, v]) => `${JSON.stringify(name.toLowerCase())}:${JSON.stringify(v)}`,
      )
      return `Headers{${entries.sort().join(',')}}`
    }
    if (typeof URL !== 'undefined' && object instanceof URL) return `URL(${JSON.stringify(object.href)})`
    if (typeof URLSearchParams !== 'undefined' && object instanceof URLSearchParams) {
      return `URLSearchParams(${JSON.stringify(object.toString())})`
    }
    if (object instanceof ArrayBuffer) return `ArrayBuffer(${bytesKey(new Uint8Array(object))})`
    if (ArrayBuffer.isView(object)) {
      return `${object.constructor.name}(${bytesKey(new Uint8Array(object.buffer, object.byteOffset, object.byteLength))})`
    }
    if (isPlainObject(object)) {
      const keys = Object.keys(object).sort()
      // `undefined` members are dropped: `{ a: undefined }` and `{}` make the same request.
      const parts = keys
        .filter((k) => object[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${valueKey(object[k], seen)}`)
      return `{${parts.join(',')}}`
    }
    return `obj#${objectId(object)}`
  } finally {
    seen.delete(object)
  }
}

function bytesKey(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}

/**
 * The identity of a connection request: kind, URL and every connection-affecting option by value,
 * callbacks by presence only. Two hooks with the same identity can share one connection; a hook
 * whose identity changes reconnects.
 */
export function connectionIdentity(
  kind: string,
  url: string | URL,
  options: Readonly<Record<string, unknown>>,
): string {
  const parts: string[] = []
  for (const name of Object.keys(options).sort()) {
    const value = options[name]
    if (value === undefined) continue
    let key: string
    if (name === CONSTRUCTOR_OPTION && typeof value === 'function') key = `ctor#${objectId(value)}`
    else if (name === REF_OBJECT_OPTION && isStandardSchema(value)) key = 'schema'
    else if (name === 'headers') key = headersKey(value)
    else key = valueKey(value)
    parts.push(`${JSON.stringify(name)}:${key}`)
  }
  return `${kind} ${JSON.stringify(String(url))} {${parts.join(',')}}`
}

/**
 * `headers` in any `HeadersInit` form (object, array of pairs, `Headers`) as one canonical string:
 * `{ 'X-Token': 'a' }`, `[['x-token', 'a']]` and `new Headers({ 'x-token': 'a' })` send the same
 * request. `Headers` lower-cases names, sorts them and joins repeated ones (Fetch standard, "sort
 * and combine").
 */
function headersKey(value: unknown): string {
  if (typeof Headers === 'undefined') return valueKey(value)
  let headers: Headers
  try {
    headers = new Headers(value as ConstructorParameters<typeof Headers>[0])
  } catch {
    // Not a valid HeadersInit: fetch will reject it with its own error; compare it as it is.
    return valueKey(value)
  }
  return valueKey(headers)
}

/** The Standard Schema interface, structurally: https://standardschema.dev */
interface StandardSchemaLike {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => unknown
  }
}

function isStandardSchema(value: unknown): value is StandardSchemaLike {
  // Some validators (ArkType) are functions that also carry `~standard`.
  return (typeof value === 'object' || typeof value === 'function') && value !== null && '~standard' in value
}

/** Notification callbacks (`onOpen`, `onError`, ...) go to every component sharing a connection. */
function isNotification(name: string): boolean {
  return /^on[A-Z]/.test(name)
}

function at(value: unknown, path: readonly string[]): unknown {
  let current = value
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<string, unknown>)[segment]
  }
  return current
}

/**
 * Builds the options handed to the client: every function (at any depth inside plain objects, e.g.
 * `heartbeat.isPong`) and the `schema` are replaced by stand-ins that look the current value up at
 * call time, so the connection created on mount keeps using the latest `parse`, `onError`,
 * `schema`... of the component(s) using it.
 *
 * `current()` returns the current options of every component sharing the connection (one for an
 * unshared connection). Notifications (`on*`) are called on each; any other function (`parse`,
 * `fetch`, `done`...) and the schema are taken from the first that has one, since the connection
 * can only run one (components sharing a key must pass equivalent ones).
 */
export function bindRefOptions(
  template: Readonly<Record<string, unknown>>,
  current: () => readonly Readonly<Record<string, unknown>>[],
): Record<string, unknown> {
  const candidates = (path: readonly string[]) => current().map((options) => at(options, path))
  const bind = (value: unknown, path: readonly string[]): unknown => {
    const name = path[path.length - 1] ?? ''
    if (path.length === 1 && name === CONSTRUCTOR_OPTION) return value
    if (path.length === 1 && name === REF_OBJECT_OPTION && isStandardSchema(value)) {
      const fallback = value
      return {
        '~standard': {
          ...value['~standard'],
          validate: (input: unknown) => {
            const schema = candidates(path).find(isStandardSchema) ?? fallback
            return schema['~standard'].validate(input)
          },
        },
      }
    }
    if (typeof value === 'function') {
      const fallback = value as (...args: unknown[]) => unknown
      if (isNotification(name)) {
        return (...args: unknown[]) => {
          for (const fn of candidates(path)) if (typeof fn === 'function') fn(...args)
        }
      }
      return (...args: unknown[]) => {
        // The identity records presence, so a component that drops the option gets a new
        // connection; until that effect runs, the original function is the right fallback.
        const fn = candidates(path).find((candidate) => typeof candidate === 'function') ?? fallback
        return (fn as (...a: unknown[]) => unknown)(...args)
      }
    }
    if (typeof value === 'object' && value !== null && isPlainObject(value)) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = bind(v, [...path, k])
      return out
    }
    return value
  }
  const bound: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(template)) if (value !== undefined) bound[name] = bind(value, [name])
  return bound
}
