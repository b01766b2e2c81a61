/**
 * Issue 3 audit: claims about the stream helpers that the other files did not prove on their own —
 * keepalive on by default, a clean end (a complete HTTP message) versus an abort at byte level,
 * every end reason releasing its timers, sockets and signal listeners, headers at once through the
 * Fetch adapter, NDJSON under Fastify, and the test client reusing @sluice/client's parsers.
 */
import { getEventListeners } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect, type Socket } from 'node:net'
import { LimitExceededError, readNdjson } from '@sluice/client'
import type { StreamContext, StreamEndReason } from '@sluice/server-kit'
import {
  DEFAULT_KEEP_ALIVE,
  eventStreamResponse,
  KEEP_ALIVE_COMMENT,
  ndjsonResponse,
  sendEventStream,
  sendNdjson,
} from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import Fastify from 'fastify'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { deferred, expectNoLeaks, liveResources, rawGet, waitFor } from './helpers.js'

let server: TestServer | undefined
const stalled: Socket[] = []
afterEach(async () => {
  vi.useRealTimers()
  vi.restoreAllMocks()
  for (const socket of stalled.splice(0)) socket.destroy()
  await server?.close()
  server = undefined
})

/** The body without a leading comment block (an opening comment, when the server sends one, is no event). */
const events = (body: string) => body.replace(/^(?::[^\n]*\n)+\n/, '')

/** Waits until the source blocks; ends when the stream's signal aborts (the stream ended). */
async function* blocked({ signal }: StreamContext<unknown>) {
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
}

describe('keepalive is on by default', () => {
  // Fake timers (setTimeout and Date only, which the pump uses): the default interval is proven
  // without the test waiting 5 real seconds.
  for (const [name, respond, chunk] of [
    ['SSE: a comment', eventStreamResponse, KEEP_ALIVE_COMMENT],
    ['NDJSON: an empty line', ndjsonResponse, '\n'],
  ] as const) {
    it(`${name} after DEFAULT_KEEP_ALIVE ms of silence, not before`, async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
      const client = new AbortController()
      const response = respond(new Request('http://h/', { signal: client.signal }), blocked)
      // Every chunk the body delivers, read as it comes (an opening preamble, if any, included).
      const chunks: string[] = []
      const reading = (async () => {
        const decoder = new TextDecoder()
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          chunks.push(decoder.decode(chunk))
        }
      })()
      const keepAlives = () => chunks.filter((text) => text === chunk).length
      await vi.advanceTimersByTimeAsync(0)
      const opening = keepAlives()
      await vi.advanceTimersByTimeAsync(DEFAULT_KEEP_ALIVE - 1)
      expect(keepAlives()).toBe(opening)
      await vi.advanceTimersByTimeAsync(1)
      expect(keepAlives()).toBe(opening + 1)
      // Bun closes a response silent for 10 s: the default must stay below it.
      expect(DEFAULT_KEEP_ALIVE).toBeLessThan(10_000)
      client.abort()
      await reading
    })
  }
})

describe('keepalive never goes into a full buffer (Fetch sink)', () => {
  it('skips keepalives while the one queued chunk is unread, and sends them again once it is read', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const client = new AbortController()
    const response = eventStreamResponse(
      new Request('http://h/', { signal: client.signal }),
      async function* (ctx) {
        yield { data: 'one' }
        yield* blocked(ctx)
      },
      { keepAlive: 10 },
    )
    // A hundred keepalive intervals with nobody reading: the body's one-chunk queue is full.
    await vi.advanceTimersByTimeAsync(1_000)
    const chunks: string[] = []
    const reading = (async () => {
      const decoder = new TextDecoder()
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        chunks.push(decoder.decode(chunk))
      }
    })()
    // Read everything that was queued, without letting any time pass: no keepalive among it.
    await vi.advanceTimersByTimeAsync(0)
    expect(chunks.at(-1)).toBe('data: one\n\n')
    expect(chunks.filter((chunk) => chunk === KEEP_ALIVE_COMMENT)).toEqual([])
    // Drained: the next interval sends a keepalive again.
    await vi.advanceTimersByTimeAsync(10)
    expect(chunks.at(-1)).toBe(KEEP_ALIVE_COMMENT)
    client.abort()
    await reading
  })
})

