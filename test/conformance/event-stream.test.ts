/**
 * Conformance of `readEventStream` with the WHATWG HTML "Server-sent events" parsing rules
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
 * with cases modelled on the web-platform-tests `eventsource/format-*` tests (written here, not
 * copied). Every case runs with the input split into chunks of 1, 2, 3 and 7 bytes and whole.
 */
import { type EventStreamMessage, readEventStream } from '@sluice/client'
import { describe, expect, it } from 'vitest'
import { bytes, CHUNK_SIZES, chunkedStream, collect, splitAt, splitBytes } from './chunked.js'

interface Case {
  name: string
  /** The raw stream: text (encoded as UTF-8) or exact bytes. */
  input: string | Uint8Array
  /** Messages as `[data, event?, id?]`; event defaults to "message", id to "". */
  messages: ReadonlyArray<readonly [data: string, event?: string, id?: string]>
  retries?: number[]
  comments?: string[]
}

const long = 'x'.repeat(2048)

const cases: Case[] = [
  // Line breaks: https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream
  { name: 'LF line breaks', input: 'data: a\ndata: b\n\ndata: c\n\n', messages: [['a\nb'], ['c']] },
  { name: 'CR line breaks', input: 'data: a\rdata: b\r\rdata: c\r\r', messages: [['a\nb'], ['c']] },
  { name: 'CRLF line breaks', input: 'data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n', messages: [['a\nb'], ['c']] },
  {
    name: 'mixed line breaks, CRLF then CR is two line ends',
    input: 'data: a\r\n\rdata: b\n\r\ndata: c\r\n\n',
    messages: [['a'], ['b'], ['c']],
  },
  { name: 'LF CR is two line ends, not one', input: 'data: a\n\rdata: b\n\n', messages: [['a'], ['b']] },

  // BOM: "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
  { name: 'a leading BOM is ignored', input: '\ufeffdata: 1\n\ndata: 2\n\n', messages: [['1'], ['2']] },
  {
    name: 'a BOM later in the stream is part of the field name (format-bom)',
    input: '\ufeffdata: 1\n\n\ufeffdata: 2\n\ndata: 3\n\n',
    messages: [['1'], ['3']],
  },
  {
    name: 'only the first of two leading BOMs is stripped (format-bom-2)',
    input: '\ufeff\ufeffdata: 1\n\ndata: 2\n\ndata: 3\n\n',
    messages: [['2'], ['3']],
  },
  {
    name: 'the characters "ï»¿" (not a BOM) are not stripped',
    input: '\u00ef\u00bb\u00bfdata: 1\n\ndata: 2\n\n',
    messages: [['2']],
  },
  { name: 'a BOM alone then a blank line', input: '\ufeff\ndata: 1\n\n', messages: [['1']] },

  // Fields and values: https://html.spec.whatwg.org/multipage/server-sent-events.html#processField
  { name: 'field without colon: data with empty value', input: 'data\n\n', messages: [['']] },
  { name: 'two data lines without value give one LF (format-field-data)', input: 'data\ndata\n\n', messages: [['\n']] },
  { name: 'data with empty value dispatches an empty string', input: 'data:\n\n', messages: [['']] },
  { name: 'empty data line in the middle', input: 'data: a\ndata:\ndata: b\n\n', messages: [['a\n\nb']] },
  { name: 'a trailing empty data line', input: 'data: a\ndata\n\n', messages: [['a\n']] },
  { name: 'only one leading space is stripped', input: 'data:  two\nevent:  e\n\n', messages: [[' two', ' e']] },
  { name: 'no space after the colon', input: 'data:x\nevent:y\nid:z\n\n', messages: [['x', 'y', 'z']] },
  { name: 'a tab is not stripped', input: 'data:\tx\n\n', messages: [['\tx']] },
  { name: 'colons in the value are kept', input: 'data: a:b: c\n\n', messages: [['a:b: c']] },
  { name: 'NUL in data is kept (format-null-character)', input: 'data:\0\n\n', messages: [['\0']] },
  {
    name: 'unknown fields are ignored, field names are case-sensitive',
    input: 'foo: bar\nData: no\n data: no\ndata : no\nDATA\ndata: yes\n\n',
    messages: [['yes']],
  },
  { name: 'a block with only unknown fields dispatches nothing', input: 'foo: 1\n\ndata: 2\n\n', messages: [['2']] },

  // Comments
  {
    name: 'comments are ignored and reported',
    input: ':first\ndata: a\n: second\n:\n\n',
    messages: [['a']],
    comments: ['first', 'second', ''],
  },
  {
    name: 'comment fest across CR / LF / CRLF (format-comments)',
    input: `data:1\r:\0\n:\r\ndata:2\n:${long}\rdata:3\n:data:fail\r:${long}\ndata:4\n\n`,
    messages: [['1\n2\n3\n4']],
  },
  { name: 'a comment-only block dispatches nothing', input: ': ping\n\n: ping\n\ndata: x\n\n', messages: [['x']] },

  // Event type
  {
    name: 'event type applies to one message only',
    input: 'event: add\ndata: 1\n\ndata: 2\n\n',
    messages: [
      ['1', 'add'],
      ['2', 'message'],
    ],
  },
  { name: 'empty event type is "message" (format-field-event-empty)', input: 'event:\ndata: x\n\n', messages: [['x']] },
  { name: 'event without colon is "message"', input: 'event\ndata: x\n\n', messages: [['x']] },
  {
    name: 'event type of a block without data does not leak into the next',
    input: 'event: lost\n\ndata: x\n\n',
    messages: [['x']],
  },
  { name: 'the last event field wins', input: 'event: a\nevent: b\ndata: x\n\n', messages: [['x', 'b']] },

  // Last event ID
  {
    name: 'id persists across events (format-field-id-3 persists)',
    input: 'id: 1\ndata: a\n\ndata: b\n\n',
    messages: [
      ['a', 'message', '1'],
      ['b', 'message', '1'],
    ],
  },
  {
    name: 'id changes and persists',
    input: 'id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: c\n\n',
    messages: [
      ['a', 'message', '1'],
      ['b', 'message', '2'],
      ['c', 'message', '2'],
    ],
  },
  {
    name: 'an empty id resets it (format-field-id-3 resets)',
    input: 'id: 1\ndata: a\n\nid\ndata: b\n\ndata: c\n\n',
    messages: [
      ['a', 'message', '1'],
      ['b', 'message', ''],
      ['c', 'message', ''],
    ],
  },
  {
    name: 'id in a block without data still sets it',
    input: 'id: 5\n\ndata: a\n\nid:\n\ndata: b\n\n',
    messages: [
      ['a', 'message', '5'],
      ['b', 'message', ''],
    ],
  },
  {
    name: 'an id containing NUL is ignored',
    input: 'id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n',
    messages: [
      ['a', 'message', '1'],
      ['b', 'message', '1'],
    ],
  },
  {
    name: 'id after data in the same block applies to it',
    input: 'data: a\nid: 3\n\n',
    messages: [['a', 'message', '3']],
  },
  { name: 'id keeps spaces after the first', input: 'id:  7 \ndata: a\n\n', messages: [['a', 'message', ' 7 ']] },
  {
    name: 'an id without its blank line still applies to the next dispatch',
    input: 'id: 9\ndata: a\n\n',
    messages: [['a', 'message', '9']],
  },

  // retry: "If the field value consists of only ASCII digits ..."
  {
    name: 'retry takes ASCII digits only',
    input:
      'retry: 1000\nretry: 1000ms\nretry:  500\nretry: -1\nretry: 10.5\nretry: 0\nretry\nretry: \u0663\nretry: 2147483648\ndata: x\n\n',
    messages: [['x']],
    retries: [1000, 0, 2147483648],
  },
  {
    name: 'retry alone does not dispatch (format-field-retry)',
    input: 'retry: 3000\n\ndata: x\n\n',
    messages: [['x']],
    retries: [3000],
  },

  // End of stream: "If the file ends in the middle of an event, before the final empty line,
  // the incomplete event is not dispatched."
  { name: 'no dispatch without the final blank line', input: 'data: 1\n\ndata: 2\n', messages: [['1']] },
  {
    name: 'no dispatch of a last line without line break (format-data-before-final-empty-line)',
    input: 'data: 1\n\ndata: 2',
    messages: [['1']],
  },
  { name: 'empty stream', input: '', messages: [] },
  { name: 'only blank lines', input: '\n\n\r\n\r', messages: [] },

  // Data content (event-data.js)
  {
    name: 'lines and data parsing',
    input: 'data:msg\ndata:msg\n\n:\nfield:value\n\ndata:\n\ndata:end\n\n',
    messages: [['msg\nmsg'], [''], ['end']],
  },

  // UTF-8 (format-utf-8): always decoded as UTF-8
  {
    name: 'UTF-8 of every width',
    input: 'data: \u00e9 \u20ac \u{1f600} \u4e2d\u6587\nevent: \u00fcber\nid: \u2603\n\n',
    messages: [['\u00e9 \u20ac \u{1f600} \u4e2d\u6587', '\u00fcber', '\u2603']],
  },
  {
    name: 'invalid UTF-8 becomes U+FFFD (lone byte, lone continuation, overlong, surrogate, truncated)',
    input: concat(
      bytes('data: a'),
      [0xff],
      bytes('b'),
      [0x80],
      bytes('c'),
      [0xc0, 0xaf],
      bytes('d'),
      [0xed, 0xa0, 0x80],
      bytes('e'),
      [0xe2, 0x82], // truncated euro sign right before the line break
      bytes('\ndata: '),
      [0xf0, 0x9f, 0x98], // truncated emoji at the end of a line
      bytes('\n\n'),
    ),
    messages: [['a\ufffdb\ufffdc\ufffd\ufffdd\ufffd\ufffd\ufffde\ufffd\n\ufffd']],
  },
]

