import { HttpError } from '@sluice/client'
import { type StreamStatus, type UseEventStreamOptions, useEventStream } from '@sluice/react'
import { act, cleanup, render, screen, waitFor } from '@testing-library/react'
import { StrictMode } from 'react'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { ErrorBoundary } from './boundary.js'
import { activeResources, expectResourcesBackTo, type StreamServer, startStreamServer, trackTimers } from './helpers.js'

const fast = { initialDelay: 20, maxDelay: 60 }
const text = (id: string) => screen.getByTestId(id).textContent

let server: StreamServer
let baseline: Record<string, number>

beforeEach(async () => {
  baseline = activeResources()
})
afterEach(async () => {
  vi.restoreAllMocks()
  cleanup() // testing-library only registers its own cleanup when Vitest globals are on
  await server.close()
  setVisibility('visible')
})

/** Renders status, data, error and attempt, and records every status it rendered. */
const statuses: StreamStatus[] = []
function Stream({ url, options = {} }: { url: string | null; options?: UseEventStreamOptions }) {
  const { status, data, error, attempt, close, reconnect, lastEventId } = useEventStream(url, {
    throttle: 0,
    ...options,
  })
  if (statuses.at(-1) !== status) statuses.push(status)
  return (
    <div>
      <p data-testid="status">{status}</p>
      <p data-testid="data">{data ?? '-'}</p>
      <p data-testid="error">{error ? `${error.name} ${error.message}` : '-'}</p>
      <p data-testid="attempt">{attempt}</p>
      <p data-testid="last-id">{lastEventId}</p>
      <button type="button" onClick={close}>
        close
      </button>
      <button type="button" onClick={reconnect}>
        reconnect
      </button>
    </div>
  )
}

const joinData = (all: string, m: { data: string }) => (all ? `${all},${m.data}` : m.data)
function Joined({ url }: { url: string }) {
  const { data, status, close, reconnect } = useEventStream(url, {
    reduce: joinData,
    initialState: '',
    throttle: 0,
  })
  return (
    <div>
      <p data-testid="status">{status}</p>
      <p data-testid="data">{data}</p>
      <button type="button" onClick={close}>
        close
      </button>
      <button type="button" onClick={reconnect}>
        reconnect
      </button>
    </div>
  )
}

function Reducing({ url }: { url: string }) {
  useEventStream(url, {
    reduce: (_s: number, m) => {
      throw new RangeError(`cannot fold ${m.data}`)
    },
    initialState: 0,
  })
  return <p>ok</p>
}

function Answer({ url, prompt }: { url: string; prompt: string }) {
  const { data, status, error, close } = useEventStream(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
    done: (message) => message.data === '[DONE]',
    parse: (d) => (JSON.parse(d) as { token: string }).token,
    reduce: (answer: string, message) => answer + message.data,
    initialState: '',
  })
  return (
    <section>
      <p data-testid="answer">{data}</p>
      <p data-testid="status">{status}</p>
      <p data-testid="error">{error?.message ?? '-'}</p>
      {status === 'open' && (
        <button type="button" onClick={close}>
          Stop
        </button>
      )}
    </section>
  )
}

function KeyedFeed({ url, id }: { url: string; id: string }) {
  // A new inline options object on every render, as users write it.
  const { status, data } = useEventStream(url, {
    key: 'feed',
    headers: { 'x-feed': '1' },
    throttle: 0,
  })
  return <p data-testid={id}>{`${status} ${data ?? '-'}`}</p>
}

