/**
 * Byte-level rules of the NDJSON parser, checked against a reference built from whole-stream
 * decoding, for any chunking: invalid UTF-8 gives the U+FFFD that decoding the whole stream gives,
 * one leading BOM is dropped (a later one is not), and `maxLineSize` is exact in bytes (the CR of a
 * CRLF not counted) whether a line arrives in one chunk or many.
 */
import { LimitExceededError, NdjsonParseStream, NdjsonSyntaxError, readNdjson } from '@sluice/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytes, CHUNK_SIZES, chunkedStream, splitAt, splitBytes } from '../conformance/chunked.js'

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 })
const toOffsets = (fractions: readonly number[], length: number) => fractions.map((f) => Math.floor(f * length))

/** Runs one of the two public forms over `chunks`; returns the values, and the error if one ended it. */
async function parseAll(
  chunks: Uint8Array[],
  asStream: boolean,
  maxLineSize?: number,
): Promise<{ values: unknown[]; error: unknown }> {
  const { stream } = chunkedStream(chunks)
  const iterable = asStream
    ? stream.pipeThrough(new NdjsonParseStream({ maxLineSize }))
    : readNdjson(stream, { maxLineSize })
  const values: unknown[] = []
  try {
    for await (const value of iterable) values.push(value)
  } catch (error) {
    return { values, error }
  }
  return { values, error: undefined }
}

/** The reference: decode the whole stream at once (default TextDecoder: one leading BOM dropped), split on LF. */
function reference(input: Uint8Array): unknown[] {
  return new TextDecoder()
    .decode(input)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown)
}

/** Bytes that may appear inside a JSON string as raw bytes: anything but `"`, `\`, controls and LF/CR. */
const rawByte = fc.integer({ min: 0x20, max: 0xff }).filter((b) => b !== 0x22 && b !== 0x5c && b !== 0x7f)

describe('readNdjson / NdjsonParseStream bytes', () => {
  it('invalid or truncated UTF-8 decodes exactly as decoding the whole stream does, at any chunking', async () => {
    const line = fc.record({
      // Raw bytes, many of them not valid UTF-8 (lone continuation bytes, truncated sequences
      // right before the closing quote or before the line break, overlong forms).
      body: fc.array(fc.oneof(rawByte, fc.constantFrom(0xe2, 0x82, 0xf0, 0x9f, 0xc3, 0xa9)), { maxLength: 12 }),
      // CRLF or LF after the closing quote.
      crlf: fc.boolean(),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 8 }),
        fc.boolean(),
        cuts,
        fc.boolean(),
        async (lines, bom, fractions, asStream) => {
          const parts: number[] = bom ? [0xef, 0xbb, 0xbf] : []
          for (const { body, crlf } of lines) parts.push(0x22, ...body, 0x22, ...(crlf ? [0x0d, 0x0a] : [0x0a]))
          const input = Uint8Array.from(parts)
          const { values, error } = await parseAll(splitAt(input, toOffsets(fractions, input.byteLength)), asStream)
          expect(error).toBeUndefined()
          expect(values).toEqual(reference(input))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('a truncated sequence right before a line break is one U+FFFD at the end of that line, not the next', async () => {
    // `"a` E2 82 `"` LF, `"c"` LF, `[` E2 LF, `1` LF: the truncated E2 82 inside the first string and
    // the truncated E2 right before the third line's LF each become one U+FFFD in their own line.
    const input = Uint8Array.from([
      0x22, 0x61, 0xe2, 0x82, 0x22, 0x0a, 0x22, 0x63, 0x22, 0x0a, 0x5b, 0xe2, 0x0a, 0x31, 0x0a,
    ])
    for (const size of CHUNK_SIZES) {
      for (const asStream of [false, true]) {
        const { values, error } = await parseAll(splitBytes(input, size), asStream)
        expect(values).toEqual(['a\ufffd', 'c'])
        expect(error).toBeInstanceOf(NdjsonSyntaxError)
        expect(error).toMatchObject({ lineNumber: 3, excerpt: '[\ufffd' })
      }
    }
  })

  it('the excerpt of a bad CRLF line has no CR, in both forms and at any chunking', async () => {
    const input = bytes('1\r\nnot json\r\n2\r\n')
    for (const size of CHUNK_SIZES) {
      for (const asStream of [false, true]) {
        const { values, error } = await parseAll(splitBytes(input, size), asStream)
        expect(values).toEqual([1])
        expect(error).toMatchObject({ lineNumber: 2, excerpt: 'not json' })
      }
    }
  })

  it('drops one leading BOM, even split across chunks, but keeps a BOM on a later line (invalid JSON there)', async () => {
    const input = bytes('\ufeff1\n\ufeff2\n')
    for (const size of CHUNK_SIZES) {
      const { values, error } = await parseAll(splitBytes(input, size), false)
      expect(values).toEqual([1])
      expect(error).toMatchObject({ lineNumber: 2 })
    }
  })

  it('maxLineSize is exact in bytes for a line in one chunk, spanning chunks, or last without LF', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ chars: fc.string({ unit: 'binary', maxLength: 12 }), crlf: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        cuts,
        fc.boolean(),
        async (lines, max, trailingLf, fractions, asStream) => {
          let text = ''
          lines.forEach(({ chars, crlf }, i) => {
            text += JSON.stringify(chars)
            if (i < lines.length - 1 || trailingLf) text += crlf ? '\r\n' : '\n'
          })
          const input = bytes(text)
          // Expected: the values of the lines before the first one whose bytes (without CR) pass max.
          const expected: unknown[] = []
          let failing = 0
          for (const [i, { chars }] of lines.entries()) {
            if (bytes(JSON.stringify(chars)).byteLength > max) {
              failing = i + 1
              break
            }
            expected.push(chars)
          }
          const { values, error } = await parseAll(
            splitAt(input, toOffsets(fractions, input.byteLength)),
            asStream,
            max,
          )
          expect(values).toEqual(expected)
          if (failing === 0) expect(error).toBeUndefined()
          else {
            expect(error).toBeInstanceOf(LimitExceededError)
            expect(error).toMatchObject({ limit: 'maxLineSize', max, lineNumber: failing })
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})
