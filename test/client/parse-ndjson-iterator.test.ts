/**
 * readNdjson returns the same batch-fed iterator as readEventStream (BatchIterator): it must behave
 * as the async generator it replaced, for NDJSON too.
 */
import { NdjsonSyntaxError, readNdjson } from '@sluice/client'
import { describe, expect, it } from 'vitest'
import { bytes, chunkedStream } from '../conformance/chunked.js'

describe('the iterator readNdjson returns', () => {
  it('serves next() calls made without awaiting in order, across chunks and the last line, then done', async () => {
    const { stream } = chunkedStream([bytes('1\n2\n'), bytes('3\n4')])
    const iterator = readNdjson<number>(stream)
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map(() => iterator.next()))
    expect(results.map((r) => (r.done ? 'done' : r.value))).toEqual([1, 2, 3, 4, 'done', 'done'])
  })

  it('ends between two values of one chunk when the signal aborts, releasing the reader', async () => {
    const { stream, probe } = chunkedStream([bytes('1\n2\n3\n')], { keepOpen: true })
    const controller = new AbortController()
    const seen: number[] = []
    for await (const value of readNdjson<number>(stream, { signal: controller.signal })) {
      seen.push(value)
      if (value === 1) controller.abort()
    }
    expect(seen).toEqual([1])
    expect(probe.wasCancelled()).toBe(true)
  })

  it('releases the reader on return() and on throw(), then is done', async () => {
    const first = chunkedStream([bytes('1\n2\n')], { keepOpen: true })
    const returning = readNdjson(first.stream)
    await returning.next()
    expect(await returning.return()).toEqual({ done: true, value: undefined })
    expect(first.probe.wasCancelled()).toBe(true)
    expect(await returning.next()).toEqual({ done: true, value: undefined })

    const second = chunkedStream([bytes('1\n2\n')], { keepOpen: true })
    const throwing = readNdjson(second.stream)
    await throwing.next()
    const failure = new Error('stop')
    await expect(throwing.throw(failure)).rejects.toBe(failure)
    expect(second.probe.wasCancelled()).toBe(true)
    expect(await throwing.next()).toEqual({ done: true, value: undefined })
  })

  it('gives a bad line error after the values before it in the same chunk, then is done', async () => {
    const { stream, probe } = chunkedStream([bytes('1\n2\n{oops\n3\n')], { keepOpen: true })
    const iterator = readNdjson(stream)
    expect((await iterator.next()).value).toBe(1)
    expect((await iterator.next()).value).toBe(2)
    await expect(iterator.next()).rejects.toBeInstanceOf(NdjsonSyntaxError)
    expect(probe.wasCancelled()).toBe(true)
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })
})
