import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSocketServer, SocketCloseCode } from '@sluice/server-kit'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'

// In a file of its own: Vitest forks one process per file, so the resource baseline below holds
// nothing left over from other tests (ws close timers, closing sockets).

const isTimerOrSocket = (name: string) => name === 'Timeout' || name.startsWith('TCP')

/**
 * Timers and TCP handles still active, once they had up to ~1 s to go (a closed socket releases its
 * handle on a later turn). Checked after each wait, so the waiting timer itself is never counted.
 */
async function remainingTimersAndSockets(kinds: (name: string) => boolean = isTimerOrSocket): Promise<string[]> {
  let active: string[] = []
  for (let attempt = 0; attempt < 100; attempt++) {
    active = process.getActiveResourcesInfo().filter(kinds)
    if (active.length === 0) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return active
}

/** A raw HTTP upgrade request; resolves with the status and whether the protocol switched. */
function rawUpgrade(port: number, path: string): Promise<{ status: number; upgraded: boolean }> {
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
      },
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode ?? 0, upgraded: true })
    })
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upgraded: false }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('createSocketServer close()', () => {
  it('ends every socket with 1001, refuses pending upgrades with 503, detaches, and leaves nothing running', async () => {
    let releaseAuth: () => void = () => undefined
    const authGate = new Promise<void>((resolve) => {
      releaseAuth = resolve
    })
    let slowAuthStarted: () => void = () => undefined
    const authStarted = new Promise<void>((resolve) => {
      slowAuthStarted = resolve
    })
    const server = createServer((_req, res) => res.end('plain http'))
    const sockets = createSocketServer({
      server,
      heartbeat: { interval: 1000 },
      authenticate: async (req) => {
        if (req.url === '/slow') {
          slowAuthStarted()
          await authGate
        }
        return true
      },
    })
    expect(server.listenerCount('upgrade')).toBe(1)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo

    const clients = await Promise.all(
      [1, 2, 3].map(async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
        const closed = new Promise<{ code: number; reason: string }>((resolve) => {
          ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
        })
        await once(ws, 'open')
        // Wrapped: an async function returning the promise itself would wait for the close.
        return { closed }
      }),
    )
    const pending = rawUpgrade(port, '/slow')
    await authStarted
    await expect.poll(() => sockets.clientCount).toBe(3)

    const closing = sockets.close()
    expect(sockets.close()).toBe(closing)
    // Detached at once: the server's upgrade event no longer reaches it.
    expect(server.listenerCount('upgrade')).toBe(0)
    releaseAuth()
    await closing
    for (const { closed } of clients) {
      expect(await closed).toEqual({ code: SocketCloseCode.GoingAway, reason: 'Server shutting down' })
    }
    // An upgrade that was being authenticated when close() began is refused, not accepted.
    expect(await pending).toEqual({ status: 503, upgraded: false })
    expect(sockets.clientCount).toBe(0)

    await new Promise<void>((resolve) => server.close(() => resolve()))
    // The heartbeat interval, the close timeout, the server and every socket are gone.
    expect(await remainingTimersAndSockets()).toEqual([])
  })

  it('runs the heartbeat timer only while clients are connected', async () => {
    const server = createServer((_req, res) => res.end())
    const sockets = createSocketServer({ server, heartbeat: { interval: 60_000 } })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    const isTimer = (name: string) => name === 'Timeout'
    const timers = () => process.getActiveResourcesInfo().filter(isTimer)
    // Whatever the previous test left closing is gone first.
    expect(await remainingTimersAndSockets(isTimer)).toEqual([])
    const peers = await Promise.all(
      [1, 2].map(async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
        await once(ws, 'open')
        return ws
      }),
    )
    await expect.poll(() => sockets.clientCount).toBe(2)
    expect(timers()).toEqual(['Timeout'])
    for (const ws of peers) ws.close(1000)
    await expect.poll(() => sockets.clientCount).toBe(0)
    expect(await remainingTimersAndSockets(isTimer)).toEqual([])
    await sockets.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    expect(await remainingTimersAndSockets()).toEqual([])
  })
})
