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
