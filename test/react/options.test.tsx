// The client's options reach the client through each hook at run time (method, headers, body,
// retry, parse, schema, done, serialize, protocols ...), and the notification callbacks (onOpen,
// onError) are read from a ref: the latest one is called and a new identity never reconnects.
// Real node:http and ws servers on 127.0.0.1:0.

import { useEventStream, useNdjson, useSocket } from '@sluice/react'
import { act, cleanup, render, screen, waitFor } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { z } from 'zod'
import { type SocketServer, type StreamServer, startSocketServer, startStreamServer } from './helpers.js'

let server: StreamServer | undefined
let sockets: SocketServer | undefined

afterEach(async () => {
  cleanup() // testing-library only registers its own cleanup when Vitest globals are on
  await server?.close()
  await sockets?.close()
  server = undefined
  sockets = undefined
})

const text = (id: string) => screen.getByTestId(id).textContent
const fast = { initialDelay: 20, maxDelay: 60 }
const Row = z.object({ id: z.number().int() })
const Tick = z.object({ n: z.number() })

function Numbers({ url, retry }: { url: string; retry: false | typeof fast }) {
  const { data, status, error } = useEventStream(url, {
    throttle: 0,
    retry,
    schema: z.coerce.number().int(),
    reduce: (sum: number, message) => sum + message.data,
    initialState: 0,
  })
  return <p data-testid="numbers">{`${status} ${data} ${error ? `${error.name}: ${error.message}` : '-'}`}</p>
}

function Callbacks({ url, label, log }: { url: string; label: string; log: string[] }) {
  const { status } = useEventStream(url, {
    throttle: 0,
    retry: fast,
    schema: z.string().regex(/^ok/),
    onOpen: () => log.push(`${label}:open`),
    onError: (error) => log.push(`${label}:${error.name}`),
  })
  return <p data-testid="callbacks">{status}</p>
}

function Limited({ url, max }: { url: string; max: number }) {
  // A new schema object on every render, written inline as users do.
  const { data, error } = useEventStream(url, { throttle: 0, schema: z.number().max(max) })
  return <p data-testid="limited">{`${data ?? '-'} ${error ? error.name : '-'}`}</p>
}

function Search({ url, errors }: { url: string; errors: string[] }) {
  const { data, status } = useNdjson<{ id: number; seen: true }>(url, {
    method: 'POST',
    headers: { 'x-query': 'abc' },
    body: JSON.stringify({ q: 'abc' }),
    retry: false,
    throttle: 0,
    parse: (value) => ({ ...(value as { id: number }), seen: true as const }),
    schema: Row.extend({ seen: z.literal(true) }),
    onError: (error) => errors.push(`${error.name}: ${error.message}`),
  })
  return <p data-testid="search">{`${status} ${data.map((row) => row.id).join(',')}`}</p>
}

function Ticks({ url }: { url: string }) {
  const { data, status, error, send } = useSocket<z.infer<typeof Tick>, string, number>(url, {
    WebSocket,
    protocols: ['ticks.v1'],
    throttle: 0,
    schema: Tick,
    serialize: (command) => JSON.stringify({ command }),
    reduce: (total, tick) => total + tick.n,
    initialState: 0,
  })
  return (
    <div>
      <p data-testid="ticks">{`${status} ${data} ${error ? error.name : '-'}`}</p>
      <button type="button" onClick={() => send('start')}>
        start
      </button>
    </div>
  )
}

test('useEventStream: schema validates each message (an invalid one is a ValidationError, the stream goes on); retry: false ends on a drop', async () => {
  server = await startStreamServer({
    onStream: (s) => {
      s.send('1')
      s.send('x')
      s.send('2')
    },
  })
  render(<Numbers url={server.url} retry={false} />)
  await waitFor(() => expect(text('numbers')).toMatch(/^open 3 ValidationError: /))
  server.drop()
  await waitFor(() => expect(text('numbers')).toMatch(/^closed 3 /))
  // A short wait only to show that no reconnection follows.
  await new Promise((resolve) => setTimeout(resolve, 100))
  expect(server.accepted.length).toBe(1)
})

