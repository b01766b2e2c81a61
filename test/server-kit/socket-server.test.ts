import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { HttpError } from '@sluice/client'
import type { SocketClient, SocketServer, SocketServerOptions } from '@sluice/server-kit'
import { createSocketServer, DEFAULT_SOCKET_MAX_PAYLOAD, SocketCloseCode } from '@sluice/server-kit'
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import { type ClientOptions, WebSocket } from 'ws'

interface Closed {
  code: number
  reason: string
}

/** A `ws` client with its close recorded from the start and its JSON messages queued. */
class Peer {
  readonly ws: WebSocket
  readonly closed: Promise<Closed>
  readonly #messages: unknown[] = []
  #waiting: ((message: unknown) => void) | undefined

  constructor(ws: WebSocket) {
    this.ws = ws
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    })
    ws.on('message', (data) => {
      const message: unknown = JSON.parse(data.toString())
      const waiting = this.#waiting
      this.#waiting = undefined
      if (waiting) waiting(message)
      else this.#messages.push(message)
    })
  }

  next(): Promise<unknown> {
    if (this.#messages.length > 0) return Promise.resolve(this.#messages.shift())
    return new Promise((resolve) => {
      this.#waiting = resolve
    })
  }

  send(value: unknown): void {
    this.ws.send(JSON.stringify(value))
  }
}

