import { createChannel } from '@sluice/server-kit'
import { createRedisStore } from '@sluice/server-kit/redis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisProcess, startRedis } from './redis-server.js'

// Its own file (its own forked process, see vitest.config.ts): the baseline of active resources is
// not disturbed by other tests' connections still closing.

/** What a store may hold: sockets, connection attempts and timers. */
const RELEASED = ['TCPSocketWrap', 'TCPConnectWrap', 'Timeout', 'Immediate']

let redis: RedisProcess
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop('SIGTERM')
})

function ours(): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(RELEASED.map((name) => [name, 0]))
  for (const name of process.getActiveResourcesInfo()) if (name in counts) counts[name]! += 1
  return counts
}

/**
 * Waits (bounded) until nothing of ours is left beyond `before` (vitest's own timer may come and
 * go), then checks it stays so for a
 * second: a reconnection attempt or a retry timer still owned by someone would come back within it.
 */
async function expectReleased(before: Record<string, number>): Promise<void> {
  const extra = () => {
    const now = ours()
    return Object.fromEntries(RELEASED.map((name) => [name, Math.max(0, now[name]! - before[name]!)]))
  }
  const none = Object.fromEntries(RELEASED.map((name) => [name, 0]))
  const deadline = Date.now() + 10_000
  while (JSON.stringify(extra()) !== JSON.stringify(none) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  expect(extra()).toEqual(none)
}

async function setUp() {
  const client = createClient({ url: redis.url })
  client.on('error', () => undefined)
  await client.connect()
  const store = createRedisStore({ client, key: `sluice:resources:${Math.random()}`, onError: () => undefined })
  const channel = createChannel({ store })
  await store.ready
  return { client, channel }
}

describe('createRedisStore resources', () => {
  it('releases its reader connection when the channel closes', async () => {
    const before = ours()
    const { client, channel } = await setUp()
    const sub = channel.subscribe()
    await channel.publish('x')
    expect((await sub.next()).value).toMatchObject({ data: 'x' })
    expect(ours().TCPSocketWrap).toBe(before.TCPSocketWrap! + 2) // the client and the store's reader
    channel.close()
    client.destroy()
    expect(await sub.next()).toEqual({ done: true, value: undefined })
    await expectReleased(before)
  })

  it('releases the reader, its retry timer and its reconnection attempts when the channel closes while Redis is down', async () => {
    const before = ours()
    const { client, channel } = await setUp()
    const sub = channel.subscribe()
    try {
      await redis.stop('SIGKILL')
      expect(await sub.next()).toEqual({ done: true, value: undefined })
      channel.close()
      client.destroy()
      await expectReleased(before)
    } finally {
      await redis.restart()
    }
  })
})
