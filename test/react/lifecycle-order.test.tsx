// The lifecycle safeguards of the base hook, each shown by a test that fails without it:
// - the last member's leaving closes a connection one microtask later (a remount under the same key
//   in the same commit, and <StrictMode>'s simulated unmount, reuse it instead of opening another);
// - a URL change closes the old connection before the new one makes its request (SSE and sockets);
// - a store drops what a replaced connection still delivers (a delivery already on the stack) when
//   its state started over, and folds it when its state goes on, so no member loses that message;
// - a connection replacing a closed one resumes after the last message delivered.
// Real node:http and ws servers on 127.0.0.1:0; the order is recorded by a `fetch` / `WebSocket`
// that wraps the real one.

import type { EventStreamMessage, WebSocketConstructor } from '@sluice/client'
import { useEventStream, useSocket } from '@sluice/react'
import { act, cleanup, render, screen, waitFor } from '@testing-library/react'
import { StrictMode, useState } from 'react'
import { flushSync } from 'react-dom'
import { afterEach, expect, test, vi } from 'vitest'
import { WebSocket } from 'ws'
import { type SocketServer, type StreamServer, startSocketServer, startStreamServer } from './helpers.js'

let server: StreamServer | undefined

afterEach(async () => {
  vi.restoreAllMocks()
  cleanup() // testing-library only registers its own cleanup when Vitest globals are on
  await server?.close()
  server = undefined
})

const text = (id: string) => screen.getByTestId(id).textContent

/** A `fetch` over the real one that logs `fetch <path>` when called and `abort <path>` when its request is aborted. */
function recordingFetch(log: string[]): typeof fetch {
  return (input, init) => {
    const path = new URL(String(input)).pathname
    log.push(`fetch ${path}${init?.signal?.aborted ? ' (already aborted)' : ''}`)
    init?.signal?.addEventListener('abort', () => log.push(`abort ${path}`), { once: true })
    return fetch(input, init)
  }
}

/** A `WebSocket` (from `ws`) logging `new <path>` and the first `close <path>` of each socket. */
function recordingWebSocket(log: string[]): WebSocketConstructor {
  return class RecordingWebSocket extends WebSocket {
    readonly #path: string
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols)
      this.#path = new URL(String(address)).pathname
      log.push(`new ${this.#path}`)
    }
    override close(code?: number, reason?: string | Buffer): void {
      // Only the first call closes (partysocket and the transport may both ask).
      if (this.readyState < WebSocket.CLOSING) log.push(`close ${this.#path}`)
      super.close(code, reason)
    }
  }
}

const collect = (all: readonly string[], message: EventStreamMessage<string>) => [...all, message.data]
const NONE: readonly string[] = []

function Feed({ url, id }: { url: string; id: string }) {
  const { status, data } = useEventStream(url, { key: 'feed', throttle: 0, reduce: collect, initialState: NONE })
  return <p data-testid={id}>{`${status} ${data.join(',')}`}</p>
}

function GridFeed({ url }: { url: string }) {
  return <Feed url={url} id="grid" />
}

function Swap({ url }: { url: string }) {
  const [which, setWhich] = useState<'list' | 'grid'>('list')
  return (
    <>
      <button type="button" onClick={() => setWhich('grid')}>
        grid
      </button>
      {/* Two different component types: React unmounts one and mounts the other in the same commit. */}
      {which === 'list' ? <Feed url={url} id="list" /> : <GridFeed url={url} />}
    </>
  )
}

function Latest({ url, fetchImpl, pause = false }: { url: string; fetchImpl: typeof fetch; pause?: boolean }) {
  const { data } = useEventStream(url, { fetch: fetchImpl, throttle: 0, pauseWhenHidden: pause })
  return <p data-testid="latest">{data ?? '-'}</p>
}

function KeyedLatest({ url, id, fetchImpl }: { url: string; id: string; fetchImpl: typeof fetch }) {
  const { status, data } = useEventStream(url, { key: 'strict-shared', fetch: fetchImpl, throttle: 0 })
  return <p data-testid={id}>{`${status} ${data ?? '-'}`}</p>
}

