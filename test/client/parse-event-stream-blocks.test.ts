/**
 * readEventStream skips its byte scan on chunks that cannot pass `maxMessageSize` and whose blank
 * lines all dispatched a message. These properties pin what that shortcut must never change, on
 * streams mixing every kind of block (with data, `id:` only, comments only, `retry:` only, extra
 * blank lines), large enough that the shortcut is taken, cut into chunks anywhere:
 * - the messages and their last event IDs (an `id:` in a block without data moves it too);
 * - `onLastEventId`, once per change, in stream order;
 * - the bound, exact in bytes: the first block whose non-comment lines (plus the line being
 *   received) pass it ends the iteration with `LimitExceededError`, after every message before it.
 */
import { type EventStreamMessage, LimitExceededError, readEventStream } from '@sluice/client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bytes, chunkedStream, splitAt } from '../conformance/chunked.js'

type Block =
  | { kind: 'data'; event: string | undefined; id: string | undefined; data: string; comment: string | undefined }
  | { kind: 'id'; id: string; bare: boolean; comment: string | undefined }
  | { kind: 'comment'; text: string }
  | { kind: 'retry'; ms: number }
  | { kind: 'blank' }

const text = fc.string({ unit: 'binary', maxLength: 30 }).filter((t) => !/[\r\n]/.test(t))
const idText = text.filter((t) => !t.includes('\0'))

const block: fc.Arbitrary<Block> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('data' as const),
      event: fc.option(text, { nil: undefined }),
      id: fc.option(idText, { nil: undefined }),
      data: fc.array(text, { minLength: 1, maxLength: 3 }).map((lines) => lines.join('\n')),
      comment: fc.option(text, { nil: undefined }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('id' as const),
      id: idText,
      bare: fc.boolean(),
      comment: fc.option(text, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('comment' as const), text }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), ms: fc.nat(100_000) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'blank' as const }) },
)

const utf8 = (line: string) => new TextEncoder().encode(line).byteLength

/** The lines of one block (without the blank line that ends it). */
function linesOf(b: Block): string[] {
  switch (b.kind) {
    case 'data': {
      const lines: string[] = []
      if (b.comment !== undefined) lines.push(`:${b.comment}`)
      if (b.event !== undefined) lines.push(`event: ${b.event}`)
      if (b.id !== undefined) lines.push(`id: ${b.id}`)
      for (const line of b.data.split('\n')) lines.push(`data: ${line}`)
      return lines
    }
    case 'id':
      return [...(b.comment === undefined ? [] : [`:${b.comment}`]), b.bare && b.id === '' ? 'id' : `id: ${b.id}`]
    case 'comment':
      return [`:${b.text}`]
    case 'retry':
      return [`retry: ${b.ms}`]
    case 'blank':
      return []
  }
}

function encode(blocks: readonly Block[], eol: string): string {
  let out = ''
  for (const b of blocks) {
    for (const line of linesOf(b)) out += line + eol
    out += eol
  }
  return out
}

interface Expected {
  messages: EventStreamMessage[]
  ids: string[]
  overflow: boolean
}

/** What the spec gives, and where the byte bound stops it. */
function expected(blocks: readonly Block[], max: number): Expected {
  const messages: EventStreamMessage[] = []
  const ids: string[] = []
  let lastId = ''
  for (const b of blocks) {
    // Bytes buffered for the block: its lines except comments, without line breaks, plus the line
    // being received (a comment too, until its end shows it is one).
    let size = 0
    for (const line of linesOf(b)) {
      if (size + utf8(line) > max) return { messages, ids, overflow: true }
      if (!line.startsWith(':')) size += utf8(line)
    }
    if (b.kind === 'data' || b.kind === 'id') {
      if (b.id !== undefined) lastId = b.id
      if (lastId !== (ids.at(-1) ?? '')) ids.push(lastId)
    }
    if (b.kind === 'data') messages.push({ event: b.event || 'message', data: b.data, id: lastId })
  }
  return { messages, ids, overflow: false }
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 })

async function run(encoded: Uint8Array, offsets: number[], max: number | undefined) {
  const ids: string[] = []
  const messages: EventStreamMessage[] = []
  const { stream } = chunkedStream(splitAt(encoded, offsets))
  let error: unknown
  try {
    for await (const message of readEventStream(stream, {
      onLastEventId: (id) => ids.push(id),
      ...(max === undefined ? {} : { maxMessageSize: max }),
    })) {
      messages.push(message)
    }
  } catch (caught) {
    error = caught
  }
  return { ids, messages, error }
}

