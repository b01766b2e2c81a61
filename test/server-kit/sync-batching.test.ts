import type { IncomingMessage, ServerResponse } from 'node:http'
import { readEventStream } from '@sluice/client'
import type { EventMessage, StreamEndReason } from '@sluice/server-kit'
import { createChannel, eventStreamResponse, formatEvent, sendEventStream, toNodeHandler } from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { rawGet, waitFor } from './helpers.js'

// Issue 6 (server-throughput): a synchronous source is pulled in batches, one socket write per
// batch instead of one per event, with the same bounds, order and error handling.

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const events = (count: number): EventMessage[] =>
  Array.from({ length: count }, (_, n) => ({ id: String(n), event: n % 2 ? 'odd' : 'even', data: { n, text: 'é' } }))

async function readAll(url: string): Promise<{ id: string; event: string; data: string }[]> {
  const response = await fetch(url)
  const out: { id: string; event: string; data: string }[] = []
  for await (const message of readEventStream(response.body!)) {
    out.push({ id: message.id ?? '', event: message.event, data: message.data })
  }
  return out
}

describe('a synchronous source', () => {
  it('is written in batches on node:http: every event, in order, in far fewer writes', async () => {
    const count = 5_000
    let writes = 0
    const ended: StreamEndReason[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      const write = res.write.bind(res) as (chunk: string | Uint8Array) => boolean
      res.write = ((chunk: string | Uint8Array) => {
        writes++
        return write(chunk)
      }) as typeof res.write
      return sendEventStream(req, res, events(count), { onClose: (reason) => ended.push(reason) })
    })
    const received = await readAll(server.url)
    expect(received.map((m) => m.id)).toEqual(events(count).map((m) => m.id))
    expect(received.at(-1)).toEqual({
      id: String(count - 1),
      event: 'odd',
      data: JSON.stringify(events(count).at(-1)!.data),
    })
    expect(writes).toBeLessThan(count / 20)
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['end'])
  })

  it('is batched through eventStreamResponse and toNodeHandler too, every event in order', async () => {
    const count = 5_000
    server = await createTestServer(toNodeHandler((request) => eventStreamResponse(request, events(count))))
    const received = await readAll(server.url)
    expect(received.map((m) => m.id)).toEqual(events(count).map((m) => m.id))
  })

  it('sends what it pulled before an error inside a batch, then the onError event, then ends', async () => {
    const ended: StreamEndReason[] = []
    let finallyRan = false
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(
        req,
        res,
        (function* () {
          try {
            for (let n = 0; n < 10; n++) yield { id: String(n), data: n }
            throw new Error('source broke')
          } finally {
            finallyRan = true
          }
        })(),
        { onError: (error) => (error as Error).message, onClose: (reason) => ended.push(reason) },
      ),
    )
    const received = await readAll(server.url)
    expect(received.map((m) => m.id)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '9'])
    expect(received.at(-1)).toEqual({ id: '9', event: 'error', data: 'source broke' })
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['error'])
    expect(finallyRan).toBe(true)
  })

  it('sends the events before a message formatEvent refuses, then ends with the error', async () => {
    const ended: StreamEndReason[] = []
    const reported: unknown[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(
        req,
        res,
        [
          { id: '1', data: 'a' },
          { id: 'bad\nevent: x', data: 'b' },
          { id: '3', data: 'c' },
        ],
        {
          onError: (error) => {
            reported.push(error)
            return undefined
          },
          onClose: (reason) => ended.push(reason),
        },
      ),
    )
    const received = await readAll(server.url)
    expect(received).toEqual([{ id: '1', event: 'message', data: 'a' }])
    expect(reported).toHaveLength(1)
    expect(reported[0]).toBeInstanceOf(TypeError)
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['error'])
  })

  it('runs a sync generator finally when the client leaves while it is parked on backpressure', async () => {
    let finallyRan = false
    const ended: StreamEndReason[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(
        req,
        res,
        (function* () {
          try {
            for (let n = 0; ; n++) yield { id: String(n), data: 'x'.repeat(4096) }
          } finally {
            finallyRan = true
          }
        })(),
        { onClose: (reason) => ended.push(reason) },
      ),
    )
    const client = await rawGet(server.url)
    client.res.pause()
    await client.waitForText('id: 0')
    client.abort()
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['disconnect'])
    expect(finallyRan).toBe(true)
  })
})

