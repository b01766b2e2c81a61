import type { IncomingMessage, ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { StreamEndReason } from '@sluice/server-kit'
import { sendEventStream, sendNdjson, streamResponse } from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from './helpers.js'

const CHUNK = 16 * 1024
// What the kernel may hold for one loopback connection: the peer's receive buffer plus our send
// buffer (net.ipv4.tcp_rmem / tcp_wmem maxima are 32 MiB + 4 MiB here), plus Node's own 16 KiB
// writable highWaterMark. An unbounded producer would pass this in well under a second.
const KERNEL_AND_NODE_BOUND = 40 * 1024 * 1024

let server: TestServer | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await server?.close()
  server = undefined
})

/** A client that sends a request and then never reads a byte of the response. */
function stalledClient(url: string, path = '/'): Socket {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
  socket.pause()
  sockets.push(socket)
  return socket
}

/** Waits until `count()` has not changed for `quiet` ms: the producer is parked. */
async function waitUntilStable(count: () => number, quiet = 150): Promise<number> {
  let last = -1
  for (let round = 0; round < 100; round++) {
    const now = count()
    if (now === last) return now
    last = now
    await new Promise((resolve) => setTimeout(resolve, quiet))
  }
  throw new Error(`The producer never stopped (${count()} pulls)`)
}

describe('backpressure', () => {
  it('stops pulling the source while a client does not read, and keeps the server buffer bounded', async () => {
    let pulls = 0
    let response: ServerResponse | undefined
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      response = res
      return sendEventStream(
        req,
        res,
        function* () {
          for (;;) {
            pulls++
            yield { data: 'x'.repeat(CHUNK) }
          }
        },
        { keepAlive: 10, sendTimeout: false },
      )
    })
    const heapBefore = process.memoryUsage().heapUsed
    stalledClient(server.url)
    await waitFor('the response to fill up', () => response?.writableNeedDrain === true)
    const parked = await waitUntilStable(() => pulls)
    expect(parked * CHUNK).toBeLessThan(KERNEL_AND_NODE_BOUND)
    // The process holds no backlog either (the kernel holds what was sent; Node at most ~32 KiB).
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024)
    // Node's userland buffer holds at most its highWaterMark plus the one event that crossed it.
    const buffered = response!.writableLength
    expect(buffered).toBeLessThanOrEqual(16 * 1024 + CHUNK + 64)
    // Keepalives (every 10 ms) are never written into the full buffer.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(response!.writableLength).toBe(buffered)
    expect(pulls).toBe(parked)
  })

  it('ends the stream when a write cannot drain within sendTimeout, and runs the source finally', async () => {
    const reasons: StreamEndReason[] = []
    let finallyRan = false
    let response: ServerResponse | undefined
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      response = res
      return sendNdjson(
        req,
        res,
        (function* () {
          try {
            for (let n = 0; ; n++) yield { n, pad: 'x'.repeat(CHUNK) }
          } finally {
            finallyRan = true
          }
        })(),
        { sendTimeout: 200, onClose: (reason) => reasons.push(reason) },
      )
    })
    stalledClient(server.url)
    await waitFor('the stream to end', () => reasons.length === 1)
    expect(reasons).toEqual(['send-timeout'])
    expect(finallyRan).toBe(true)
    expect(response?.destroyed).toBe(true)
  })

  it('bounds the final flush too: a shutdown of a stalled client aborts it after sendTimeout', async () => {
    const shutdown = new AbortController()
    const reasons: StreamEndReason[] = []
    const settled: string[] = []
    let response: ServerResponse | undefined
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      response = res
      void sendEventStream(
        req,
        res,
        function* () {
          for (;;) yield { data: 'x'.repeat(CHUNK) }
        },
        { signal: shutdown.signal, sendTimeout: 300, onClose: (reason) => reasons.push(reason) },
      ).then(() => settled.push('resolved'))
    })
    stalledClient(server.url)
    await waitFor('the response to fill up', () => response?.writableNeedDrain === true)
    shutdown.abort()
    // The retry: and the end cannot reach a client that reads nothing; the flush is abandoned.
    await waitFor('the stream to end', () => settled.length === 1)
    expect(reasons).toEqual(['shutdown'])
    expect(response?.destroyed).toBe(true)
  })

  it('holds through the Request -> Response adapter: the Fetch source is parked too', async () => {
    let pulls = 0
    server = await createTestServer((request: Request) =>
      streamResponse(request, async function* () {
        for (;;) {
          pulls++
          yield new Uint8Array(CHUNK)
        }
      }),
    )
    stalledClient(server.url)
    await waitFor('the producer to start', () => pulls > 0)
    const parked = await waitUntilStable(() => pulls)
    expect(parked * CHUNK).toBeLessThan(KERNEL_AND_NODE_BOUND)
  })

  it('keeps pulling as soon as a slow reader catches up (bounded, never stuck)', async () => {
    let pulls = 0
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(req, res, function* () {
        for (let n = 0; n < 2_000; n++) {
          pulls++
          yield { data: 'y'.repeat(CHUNK) }
        }
      }),
    )
    const socket = stalledClient(server.url)
    await waitUntilStable(() => pulls)
    const parked = pulls
    expect(parked).toBeLessThan(2_000)
    let received = 0
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
    })
    socket.resume()
    await waitFor('every event to be sent', () => pulls === 2_000, 10_000)
    await waitFor('the client to receive them', () => received >= 2_000 * CHUNK, 10_000)
  })
})
