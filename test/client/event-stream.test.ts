import { getEventListeners } from 'node:events'
import type { ServerResponse } from 'node:http'
import {
  ContentTypeError,
  createEventStream,
  type EventStreamMessage,
  HttpError,
  LimitExceededError,
  TimeoutError,
  ValidationError,
} from '@sluice/client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  deferred,
  nextMessage,
  nextMessages,
  ResourceWatch,
  recordStatuses,
  startRecordingServer,
  waitForSnapshot,
  waitForStatus,
} from './helpers.js'

const fast = { initialDelay: 10, maxDelay: 20 }
let cleanup: Array<() => unknown> = []
let watch: ResourceWatch
beforeEach(() => {
  watch = new ResourceWatch()
})
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn()
  cleanup = []
  // Every test leaves the process as it found it: no socket, server or timer of ours left.
  await watch.expectReleased()
})

/** A recording server closed after the test. */
async function server(handler: Parameters<typeof startRecordingServer>[0]) {
  const s = await startRecordingServer(handler)
  cleanup.push(() => s.close())
  return s
}

function sseHead(res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' })
  res.flushHeaders()
}

function track<T>(conn: { close(): void } & T): T {
  cleanup.push(() => conn.close())
  return conn
}

describe('createEventStream: messages', () => {
  it('receives events and sends Accept: text/event-stream', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.write('event: greet\nid: 1\ndata: hello\n\n')
      res.write('data: world\n\n')
    })
    const conn = track(createEventStream(s.url))
    const messages = await nextMessages(conn, 2)
    expect(messages).toEqual([
      { event: 'greet', data: 'hello', id: '1' },
      { event: 'message', data: 'world', id: '1' },
    ])
    expect(conn.getSnapshot()).toMatchObject({ status: 'open', data: 'world', lastEventId: '1', attempt: 0 })
    const [request] = await s.requests.waitFor(1)
    expect(request?.headers.accept).toBe('text/event-stream')
    expect(request?.headers['last-event-id']).toBeUndefined()
  })

  it('resumes after the server destroys the socket mid-stream: no lost, no duplicated event', async () => {
    const total = 10
    const received4 = deferred()
    const s = await server((req, res, n) => {
      sseHead(res)
      const from = Number(req.headers['last-event-id'] ?? 0) + 1
      if (n === 1) {
        res.write('id: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\nid: 3\ndata: event 3\n\nid: 4\ndata: event 4\n\n')
        res.write('id: 5\ndata: event 5 (half-writ') // an unterminated event is never dispatched
        // The connection dies abruptly once the client has event 4, without the stream ending cleanly.
        void received4.promise.then(() => req.socket.destroy())
        return
      }
      for (let i = from; i <= total; i++) res.write(`id: ${i}\ndata: event ${i}\n\n`)
    })
    const conn = track(createEventStream(s.url, { retry: fast }))
    const all = nextMessages(conn, total)
    await nextMessages(conn, 4)
    received4.resolve()
    const messages = await all
    expect(messages.map((m) => m.data)).toEqual(Array.from({ length: total }, (_, i) => `event ${i + 1}`))
    const requests = await s.requests.waitFor(2)
    expect(requests).toHaveLength(2)
    expect(requests[1]?.headers['last-event-id']).toBe('4')
    expect(conn.getSnapshot().lastEventId).toBe('10')
  })

  it('sends the last event ID as UTF-8, including one set by a block without data', async () => {
    const s = await server((_req, res, n) => {
      sseHead(res)
      if (n === 1) {
        res.write('id: é✓\ndata: x\n\n')
        res.write('id: 日本\n\n') // no data: no message, but the ID moves
        res.end()
      }
    })
    const conn = track(createEventStream(s.url, { retry: fast }))
    await nextMessage(conn)
    const requests = await s.requests.waitFor(2)
    expect(requests[1]?.rawLastEventId).toBe('日本')
    await waitForSnapshot(conn, (snap) => snap.lastEventId === '日本')
  })

  it('sends the initial lastEventId option on the first request', async () => {
    const s = await server((_req, res) => sseHead(res))
    const conn = track(createEventStream(s.url, { lastEventId: '42' }))
    const [request] = await s.requests.waitFor(1)
    expect(request?.headers['last-event-id']).toBe('42')
    expect(conn.getSnapshot().lastEventId).toBe('42')
  })

  it("honours the server's retry: delay (replacing the initial backoff)", async () => {
    const reconnectedAt = deferred<number>()
    let endedAt = 0
    const s = await server((_req, res, n) => {
      sseHead(res)
      if (n === 1) {
        res.end('retry: 150\ndata: first\n\n', () => {
          endedAt = performance.now()
        })
      } else reconnectedAt.resolve(performance.now())
    })
    // Without `retry:` the reconnect would wait 60 s and the test would time out.
    const conn = track(createEventStream(s.url, { retry: { initialDelay: 60_000, jitter: false } }))
    const waited = (await reconnectedAt.promise) - endedAt
    expect(waited).toBeGreaterThanOrEqual(140)
    await waitForStatus(conn, 'open')
  })

  it('delivers every message to listen() before the snapshot changes', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      let text = ''
      for (let i = 0; i < 100; i++) text += `data: ${i}\n\n`
      res.write(text)
    })
    const conn = track(createEventStream(s.url))
    const order: string[] = []
    conn.listen((m) => order.push(`message ${m.data}, snapshot ${String(conn.getSnapshot().data)}`))
    await nextMessages(conn, 100)
    expect(order[0]).toBe('message 0, snapshot undefined')
    expect(order[99]).toBe('message 99, snapshot 98')
    expect(order).toHaveLength(100)
  })
})

