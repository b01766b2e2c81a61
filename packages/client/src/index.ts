export type { FetchLike, StreamRequestOptions } from './connection/http.js'
export { DEFAULT_IDLE_TIMEOUT } from './connection/http.js'
export type { RetryOptions } from './connection/retry.js'
export { DEFAULT_RETRY_OPTIONS } from './connection/retry.js'
export type { Connection, ConnectionOptions, ConnectionSnapshot, ConnectionStatus } from './connection/types.js'
export type {
  DefineEventsOptions,
  EventDefinition,
  EventEnvelope,
  EventEnvelopeInput,
  EventInput,
  EventName,
  EventOutput,
  EventSchemas,
  SocketEvents,
  TypedEventData,
  TypedEventMessage,
  UnknownEvents,
} from './define.js'
export { assertEnvelope, assertEvent, defineEvents } from './define.js'
export type { ValidationIssue } from './errors.js'
export {
  ContentTypeError,
  HttpError,
  LimitExceededError,
  NdjsonSyntaxError,
  SluiceError,
  TimeoutError,
  ValidationError,
} from './errors.js'
export type {
  EventStreamConnection,
  EventStreamOptions,
  TypedEventStreamConnection,
  TypedEventStreamOptions,
} from './event-stream.js'
export { createEventStream } from './event-stream.js'
export type {
  NdjsonResumeInfo,
  NdjsonResumeRequest,
  NdjsonStreamConnection,
  NdjsonStreamOptions,
  TypedNdjsonStreamOptions,
} from './ndjson-stream.js'
export { createNdjsonStream, NDJSON_CONTENT_TYPES } from './ndjson-stream.js'
export type { EventStreamMessage, ReadEventStreamOptions } from './parse/event-stream.js'
export { DEFAULT_MAX_MESSAGE_SIZE, readEventStream } from './parse/event-stream.js'
export type { ReadNdjsonOptions } from './parse/ndjson.js'
export { DEFAULT_MAX_LINE_SIZE, NdjsonParseStream, readNdjson } from './parse/ndjson.js'
export type { Progress, ReadWithProgressOptions, ReadWithProgressResult } from './progress.js'
export { contentLength, filenameFromContentDisposition, readWithProgress } from './progress.js'
export type { ResumableOptions, ResumePoint, ResumeStorage } from './resume.js'
export { RESUMABLE_END_EVENT, RESUMABLE_ID_HEADER, RESUMABLE_STREAM_EVENT } from './resume.js'
export type {
  HeartbeatOptions,
  SocketConnection,
  SocketOptions,
  SocketPayload,
  TypedSocketOptions,
  WebSocketConstructor,
} from './socket.js'
export { createSocket } from './socket.js'