let httpServer: Server | undefined
let sockets: SocketServer<unknown, unknown> | undefined
const peers: Peer[] = []

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.ws.terminate()
  await sockets?.close()
  sockets = undefined
  if (httpServer) {
    const server = httpServer
    httpServer = undefined
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

/** A real node:http server on 127.0.0.1 with a socket server attached; returns its ws:// base URL. */
async function serve<TReceive = unknown, TSend = unknown, TUser = undefined>(
  options: Omit<SocketServerOptions<TReceive, TSend, TUser>, 'server'>,
): Promise<{ url: string; port: number; server: Server; sockets: SocketServer<TSend, TUser> }> {
  const server = createServer((_req, res) => res.end('plain http'))
  httpServer = server
  const created = createSocketServer<TReceive, TSend, TUser>({ ...options, server })
  sockets = created as unknown as SocketServer<unknown, unknown>
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { url: `ws://127.0.0.1:${port}`, port, server, sockets: created }
}

async function connect(url: string, options: ClientOptions = {}): Promise<Peer> {
  const peer = new Peer(new WebSocket(url, options))
  peers.push(peer)
  await once(peer.ws, 'open')
  return peer
}

/** A raw HTTP upgrade request: reports the status and whether the server switched protocols. */
function rawUpgrade(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; upgraded: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode ?? 0, upgraded: true, body: '' })
    })
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upgraded: false, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('createSocketServer', () => {
  it('round-trips JSON messages and gives hooks the client, its user and the request', async () => {
    const events: string[] = []
    const { url } = await serve<{ text: string }, { echo: string; user: string }, { name: string }>({
      path: '/ws',
      authenticate: async (req) => ({ name: new URL(req.url ?? '', 'http://x').searchParams.get('name') ?? 'anon' }),
      onConnect: (client) => {
        events.push(`connect ${client.user.name}`)
      },
      onMessage: (message, client) => {
        events.push(`message ${message.text}`)
        client.send({ echo: message.text, user: client.user.name })
      },
      onClose: (client, code) => {
        events.push(`close ${client.user.name} ${code}`)
      },
    })
    const peer = await connect(`${url}/ws?name=ada`)
    peer.send({ text: 'héllo' })
    expect(await peer.next()).toEqual({ echo: 'héllo', user: 'ada' })
    // A binary frame holding UTF-8 JSON is a JSON message too.
    peer.ws.send(Buffer.from(JSON.stringify({ text: 'bin' })))
    expect(await peer.next()).toEqual({ echo: 'bin', user: 'ada' })
    const closedOnServer = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (events.some((event) => event.startsWith('close'))) {
          clearInterval(check)
          resolve()
        }
      }, 5)
    })
    peer.ws.close(1000)
    await closedOnServer
    expect(events).toEqual(['connect ada', 'message héllo', 'message bin', 'close ada 1000'])
  })

  it('answers a plain 401 when authenticate refuses, and no WebSocket is created', async () => {
    let connected = 0
    const errors: unknown[] = []
    const { port, sockets: server } = await serve({
      path: '/ws',
      authenticate: async (req) => {
        const token = req.headers.authorization
        if (token === 'Bearer boom') throw new Error('database down')
        if (token === 'Bearer banned') throw new HttpError(403, 'Forbidden')
        return token === 'Bearer good' ? { id: 1 } : false
      },
      onConnect: () => {
        connected++
      },
      onError: (error) => {
        errors.push(error)
      },
    })
    expect(await rawUpgrade(port, '/ws')).toEqual({ status: 401, upgraded: false, body: 'Unauthorized' })
    expect(await rawUpgrade(port, '/ws', { Authorization: 'Bearer nope' })).toMatchObject({
      status: 401,
      upgraded: false,
    })
    expect(await rawUpgrade(port, '/ws', { Authorization: 'Bearer banned' })).toMatchObject({
      status: 403,
      upgraded: false,
    })
    // A refusal with a status is not an error; a thrown error without one is reported, and still 401.
    expect(errors).toEqual([])
    expect(await rawUpgrade(port, '/ws', { Authorization: 'Bearer boom' })).toMatchObject({
      status: 401,
      upgraded: false,
    })
    expect(errors).toHaveLength(1)
    expect((errors[0] as Error).message).toBe('database down')
    expect(connected).toBe(0)
    expect(server.clientCount).toBe(0)
    expect(await rawUpgrade(port, '/ws', { Authorization: 'Bearer good' })).toMatchObject({
      status: 101,
      upgraded: true,
    })
  })

  it('answers a plain 403 to an origin that is not allowed, before authenticate runs', async () => {
    let authenticated = 0
    const { port, url } = await serve({
      allowedOrigins: ['https://app.example.com/'],
      authenticate: () => {
        authenticated++
        return true
      },
    })
    expect(await rawUpgrade(port, '/', { Origin: 'https://evil.example.com' })).toEqual({
      status: 403,
      upgraded: false,
      body: 'Forbidden',
    })
    expect(authenticated).toBe(0)
    expect(await rawUpgrade(port, '/', { Origin: 'https://APP.example.com' })).toMatchObject({ upgraded: true })
    // Not a browser: nothing to protect with Origin (such a client can send any), so allowed.
    const peer = await connect(url)
    expect(peer.ws.readyState).toBe(WebSocket.OPEN)
    expect(authenticated).toBe(2)
  })

  it('takes a predicate for origins', async () => {
    const { port } = await serve({
      allowedOrigins: (origin) => origin?.endsWith('.example.com') === true,
    })
    expect(await rawUpgrade(port, '/')).toMatchObject({ status: 403, upgraded: false })
    expect(await rawUpgrade(port, '/', { Origin: 'https://a.example.com' })).toMatchObject({ upgraded: true })
  })

  it('leaves upgrades for other paths to other listeners', async () => {
    const { port, server, url } = await serve({ path: '/a' })
    const second = createSocketServer({ server, path: '/b' })
    const others: string[] = []
    const otherListener = (req: IncomingMessage, socket: import('node:stream').Duplex) => {
      if (req.url === '/c') {
        others.push(req.url)
        socket.end("HTTP/1.1 418 I'm a Teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
      }
    }
    server.on('upgrade', otherListener)
    try {
      await connect(`${url}/a?x=1`)
      await connect(`${url}/b`)
      expect(await rawUpgrade(port, '/c')).toMatchObject({ status: 418, upgraded: false })
      expect(others).toEqual(['/c'])
      expect(sockets?.clientCount).toBe(1)
      expect(second.clientCount).toBe(1)
    } finally {
      await second.close()
      server.off('upgrade', otherListener)
    }
  })

  it('survives a client that resets its connection while authenticate runs, and keeps no client for it', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let started: () => void = () => undefined
    const authenticating = new Promise<void>((resolve) => {
      started = resolve
    })
    const {
      port,
      url,
      sockets: server,
    } = await serve({
      authenticate: async (req) => {
        if (req.url === '/slow') {
          started()
          await gate
        }
        return true
      },
    })
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/slow',
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    })
    const failed = new Promise<unknown>((resolve) => req.once('error', resolve))
    req.end()
    await authenticating
    // A TCP reset (RST), not a clean close: the server's socket emits 'error'.
    req.socket?.resetAndDestroy()
    await failed
    release()
    const peer = await connect(url)
    expect(peer.ws.readyState).toBe(WebSocket.OPEN)
    await expect.poll(() => server.clientCount).toBe(1)
  })

  it('routes upgrades given to handleUpgrade when it is not attached to a server', async () => {
    const server = createServer((_req, res) => res.end())
    httpServer = server
    const detached = createSocketServer({ path: '/ws', onMessage: (message, client) => void client.send(message) })
    sockets = detached
    const declined: string[] = []
    server.on('upgrade', (req, socket, head) => {
      if (!detached.handleUpgrade(req, socket, head)) {
        declined.push(req.url ?? '')
        socket.destroy()
      }
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    const peer = await connect(`ws://127.0.0.1:${port}/ws`)
    peer.send({ ping: 1 })
    expect(await peer.next()).toEqual({ ping: 1 })
    await expect(rawUpgrade(port, '/other')).rejects.toThrow(/socket hang up/)
    expect(declined).toEqual(['/other'])
  })

  it('answers 404 to another path when no other upgrade listener could take it', async () => {
    const { port } = await serve({ path: '/ws' })
    expect(await rawUpgrade(port, '/elsewhere')).toEqual({ status: 404, upgraded: false, body: 'Not Found' })
  })

  it('closes with 1009 a peer whose message exceeds maxPayload', async () => {
    const closes: number[] = []
    const { url } = await serve({ maxPayload: 1024, onClose: (_client, code) => closes.push(code) })
    const peer = await connect(url)
    peer.ws.send(JSON.stringify({ big: 'x'.repeat(2000) }))
    expect((await peer.closed).code).toBe(SocketCloseCode.MessageTooBig)
    expect(DEFAULT_SOCKET_MAX_PAYLOAD).toBeLessThanOrEqual(1024 * 1024)
  })

  it('uses a small maxPayload by default', async () => {
    const { url } = await serve({})
    const peer = await connect(url)
    peer.ws.send(JSON.stringify({ big: 'x'.repeat(DEFAULT_SOCKET_MAX_PAYLOAD) }))
    expect((await peer.closed).code).toBe(1009)
  })

  it('does not negotiate compression by default', async () => {
    const { url } = await serve({})
    const peer = await connect(url, { perMessageDeflate: true })
    expect(peer.ws.extensions).toBe('')
  })

  it('closes with 1007 a message that is not valid JSON, with a reason that says so', async () => {
    const received: unknown[] = []
    const { url } = await serve({
      onMessage: (message) => {
        received.push(message)
      },
    })
    const peer = await connect(url)
    peer.send({ ok: 1 })
    peer.ws.send('{"oops":')
    const closed = await peer.closed
    expect(closed.code).toBe(SocketCloseCode.InvalidPayload)
    expect(closed.reason).toMatch(/^Invalid message: /)
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123)
    expect(received).toEqual([{ ok: 1 }])
  })

  it('closes with 1007 a binary frame that is not UTF-8', async () => {
    const { url } = await serve({})
    const peer = await connect(url)
    peer.ws.send(Buffer.from([0x7b, 0xff, 0x7d]))
    expect((await peer.closed).code).toBe(1007)
  })

  it('terminates a peer that stops answering pings, and keeps one that answers', async () => {
    const closes: number[] = []
    const { url, sockets: server } = await serve({
      heartbeat: { interval: 50 },
      onClose: (_client, code) => closes.push(code),
    })
    const silent = await connect(url, { autoPong: false })
    const healthy = await connect(url)
    let pings = 0
    const threePings = new Promise<void>((resolve) => {
      healthy.ws.on('ping', () => {
        if (++pings === 3) resolve()
      })
    })
    // Terminated (no close handshake): the peer sees 1006.
    expect((await silent.closed).code).toBe(1006)
    await threePings
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN)
    expect(server.clientCount).toBe(1)
    expect(closes).toEqual([1006])
  })

  it('closes with 1013 a peer that does not read, once more than maxBufferedBytes wait for it', async () => {
    const maxBufferedBytes = 64 * 1024
    let slow: SocketClient<unknown, undefined> | undefined
    const { url, sockets: server } = await serve({
      maxBufferedBytes,
      onConnect: (client) => {
        slow = client
      },
    })
    const peer = await connect(url)
    await expect.poll(() => slow).toBeDefined()
    peer.ws.pause()
    const chunk = 'x'.repeat(16 * 1024)
    let sent = 0
    let maxSeen = 0
    // Bounded: 4096 x 16 KiB = 64 MiB, far beyond what the loopback socket buffers absorb.
    while (sent < 4096 && slow!.send({ n: sent, chunk })) {
      sent++
      maxSeen = Math.max(maxSeen, slow!.socket.bufferedAmount)
    }
    expect(sent).toBeLessThan(4096)
    expect(maxSeen).toBeLessThanOrEqual(maxBufferedBytes)
    expect(slow!.socket.bufferedAmount).toBeLessThanOrEqual(maxBufferedBytes + chunk.length + 100)
    expect(slow!.send({ more: true })).toBe(false)
    expect(server.broadcast({ more: true })).toBe(0)
    peer.ws.resume()
    const closed = await peer.closed
    expect(closed.code).toBe(SocketCloseCode.TryAgainLater)
    expect(closed.reason).toMatch(/maxBufferedBytes/)
  })

  it('broadcasts to every client, or to those a filter accepts', async () => {
    const { url, sockets: server } = await serve<unknown, { hello: string }, string>({
      authenticate: (req) => req.url?.slice(1) || false,
    })
    const a = await connect(`${url}/a`)
    const b = await connect(`${url}/b`)
    const c = await connect(`${url}/c`)
    await expect.poll(() => server.clientCount).toBe(3)
    expect(server.broadcast({ hello: 'all' })).toBe(3)
    expect(server.broadcast({ hello: 'not b' }, (client) => client.user !== 'b')).toBe(2)
    expect(await a.next()).toEqual({ hello: 'all' })
    expect(await b.next()).toEqual({ hello: 'all' })
    expect(await c.next()).toEqual({ hello: 'all' })
    expect(await a.next()).toEqual({ hello: 'not b' })
    expect(await c.next()).toEqual({ hello: 'not b' })
    expect([...server.clients].map((client) => client.user).sort()).toEqual(['a', 'b', 'c'])
    expect(() => server.broadcast(10n as unknown as { hello: string })).toThrow(TypeError)
  })

  it('closes with 1011 and reports to onError when a hook throws', async () => {
    const errors: unknown[] = []
    const { url } = await serve({
      onMessage: async (message) => {
        if ((message as { fail?: boolean }).fail) throw new Error('handler bug')
      },
      onError: (error, client) => errors.push([error, client !== undefined]),
    })
    const peer = await connect(url)
    peer.send({ fail: true })
    expect((await peer.closed).code).toBe(SocketCloseCode.InternalError)
    expect(errors).toEqual([[new Error('handler bug'), true]])
  })

  it('infers the user type from authenticate and types messages both ways', async () => {
    const users: string[] = []
    const { url, sockets: server } = await serve({
      authenticate: (req) => (req.headers['x-user'] ? { name: String(req.headers['x-user']) } : false),
      parse: (text) => JSON.parse(text) as { text: string },
      onConnect: (client) => {
        expectTypeOf(client.user).toEqualTypeOf<{ name: string }>()
        users.push(client.user.name)
      },
      onMessage: (message) => {
        expectTypeOf(message).toEqualTypeOf<{ text: string }>()
      },
    })
    expectTypeOf(server).toEqualTypeOf<SocketServer<unknown, { name: string }>>()
    await connect(url, { headers: { 'x-user': 'grace' } })
    await expect.poll(() => users).toEqual(['grace'])
  })

  it('validates its options with errors that name the option', () => {
    expect(() => createSocketServer({ maxPayload: 0 })).toThrow(/maxPayload/)
    expect(() => createSocketServer({ maxBufferedBytes: -1 })).toThrow(/maxBufferedBytes/)
    expect(() => createSocketServer({ heartbeat: { interval: 0.5 } })).toThrow(/heartbeat.interval/)
    expect(() => createSocketServer({ path: 'ws' })).toThrow(/path/)
  })
})