describe('createEventStream: statuses', () => {
  it('stops on 204 without an error and without reconnecting', async () => {
    const s = await server((_req, res) => res.writeHead(204).end())
    const conn = createEventStream(s.url, { retry: fast })
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toBeUndefined()
    expect(s.requests.items).toHaveLength(1)
  })

  it('stops with HttpError on 401', async () => {
    const s = await server((_req, res) => res.writeHead(401, 'Unauthorized').end('no'))
    const errors: unknown[] = []
    const conn = createEventStream(s.url, { retry: fast, onError: (e) => errors.push(e) })
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toBeInstanceOf(HttpError)
    expect(closed.error).toMatchObject({ code: 'HTTP_ERROR', status: 401, message: 'HTTP 401 Unauthorized' })
    expect(errors).toEqual([closed.error])
    expect(s.requests.items).toHaveLength(1)
  })

  it('retries a 429 after its Retry-After', async () => {
    let refusedAt = 0
    const s = await server((_req, res, n) => {
      if (n === 1) {
        res.writeHead(429, { 'retry-after': '1' }).end()
        refusedAt = performance.now()
      } else {
        sseHead(res)
        res.write('data: ok\n\n')
      }
    })
    const conn = track(createEventStream(s.url, { retry: fast }))
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toMatchObject({ status: 429, retryAfter: 1000 })
    expect(await nextMessage(conn)).toMatchObject({ data: 'ok' })
    expect(performance.now() - refusedAt).toBeGreaterThanOrEqual(950)
  })

  it('retries a 503 and a 500, then opens', async () => {
    const s = await server((_req, res, n) => {
      if (n === 1) res.writeHead(503).end()
      else if (n === 2) res.writeHead(500).end()
      else {
        sseHead(res)
        res.write('data: up\n\n')
      }
    })
    const conn = track(createEventStream(s.url, { retry: fast }))
    const statuses = recordStatuses(conn)
    const first = await waitForStatus(conn, 'reconnecting')
    expect(first.error).toMatchObject({ status: 503 })
    expect(await nextMessage(conn)).toMatchObject({ data: 'up' })
    expect(statuses).toEqual(['connecting', 'reconnecting', 'connecting', 'reconnecting', 'connecting', 'open'])
    expect(conn.getSnapshot()).toMatchObject({ error: undefined, attempt: 2 })
  })

  it('stops with ContentTypeError when the response is not text/event-stream', async () => {
    const s = await server((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
    const conn = createEventStream(s.url, { retry: fast })
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toBeInstanceOf(ContentTypeError)
    expect(closed.error).toMatchObject({ expected: 'text/event-stream', received: 'application/json' })
  })

  it('closes with the last error after maxAttempts', async () => {
    const s = await server((_req, res) => res.writeHead(503).end())
    const conn = createEventStream(s.url, { retry: { ...fast, maxAttempts: 2 } })
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toMatchObject({ status: 503 })
    expect(closed.attempt).toBe(2)
    expect(s.requests.items).toHaveLength(3)
  })

  it('a network error (nothing listening) is retried with NETWORK_ERROR on the snapshot', async () => {
    const s = await server(() => undefined)
    await s.close()
    const conn = track(createEventStream(s.url, { retry: { initialDelay: 60_000 } }))
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toMatchObject({ code: 'NETWORK_ERROR' })
    expect(waiting.error?.message).toMatch(/ECONNREFUSED/)
  })

  it('resets the attempt counter once a connection stayed open for minUptime', async () => {
    const drop = deferred()
    const s = await server((req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      sseHead(res)
      if (n === 2) void drop.promise.then(() => req.socket.destroy())
    })
    const conn = track(createEventStream(s.url, { retry: { ...fast, minUptime: 50 } }))
    await waitForSnapshot(conn, (snap) => snap.status === 'open' && snap.attempt === 1, 'open after one failure')
    await waitForSnapshot(conn, (snap) => snap.attempt === 0, 'stable after minUptime')
    drop.resolve()
    const again = await waitForStatus(conn, 'reconnecting')
    expect(again.attempt).toBe(1)
  })

  it('without minUptime elapsed, consecutive failures keep counting', async () => {
    const s = await server((req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      sseHead(res)
      if (n === 2) req.socket.destroy() // opens, then drops at once
    })
    const conn = track(createEventStream(s.url, { retry: { ...fast, minUptime: 60_000 } }))
    await waitForSnapshot(conn, (snap) => snap.status === 'reconnecting' && snap.attempt === 2, 'second failure')
  })
})

describe('createEventStream: idle timeout', () => {
  it('reconnects a stream that went silent, with a TimeoutError meanwhile', async () => {
    const s = await server((_req, res, n) => {
      sseHead(res)
      res.write(`id: ${n}\ndata: hello ${n}\n\n`)
      // ...then nothing, ever, on this connection.
    })
    const conn = track(createEventStream(s.url, { idleTimeout: 100, retry: fast }))
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toBeInstanceOf(TimeoutError)
    expect(waiting.error).toMatchObject({ timeout: 'idleTimeout', ms: 100 })
    const requests = await s.requests.waitFor(2)
    expect(requests[1]?.headers['last-event-id']).toBe('1')
  })

  it('also bounds the wait for the response headers', async () => {
    const s = await server((_req, res, n) => {
      // Request 1 is accepted and never answered at all.
      if (n === 2) {
        sseHead(res)
        res.write('data: answered\n\n')
      }
    })
    const conn = track(createEventStream(s.url, { idleTimeout: 100, retry: fast }))
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toMatchObject({ code: 'TIMEOUT', timeout: 'idleTimeout' })
    expect(await nextMessage(conn)).toMatchObject({ data: 'answered' })
  })

  it('keepalive comments keep a slow stream alive', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      let beats = 0
      const timer = setInterval(() => {
        if (++beats <= 30) res.write(': keepalive\n\n')
        else {
          clearInterval(timer)
          res.write('data: after the keepalives\n\n')
        }
      }, 25)
      res.on('close', () => clearInterval(timer))
    })
    // 30 x 25 ms = 750 ms of comments only, longer than the idle timeout.
    const conn = track(createEventStream(s.url, { idleTimeout: 500, retry: fast }))
    const statuses = recordStatuses(conn)
    expect(await nextMessage(conn)).toMatchObject({ data: 'after the keepalives' })
    expect(statuses).toEqual(['connecting', 'open'])
    expect(s.requests.items).toHaveLength(1)
  })
})