function Chat({ url, WebSocketImpl }: { url: string; WebSocketImpl: WebSocketConstructor }) {
  const { status } = useSocket(url, { WebSocket: WebSocketImpl, throttle: 0 })
  return <p data-testid="chat">{`${new URL(url).pathname} ${status}`}</p>
}

function Member({ url, room, id, onMove }: { url: string; room: string; id: string; onMove?: () => void }) {
  const { data } = useEventStream(`${url}/${room}`, {
    key: `room:${room}`,
    throttle: 0,
    reduce: collect,
    initialState: NONE,
    onMessage: (message) => {
      if (message.data === 'move') onMove?.()
    },
  })
  return <p data-testid={id}>{`${room}: ${data.join(',')}`}</p>
}

function Rooms({ url }: { url: string }) {
  const [room, setRoom] = useState('a')
  // A synchronous re-render from inside the delivery of 'move': the effects for the new room run
  // (and both members attach to room b's connection) before the delivery reaches the second member.
  const move = () => flushSync(() => setRoom('b'))
  return (
    <>
      <Member url={url} room={room} id="first" onMove={move} />
      <Member url={url} room={room} id="second" />
    </>
  )
}

function Restartable({ url, id, restart = false }: { url: string; id: string; restart?: boolean }) {
  const { data, close, reconnect } = useEventStream(url, {
    key: 'restartable',
    throttle: 0,
    reduce: collect,
    initialState: NONE,
    onMessage: (message) => {
      if (restart && message.data === 'restart') {
        close()
        reconnect()
      }
    },
  })
  return <p data-testid={id}>{data.join(',')}</p>
}

test('a component replaced by another with the same key in one commit keeps the one server connection', async () => {
  server = await startStreamServer({ onStream: (s) => s.send('hello') })
  render(<Swap url={server.url} />)
  await waitFor(() => expect(text('list')).toBe('open hello'))
  act(() => screen.getByText('grid').click())
  // The newcomer joins the live connection: it is open at once and the server saw no new request.
  expect(text('grid')).toMatch(/^open/)
  const stream = await server.nth(1)
  stream.send('after')
  await waitFor(() => expect(text('grid')).toBe('open after'))
  expect(server.accepted.length).toBe(1)
  expect(server.log).toEqual(['open /'])
})

test('<StrictMode> double mount makes one request: the connection of the simulated mount is reused, not reopened', async () => {
  server = await startStreamServer({ onStream: (s) => s.send('hi') })
  const log: string[] = []
  const view = render(
    <StrictMode>
      <Latest url={`${server.url}/strict`} fetchImpl={recordingFetch(log)} />
    </StrictMode>,
  )
  await waitFor(() => expect(text('latest')).toBe('hi'))
  // Without the deferred close the first connection is closed and a second one created: the server
  // still sees one stream, but the user's fetch runs twice (once with an already aborted signal).
  expect(log).toEqual(['fetch /strict'])
  view.unmount()
  await waitFor(() => expect(server?.live.size).toBe(0))
  expect(log).toEqual(['fetch /strict', 'abort /strict'])
})

test('useEventStream: a URL change aborts the old request before the new one is made', async () => {
  server = await startStreamServer({ onStream: (s) => s.send(s.url.slice(1)) })
  const log: string[] = []
  const fetchImpl = recordingFetch(log)
  const view = render(<Latest url={`${server.url}/a`} fetchImpl={fetchImpl} />)
  await waitFor(() => expect(text('latest')).toBe('a'))
  view.rerender(<Latest url={`${server.url}/b`} fetchImpl={fetchImpl} />)
  await waitFor(() => expect(text('latest')).toBe('b'))
  expect(log).toEqual(['fetch /a', 'abort /a', 'fetch /b'])
})

test('useSocket: a URL change closes the old socket before the new one is constructed', async () => {
  const sockets: SocketServer = await startSocketServer()
  try {
    const log: string[] = []
    const WebSocketImpl = recordingWebSocket(log)
    const view = render(<Chat url={`${sockets.url}/a`} WebSocketImpl={WebSocketImpl} />)
    await waitFor(() => expect(text('chat')).toBe('/a open'))
    view.rerender(<Chat url={`${sockets.url}/b`} WebSocketImpl={WebSocketImpl} />)
    await waitFor(() => expect(text('chat')).toBe('/b open'))
    expect(log).toEqual(['new /a', 'close /a', 'new /b'])
    view.unmount()
    await waitFor(() => expect(sockets.live.size).toBe(0))
  } finally {
    await sockets.close()
  }
})

