/**
 * Points of issue 2 that the per-transport suites did not show on their own (audit, see
 * /work/notes/audit-2.md): statuses the issue names (408 retried, 503 + Retry-After honoured, other
 * 4xx fatal), `credentials` reaching `fetch`, UTF-8 decoding whatever charset the server claims, a
 * stream that ends being reconnected, the NDJSON connection's abort signal / reconnect() / snapshot
 * identity, and the parsers joining a long line with each byte copied once. All against real
 * node:http servers on 127.0.0.1:0; every test must leave no socket, server or timer behind.
 */
import { getEventListeners } from 'node:events'
import type { ServerResponse } from 'node:http'
import {
  createEventStream,
  createNdjsonStream,
  createSocket,
  HttpError,
  LimitExceededError,
  readEventStream,
  readNdjson,
} from '@sluice/client'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { RetryPolicy } from '../../packages/client/src/connection/retry.js'
import { bytes, chunkedStream, collect, splitBytes } from '../conformance/chunked.js'
import {
  deferred,
  Inbox,
  nextMessage,
  nextMessages,
  ResourceWatch,
  recordStatuses,
  startRecordingServer,
  startWsServer,
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
  await watch.expectReleased()
})

/** A recording server closed after the test. */
async function server(handler: Parameters<typeof startRecordingServer>[0]) {
  const s = await startRecordingServer(handler)
  cleanup.push(() => s.close())
  return s
}

function sseHead(res: ServerResponse, contentType = 'text/event-stream; charset=utf-8') {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' })
  res.flushHeaders()
}

function ndjsonHead(res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' })
  res.flushHeaders()
}

function track<T extends { close(): void }>(conn: T): T {
  cleanup.push(() => conn.close())
  return conn
}

describe('createEventStream: statuses the issue names', () => {
  it('retries a 408 Request Timeout (like 429), then opens', async () => {
    const s = await server((_req, res, n) => {
      if (n === 1) return res.writeHead(408).end()
      sseHead(res)
      res.write('data: after 408\n\n')
    })
    const conn = track(createEventStream(s.url, { retry: fast }))
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toBeInstanceOf(HttpError)
    expect(waiting.error).toMatchObject({ status: 408 })
    expect(await nextMessage(conn)).toMatchObject({ data: 'after 408' })
    expect(s.requests.items).toHaveLength(2)
  })

  it.each([400, 403, 404, 410])('stops with HttpError naming the status on %i, without retrying', async (status) => {
    const s = await server((_req, res) => res.writeHead(status).end())
    const conn = createEventStream(s.url, { retry: fast })
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toBeInstanceOf(HttpError)
    expect(closed.error).toMatchObject({ code: 'HTTP_ERROR', status })
    expect(closed.error?.message).toContain(String(status))
    expect(s.requests.items).toHaveLength(1)
  })

  it('honours Retry-After on a 503: the next request waits at least that long', async () => {
    const s = await server((_req, res, n) => {
      if (n === 1) return res.writeHead(503, { 'retry-after': '1' }).end()
      sseHead(res)
      res.write('data: back\n\n')
    })
    // The backoff alone would try again within 20 ms.
    const conn = track(createEventStream(s.url, { retry: fast }))
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toMatchObject({ status: 503, retryAfter: 1000 })
    expect(await nextMessage(conn)).toMatchObject({ data: 'back' })
    const [first, second] = s.requests.items
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950)
  })
})

