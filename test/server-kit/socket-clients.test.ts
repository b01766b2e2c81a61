import { createSocket, HttpError } from '@sluice/client'
import type { SocketServer } from '@sluice/server-kit'
import { createSocketServer, SocketCloseCode } from '@sluice/server-kit'
import type { TestServer } from '@sluice/server-kit/testing'
import { createTestServer } from '@sluice/server-kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'

// The socket server against the clients users have: the test client of `@sluice/server-kit/testing`
// and `@sluice/client`'s reconnecting `createSocket` (on partysocket, with `ws` in Node).

let server: TestServer | undefined
const socketServers: SocketServer<unknown, unknown>[] = []

afterEach(async () => {
  await Promise.all(socketServers.splice(0).map((sockets) => sockets.close()))
  await server?.close()
  server = undefined
})

function track<TSend, TUser>(sockets: SocketServer<TSend, TUser>): SocketServer<TSend, TUser> {
  socketServers.push(sockets as unknown as SocketServer<unknown, unknown>)
  return sockets
}

type In = { text: string }
type Out = { echo: string; by: string }

describe('socket server with real clients', () => {
  it('the testing client: JSON round trip, and a refused upgrade rejects with HttpError', async () => {
    server = await createTestServer((_req, res) => res.end())
    track(
      createSocketServer<In, Out, string>({
        server: server.server,
        path: '/ws',
        authenticate: (req) => new URL(req.url ?? '', 'http://x').searchParams.get('user') ?? false,
        onMessage: (message, client) => {
          client.send({ echo: message.text, by: client.user })
        },
      }),
    )
    const socket = await server.websocket('/ws?user=ada')
    socket.sendJson({ text: 'hi' })
    expect(await socket.receiveJson<Out>()).toEqual({ echo: 'hi', by: 'ada' })
    socket.send('not json')
    expect(await socket.closed).toMatchObject({ code: SocketCloseCode.InvalidPayload })

    const refused = await server.websocket('/ws').then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(refused).toBeInstanceOf(HttpError)
    expect((refused as HttpError).status).toBe(401)
  })

  it('@sluice/client createSocket: messages both ways, broadcast, and a clean close seen by onClose', async () => {
    server = await createTestServer((_req, res) => res.end())
    const closes: number[] = []
    const sockets = track(
      createSocketServer<In, Out>({
        server: server.server,
        path: '/ws',
        onMessage: (message) => {
          sockets.broadcast({ echo: message.text, by: 'server' })
        },
        onClose: (_client, code) => {
          closes.push(code)
        },
      }),
    )
    const connection = createSocket<Out, In>(`${server.url.replace(/^http/, 'ws')}/ws`, { WebSocket })
    const received: Out[] = []
    const stop = connection.listen((message) => {
      received.push(message)
    })
    try {
      connection.send({ text: 'one' })
      connection.send({ text: 'two' })
      await expect.poll(() => received.length).toBe(2)
      expect(received).toEqual([
        { echo: 'one', by: 'server' },
        { echo: 'two', by: 'server' },
      ])
      expect(connection.getSnapshot().status).toBe('open')
      expect(sockets.clientCount).toBe(1)
    } finally {
      stop()
      connection.close()
    }
    await expect.poll(() => closes).toEqual([1000])
    expect(sockets.clientCount).toBe(0)
  })

  it('@sluice/client createSocket reconnects after close() sent 1001, to the server that replaces it', async () => {
    server = await createTestServer((_req, res) => res.end())
    const first = track(createSocketServer<In, Out>({ server: server.server, path: '/ws' }))
    const connection = createSocket<Out, In>(`${server.url.replace(/^http/, 'ws')}/ws`, {
      WebSocket,
      retry: { initialDelay: 10, maxDelay: 50 },
    })
    try {
      await expect.poll(() => first.clientCount).toBe(1)
      await first.close()
      // A new deployment of the endpoint on the same server (e.g. after a hot reload).
      const second = track(
        createSocketServer<In, Out>({
          server: server.server,
          path: '/ws',
          onMessage: (message, client) => {
            client.send({ echo: message.text, by: 'second' })
          },
        }),
      )
      await expect.poll(() => second.clientCount).toBe(1)
      await expect.poll(() => connection.getSnapshot().status).toBe('open')
      const reply = new Promise<Out>((resolve) => {
        const stop = connection.listen((message) => {
          stop()
          resolve(message)
        })
      })
      connection.send({ text: 'again' })
      expect(await reply).toEqual({ echo: 'again', by: 'second' })
    } finally {
      connection.close()
    }
  })
})
