/**
 * Parsing cases the runtime client script (`fixtures/client-checks.ts`) runs under Bun and Deno
 * against a Node server. Each case is the bytes a server sends and what `readEventStream` /
 * `readNdjson` must produce from them, per the WHATWG rules
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation) and
 * the NDJSON spec (https://github.com/ndjson/ndjson-spec). A representative set: the full conformance
 * table lives with the parser's own suite in `test/conformance/`.
 */

/** What a runtime reports for one case and one way of delivering its bytes. */
export interface CaseOutcome {
  /** SSE: `{ event, data, id }` messages; NDJSON: the parsed values. */
  items: unknown[]
  /** SSE: every `retry:` value reported through `onRetry`. */
  retries: number[]
  /** The error the iterator threw, reduced to what the case checks, or `null`. */
  error: { name: string; code: string; lineNumber?: number; limit?: string } | null
}

/** One parsing case. */
export interface ParseCase {
  name: string
  kind: 'sse' | 'ndjson'
  /** The bytes on the wire. */
  bytes: Uint8Array
  /** Options passed to the parser (only plain data crosses to the runtime). */
  options?: { maxLineSize?: number; maxMessageSize?: number }
  expected: CaseOutcome
}

const text = (value: string) => new TextEncoder().encode(value)
const message = (data: string, id = '', event = 'message') => ({ event, data, id })
const ok = (items: unknown[], retries: number[] = []): CaseOutcome => ({ items, retries, error: null })

