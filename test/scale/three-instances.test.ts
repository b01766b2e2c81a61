import { compareStreamIds } from '@sluice/server-kit/redis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  buildPackages,
  checksum,
  connectClient,
  type Instance,
  publish,
  type Received,
  startInstance,
  type TestClient,
  waitFor,
} from './instances.js'
import { type RedisProcess, startRedis } from './redis-server.js'

let redis: RedisProcess
const instances: Instance[] = []
const clients: TestClient[] = []
let keyCounter = 0

beforeAll(async () => {
  await buildPackages()
  redis = await startRedis()
}, 120_000)
afterEach(async () => {
  for (const client of clients.splice(0)) client.connection.close()
  await Promise.all(instances.splice(0).map((instance) => instance.kill()))
})
afterAll(async () => {
  await redis?.stop('SIGTERM')
})

async function startInstances(count: number, key: string): Promise<Instance[]> {
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) => startInstance(`i${i}`, { REDIS_URL: redis.url, STREAM_KEY: key })),
  )
  instances.push(...started)
  return started
}

function connectClients(group: readonly Instance[], perInstance: number): TestClient[] {
  const created: TestClient[] = []
  for (let home = 0; home < group.length; home++) {
    for (let i = 0; i < perInstance; i++) created.push(connectClient(group, home))
  }
  clients.push(...created)
  return created
}

/** The messages every client must receive: the accepted publishes, in the order of their ids. */
function expectedSequence(accepted: { id: string; data: unknown }[]): Received[] {
  return [...accepted]
    .sort((a, b) => compareStreamIds(a.id, b.id))
    .map(({ id, data }) => ({ id, event: 'tick', data: JSON.stringify(data) }))
}

describe('three instances on one Redis', () => {
  it('every client receives the exact published sequence, also those whose instance was killed mid-stream', async () => {
    const group = await startInstances(3, `sluice:scale:${process.pid}:${++keyCounter}`)
    const everyone = connectClients(group, 4)
    await waitFor('every client to open', () => everyone.every((c) => c.connection.getSnapshot().status === 'open'))

    const perPublisher = 100
    const killAfter = 40
    const victim = group[1]!
    const accepted: { id: string; data: unknown }[] = []
    let killed: Promise<void> | undefined
    // One publisher per instance, concurrently, so messages from all three interleave in the stream.
    await Promise.all(
      group.map(async (instance, p) => {
        for (let seq = 0; seq < perPublisher; seq++) {
          if (instance === victim && seq === killAfter) {
            // Crash it between two of its publishes (no publish in flight, so every accepted id is
            // known), while the other two keep publishing and its clients are mid-stream.
            killed = victim.kill()
            return
          }
          const data = { from: instance.name, seq, text: `message ${seq} from ${p}` }
          const result = await publish(instance, data)
          if (!result.ok) throw new Error(`publish through ${instance.name} failed: ${result.code}`)
          accepted.push({ id: result.id, data })
        }
      }),
    )
    await killed
    const expected = expectedSequence(accepted)
    expect(expected).toHaveLength(2 * perPublisher + killAfter)
    const lastId = expected.at(-1)!.id
    await waitFor('every client to receive the last message', () =>
      everyone.every((c) => c.received.at(-1)?.id === lastId),
    )

    const victimClients = everyone.slice(4, 8)
    for (const client of everyone) {
      expect(client.received.map((m) => m.id)).toEqual(expected.map((m) => m.id))
      expect(checksum(client.received)).toBe(checksum(expected))
    }
    // The victim's clients really moved: they reopened on another instance and resumed there.
    for (const client of victimClients) {
      expect(client.opens).toBeGreaterThanOrEqual(2)
      expect(client.servedBy[0]).toBe(victim.name)
      expect(client.servedBy.at(-1)).not.toBe(victim.name)
    }
    for (const client of everyone.filter((c) => !victimClients.includes(c))) expect(client.opens).toBe(1)
  })
})

describe('Redis restarted mid-stream (no persistence: it comes back empty)', () => {
  it('publishes are refused while it is down; clients reconnect, get one sluice-gap (reason unknown), then exactly what was published after', async () => {
    const group = await startInstances(2, `sluice:scale:${process.pid}:${++keyCounter}`)
    const everyone = connectClients(group, 3)
    await waitFor('every client to open', () => everyone.every((c) => c.connection.getSnapshot().status === 'open'))

    const before: { id: string; data: unknown }[] = []
    for (let seq = 0; seq < 50; seq++) {
      const data = { phase: 'before', seq }
      const result = await publish(group[seq % 2]!, data)
      if (!result.ok) throw new Error(`publish failed: ${result.code}`)
      before.push({ id: result.id, data })
    }
    const expectedBefore = expectedSequence(before)
    await waitFor('every client to receive the messages before the restart', () =>
      everyone.every((c) => c.received.length === expectedBefore.length),
    )

    await redis.stop('SIGKILL')
    // Nothing is queued for later: a publish while Redis is down is refused with a clear code.
    for (const instance of group) {
      expect(await publish(instance, { phase: 'down' })).toEqual({ ok: false, code: 'STORE_UNAVAILABLE' })
    }
    // Every stream was ended by its instance, so every client is reconnecting.
    await waitFor('every client to leave the open state', () =>
      everyone.every((c) => c.connection.getSnapshot().status !== 'open' || c.opens > 1),
    )

    await redis.restart()
    const after: { id: string; data: unknown }[] = []
    for (let seq = 0; seq < 50; seq++) {
      const data = { phase: 'after', seq }
      const instance = group[seq % 2]!
      // Each instance's client reconnects by itself; until then it refuses (bounded retries).
      const deadline = Date.now() + 15_000
      for (;;) {
        const result = await publish(instance, data)
        if (result.ok) {
          after.push({ id: result.id, data })
          break
        }
        if (result.code !== 'STORE_UNAVAILABLE' || Date.now() > deadline)
          throw new Error(`publish failed: ${result.code}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    const expectedAfter = expectedSequence(after)
    const lastId = expectedAfter.at(-1)!.id
    expect(compareStreamIds(expectedAfter[0]!.id, expectedBefore.at(-1)!.id)).toBeGreaterThan(0)
    await waitFor('every client to receive the last message after the restart', () =>
      everyone.every((c) => c.received.at(-1)?.id === lastId),
    )

    for (const client of everyone) {
      const gapAt = client.received.findIndex((m) => m.event === 'sluice-gap')
      expect(gapAt).toBe(expectedBefore.length)
      expect(client.received.slice(0, gapAt)).toEqual(expectedBefore)
      // The gap names the id the client resumed from, and why.
      const gap = client.received[gapAt]!
      const gapData = JSON.parse(gap.data) as { lastEventId: string; reason: string; nextId: string | null }
      expect(gapData.lastEventId).toBe(expectedBefore.at(-1)!.id)
      expect(gapData.reason).toBe('unknown')
      // Exactly one gap, then exactly the messages published after the restart.
      const rest = client.received.slice(gapAt + 1)
      expect(rest).toEqual(expectedAfter)
      expect(checksum(rest)).toBe(checksum(expectedAfter))
      expect(client.opens).toBeGreaterThanOrEqual(2)
    }
  })
})
