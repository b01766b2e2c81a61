import { readEventStream } from '@sluice/client'
import type { StreamEndReason } from '@sluice/server-kit'
import { eventStreamResponse, formatEvent, OPENING_COMMENT } from '@sluice/server-kit'
import { createTestServer } from '@sluice/server-kit/testing'
import { describe, expect, it, vi } from 'vitest'
import { bodyText, deferred, rawGet, waitFor } from './helpers.js'

const request = (url = 'http://localhost/events', init?: RequestInit) => new Request(url, init)

describe('eventStreamResponse', () => {
  it('returns a streaming Response with the default headers and the formatted events', async () => {
    const response = eventStreamResponse(
      request(),
      [
        { id: '1', data: 'a' },
        { event: 'x', data: [1] },
      ],
      { retry: 500 },
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform')
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    expect(await bodyText(response.body)).toBe('retry: 500\n\nid: 1\ndata: a\n\nevent: x\ndata: [1]\n\n')
  })

  it("is read by @sluice/client's readEventStream", async () => {
    const response = eventStreamResponse(request(), async function* () {
      for (let n = 1; n <= 20; n++) yield { id: String(n), data: `line ${n}\nsecond` }
    })
    const messages = []
    for await (const message of readEventStream(response)) messages.push(message)
    expect(messages).toHaveLength(20)
    expect(messages[19]).toEqual({ id: '20', event: 'message', data: 'line 20\nsecond' })
  })

  it('merges user headers and status', async () => {
    const response = eventStreamResponse(request(), [], { status: 202, headers: [['X-Trace', 'abc']] })
    expect(response.status).toBe(202)
    expect(response.headers.get('x-trace')).toBe('abc')
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    await response.body?.cancel()
  })

  it('gives the source lastEventId (header first, then query) and the Request', async () => {
    const seen: Array<[string | undefined, string]> = []
    const source = ({ lastEventId, request: r }: { lastEventId: string | undefined; request: Request }) => {
      seen.push([lastEventId, r.url])
      return []
    }
    await bodyText(eventStreamResponse(request('http://h/e?lastEventId=3'), source).body)
    await bodyText(
      eventStreamResponse(request('http://h/e?lastEventId=3', { headers: { 'last-event-id': '8' } }), source).body,
    )
    await bodyText(eventStreamResponse(request('http://h/e'), source).body)
    expect(seen).toEqual([
      ['3', 'http://h/e?lastEventId=3'],
      ['8', 'http://h/e?lastEventId=3'],
      [undefined, 'http://h/e'],
    ])
  })

  it('pulls the source only as the body is read (one chunk of at most 16 KiB queued)', async () => {
    let pulls = 0
    const event = { data: 'x'.repeat(1024) }
    const eventBytes = formatEvent(event).length
    const response = eventStreamResponse(
      request(),
      (function* () {
        for (;;) {
          pulls++
          yield event
        }
      })(),
      { keepAlive: false },
    )
    // Nobody reads: let the event loop run; the pump must stop after filling one queued chunk
    // (here the opening comment).
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(pulls).toBeLessThanOrEqual(2)
    const reader = response.body!.getReader()
    let bytesRead = 0
    for (let i = 0; i < 10; i++) bytesRead += (await reader.read()).value?.byteLength ?? 0
    await new Promise((resolve) => setTimeout(resolve, 20))
    // A synchronous source's available events are batched into one chunk of at most 16 KiB plus
    // the event that crosses it: what was pulled is what was read plus that one queued chunk.
    expect(bytesRead).toBeGreaterThan(10 * eventBytes)
    expect(pulls * eventBytes).toBeLessThanOrEqual(bytesRead + 16 * 1024 + eventBytes)
    await reader.cancel()
  })

  it('ends the source when request.signal aborts, even while it is blocked waiting', async () => {
    const client = new AbortController()
    const closed = deferred<StreamEndReason>()
    let finallyRan = false
    const response = eventStreamResponse(
      request('http://h/', { signal: client.signal }),
      async function* ({ signal }) {
        try {
          yield { data: 'one' }
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
          yield { data: 'never' }
        } finally {
          finallyRan = true
        }
      },
      { onClose: closed.resolve },
    )
    const reader = response.body!.getReader()
    // The opening comment starts the body at once (Bun sends headers only with the first bytes).
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(OPENING_COMMENT)
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: one\n\n')
    client.abort()
    expect(await closed.promise).toBe('disconnect')
    await waitFor('the source finally to run', () => finallyRan, 1_000)
    // Nobody is reading a disconnected body: it is closed, not errored (runtimes log errored bodies).
    expect(await reader.read()).toEqual({ done: true, value: undefined })
  })

  it('ends the source when the body is cancelled', async () => {
    const closed = deferred<StreamEndReason>()
    let finallyRan = false
    const response = eventStreamResponse(
      request(),
      async function* () {
        try {
          for (;;) yield { data: 'tick' }
        } finally {
          finallyRan = true
        }
      },
      { onClose: closed.resolve },
    )
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    expect(await closed.promise).toBe('disconnect')
    expect(finallyRan).toBe(true)
  })

  it('ends the stream when nobody pulls the body within sendTimeout', async () => {
    const closed = deferred<StreamEndReason>()
    let finallyRan = false
    const response = eventStreamResponse(
      request(),
      async function* () {
        try {
          for (;;) yield { data: 'unread' }
        } finally {
          finallyRan = true
        }
      },
      { sendTimeout: 50, onClose: closed.resolve },
    )
    // Read the opening comment, so the source starts, then stop reading.
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(OPENING_COMMENT)
    expect(await closed.promise).toBe('send-timeout')
    expect(finallyRan).toBe(true)
    // The body errors, so a runtime aborts the connection instead of ending it as if complete.
    await expect(reader.read()).rejects.toThrow(/sendTimeout \(50 ms\)/)
  })

  it('sends keepalive comments while the source is silent', async () => {
    const client = new AbortController()
    const response = eventStreamResponse(
      request('http://h/', { signal: client.signal }),
      async function* ({ signal }) {
        await new Promise((resolve) => signal.addEventListener('abort', resolve))
      },
      { keepAlive: 10 },
    )
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    expect(decoder.decode((await reader.read()).value)).toBe(OPENING_COMMENT)
    expect(decoder.decode((await reader.read()).value)).toBe(': keepalive\n\n')
    expect(decoder.decode((await reader.read()).value)).toBe(': keepalive\n\n')
    client.abort()
    expect((await reader.read()).done).toBe(true)
  })

  it('turns an error into the chosen final event, and a source function that throws too', async () => {
    const throwing = eventStreamResponse(
      request(),
      () => {
        throw new Error('secret')
      },
      { onError: () => 'unavailable' },
    )
    expect(await bodyText(throwing.body)).toBe(`${OPENING_COMMENT}event: error\ndata: unavailable\n\n`)
    const custom = eventStreamResponse(
      request(),
      async function* () {
        yield { data: 1 }
        throw new Error('secret')
      },
      { onError: () => ({ event: 'failure', id: 'f', data: { retryable: true } }) },
    )
    expect(await bodyText(custom.body)).toBe(
      `${OPENING_COMMENT}data: 1\n\nevent: failure\nid: f\ndata: {"retryable":true}\n\n`,
    )
  })

  it('ends cleanly on shutdown with a retry inside the jitter window', async () => {
    const shutdown = new AbortController()
    const response = eventStreamResponse(
      request(),
      async function* ({ signal }) {
        yield { data: 'up' }
        await new Promise((resolve) => signal.addEventListener('abort', resolve))
      },
      { signal: shutdown.signal, retry: 2000, shutdownJitter: 100 },
    )
    const reader = response.body!.getReader()
    await reader.read()
    shutdown.abort()
    let rest = ''
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += new TextDecoder().decode(chunk.value)
    const retry = Number(/^retry: (\d+)\n\n$/.exec(rest)?.[1])
    expect(retry).toBeGreaterThanOrEqual(2000)
    expect(retry).toBeLessThanOrEqual(2100)
  })

  it('throws a TypeError for misuse, synchronously', () => {
    expect(() => eventStreamResponse(request(), [], { keepAlive: -1 })).toThrow(/`keepAlive`/)
    expect(() => eventStreamResponse(request(), [], { status: 204 })).toThrow(/not 204, 205 or 304/)
    expect(() => eventStreamResponse(request(), [], { headers: { 'bad header': 'x' } })).toThrow(TypeError)
  })
})

describe('eventStreamResponse served on node:http (Request -> Response round trip)', () => {
  it('streams to a real client and sees the disconnect through request.signal, reporting no error', async () => {
    const logged = vi.spyOn(console, 'error')
    let finallyRan = false
    let requestAborted = false
    const server = await createTestServer((incoming: Request) => {
      incoming.signal.addEventListener('abort', () => {
        requestAborted = true
      })
      return eventStreamResponse(incoming, async function* ({ signal, lastEventId }) {
        try {
          yield { id: '1', data: `resumed from ${lastEventId}` }
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
        } finally {
          finallyRan = true
        }
      })
    })
    try {
      const response = await rawGet(`${server.url}/stream`, { 'Last-Event-ID': 'abc' })
      expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
      await response.waitForText('id: 1\ndata: resumed from abc\n\n')
      response.abort()
      await waitFor('the source finally to run', () => finallyRan && requestAborted, 1_000)
      // A client leaving is not an error: nothing is reported.
      expect(logged).not.toHaveBeenCalled()
    } finally {
      logged.mockRestore()
      await server.close()
    }
  })
})
