import { SluiceError } from './errors.js'

/**
 * Event type of the first event of a resumable stream (server-kit's `createResumableStreams`): its
 * data is `{ "id": "<stream id>" }`, the id to resume the stream by. A client with the
 * `resumable` option keeps it and does not deliver the event.
 */
export const RESUMABLE_STREAM_EVENT = 'sluice-stream'

/**
 * Event type of the last event of a resumable stream: the work ended. Its data is
 * `{ "status": "complete" }` or `{ "status": "error" }`. A client with the `resumable` option
 * closes cleanly on it (no reconnection) and forgets the stored position.
 */
export const RESUMABLE_END_EVENT = 'sluice-end'

/** Response header carrying a resumable stream's id (the same id as the first event's). */
export const RESUMABLE_ID_HEADER = 'sluice-stream-id'

/**
 * Where a resumable stream's position is kept across page loads: `sessionStorage`,
 * `localStorage`, or anything with these three methods (a Map-backed object in tests, a cookie
 * wrapper...). Values are small JSON strings.
 */
export interface ResumeStorage {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/** A resumable stream's position: its id and the last event id received. */
export interface ResumePoint {
  readonly id: string
  readonly lastEventId: string
}

/**
 * The `resumable` option of `createEventStream` / `useEventStream`, for streams served by
 * server-kit's `createResumableStreams` (an LLM answer started by a POST).
 *
 * The first request is the one configured (e.g. the POST with the prompt). Its first event names
 * the stream; from then on every reconnection, including one after a page reload, is
 * `GET url(id)` with `Last-Event-ID`, so the work is never started twice and exactly the events
 * that were missed arrive. The position is kept in `storage` under `key` (when given) and
 * forgotten when the stream ends (`sluice-end`) or is gone (404, 410).
 *
 * @example
 * ```ts
 * createEventStream('/api/chat', {
 *   method: 'POST',
 *   body: JSON.stringify({ prompt }),
 *   resumable: { url: (id) => `/api/chat/${id}`, storage: sessionStorage, key: 'chat-answer' },
 * })
 * ```
 */
export interface ResumableOptions {
  /** The URL that serves the stream `id` by GET (server-kit's `streams.resume(request, id)`). */
  url: (id: string) => string | URL
  /**
   * Keeps the position across reloads. With a stored position the connection skips the first
   * request and resumes by GET at once. Without `storage` it is kept in memory only (it still
   * survives dropped connections, not a reload).
   */
  storage?: ResumeStorage
  /** Storage key; default `"sluice-resume:" + url`. Use one per stream a page may resume. */
  key?: string
  /**
   * What a connection that starts from a stored position (after a reload) receives: `'missed'`
   * (default) only the events after the stored last event id; `'all'` the whole answer again from
   * its first event (the page lost what it had rendered). Reconnections after that always resume
   * exactly after the last event received.
   */
  replay?: 'missed' | 'all'
  /** Called with every new position (the stream id when it arrives, then each last event id). */
  onPosition?: (point: ResumePoint) => void
}

/** Reads a stored position; an unreadable entry is removed and reported, never thrown. */
export function loadResumePoint(
  storage: ResumeStorage | undefined,
  key: string,
): { point?: ResumePoint; error?: SluiceError } {
  if (storage === undefined) return {}
  try {
    const text = storage.getItem(key)
    if (text === null) return {}
    const value = JSON.parse(text) as Partial<ResumePoint> | null
    if (typeof value?.id === 'string' && typeof value.lastEventId === 'string') {
      return { point: { id: value.id, lastEventId: value.lastEventId } }
    }
    storage.removeItem(key)
    return {}
  } catch (cause) {
    // Storage can throw (a sandboxed frame's SecurityError) and the entry can be corrupt: the
    // stream then starts afresh, and the reason is reported rather than swallowed.
    return { error: new SluiceError('RESUME_STORAGE_ERROR', `Could not read the resume position "${key}"`, { cause }) }
  }
}
