import type { Connection, SluiceError } from '@sluice/client'
import { useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react'
import { connectionIdentity } from './options.js'
import { type ConnectionEntry, type EntryRequest, obtainEntry } from './shared.js'
import { type Fold, type StoreConfig, type StoreSnapshot, StreamStore } from './store.js'
import { HOOK_OPTION_NAMES, type StreamHookOptions, type StreamResult, type Throttle } from './types.js'

/** Default {@link Throttle}: one render per animation frame at most, however fast messages arrive. */
export const DEFAULT_THROTTLE: Throttle = 'frame'

/** What a wrapper (`useEventStream`, `useNdjson`, `useSocket`) tells the base hook. */
export interface ConnectionHookConfig<TMessage, TState, TData, TConnection extends Connection<TMessage, unknown>> {
  /** Name used in error messages, e.g. `"useEventStream"`. Also part of a shared key's identity. */
  readonly hookName: string
  /** Everything the user passed: hook options and client options together. */
  readonly options: Readonly<StreamHookOptions<TMessage>>
  readonly fold: Fold<TMessage, TState, TData>
  /** Creates the client connection; `previous` is the one it replaces (resume from it). */
  readonly open: (url: string | URL, options: Record<string, unknown>, previous: TConnection | null) => TConnection
}

/**
 * The base hook's result: the public result (memoised: a new object only when the published state
 * changes) and, for wrappers that need it (`send`), a stable getter of the live connection —
 * `null` while idle, paused, or before the effect that creates it has run.
 */
export type ConnectionHookResult<TData, TConnection> = readonly [
  result: StreamResult<TData>,
  getConnection: () => TConnection | null,
]

// useLayoutEffect keeps the callback ref current before any effect or message can read it; on the
// server neither runs, and choosing useEffect there keeps React 18 from warning about layout effects.
const useIsomorphicLayoutEffect = typeof document === 'undefined' ? useEffect : useLayoutEffect

interface Latest<TMessage, TState, TData, TConnection extends Connection<TMessage, unknown>> {
  url: string | URL | null | undefined
  clientOptions: Record<string, unknown>
  config: ConnectionHookConfig<TMessage, TState, TData, TConnection>
  storeConfig: StoreConfig<TMessage, TState, TData>
}

function splitOptions(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const client: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(options)) if (!HOOK_OPTION_NAMES.has(name)) client[name] = value
  return client
}

function shouldThrow(option: StreamHookOptions<unknown>['throwOnError'], error: SluiceError): boolean {
  return typeof option === 'function' ? option(error) : option === true
}

/**
 * The one base hook behind `useEventStream`, `useNdjson` and `useSocket`: `useSyncExternalStore`
 * over a {@link StreamStore}, plus the connection's lifecycle. It holds no connection logic.
 *
 * - The connection is created in an effect (never during render, so server rendering and
 *   `<StrictMode>`'s double render open nothing) and closed in the effect's cleanup.
 * - The effect depends on one string, the connection's identity (URL + options by value), so a
 *   new options object or callback identity never reconnects, while a changed header does.
 */
