import { randomBytes } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { SluiceError } from '@sluice/client'
import type { Channel, ChannelEvent, ChannelStore, ChannelSubscription, EventMessage } from '@sluice/server-kit'
import { createChannel, createMemoryStore, DEFAULT_CHANNEL_MAX_QUEUE, GAP_EVENT } from '@sluice/server-kit'
import { describe, expect, expectTypeOf, it } from 'vitest'

/** Pulls exactly `count` events from a subscription (each must arrive: the test times out otherwise). */
async function take<T>(subscription: ChannelSubscription<T>, count: number): Promise<ChannelEvent<T>[]> {
  const events: ChannelEvent<T>[] = []
  while (events.length < count) {
    const result = await subscription.next()
    if (result.done) throw new Error(`subscription ended after ${events.length} of ${count} events`)
    events.push(result.value)
  }
  return events
}

/** A promise and the function that resolves it (Node 20 has no Promise.withResolvers). */
function signal(): [Promise<void>, () => void] {
  let resolve!: () => void
  const promise = new Promise<void>((done) => {
    resolve = done
  })
  return [promise, resolve]
}

const ids = (events: readonly ChannelEvent[]) => events.map((event) => event.id)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i))

describe('createChannel', () => {
  it('assigns increasing string ids and delivers every message in order', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    const subscription = channel.subscribe()
    const published = [1, 2, 3, 4, 5].map((n) => channel.publish(n, n % 2 ? { event: 'odd' } : {}))
    expect(published).toEqual(range(1, 5))
    const events = await take(subscription, 5)
    expect(events).toEqual([
      { id: '1', event: 'odd', data: 1 },
      { id: '2', data: 2 },
      { id: '3', event: 'odd', data: 3 },
      { id: '4', data: 4 },
      { id: '5', event: 'odd', data: 5 },
    ])
    await subscription.return()
  })

  it('is live only without lastEventId', async () => {
    const channel = createChannel<string>({ store: createMemoryStore({ firstId: 1 }) })
    channel.publish('before')
    const subscription = channel.subscribe()
    channel.publish('after')
    expect(await take(subscription, 1)).toEqual([{ id: '2', data: 'after' }])
    await subscription.return()
  })

  it('registers at subscribe(): a message published before the first next() is not missed', async () => {
    const channel = createChannel<string>({ store: createMemoryStore({ firstId: 1 }) })
    const subscription = channel.subscribe()
    expect(channel.subscriberCount).toBe(1)
    channel.publish('early')
    expect(await take(subscription, 1)).toEqual([{ id: '1', data: 'early' }])
    await subscription.return()
  })

  it('replays every retained message after lastEventId, then goes live', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    for (let n = 1; n <= 10; n++) channel.publish(n)
    const subscription = channel.subscribe({ lastEventId: '4' })
    const replayed = await take(subscription, 6)
    expect(ids(replayed)).toEqual(range(5, 10))
    channel.publish(11)
    expect(await take(subscription, 1)).toEqual([{ id: '11', data: 11 }])
    await subscription.return()
  })

  it('has no gap and no duplicate when messages are published while the replay is being read', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }), replayPageSize: 3 })
    for (let n = 1; n <= 10; n++) channel.publish(n)
    const subscription = channel.subscribe({ lastEventId: '2' })
    // Published after subscribe() but before the replay read: in the history and in the live queue.
    channel.publish(11)
    const received = await take(subscription, 4)
    // Published while the replay is between pages.
    channel.publish(12)
    channel.publish(13)
    received.push(...(await take(subscription, 7)))
    channel.publish(14)
    received.push(...(await take(subscription, 1)))
    expect(ids(received)).toEqual(range(3, 14))
    await subscription.return()
  })

  it('with an async store, delivers once a message that a replay read sees before its fan-out', async () => {
    const inner = createMemoryStore<number>({ firstId: 1 })
    const [gate, release] = signal()
    const [stored, storedSecond] = signal()
    // Message 2 is in the store (readable) while its append has not returned yet, as with a
    // network store whose reply is still on the wire.
    const store: ChannelStore<number> = {
      compare: inner.compare,
      async append(init) {
        const id = inner.append(init)
        if (init.data === 2) {
          storedSecond()
          await gate
        }
        return id
      },
      async readAfter(lastEventId, limit) {
        return inner.readAfter(lastEventId, limit)
      },
    }
    const channel = createChannel<number>({ store })
    expect(await channel.publish(1)).toBe('1')
    const second = channel.publish(2)
    await stored
    const subscription = channel.subscribe({ lastEventId: '1' })
    expect(await subscription.next()).toEqual({ done: false, value: { id: '2', data: 2 } })
    const next = subscription.next()
    release()
    expect(await second).toBe('2')
    expect(await channel.publish(3)).toBe('3')
    expect(await next).toEqual({ done: false, value: { id: '3', data: 3 } })
    await subscription.return()
  })

  it('resuming from the newest id replays nothing and stays live', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    channel.publish(1)
    const last = channel.publish(2)
    const subscription = channel.subscribe({ lastEventId: last })
    const pending = subscription.next()
    channel.publish(3)
    expect(await pending).toEqual({ done: false, value: { id: '3', data: 3 } })
    await subscription.return()
  })

  it('signals an unknown lastEventId in band, then continues from the oldest retained message', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ maxSize: 3, firstId: 1 }) })
    for (let n = 1; n <= 5; n++) channel.publish(n)
    for (const unknown of ['nope', '99', '007', '']) {
      const subscription = channel.subscribe({ lastEventId: unknown })
      const [gap, ...rest] = await take(subscription, 4)
      expect(gap).toEqual({ event: GAP_EVENT, data: { lastEventId: unknown, reason: 'unknown', nextId: '3' } })
      expect(gap?.id).toBeUndefined()
      expect(ids(rest)).toEqual(['3', '4', '5'])
      await subscription.return()
    }
  })

  it('signals a trimmed lastEventId in band, then continues from the oldest retained message', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ maxSize: 5, firstId: 1 }) })
    for (let n = 1; n <= 10; n++) channel.publish(n)
    const subscription = channel.subscribe({ lastEventId: '2' })
    const [gap, ...rest] = await take(subscription, 6)
    expect(gap).toEqual({ event: GAP_EVENT, data: { lastEventId: '2', reason: 'trimmed', nextId: '6' } })
    expect(ids(rest)).toEqual(range(6, 10))
    await subscription.return()

    // The id just before the oldest retained one is still an exact resume: nothing was lost.
    const exact = channel.subscribe({ lastEventId: '5' })
    expect(ids(await take(exact, 5))).toEqual(range(6, 10))
    await exact.return()
  })

  it('decides about a gap when subscribe() is called: trimming before the first next() is no gap', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ maxSize: 1, firstId: 1 }) })
    channel.publish(1)
    const subscription = channel.subscribe({ lastEventId: '1' })
    // Message 1 leaves the one-message history, but the subscriber registered before 2 and 3 existed.
    channel.publish(2)
    channel.publish(3)
    expect(ids(await take(subscription, 2))).toEqual(['2', '3'])
    await subscription.return()
  })

  it('sends the gap signal right before the message that follows it, with that message as nextId', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ maxSize: 2, firstId: 1 }) })
    for (let n = 1; n <= 5; n++) channel.publish(n)
    const subscription = channel.subscribe({ lastEventId: '1' })
    channel.publish(6)
    const events = await take(subscription, 4)
    expect(events).toEqual([
      { event: GAP_EVENT, data: { lastEventId: '1', reason: 'trimmed', nextId: '4' } },
      { id: '4', data: 4 },
      { id: '5', data: 5 },
      { id: '6', data: 6 },
    ])
    await subscription.return()
  })

  it('signals a gap with nextId null when no history is retained, then delivers live messages', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ maxSize: 0, firstId: 1 }) })
    channel.publish(1)
    channel.publish(2)
    const subscription = channel.subscribe({ lastEventId: '1' })
    const gap = await take(subscription, 1)
    expect(gap).toEqual([{ event: GAP_EVENT, data: { lastEventId: '1', reason: 'trimmed', nextId: null } }])
    channel.publish(3)
    expect(ids(await take(subscription, 1))).toEqual(['3'])
    await subscription.return()
  })

  it('counts subscribers, and return() removes one at once even while it waits', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    const a = channel.subscribe()
    const b = channel.subscribe({ lastEventId: '0' })
    expect(channel.subscriberCount).toBe(2)
    const waiting = a.next()
    await a.return()
    expect(channel.subscriberCount).toBe(1)
    expect(await waiting).toEqual({ done: true, value: undefined })
    expect(await a.next()).toEqual({ done: true, value: undefined })
    await b.return()
    expect(channel.subscriberCount).toBe(0)
    // Nothing is delivered to a returned subscription.
    channel.publish(1)
    expect(await b.next()).toEqual({ done: true, value: undefined })
  })

  it('breaking out of for await removes the subscriber', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    const subscription = channel.subscribe()
    channel.publish(1)
    channel.publish(2)
    for await (const event of subscription) {
      expect(event.data).toBe(1)
      break
    }
    expect(channel.subscriberCount).toBe(0)
  })

  it('aborting the signal ends the subscription while it waits', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    const controller = new AbortController()
    const subscription = channel.subscribe({ signal: controller.signal })
    const waiting = subscription.next()
    expect(channel.subscriberCount).toBe(1)
    controller.abort()
    expect(channel.subscriberCount).toBe(0)
    expect(await waiting).toEqual({ done: true, value: undefined })

    const already = channel.subscribe({ signal: AbortSignal.abort() })
    expect(channel.subscriberCount).toBe(0)
    expect(await already.next()).toEqual({ done: true, value: undefined })
  })

  it('ends a subscriber that falls more than maxQueue behind, normally, and it resumes exactly by id', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }), maxQueue: 10 })
    const slow = channel.subscribe()
    const fast = channel.subscribe()
    for (let n = 1; n <= 5; n++) channel.publish(n)
    const received = await take(slow, 3)
    expect(ids(await take(fast, 5))).toEqual(range(1, 5))
    for (let n = 6; n <= 12; n++) channel.publish(n)
    // 9 queued for `slow` (4..12); the fast one keeps pulling.
    expect(ids(await take(fast, 7))).toEqual(range(6, 12))
    expect(channel.subscriberCount).toBe(2)
    channel.publish(13)
    expect(channel.subscriberCount).toBe(2)
    channel.publish(14) // the 11th queued message: over maxQueue
    expect(channel.subscriberCount).toBe(1)
    channel.publish(15)
    // Ended normally: it delivers the 10 it had queued (4..13), takes nothing new, then returns.
    received.push(...(await take(slow, 10)))
    expect(await slow.next()).toEqual({ done: true, value: undefined })
    const lastId = received.at(-1)?.id
    expect(lastId).toBe('13')
    const resumed = channel.subscribe({ lastEventId: lastId })
    expect(ids(await take(resumed, 2))).toEqual(['14', '15'])
    await resumed.return()
    await fast.return()
  })

  it('keeps memory bounded with a subscriber that never reads', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const channel = createChannel<string>({ maxQueue: 100, store: createMemoryStore({ maxSize: 100, firstId: 1 }) })
    const stuck = channel.subscribe()
    gc()
    const before = process.memoryUsage().heapUsed
    // 40,000 distinct 1 KiB strings: ~80 MB of heap if anything kept them all.
    for (let n = 0; n < 40_000; n++) {
      channel.publish(randomBytes(512).toString('hex'))
      if (n === 100) expect(channel.subscriberCount).toBe(0)
    }
    gc()
    const grown = process.memoryUsage().heapUsed - before
    expect(grown).toBeLessThan(10 * 1024 * 1024)
    // What it kept is the bounded prefix it had queued: the first 100 messages, then the end.
    expect(ids(await take(stuck, 100))).toEqual(range(1, 100))
    expect(await stuck.next()).toEqual({ done: true, value: undefined })
  })

  it('close() ends every subscription cleanly after what it had queued, and refuses publishes', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    const live = channel.subscribe()
    const replaying = channel.subscribe({ lastEventId: '0' })
    const waiting = channel.subscribe()
    const pending = waiting.next()
    channel.publish(1)
    expect(await pending).toEqual({ done: false, value: { id: '1', data: 1 } })
    const pendingAgain = waiting.next()
    channel.publish(2)
    await pendingAgain
    channel.close()
    expect(channel.closed).toBe(true)
    expect(channel.subscriberCount).toBe(0)
    // `live` had caught up: it delivers what was queued for it, then ends.
    expect(ids(await take(live, 2))).toEqual(['1', '2'])
    expect(await live.next()).toEqual({ done: true, value: undefined })
    // `replaying` never started reading: ending it mid-replay must not deliver a live tail with a hole.
    expect(await replaying.next()).toEqual({ done: true, value: undefined })
    expect(await waiting.next()).toEqual({ done: true, value: undefined })

    expect(() => channel.publish(3)).toThrow(SluiceError)
    expect(() => channel.publish(3)).toThrow(/closed/)
    try {
      channel.publish(3)
    } catch (error) {
      expect((error as SluiceError).code).toBe('CHANNEL_CLOSED')
    }
    const late = channel.subscribe()
    expect(channel.subscriberCount).toBe(0)
    expect(await late.next()).toEqual({ done: true, value: undefined })
    channel.close()
  })

  it('refuses, at publish time, what would break the stream later', () => {
    const channel = createChannel<unknown>({ store: createMemoryStore({ firstId: 1 }) })
    expect(() => channel.publish('x', { event: 'a\nb' })).toThrow(TypeError)
    expect(() => channel.publish('x', { event: 'a\rid: 7' })).toThrow(/CR or LF/)
    expect(() => channel.publish('x', { event: GAP_EVENT })).toThrow(/reserved/)
    expect(() => channel.publish(10n)).toThrow(/JSON/)
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(() => channel.publish(cycle)).toThrow(TypeError)
    expect(() => channel.publish(undefined)).toThrow(/cannot be encoded as JSON/)
    // Nothing was appended by the refused publishes.
    expect(channel.publish({ ok: true })).toBe('1')
  })

  it('hands out frozen messages, shared by every subscriber', async () => {
    const channel = createChannel<{ n: number }>({ store: createMemoryStore({ firstId: 1 }) })
    const a = channel.subscribe()
    const b = channel.subscribe()
    channel.publish({ n: 1 })
    const [first] = await take(a, 1)
    const [second] = await take(b, 1)
    expect(Object.isFrozen(first)).toBe(true)
    expect(first).toBe(second)
    await a.return()
    await b.return()
  })

  it('validates its options with errors that name the option', () => {
    expect(() => createChannel({ maxQueue: 0 })).toThrow(/maxQueue/)
    expect(() => createChannel({ replayPageSize: 1.5 })).toThrow(/replayPageSize/)
    expect(() => createMemoryStore({ maxSize: -1 })).toThrow(/maxSize/)
    expect(DEFAULT_CHANNEL_MAX_QUEUE).toBe(500)
  })

  it('leaves no timers or handles behind', async () => {
    const before = process.getActiveResourcesInfo()
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    const subscriptions = Array.from({ length: 20 }, (_, i) =>
      channel.subscribe(i % 2 ? { lastEventId: '0', signal: new AbortController().signal } : {}),
    )
    channel.publish(1)
    await Promise.all(subscriptions.map((subscription) => subscription.next()))
    channel.close()
    await Promise.all(subscriptions.map((subscription) => subscription.return()))
    expect(channel.subscriberCount).toBe(0)
    expect(process.getActiveResourcesInfo().sort()).toEqual(before.sort())
  })
})

