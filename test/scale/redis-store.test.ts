import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { type ChannelEvent, createChannel, createSocketServer, GAP_EVENT, relayChannel } from '@sluice/server-kit'
import { compareStreamIds, createRedisStore, type RedisStore, RedisStoreError } from '@sluice/server-kit/redis'
import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type RedisProcess, startRedis } from './redis-server.js'

let redis: RedisProcess
const cleanups: (() => unknown)[] = []
let keyCounter = 0
const freshKey = () => `sluice:test:${process.pid}:${++keyCounter}`

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop('SIGTERM')
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A connected client; its connection errors are expected while a test stops Redis. */
async function connect(resp: 2 | 3 = 3) {
  const client = createClient({ url: redis.url, RESP: resp })
  client.on('error', () => undefined)
  await client.connect()
  cleanups.push(() => client.destroy())
  return client
}

/** A channel on a Redis store, as one server instance would have it. */
async function instance<T>(
  key: string,
  options: { maxLength?: number; onError?: (error: unknown) => void; resp?: 2 | 3 } = {},
) {
  const client = await connect(options.resp)
  const errors: unknown[] = []
  const store: RedisStore<T> = createRedisStore<T>({
    client,
    key,
    commandTimeout: 1_000,
    onError: options.onError ?? ((error) => errors.push(error)),
    ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
  })
  const channel = createChannel({ store })
  cleanups.push(() => channel.close())
  await store.ready
  return { client, store, channel, errors }
}

/** Takes `count` events from a subscription, bounded in time. */
async function take<T>(iterator: AsyncIterator<ChannelEvent<T>>, count: number): Promise<ChannelEvent<T>[]> {
  const events: ChannelEvent<T>[] = []
  while (events.length < count) {
    const result = await iterator.next()
    if (result.done) throw new Error(`subscription ended after ${events.length} of ${count} events`)
    events.push(result.value)
  }
  return events
}

describe('createRedisStore', () => {
  // RESP2 answers XREAD / XINFO as flat arrays, RESP3 as maps: the store reads both.
  it.each([2, 3] as const)(
    'uses Redis stream ids as message ids, in publish order, and every instance delivers every message (RESP%i)',
    async (resp) => {
      const key = freshKey()
      const a = await instance<{ n: number }>(key, { resp })
      const b = await instance<{ n: number }>(key, { resp })
      const subA = a.channel.subscribe()
      const subB = b.channel.subscribe()
      const ids: string[] = []
      for (let n = 0; n < 20; n++) ids.push(await (n % 2 === 0 ? a : b).channel.publish({ n }, { event: 'tick' }))
      for (const id of ids) expect(id).toMatch(/^\d+-\d+$/)
      for (let i = 1; i < ids.length; i++) expect(compareStreamIds(ids[i - 1]!, ids[i]!)).toBeLessThan(0)
      const expected = ids.map((id, n) => ({ id, event: 'tick', data: { n } }))
      expect(await take(subA, 20)).toEqual(expected)
      expect(await take(subB, 20)).toEqual(expected)
      await subA.return()
      await subB.return()
    },
  )

  it('resumes on another instance after a Last-Event-ID with no gap and no duplicate', async () => {
    const key = freshKey()
    const a = await instance<string>(key)
    const b = await instance<string>(key)
    const ids: string[] = []
    for (let n = 0; n < 250; n++) ids.push(await a.channel.publish(`m${n}`))
    // Page size 100 in the channel: the replay crosses pages, and live messages follow it.
    const resumed = b.channel.subscribe({ lastEventId: ids[9]! })
    const live = b.channel.publish('live')
    const events = await take(resumed, 241)
    expect(events.map((e) => e.id)).toEqual([...ids.slice(10), await live])
    expect(events.at(-1)?.data).toBe('live')
    expect(events.slice(0, 240).map((e) => e.data)).toEqual(ids.slice(10).map((_, i) => `m${i + 10}`))
    await resumed.return()
  })

  it('signals a trimmed Last-Event-ID with the gap event, then starts at the oldest retained message', async () => {
    const key = freshKey()
    const a = await instance<number>(key, { maxLength: 100 })
    const ids: string[] = []
    for (let n = 0; n < 450; n++) ids.push(await a.channel.publish(n))
    const { length, first } = await streamInfo(a.client, key)
    // MAXLEN ~ keeps at least maxLength, trimming whole radix-tree nodes.
    expect(length).toBeGreaterThanOrEqual(100)
    expect(length).toBeLessThan(450)
    const sub = a.channel.subscribe({ lastEventId: ids[0]! })
    const [gap, next] = await take(sub, 2)
    expect(gap).toEqual({ event: GAP_EVENT, data: { lastEventId: ids[0], reason: 'trimmed', nextId: first } })
    expect(next?.id).toBe(first)
    expect(next?.data).toBe(ids.indexOf(first))
    await sub.return()
  })

  it.each([2, 3] as const)(
    'signals an id that was never in the stream as unknown (forged, or from a memory store) (RESP%i)',
    async (resp) => {
      const key = freshKey()
      const a = await instance<string>(key, { resp })
      const first = await a.channel.publish('only')
      for (const lastEventId of ['5', 'abc', '99999999999999-0']) {
        const sub = a.channel.subscribe({ lastEventId })
        const [gap, next] = await take(sub, 2)
        expect(gap).toEqual({ event: GAP_EVENT, data: { lastEventId, reason: 'unknown', nextId: first } })
        expect(next).toEqual({ id: first, data: 'only' })
        await sub.return()
      }
    },
  )

  it('refuses a message over maxMessageSize without storing it', async () => {
    const key = freshKey()
    const client = await connect()
    const store = createRedisStore<string>({ client, key, maxMessageSize: 1000 })
    const channel = createChannel({ store })
    cleanups.push(() => channel.close())
    await store.ready
    // 998 characters + 2 quotes: exactly 1000 bytes of JSON; "é" is 2 bytes in UTF-8.
    const fits = await channel.publish('x'.repeat(998))
    await expect(channel.publish(`${'x'.repeat(997)}é`)).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      limit: 'maxMessageSize',
      max: 1000,
      message: expect.stringMatching(/1001 bytes/),
    })
    expect(await client.sendCommand(['XLEN', key])).toBe(1)
    expect(fits).toMatch(/^\d+-\d+$/)
  })

  it('refuses a second watcher: one store per channel', async () => {
    const a = await instance(freshKey())
    expect(() => createChannel({ store: a.store })).toThrow(/already serves a channel/)
  })
})

