import { NdjsonSyntaxError, readNdjson } from '@sluice/client'
import { describe, expect, it } from 'vitest'
import { bytes, CHUNK_SIZES, chunkedStream, collect, splitBytes } from '../conformance/chunked.js'

// Lines starting with `{` take a shortcut inside a chunk (parsed without the blank-line check and
// counted in a local): these cases pin that it numbers, reports and skips exactly as other lines.

function streamOf(text: string, chunkSize = Number.POSITIVE_INFINITY) {
  return chunkedStream(splitBytes(bytes(text), chunkSize))
}

const LINES = ['{"a":1}', '', '{"b":"\u00e9\u{1f600}"}\r', '{bad', '  ', '[2]', '{"c":{"d":[3]}}', '{"e":', '{"f":4}']
const TEXT = `${LINES.join('\n')}\n`

describe('readNdjson object lines', () => {
  it.each(CHUNK_SIZES)(
    'throws at the first bad object line after the values before it (chunks of %s)',
    async (size) => {
      const values: unknown[] = []
      let error: unknown
      try {
        for await (const value of readNdjson(streamOf(TEXT, size).stream)) values.push(value)
      } catch (caught) {
        error = caught
      }
      expect(values).toEqual([{ a: 1 }, { b: '\u00e9\u{1f600}' }])
      expect(error).toBeInstanceOf(NdjsonSyntaxError)
      expect(error).toMatchObject({ lineNumber: 4, excerpt: '{bad' })
      expect((error as Error).cause).toBeInstanceOf(SyntaxError)
    },
  )

  it.each(CHUNK_SIZES)('skips bad object lines with their line numbers (chunks of %s)', async (size) => {
    const skipped: [number, string][] = []
    const values = await collect(
      readNdjson(streamOf(TEXT, size).stream, { skipInvalidLines: (e) => skipped.push([e.lineNumber, e.excerpt]) }),
    )
    expect(values).toEqual([{ a: 1 }, { b: '\u00e9\u{1f600}' }, [2], { c: { d: [3] } }, { f: 4 }])
    expect(skipped).toEqual([
      [4, '{bad'],
      [8, '{"e":'],
    ])
  })

  it('numbers lines after many object lines in one chunk', async () => {
    const many = `${Array.from({ length: 500 }, (_, i) => `{"i":${i}}`).join('\n')}\n\nnot json\n`
    const values: unknown[] = []
    await expect(async () => {
      for await (const value of readNdjson(streamOf(many).stream)) values.push(value)
    }).rejects.toMatchObject({ lineNumber: 502, excerpt: 'not json' })
    expect(values).toHaveLength(500)
    expect(values[499]).toEqual({ i: 499 })
  })
})
