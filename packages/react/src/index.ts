export type {
  ReduceOptions,
  StreamHookOptions,
  StreamResult,
  StreamState,
  StreamStatus,
  Throttle,
} from './types.js'
export type { DownloadResult, DownloadState, DownloadStatus, UseDownloadOptions } from './use-download.js'
export { useDownload } from './use-download.js'
export type {
  UseEventStreamOptions,
  UseEventStreamReduceOptions,
  UseTypedEventStreamOptions,
  UseTypedEventStreamReduceOptions,
} from './use-event-stream.js'
export { useEventStream } from './use-event-stream.js'
export type {
  UseNdjsonOptions,
  UseNdjsonReduceOptions,
  UseTypedNdjsonOptions,
  UseTypedNdjsonReduceOptions,
} from './use-ndjson.js'
export { DEFAULT_MAX_ITEMS, useNdjson } from './use-ndjson.js'
export type {
  UseSocketOptions,
  UseSocketReduceOptions,
  UseSocketResult,
  UseTypedSocketOptions,
  UseTypedSocketReduceOptions,
} from './use-socket.js'
export { useSocket } from './use-socket.js'
