import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  DEFAULT_MAX_LINE_SIZE,
  LimitExceededError,
  NdjsonParseStream,
  NdjsonSyntaxError,
  readNdjson,
} from '@sluice/client'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { bytes, CHUNK_SIZES, chunkedStream, collect, splitBytes } from '../conformance/chunked.js'

function streamOf(text: string | Uint8Array, chunkSize = Number.POSITIVE_INFINITY) {
  return chunkedStream(splitBytes(bytes(text), chunkSize))
}

/** Reads until the iterator throws; returns what was delivered before and the error. */
async function readUntilError<T>(iterable: AsyncIterable<T>): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = []
  try {
    for await (const value of iterable) values.push(value)
  } catch (error) {
    return { values, error }
  }
  throw new Error(`expected an error, got ${JSON.stringify(values)}`)
}

describe('readNdjson', () => {
  it.each(CHUNK_SIZES)(
    'parses values, CRLF, blank lines and a last line without newline (chunks of %s)',
    async (size) => {
      const text = '{"a":1}\r\n\n[1,2]\n  \r\n"h\u00e9\u{1f600}"\r\n\t\nnull\n42'
      const { stream } = streamOf(text, size)
      expect(await collect(readNdjson(stream))).toEqual([{ a: 1 }, [1, 2], 'h\u00e9\u{1f600}', null, 42])
    },
  )

  it('reads a Response; no body is no values', async () => {
    expect(await collect(readNdjson(new Response('1\n2\n')))).toEqual([1, 2])
    expect(await collect(readNdjson(new Response(null, { status: 204 })))).toEqual([])
  })

  it('strips one leading BOM', async () => {
    expect(await collect(readNdjson(streamOf('\ufeff{"a":1}\n', 1).stream))).toEqual([{ a: 1 }])
  })

  describe('invalid lines', () => {
    it('throws NdjsonSyntaxError with the 1-based line number after every value before it', async () => {
      for (const size of CHUNK_SIZES) {
        const { stream, probe } = streamOf('1\n\n2\nnot json\n3\n', size)
        const { values, error } = await readUntilError(readNdjson(stream))
        expect(values).toEqual([1, 2])
        expect(error).toBeInstanceOf(NdjsonSyntaxError)
        expect(error).toMatchObject({ code: 'NDJSON_SYNTAX_ERROR', lineNumber: 4, excerpt: 'not json' })
        expect((error as Error).message).toMatch(/line 4/)
        expect((error as Error).cause).toBeInstanceOf(SyntaxError)
        if (size !== Number.POSITIVE_INFINITY) expect(probe.wasCancelled()).toBe(true)
      }
    })

    it('keeps at most 80 characters of the line as excerpt', async () => {
      const { error } = await readUntilError(readNdjson(streamOf(`{${'x'.repeat(500)}\n`).stream))
      expect((error as NdjsonSyntaxError).excerpt).toBe(`{${'x'.repeat(79)}`)
    })

    it('is skipped when skipInvalidLines is true, and reported when it is a function', async () => {
      expect(await collect(readNdjson(streamOf('1\n{\n2\n').stream, { skipInvalidLines: true }))).toEqual([1, 2])
      const errors: NdjsonSyntaxError[] = []
      const values = await collect(
        readNdjson(streamOf('1\n{\n2\n}\n3').stream, { skipInvalidLines: (error) => errors.push(error) }),
      )
      expect(values).toEqual([1, 2, 3])
      expect(errors.map((e) => [e.lineNumber, e.excerpt])).toEqual([
        [2, '{'],
        [4, '}'],
      ])
    })

    it('an invalid last line without newline is an error too', async () => {
      const { values, error } = await readUntilError(readNdjson(streamOf('1\n{"a":').stream))
      expect(values).toEqual([1])
      expect(error).toMatchObject({ lineNumber: 2, excerpt: '{"a":' })
    })
  })

  describe('maxLineSize', () => {
    it('has a generous default', () => {
      expect(DEFAULT_MAX_LINE_SIZE).toBeGreaterThanOrEqual(1024 * 1024)
    })

    it('allows a line of exactly the limit (CR of CRLF not counted) and rejects one byte more', async () => {
      for (const size of CHUNK_SIZES) {
        expect(await collect(readNdjson(streamOf('"12345678"\r\n', size).stream, { maxLineSize: 10 }))).toEqual([
          '12345678',
        ])
        expect(await collect(readNdjson(streamOf('"12345678"', size).stream, { maxLineSize: 10 }))).toEqual([
          '12345678',
        ])
        const { values, error } = await readUntilError(
          readNdjson(streamOf('1\n"123456789"\n', size).stream, { maxLineSize: 10 }),
        )
        expect(values).toEqual([1])
        expect(error).toBeInstanceOf(LimitExceededError)
        expect(error).toMatchObject({ limit: 'maxLineSize', max: 10, lineNumber: 2 })
        expect((error as Error).message).toMatch(/line 2.*maxLineSize \(10 bytes\)/)
      }
    })

    it('counts bytes, not characters', async () => {
      // "é" is 2 bytes: 4 of them + 2 quotes = 10 bytes.
      expect(await collect(readNdjson(streamOf('"éééé"\n').stream, { maxLineSize: 10 }))).toEqual(['éééé'])
      await expect(collect(readNdjson(streamOf('"ééééé"\n').stream, { maxLineSize: 10 }))).rejects.toBeInstanceOf(
        LimitExceededError,
      )
    })

    it('stops an endless line without reading much further than the limit', async () => {
      const chunk = bytes('x'.repeat(1024))
      let pulls = 0
      let cancelled = false
      const endless = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            pulls += 1
            controller.enqueue(chunk)
          },
          cancel() {
            cancelled = true
          },
        },
        { highWaterMark: 0 },
      )
      const error = await collect(readNdjson(endless, { maxLineSize: 64 * 1024 })).catch((e: unknown) => e)
      expect(error).toMatchObject({ limit: 'maxLineSize', lineNumber: 1 })
      expect(pulls).toBeLessThanOrEqual(65)
      expect(cancelled).toBe(true)
    })

    it('parses a single 20 MB line arriving in 16 KiB chunks (linear, no re-copy per chunk)', async () => {
      const payload = 'x'.repeat(20 * 1024 * 1024)
      const line = bytes(`{"big":"${payload}"}\n`)
      const chunks = splitBytes(line, 16 * 1024)
      const { stream } = chunkedStream(chunks)
      const values = await collect(readNdjson<{ big: string }>(stream, { maxLineSize: 32 * 1024 * 1024 }))
      expect(values).toHaveLength(1)
      expect(values[0]?.big.length).toBe(payload.length)
    })
  })

  describe('releasing the source', () => {
    it('cancels the stream when the loop is left early', async () => {
      const { stream, probe } = chunkedStream([bytes('1\n2\n')], { keepOpen: true })
      for await (const value of readNdjson(stream)) {
        expect(value).toBe(1)
        break
      }
      expect(probe.wasCancelled()).toBe(true)
    })

    it('cancels the stream with the reason and ends the iteration when the signal aborts', async () => {
      const { stream, probe } = chunkedStream([bytes('1\n2\n')], { keepOpen: true })
      const controller = new AbortController()
      const seen: unknown[] = []
      for await (const value of readNdjson(stream, { signal: controller.signal })) {
        seen.push(value)
        controller.abort('bye')
      }
      expect(seen).toEqual([1])
      expect(await probe.cancelled).toBe('bye')
    })

    it('aborting while a read is pending ends the iteration', async () => {
      const { stream, probe } = chunkedStream([], { keepOpen: true })
      const controller = new AbortController()
      const done = collect(readNdjson(stream, { signal: controller.signal }))
      await probe.drained
      controller.abort()
      expect(await done).toEqual([])
      expect(probe.wasCancelled()).toBe(true)
    })
  })
})