/** The cases, by name. Names are unique: they are the URL path the Node server serves them at. */
export const parseCases: readonly ParseCase[] = [
  { name: 'sse-simple', kind: 'sse', bytes: text('data: hello\n\n'), expected: ok([message('hello')]) },
  {
    name: 'sse-multiline-data',
    kind: 'sse',
    bytes: text('data: a\ndata: b\n\n'),
    expected: ok([message('a\nb')]),
  },
  {
    name: 'sse-event-and-id',
    kind: 'sse',
    bytes: text('event: tick\nid: 7\ndata: x\n\n'),
    expected: ok([message('x', '7', 'tick')]),
  },
  {
    // The event type is reset after each dispatch; the last event ID is not.
    name: 'sse-id-persists-event-resets',
    kind: 'sse',
    bytes: text('event: a\nid: 1\ndata: one\n\ndata: two\n\n'),
    expected: ok([message('one', '1', 'a'), message('two', '1')]),
  },
  {
    // An `id:` in a block without data still sets the last event ID for what follows.
    name: 'sse-id-without-data',
    kind: 'sse',
    bytes: text('id: 1\ndata: a\n\nid: 2\n\ndata: b\n\n'),
    expected: ok([message('a', '1'), message('b', '2')]),
  },
  {
    // "If the field value does not contain U+0000 NULL, then set the last event ID buffer".
    name: 'sse-id-with-nul-ignored',
    kind: 'sse',
    bytes: text('id: 1\ndata: a\n\nid: 2\u00003\ndata: b\n\n'),
    expected: ok([message('a', '1'), message('b', '1')]),
  },
  {
    name: 'sse-cr-lf-crlf',
    kind: 'sse',
    bytes: text('data: a\rdata: b\n\ndata: c\r\n\r\ndata: d\r\r'),
    expected: ok([message('a\nb'), message('c'), message('d')]),
  },
  { name: 'sse-bom-stripped', kind: 'sse', bytes: text('\uFEFFdata: a\n\n'), expected: ok([message('a')]) },
  {
    // Only one leading BOM is stripped; a second makes the field name "\uFEFFdata", an unknown field.
    name: 'sse-second-bom-kept',
    kind: 'sse',
    bytes: text('\uFEFF\uFEFFdata: a\n\ndata: b\n\n'),
    expected: ok([message('b')]),
  },
  {
    name: 'sse-one-leading-space',
    kind: 'sse',
    bytes: text('data:  two\ndata:none\n\n'),
    expected: ok([message(' two\nnone')]),
  },
  {
    name: 'sse-comments-and-unknown-fields',
    kind: 'sse',
    bytes: text(': keepalive\nfoo: bar\ndata: x\n\n'),
    expected: ok([message('x')]),
  },
  {
    // "Once the end of the file is reached, any pending data must be discarded."
    name: 'sse-unterminated-not-dispatched',
    kind: 'sse',
    bytes: text('data: a\n\ndata: b'),
    expected: ok([message('a')]),
  },
  {
    name: 'sse-retry-digits-only',
    kind: 'sse',
    bytes: text('retry: 1500\ndata: a\n\nretry: 1.5\nretry: x\n\n'),
    expected: ok([message('a')], [1500]),
  },
  {
    // Split at every byte boundary by the 1-byte chunking: 2-, 3- and 4-byte sequences.
    name: 'sse-multibyte-utf8',
    kind: 'sse',
    bytes: text('data: héllo 世界 😀\n\n'),
    expected: ok([message('héllo 世界 😀')]),
  },
  {
    name: 'sse-invalid-utf8-replaced',
    kind: 'sse',
    bytes: new Uint8Array([...text('data: a'), 0xff, ...text('b\n\n')]),
    expected: ok([message('a\uFFFDb')]),
  },
  {
    // Like NDJSON: every complete message before the oversized one is delivered first, even when
    // both arrive in the same chunk, then the error names the limit.
    name: 'sse-max-message-size',
    kind: 'sse',
    bytes: text(`data: ok\n\ndata: ${'x'.repeat(4096)}\n\ndata: never\n\n`),
    options: { maxMessageSize: 1024 },
    expected: {
      items: [message('ok')],
      retries: [],
      // The SSE bound concerns a message, not a line: the error says where in bytes, no line number.
      error: { name: 'LimitExceededError', code: 'LIMIT_EXCEEDED', limit: 'maxMessageSize' },
    },
  },
  {
    name: 'ndjson-simple',
    kind: 'ndjson',
    bytes: text('{"a":1}\n{"a":2}\n'),
    expected: ok([{ a: 1 }, { a: 2 }]),
  },
  {
    name: 'ndjson-crlf-blank-lines-no-final-newline',
    kind: 'ndjson',
    bytes: text('{"a":1}\r\n\r\n\n[2]\r\n"three"'),
    expected: ok([{ a: 1 }, [2], 'three']),
  },
  {
    name: 'ndjson-multibyte-utf8',
    kind: 'ndjson',
    bytes: text('{"s":"héllo 世界 😀"}\n'),
    expected: ok([{ s: 'héllo 世界 😀' }]),
  },
  {
    // Every value before the bad line is delivered, then the error names the line.
    name: 'ndjson-syntax-error-line-number',
    kind: 'ndjson',
    bytes: text('{"a":1}\n\n{bad\n{"a":3}\n'),
    expected: {
      items: [{ a: 1 }],
      retries: [],
      error: { name: 'NdjsonSyntaxError', code: 'NDJSON_SYNTAX_ERROR', lineNumber: 3 },
    },
  },
  {
    name: 'ndjson-max-line-size',
    kind: 'ndjson',
    bytes: text(`{"a":1}\n"${'x'.repeat(4096)}"\n`),
    options: { maxLineSize: 1024 },
    expected: {
      items: [{ a: 1 }],
      retries: [],
      error: { name: 'LimitExceededError', code: 'LIMIT_EXCEEDED', lineNumber: 2, limit: 'maxLineSize' },
    },
  },
]

/**
 * How the runtime script delivers a case's bytes to the parser: `network` is the Node server's
 * response read through the runtime's own `fetch`; a number is the same bytes re-chunked locally into
 * a `ReadableStream` of chunks of that many bytes (TCP may merge writes; this splits them for sure).
 */
export const deliveries = ['network', 1, 2, 3, 7] as const