describe('clean end versus abort, at byte level (node:http, chunked encoding)', () => {
  /** Serves one SSE stream per request with `options`, recording how it ended. */
  async function serve(
    source: Parameters<typeof sendEventStream>[2],
    options: Parameters<typeof sendEventStream>[3] = {},
  ) {
    const reasons: StreamEndReason[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(req, res, source, { ...options, onClose: (reason) => reasons.push(reason) }),
    )
    return { url: server.url, reasons }
  }

  it('a source error with onError ends with the error event and a complete response (terminating chunk)', async () => {
    const { url, reasons } = await serve(
      async function* () {
        yield { data: 'before' }
        throw new Error('secret detail')
      },
      { onError: () => 'unavailable' },
    )
    const response = await rawGet(`${url}/`)
    expect(events(await response.ended)).toBe('data: before\n\nevent: error\ndata: unavailable\n\n')
    // `complete` is true only when the whole chunked message, terminator included, arrived.
    expect(response.res.complete).toBe(true)
    await waitFor('the stream to end', () => reasons.length === 1)
    expect(reasons).toEqual(['error'])
  })

  it('a source error without onError still ends cleanly, without the error text', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const { url } = await serve(async function* () {
      yield { data: 'before' }
      throw new Error('secret detail')
    })
    const response = await rawGet(`${url}/`)
    const body = await response.ended
    expect(events(body)).toBe('data: before\n\n')
    expect(body).not.toContain('secret')
    expect(response.res.complete).toBe(true)
  })

  it('shutdown ends every stream with a complete response', async () => {
    const shutdown = new AbortController()
    const { url, reasons } = await serve(
      async function* (ctx) {
        yield { data: 'live' }
        yield* blocked(ctx)
      },
      { signal: shutdown.signal },
    )
    const clients = await Promise.all([rawGet(`${url}/`), rawGet(`${url}/`)])
    await Promise.all(clients.map((client) => client.waitForText('data: live\n\n')))
    shutdown.abort()
    for (const client of clients) {
      expect(events(await client.ended)).toMatch(/^data: live\n\nretry: \d+\n\n$/)
      expect(client.res.complete).toBe(true)
    }
    await waitFor('both streams to end', () => reasons.length === 2)
    expect(reasons).toEqual(['shutdown', 'shutdown'])
  })

  it('NDJSON: shutdown ends the stream cleanly, with no extra line', async () => {
    const shutdown = new AbortController()
    const reasons: StreamEndReason[] = []
    let finallyRan = false
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendNdjson(
        req,
        res,
        async function* (ctx) {
          try {
            yield { row: 1 }
            yield* blocked(ctx)
          } finally {
            finallyRan = true
          }
        },
        // keepAlive off: no empty lines, so the body is exactly the values.
        { signal: shutdown.signal, keepAlive: false, onClose: (reason) => reasons.push(reason) },
      ),
    )
    const client = await rawGet(`${server.url}/`)
    await client.waitForText('{"row":1}\n')
    shutdown.abort()
    expect(await client.ended).toBe('{"row":1}\n')
    expect(client.res.complete).toBe(true)
    await waitFor('the source finally to run', () => finallyRan, 1_000)
    expect(reasons).toEqual(['shutdown'])
  })
})

/** A client that sends a request and then never reads a byte of the response. */
function stalledClient(url: string): Socket {
  const socket = connect(Number(new URL(url).port), '127.0.0.1')
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  socket.pause()
  stalled.push(socket)
  return socket
}

type Ending = 'end' | 'error' | 'shutdown' | 'send-timeout' | 'disconnect'
const ENDINGS: readonly Ending[] = ['end', 'error', 'shutdown', 'send-timeout', 'disconnect']