describe('useEventStream lifecycle', () => {
  test('connecting -> open -> reconnecting -> open -> closed as the server drops, comes back, and close() ends it', async () => {
    let n = 0
    server = await startStreamServer({ onStream: (s) => s.send(`m${++n}`, { id: String(n) }) })
    statuses.length = 0
    render(<Stream url={`${server.url}/feed`} options={{ retry: fast }} />)
    expect(text('status')).toBe('connecting')
    await waitFor(() => expect(text('status')).toBe('open'))
    await waitFor(() => expect(text('data')).toBe('m1'))

    await server.stop()
    await waitFor(() => expect(Number(text('attempt'))).toBeGreaterThanOrEqual(2))
    expect(['reconnecting', 'connecting']).toContain(text('status'))
    expect(text('data')).toBe('m1') // what was received stays while reconnecting
    await server.restart()
    await waitFor(() => expect(text('data')).toBe('m2'))
    expect(text('status')).toBe('open')
    // The reconnection resumed from the last event ID.
    expect(server.accepted[1]?.headers['last-event-id']).toBe('1')

    act(() => screen.getByText('close').click())
    expect(text('status')).toBe('closed')
    await waitFor(() => expect(server.live.size).toBe(0))

    const order = ['connecting', 'open', 'reconnecting', 'open', 'closed']
    let at = 0
    for (const status of statuses) if (status === order[at]) at++
    expect({ statuses, matched: at }).toEqual({ statuses, matched: order.length })
  })

  test.each([5000, 'frame'] as const)(
    'unmount closes the server connection, leaves no timer, frame, socket or listener, and nothing runs after it (throttle %s)',
    async (throttle) => {
      server = await startStreamServer({
        onStream: (s) => {
          const timer = setInterval(() => s.send('hi'), 5)
          void s.closed.then(() => clearInterval(timer))
        },
      })
      // Animation frames are not handles Node can list: track the ones requested and not yet run
      // or cancelled. (A throttle timer of 5 s would outlive the resource check below if leaked.)
      const frames = new Set<number>()
      const requestFrame = globalThis.requestAnimationFrame
      const cancelFrame = globalThis.cancelAnimationFrame
      vi.spyOn(globalThis, 'requestAnimationFrame').mockImplementation((callback) => {
        const id = requestFrame((time) => {
          frames.delete(id)
          callback(time)
        })
        frames.add(id)
        return id
      })
      vi.spyOn(globalThis, 'cancelAnimationFrame').mockImplementation((id) => {
        frames.delete(id)
        cancelFrame(id)
      })
      const timers = trackTimers()
      let handled = 0
      const view = render(
        <Stream
          url={server.url}
          options={{
            retry: fast,
            idleTimeout: 5000,
            throttle,
            onMessage: () => {
              handled++
            },
          }}
        />,
      )
      await waitFor(() => expect(handled).toBeGreaterThan(3))
      view.unmount()
      expect(frames.size).toBe(0)
      const atUnmount = handled
      await waitFor(() => expect(server.live.size).toBe(0))
      // The throttle timer (up to 5 s) and the client's idle timer (5 s) are gone with the hook.
      expect(timers.pending(2000)).toEqual([])
      await new Promise((resolve) => setTimeout(resolve, 50)) // only to show that no message is handled after unmount
      expect(handled).toBe(atUnmount)
      // The stream is gone server-side; with the server closed too (it drops the idle socket
      // Node's fetch opens after an abort), anything still active is the client's.
      await server.close()
      await expectResourcesBackTo(baseline)
    },
  )

  test('<StrictMode> double mount: the server sees exactly one connection, and unmount closes it', async () => {
    server = await startStreamServer({ onStream: (s) => s.send('hi') })
    const consoleError = vi.spyOn(console, 'error')
    const view = render(
      <StrictMode>
        <Stream url={`${server.url}/strict`} />
      </StrictMode>,
    )
    await waitFor(() => expect(text('data')).toBe('hi'))
    // A short wait only to show that no second connection follows.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(server.accepted.length).toBe(1)
    expect(consoleError).not.toHaveBeenCalled()
    view.unmount()
    await waitFor(() => expect(server.log).toEqual(['open /strict', 'close /strict']))
    expect(consoleError).not.toHaveBeenCalled()
    consoleError.mockRestore()
  })

  test('url null and enabled: false are idle and open nothing; enabling connects', async () => {
    server = await startStreamServer({ onStream: (s) => s.send('hi') })
    const view = render(<Stream url={null} />)
    expect(text('status')).toBe('idle')
    view.rerender(<Stream url={server.url} options={{ enabled: false }} />)
    expect(text('status')).toBe('idle')
    await new Promise((resolve) => setTimeout(resolve, 50)) // only to show that nothing is requested
    expect(server.accepted.length).toBe(0)
    view.rerender(<Stream url={server.url} options={{ enabled: true }} />)
    await waitFor(() => expect(text('data')).toBe('hi'))
    view.rerender(<Stream url={server.url} options={{ enabled: false }} />)
    expect(text('status')).toBe('idle')
    await waitFor(() => expect(server.live.size).toBe(0))
  })
})

