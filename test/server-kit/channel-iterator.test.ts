import { createChannel, createMemoryStore } from '@sluice/server-kit'
import { describe, expect, it } from 'vitest'

// The live subscription reads the subscriber's queue directly (no generator per subscriber, issue
// 7); these pin down the iterator protocol it must still honour.
describe('channel subscription iterator', () => {
  it('serves next() calls made before anything is published in call order', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    const subscription = channel.subscribe()
    const pending = [subscription.next(), subscription.next(), subscription.next()]
    channel.publish(1)
    channel.publish(2)
    channel.publish(3)
    const values = (await Promise.all(pending)).map((result) => (result.done ? 'done' : result.value.data))
    expect(values).toEqual([1, 2, 3])
    await subscription.return()
    expect(channel.subscriberCount).toBe(0)
  })

  it('hands over from replay to live in order when next() calls overlap', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }) })
    channel.publish(1)
    channel.publish(2)
    const subscription = channel.subscribe({ lastEventId: '1' })
    const pending = [subscription.next(), subscription.next(), subscription.next()]
    channel.publish(3)
    channel.publish(4)
    const values = (await Promise.all(pending)).map((result) => (result.done ? 'done' : result.value.data))
    expect(values).toEqual([2, 3, 4])
    channel.close()
    expect(await subscription.next()).toEqual({ done: true, value: undefined })
  })

  it('return() while next() waits settles that next() as done and unregisters at once', async () => {
    const channel = createChannel<number>()
    const subscription = channel.subscribe()
    const waiting = subscription.next()
    expect(channel.subscriberCount).toBe(1)
    await subscription.return()
    expect(channel.subscriberCount).toBe(0)
    expect(await waiting).toEqual({ done: true, value: undefined })
    channel.publish(1)
    expect(await subscription.next()).toEqual({ done: true, value: undefined })
  })
})
