import { useSocket } from '@sluice/react'
import { act, cleanup, render, screen, waitFor } from '@testing-library/react'
import { StrictMode, useState } from 'react'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { WebSocket } from 'ws'
import { ErrorBoundary } from './boundary.js'
import { activeResources, expectResourcesBackTo, type SocketServer, startSocketServer, trackTimers } from './helpers.js'

type Msg = { n: number }

let server: SocketServer
let baseline: Record<string, number>

beforeEach(async () => {
  baseline = activeResources()
  server = await startSocketServer({
    // Echo, and answer the heartbeat's pings so the shared-key test sees them counted once.
    onMessage: (socket, value) => {
      const reply = (value as { type?: string }).type === 'ping' ? { type: 'pong' } : value
      socket.send(JSON.stringify(reply))
    },
  })
})
afterEach(async () => {
  vi.restoreAllMocks()
  cleanup() // testing-library only registers its own cleanup when Vitest globals are on
  await server.close()
})

const heartbeat = { interval: 40, timeout: 1000 }

function Echo({ url, id = 'echo', socketKey }: { url: string | null; id?: string; socketKey?: string }) {
  const { status, data, send } = useSocket<Msg, Msg>(url, {
    WebSocket,
    throttle: 0,
    ...(socketKey === undefined ? {} : { key: socketKey, heartbeat }),
  })
  return (
    <div>
      <p data-testid={`${id}-status`}>{status}</p>
      <p data-testid={`${id}-data`}>{data === undefined ? '-' : String(data.n)}</p>
      <button type="button" onClick={() => send({ n: 42 })}>
        send-{id}
      </button>
    </div>
  )
}

let sendFromIdle: (() => void) | undefined
function Idle() {
  const { status, send } = useSocket<Msg, Msg>(null, { WebSocket })
  sendFromIdle = () => send({ n: 1 })
  return <p data-testid="idle-status">{status}</p>
}

function Shared({ url }: { url: string }) {
  const [count, setCount] = useState(3)
  return (
    <>
      <button type="button" onClick={() => setCount((c) => c - 1)}>
        fewer
      </button>
      {['a', 'b', 'c'].slice(0, count).map((id) => (
        <Echo key={id} id={id} url={url} socketKey="chat" />
      ))}
    </>
  )
}

function WithProtocols({ url, protocols }: { url: string; protocols: string[] }) {
  useSocket(url, { WebSocket, key: 'k', protocols })
  return null
}

const text = (id: string) => screen.getByTestId(id).textContent

describe('useSocket', () => {
  test('opens, receives what it sends, and unmount leaves no connection, timer or socket', async () => {
    const view = render(<Echo url={server.url} />)
    expect(text('echo-status')).toBe('connecting')
    await waitFor(() => expect(text('echo-status')).toBe('open'))
    act(() => screen.getByText('send-echo').click())
    await waitFor(() => expect(text('echo-data')).toBe('42'))
    expect(server.received).toEqual([{ n: 42 }])

    view.unmount()
    await waitFor(() => expect(server.live.size).toBe(0))
    expect(server.opened).toBe(1)
    await server.close()
    await expectResourcesBackTo(baseline)
  })

  test('<StrictMode> double mount opens exactly one server connection', async () => {
    const view = render(
      <StrictMode>
        <Echo url={server.url} />
      </StrictMode>,
    )
    await waitFor(() => expect(text('echo-status')).toBe('open'))
    expect(server.opened).toBe(1)
    expect(server.live.size).toBe(1)
    view.unmount()
    await waitFor(() => expect(server.live.size).toBe(0))
    expect(server.log).toEqual(['open /', 'close /'])
  })

  test('url null is idle and opens nothing; send() then throws a TypeError that says why', () => {
    render(<Idle />)
    expect(text('idle-status')).toBe('idle')
    expect(() => sendFromIdle?.()).toThrow(/no connection: the url is null/)
    expect(server.opened).toBe(0)
  })

  test('three components sharing a key share one socket and one heartbeat; the last unmount closes it', async () => {
    const timers = trackTimers()
    const view = render(<Shared url={server.url} />)
    for (const id of ['a', 'b', 'c']) await waitFor(() => expect(text(`${id}-status`)).toBe('open'))
    act(() => screen.getByText('send-b').click())
    for (const id of ['a', 'b', 'c']) await waitFor(() => expect(text(`${id}-data`)).toBe('42'))
    expect(server.opened).toBe(1)
    // The heartbeat runs on that one socket: its pings arrive, and the pongs are not delivered as data.
    await waitFor(() =>
      expect(server.received.filter((m) => (m as { type?: string }).type === 'ping').length).toBeGreaterThanOrEqual(3),
    )
    expect(server.opened).toBe(1)
    expect(text('a-data')).toBe('42')

    act(() => screen.getByText('fewer').click())
    act(() => screen.getByText('fewer').click())
    // Two of three unmounted: the connection stays for the last one.
    expect(screen.queryByTestId('b-status')).toBeNull()
    act(() => screen.getByText('send-a').click())
    expect(server.live.size).toBe(1)
    expect(text('a-status')).toBe('open')

    view.unmount()
    await waitFor(() => expect(server.live.size).toBe(0))
    expect(server.opened).toBe(1)
    // The heartbeat's interval and pong timer went with the socket.
    expect(timers.pending(0)).toEqual([])
  })

  test('the same key with different connection options is a clear error in development', async () => {
    // React logs the error it hands to the boundary; the assertion is on the boundary's text.
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    render(
      <ErrorBoundary>
        <WithProtocols url={server.url} protocols={['one']} />
        <WithProtocols url={server.url} protocols={['two']} />
      </ErrorBoundary>,
    )
    const alert = await screen.findByRole('alert')
    expect(alert.textContent).toMatch(
      /TypeError: useSocket: key "k" is already used by a connection with different options/,
    )
    expect(alert.textContent).toMatch(/"protocols":\["one"\]/)
    expect(alert.textContent).toMatch(/"protocols":\["two"\]/)
    spy.mockRestore()
  })

  test('in production the same key with different options gets its own connection instead of a mix-up', async () => {
    vi.stubEnv('NODE_ENV', 'production')
    try {
      render(
        <ErrorBoundary>
          <WithProtocols url={server.url} protocols={['one']} />
          <WithProtocols url={server.url} protocols={['two']} />
        </ErrorBoundary>,
      )
      await waitFor(() => expect(server.live.size).toBe(2))
      expect(screen.queryByRole('alert')).toBeNull()
      expect([...server.live].map((socket) => socket.protocol).sort()).toEqual(['one', 'two'])
    } finally {
      vi.unstubAllEnvs()
    }
  })
})
