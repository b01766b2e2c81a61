import type { ServerResponse } from 'node:http'
import type { EventStreamMessage } from '@sluice/client'
import { readEventStream } from '@sluice/client'
import type { Channel } from '@sluice/server-kit'
import { createChannel, createMemoryStore, eventStreamResponse, GAP_EVENT, sendEventStream } from '@sluice/server-kit'
import type { TestServer } from '@sluice/server-kit/testing'
import { createTestServer } from '@sluice/server-kit/testing'
import { EventSource } from 'eventsource'
import { afterEach, describe, expect, it } from 'vitest'

let server: TestServer | undefined
let channel: Channel<{ n: number }> | undefined

afterEach(async () => {
  channel?.close()
  channel = undefined
  await server?.close()
  server = undefined
})

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

function publishRange(target: Channel<{ n: number }>, from: number, to: number): void {
  for (const n of range(from, to)) target.publish({ n })
}

/** Pulls `count` messages from an SSE iterator; each must arrive (the test times out otherwise). */
async function take(iterator: AsyncIterator<EventStreamMessage>, count: number): Promise<EventStreamMessage[]> {
  const messages: EventStreamMessage[] = []
  while (messages.length < count) {
    const result = await iterator.next()
    if (result.done) throw new Error(`the stream ended after ${messages.length} of ${count} messages`)
    messages.push(result.value)
  }
  return messages
}

/** What a client saw, as numbers, after checking that each id is the one the channel assigned. */
function numbers(messages: readonly EventStreamMessage[]): number[] {
  return messages.map((message) => {
    const { n } = JSON.parse(message.data) as { n: number }
    expect(message.id).toBe(String(n))
    return n
  })
}

