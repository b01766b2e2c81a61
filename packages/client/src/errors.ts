/**
 * Every error Sluice surfaces is a {@link SluiceError}: a stable string `code` to branch on, a
 * human message that names the limit, line or status involved, and the underlying `cause`.
 *
 * @example
 * ```ts
 * if (snapshot.error instanceof HttpError && snapshot.error.status === 401) redirectToLogin()
 * ```
 */
export class SluiceError extends Error {
  /** Stable, machine-readable identifier, e.g. `"HTTP_ERROR"`. Never changes between versions. */
  declare readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SluiceError'
    this.code = code
  }
}

/** The server answered with a status that ends (or delays) the connection. */
export class HttpError extends SluiceError {
  declare readonly status: number
  /** Delay the server asked for with `Retry-After`, in milliseconds, when it sent one. */
  declare readonly retryAfter: number | undefined

  constructor(status: number, statusText = '', options?: { cause?: unknown; retryAfter?: number }) {
    super('HTTP_ERROR', `HTTP ${status}${statusText ? ` ${statusText}` : ''}`, options)
    this.name = 'HttpError'
    this.status = status
    this.retryAfter = options?.retryAfter
  }
}

/** The response is not of the media type the stream expects (e.g. `text/event-stream`). */
export class ContentTypeError extends SluiceError {
  declare readonly expected: string
  declare readonly received: string | null

  constructor(expected: string, received: string | null, options?: { cause?: unknown }) {
    super(
      'CONTENT_TYPE_ERROR',
      `Expected content-type "${expected}" but the server sent ${received === null ? 'none' : `"${received}"`}`,
      options,
    )
    this.name = 'ContentTypeError'
    this.expected = expected
    this.received = received
  }
}

/** A line of an NDJSON stream is not valid JSON. */
export class NdjsonSyntaxError extends SluiceError {
  /** 1-based line number in the stream. */
  declare readonly lineNumber: number
  /** The start of the offending line (at most 80 characters). */
  declare readonly excerpt: string

  constructor(lineNumber: number, excerpt: string, options?: { cause?: unknown }) {
    super('NDJSON_SYNTAX_ERROR', `Invalid JSON on NDJSON line ${lineNumber}: ${JSON.stringify(excerpt)}`, options)
    this.name = 'NdjsonSyntaxError'
    this.lineNumber = lineNumber
    this.excerpt = excerpt
  }
}

/** A configured bound (message size, line size, queue length, ...) was exceeded. */
export class LimitExceededError extends SluiceError {
  /** Name of the option that sets the bound, e.g. `"maxLineSize"`. */
  declare readonly limit: string
  /** The bound's value. */
  declare readonly max: number
  /** 1-based line number, when the limit concerns a line of a stream. */
  declare readonly lineNumber: number | undefined

  constructor(limit: string, max: number, message: string, options?: { cause?: unknown; lineNumber?: number }) {
    super('LIMIT_EXCEEDED', message, options)
    this.name = 'LimitExceededError'
    this.limit = limit
    this.max = max
    this.lineNumber = options?.lineNumber
  }
}

/** Something did not happen in time (idle stream, missing pong, connect timeout). */
export class TimeoutError extends SluiceError {
  /** Name of the option that sets the timeout, e.g. `"idleTimeout"`. */
  declare readonly timeout: string
  declare readonly ms: number

  constructor(timeout: string, ms: number, message: string, options?: { cause?: unknown }) {
    super('TIMEOUT', message, options)
    this.name = 'TimeoutError'
    this.timeout = timeout
    this.ms = ms
  }
}

/** One issue reported by a Standard Schema validator. */
export interface ValidationIssue {
  readonly message: string
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined
}

/** A message failed `parse` or `schema` validation; it was not delivered. */
export class ValidationError extends SluiceError {
  declare readonly issues: readonly ValidationIssue[]
  /** The SSE event type (or discriminator) of the message, when known. */
  declare readonly event: string | undefined

  constructor(message: string, issues: readonly ValidationIssue[], options?: { cause?: unknown; event?: string }) {
    super('VALIDATION_ERROR', message, options)
    this.name = 'ValidationError'
    this.issues = issues
    this.event = options?.event
  }
}