describe('createRedisStore when Redis goes away', () => {
  it('rejects publish at once, ends subscriptions cleanly, and resumes with an explicit gap after a restart that lost the data', async () => {
    const key = freshKey()
    const a = await instance<string>(key)
    const b = await instance<string>(key)
    const liveA = a.channel.subscribe()
    const liveB = b.channel.subscribe()
    const before = await a.channel.publish('before')
    expect(await take(liveA, 1)).toEqual([{ id: before, data: 'before' }])
    expect(await take(liveB, 1)).toEqual([{ id: before, data: 'before' }])

    await redis.stop('SIGKILL')
    // Subscriptions end (done), they do not hang or buffer: their clients reconnect and resume.
    expect(await liveA.next()).toEqual({ done: true, value: undefined })
    expect(await liveB.next()).toEqual({ done: true, value: undefined })
    expect(a.channel.subscriberCount).toBe(0)
    const refused = await a.channel.publish('during').catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(RedisStoreError)
    expect(refused).toMatchObject({ code: 'STORE_UNAVAILABLE', key })
    const resumeWhileDown = b.channel.subscribe({ lastEventId: before })
    await expect(resumeWhileDown.next()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    expect(a.errors.some((e) => e instanceof RedisStoreError && /live reader/.test(e.message))).toBe(true)

    await redis.restart()
    await waitFor(() => a.client.isReady && b.client.isReady)
    // Redis lost the stream: the old id is unknown to the new one, and that is said explicitly.
    const after = await publishWhenReady(a.channel, 'after')
    const resumed = b.channel.subscribe({ lastEventId: before })
    expect(await take(resumed, 2)).toEqual([
      { event: GAP_EVENT, data: { lastEventId: before, reason: 'unknown', nextId: after } },
      { id: after, data: 'after' },
    ])
    expect(compareStreamIds(after, before)).toBeGreaterThan(0)
    // Live delivery works again on both instances. (A live-only subscription made right now could
    // also receive "after": the reader delivers a message one round trip after its publish resolved.)
    const liveAgain = a.channel.subscribe({ lastEventId: after })
    const next = await b.channel.publish('next')
    expect(await take(liveAgain, 1)).toEqual([{ id: next, data: 'next' }])
    expect(await take(resumed, 1)).toEqual([{ id: next, data: 'next' }])
    await resumed.return()
    await liveAgain.return()
  })
})

describe('createRedisStore when Redis hangs', () => {
  it('detects a Redis that stops answering (no socket error): publish times out, subscriptions end, and after it resumes with its data a resume is exact', async () => {
    const key = freshKey()
    const a = await instance<string>(key)
    const live = a.channel.subscribe()
    const first = await a.channel.publish('first')
    expect(await take(live, 1)).toEqual([{ id: first, data: 'first' }])

    redis.pause()
    try {
      // commandTimeout is 1000 ms here: the publish fails after it, it does not hang.
      await expect(a.channel.publish('frozen')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
      // Nothing piles up meanwhile: with a command unanswered, at most one more (a probe) is sent
      // to Redis; the rest are refused at once.
      const burst = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => a.channel.publish(`burst ${i}`)))
      expect(burst.every((result) => result.status === 'rejected')).toBe(true)
      const refusedAtOnce = burst.filter(
        (result) => result.status === 'rejected' && /has not answered/.test((result.reason as Error).message),
      )
      expect(refusedAtOnce.length).toBeGreaterThanOrEqual(49)
      // The reader gets no answer to its XREAD within twice commandTimeout: the subscription ends.
      expect(await live.next()).toEqual({ done: true, value: undefined })
    } finally {
      redis.resume()
    }
    // Redis kept its data: resuming from the last id is exact, no gap. The timed-out publishes
    // ("frozen" and the one probe) reached Redis and were appended once it resumed: a timed-out
    // publish is of unknown outcome, which is why it rejects rather than report an id.
    const after = await publishWhenReady(a.channel, 'after')
    const resumed = a.channel.subscribe({ lastEventId: first })
    const events: ChannelEvent<string>[] = []
    while (events.at(-1)?.id !== after) events.push(...(await take(resumed, 1)))
    expect(events.every((e) => e.event !== GAP_EVENT)).toBe(true)
    const timedOut = events.slice(0, -1).map((e) => e.data)
    expect(timedOut.length).toBeLessThanOrEqual(2)
    for (const data of timedOut) expect(data).toMatch(/^(frozen|burst \d+)$/)
    expect(events.at(-1)).toEqual({ id: after, data: 'after' })
    // And live delivery works again (on a new reader connection).
    const next = await a.channel.publish('next')
    expect(await take(resumed, 1)).toEqual([{ id: next, data: 'next' }])
    await resumed.return()
  })
})

