import { createServer } from 'node:http'
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net'
import { createSocket, HttpError, LimitExceededError, TimeoutError, ValidationError } from '@sluice/client'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocket, type WebSocketServer } from 'ws'
import { z } from 'zod'
import {
  Inbox,
  nextMessage,
  nextMessages,
  ResourceWatch,
  recordStatuses,
  startWsServer,
  type TestWsServer,
  waitForSnapshot,
  waitForStatus,
} from './helpers.js'

const fast = { initialDelay: 20, maxDelay: 50 }
let cleanup: Array<() => unknown> = []
// Every test must leave the process as it found it once its servers are closed.
let watch: ResourceWatch
beforeEach(() => {
  watch = new ResourceWatch()
})
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn()
  cleanup = []
  await watch.expectReleased()
})

async function server(setup: (wss: WebSocketServer) => void): Promise<TestWsServer> {
  const s = await startWsServer(setup)
  cleanup.push(() => s.close())
  return s
}

function echo(wss: WebSocketServer) {
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })))
}

describe('createSocket', () => {
  it('round-trips JSON through an echo server', async () => {
    const { url } = await server(echo)
    const socket = createSocket<{ n: number }, { n: number }>(url, { WebSocket })
    cleanup.push(socket.close)
    await waitForStatus(socket, 'open')
    const reply = nextMessage(socket)
    socket.send({ n: 1 })
    expect(await reply).toEqual({ n: 1 })
    expect(socket.getSnapshot()).toMatchObject({ status: 'open', data: { n: 1 }, attempt: 0, error: undefined })
  })

  it('queues sends made before open and flushes them in order', async () => {
    const received = new Inbox<string>()
    const { url } = await server((wss) =>
      wss.on('connection', (ws) => ws.on('message', (d) => received.push(String(d)))),
    )
    const socket = createSocket(url, { WebSocket })
    cleanup.push(socket.close)
    expect(socket.getSnapshot().status).toBe('connecting')
    for (let i = 0; i < 5; i++) socket.send({ i })
    await received.waitFor(5)
    expect(received.items).toEqual(['{"i":0}', '{"i":1}', '{"i":2}', '{"i":3}', '{"i":4}'])
  })

  it('throws LimitExceededError when the queue is full, without dropping queued messages', async () => {
    const received = new Inbox<string>()
    const { url } = await server((wss) =>
      wss.on('connection', (ws) => ws.on('message', (d) => received.push(String(d)))),
    )
    const socket = createSocket(url, { WebSocket, maxQueueSize: 2 })
    cleanup.push(socket.close)
    socket.send('a')
    socket.send('b')
    let error: unknown
    try {
      socket.send('c')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(LimitExceededError)
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 'maxQueueSize', max: 2 })
    await received.waitFor(2)
    socket.send('d')
    await received.waitFor(3)
    expect(received.items).toEqual(['"a"', '"b"', '"d"'])
  })

  it('reconnects after the server terminates the connection', async () => {
    let connections = 0
    const { url } = await server((wss) => {
      wss.on('connection', (ws) => {
        connections++
        if (connections === 1) ws.terminate()
        else ws.send(JSON.stringify({ hello: connections }))
      })
    })
    let opened = 0
    const socket = createSocket(url, { WebSocket, retry: fast, onOpen: () => opened++ })
    cleanup.push(socket.close)
    const statuses = recordStatuses(socket)
    const reconnecting = await waitForStatus(socket, 'reconnecting')
    expect(reconnecting.error).toMatchObject({ code: 'SOCKET_CLOSED' })
    expect(reconnecting.attempt).toBe(1)
    expect(await nextMessage(socket)).toEqual({ hello: 2 })
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'connecting', 'open'])
    expect(opened).toBe(2)
  })

  it('a handshake that never completes fails after connectTimeout and is retried', async () => {
    // A TCP server that accepts and never answers the HTTP upgrade.
    const sockets = new Set<Socket>()
    const tcp = createNetServer((sock) => {
      sockets.add(sock)
      sock.on('close', () => sockets.delete(sock))
    })
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
    cleanup.push(async () => {
      for (const sock of sockets) sock.destroy()
      await new Promise((resolve) => tcp.close(resolve))
    })
    const { port } = tcp.address() as AddressInfo
    const socket = createSocket(`ws://127.0.0.1:${port}`, { WebSocket, connectTimeout: 100, retry: fast })
    cleanup.push(socket.close)
    const waiting = await waitForStatus(socket, 'reconnecting')
    expect(waiting.error).toBeInstanceOf(TimeoutError)
    expect(waiting.error).toMatchObject({ timeout: 'connectTimeout', ms: 100 })
  })

  it('detects a silent server with the heartbeat and reconnects', async () => {
    const connections = new Inbox<number>()
    // This server accepts and then never answers anything (it ignores the pings).
    const { url } = await server((wss) => wss.on('connection', () => connections.push(connections.items.length + 1)))
    const errors: unknown[] = []
    const socket = createSocket(url, {
      WebSocket,
      retry: fast,
      heartbeat: { interval: 30, timeout: 60 },
      onError: (e) => errors.push(e),
    })
    cleanup.push(socket.close)
    const snapshot = await waitForStatus(socket, 'reconnecting')
    expect(snapshot.error).toBeInstanceOf(TimeoutError)
    expect(snapshot.error).toMatchObject({ timeout: 'heartbeat', ms: 60 })
    await connections.waitFor(2)
    expect(errors[0]).toBe(snapshot.error)
  })

  it('keeps a connection whose server answers the pings, without delivering the pongs', async () => {
    const pings = new Inbox<string>()
    const { url } = await server((wss) =>
      wss.on('connection', (ws) =>
        ws.on('message', (data) => {
          pings.push(String(data))
          ws.send(JSON.stringify({ type: 'pong' }))
        }),
      ),
    )
    const socket = createSocket(url, { WebSocket, heartbeat: { interval: 20, timeout: 2000 } })
    cleanup.push(socket.close)
    const statuses = recordStatuses(socket)
    const delivered: unknown[] = []
    socket.listen((m) => delivered.push(m))
    await pings.waitFor(4)
    expect(pings.items.slice(0, 4)).toEqual(Array(4).fill('{"type":"ping"}'))
    expect(statuses).toEqual(['connecting', 'open'])
    expect(delivered).toEqual([])
  })

  it('validates with a Standard Schema: an invalid message surfaces ValidationError and is not delivered', async () => {
    const { url } = await server((wss) =>
      wss.on('connection', (ws) => {
        ws.send(JSON.stringify({ n: 'not a number' }))
        ws.send('not json at all')
        ws.send(JSON.stringify({ n: 3 }))
      }),
    )
    const errors: unknown[] = []
    const socket = createSocket(url, { WebSocket, schema: z.object({ n: z.number() }), onError: (e) => errors.push(e) })
    cleanup.push(socket.close)
    const message = await nextMessage(socket)
    expect(message).toEqual({ n: 3 })
    expect(errors).toHaveLength(2)
    expect(errors[0]).toBeInstanceOf(ValidationError)
    expect(errors[1]).toBeInstanceOf(ValidationError)
    expect(socket.getSnapshot().status).toBe('open')
  })

  it('keeps arrival order with an async schema, and a throwing schema is a ValidationError', async () => {
    const { url } = await server((wss) =>
      wss.on('connection', (ws) => {
        for (const n of [0, 1, 2, -1, 3]) ws.send(JSON.stringify(n))
      }),
    )
    // Later messages validate faster: without serialising, they would overtake earlier ones.
    const slowFirst: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) => {
          if (value === -1) throw new Error('validator crashed')
          return new Promise((resolve) =>
            setTimeout(() => resolve({ value: value as number }), 30 - Number(value) * 10),
          )
        },
      },
    }
    const errors: unknown[] = []
    const socket = createSocket(url, { WebSocket, schema: slowFirst, onError: (e) => errors.push(e) })
    cleanup.push(socket.close)
    expect(await nextMessages(socket, 4)).toEqual([0, 1, 2, 3])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringMatching(/validator crashed/) })
  })

  it('stops with HttpError when the upgrade is refused with 401', async () => {
    const http = createServer()
    http.on('upgrade', (_req, sock) => {
      sock.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    cleanup.push(() => new Promise((resolve) => http.close(resolve)))
    const { port } = http.address() as AddressInfo
    const socket = createSocket(`ws://127.0.0.1:${port}`, { WebSocket, retry: fast })
    const closed = await waitForStatus(socket, 'closed')
    expect(closed.error).toBeInstanceOf(HttpError)
    expect(closed.error).toMatchObject({ status: 401 })
  })

  it('offers subprotocols and delivers binary frames as ArrayBuffer by default', async () => {
    const { url } = await server((wss) => {
      wss.options.handleProtocols = (protocols) => (protocols.has('v2') ? 'v2' : false)
      wss.on('connection', (ws) => ws.send(JSON.stringify(ws.protocol), () => ws.send(Buffer.from([1, 2, 3]))))
    })
    const socket = createSocket(url, { WebSocket, protocols: ['v1', 'v2'] })
    cleanup.push(socket.close)
    const [protocol, binary] = await nextMessages(socket, 2)
    expect(protocol).toBe('v2')
    expect(binary).toBeInstanceOf(ArrayBuffer)
    expect([...new Uint8Array(binary as ArrayBuffer)]).toEqual([1, 2, 3])
  })

  it('custom parse and serialize replace JSON', async () => {
    const received = new Inbox<string>()
    const { url } = await server((wss) =>
      wss.on('connection', (ws) => {
        ws.on('message', (d) => received.push(String(d)))
        ws.send('plain text')
      }),
    )
    const socket = createSocket<string, string>(url, {
      WebSocket,
      parse: (data) => String(data).toUpperCase(),
      serialize: (text) => `<${text}>`,
    })
    cleanup.push(socket.close)
    expect(await nextMessage(socket)).toBe('PLAIN TEXT')
    socket.send('hi')
    expect(await received.waitFor(1)).toEqual(['<hi>'])
  })

  it('reconnect() replaces an open socket at once; close() right after creation opens nothing', async () => {
    const connections = new Inbox<number>()
    const closedCodes = new Inbox<number>()
    const { url } = await server((wss) =>
      wss.on('connection', (ws) => {
        connections.push(connections.items.length + 1)
        ws.on('close', (code) => closedCodes.push(code))
        ws.send(JSON.stringify(connections.items.length))
      }),
    )
    const socket = createSocket<number>(url, { WebSocket })
    cleanup.push(socket.close)
    expect(await nextMessage(socket)).toBe(1)
    const second = nextMessage(socket)
    socket.reconnect()
    expect(await second).toBe(2)
    expect(await closedCodes.waitFor(1)).toEqual([1000])
    expect(socket.getSnapshot()).toMatchObject({ status: 'open', attempt: 0 })

    const stillborn = createSocket(url, { WebSocket })
    stillborn.close()
    expect(stillborn.getSnapshot().status).toBe('closed')
  })

  it('takes a URL provider function', async () => {
    const { url } = await server(echo)
    const socket = createSocket(async () => new URL(url), { WebSocket })
    cleanup.push(socket.close)
    await waitForStatus(socket, 'open')
  })

  it('iterates messages with for await, ending when the connection closes', async () => {
    const { url } = await server((wss) =>
      wss.on('connection', (ws) => {
        for (let i = 0; i < 3; i++) ws.send(JSON.stringify(i))
      }),
    )
    const socket = createSocket<number>(url, { WebSocket })
    const seen: number[] = []
    for await (const n of socket) {
      seen.push(n)
      if (n === 2) socket.close()
    }
    expect(seen).toEqual([0, 1, 2])
  })

  it('throws a TypeError that suggests the fix when there is no WebSocket implementation', () => {
    expect(() => createSocket('ws://127.0.0.1:1')).toThrow(/pass it: import \{ WebSocket \} from 'ws'/)
  })

  it('throws a TypeError on send() after close()', async () => {
    const { url } = await server(echo)
    const socket = createSocket(url, { WebSocket })
    socket.close()
    expect(() => socket.send('x')).toThrow(TypeError)
  })

  it('closes on abort', async () => {
    const { url } = await server(echo)
    const controller = new AbortController()
    const socket = createSocket(url, { WebSocket, signal: controller.signal })
    await waitForStatus(socket, 'open')
    controller.abort()
    expect(socket.getSnapshot()).toMatchObject({ status: 'closed', error: undefined })
  })
})