describe('channels over SSE', () => {
  it('node:http: a client dropped mid-stream resumes with Last-Event-ID and sees no gap and no duplicate', async () => {
    const chat = createChannel<{ n: number }>({ store: createMemoryStore({ firstId: 1 }) })
    channel = chat
    server = await createTestServer((req, res) =>
      sendEventStream(req, res, (ctx) => chat.subscribe(ctx), { keepAlive: false }),
    )
    const first = server.events('/events')
    const firstMessage = first.next()
    await expect.poll(() => chat.subscriberCount).toBe(1)
    publishRange(chat, 1, 10)
    const received = [(await firstMessage).value as EventStreamMessage, ...(await take(first, 3))]
    // The client goes away mid-stream; the pump's return() unregisters the subscriber.
    await first.return()
    await expect.poll(() => chat.subscriberCount).toBe(0)
    publishRange(chat, 11, 20)

    const last = received.at(-1)!.id
    expect(last).toBe('4')
    const second = server.events('/events', { headers: { 'Last-Event-ID': last } })
    received.push(...(await take(second, 16)))
    publishRange(chat, 21, 25)
    received.push(...(await take(second, 5)))
    await second.return()
    expect(numbers(received)).toEqual(range(1, 25))
  })

  it('Fetch runtimes: readEventStream over fetch, aborted mid-stream, resumes with the lastEventId query parameter', async () => {
    const chat = createChannel<{ n: number }>({ store: createMemoryStore({ firstId: 1 }) })
    channel = chat
    server = await createTestServer((request: Request) =>
      eventStreamResponse(request, (ctx) => chat.subscribe(ctx), { keepAlive: false }),
    )
    const controller = new AbortController()
    const response = await fetch(`${server.url}/events`, { signal: controller.signal })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const first = readEventStream(response)[Symbol.asyncIterator]()
    await expect.poll(() => chat.subscriberCount).toBe(1)
    publishRange(chat, 1, 6)
    const received = await take(first, 3)
    controller.abort()
    await expect.poll(() => chat.subscriberCount).toBe(0)
    publishRange(chat, 7, 12)

    const resumed = await fetch(`${server.url}/events?lastEventId=${received.at(-1)!.id}`)
    const second = readEventStream(resumed)[Symbol.asyncIterator]()
    received.push(...(await take(second, 9)))
    publishRange(chat, 13, 15)
    received.push(...(await take(second, 3)))
    await second.return?.()
    expect(numbers(received)).toEqual(range(1, 15))
  })

  it('the eventsource package reconnects by itself after the server drops it, sends Last-Event-ID, and misses nothing', async () => {
    const chat = createChannel<{ n: number }>({ store: createMemoryStore({ firstId: 1 }) })
    channel = chat
    const lastEventIds: (string | undefined)[] = []
    const open = new Set<ServerResponse>()
    server = await createTestServer((req, res) => {
      lastEventIds.push(req.headers['last-event-id'] as string | undefined)
      open.add(res)
      res.once('close', () => open.delete(res))
      // retry: 20 ms, sent first, so the reconnection does not wait the default seconds.
      return sendEventStream(req, res, (ctx) => chat.subscribe(ctx), { keepAlive: false, retry: 20 })
    })
    const source = new EventSource(`${server.url}/events`)
    const received: { id: string; n: number }[] = []
    source.addEventListener('message', (event) => {
      received.push({ id: event.lastEventId, n: (JSON.parse(event.data) as { n: number }).n })
    })
    try {
      await expect.poll(() => chat.subscriberCount).toBe(1)
      publishRange(chat, 1, 5)
      await expect.poll(() => received.length).toBe(5)
      // The connection drops under it (server side); messages keep coming meanwhile.
      for (const res of open) res.socket?.destroy()
      publishRange(chat, 6, 10)
      await expect.poll(() => lastEventIds.length).toBe(2)
      expect(lastEventIds).toEqual([undefined, '5'])
      await expect.poll(() => chat.subscriberCount).toBe(1)
      publishRange(chat, 11, 15)
      await expect.poll(() => received.length).toBe(15)
    } finally {
      source.close()
    }
    expect(received.map(({ n }) => n)).toEqual(range(1, 15))
    expect(received.map(({ id }) => id)).toEqual(range(1, 15).map(String))
  })

  it('an EventSource resuming from a trimmed id receives the sluice-gap event, then the oldest retained messages', async () => {
    const chat = createChannel<{ n: number }>({ store: createMemoryStore({ maxSize: 5, firstId: 1 }) })
    channel = chat
    server = await createTestServer((req, res) =>
      sendEventStream(req, res, (ctx) => chat.subscribe(ctx), { keepAlive: false }),
    )
    publishRange(chat, 1, 20)
    // A browser's EventSource cannot set headers on its first request: the query parameter does it.
    const source = new EventSource(`${server.url}/events?lastEventId=2`)
    const seen: string[] = []
    source.addEventListener(GAP_EVENT, (event) => {
      seen.push(`gap ${event.data}`)
    })
    source.addEventListener('message', (event) => {
      seen.push(`message ${event.lastEventId}`)
    })
    try {
      await expect.poll(() => seen.length).toBe(6)
    } finally {
      source.close()
    }
    expect(seen).toEqual([
      `gap ${JSON.stringify({ lastEventId: '2', reason: 'trimmed', nextId: '16' })}`,
      'message 16',
      'message 17',
      'message 18',
      'message 19',
      'message 20',
    ])
  })

  it('a subscriber that falls behind gets its queued messages, its response ends, and it resumes exactly', async () => {
    const chat = createChannel<{ n: number }>({ store: createMemoryStore({ firstId: 1 }), maxQueue: 5 })
    channel = chat
    server = await createTestServer((req, res) =>
      sendEventStream(req, res, (ctx) => chat.subscribe(ctx), { keepAlive: false }),
    )
    const first = server.events('/events')
    const pending = first.next()
    await expect.poll(() => chat.subscriberCount).toBe(1)
    // A burst in one turn of the event loop: the pump cannot pull in between.
    publishRange(chat, 1, 50)
    expect(chat.subscriberCount).toBe(0)
    const received = [(await pending).value as EventStreamMessage]
    for await (const message of first) received.push(message)
    // The response ended cleanly after the queued prefix.
    expect(numbers(received)).toEqual(range(1, 5))
    const second = server.events('/events', { headers: { 'Last-Event-ID': received.at(-1)!.id } })
    received.push(...(await take(second, 45)))
    await second.return()
    expect(numbers(received)).toEqual(range(1, 50))
  })

  it('close() ends every SSE response cleanly', async () => {
    const chat = createChannel<{ n: number }>({ store: createMemoryStore({ firstId: 1 }) })
    channel = chat
    server = await createTestServer((req, res) =>
      sendEventStream(req, res, (ctx) => chat.subscribe(ctx), { keepAlive: false }),
    )
    const clients = [server.events('/events'), server.events('/events'), server.events('/events')]
    const firsts = clients.map((client) => client.next())
    await expect.poll(() => chat.subscriberCount).toBe(3)
    chat.publish({ n: 1 })
    chat.close()
    for (const [index, client] of clients.entries()) {
      expect(numbers([(await firsts[index]!).value as EventStreamMessage])).toEqual([1])
      // The stream ends (done), it does not error.
      expect(await client.next()).toEqual({ done: true, value: undefined })
    }
  })
})