describe('NdjsonParseStream', () => {
  it('transforms bytes or strings into values, sharing readNdjson rules', async () => {
    const { stream } = streamOf('{"a":1}\r\n\n[2]\n3', 2)
    expect(await collect(stream.pipeThrough(new NdjsonParseStream()))).toEqual([{ a: 1 }, [2], 3])
    const strings = new ReadableStream<string>({
      start(controller) {
        // A surrogate pair split across two string chunks.
        for (const part of ['"\ud83d', '\ude00"\n1', '\n']) controller.enqueue(part)
        controller.close()
      },
    })
    expect(await collect(strings.pipeThrough(new NdjsonParseStream()))).toEqual(['\u{1f600}', 1])
  })

  it('errors only after every value before the bad line was read, even when the input has ended', async () => {
    const { stream } = streamOf('1\n2\n3\nnope\n')
    const { values, error } = await readUntilError(stream.pipeThrough(new NdjsonParseStream()))
    expect(values).toEqual([1, 2, 3])
    expect(error).toMatchObject({ lineNumber: 4 })
  })

  it('a source error reaches the reader after the values before it', async () => {
    const failure = new Error('connection reset')
    const { stream } = chunkedStream([bytes('1\n2\n')], { error: failure })
    const { values, error } = await readUntilError(stream.pipeThrough(new NdjsonParseStream()))
    expect(values).toEqual([1, 2])
    expect(error).toBe(failure)
  })

  it('applies maxLineSize and skipInvalidLines', async () => {
    const errors: number[] = []
    const parse = new NdjsonParseStream({ maxLineSize: 8, skipInvalidLines: (e) => errors.push(e.lineNumber) })
    const { values, error } = await readUntilError(streamOf('1\n{\n2\n"long string"\n').stream.pipeThrough(parse))
    expect(values).toEqual([1, 2])
    expect(errors).toEqual([2])
    expect(error).toMatchObject({ limit: 'maxLineSize', lineNumber: 4 })
  })

  it('cancelling the readable side cancels the source through pipeThrough', async () => {
    const { stream, probe } = chunkedStream([bytes('1\n2\n')], { keepOpen: true })
    for await (const value of stream.pipeThrough(new NdjsonParseStream())) {
      expect(value).toBe(1)
      break
    }
    await probe.cancelled
    expect(probe.wasCancelled()).toBe(true)
  })
})