describe('every end reason releases what the stream held (timers, sockets, signal listeners)', () => {
  for (const sink of ['node', 'fetch'] as const) {
    for (const ending of ENDINGS) {
      it(`${sink}: ${ending}`, async () => {
        vi.spyOn(console, 'error').mockImplementation(() => undefined)
        const baseline = liveResources()
        const shutdown = new AbortController()
        const reasons: StreamEndReason[] = []
        let started = 0
        let finallies = 0
        const requests: Request[] = []
        // Default keepAlive (a live timer while the stream runs), a short sendTimeout.
        async function* source(ctx: StreamContext<unknown>) {
          started++
          try {
            if (ending === 'end') {
              yield { data: 'only' }
              return
            }
            if (ending === 'send-timeout') {
              for (;;) yield { data: 'x'.repeat(64 * 1024) }
            }
            yield { data: 'first' }
            if (ending === 'error') throw new Error('source failed')
            yield* blocked(ctx)
          } finally {
            finallies++
          }
        }
        const options = {
          signal: shutdown.signal,
          sendTimeout: 200,
          onError: () => 'failed',
          onClose: (reason: StreamEndReason) => reasons.push(reason),
        }
        server = await createTestServer(
          sink === 'node'
            ? (req: IncomingMessage, res: ServerResponse) => sendEventStream(req, res, source, options)
            : (request: Request) => {
                requests.push(request)
                return eventStreamResponse(request, source, options)
              },
        )
        if (ending === 'send-timeout') {
          stalledClient(server.url)
        } else {
          const client = await rawGet(`${server.url}/`)
          await client.waitForText('data: ')
          if (ending === 'shutdown') shutdown.abort()
          if (ending === 'disconnect') client.abort()
          await client.ended
        }
        await waitFor('the stream to end', () => reasons.length === 1)
        expect(reasons).toEqual([ending])
        await waitFor('the source finally to run', () => finallies === started && started === 1, 1_000)
        // The pump's listener on the shutdown signal, and the Fetch sink's on request.signal, are gone.
        expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0)
        for (const request of requests) expect(getEventListeners(request.signal, 'abort')).toHaveLength(0)
        for (const socket of stalled.splice(0)) socket.destroy()
        await server.close()
        server = undefined
        await expectNoLeaks(baseline)
      })
    }
  }
})

describe('the Fetch adapter on node:http', () => {
  it('sends status and headers at once, before the first event', async () => {
    const gate = deferred()
    server = await createTestServer((request: Request) =>
      eventStreamResponse(
        request,
        async function* () {
          await gate.promise
          yield { data: 'first' }
        },
        { status: 201, headers: { 'x-trace': 't1' } },
      ),
    )
    const response = await rawGet(`${server.url}/`)
    // rawGet resolved: the status line and headers arrived while the source was still blocked.
    expect(response.status).toBe(201)
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(response.headers['x-trace']).toBe('t1')
    expect(response.text()).not.toContain('data:')
    gate.resolve()
    expect(events(await response.ended)).toBe('data: first\n\n')
    expect(response.res.complete).toBe(true)
  })
})

describe('sendNdjson under Fastify 5 (reply.hijack() + reply.raw)', () => {
  it('streams NDJSON read back by readNdjson, and ends the source when the client leaves', async () => {
    let finallies = 0
    const app = Fastify({ forceCloseConnections: true })
    app.get('/rows', (request, reply) => {
      reply.hijack()
      return sendNdjson(request.raw, reply.raw, async function* (ctx) {
        try {
          for (let row = 1; row <= 3; row++) yield { row, cursor: ctx.lastEventId ?? null }
          yield* blocked(ctx)
        } finally {
          finallies++
        }
      })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const { port } = app.server.address() as AddressInfo
      const controller = new AbortController()
      const response = await fetch(`http://127.0.0.1:${port}/rows?lastEventId=c1`, { signal: controller.signal })
      expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
      const rows: unknown[] = []
      for await (const value of readNdjson(response.body!)) {
        rows.push(value)
        if (rows.length === 3) break
      }
      controller.abort()
      expect(rows).toEqual([
        { row: 1, cursor: 'c1' },
        { row: 2, cursor: 'c1' },
        { row: 3, cursor: 'c1' },
      ])
      await waitFor('the source finally to run', () => finallies === 1, 1_000)
    } finally {
      await app.close()
    }
  })
})

describe("the test client reads with @sluice/client's parsers", () => {
  it('events() and ndjson() take the parsers options, and their limits throw LimitExceededError', async () => {
    server = await createTestServer((request: Request) =>
      new URL(request.url).pathname === '/rows'
        ? ndjsonResponse(request, [{ ok: 1 }, { text: 'y'.repeat(4096) }])
        : eventStreamResponse(request, [{ data: 'ok' }, { data: 'x'.repeat(4096) }]),
    )
    const events: string[] = []
    const eventError = await (async () => {
      for await (const message of server.events('/events', undefined, { maxMessageSize: 1024 }))
        events.push(message.data)
    })().catch((error: unknown) => error)
    expect(events).toEqual(['ok'])
    expect(eventError).toBeInstanceOf(LimitExceededError)
    expect((eventError as LimitExceededError).limit).toBe('maxMessageSize')

    const rows: unknown[] = []
    const rowError = await (async () => {
      for await (const row of server.ndjson('/rows', undefined, { maxLineSize: 1024 })) rows.push(row)
    })().catch((error: unknown) => error)
    expect(rows).toEqual([{ ok: 1 }])
    expect(rowError).toBeInstanceOf(LimitExceededError)
    expect((rowError as LimitExceededError).limit).toBe('maxLineSize')
  })
})
