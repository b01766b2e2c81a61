// @vitest-environment jsdom
// useNdjson and useSocket through shared definitions, against real servers on 127.0.0.1:0: the
// hooks hand the definition to the client, which validates on receipt; the socket server validates
// what the page sends.

import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defineEvents, type SluiceError, ValidationError } from '@sluice/client'
import { useNdjson, useSocket } from '@sluice/react'
import { createSocketServer, sendNdjson, typedEnvelope } from '@sluice/server-kit'
import { act, cleanup, render, screen, waitFor } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { z } from 'zod'

const progress = defineEvents({
  step: z.object({ pct: z.number().min(0).max(100) }),
  log: z.string(),
})

const chat = {
  client: defineEvents({ say: z.object({ text: z.string().min(1) }) }),
  server: defineEvents({ said: z.object({ text: z.string() }) }),
}

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  cleanup()
  for (const close of closers.splice(0)) await close()
})

const progressErrors: SluiceError[] = []

function Progress({ url }: { url: string }) {
  const { data, status } = useNdjson(url, {
    events: progress,
    throttle: 0,
    onError: (error) => progressErrors.push(error),
    reduce: (state: { pct: number; logs: string[] }, item) =>
      item.type === 'step' ? { ...state, pct: item.data.pct } : { ...state, logs: [...state.logs, item.data] },
    initialState: { pct: 0, logs: [] },
  })
  return (
    <p data-testid="progress" data-status={status}>
      {data.pct}% {data.logs.join('|')}
    </p>
  )
}

test('useNdjson with a definition folds validated envelopes; a bad line is reported with its type, not delivered', async () => {
  const http = createServer((req, res) => {
    void sendNdjson(req, res, [
      typedEnvelope(progress, 'log', 'start'),
      typedEnvelope(progress, 'step', { pct: 40 }),
      typedEnvelope(progress, 'step', { pct: 400 }, { validate: false }),
      typedEnvelope(progress, 'step', { pct: 100 }),
    ])
  })
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  closers.push(async () => {
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })
  render(<Progress url={`http://127.0.0.1:${(http.address() as AddressInfo).port}/`} />)
  await waitFor(() => expect(screen.getByTestId('progress').getAttribute('data-status')).toBe('closed'))
  // 400 % never reached the state; the error went to onError, naming the event type.
  expect(screen.getByTestId('progress').textContent).toBe('100% start')
  expect(progressErrors).toHaveLength(1)
  expect(progressErrors[0]).toBeInstanceOf(ValidationError)
  expect((progressErrors[0] as ValidationError).event).toBe('step')
})

function Room({ url }: { url: string }) {
  const { data, status, send } = useSocket(url, {
    WebSocket,
    events: chat,
    throttle: 0,
    reduce: (lines: string[], message) => [...lines, message.data.text],
    initialState: [],
  })
  return (
    <div>
      <p data-testid="room-status">{status}</p>
      <ul data-testid="lines">
        {data.map((line, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines are append-only
          <li key={i}>{line}</li>
        ))}
      </ul>
      <button type="button" onClick={() => send({ type: 'say', data: { text: 'hello' } })}>
        say
      </button>
    </div>
  )
}

test('useSocket with both definitions: the page sends the client definition, receives the server one', async () => {
  const http = createServer()
  const received: unknown[] = []
  const sockets = createSocketServer({
    server: http,
    path: '/room',
    events: chat,
    heartbeat: false,
    onMessage: (message) => {
      received.push(message)
      sockets.broadcast({ type: 'said', data: { text: `echo: ${message.data.text}` } })
    },
  })
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  closers.push(async () => {
    await sockets.close()
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })
  render(<Room url={`ws://127.0.0.1:${(http.address() as AddressInfo).port}/room`} />)
  await waitFor(() => expect(screen.getByTestId('room-status').textContent).toBe('open'))
  act(() => screen.getByRole('button', { name: 'say' }).click())
  await waitFor(() => expect(screen.getByTestId('lines').textContent).toBe('echo: hello'))
  expect(received).toEqual([{ type: 'say', data: { text: 'hello' } }])
})