describe('types', () => {
  it('carries the asserted value type through both forms', () => {
    const { stream } = streamOf('')
    // Checked by `tsc` (npm run typecheck); at run time these are no-ops.
    expectTypeOf(readNdjson<{ id: number }>(stream)).toEqualTypeOf<AsyncGenerator<{ id: number }, void, undefined>>()
    expectTypeOf(readNdjson(stream)).toEqualTypeOf<AsyncGenerator<unknown, void, undefined>>()
    expectTypeOf(new NdjsonParseStream<{ id: number }>().readable).toEqualTypeOf<ReadableStream<{ id: number }>>()
    expectTypeOf(new NdjsonParseStream().writable).toEqualTypeOf<WritableStream<Uint8Array | string>>()
    expect(stream.locked).toBe(false)
  })
})

describe('readNdjson over real fetch', () => {
  let server: Server
  let base: string
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      const body = bytes('{"n":1,"s":"\u{1f600}"}\r\n{"n":2}\n')
      res.write(body.subarray(0, 15)) // inside the emoji
      setImmediate(() => res.end(body.subarray(15)))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('parses a fetch Response body', async () => {
    const response = await fetch(base)
    expect(await collect(readNdjson(response))).toEqual([{ n: 1, s: '\u{1f600}' }, { n: 2 }])
  })
})