describe('createChannel types', () => {
  it('publish returns the id on a synchronous store and a promise of it on an asynchronous one', async () => {
    const sync = createChannel<{ n: number }>()
    const id = sync.publish({ n: 1 })
    expectTypeOf(id).toEqualTypeOf<string>()
    expectTypeOf(sync).toEqualTypeOf<Channel<{ n: number }, string>>()
    expect(typeof id).toBe('string')

    const inner = createMemoryStore<{ n: number }>({ firstId: 1 })
    const asyncStore: ChannelStore<{ n: number }> = {
      compare: inner.compare,
      append: async (message) => inner.append(message),
      readAfter: async (lastEventId, limit) => inner.readAfter(lastEventId, limit),
    }
    const viaAsync = createChannel({ store: asyncStore })
    const pending = viaAsync.publish({ n: 1 })
    expectTypeOf(pending).toEqualTypeOf<Promise<string>>()
    expect(pending).toBeInstanceOf(Promise)
    expect(await pending).toBe('1')

    // Compile-time only: never called.
    const misuse = () => {
      // @ts-expect-error the data must be a T
      sync.publish({ n: 'one' })
      // @ts-expect-error publish options have no id: the store assigns it
      sync.publish({ n: 1 }, { id: '7' })
    }
    expect(typeof misuse).toBe('function')
  })

  it('a subscription is an SSE source: it yields formatEvent-style messages', async () => {
    const channel = createChannel<{ n: number }>({ store: createMemoryStore({ firstId: 1 }) })
    const subscription = channel.subscribe()
    expectTypeOf(subscription).toExtend<AsyncIterable<EventMessage>>()
    expectTypeOf<ChannelEvent<{ n: number }>>().toExtend<EventMessage>()
    channel.publish({ n: 1 })
    const { value } = await subscription.next()
    if (value !== undefined && value.id !== undefined) expectTypeOf(value.data).toEqualTypeOf<{ n: number }>()
    expect(value).toEqual({ id: '1', data: { n: 1 } })
    await subscription.return()
  })
})

