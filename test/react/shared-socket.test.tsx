// One heartbeat per shared socket: three components with one `key` run one ping interval, where
// three unshared ones run three (which shows the count measures what it claims). Real ws server on
// 127.0.0.1:0 that answers pings.

import { useSocket } from '@sluice/react'
import { cleanup, render, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { WebSocket } from 'ws'
import { type SocketServer, startSocketServer, trackTimers } from './helpers.js'

let server: SocketServer

beforeEach(async () => {
  server = await startSocketServer({
    onMessage: (socket, value) => {
      if ((value as { type?: string }).type === 'ping') socket.send(JSON.stringify({ type: 'pong' }))
    },
  })
})
afterEach(async () => {
  vi.restoreAllMocks()
  cleanup() // testing-library only registers its own cleanup when Vitest globals are on
  await server.close()
})

// An interval no other timer in this file uses, so the ping intervals can be told apart.
const PING_MS = 37

function Member({ url, id, shared }: { url: string; id: string; shared: boolean }) {
  const { status } = useSocket(url, {
    WebSocket,
    throttle: 0,
    heartbeat: { interval: PING_MS, timeout: 1000 },
    ...(shared ? { key: 'shared-heartbeat' } : {}),
  })
  return <p data-testid={id}>{status}</p>
}

function Three({ url, shared }: { url: string; shared: boolean }) {
  return (
    <>
      {['a', 'b', 'c'].map((id) => (
        <Member key={id} id={id} url={url} shared={shared} />
      ))}
    </>
  )
}

const pingIntervals = (timers: ReturnType<typeof trackTimers>) =>
  timers.pending(0).filter((delay) => delay === PING_MS).length

test.each([
  [true, 1],
  [false, 3],
])('shared %s: three components run %i heartbeat(s) and open as many sockets', async (shared, expected) => {
  const timers = trackTimers()
  const view = render(<Three url={server.url} shared={shared} />)
  for (const id of ['a', 'b', 'c']) await waitFor(() => expect(screen.getByTestId(id).textContent).toBe('open'))
  await waitFor(() => expect(server.received.length).toBeGreaterThanOrEqual(3 * expected))
  expect(pingIntervals(timers)).toBe(expected)
  expect(server.opened).toBe(expected)
  view.unmount()
  await waitFor(() => expect(server.live.size).toBe(0))
  expect(pingIntervals(timers)).toBe(0)
})