describe('createSocket resources', () => {
  it('close() is idempotent and leaves no socket, timer or listener behind', async () => {
    const closedOnServer = new Inbox<number>()
    const s = await startWsServer((wss) => {
      echo(wss)
      wss.on('connection', (ws) => ws.on('close', (code) => closedOnServer.push(code)))
    })
    const socket = createSocket(s.url, { WebSocket, heartbeat: { interval: 20, timeout: 1000 } })
    await waitForStatus(socket, 'open')
    const reply = nextMessage(socket)
    socket.send('x')
    await reply
    const snapshot = socket.getSnapshot()
    socket.close()
    const closed = socket.getSnapshot()
    socket.close()
    expect(socket.getSnapshot()).toBe(closed)
    expect(closed).toMatchObject({ status: 'closed', error: undefined, data: snapshot.data })
    expect(await closedOnServer.waitFor(1)).toEqual([1000])
    await s.close()
    await watch.expectReleased()
  })

  it('close() during a pending backoff cancels the timer', async () => {
    // Nothing listens on this port once the server is closed: every attempt is refused.
    const s = await startWsServer(() => undefined)
    const url = s.url
    await s.close()
    const socket = createSocket(url, { WebSocket, retry: { initialDelay: 60_000, jitter: false } })
    const waiting = await waitForStatus(socket, 'reconnecting')
    expect(waiting.error).toMatchObject({ code: 'NETWORK_ERROR' })
    socket.close()
    await watch.expectReleased()
  })

  it('a full queue is discarded on close and a message after close throws', async () => {
    const s = await server(() => undefined)
    const socket = createSocket(s.url, { WebSocket, maxQueueSize: 3 })
    socket.send(1)
    socket.close()
    expect(() => socket.send(2)).toThrow(/after the socket connection was closed/)
  })

  it('delivers every message to listen() synchronously even in bursts', async () => {
    const { url } = await server((wss) =>
      wss.on('connection', (ws) => {
        for (let i = 0; i < 200; i++) ws.send(JSON.stringify(i))
      }),
    )
    const viaOption: number[] = []
    const socket = createSocket<number>(url, { WebSocket, onMessage: (n) => viaOption.push(n) })
    cleanup.push(socket.close)
    const all = await nextMessages(socket, 200)
    expect(viaOption).toEqual(all)
    expect(all).toEqual(Array.from({ length: 200 }, (_, i) => i))
    await waitForSnapshot(socket, (s) => s.data === 199)
  })
})