describe('createMemoryStore', () => {
  it('starts ids at the current time in microseconds, so ids of a previous run read as trimmed', () => {
    const now = Date.now() * 1000
    // A run that started 5 s before this one and published 10 messages.
    const previous = createMemoryStore<number>({ firstId: now - 5_000_000 })
    const previousIds = Array.from({ length: 10 }, (_, n) => previous.append({ data: n }))
    const restarted = createMemoryStore<number>()
    const first = restarted.append({ data: 100 })
    expect(Number(first)).toBeGreaterThanOrEqual(now)
    for (let n = 101; n < 120; n++) restarted.append({ data: n })
    expect(restarted.readAfter(previousIds.at(-1)!, 1)).toEqual({
      messages: [{ id: first, data: 100 }],
      gap: 'trimmed',
    })
    expect(() => createMemoryStore({ firstId: 0 })).toThrow(/firstId/)
  })

  it('keeps the last maxSize messages and reads after an id in pages', () => {
    const store = createMemoryStore<number>({ maxSize: 4, firstId: 1 })
    for (let n = 1; n <= 6; n++) expect(store.append({ data: n })).toBe(String(n))
    expect(store.readAfter('2', 10)).toEqual({
      messages: [
        { id: '3', data: 3 },
        { id: '4', data: 4 },
        { id: '5', data: 5 },
        { id: '6', data: 6 },
      ],
    })
    expect(store.readAfter('3', 2).messages.map((m) => m.id)).toEqual(['4', '5'])
    expect(store.readAfter('6', 10)).toEqual({ messages: [] })
    expect(store.readAfter('1', 1)).toEqual({ messages: [{ id: '3', data: 3 }], gap: 'trimmed' })
    expect(store.readAfter('7', 1)).toEqual({ messages: [{ id: '3', data: 3 }], gap: 'unknown' })
    expect(store.readAfter('3.0', 1).gap).toBe('unknown')
  })
})