test('a shared connection replaced while it delivers (flushSync from onMessage) never writes into the new state', async () => {
  // Each room's stream says which room it is; room a then tells its listeners to move.
  server = await startStreamServer({
    onStream: (s) => {
      s.send(`${s.url.slice(1)}-1`)
      if (s.url === '/a') s.send('move')
    },
  })
  render(<Rooms url={server.url} />)
  await waitFor(() => expect(text('first')).toBe('b: b-1'))
  await waitFor(() => expect(text('second')).toBe('b: b-1'))
  // A short wait only to show that nothing of room a arrives late.
  await new Promise((resolve) => setTimeout(resolve, 50))
  expect(text('second')).toBe('b: b-1')
  expect(server.log.filter((line) => line.startsWith('open'))).toEqual(['open /a', 'open /b'])
})

test('close() then reconnect() from onMessage of a shared connection: every member folds that message once, and the new connection resumes after it', async () => {
  let n = 0
  server = await startStreamServer({
    onStream: (s) => {
      if (++n === 1) {
        s.send('m1', { id: '1' })
        s.send('restart', { id: '2' })
      } else s.send('m3', { id: '3' })
    },
  })
  render(
    <>
      <Restartable url={server.url} id="first" restart />
      <Restartable url={server.url} id="second" />
    </>,
  )
  await waitFor(() => expect(text('first')).toBe('m1,restart,m3'))
  // Dropped as "stale" before: the second member never folded 'restart'.
  await waitFor(() => expect(text('second')).toBe('m1,restart,m3'))
  // Was '1': the closed connection's snapshot had not taken 'restart''s id, so a server would send it again.
  expect(server.accepted[1]?.headers['last-event-id']).toBe('2')
})

test('pauseWhenHidden: unmount removes the visibilitychange listener; a later visibility change opens nothing', async () => {
  server = await startStreamServer({ onStream: (s) => s.send('hi') })
  const listeners = new Set<unknown>()
  const add = vi.spyOn(document, 'addEventListener')
  const remove = vi.spyOn(document, 'removeEventListener')
  const log: string[] = []
  const view = render(<Latest url={`${server.url}/paused`} fetchImpl={recordingFetch(log)} pause />)
  await waitFor(() => expect(text('latest')).toBe('hi'))
  for (const [type, listener] of add.mock.calls) if (type === 'visibilitychange') listeners.add(listener)
  expect(listeners.size).toBe(1)
  view.unmount()
  await waitFor(() => expect(server?.live.size).toBe(0))
  const removed = remove.mock.calls.filter(([type, listener]) => type === 'visibilitychange' && listeners.has(listener))
  expect(removed).toHaveLength(1)
  // Hidden then visible again: a leaked listener would open a new connection here.
  for (const state of ['hidden', 'visible'] as const) {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
    document.dispatchEvent(new Event('visibilitychange'))
  }
  await new Promise((resolve) => setTimeout(resolve, 50)) // only to show that nothing is requested
  expect(log).toEqual(['fetch /paused', 'abort /paused'])
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' })
})

test('<StrictMode> with a shared key: three components, one request, and unmount closes it', async () => {
  server = await startStreamServer({ onStream: (s) => s.send('hi') })
  const log: string[] = []
  const fetchImpl = recordingFetch(log)
  const view = render(
    <StrictMode>
      <KeyedLatest url={server.url} id="a" fetchImpl={fetchImpl} />
      <KeyedLatest url={server.url} id="b" fetchImpl={fetchImpl} />
      <KeyedLatest url={server.url} id="c" fetchImpl={fetchImpl} />
    </StrictMode>,
  )
  for (const id of ['a', 'b', 'c']) await waitFor(() => expect(text(id)).toBe('open hi'))
  expect(log).toEqual(['fetch /'])
  expect(server.accepted.length).toBe(1)
  view.unmount()
  await waitFor(() => expect(server?.live.size).toBe(0))
  expect(log).toEqual(['fetch /', 'abort /'])
})
