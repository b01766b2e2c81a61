/**
 * createEventStream handles the messages of a chunk in one go (one async step per chunk, not per
 * message). A `for await` loop over the connection must still be handed every message as if it were
 * read one by one: a loop that keeps up is never overrun by a server that sends thousands of events
 * in one write, and a listener that drops the attempt mid-chunk stops the rest of that chunk.
 */
import { createEventStream, type EventStreamMessage } from '@sluice/client'
import { afterEach, describe, expect, it } from 'vitest'
import { startHttpServer, type TestHttpServer } from './helpers.js'

let server: TestHttpServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const frames = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => `id: ${from + i}\ndata: {"n":${from + i}}\n\n`).join('')

describe('createEventStream over large chunks', () => {
  it('hands a for-await loop 20,000 events sent in one write without passing iteratorBufferSize', async () => {
    server = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(`${frames(0, 20_000)}event: end\ndata: x\n\n`)
    })
    const connection = createEventStream(server.url, {
      retry: false,
      iteratorBufferSize: 16,
      parse: JSON.parse as (data: string) => { n: number },
      done: (m) => m.event === 'end',
    })
    let count = 0
    let inOrder = true
    for await (const message of connection) {
      if (message.data.n !== count) inOrder = false
      count += 1
    }
    expect(count).toBe(20_000)
    expect(inOrder).toBe(true)
    expect(connection.getSnapshot()).toMatchObject({
      status: 'closed',
      error: undefined,
      lastEventId: '19999',
      data: { n: 19_999 },
    })
  })

  it('still fails a loop that really lags (awaits between messages) once it passes iteratorBufferSize', async () => {
    server = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(frames(0, 2_000))
    })
    const connection = createEventStream(server.url, { retry: false, iteratorBufferSize: 16 })
    const seen: EventStreamMessage[] = []
    const error = await (async () => {
      for await (const message of connection) {
        seen.push(message)
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    })().catch((e: unknown) => e)
    connection.close()
    expect(error).toMatchObject({ limit: 'iteratorBufferSize', max: 16 })
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.length).toBeLessThan(2_000)
  })

  it('a loop that lags does not hold back a listener of the same connection', async () => {
    server = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(`${frames(0, 2_000)}event: end\ndata: x\n\n`)
    })
    const connection = createEventStream(server.url, {
      retry: false,
      iteratorBufferSize: 16,
      done: (m) => m.event === 'end',
    })
    const heard: string[] = []
    connection.listen((message) => heard.push(message.id))
    const closed = new Promise<void>((resolve) =>
      connection.subscribe(() => {
        if (connection.getSnapshot().status === 'closed') resolve()
      }),
    )
    let looped = 0
    const error = await (async () => {
      for await (const _ of connection) {
        looped += 1
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })().catch((e: unknown) => e)
    await closed
    // The loop failed at its own bound; the listener got every message, in order, at the stream's pace.
    expect(error).toMatchObject({ limit: 'iteratorBufferSize', max: 16 })
    expect(looped).toBeLessThan(100)
    expect(heard).toEqual(Array.from({ length: 2_000 }, (_, i) => String(i)))
  })

  it('leaves no timer behind when closed while a loop is catching up on a large chunk', async () => {
    server = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(frames(0, 20_000))
      // The response stays open: only close() ends this connection.
    })
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    const before = timers()
    const connection = createEventStream(server.url, { retry: false, iteratorBufferSize: 256 })
    let count = 0
    for await (const _ of connection) {
      count += 1
      if (count === 1_000) connection.close()
    }
    // What the connection delivered before close() (at most a batch of 64 waiting in the loop's
    // buffer) is still handed to the loop; nothing after it.
    expect(count).toBeGreaterThanOrEqual(1_000)
    expect(count).toBeLessThanOrEqual(1_000 + 64)
    expect(connection.getSnapshot()).toMatchObject({ status: 'closed', error: undefined })
    // The idle timer and the wait for the loop (one macrotask at most) were both released by close().
    expect(timers()).toBe(before)
  })

  it('leaves no timer of the ended attempt behind when a stream a loop was catching up on ends and is retried', async () => {
    server = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(frames(0, 5_000))
    })
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
    const before = timers()
    const connection = createEventStream(server.url, { retry: { initialDelay: 60_000, jitter: false } })
    // Read by the retry itself, before the backoff timer is set: the attempt's own timers (idle
    // timeout, the wait for the loop) must be gone by then.
    const atRetry = new Promise<number>((resolve) =>
      connection.subscribe(() => {
        if (connection.getSnapshot().status === 'reconnecting') resolve(timers())
      }),
    )
    let count = 0
    for await (const _ of connection) {
      count += 1
      if (count === 5_000) break
    }
    const timersAtRetry = await atRetry
    connection.close()
    expect(count).toBe(5_000)
    expect(timersAtRetry).toBe(before)
  })

  it('stops handling the rest of a chunk when a listener reconnects, and resumes after the last handled id', async () => {
    const lastEventIds: Array<string | undefined> = []
    server = await startHttpServer((req, res) => {
      const from = req.headers['last-event-id']
      lastEventIds.push(from as string | undefined)
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      if (from === undefined) res.end(frames(0, 1_000))
      else res.end(`${frames(Number(from) + 1, 3)}event: end\ndata: x\n\n`)
    })
    const connection = createEventStream(server.url, {
      retry: { initialDelay: 1, maxDelay: 1, jitter: false },
      done: (m) => m.event === 'end',
    })
    const ids: string[] = []
    let reconnected = false
    const closed = new Promise<void>((resolve) =>
      connection.subscribe(() => {
        if (connection.getSnapshot().status === 'closed') resolve()
      }),
    )
    connection.listen((message) => {
      ids.push(message.id)
      if (message.id === '41' && !reconnected) {
        reconnected = true
        connection.reconnect()
      }
    })
    await closed
    expect(lastEventIds).toEqual([undefined, '41'])
    expect(ids).toEqual([...Array.from({ length: 42 }, (_, i) => String(i)), '42', '43', '44'])
  })
})