test('useEventStream: with retry the stream comes back after a drop, folding on', async () => {
  let n = 0
  server = await startStreamServer({ onStream: (s) => s.send(String(++n * 10)) })
  render(<Numbers url={server.url} retry={fast} />)
  await waitFor(() => expect(text('numbers')).toBe('open 10 -'))
  server.drop()
  await waitFor(() => expect(text('numbers')).toBe('open 30 -'))
  expect(server.accepted.length).toBe(2)
})

test('onOpen and onError: the latest callbacks are called, and new identities never reconnect', async () => {
  let n = 0
  server = await startStreamServer({ onStream: (s) => s.send(++n === 1 ? '"ok"' : '"bad"') })
  const log: string[] = []
  const view = render(<Callbacks url={server.url} label="first" log={log} />)
  await waitFor(() => expect(log).toEqual(['first:open']))
  view.rerender(<Callbacks url={server.url} label="second" log={log} />)
  view.rerender(<Callbacks url={server.url} label="third" log={log} />)
  expect(server.accepted.length).toBe(1)
  // The server drops; the reconnection opens (onOpen) and its message fails the schema (onError).
  server.drop()
  await waitFor(() => expect(log).toContain('third:ValidationError'))
  // The drop is a network error (a SluiceError) reported before the retry; all by the latest callbacks.
  expect(log).toEqual(['first:open', 'third:SluiceError', 'third:open', 'third:ValidationError'])
  expect(server.accepted.length).toBe(2)
})

test('useNdjson: method, headers and body reach the server; parse then schema run on each item', async () => {
  let body = ''
  server = await startStreamServer({
    kind: 'ndjson',
    onStream: (s) => {
      s.req.on('data', (chunk: Buffer) => {
        body += chunk
      })
      s.req.on('end', () => s.res.end('{"id":1}\n{"id":2}\n{"id":"three"}\n{"id":4}\n'))
    },
  })
  const errors: string[] = []
  render(<Search url={`${server.url}/search`} errors={errors} />)
  await waitFor(() => expect(text('search')).toMatch(/^closed /))
  // The invalid item is reported (onError) and skipped; the items around it are delivered.
  expect(text('search')).toBe('closed 1,2,4')
  expect(errors).toHaveLength(1)
  expect(errors[0]).toMatch(/^ValidationError: /)
  const request = server.accepted[0]
  expect(request?.req.method).toBe('POST')
  expect(request?.headers['x-query']).toBe('abc')
  expect(JSON.parse(body)).toEqual({ q: 'abc' })
})

test('useSocket: protocols, serialize and schema reach the client', async () => {
  sockets = await startSocketServer({
    onMessage: (socket, value) => {
      if ((value as { command?: string }).command !== 'start') return
      for (const tick of [{ n: 1 }, { n: 'two' }, { n: 3 }]) socket.send(JSON.stringify(tick))
    },
  })
  render(<Ticks url={sockets.url} />)
  await waitFor(() => expect(text('ticks')).toBe('open 0 -'))
  act(() => screen.getByText('start').click())
  await waitFor(() => expect(text('ticks')).toBe('open 4 ValidationError'))
  expect(sockets.received).toEqual([{ command: 'start' }])
  expect([...sockets.live].map((socket) => socket.protocol)).toEqual(['ticks.v1'])
})

test('an inline schema (a new object every render) never reconnects, and the latest one validates', async () => {
  server = await startStreamServer()
  const view = render(<Limited url={server.url} max={10} />)
  const stream = await server.nth(1)
  stream.send('5')
  await waitFor(() => expect(text('limited')).toBe('5 -'))
  view.rerender(<Limited url={server.url} max={100} />)
  stream.send('50') // over the first schema's max, within the latest one's
  await waitFor(() => expect(text('limited')).toBe('50 -'))
  view.rerender(<Limited url={server.url} max={1} />)
  stream.send('7')
  await waitFor(() => expect(text('limited')).toBe('50 ValidationError'))
  expect(server.accepted.length).toBe(1)
})