describe('createEventStream: request and decoding', () => {
  it('passes credentials, method, body and cache: no-store to fetch on every attempt', async () => {
    const s = await server((_req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      sseHead(res)
      res.write('data: ok\n\n')
    })
    const inits: RequestInit[] = []
    const conn = track(
      createEventStream(s.url, {
        method: 'PUT',
        body: 'payload',
        credentials: 'include',
        retryNonIdempotent: true,
        retry: fast,
        // Node's fetch has no cookies to send, so what reaches fetch is recorded here, and the
        // request still goes to the real server.
        fetch: (input, init) => {
          if (init) inits.push(init)
          return fetch(input, init)
        },
      }),
    )
    expect(await nextMessage(conn)).toMatchObject({ data: 'ok' })
    expect(inits).toHaveLength(2)
    for (const init of inits) {
      expect(init).toMatchObject({ method: 'PUT', body: 'payload', credentials: 'include', cache: 'no-store' })
      expect(init.signal).toBeInstanceOf(AbortSignal)
    }
    expect(s.requests.items.map((r) => r.method)).toEqual(['PUT', 'PUT'])
  })

  it('leaves credentials to fetch when the option is not set', async () => {
    const s = await server((_req, res) => sseHead(res))
    const inits: RequestInit[] = []
    const conn = track(
      createEventStream(s.url, {
        fetch: (input, init) => {
          if (init) inits.push(init)
          return fetch(input, init)
        },
      }),
    )
    await waitForStatus(conn, 'open')
    expect(inits[0]).not.toHaveProperty('credentials')
  })

  it('decodes the stream as UTF-8 even when the server claims another charset', async () => {
    const s = await server((_req, res) => {
      sseHead(res, 'text/event-stream; charset=iso-8859-1')
      res.write(Buffer.from('id: \u00e9\u2713\ndata: caf\u00e9 \u{1f600}\n\n', 'utf8'))
    })
    const conn = track(createEventStream(s.url))
    expect(await nextMessage(conn)).toEqual({ event: 'message', data: 'caf\u00e9 \u{1f600}', id: '\u00e9\u2713' })
  })

  it('reconnects a stream the server ended cleanly, sending the last event ID', async () => {
    const s = await server((_req, res, n) => {
      sseHead(res)
      if (n === 1) res.end('id: a1\ndata: first\n\n')
      else res.write('data: second\n\n')
    })
    const conn = track(createEventStream(s.url, { retry: fast }))
    const statuses = recordStatuses(conn)
    expect((await nextMessages(conn, 2)).map((m) => m.data)).toEqual(['first', 'second'])
    const requests = await s.requests.waitFor(2)
    expect(requests[1]?.headers['last-event-id']).toBe('a1')
    // A clean end is not an error: the snapshot shows none while reconnecting.
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'connecting', 'open'])
  })
})

describe('createNdjsonStream: the shared lifecycle', () => {
  it('an abort signal closes it, the server sees the request end, and the listener is removed', async () => {
    const serverSawClose = deferred()
    const s = await server((req, res) => {
      ndjsonHead(res)
      res.write('{"n":1}\n')
      req.on('close', () => serverSawClose.resolve())
    })
    const controller = new AbortController()
    const conn = createNdjsonStream(s.url, { signal: controller.signal })
    expect(await nextMessage(conn)).toEqual({ n: 1 })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    controller.abort()
    expect(conn.getSnapshot()).toMatchObject({ status: 'closed', error: undefined, data: { n: 1 } })
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
    await serverSawClose.promise
  })

  it('an already aborted signal never sends a request', async () => {
    const s = await server((_req, res) => ndjsonHead(res))
    const conn = createNdjsonStream(s.url, { signal: AbortSignal.abort() })
    expect(conn.getSnapshot().status).toBe('closed')
    // Let any request that was wrongly started reach the server before counting.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(s.requests.items).toHaveLength(0)
  })

  it('reconnect() drops the response and requests again at once, resetting the attempt counter', async () => {
    const firstClosed = deferred()
    const s = await server((req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      ndjsonHead(res)
      res.write(`${n}\n`)
      if (n === 2) req.on('close', () => firstClosed.resolve())
    })
    const conn = track(createNdjsonStream<number>(s.url, { retry: { initialDelay: 60_000, jitter: false } }))
    expect((await waitForStatus(conn, 'reconnecting')).attempt).toBe(1)
    const second = nextMessage(conn)
    conn.reconnect()
    expect(await second).toBe(2)
    expect(conn.getSnapshot()).toMatchObject({ status: 'open', attempt: 0 })
    const third = nextMessage(conn)
    conn.reconnect()
    expect(await third).toBe(3)
    await firstClosed.promise // the open response was released, not left streaming
  })

  it('getSnapshot() is the same object until a change, and close() is idempotent', async () => {
    const s = await server((_req, res) => {
      ndjsonHead(res)
      res.write('"a"\n')
    })
    const conn = createNdjsonStream<string>(s.url)
    const changes: unknown[] = []
    conn.subscribe(() => changes.push(conn.getSnapshot()))
    await waitForSnapshot(conn, (snap) => snap.data === 'a')
    const open = conn.getSnapshot()
    expect(conn.getSnapshot()).toBe(open)
    expect(changes.at(-1)).toBe(open)
    conn.close()
    const closed = conn.getSnapshot()
    conn.close()
    expect(conn.getSnapshot()).toBe(closed)
    expect(closed).toEqual({ ...open, status: 'closed' })
    // subscribers are told of the close once, and nothing after it
    expect(changes.at(-1)).toBe(closed)
    expect(changes.filter((c) => (c as { status: string }).status === 'closed')).toHaveLength(1)
  })
})