describe('what reconnects and what does not', () => {
  test('a URL change closes the old connection before the new one opens, and the old one never writes into the new state', async () => {
    const timers = new Set<ReturnType<typeof setInterval>>()
    server = await startStreamServer({
      onStream: (s) => {
        // Each stream keeps talking, labelled with its path, until the client leaves.
        let i = 0
        const timer = setInterval(() => s.send(`${s.url.slice(1)}-${++i}`), 5)
        timers.add(timer)
        void s.closed.then(() => clearInterval(timer))
      },
    })
    const seen: string[] = []
    const view = render(<Stream url={`${server.url}/a`} options={{ onMessage: (m) => seen.push(m.data) }} />)
    await waitFor(() => expect(text('data')).toMatch(/^a-[3-9]/))
    view.rerender(<Stream url={`${server.url}/b`} options={{ onMessage: (m) => seen.push(`after:${m.data}`) }} />)
    // The first render for the new URL already shows the new connection's initial state.
    expect(text('status')).toBe('connecting')
    expect(text('data')).toBe('-')
    await waitFor(() => expect(text('data')).toMatch(/^b-[3-9]/))
    expect(server.log).toEqual(['open /a', 'close /a', 'open /b'])
    expect(seen.filter((m) => m.startsWith('after:a'))).toEqual([])
    expect(seen.filter((m) => m.startsWith('after:')).every((m) => m.startsWith('after:b'))).toBe(true)
    view.unmount()
    await waitFor(() => expect(server.live.size).toBe(0))
    for (const timer of timers) clearInterval(timer)
  })

  test('new options objects and callbacks with the same values never reconnect; the latest callback is the one called', async () => {
    server = await startStreamServer()
    const calls: string[] = []
    const options = (label: string): UseEventStreamOptions => ({
      method: 'POST',
      headers: { 'X-Token': 'a', accept: 'text/event-stream' },
      body: JSON.stringify({ q: 'same' }),
      retryNonIdempotent: true,
      retry: { ...fast },
      onMessage: (m) => calls.push(`${label}:${m.data}`),
      parse: (d) => d.toUpperCase(),
    })
    const view = render(<Stream url={server.url} options={options('first')} />)
    const stream = await server.nth(1)
    stream.send('one')
    await waitFor(() => expect(text('data')).toBe('ONE'))
    for (const label of ['second', 'third']) view.rerender(<Stream url={server.url} options={options(label)} />)
    stream.send('two')
    await waitFor(() => expect(text('data')).toBe('TWO'))
    expect(calls).toEqual(['first:ONE', 'third:TWO'])
    expect(server.accepted.length).toBe(1)
    expect(server.live.size).toBe(1)
  })

  test('headers, body and method changed by value reconnect (old connection closed first)', async () => {
    server = await startStreamServer({ onStream: (s) => s.send(String(s.headers['x-token'])) })
    const view = render(<Stream url={server.url} options={{ headers: { 'x-token': 'a' } }} />)
    await waitFor(() => expect(text('data')).toBe('a'))
    // Same value, other spelling and container: no reconnect.
    view.rerender(<Stream url={server.url} options={{ headers: new Headers({ 'X-Token': 'a' }) }} />)
    view.rerender(<Stream url={server.url} options={{ headers: [['x-token', 'a']] }} />)
    await new Promise((resolve) => setTimeout(resolve, 50)) // only to show that nothing is requested
    expect(server.accepted.length).toBe(1)

    view.rerender(<Stream url={server.url} options={{ headers: { 'x-token': 'b' } }} />)
    await waitFor(() => expect(text('data')).toBe('b'))
    expect(server.log).toEqual(['open /', 'close /', 'open /'])

    view.rerender(
      <Stream
        url={server.url}
        options={{ headers: { 'x-token': 'b' }, method: 'POST', body: JSON.stringify({ q: 1 }) }}
      />,
    )
    await waitFor(() => expect(server.accepted.length).toBe(3))
    expect(server.accepted[2]?.req.method).toBe('POST')
    view.rerender(
      <Stream
        url={server.url}
        options={{ headers: { 'x-token': 'b' }, method: 'POST', body: JSON.stringify({ q: 1 }) }}
      />,
    )
    view.rerender(
      <Stream
        url={server.url}
        options={{ headers: { 'x-token': 'b' }, method: 'POST', body: JSON.stringify({ q: 2 }) }}
      />,
    )
    await waitFor(() => expect(server.accepted.length).toBe(4))
    await waitFor(() => expect(server.live.size).toBe(1))
  })
})

