import {
  ContentTypeError,
  HttpError,
  LimitExceededError,
  NdjsonSyntaxError,
  SluiceError,
  TimeoutError,
  ValidationError,
} from '@sluice/client'
import { describe, expect, it } from 'vitest'

describe('errors', () => {
  it('every error is a SluiceError with a stable code and a message naming the detail', () => {
    const cases: [SluiceError, string, RegExp][] = [
      [new HttpError(503, 'Service Unavailable', { retryAfter: 2000 }), 'HTTP_ERROR', /503/],
      [new ContentTypeError('text/event-stream', 'text/html'), 'CONTENT_TYPE_ERROR', /text\/html/],
      [new NdjsonSyntaxError(7, '{oops'), 'NDJSON_SYNTAX_ERROR', /line 7/],
      [
        new LimitExceededError('maxLineSize', 1024, 'Line 3 exceeds maxLineSize (1024 bytes)'),
        'LIMIT_EXCEEDED',
        /1024/,
      ],
      [new TimeoutError('idleTimeout', 5000, 'No data for 5000 ms (idleTimeout)'), 'TIMEOUT', /idleTimeout/],
      [new ValidationError('Invalid "tick" event', [{ message: 'Expected number' }]), 'VALIDATION_ERROR', /tick/],
    ]
    for (const [error, code, message] of cases) {
      expect(error).toBeInstanceOf(SluiceError)
      expect(error).toBeInstanceOf(Error)
      expect(error.code).toBe(code)
      expect(error.message).toMatch(message)
      expect(error.name).toBe(error.constructor.name)
    }
  })

  it('keeps the cause', () => {
    const cause = new SyntaxError('Unexpected token')
    expect(new NdjsonSyntaxError(1, 'x', { cause }).cause).toBe(cause)
  })
})
