import {
  createNdjsonStream,
  type EventDefinition,
  type EventEnvelope,
  type NdjsonStreamConnection,
  type NdjsonStreamOptions,
  type UnknownEvents,
} from '@sluice/client'
import { type Fold, reducerFold } from './store.js'
import type { ReduceOptions, StreamHookOptions, StreamResult } from './types.js'
import { useConnection } from './use-connection.js'

/**
 * Default `maxItems`: the most recent 10 000 items are kept. An unbounded default would let a
 * long-running stream grow the page's memory forever; `maxItems: Infinity` opts out.
 */
export const DEFAULT_MAX_ITEMS = 10_000

/**
 * Options of {@link useNdjson}: the client's `NdjsonStreamOptions` (request options, `parse`,
 * `schema`, `maxLineSize`, `retry`, `onOpen`, `onError`, the resume hook, ...) plus the hook options.
 */
export interface UseNdjsonOptions<T = unknown> extends Omit<NdjsonStreamOptions<T>, 'onMessage'>, StreamHookOptions<T> {
  /**
   * Without `reduce`, `data` accumulates every item (progressive loading) and keeps the most recent
   * `maxItems` (default {@link DEFAULT_MAX_ITEMS}; `Infinity` keeps all). Older items are dropped
   * from `data` only; `onMessage` and `reduce` still see every item.
   */
  maxItems?: number
}

/** {@link UseNdjsonOptions} with a reducer: `data` is the folded state instead of the item array. */
export interface UseNdjsonReduceOptions<T, TState> extends UseNdjsonOptions<T>, ReduceOptions<T, TState> {}

/**
 * {@link useNdjson} options with a shared definition (`defineEvents`): each line is an envelope
 * `{ type, data }` validated on receipt, and items are a discriminated union on the definition's
 * discriminator (see `TypedNdjsonStreamOptions` in `@sluice/client`). Define it at module level.
 */
export interface UseTypedNdjsonOptions<Def extends EventDefinition>
  extends Omit<UseNdjsonOptions<EventEnvelope<Def>>, 'parse' | 'schema'> {
  /** The stream's definition, from `defineEvents` (shared with the server). */
  events: Def
  /** Unknown event types: `'ignore'` (default) or `'report'` (a non-fatal `ValidationError`). */
  unknownEvents?: UnknownEvents
}

/** {@link UseTypedNdjsonOptions} with a reducer over the typed envelopes. */
export interface UseTypedNdjsonReduceOptions<Def extends EventDefinition, TState>
  extends UseTypedNdjsonOptions<Def>,
    ReduceOptions<EventEnvelope<Def>, TState> {}

function checkMaxItems(maxItems: number): number {
  if (!(maxItems >= 1) || (!Number.isInteger(maxItems) && maxItems !== Number.POSITIVE_INFINITY)) {
    throw new TypeError(`useNdjson: maxItems must be an integer >= 1 or Infinity, got ${String(maxItems)}`)
  }
  return maxItems
}

/**
 * Accumulates items in one private array (no copy per item, so 10 000 items cost O(n), not
 * O(n²)); each publish copies out the last `maxItems`. The array is trimmed once it holds twice
 * the cap, which bounds memory at 2 × `maxItems` items with amortised O(1) work per item.
 */
function accumulate<T>(maxItems: number): Fold<T, T[], readonly T[]> {
  return {
    initial: () => [],
    step: (items, item) => {
      items.push(item)
      if (items.length >= 2 * maxItems) items.splice(0, items.length - maxItems)
      return items
    },
    view: (items) => (items.length > maxItems ? items.slice(-maxItems) : items.slice()),
  }
}

/**
 * A stream of newline-delimited JSON (`createNdjsonStream` from `@sluice/client`) as React state.
 * `data` is the array of items received so far (capped by `maxItems`), or what `reduce` folds.
 *
 * @example
 * ```tsx
 * type Row = { id: string; name: string }
 * function Results({ query }: { query: string }) {
 *   const { data: rows, status, error } = useNdjson<Row>(`/search?q=${encodeURIComponent(query)}`, { retry: false })
 *   if (error) return <p>Failed: {error.message}</p>
 *   return (
 *     <ul aria-busy={status === 'open'}>
 *       {rows.map((row) => <li key={row.id}>{row.name}</li>)}
 *     </ul>
 *   )
 * }
 * ```
 */
export function useNdjson<Def extends EventDefinition>(
  url: string | URL | null | undefined,
  options: UseTypedNdjsonOptions<Def> & { reduce?: undefined },
): StreamResult<readonly EventEnvelope<Def>[]>
export function useNdjson<Def extends EventDefinition, TState>(
  url: string | URL | null | undefined,
  options: UseTypedNdjsonReduceOptions<Def, TState>,
): StreamResult<TState>
export function useNdjson<T = unknown>(
  url: string | URL | null | undefined,
  options?: UseNdjsonOptions<T> & { reduce?: undefined },
): StreamResult<readonly T[]>
export function useNdjson<T = unknown, TState = unknown>(
  url: string | URL | null | undefined,
  options: UseNdjsonReduceOptions<T, TState>,
): StreamResult<TState>
export function useNdjson<T, TState>(
  url: string | URL | null | undefined,
  options: UseNdjsonOptions<T> & Partial<ReduceOptions<T, TState>> = {},
): StreamResult<readonly T[] | TState> {
  const { reduce } = options
  const fold: Fold<T, unknown, unknown> =
    reduce === undefined
      ? (accumulate<T>(checkMaxItems(options.maxItems ?? DEFAULT_MAX_ITEMS)) as Fold<T, unknown, unknown>)
      : reducerFold(reduce, options.initialState)
  const [result] = useConnection<T, unknown, unknown, NdjsonStreamConnection<T>>(url, {
    hookName: 'useNdjson',
    options,
    fold,
    open: (target, clientOptions) => createNdjsonStream<T>(target, clientOptions as NdjsonStreamOptions<T>),
  })
  // Already memoized by useConnection; only its data type is narrowed here.
  return result as StreamResult<readonly T[] | TState>
}
