import type { EventMessage } from '@sluice/server-kit'
import { formatEvent, formatNdjsonLine } from '@sluice/server-kit'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

describe('formatEvent', () => {
  it('writes the fields in a fixed order and ends with the blank line that dispatches', () => {
    expect(formatEvent({ comment: 'hi', retry: 1500, event: 'tick', id: '7', data: 'x' })).toBe(
      ': hi\nretry: 1500\nevent: tick\nid: 7\ndata: x\n\n',
    )
    expect(formatEvent({ data: 'plain' })).toBe('data: plain\n\n')
  })

  it('splits data on LF, CR and CRLF into several data: lines', () => {
    expect(formatEvent({ data: 'a\nb\rc\r\nd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n')
    expect(formatEvent({ data: '\n' })).toBe('data: \ndata: \n\n')
    expect(formatEvent({ data: '' })).toBe('data: \n\n')
  })

  it('keeps leading spaces (the parser strips exactly one, the one formatEvent adds)', () => {
    expect(formatEvent({ data: '  two', event: ' e', id: ' i' })).toBe('event:  e\nid:  i\ndata:   two\n\n')
  })

  it('JSON-encodes data that is not a string', () => {
    expect(formatEvent({ data: { a: 'x\ny', n: [1, null] } })).toBe('data: {"a":"x\\ny","n":[1,null]}\n\n')
    expect(formatEvent({ data: 42 })).toBe('data: 42\n\n')
    expect(formatEvent({ data: null })).toBe('data: null\n\n')
    expect(formatEvent({ data: false })).toBe('data: false\n\n')
  })

  it('splits comments into several comment lines', () => {
    expect(formatEvent({ comment: 'a\r\nb\rc' })).toBe(': a\n: b\n: c\n\n')
  })

  it('refuses field injection through event and id', () => {
    for (const bad of ['a\nevent: admin', 'a\r', '\r\n']) {
      expect(() => formatEvent({ event: bad, data: 'x' })).toThrow(TypeError)
      expect(() => formatEvent({ id: bad, data: 'x' })).toThrow(/must not contain CR or LF/)
    }
    expect(() => formatEvent({ id: 'a\0b' })).toThrow(/`id` must not contain NUL/)
    // NUL is harmless in an event type: only `id` is ignored by clients when it contains one.
    expect(formatEvent({ event: 'a\0b' })).toBe('event: a\0b\n\n')
  })

  it('accepts only non-negative integer retry values', () => {
    expect(formatEvent({ retry: 0 })).toBe('retry: 0\n\n')
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
      expect(() => formatEvent({ retry: bad })).toThrow(/`retry` must be a non-negative integer/)
    }
  })

  it('rejects what is not a message object, and data JSON cannot encode', () => {
    expect(() => formatEvent('hello' as unknown as EventMessage)).toThrow(/expected a message object/)
    expect(() => formatEvent(null as unknown as EventMessage)).toThrow(TypeError)
    expect(() => formatEvent({ data: 1n })).toThrow(/`data` cannot be encoded as JSON: .*BigInt/)
    expect(() => formatEvent({ event: 3 as unknown as string })).toThrow(/`event` must be a string/)
  })
})

describe('formatNdjsonLine', () => {
  it('writes one JSON text per line, line breaks escaped', () => {
    expect(formatNdjsonLine({ text: 'a\nb\r\u2028' })).toBe('{"text":"a\\nb\\r\u2028"}\n')
    expect(formatNdjsonLine(null)).toBe('null\n')
    expect(formatNdjsonLine('s')).toBe('"s"\n')
    expect(formatNdjsonLine([1, undefined])).toBe('[1,null]\n')
  })

  it('throws a TypeError naming the problem instead of writing a broken line', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(() => formatNdjsonLine(undefined)).toThrow(/returned undefined for undefined/)
    expect(() => formatNdjsonLine(() => 1)).toThrow(/returned undefined for function/)
    expect(() => formatNdjsonLine(Symbol('s'))).toThrow(/returned undefined for symbol/)
    expect(() => formatNdjsonLine(cycle)).toThrow(/cannot be encoded as JSON: .*circular/i)
    expect(() => formatNdjsonLine({ big: 10n })).toThrow(/cannot be encoded as JSON: .*BigInt/)
    try {
      formatNdjsonLine(cycle)
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError)
      expect((error as TypeError).cause).toBeInstanceOf(TypeError)
    }
  })

  it('round-trips any JSON value through one line', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const line = formatNdjsonLine(value)
        expect(line.indexOf('\n')).toBe(line.length - 1)
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(value)))
      }),
    )
  })
})

// Text that stresses the SSE grammar: every line break form, colons, spaces, NUL, BOM, non-ASCII.
const tricky = fc.string({
  unit: fc.constantFrom('a', 'Z', ' ', ':', '\r', '\n', '\0', '\uFEFF', 'é', '😀', 'data: x', 'id:'),
  maxLength: 12,
})
const text = fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 12 }))
const singleLine = text.map((s) => s.replace(/[\r\n]/g, ''))

const message: fc.Arbitrary<EventMessage> = fc.record(
  {
    data: fc.oneof(text, fc.jsonValue({ maxDepth: 2 })),
    event: singleLine,
    id: singleLine.map((s) => s.replace(/\0/g, '')),
    retry: fc.nat(),
    comment: text,
  },
  { requiredKeys: [] },
)

describe('formatEvent round trip through eventsource-parser', () => {
  it('gives back every message, retry and comment, for any sequence of messages', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 6 }), (messages) => {
        const events: EventSourceMessage[] = []
        const retries: number[] = []
        const comments: string[] = []
        const parser = createParser({
          onEvent: (event) => events.push(event),
          onRetry: (ms) => retries.push(ms),
          onComment: (comment) => comments.push(comment),
        })
        parser.feed(messages.map(formatEvent).join(''))

        const expected = messages.flatMap((msg) => {
          if (msg.data === undefined) return []
          const data = typeof msg.data === 'string' ? msg.data : JSON.stringify(msg.data)
          // The client joins data lines with LF, whatever break separated them in the source.
          return [{ data: data.replace(/\r\n|\r/g, '\n'), event: msg.event || undefined, id: msg.id }]
        })
        expect(events).toEqual(expected)
        expect(retries).toEqual(messages.flatMap((msg) => (msg.retry === undefined ? [] : [msg.retry])))
        expect(comments).toEqual(messages.flatMap((msg) => msg.comment?.split(/\r\n|\r|\n/) ?? []))
      }),
      { numRuns: 500 },
    )
  })
})