describe('createEventStream: requests', () => {
  it('sends a POST with body, headers and credentials, and does not retry it by default', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.end('data: answer\n\n')
    })
    const conn = createEventStream(s.url, {
      method: 'POST',
      headers: { authorization: 'Bearer t0k', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hi' }),
      credentials: 'include',
      retry: fast,
    })
    expect(await nextMessage(conn)).toMatchObject({ data: 'answer' })
    // The stream ended: a POST is not sent again, the connection just closes cleanly.
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toBeUndefined()
    const [request] = s.requests.items
    expect(request).toMatchObject({ method: 'POST', body: '{"prompt":"hi"}' })
    expect(request?.headers).toMatchObject({ authorization: 'Bearer t0k', 'content-type': 'application/json' })
    expect(s.requests.items).toHaveLength(1)
  })

  it('does not retry a failed POST unless retryNonIdempotent', async () => {
    const s = await server((_req, res, n) => {
      if (n <= 2) return res.writeHead(503).end()
      sseHead(res)
      res.write('data: finally\n\n')
    })
    const once = createEventStream(s.url, { method: 'POST', body: 'x', retry: fast })
    const closed = await waitForStatus(once, 'closed')
    expect(closed.error).toMatchObject({ status: 503 })
    expect(s.requests.items).toHaveLength(1)

    const retried = track(
      createEventStream(s.url, { method: 'POST', body: 'x', retry: fast, retryNonIdempotent: true }),
    )
    expect(await nextMessage(retried)).toMatchObject({ data: 'finally' })
    expect(s.requests.items.map((r) => r.body)).toEqual(['x', 'x', 'x'])
  })

  it('calls a headers function before every attempt', async () => {
    let token = 0
    const s = await server((_req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      sseHead(res)
    })
    const conn = track(
      createEventStream(s.url, { retry: fast, headers: async () => ({ authorization: `t${++token}` }) }),
    )
    await waitForStatus(conn, 'open')
    expect(s.requests.items.map((r) => r.headers.authorization)).toEqual(['t1', 't2'])
  })

  it('uses a custom fetch', async () => {
    const s = await server((req, res) => {
      sseHead(res)
      res.write(`data: ${req.headers['x-through']}\n\n`)
    })
    const conn = track(
      createEventStream(s.url, {
        fetch: (input, init) => {
          const headers = new Headers(init?.headers)
          headers.set('x-through', 'custom-fetch')
          return fetch(input, { ...init, headers })
        },
      }),
    )
    expect(await nextMessage(conn)).toMatchObject({ data: 'custom-fetch' })
  })
})