describe('encoding a message once per fan-out', () => {
  it('gives every subscriber of a channel the same frame', async () => {
    const channel = createChannel()
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(req, res, (ctx) => channel.subscribe(ctx)),
    )
    const clients = await Promise.all([rawGet(server.url), rawGet(server.url), rawGet(server.url)])
    await waitFor('three subscribers', () => channel.subscriberCount === 3)
    const id = channel.publish({ n: 1 }, { event: 'tick' })
    const frame = formatEvent({ id, event: 'tick', data: { n: 1 } })
    for (const client of clients) expect(await client.waitForText(frame)).toContain(frame)
    for (const client of clients) client.abort()
  })

  it('re-encodes a message that is not frozen each time it is sent (it may have changed)', async () => {
    const message: { id: string; data: { n: number } } = { id: '1', data: { n: 1 } }
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      const sent = sendEventStream(req, res, [message], { keepAlive: false })
      message.data = { n: message.data.n + 1 }
      message.id = String(Number(message.id) + 1)
      return sent
    })
    expect(await readAll(server.url)).toEqual([{ id: '1', event: 'message', data: '{"n":1}' }])
    expect(await readAll(server.url)).toEqual([{ id: '2', event: 'message', data: '{"n":2}' }])
  })
})

describe('a live channel subscription read by the pump', () => {
  it('writes a burst published in one turn in one batch, in order, after a resumed replay too', async () => {
    const channel = createChannel<{ n: number }>()
    const writes: number[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      const index = writes.push(0) - 1
      const write = res.write.bind(res) as (chunk: string | Uint8Array) => boolean
      res.write = ((chunk: string | Uint8Array) => {
        writes[index]!++
        return write(chunk)
      }) as typeof res.write
      return sendEventStream(req, res, (ctx) => channel.subscribe(ctx))
    })
    const first = channel.publish({ n: 0 })
    const live = await rawGet(server.url)
    const resumed = await rawGet(server.url, { 'last-event-id': first })
    await waitFor('two subscribers', () => channel.subscriberCount === 2)
    // The resumed one first replays nothing (it is up to date), then reads live.
    const before = [...writes]
    const ids: string[] = []
    for (let n = 1; n <= 50; n++) ids.push(channel.publish({ n }))
    const lastFrame = formatEvent({ id: ids.at(-1)!, data: { n: 50 } })
    for (const client of [live, resumed]) {
      const body = await client.waitForText(lastFrame)
      const seen = [...body.matchAll(/^id: (.+)$/gm)].map((match) => match[1])
      expect(seen).toEqual(ids)
    }
    // 50 messages, one write each before; now the queued burst goes out together.
    expect(writes[0]! - before[0]!).toBeLessThanOrEqual(2)
    expect(writes[1]! - before[1]!).toBeLessThanOrEqual(2)
    live.abort()
    resumed.abort()
    await waitFor('both unsubscribed', () => channel.subscriberCount === 0)
  })

  it('still ends a subscriber whose burst in one turn passes maxQueue, after delivering the queued ones', async () => {
    const channel = createChannel<{ n: number }>({ maxQueue: 10 })
    const ended: StreamEndReason[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(req, res, (ctx) => channel.subscribe(ctx), { onClose: (reason) => ended.push(reason) }),
    )
    const client = await rawGet(server.url)
    await waitFor('one subscriber', () => channel.subscriberCount === 1)
    const ids: string[] = []
    for (let n = 0; n < 11; n++) ids.push(channel.publish({ n }))
    const body = await client.ended
    expect([...body.matchAll(/^id: (.+)$/gm)].map((match) => match[1])).toEqual(ids.slice(0, 10))
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['end'])
    expect(channel.subscriberCount).toBe(0)
  })
})