describe('shared by key', () => {
  test('three components with one key open one server connection; a late one starts from the latest data', async () => {
    server = await startStreamServer()
    const view = render(
      <>
        <KeyedFeed url={server.url} id="a" />
        <KeyedFeed url={server.url} id="b" />
      </>,
    )
    const stream = await server.nth(1)
    stream.send('one')
    await waitFor(() => expect(text('b')).toBe('open one'))
    expect(text('a')).toBe('open one')
    view.rerender(
      <>
        <KeyedFeed url={server.url} id="a" />
        <KeyedFeed url={server.url} id="b" />
        <KeyedFeed url={server.url} id="c" />
      </>,
    )
    await waitFor(() => expect(text('c')).toBe('open one'))
    stream.send('two')
    for (const id of ['a', 'b', 'c']) await waitFor(() => expect(text(id)).toBe('open two'))
    expect(server.accepted.length).toBe(1)
    view.rerender(<KeyedFeed url={server.url} id="c" />)
    await new Promise((resolve) => setTimeout(resolve, 50)) // only to show that the connection stays
    expect(server.live.size).toBe(1)
    view.unmount()
    await waitFor(() => expect(server.live.size).toBe(0))
    expect(server.accepted.length).toBe(1)
  })
})

describe('close, reconnect, hidden pages and errors', () => {
  test('reconnect() after close() opens a new connection that resumes from lastEventId and keeps the reduced data', async () => {
    let n = 0
    server = await startStreamServer({ onStream: (s) => s.send(`m${++n}`, { id: `id-${n}` }) })
    render(<Joined url={server.url} />)
    await waitFor(() => expect(text('data')).toBe('m1'))
    act(() => screen.getByText('close').click())
    expect(text('status')).toBe('closed')
    await waitFor(() => expect(server.live.size).toBe(0))
    act(() => screen.getByText('reconnect').click())
    await waitFor(() => expect(text('data')).toBe('m1,m2'))
    expect(text('status')).toBe('open')
    expect(server.accepted[1]?.headers['last-event-id']).toBe('id-1')
    // reconnect() on an open connection restarts it (the old attempt is dropped first).
    act(() => screen.getByText('reconnect').click())
    await waitFor(() => expect(text('data')).toBe('m1,m2,m3'))
    expect(server.log).toEqual(['open /', 'close /', 'open /', 'close /', 'open /'])
    expect(server.accepted[2]?.headers['last-event-id']).toBe('id-2')
  })

  test('a hidden page keeps its connection by default; pauseWhenHidden closes it (idle) and resumes when visible', async () => {
    let n = 0
    server = await startStreamServer({ onStream: (s) => s.send(`m${++n}`, { id: String(n) }) })
    const view = render(<Stream url={server.url} />)
    await waitFor(() => expect(text('data')).toBe('m1'))
    act(() => setVisibility('hidden'))
    await new Promise((resolve) => setTimeout(resolve, 50)) // only to show that nothing closes
    expect(server.live.size).toBe(1)
    expect(text('status')).toBe('open')
    act(() => setVisibility('visible'))
    view.unmount()
    await waitFor(() => expect(server.live.size).toBe(0))

    render(<Stream url={server.url} options={{ pauseWhenHidden: true }} />)
    await waitFor(() => expect(text('data')).toBe('m2'))
    act(() => setVisibility('hidden'))
    expect(text('status')).toBe('idle')
    expect(text('data')).toBe('m2')
    await waitFor(() => expect(server.live.size).toBe(0))
    act(() => setVisibility('visible'))
    await waitFor(() => expect(text('data')).toBe('m3'))
    expect(text('status')).toBe('open')
    expect(server.accepted[2]?.headers['last-event-id']).toBe('2')
    expect(server.live.size).toBe(1)
  })

  test('a fatal error shows on the state and is thrown to the error boundary only with throwOnError', async () => {
    server = await startStreamServer({
      intercept: (_req, res) => {
        res.writeHead(401).end()
        return true
      },
    })
    render(<Stream url={`${server.url}/a`} />)
    await waitFor(() => expect(text('status')).toBe('closed'))
    expect(text('error')).toBe('HttpError HTTP 401 Unauthorized')
    cleanup()

    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    render(
      <ErrorBoundary>
        <Stream url={`${server.url}/b`} options={{ throwOnError: (error) => error instanceof HttpError }} />
      </ErrorBoundary>,
    )
    expect((await screen.findByRole('alert')).textContent).toBe('HttpError: HTTP 401 Unauthorized')
    consoleError.mockRestore()
  })

  test('errors while reconnecting are never thrown, even with throwOnError', async () => {
    let n = 0
    server = await startStreamServer({
      intercept: (_req, res) => {
        if (++n > 2) return false
        res.writeHead(503).end()
        return true
      },
      onStream: (s) => s.send('finally'),
    })
    render(
      <ErrorBoundary>
        <Stream url={server.url} options={{ throwOnError: true, retry: fast }} />
      </ErrorBoundary>,
    )
    await waitFor(() => expect(text('data')).toBe('finally'))
    expect(screen.queryByRole('alert')).toBeNull()
    expect(n).toBe(3)
  })

  test('an exception in reduce reaches the error boundary instead of breaking the connection loop', async () => {
    server = await startStreamServer({ onStream: (s) => s.send('boom') })
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    render(
      <ErrorBoundary>
        <Reducing url={server.url} />
      </ErrorBoundary>,
    )
    expect((await screen.findByRole('alert')).textContent).toBe('RangeError: cannot fold boom')
    await waitFor(() => expect(server.live.size).toBe(0))
    consoleError.mockRestore()
  })
})

