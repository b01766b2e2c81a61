import { useSyncExternalStore } from 'react'

/** The five pages, in sidebar order. The hash (`#/feed`) is the route: no router library needed. */
export const routes = [
  { path: 'feed', title: 'Live feed', subtitle: 'SSE · channel · replay', icon: '📈' },
  { path: 'tokens', title: 'Token stream', subtitle: 'POST SSE · abort', icon: '💬' },
  { path: 'data', title: 'Big data', subtitle: 'NDJSON · 100,000 rows', icon: '🗂️' },
  { path: 'chat', title: 'Chat', subtitle: 'WebSocket · rooms · queue', icon: '👥' },
  { path: 'download', title: 'Download', subtitle: 'byte stream · progress', icon: '⬇️' },
] as const

export type RoutePath = (typeof routes)[number]['path']

function currentRoute(): RoutePath {
  const hash = window.location.hash.replace(/^#\/?/, '')
  return routes.find((route) => route.path === hash)?.path ?? 'feed'
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange)
  return () => window.removeEventListener('hashchange', onChange)
}

/** The page named by the URL hash; re-renders on `hashchange` (back/forward work too). */
export function useRoute(): RoutePath {
  return useSyncExternalStore(subscribe, currentRoute)
}
