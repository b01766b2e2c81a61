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
export type { Progress, ReadWithProgressOptions, ReadWithProgressResult } from './progress.js'
export { contentLength, filenameFromContentDisposition, readWithProgress } from './progress.js'
