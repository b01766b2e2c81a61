/**
 * Issue 3 audit: a subscription's one long-lived resource outside the channel is its listener on the
 * caller's AbortSignal (often a request's, which outlives the subscription). Every way a
 * subscription ends must remove it.
 */
import { getEventListeners } from 'node:events'
import { createChannel, createMemoryStore } from '@sluice/server-kit'
import { describe, expect, it } from 'vitest'

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length

describe('channel subscriptions release their signal listener', () => {
  it('on return(), on close(), and when ended for falling behind maxQueue', async () => {
    const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }), maxQueue: 2 })
    const returned = new AbortController()
    const closed = new AbortController()
    const behind = new AbortController()

    const a = channel.subscribe({ signal: returned.signal })
    const waiting = a.next()
    expect(listeners(returned.signal)).toBe(1)
    await a.return()
    expect(await waiting).toEqual({ done: true, value: undefined })
    expect(listeners(returned.signal)).toBe(0)

    const slow = channel.subscribe({ signal: behind.signal, lastEventId: '0' })
    expect(listeners(behind.signal)).toBe(1)
    for (let n = 0; n < 3; n++) channel.publish(n)
    // The third queued message is over maxQueue: ended and unregistered at once, listener included.
    expect(listeners(behind.signal)).toBe(0)
    // It was still replaying (never pulled), so it ends without a live tail that would have a hole.
    expect(await slow.next()).toEqual({ done: true, value: undefined })

    const c = channel.subscribe({ signal: closed.signal, lastEventId: '3' })
    expect(listeners(closed.signal)).toBe(1)
    channel.close()
    expect(listeners(closed.signal)).toBe(0)
    expect(await c.next()).toEqual({ done: true, value: undefined })
    expect(channel.subscriberCount).toBe(0)
  })
})
