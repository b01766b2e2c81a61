import { getEventListeners } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runInNewContext } from 'node:vm'
import { DEFAULT_MAX_MESSAGE_SIZE, LimitExceededError, readEventStream, readNdjson } from '@sluice/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bytes, chunkedStream, collect, splitBytes } from '../conformance/chunked.js'

function streamOf(text: string, chunkSize = Number.POSITIVE_INFINITY) {
  return chunkedStream(splitBytes(bytes(text), chunkSize))
}

describe('readEventStream', () => {
  it('yields event, data and the last event id, with "message" as the default event', async () => {
    const { stream } = streamOf('data: hello\n\nevent: ping\ndata: {"n":1}\nid: 7\n\ndata: again\n\n')
    expect(await collect(readEventStream(stream))).toEqual([
      { event: 'message', data: 'hello', id: '' },
      { event: 'ping', data: '{"n":1}', id: '7' },
      { event: 'message', data: 'again', id: '7' },
    ])
  })

  it('reads a Response, and a Response without a body is an empty stream', async () => {
    expect(await collect(readEventStream(new Response('data: a\n\n')))).toEqual([
      { event: 'message', data: 'a', id: '' },
    ])
    expect(await collect(readEventStream(new Response(null, { status: 204 })))).toEqual([])
  })

  it('reads a Response or stream that is not an instance of the current globals (another realm, a polyfill)', async () => {
    // @hono/node-server replaces globalThis.Response; a fetch() Response then fails `instanceof`.
    const foreign = new Response('data: a\n\n')
    const responseLike = { body: foreign.body, bodyUsed: false, headers: foreign.headers, status: 200 }
    expect(await collect(readEventStream(responseLike as unknown as Response))).toEqual([
      { event: 'message', data: 'a', id: '' },
    ])
    const { stream } = streamOf('data: b\n\n')
    const streamLike = { getReader: () => stream.getReader(), locked: false }
    expect(await collect(readEventStream(streamLike as unknown as ReadableStream<Uint8Array>))).toEqual([
      { event: 'message', data: 'b', id: '' },
    ])
    await expect(collect(readEventStream({ body: 'nope' } as unknown as Response))).rejects.toThrow(
      /expected a Response or a ReadableStream/,
    )
  })

  it('reads Uint8Array chunks of another realm (jsdom globals next to Node fetch, an iframe, a vm context)', async () => {
    const foreignChunks = runInNewContext(
      `[new Uint8Array([100, 97, 116, 97, 58, 32, 120]), new Uint8Array([10, 10])]`,
    ) as Uint8Array[]
    expect(foreignChunks[0]).not.toBeInstanceOf(Uint8Array)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of foreignChunks) controller.enqueue(chunk)
        controller.close()
      },
    })
    expect(await collect(readEventStream(stream))).toEqual([{ event: 'message', data: 'x', id: '' }])
  })

  it('refuses string chunks with a TypeError that says how to fix it (readEventStream and readNdjson)', async () => {
    const textStream = () =>
      new ReadableStream<string>({
        start(controller) {
          controller.enqueue('data: a\n\n')
          controller.close()
        },
      }) as unknown as ReadableStream<Uint8Array>
    await expect(collect(readEventStream(textStream()))).rejects.toThrow(
      /expected Uint8Array chunks, got string.*TextEncoderStream/,
    )
    await expect(collect(readNdjson(textStream()))).rejects.toThrow(
      /expected Uint8Array chunks, got string.*TextEncoderStream/,
    )
  })

  it('refuses a used body or a locked stream with a TypeError that says what to do', async () => {
    const response = new Response('data: a\n\n')
    await response.text()
    await expect(collect(readEventStream(response))).rejects.toThrow(/already read/)
    const { stream } = streamOf('data: a\n\n')
    const reader = stream.getReader()
    await expect(collect(readEventStream(stream))).rejects.toThrow(/locked/)
    reader.releaseLock()
  })

  it('moves the last event id on a block without data, and reports it with onLastEventId', async () => {
    const reported: string[] = []
    const { stream } = streamOf('id: 1\n\ndata: a\n\nid\n\ndata: b\n\nid: 3\ndata: c\n\n')
    const messages = await collect(readEventStream(stream, { onLastEventId: (id) => reported.push(id) }))
    expect(messages).toEqual([
      { event: 'message', data: 'a', id: '1' },
      { event: 'message', data: 'b', id: '' },
      { event: 'message', data: 'c', id: '3' },
    ])
    expect(reported).toEqual(['1', '', '3'])
  })

  it('reports valid retry fields and comments', async () => {
    const retries: number[] = []
    const comments: string[] = []
    const { stream } = streamOf(': keepalive\nretry: 2500\nretry: 1e3\nretry: -1\n:\n:  two spaces\ndata: x\n\n')
    const messages = await collect(
      readEventStream(stream, { onRetry: (ms) => retries.push(ms), onComment: (text) => comments.push(text) }),
    )
    expect(messages).toEqual([{ event: 'message', data: 'x', id: '' }])
    expect(retries).toEqual([2500])
    expect(comments).toEqual(['keepalive', '', ' two spaces'])
  })

  describe('maxMessageSize', () => {
    it('has a generous default of at least 1 MiB', () => {
      expect(DEFAULT_MAX_MESSAGE_SIZE).toBeGreaterThanOrEqual(1024 * 1024)
    })

    it('accepts a message of exactly the limit and rejects one byte more, naming the limit', async () => {
      // "data: " (6 bytes) + 10 bytes of data = 16 bytes buffered for the message.
      const exact = streamOf('data: 0123456789\n\n')
      expect(await collect(readEventStream(exact.stream, { maxMessageSize: 16 }))).toHaveLength(1)
      const over = streamOf('data: 0123456789X\n\n')
      const error = await collect(readEventStream(over.stream, { maxMessageSize: 16 })).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(LimitExceededError)
      expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxMessageSize', max: 16 })
      expect((error as Error).message).toMatch(/maxMessageSize \(16 bytes\)/)
      expect(over.probe.wasCancelled()).toBe(true)
    })

    it('counts every line of one message, and starts again after each dispatch', async () => {
      const many = 'data: 12345\n'.repeat(10) // 11 bytes per line
      const ok = streamOf(`${many}\n${many}\n`)
      expect(await collect(readEventStream(ok.stream, { maxMessageSize: 110 }))).toHaveLength(2)
      const tooMany = streamOf(`${many}data: 1\n\n`)
      await expect(collect(readEventStream(tooMany.stream, { maxMessageSize: 110 }))).rejects.toBeInstanceOf(
        LimitExceededError,
      )
    })

    it('does not count comments, which are not buffered', async () => {
      const { stream } = streamOf(`${': keepalive\n'.repeat(1000)}data: x\n\n`)
      expect(await collect(readEventStream(stream, { maxMessageSize: 64 }))).toHaveLength(1)
    })

    it('stops a line that never ends without reading much further than the limit', async () => {
      // An endless line in 1 KiB chunks: the reader must give up after about limit / chunk reads.
      const chunk = bytes('x'.repeat(1024))
      let pulls = 0
      let cancelled = false
      const endless = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            pulls += 1
            controller.enqueue(pulls === 1 ? bytes('data: ') : chunk)
          },
          cancel() {
            cancelled = true
          },
        },
        { highWaterMark: 0 },
      )
      const error = await collect(readEventStream(endless, { maxMessageSize: 64 * 1024 })).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(LimitExceededError)
      expect(pulls).toBeLessThanOrEqual(66)
      expect(cancelled).toBe(true)
    })

    it('parses a 20 MB message (one line, or many) arriving in 16 KiB chunks in linear time', async () => {
      const payload = 'x'.repeat(20 * 1024 * 1024)
      const oneLine = chunkedStream(splitBytes(bytes(`data: ${payload}\n\n`), 16 * 1024))
      const [single] = await collect(readEventStream(oneLine.stream, { maxMessageSize: 32 * 1024 * 1024 }))
      expect(single?.data.length).toBe(payload.length)
      const lines = `data: ${'y'.repeat(1000)}\n`.repeat(20_000)
      const manyLines = chunkedStream(splitBytes(bytes(`${lines}\n`), 16 * 1024))
      const [joined] = await collect(readEventStream(manyLines.stream, { maxMessageSize: 32 * 1024 * 1024 }))
      expect(joined?.data.length).toBe(20_000 * 1001 - 1)
    })

    it('delivers the messages before the oversized one, even from the same chunk', async () => {
      const { stream } = streamOf(`data: a\n\ndata: b\n\ndata: ${'x'.repeat(100)}\n\n`)
      const seen: string[] = []
      const error = await (async () => {
        for await (const message of readEventStream(stream, { maxMessageSize: 50 })) seen.push(message.data)
      })().catch((e: unknown) => e)
      expect(seen).toEqual(['a', 'b'])
      expect(error).toBeInstanceOf(LimitExceededError)
    })

    it('rejects a limit that is not a positive integer', async () => {
      for (const maxMessageSize of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        const { stream } = streamOf('')
        await expect(readEventStream(stream, { maxMessageSize }).next()).rejects.toThrow(/maxMessageSize/)
      }
    })
  })

  describe('releasing the source', () => {
    it('cancels the stream when the loop is left early', async () => {
      const { stream, probe } = chunkedStream([bytes('data: 1\n\n'), bytes('data: 2\n\n')], { keepOpen: true })
      for await (const message of readEventStream(stream)) {
        expect(message.data).toBe('1')
        break
      }
      expect(probe.wasCancelled()).toBe(true)
      expect(stream.locked).toBe(false)
    })

    it('cancels the stream with the reason and ends the iteration when the signal aborts', async () => {
      const { stream, probe } = chunkedStream([bytes('data: 1\n\n')], { keepOpen: true })
      const controller = new AbortController()
      const seen: string[] = []
      const reason = new Error('user left')
      for await (const message of readEventStream(stream, { signal: controller.signal })) {
        seen.push(message.data)
        controller.abort(reason)
      }
      expect(seen).toEqual(['1'])
      expect(await probe.cancelled).toBe(reason)
    })

    it('aborting while a read is pending ends the iteration', async () => {
      const { stream, probe } = chunkedStream([], { keepOpen: true })
      const controller = new AbortController()
      const done = collect(readEventStream(stream, { signal: controller.signal }))
      // Wait until the parser is actually waiting on the stream, then abort.
      await probe.drained
      controller.abort()
      expect(await done).toEqual([])
      expect(probe.wasCancelled()).toBe(true)
    })

    it('an already aborted signal reads nothing', async () => {
      const { stream, probe } = chunkedStream([bytes('data: 1\n\n')])
      expect(await collect(readEventStream(stream, { signal: AbortSignal.abort() }))).toEqual([])
      expect(probe.pulled()).toBe(0)
      expect(probe.wasCancelled()).toBe(true)
    })

    it('leaving the loop does not wait for a source whose cancel never settles', async () => {
      let cancelCalled = false
      const stuck = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes('data: 1\n\n'))
        },
        cancel() {
          cancelCalled = true
          return new Promise<void>(() => undefined)
        },
      })
      for await (const message of readEventStream(stuck)) {
        expect(message.data).toBe('1')
        break
      }
      expect(cancelCalled).toBe(true)
    })

    it('cancels the stream when a callback throws', async () => {
      const { stream, probe } = chunkedStream([bytes(': ping\n\ndata: 1\n\n')], { keepOpen: true })
      const failing = readEventStream(stream, {
        onComment: () => {
          throw new Error('callback failed')
        },
      })
      await expect(collect(failing)).rejects.toThrow('callback failed')
      expect(probe.wasCancelled()).toBe(true)
    })

    it('leaves no abort listener on the signal, however the iteration ends', async () => {
      const controller = new AbortController()
      const { signal } = controller
      await collect(readEventStream(streamOf('data: 1\n\n').stream, { signal }))
      for await (const _ of readEventStream(chunkedStream([bytes('data: 1\n\n')], { keepOpen: true }).stream, {
        signal,
      }))
        break
      await expect(
        collect(readEventStream(streamOf('data: 1\n\n').stream, { signal, maxMessageSize: 2 })),
      ).rejects.toBeInstanceOf(LimitExceededError)
      expect(getEventListeners(signal, 'abort')).toHaveLength(0)
    })

    it('rejects input that is not a byte stream with a TypeError that says what to pass', async () => {
      await expect(readEventStream('data: x' as unknown as Response).next()).rejects.toThrow(
        /expected a Response or a ReadableStream/,
      )
      const strings = new ReadableStream({
        start(controller) {
          controller.enqueue(42)
        },
      }) as unknown as ReadableStream<Uint8Array>
      await expect(readEventStream(strings).next()).rejects.toThrow(/expected Uint8Array chunks, got number/)
    })

    it('surfaces the stream error', async () => {
      const failure = new Error('socket reset')
      const { stream } = chunkedStream([bytes('data: 1\n\n')], { error: failure })
      const seen: string[] = []
      await expect(
        (async () => {
          for await (const message of readEventStream(stream)) seen.push(message.data)
        })(),
      ).rejects.toBe(failure)
      expect(seen).toEqual(['1'])
    })
  })

  describe('over real fetch', () => {
    let server: Server
    let base: string
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' })
        if (req.url === '/endless') {
          // Writes until the client goes away; the test proves the client cancels the body.
          let n = 0
          const timer = setInterval(() => res.write(`id: ${++n}\ndata: tick ${n}\n\n`), 5)
          res.on('close', () => clearInterval(timer))
          return
        }
        // Split a multi-byte character and a CRLF across writes.
        const body = bytes('id: 1\r\ndata: h\u00e9llo \u{1f600}\r\n\r\ndata: bye\n\n')
        res.write(body.subarray(0, 20))
        setImmediate(() => res.end(body.subarray(20)))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    })
    afterAll(async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })

    it('parses a fetch Response body', async () => {
      const response = await fetch(`${base}/once`)
      expect(await collect(readEventStream(response))).toEqual([
        { event: 'message', data: 'h\u00e9llo \u{1f600}', id: '1' },
        { event: 'message', data: 'bye', id: '1' },
      ])
    })

    it('breaking out of a live stream closes the connection to the server', async () => {
      const closed = new Promise<void>((resolve) => server.once('request', (_req, res) => res.on('close', resolve)))
      const response = await fetch(`${base}/endless`)
      const ids: string[] = []
      for await (const message of readEventStream(response)) {
        ids.push(message.id)
        if (ids.length === 3) break
      }
      expect(ids).toEqual(['1', '2', '3'])
      await closed
    })

    it('leaves no socket, timer or handle behind after breaking out', async () => {
      const baseline = process.getActiveResourcesInfo().sort()
      const closed = new Promise<void>((resolve) => server.once('request', (_req, res) => res.on('close', resolve)))
      const response = await fetch(`${base}/endless`, { headers: { connection: 'close' } })
      for await (const message of readEventStream(response)) if (message.id === '2') break
      await closed
      // The client's side of the socket closes asynchronously after the server saw it go: wait for
      // the state, do not sleep.
      await expect.poll(() => process.getActiveResourcesInfo().sort()).toEqual(baseline)
    })
  })
})