export function useConnection<TMessage, TState, TData, TConnection extends Connection<TMessage, unknown>>(
  url: string | URL | null | undefined,
  config: ConnectionHookConfig<TMessage, TState, TData, TConnection>,
): ConnectionHookResult<TData, TConnection> {
  const { options } = config
  // Option bags are interfaces (no index signature); here they are walked generically.
  const allOptions = options as Readonly<Record<string, unknown>>
  const clientOptions = splitOptions(allOptions)
  const enabled = options.enabled !== false && url !== null && url !== undefined
  const pauseWhenHidden = options.pauseWhenHidden === true
  const identity = enabled
    ? connectionIdentity(config.hookName, url, pauseWhenHidden ? { ...clientOptions, pauseWhenHidden } : clientOptions)
    : null
  const key = options.key

  const throttle = options.throttle ?? DEFAULT_THROTTLE
  if (throttle !== 'frame' && !(typeof throttle === 'number' && throttle >= 0 && throttle < Number.POSITIVE_INFINITY)) {
    throw new TypeError(
      `${config.hookName}: throttle must be a number of milliseconds >= 0 or 'frame', got ${String(throttle)}`,
    )
  }
  const storeConfig: StoreConfig<TMessage, TState, TData> = {
    fold: config.fold,
    throttle,
    onMessage: options.onMessage,
    options: allOptions,
  }
  const latest = useRef<Latest<TMessage, TState, TData, TConnection>>({ url, clientOptions, config, storeConfig })
  const [store] = useState(() => new StreamStore<TMessage, TState, TData>(() => latest.current.storeConfig))
  useIsomorphicLayoutEffect(() => {
    latest.current = { url, clientOptions, config, storeConfig }
    store.throttleChanged()
  })

  // The entry the store follows; kept after cleanup so a remount with the same identity (StrictMode)
  // reuses it while its deferred dispose is still pending.
  const entryRef = useRef<ConnectionEntry<TMessage, TConnection> | null>(null)

  useEffect(() => {
    if (identity === null) return
    const { url: currentUrl, clientOptions: currentOptions, config: currentConfig } = latest.current
    if (currentUrl === null || currentUrl === undefined) return
    const previous = entryRef.current
    let entry: ConnectionEntry<TMessage, TConnection>
    if (previous !== null && !previous.disposed && previous.identity === identity && previous.key === key) {
      entry = previous
    } else {
      // The old connection closes before the new one makes its request, with no code here: the
      // cleanup that just ran queued the old entry's dispose (a microtask), and a new connection
      // makes its first request only after awaiting its headers (SSE, NDJSON) or a timer
      // (partysocket), so that microtask runs first (test/react/lifecycle-order.test.tsx). Nothing
      // the old one still delivers reaches this store: attach() drops a replaced connection's messages.
      const request: EntryRequest<TMessage, TConnection> = {
        identity,
        key,
        url: currentUrl,
        options: currentOptions,
        pauseWhenHidden,
        open: currentConfig.open,
      }
      entry = obtainEntry(request, currentConfig.hookName)
    }
    entryRef.current = entry
    store.begin(identity, () => entry.paused)
    entry.add(store)
    return () => {
      store.detach()
      entry.remove(store)
    }
  }, [store, identity, key, pauseWhenHidden])

  const published = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot)
  const { fold } = config
  // Recomputed per identity only: `initialState` is read once per connection, like `useReducer`'s.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new fold identity (every render) must not reset the state
  const initial = useMemo<StoreSnapshot<TData>>(
    () => ({
      identity: identity ?? '',
      thrown: undefined,
      status: identity === null ? 'idle' : 'connecting',
      data: fold.view(fold.initial(undefined)),
      error: undefined,
      attempt: 0,
      lastEventId: '',
    }),
    [identity],
  )
  // Until the effect attached this identity's connection (first render, server render, right after
  // a URL change) the hook shows the initial state of the *requested* connection, never the old one.
  const current: StoreSnapshot<TData> = published !== null && published.identity === identity ? published : initial

  if (current.thrown !== undefined) throw current.thrown.error
  if (
    current.status === 'closed' &&
    current.error !== undefined &&
    options.throwOnError &&
    shouldThrow(options.throwOnError, current.error)
  ) {
    throw current.error
  }

  const actions = useMemo(
    () => ({
      close: () => {
        entryRef.current?.close()
      },
      reconnect: () => {
        entryRef.current?.reconnect()
      },
      getConnection: (): TConnection | null => {
        const entry = entryRef.current
        return entry === null || entry.disposed || entry.paused ? null : entry.connection
      },
    }),
    [],
  )

  const result = useMemo(
    () => ({
      status: current.status,
      data: current.data,
      error: current.error,
      attempt: current.attempt,
      lastEventId: current.lastEventId,
      close: actions.close,
      reconnect: actions.reconnect,
    }),
    [current, actions],
  )
  return [result, actions.getConnection]
}