describe('relayChannel', () => {
  it('delivers a broadcast published on one instance to WebSocket clients of every instance, also after Redis restarts', async () => {
    const key = freshKey()
    const servers: { server: Server; url: string; stop: () => void }[] = []
    for (let i = 0; i < 2; i++) {
      const { channel } = await instance<{ text: string }>(key)
      const server = createServer()
      const sockets = createSocketServer<unknown, { text: string }>({ server, path: '/ws', heartbeat: false })
      const stop = relayChannel(channel, sockets, { retryDelay: 50, onError: () => undefined })
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      const { port } = server.address() as { port: number }
      servers.push({ server, url: `ws://127.0.0.1:${port}/ws`, stop })
      cleanups.push(async () => {
        stop()
        await sockets.close()
        server.close()
      })
    }
    const publisher = await instance<{ text: string }>(key)
    const received: string[][] = [[], []]
    const sockets = await Promise.all(
      servers.map(async ({ url }, i) => {
        const ws = new WebSocket(url)
        ws.on('message', (data) => received[i]!.push(JSON.parse(String(data)).text))
        await once(ws, 'open')
        cleanups.push(() => ws.terminate())
        return ws
      }),
    )
    expect(sockets).toHaveLength(2)
    await publisher.channel.publish({ text: 'one' })
    await waitFor(() => received.every((r) => r.length === 1))

    await redis.restart()
    await publishWhenReady(publisher.channel, { text: 'two' })
    await waitFor(() => received.every((r) => r.includes('two')))
    for (const r of received) expect(r).toEqual(['one', 'two'])
  })
})

async function streamInfo(
  client: { sendCommand(args: string[]): Promise<unknown> },
  key: string,
): Promise<{ length: number; first: string }> {
  const reply = (await client.sendCommand(['XINFO', 'STREAM', key])) as Record<string, unknown>
  return { length: Number(reply.length), first: String((reply['first-entry'] as unknown[])[0]) }
}

/** Publishes once the instance's reader and client are back (bounded retries while Redis starts). */
async function publishWhenReady<T>(channel: { publish(data: T): Promise<string> }, data: T): Promise<string> {
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      return await channel.publish(data)
    } catch (error) {
      if (!(error instanceof RedisStoreError) || Date.now() > deadline) throw error
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}

/** Waits for a condition, checking on every turn of the event loop; bounded. */
async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
