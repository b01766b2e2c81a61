/**
 * Lines past the size at which NdjsonLines parses an array/object line as it arrives: with that size
 * made tiny, any stream (BOM, CRLF, blank lines, bad lines, scalars, lines over maxLineSize) must give
 * exactly the values and errors of the whole-line path, for any chunking, in every skip mode.
 */
import { LimitExceededError, NdjsonSyntaxError, readNdjson } from '@sluice/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { NdjsonLines } from '../../packages/client/src/parse/ndjson-lines.js'
import { chunkedStream, collect, splitAt } from '../conformance/chunked.js'

const encoder = new TextEncoder()

type Event = { value: unknown } | { error: string }

function describeError(error: unknown): string {
  if (error instanceof NdjsonSyntaxError) return `syntax line ${error.lineNumber} ${JSON.stringify(error.excerpt)}`
  if (error instanceof LimitExceededError) return `limit ${error.limit} ${error.max} line ${error.lineNumber}`
  throw error
}

/** Everything NdjsonLines reports for `chunks`, in order (skipped lines' errors included). */
function run(chunks: readonly Uint8Array[], max: number, skip: 'no' | 'yes' | 'report', incremental: number): Event[] {
  const events: Event[] = []
  const lines = new NdjsonLines<unknown>(
    max,
    skip === 'no' ? false : skip === 'yes' ? true : (error) => events.push({ error: describeError(error) }),
    incremental,
  )
  const out: unknown[] = []
  const flush = () => {
    for (const value of out) events.push({ value: JSON.stringify(value) })
    out.length = 0
  }
  try {
    for (const chunk of chunks) {
      lines.push(chunk, out)
      flush()
    }
    lines.end(out)
    flush()
  } catch (error) {
    flush()
    events.push({ error: describeError(error) })
  }
  return events
}

const tricky = fc.constantFrom('__proto__', '"', '\\', 'é', '😀', '\u2028', 'a')
const json = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(tricky, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 6 }),
)
/** One line: JSON of any value (scalars too), maybe spaced, maybe broken, or blank. */
const line = fc.oneof(
  { weight: 5, arbitrary: json.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: json.map((v) => ` ${JSON.stringify(v, null, ' ').replace(/\n/g, '\t')} `) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(json, fc.nat(), fc.constantFrom('', ',', ']', '}', '"', 'x', '\\', '[', '{'))
      .map(([v, at, ch]) => {
        const text = JSON.stringify(v)
        const i = at % (text.length + 1)
        return text.slice(0, i) + ch + text.slice(i + (ch === '' ? 1 : 0))
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '\t', '[1,]', '[1]x', '{"a":1}}', '["\\u0022\\\\"]', '{"__proto__":[]}'),
  },
)
/** Bytes that are not UTF-8 (alone, or cut short), inserted at random places. */
const notUtf8 = fc.array(fc.tuple(fc.nat(), fc.constantFrom(0xff, 0xe2, 0x82, 0xc3, 0xf0, 0xef, 0xbb)), {
  maxLength: 2,
})
const stream = fc
  .tuple(fc.array(line, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.boolean(), fc.boolean(), notUtf8)
  .map(([lines, bom, crlf, last, bad]) => {
    const text = lines.join(crlf ? '\r\n' : '\n') + (last ? '\n' : '')
    const bytes = [...encoder.encode((bom ? '\uFEFF' : '') + text)]
    for (const [at, byte] of bad) bytes.splice(at % (bytes.length + 1), 0, byte)
    return Uint8Array.from(bytes)
  })

describe('NdjsonLines: a long array/object line parsed as it arrives', () => {
  it('gives the values and errors of the whole-line path, for any chunking, bound and skip mode', () => {
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.nat(400), { maxLength: 10 }),
        fc.constantFrom<'no' | 'yes' | 'report'>('no', 'yes', 'report'),
        fc.oneof(fc.integer({ min: 1, max: 80 }), fc.constant(1 << 20)),
        fc.integer({ min: 0, max: 40 }),
        (bytes, cuts, skip, max, incremental) => {
          const chunks = splitAt(bytes, cuts)
          expect(run(chunks, max, skip, incremental)).toEqual(run(chunks, max, skip, Number.POSITIVE_INFINITY))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('parses a multi-megabyte line with non-ASCII text through readNdjson', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ i, text: `${'x'.repeat(5000)}Grüße 日本語 🚀 "q" \\ ${i}` }))
    const text = `{"a":1}\r\n${JSON.stringify({ rows }).replace('"rows"', '"__proto__":"kept","rows"')}\r\n[2]\n`
    const bytes = encoder.encode(text)
    const chunks = splitAt(
      bytes,
      Array.from({ length: Math.ceil(bytes.byteLength / 16_384) }, (_, i) => i * 16_384 + 1),
    )
    const values = await collect(readNdjson(chunkedStream(chunks).stream, { maxLineSize: 4 * 1024 * 1024 }))
    expect(values).toHaveLength(3)
    const huge = values[1] as { rows: typeof rows }
    expect(huge.rows).toEqual(rows)
    expect(Object.hasOwn(huge, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(huge)).toBe(Object.prototype)
    expect(values[2]).toEqual([2])
  })

  it('reports a bad multi-megabyte line with its number and excerpt, after the lines before it', async () => {
    const good = JSON.stringify({ rows: Array.from({ length: 400 }, () => 'é'.repeat(3000)) })
    const bad = `${good.slice(0, -2)},]}`
    const chunks = splitAt(encoder.encode(`[0]\n${bad}\n[1]\n`), [3, 5, 70_000, 1_000_000, 2_000_001])
    const seen: unknown[] = []
    const error = await (async () => {
      for await (const value of readNdjson(chunkedStream(chunks).stream, { maxLineSize: 8 * 1024 * 1024 }))
        seen.push(value)
    })().catch((e: unknown) => e)
    expect(seen).toEqual([[0]])
    expect(error).toBeInstanceOf(NdjsonSyntaxError)
    expect((error as NdjsonSyntaxError).lineNumber).toBe(2)
    expect((error as NdjsonSyntaxError).excerpt).toBe(bad.slice(0, 80))
  })

  it('keeps maxLineSize exact in bytes for a line parsed as it arrives', async () => {
    const line = `[${'"é",'.repeat(400_000)}1]`
    const size = encoder.encode(line).byteLength
    const chunks = (text: string) => splitAt(encoder.encode(text), [1, 10, 1_500_000])
    const fits = await collect(readNdjson(chunkedStream(chunks(`${line}\r\n`)).stream, { maxLineSize: size }))
    expect((fits[0] as unknown[]).length).toBe(400_001)
    const error = await collect(readNdjson(chunkedStream(chunks(`${line}\n`)).stream, { maxLineSize: size - 1 })).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(LimitExceededError)
    expect((error as LimitExceededError).lineNumber).toBe(1)
  })
})
