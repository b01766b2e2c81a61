import type { IncomingMessage, ServerResponse } from 'node:http'
import { ContentTypeError, HttpError, TimeoutError } from '@sluice/client'
import { eventStreamResponse, ndjsonResponse, sendEventStream } from '@sluice/server-kit'
import { createTestServer } from '@sluice/server-kit/testing'
import { describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { expectNoLeaks, liveResources, waitFor } from './helpers.js'

describe('createTestServer', () => {
  it('serves a Node listener on 127.0.0.1 and reads its SSE with events()', async () => {
    const server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(req, res, [
        { id: '1', data: 'a' },
        { event: 'b', data: { x: 1 } },
      ]),
    )
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const messages = []
      for await (const message of server.events('/events')) messages.push(message)
      expect(messages).toEqual([
        { id: '1', event: 'message', data: 'a' },
        { id: '1', event: 'b', data: '{"x":1}' },
      ])
    } finally {
      await server.close()
    }
  })

  it('serves a Fetch handler, or an object with fetch, and passes init through', async () => {
    const handler = (request: Request) =>
      eventStreamResponse(request, ({ lastEventId }) => [{ data: `from ${lastEventId}` }])
    for (const served of [handler, { fetch: handler }]) {
      const server = await createTestServer(served)
      try {
        const messages = []
        for await (const message of server.events('/', { headers: { 'Last-Event-ID': '5' } }))
          messages.push(message.data)
        expect(messages).toEqual(['from 5'])
      } finally {
        await server.close()
      }
    }
  })

  it('throws HttpError for a non-2xx status and ContentTypeError for the wrong type', async () => {
    const server = await createTestServer((request: Request) => {
      const { pathname } = new URL(request.url)
      if (pathname === '/missing') return new Response('nope', { status: 404 })
      if (pathname === '/text') return new Response('plain', { headers: { 'content-type': 'text/plain' } })
      return ndjsonResponse(request, [1])
    })
    try {
      const missing = server.events('/missing').next()
      await expect(missing).rejects.toBeInstanceOf(HttpError)
      await expect(server.events('/missing').next()).rejects.toMatchObject({ status: 404 })
      await expect(server.events('/text').next()).rejects.toBeInstanceOf(ContentTypeError)
      await expect(server.ndjson('/text').next()).rejects.toMatchObject({ expected: 'application/x-ndjson' })
      await expect(server.events('/rows').next()).rejects.toMatchObject({
        received: 'application/x-ndjson; charset=utf-8',
      })
      const raw = await server.stream('/missing')
      expect(raw.status).toBe(404)
      expect(await raw.text()).toBe('nope')
    } finally {
      await server.close()
    }
  })

  it('breaking out of events() closes the request; close() ends a pending loop and releases everything', async () => {
    const baseline = liveResources()
    let finallies = 0
    const server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(req, res, async function* ({ signal }) {
        try {
          yield { data: 'first' }
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
        } finally {
          finallies++
        }
      }),
    )
    for await (const message of server.events('/')) {
      expect(message.data).toBe('first')
      break
    }
    await waitFor('the server to see the client leave', () => finallies === 1, 1_000)

    const seen: string[] = []
    const pending = (async () => {
      for await (const message of server.events('/')) seen.push(message.data)
      return seen
    })()
    const raw = await server.stream('/')
    expect(raw.ok).toBe(true)
    await waitFor('the pending loop to be reading', () => seen.length === 1)
    const socketServer = new WebSocketServer({ server: server.server })
    const socket = await server.websocket('/ws')
    await server.close()
    expect(await pending).toEqual(['first'])
    expect((await socket.closed).code).toBe(1006)
    await waitFor('every stream to end', () => finallies === 3, 1_000)
    await new Promise((resolve) => socketServer.close(resolve))
    await expectNoLeaks(baseline)
    await expect(server.events('/').next()).rejects.toThrow(/closed/)
  })
})

it('close() also ends connections it did not open, e.g. a WebSocket from another client', async () => {
  const baseline = liveResources()
  const server = await createTestServer((_req: IncomingMessage, res: ServerResponse) => res.end())
  const sockets = new WebSocketServer({ server: server.server })
  const outsider = new WebSocket(`${server.url.replace('http', 'ws')}/ws`)
  await new Promise((resolve) => outsider.once('open', resolve))
  const closed = new Promise<number>((resolve) => outsider.once('close', resolve))
  await server.close()
  expect(await closed).toBe(1006)
  await new Promise((resolve) => sockets.close(resolve))
  await expectNoLeaks(baseline)
})

describe('createTestServer().websocket()', () => {
  async function echoServer() {
    const server = await createTestServer((_req: IncomingMessage, res: ServerResponse) => res.end())
    const sockets = new WebSocketServer({ noServer: true })
    server.server.on('upgrade', (req, socket, head) => {
      if (req.url === '/refuse') {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n')
        return
      }
      sockets.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => {
          if (!isBinary && data.toString() === 'close me') ws.close(4000, 'as asked')
          else ws.send(data, { binary: isBinary })
        })
      })
    })
    return {
      server,
      async close() {
        await server.close()
        await new Promise((resolve) => sockets.close(resolve))
      },
    }
  }

  it('sends and receives text, JSON and bytes', async () => {
    const { server, close } = await echoServer()
    try {
      const socket = await server.websocket('/echo')
      socket.send('hello')
      expect(await socket.receive()).toBe('hello')
      socket.sendJson({ a: [1, 2] })
      expect(await socket.receiveJson()).toEqual({ a: [1, 2] })
      socket.send(new Uint8Array([1, 2, 3]))
      expect(await socket.receive()).toEqual(new Uint8Array([1, 2, 3]))
      // Messages that arrive before receive() is called are queued, in order.
      let arrived = 0
      socket.raw.on('message', () => arrived++)
      socket.send('one')
      socket.send('two')
      await waitFor('both echoes to arrive', () => arrived === 2)
      expect([await socket.receive(), await socket.receive()]).toEqual(['one', 'two'])
      expect(await socket.close(1000, 'bye')).toEqual({ code: 1000, reason: 'bye' })
    } finally {
      await close()
    }
  })

  it('rejects receive() with a TimeoutError instead of hanging, and with the close code once closed', async () => {
    const { server, close } = await echoServer()
    try {
      const socket = await server.websocket('/echo')
      const error = await socket.receive({ timeout: 30 }).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(TimeoutError)
      expect((error as TimeoutError).ms).toBe(30)
      socket.send('close me')
      expect(await socket.closed).toEqual({ code: 4000, reason: 'as asked' })
      await expect(socket.receive()).rejects.toThrow(/code 4000/)
    } finally {
      await close()
    }
  })

  it('rejects with HttpError when the upgrade is refused', async () => {
    const { server, close } = await echoServer()
    try {
      const refused = await server.websocket('/refuse').catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(HttpError)
      expect((refused as HttpError).status).toBe(401)
    } finally {
      await close()
    }
  })
})
