/**
 * Round-trip properties: for any list of events / JSON values, encoded the way servers do, and any
 * chunking of the bytes, the parsers give back exactly the list.
 */
import { type EventStreamMessage, NdjsonParseStream, readEventStream, readNdjson } from '@sluice/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytes, chunkedStream, collect, splitAt } from '../conformance/chunked.js'

/** Any code point (no lone surrogates: they cannot be encoded as UTF-8 at all). */
const anyText = fc.string({ unit: 'binary', maxLength: 40 })
const noLineBreak = (text: string) => !/[\r\n]/.test(text)
const lineBreak = fc.constantFrom('\n', '\r\n', '\r')

interface SseEvent {
  event: string | undefined
  data: string
  id: string | undefined
  comment: string | undefined
  retry: number | undefined
}

const sseEvent: fc.Arbitrary<SseEvent> = fc.record({
  event: fc.option(anyText.filter(noLineBreak), { nil: undefined }),
  // Data may contain any line break: it is sent as several data: lines.
  data: fc.oneof(
    anyText,
    fc.array(anyText, { maxLength: 4 }).map((lines) => lines.join('\n')),
  ),
  id: fc.option(
    anyText.filter((text) => noLineBreak(text) && !text.includes('\0')),
    { nil: undefined },
  ),
  comment: fc.option(anyText.filter(noLineBreak), { nil: undefined }),
  retry: fc.option(fc.nat(), { nil: undefined }),
})

/** A minimal SSE encoder, as a server would write (server-kit's formatEvent is tested on its own). */
function encodeEvents(events: readonly SseEvent[], eol: readonly string[]): string {
  let out = ''
  let i = 0
  let previous = ''
  const nl = () => {
    let next = eol[i++ % eol.length]!
    // A CR followed by an LF is one line break, so a CR break may not be followed by one starting
    // with LF; a server mixing breaks would have the same constraint.
    if (previous === '\r' && next.startsWith('\n')) next = '\r'
    previous = next
    return next
  }
  for (const { event, data, id, comment, retry } of events) {
    if (comment !== undefined) out += `:${comment}${nl()}`
    if (retry !== undefined) out += `retry: ${retry}${nl()}`
    if (event !== undefined) out += `event: ${event}${nl()}`
    if (id !== undefined) out += `id: ${id}${nl()}`
    for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}${nl()}`
    out += nl()
  }
  return out
}

function expectedEvents(events: readonly SseEvent[]): EventStreamMessage[] {
  let lastId = ''
  return events.map(({ event, data, id }) => {
    if (id !== undefined) lastId = id
    return { event: event || 'message', data: data.replace(/\r\n|\r/g, '\n'), id: lastId }
  })
}

/** Cut points as fractions of the encoded length, so any chunking of any input can be drawn. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 })
const toOffsets = (fractions: readonly number[], length: number) => fractions.map((f) => Math.floor(f * length))

describe('readEventStream round trip', () => {
  it('gives back exactly the events, whatever the line breaks and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(sseEvent, { maxLength: 12 }),
        fc.array(lineBreak, { minLength: 1, maxLength: 5 }),
        cuts,
        fc.boolean(),
        async (events, eol, fractions, bom) => {
          const encoded = bytes(`${bom ? '\ufeff' : ''}${encodeEvents(events, eol)}`)
          const retries: number[] = []
          const comments: string[] = []
          const { stream } = chunkedStream(splitAt(encoded, toOffsets(fractions, encoded.byteLength)))
          const messages = await collect(
            readEventStream(stream, { onRetry: (ms) => retries.push(ms), onComment: (text) => comments.push(text) }),
          )
          expect(messages).toEqual(expectedEvents(events))
          expect(retries).toEqual(events.flatMap((e) => (e.retry === undefined ? [] : [e.retry])))
          // One leading space of a comment is stripped, as for field values.
          expect(comments).toEqual(
            events.flatMap((e) => (e.comment === undefined ? [] : [e.comment.replace(/^ /, '')])),
          )
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('readNdjson round trip', () => {
  const lines = fc.array(
    fc.record({
      value: fc.jsonValue(),
      eol: fc.constantFrom('\n', '\r\n'),
      blankAfter: fc.constantFrom('', '\n', '\r\n', ' \t\n'),
      pretty: fc.boolean(),
    }),
    { maxLength: 15 },
  )

  it('gives back exactly the values, whatever the chunking, through readNdjson and NdjsonParseStream', async () => {
    await fc.assert(
      fc.asyncProperty(lines, fc.boolean(), cuts, fc.boolean(), async (records, trailingEol, fractions, asStream) => {
        let text = ''
        records.forEach(({ value, eol, blankAfter, pretty }, index) => {
          // Leading/trailing JSON whitespace on a line is fine; line breaks inside are not NDJSON.
          text += pretty ? ` ${JSON.stringify(value)}\t` : JSON.stringify(value)
          if (index < records.length - 1 || trailingEol) text += eol + blankAfter
        })
        const encoded = bytes(text)
        const { stream } = chunkedStream(splitAt(encoded, toOffsets(fractions, encoded.byteLength)))
        const values = asStream
          ? await collect(stream.pipeThrough(new NdjsonParseStream()))
          : await collect(readNdjson(stream))
        // What JSON itself round-trips to (e.g. -0 becomes 0).
        expect(values).toEqual(records.map(({ value }) => JSON.parse(JSON.stringify(value))))
      }),
      { numRuns: 300 },
    )
  })
})