describe('createEventStream: decoding', () => {
  it('done(message) closes cleanly without delivering that message or reconnecting', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.write('data: {"token":"Hel"}\n\ndata: {"token":"lo"}\n\ndata: [DONE]\n\ndata: {"token":"never"}\n\n')
    })
    const conn = createEventStream<{ token: string }>(s.url, { parse: JSON.parse, done: (m) => m.data === '[DONE]' })
    const tokens: string[] = []
    for await (const message of conn) tokens.push(message.data.token)
    expect(tokens).toEqual(['Hel', 'lo'])
    expect(conn.getSnapshot()).toMatchObject({ status: 'closed', error: undefined, data: { token: 'lo' } })
    expect(s.requests.items).toHaveLength(1)
  })

  it('validates with a zod schema: an invalid message surfaces ValidationError, is skipped, and the stream goes on', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.write('event: price\ndata: {"symbol":"ACME","price":1}\n\n')
      res.write('event: price\ndata: {"symbol":"ACME","price":"free"}\n\n')
      res.write('event: price\ndata: not json\n\n')
      res.write('event: price\ndata: {"symbol":"ACME","price":3}\n\n')
    })
    const errors: unknown[] = []
    const schema = z.object({ symbol: z.string(), price: z.number() })
    const conn = track(createEventStream(s.url, { schema, onError: (e) => errors.push(e) }))
    const messages = await nextMessages(conn, 2)
    expect(messages.map((m) => m.data.price)).toEqual([1, 3])
    expect(errors).toHaveLength(2)
    expect(errors[0]).toBeInstanceOf(ValidationError)
    expect(errors[0]).toMatchObject({ event: 'price', code: 'VALIDATION_ERROR' })
    expect((errors[0] as ValidationError).issues[0]?.path).toEqual(['price'])
    expect(errors[1]).toMatchObject({ event: 'price', message: expect.stringMatching(/Could not parse/) })
    expect(conn.getSnapshot().status).toBe('open')
  })

  it('parse turns data into typed values', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.write('data: 41\n\n')
    })
    const conn = track(createEventStream(s.url, { parse: (data) => Number(data) + 1 }))
    const message: EventStreamMessage<number> = await nextMessage(conn)
    expect(message.data).toBe(42)
    expect(conn.getSnapshot().data).toBe(42)
  })

  it('a done() predicate that throws reports a ValidationError and skips that message', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.write('data: boom\n\ndata: fine\n\n')
    })
    const errors: unknown[] = []
    const conn = track(
      createEventStream(s.url, {
        done: (m) => {
          if (m.data === 'boom') throw new Error('predicate bug')
          return false
        },
        onError: (e) => errors.push(e),
      }),
    )
    expect(await nextMessage(conn)).toMatchObject({ data: 'fine' })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'VALIDATION_ERROR', message: 'done() threw: predicate bug' })
  })

  it('a message over maxMessageSize closes with LimitExceededError', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.write(`data: ${'x'.repeat(5000)}\n\n`)
    })
    const conn = createEventStream(s.url, { maxMessageSize: 1024, retry: fast })
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toBeInstanceOf(LimitExceededError)
    expect(closed.error).toMatchObject({ limit: 'maxMessageSize', max: 1024 })
  })
})