describe('parsers: a long line is joined once, never re-copied per chunk', () => {
  // Time is measured in the benchmarks (bench/workloads/ndjson-parse.mjs, sse-large.mjs); here the
  // work itself is counted. A parser that re-copied its buffer on every chunk would copy
  // ~chunks²/2 x 16 KiB bytes (about 13 GB for 20 MB); the splitter keeps views of the chunks and
  // copies each byte once, when the line ends.
  function bytesCopied(run: () => Promise<unknown>): Promise<number> {
    const set = vi.spyOn(Uint8Array.prototype, 'set')
    return run()
      .then(() => set.mock.calls.reduce((sum, [source]) => sum + (source as ArrayLike<number>).length, 0))
      .finally(() => set.mockRestore())
  }

  it('readNdjson: a 20 MB line in 16 KiB chunks copies at most its own size', async () => {
    const line = bytes(`{"big":"${'x'.repeat(20 * 1024 * 1024)}"}\n`)
    const chunks = splitBytes(line, 16 * 1024)
    expect(chunks.length).toBeGreaterThan(1000)
    let values: unknown[] = []
    const copied = await bytesCopied(async () => {
      values = await collect(readNdjson(chunkedStream(chunks).stream, { maxLineSize: 32 * 1024 * 1024 }))
    })
    expect(values).toHaveLength(1)
    expect(copied).toBeGreaterThan(0)
    expect(copied).toBeLessThanOrEqual(line.byteLength)
  })

  it('readEventStream: a 20 MB data line in 16 KiB chunks copies at most its own size', async () => {
    const text = bytes(`data: ${'x'.repeat(20 * 1024 * 1024)}\n\n`)
    const chunks = splitBytes(text, 16 * 1024)
    let messages: unknown[] = []
    const copied = await bytesCopied(async () => {
      messages = await collect(readEventStream(chunkedStream(chunks).stream, { maxMessageSize: 32 * 1024 * 1024 }))
    })
    expect(messages).toHaveLength(1)
    // Each chunk is decoded once and the line is joined as text inside eventsource-parser, so no
    // byte need be copied at all; what must never happen is a copy per chunk.
    expect(copied).toBeLessThanOrEqual(text.byteLength)
    expect((messages[0] as { data: string }).data).toHaveLength(20 * 1024 * 1024)
  })
})

describe('createSocket: messages waiting for an async schema are bounded', () => {
  it('past iteratorBufferSize waiting messages the attempt fails with LimitExceededError and reconnects', async () => {
    // A WebSocket cannot be paused: while an async validation is pending, the messages behind it
    // wait in order. A validator slower than the server must not make that wait grow without bound.
    const connections = new Inbox<number>()
    const s = await startWsServer((wss) =>
      wss.on('connection', (ws) => {
        connections.push(connections.items.length + 1)
        for (let i = 0; i < 50; i++) ws.send(JSON.stringify(i))
      }),
    )
    cleanup.push(() => s.close())
    const gates: Array<() => void> = []
    // Validates only when the test lets it: the first message holds every later one back.
    const slow: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) =>
          new Promise((resolve) => {
            gates.push(() => resolve({ value: value as number }))
          }),
      },
    }
    const errors: unknown[] = []
    const socket = track(
      createSocket<number>(s.url, {
        WebSocket,
        schema: slow,
        iteratorBufferSize: 10,
        retry: { initialDelay: 60_000, jitter: false },
        onError: (error) => errors.push(error),
      }),
    )
    const waiting = await waitForStatus(socket, 'reconnecting')
    expect(waiting.error).toBeInstanceOf(LimitExceededError)
    expect(waiting.error).toMatchObject({ limit: 'iteratorBufferSize', max: 10 })
    expect(errors).toEqual([waiting.error])
    // Only the first message and the bounded backlog reached the validator.
    expect(gates).toHaveLength(1)
    for (const open of gates) open()
    expect(connections.items).toEqual([1])
  })
})