function concat(...parts: Array<Uint8Array | number[]>): Uint8Array {
  const all = parts.flatMap((part) => [...part])
  return Uint8Array.from(all)
}

function expected(messages: Case['messages']): EventStreamMessage[] {
  return messages.map(([data, event = 'message', id = '']) => ({ event, data, id }))
}

async function parse(chunks: readonly Uint8Array[]) {
  const retries: number[] = []
  const comments: string[] = []
  const { stream } = chunkedStream(chunks)
  const messages = await collect(
    readEventStream(stream, { onRetry: (ms) => retries.push(ms), onComment: (text) => comments.push(text) }),
  )
  return { messages, retries, comments }
}

describe('SSE conformance (WHATWG event stream interpretation)', () => {
  for (const testCase of cases) {
    describe(testCase.name, () => {
      it.each(CHUNK_SIZES)('chunks of %s bytes', async (size) => {
        const result = await parse(splitBytes(bytes(testCase.input), size))
        expect(result.messages).toEqual(expected(testCase.messages))
        if (testCase.retries) expect(result.retries).toEqual(testCase.retries)
        if (testCase.comments) expect(result.comments).toEqual(testCase.comments)
      })
    })
  }

  it('a CR ending one chunk and an LF starting the next are one line break', async () => {
    // Were they two, the blank line between them would dispatch "a" on its own.
    const result = await parse([bytes('data: a\r'), bytes('\ndata: b\r'), bytes('\n\r'), bytes('\n')])
    expect(result.messages).toEqual(expected([['a\nb']]))
    // And a CR at the end of a chunk ends its line at once (no waiting for the next chunk).
    const { stream } = chunkedStream([bytes('data: now\r\r')], { keepOpen: true })
    for await (const message of readEventStream(stream)) {
      expect(message.data).toBe('now')
      break
    }
  })

  it('multi-byte UTF-8 split at every possible byte boundary decodes the same', async () => {
    const text = 'id: \u00e9\u20ac\nevent: \u{1f600}\ndata: a\u00e9\u20ac\u{1f600}\u4e2d\u{10ffff}z\n\n'
    const encoded = bytes(text)
    for (let cut = 1; cut < encoded.byteLength; cut++) {
      const result = await parse(splitAt(encoded, [cut]))
      expect(result.messages, `split at byte ${cut}`).toEqual(
        expected([['a\u00e9\u20ac\u{1f600}\u4e2d\u{10ffff}z', '\u{1f600}', '\u00e9\u20ac']]),
      )
    }
    // Every pair of cut points as well (all three-chunk splittings).
    for (let first = 1; first < encoded.byteLength; first++) {
      for (let second = first + 1; second < encoded.byteLength; second++) {
        const result = await parse(splitAt(encoded, [first, second]))
        expect(result.messages[0]?.data, `split at ${first} and ${second}`).toBe(
          'a\u00e9\u20ac\u{1f600}\u4e2d\u{10ffff}z',
        )
      }
    }
  })

  it('a BOM split across chunks is still stripped once', async () => {
    const encoded = bytes('\ufeff\ufeffdata: 1\n\ndata: 2\n\n')
    for (let cut = 1; cut < 7; cut++) {
      const result = await parse(splitAt(encoded, [cut]))
      expect(result.messages, `split at byte ${cut}`).toEqual(expected([['2']]))
    }
  })
})
