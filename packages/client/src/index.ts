export type { Connection, ConnectionSnapshot, ConnectionStatus } from './connection/types.js'
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
export type { EventStreamMessage, ReadEventStreamOptions } from './parse/event-stream.js'
export { DEFAULT_MAX_MESSAGE_SIZE, readEventStream } from './parse/event-stream.js'
export type { ReadNdjsonOptions } from './parse/ndjson.js'
export { DEFAULT_MAX_LINE_SIZE, NdjsonParseStream, readNdjson } from './parse/ndjson.js'
export type { Progress, ReadWithProgressOptions, ReadWithProgressResult } from './progress.js'
export { contentLength, filenameFromContentDisposition, readWithProgress } from './progress.js'