describe('an LLM-style POST token stream', () => {
  test('the body reaches the server, every token is folded, [DONE] ends it cleanly', async () => {
    let body = ''
    server = await startStreamServer({
      onStream: (s) => {
        s.req.on('data', (chunk: Buffer) => {
          body += chunk
        })
        s.req.on('end', () => {
          const tokens = 'The quick brown fox'.split(' ')
          for (const [i, token] of tokens.entries()) s.send(JSON.stringify({ token: i === 0 ? token : ` ${token}` }))
          s.send('[DONE]')
        })
      },
    })
    render(<Answer url={`${server.url}/chat`} prompt="hello" />)
    await waitFor(() => expect(text('status')).toBe('closed'))
    expect(text('answer')).toBe('The quick brown fox')
    expect(text('error')).toBe('-')
    expect(JSON.parse(body)).toEqual({ prompt: 'hello' })
    expect(server.accepted.length).toBe(1)
  })

  test('Stop closes the stream mid-answer; the server sees the client leave', async () => {
    server = await startStreamServer({
      onStream: (s) => {
        let i = 0
        const timer = setInterval(() => s.send(JSON.stringify({ token: `t${i++} ` })), 5)
        void s.closed.then(() => clearInterval(timer))
      },
    })
    render(<Answer url={`${server.url}/chat`} prompt="long" />)
    await waitFor(() => expect(text('answer')).toMatch(/t3 /))
    act(() => screen.getByText('Stop').click())
    expect(text('status')).toBe('closed')
    const stopped = text('answer')
    await waitFor(() => expect(server.live.size).toBe(0))
    expect(text('answer')).toBe(stopped)
    expect(server.accepted.length).toBe(1)
  })
})

function setVisibility(state: 'visible' | 'hidden'): void {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' })
  document.dispatchEvent(new Event('visibilitychange'))
}