describe('createEventStream: lifecycle', () => {
  it('abort via signal closes the connection and the server sees the request end', async () => {
    const serverSawClose = deferred()
    const s = await server((req, res) => {
      sseHead(res)
      res.write('data: one\n\n')
      req.on('close', () => serverSawClose.resolve())
    })
    const controller = new AbortController()
    const conn = createEventStream(s.url, { signal: controller.signal })
    await nextMessage(conn)
    controller.abort()
    expect(conn.getSnapshot()).toMatchObject({ status: 'closed', error: undefined })
    await serverSawClose.promise
  })

  it('a URL that cannot be fetched throws a TypeError at creation instead of retrying forever', () => {
    expect(() => createEventStream('/relative/in/node')).toThrow(
      /invalid URL "\/relative\/in\/node" \(outside a browser/,
    )
    expect(() => createEventStream('http://127.0.0.1:1', { fetch: 'nope' as never })).toThrow(/no fetch available/)
  })

  it('an already aborted signal never connects', async () => {
    const s = await server((_req, res) => sseHead(res))
    const conn = createEventStream(s.url, { signal: AbortSignal.abort() })
    expect(conn.getSnapshot().status).toBe('closed')
    expect(s.requests.items).toHaveLength(0)
  })

  it('close() is idempotent, keeps the snapshot identity, and releases the stream', async () => {
    const serverSawClose = deferred()
    const s = await server((req, res) => {
      sseHead(res)
      res.write('data: one\n\n')
      req.on('close', () => serverSawClose.resolve())
    })
    const conn = createEventStream(s.url)
    await nextMessage(conn)
    const open = conn.getSnapshot()
    expect(conn.getSnapshot()).toBe(open) // same object until something changes
    conn.close()
    const closed = conn.getSnapshot()
    conn.close()
    expect(conn.getSnapshot()).toBe(closed)
    expect(closed).toEqual({ ...open, status: 'closed' })
    await serverSawClose.promise
    await s.close()
    await watch.expectReleased()
  })

  it('close() during a pending backoff cancels the timer', async () => {
    const s = await server((_req, res) => res.writeHead(503).end())
    const conn = createEventStream(s.url, { retry: { initialDelay: 60_000, jitter: false } })
    await waitForStatus(conn, 'reconnecting')
    conn.close()
    await s.close()
    await watch.expectReleased()
    expect(s.requests.items).toHaveLength(1)
  })

  it('reconnect() drops the stream and connects again at once, resetting the attempt counter', async () => {
    const s = await server((_req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      sseHead(res)
      res.write(`data: connection ${n}\n\n`)
    })
    const conn = track(createEventStream(s.url, { retry: { initialDelay: 60_000, jitter: false } }))
    expect((await waitForStatus(conn, 'reconnecting')).attempt).toBe(1)
    const next = nextMessage(conn)
    conn.reconnect()
    expect(await next).toMatchObject({ data: 'connection 2' })
    expect(conn.getSnapshot().attempt).toBe(0)
    const third = nextMessage(conn)
    conn.reconnect()
    expect(await third).toMatchObject({ data: 'connection 3' })
  })

  it('in a browser, coming back online reconnects at once instead of waiting out the backoff', async () => {
    // Node has no `window`: stand in for the one browser API this uses (an EventTarget with `online`).
    const fakeWindow = new EventTarget()
    Object.assign(globalThis, { window: fakeWindow })
    cleanup.push(() => Reflect.deleteProperty(globalThis, 'window'))
    const s = await server((_req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      sseHead(res)
      res.write('data: back\n\n')
    })
    const conn = track(createEventStream(s.url, { retry: { initialDelay: 60_000, jitter: false } }))
    await waitForStatus(conn, 'reconnecting')
    const message = nextMessage(conn)
    expect(getEventListeners(fakeWindow, 'online')).toHaveLength(1)
    fakeWindow.dispatchEvent(new Event('online'))
    expect(await message).toMatchObject({ data: 'back' })
    conn.close()
    expect(getEventListeners(fakeWindow, 'online')).toHaveLength(0)
  })

  it('close() removes its listener from the abort signal', async () => {
    const s = await server((_req, res) => sseHead(res))
    const controller = new AbortController()
    const conn = createEventStream(s.url, { signal: controller.signal })
    await waitForStatus(conn, 'open')
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    conn.close()
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})

describe('createEventStream: for await', () => {
  it('breaking out of the loop does not close the connection', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.write('data: a\n\ndata: b\n\n')
    })
    const conn = track(createEventStream(s.url))
    for await (const message of conn) {
      expect(message.data).toBe('a')
      break
    }
    expect(conn.getSnapshot().status).toBe('open')
  })

  it('a loop that falls behind more than iteratorBufferSize fails with LimitExceededError after the buffered messages', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.write('data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n')
    })
    const conn = track(createEventStream(s.url, { iteratorBufferSize: 2 }))
    const iterator = conn[Symbol.asyncIterator]()
    await nextMessages(conn, 4) // all four delivered while the loop did not pull
    expect(await iterator.next()).toEqual({ done: false, value: { event: 'message', data: '1', id: '' } })
    expect(await iterator.next()).toEqual({ done: false, value: { event: 'message', data: '2', id: '' } })
    await expect(iterator.next()).rejects.toMatchObject({ limit: 'iteratorBufferSize', max: 2 })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    expect(conn.getSnapshot().status).toBe('open')
  })

  it('return() settles a next() that is still waiting, and detaches the iterator', async () => {
    const s = await server((_req, res) => sseHead(res))
    const conn = track(createEventStream(s.url))
    const iterator = conn[Symbol.asyncIterator]()
    const waiting = iterator.next()
    await iterator.return?.()
    expect(await waiting).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('return() after the connection failed ends the loop quietly: the close error is not thrown later', async () => {
    const s = await server((_req, res) => res.writeHead(404).end())
    const conn = createEventStream(s.url)
    const iterator = conn[Symbol.asyncIterator]()
    await waitForStatus(conn, 'closed')
    expect(await iterator.return?.()).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('a loop over a connection that closes with an error throws that error', async () => {
    const s = await server((_req, res) => res.writeHead(404).end())
    const conn = createEventStream(s.url)
    const consume = async () => {
      for await (const _ of conn) {
        // no message ever arrives
      }
    }
    await expect(consume()).rejects.toMatchObject({ status: 404 })
  })
})
