/**
 * Issue 6 (fan-out): subscribers live in an array that a removal compacts by moving the last one
 * into the freed slot. A subscriber that falls behind removes itself in the middle of a fan-out;
 * every other subscriber must still get that very message, once, whichever slots move.
 */
import { type ChannelSubscription, createChannel, createMemoryStore } from '@sluice/server-kit'
import { describe, expect, it } from 'vitest'

const DONE = { done: true, value: undefined }

/** Reads `count` messages that are already queued, returning their data. */
async function read(subscription: ChannelSubscription<number>, count: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) {
    const result = await subscription.next()
    if (result.done === true || result.value.event !== undefined) throw new Error('expected a message')
    out.push(result.value.data)
  }
  return out
}

describe('fan-out while subscribers leave', () => {
  // Slow subscribers in the middle, next to each other, and last: each removal moves another
  // subscriber (possibly another slow one) into the slot the loop is visiting.
  for (const slowSlots of [[1], [1, 2], [5], [0, 5], [0, 1, 2, 3, 4, 5], [2, 4, 5]]) {
    it(`every other subscriber gets every message (slow: ${slowSlots.join(', ')} of 6)`, async () => {
      const maxQueue = 2
      const channel = createChannel<number>({ store: createMemoryStore({ firstId: 1 }), maxQueue })
      const subscribers = Array.from({ length: 6 }, () => channel.subscribe())
      const fast = subscribers.filter((_, slot) => !slowSlots.includes(slot))
      const slow = subscribers.filter((_, slot) => slowSlots.includes(slot))
      const received = fast.map((): number[] => [])
      for (let n = 0; n < 5; n++) {
        channel.publish(n)
        for (const [i, subscription] of fast.entries()) received[i]!.push(...(await read(subscription, 1)))
        // The slow ones hold maxQueue messages after two publishes; the third ends them.
        expect(channel.subscriberCount).toBe(n < maxQueue ? 6 : fast.length)
      }
      for (const messages of received) expect(messages).toEqual([0, 1, 2, 3, 4])
      // Ended normally: what was queued first, then done.
      for (const subscription of slow) {
        expect(await read(subscription, maxQueue)).toEqual([0, 1])
        expect(await subscription.next()).toEqual(DONE)
      }
      // The remaining ones still leave cleanly, in any order, and close() ends the rest.
      await fast[0]?.return()
      expect(channel.subscriberCount).toBe(Math.max(0, fast.length - 1))
      channel.close()
      expect(channel.subscriberCount).toBe(0)
      for (const subscription of fast.slice(1)) expect(await subscription.next()).toEqual(DONE)
    })
  }
})