describe('readEventStream on streams of every kind of block', () => {
  it('gives the spec result for any mix of blocks, line break and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(block, { maxLength: 40 }),
        fc.integer({ min: 1, max: 60 }),
        fc.constantFrom('\n', '\n', '\r\n', '\r'),
        cuts,
        fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
        async (pattern, repeat, eol, fractions, max) => {
          // Repeated so that chunks hold many blocks and the scan is skipped on most of them.
          const blocks = Array.from({ length: repeat }, () => pattern).flat()
          const encoded = bytes(encode(blocks, eol))
          const offsets = fractions.map((f) => Math.floor(f * encoded.byteLength))
          const want = expected(blocks, max ?? Number.POSITIVE_INFINITY)
          const got = await run(encoded, offsets, max)
          expect(got.messages).toEqual(want.messages)
          if (want.overflow) {
            expect(got.error).toBeInstanceOf(LimitExceededError)
            expect(got.error).toMatchObject({ limit: 'maxMessageSize', max })
          } else {
            expect(got.error).toBeUndefined()
            expect(got.ids).toEqual(want.ids)
          }
        },
      ),
      { numRuns: 400 },
    )
  })

  it('finds an id-only block between two chunks of data events (the blank line split across them)', async () => {
    const head = 'id: 1\ndata: a\n\n'.repeat(50)
    const stream = `${head}id: moved\n`
    const tail = `\ndata: b\n\n${'data: c\n\n'.repeat(50)}`
    const encoded = bytes(stream + tail)
    const got = await run(encoded, [stream.length], undefined)
    expect(got.error).toBeUndefined()
    expect(got.ids).toEqual(['1', 'moved'])
    expect(got.messages.at(50)).toEqual({ event: 'message', data: 'b', id: 'moved' })
    expect(got.messages.at(-1)).toEqual({ event: 'message', data: 'c', id: 'moved' })
  })

  it('counts the bytes of a block kept from earlier chunks when a later chunk could pass the bound', async () => {
    // Many small events (the scan is skipped), then one block growing over three chunks to one
    // byte more than the bound, which must still be found exactly.
    const small = 'data: x\n\n'.repeat(100)
    const big = `data: ${'y'.repeat(194)}` // 200 bytes
    const over = bytes(`${small}${big}z\n\n`)
    const cutsAt = [small.length + 50, small.length + 120]
    const rejected = await run(over, cutsAt, 200)
    expect(rejected.messages).toHaveLength(100)
    expect(rejected.error).toBeInstanceOf(LimitExceededError)
    expect((rejected.error as Error).message).toMatch(/maxMessageSize \(200 bytes\)/)
    // Parsed up to the chunk that passed the bound (the line began in an earlier one).
    expect((rejected.error as Error).message).toMatch(/parsed up to byte 1020$/)
    const fits = await run(bytes(`${small}${big}\n\n`), cutsAt, 200)
    expect(fits.error).toBeUndefined()
    expect(fits.messages).toHaveLength(101)
  })
})

describe('the iterator readEventStream returns', () => {
  it('serves next() calls made without awaiting in order, across chunks, then done', async () => {
    const { stream } = chunkedStream([bytes('data: 1\n\ndata: 2\n\n'), bytes('data: 3\n\n')])
    const iterator = readEventStream(stream)
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => iterator.next()))
    expect(results.map((r) => (r.done ? 'done' : r.value.data))).toEqual(['1', '2', '3', 'done', 'done'])
  })

  it('lets a read in progress finish before return() releases the reader, as a generator does', async () => {
    let enqueue: (text: string) => void = () => undefined
    let cancelled = false
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        enqueue = (text) => controller.enqueue(bytes(text))
        enqueue('data: 1\n\n')
      },
      cancel() {
        cancelled = true
      },
    })
    const iterator = readEventStream(stream)
    expect(await iterator.next()).toMatchObject({ done: false, value: { data: '1' } })
    const pending = iterator.next()
    const returned = iterator.return()
    enqueue('data: 2\n\n')
    expect(await pending).toMatchObject({ done: false, value: { data: '2' } })
    expect(await returned).toEqual({ done: true, value: undefined })
    expect(cancelled).toBe(true)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('releases the reader on throw() and rethrows, then is done', async () => {
    const { stream, probe } = chunkedStream([bytes('data: 1\n\ndata: 2\n\n')], { keepOpen: true })
    const iterator = readEventStream(stream)
    await iterator.next()
    const failure = new Error('stop')
    await expect(iterator.throw(failure)).rejects.toBe(failure)
    expect(probe.wasCancelled()).toBe(true)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('ends between two messages of one chunk when the signal aborts, releasing the reader', async () => {
    const { stream, probe } = chunkedStream([bytes('data: 1\n\ndata: 2\n\ndata: 3\n\n')], { keepOpen: true })
    const controller = new AbortController()
    const seen: string[] = []
    for await (const message of readEventStream(stream, { signal: controller.signal })) {
      seen.push(message.data)
      if (message.data === '1') controller.abort()
    }
    expect(seen).toEqual(['1'])
    expect(probe.wasCancelled()).toBe(true)
  })

  it('gives the error of a chunk after its messages, then is done', async () => {
    const { stream, probe } = chunkedStream([bytes(`data: a\n\ndata: ${'x'.repeat(100)}\n\n`)], { keepOpen: true })
    const iterator = readEventStream(stream, { maxMessageSize: 50 })
    expect(await iterator.next()).toMatchObject({ done: false, value: { data: 'a' } })
    await expect(iterator.next()).rejects.toBeInstanceOf(LimitExceededError)
    expect(probe.wasCancelled()).toBe(true)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })
})