describe('server-given delays longer than a timer can hold', () => {
  // setTimeout treats a delay above 2^31 - 1 ms (~24.8 days) as 1 ms, in Node and in browsers: a
  // server asking for a very long wait would get a reconnect storm instead.
  it('a huge retry: field is capped at the largest timer delay, not turned into an immediate retry', async () => {
    const s = await server((_req, res) => {
      sseHead(res)
      res.end('retry: 99999999999\ndata: bye\n\n')
    })
    const conn = track(createEventStream(s.url, { retry: { jitter: false } }))
    await nextMessage(conn)
    await waitForStatus(conn, 'reconnecting')
    // A short wait only to show that nothing happens: a 1 ms timer would have sent request 2.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(s.requests.items).toHaveLength(1)
    expect(conn.getSnapshot().status).toBe('reconnecting')
  })

  it('a huge Retry-After on 503 is capped too', async () => {
    const s = await server((_req, res) => res.writeHead(503, { 'retry-after': '99999999' }).end())
    const conn = track(createEventStream(s.url, { retry: fast }))
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toMatchObject({ status: 503, retryAfter: 99_999_999_000 })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(s.requests.items).toHaveLength(1)
  })

  it('RetryPolicy.delay never exceeds 2^31 - 1 ms', () => {
    const policy = new RetryPolicy({ jitter: false })
    policy.serverDelay = 1e12
    expect(policy.delay(1)).toBe(2 ** 31 - 1)
    expect(new RetryPolicy({ jitter: false }).delay(1, 1e12)).toBe(2 ** 31 - 1)
    expect(new RetryPolicy({ initialDelay: 1e12, maxDelay: 1e13 }, () => 0.999).delay(5)).toBeLessThanOrEqual(
      2 ** 31 - 1,
    )
  })
})

describe('an idleTimeout longer than a timer can hold', () => {
  it('waits instead of firing every millisecond', async () => {
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.name)
    process.on('warning', onWarning)
    cleanup.push(() => process.off('warning', onWarning))
    const s = await server((_req, res) => {
      sseHead(res)
      res.write('data: hi\n\n')
    })
    const conn = track(createEventStream(s.url, { idleTimeout: 1e10 }))
    await nextMessage(conn)
    // A short wait only to show that nothing happens: no overflowing timer, no reconnect.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(warnings).not.toContain('TimeoutOverflowWarning')
    expect(conn.getSnapshot()).toMatchObject({ status: 'open', attempt: 0 })
    expect(s.requests.items).toHaveLength(1)
  })
})

describe('Infinity in a timing option means "never", not "at once"', () => {
  it('minUptime: Infinity never resets the attempt counter', async () => {
    const s = await server((_req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      sseHead(res)
      res.write('data: up\n\n')
    })
    const conn = track(createEventStream(s.url, { retry: { ...fast, minUptime: Number.POSITIVE_INFINITY } }))
    await nextMessage(conn)
    expect(conn.getSnapshot()).toMatchObject({ status: 'open', attempt: 1 })
    // A short wait only to show that nothing happens: a 1 ms timer would have reset the counter.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(conn.getSnapshot().attempt).toBe(1)
  })

  it('createSocket: connectTimeout and heartbeat.timeout of Infinity keep a quiet socket open', async () => {
    // The server never answers: with a 1 ms pong timeout the socket would be dropped after the first ping.
    const pings = new Inbox<string>()
    const s = await startWsServer((wss) => wss.on('connection', (ws) => ws.on('message', (d) => pings.push(String(d)))))
    cleanup.push(() => s.close())
    const socket = track(
      createSocket(s.url, {
        WebSocket,
        connectTimeout: Number.POSITIVE_INFINITY,
        heartbeat: { interval: 20, timeout: Number.POSITIVE_INFINITY },
        retry: { initialDelay: 60_000, jitter: false },
      }),
    )
    const statuses = recordStatuses(socket)
    await waitForStatus(socket, 'open')
    expect((await pings.waitFor(4)).slice(0, 4)).toEqual(Array(4).fill('{"type":"ping"}'))
    expect(statuses).toEqual(['connecting', 'open'])
  })
})

