import { once } from 'node:events'
import { createServer } from 'node:http'
import { createChannel, createSocketServer, relayChannel } from '@sluice/server-kit'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'

/** Sockets, connection attempts and timers: what the relay and the servers here may hold. */
const RELEASED = ['TCPSocketWrap', 'TCPServerWrap', 'TCPConnectWrap', 'Timeout', 'Immediate']
const ours = () => {
  const counts: Record<string, number> = Object.fromEntries(RELEASED.map((name) => [name, 0]))
  for (const name of process.getActiveResourcesInfo()) if (name in counts) counts[name]! += 1
  return counts
}

async function socketServer() {
  const server = createServer()
  const sockets = createSocketServer<unknown, string>({ server, path: '/ws', heartbeat: false })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
  const received: string[] = []
  ws.on('message', (data) => received.push(JSON.parse(String(data))))
  await once(ws, 'open')
  const close = async () => {
    ws.terminate()
    await sockets.close()
    server.close()
    await once(server, 'close')
  }
  return { sockets, received, close }
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('relayChannel', () => {
  it('broadcasts every published message, stops on stop(), abort and channel close, and leaves nothing behind', async () => {
    const before = ours()
    const { sockets, received, close } = await socketServer()
    const channel = createChannel<string>()
    const stop = relayChannel(channel, sockets)
    const controller = new AbortController()
    const copies: string[] = []
    relayChannel(channel, { broadcast: (data: string) => copies.push(data) }, { signal: controller.signal })
    expect(channel.subscriberCount).toBe(2)

    channel.publish('a')
    channel.publish('b')
    await until(() => received.length === 2)
    expect(received).toEqual(['a', 'b'])
    expect(copies).toEqual(['a', 'b'])

    stop()
    controller.abort()
    await until(() => channel.subscriberCount === 0)
    channel.publish('c')
    // A short wait only to prove that nothing arrives any more.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(received).toEqual(['a', 'b'])
    expect(copies).toEqual(['a', 'b'])

    const third = relayChannel(channel, { broadcast: (data: string) => copies.push(data) })
    expect(channel.subscriberCount).toBe(1)
    channel.close()
    await until(() => channel.subscriberCount === 0)
    third() // idempotent after the channel closed it
    await close()
    // Nothing beyond what was active before (vitest's own timer may come and go).
    const extra = () => RELEASED.filter((name) => ours()[name]! > before[name]!)
    await until(() => extra().length === 0)
    expect(extra()).toEqual([])
  })

  it('reports a broadcast that throws and goes on with the next message', async () => {
    const channel = createChannel<number>()
    const errors: unknown[] = []
    const got: number[] = []
    const stop = relayChannel(
      channel,
      {
        broadcast: (n: number) => {
          if (n === 2) throw new TypeError('boom')
          got.push(n)
        },
      },
      { onError: (error) => errors.push(error) },
    )
    for (const n of [1, 2, 3]) channel.publish(n)
    await until(() => got.length === 2)
    expect(got).toEqual([1, 3])
    expect(errors).toEqual([new TypeError('boom')])
    stop()
    channel.close()
  })

  it('refuses a negative retryDelay', () => {
    expect(() => relayChannel(createChannel(), { broadcast: () => 0 }, { retryDelay: -1 })).toThrow(/retryDelay/)
  })
})