describe('createEventStream: reconnect() in the middle of a chunk', () => {
  it('resumes from the last message handled, not from the last ID the parser has read ahead', async () => {
    const log = ['a', 'b', 'c', 'd']
    const s = await server((req, res) => {
      sseHead(res)
      const after = Number(req.headers['last-event-id'] ?? 0)
      // All the events after `after` in ONE write: the client parses them as one chunk.
      res.write(log.map((data, i) => (i + 1 > after ? `id: ${i + 1}\ndata: ${data}\n\n` : '')).join(''))
    })
    const conn = track(createEventStream(s.url, { retry: fast }))
    const seen: string[] = []
    let reconnected = false
    conn.listen((message) => {
      seen.push(message.data)
      // e.g. an application that reconnects on a message saying its view is stale
      if (message.data === 'b' && !reconnected) {
        reconnected = true
        conn.reconnect()
      }
    })
    const requests = await s.requests.waitFor(2)
    expect(requests[1]?.headers['last-event-id']).toBe('2')
    await waitForSnapshot(conn, (snap) => snap.data === 'd', 'message d')
    expect(seen).toEqual(['a', 'b', 'c', 'd'])
  })

  it('a message dropped while an async schema validates it is asked for again', async () => {
    const s = await server((req, res) => {
      sseHead(res)
      const after = Number(req.headers['last-event-id'] ?? 0)
      res.write(['a', 'b'].map((data, i) => (i + 1 > after ? `id: ${i + 1}\ndata: "${data}"\n\n` : '')).join(''))
    })
    const gate = deferred()
    const validating = deferred()
    let held = false
    // Holds the first validation of "b" until the test has called reconnect().
    const schema: StandardSchemaV1<unknown, string> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) => {
          if (value === 'b' && !held) {
            held = true
            validating.resolve()
            await gate.promise
          }
          return { value: value as string }
        },
      },
    }
    const conn = track(createEventStream(s.url, { schema, retry: fast }))
    const seen: string[] = []
    conn.listen((message) => seen.push(message.data))
    await validating.promise
    conn.reconnect()
    gate.resolve()
    const requests = await s.requests.waitFor(2)
    expect(requests[1]?.headers['last-event-id']).toBe('1')
    await waitForSnapshot(conn, (snap) => snap.data === 'b', 'message b')
    expect(seen).toEqual(['a', 'b'])
  })
})

describe('createNdjsonStream: reconnect() with a resume hook', () => {
  it('asks the hook for the next request, so nothing is delivered twice', async () => {
    const items = Array.from({ length: 6 }, (_, i) => ({ seq: i + 1 }))
    const s = await server((req, res) => {
      const after = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after') ?? 0)
      ndjsonHead(res)
      // Three items after the cursor, then the response stays open (a live feed).
      for (const item of items.filter((i) => i.seq > after).slice(0, 3)) res.write(`${JSON.stringify(item)}\n`)
    })
    const resumedWith: Array<number | undefined> = []
    const conn = track(
      createNdjsonStream<{ seq: number }>(`${s.url}/items`, {
        retry: fast,
        resume: (last) => {
          resumedWith.push(last?.seq)
          return `${s.url}/items?after=${last?.seq ?? 0}`
        },
      }),
    )
    const seen: number[] = []
    conn.listen((item) => seen.push(item.seq))
    await nextMessages(conn, 3)
    conn.reconnect()
    await waitForSnapshot(conn, (snap) => snap.data?.seq === 6, 'item 6')
    expect(seen).toEqual([1, 2, 3, 4, 5, 6])
    expect(s.requests.items.map((r) => r.url)).toEqual(['/items', '/items?after=3'])
    expect(resumedWith).toEqual([3])
  })
})

describe('an async schema that never answers', () => {
  it('cannot hold an SSE attempt open forever: the idle timeout still reconnects', async () => {
    const s = await server((_req, res, n) => {
      sseHead(res)
      res.write(n === 1 ? 'data: "stuck"\n\n' : 'data: "fine"\n\n')
    })
    const schema: StandardSchemaV1<unknown, string> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        // A validator with a bug: its promise for "stuck" never settles.
        validate: (value) => (value === 'stuck' ? new Promise<never>(() => undefined) : { value: value as string }),
      },
    }
    const conn = track(createEventStream(s.url, { schema, idleTimeout: 150, retry: fast }))
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toMatchObject({ code: 'TIMEOUT', timeout: 'idleTimeout' })
    expect(await nextMessage(conn)).toMatchObject({ data: 'fine' })
  })
})
