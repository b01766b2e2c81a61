// One definition, both ends, over NDJSON (a discriminator field) and WebSocket (both directions:
// what the client may send, what the server may send). Real servers on 127.0.0.1:0, real `ws`.

import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createNdjsonStream,
  createSocket,
  defineEvents,
  type EventEnvelope,
  type SluiceError,
  ValidationError,
} from '@sluice/client'
import { createSocketServer, SocketCloseCode, sendNdjson, typedEnvelope } from '@sluice/server-kit'
import * as v from 'valibot'
import { afterEach, describe, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { z } from 'zod'
import {
  nextMessages,
  ResourceWatch,
  startHttpServer,
  type TestHttpServer,
  waitForSnapshot,
} from '../client/helpers.js'

const progress = defineEvents(
  {
    step: v.object({ pct: v.pipe(v.number(), v.minValue(0), v.maxValue(100)) }),
    log: v.string(),
  },
  { discriminator: 'kind' },
)

const chat = {
  client: defineEvents({ say: z.object({ text: z.string().min(1) }) }),
  server: defineEvents({
    said: z.object({ from: z.string(), text: z.string() }),
    welcome: z.object({ clients: z.number().int() }),
  }),
}

let server: TestHttpServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('typed NDJSON', () => {
  test('envelopes keyed by the discriminator, validated on receipt; a bad one is reported with its type and skipped', async () => {
    server = await startHttpServer((req, res) => {
      void sendNdjson(req, res, [
        typedEnvelope(progress, 'log', 'starting'),
        typedEnvelope(progress, 'step', { pct: 50 }),
        // validate: false lets a bad payload out, as production would; the client catches it.
        typedEnvelope(progress, 'step', { pct: 150 }, { validate: false }),
        { kind: 'unknown-kind', data: 1 },
        { type: 'log', data: 'wrong discriminator' },
        typedEnvelope(progress, 'step', { pct: 100 }),
      ])
    })
    const seenErrors: SluiceError[] = []
    const stream = createNdjsonStream(`${server.url}/`, { events: progress, onError: (e) => seenErrors.push(e) })
    const messages: EventEnvelope<typeof progress>[] = await nextMessages(stream, 3)
    await waitForSnapshot(stream, (s) => s.status === 'closed', 'the end of the response')

    expect(messages).toEqual([
      { kind: 'log', data: 'starting' },
      { kind: 'step', data: { pct: 50 } },
      { kind: 'step', data: { pct: 100 } },
    ])
    const steps = messages.flatMap((m) => (m.kind === 'step' ? [m.data.pct] : []))
    expect(steps).toEqual([50, 100])
    // The out-of-range step, and the line without a `kind`: two ValidationErrors; the unknown kind is ignored.
    expect(seenErrors.map((e) => e.constructor)).toEqual([ValidationError, ValidationError])
    expect((seenErrors[0] as ValidationError).event).toBe('step')
    expect(seenErrors[0]?.message).toMatch(/event "step" failed schema validation/)
    expect(seenErrors[1]?.message).toMatch(/not an event envelope.*"kind"/)
  })

  test('typedEnvelope refuses a bad payload before it is written', () => {
    expect(() => typedEnvelope(progress, 'step', { pct: -1 })).toThrow(/Event "step" does not match its schema: pct: /)
    expect(() => typedEnvelope(progress, 'nope' as 'log', 'x')).toThrow(TypeError)
    expect(typedEnvelope(progress, 'log', 'x')).toEqual({ kind: 'log', data: 'x' })
  })
})

describe('typed WebSocket, both directions', () => {
  async function startChat() {
    const http = createServer()
    const received: unknown[] = []
    const closes: Array<{ code: number; reason: string }> = []
    const sockets = createSocketServer({
      server: http,
      path: '/chat',
      events: chat,
      heartbeat: false,
      onConnect: (client) => {
        client.send({ type: 'welcome', data: { clients: sockets.clientCount } })
      },
      onMessage: (message, client) => {
        received.push(message)
        sockets.broadcast({ type: 'said', data: { from: client.id, text: message.data.text } })
      },
      onClose: (_client, code, reason) => closes.push({ code, reason }),
    })
    http.listen(0, '127.0.0.1')
    await once(http, 'listening')
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/chat`
    return {
      url,
      sockets,
      received,
      closes,
      async close() {
        await sockets.close()
        http.closeAllConnections()
        await new Promise<void>((resolve) => http.close(() => resolve()))
      },
    }
  }

  test('the client sends its definition, the server validates it and answers with its own', async () => {
    const watch = new ResourceWatch()
    const endpoint = await startChat()
    const socket = createSocket(endpoint.url, { WebSocket, events: chat, retry: false })
    const [welcome] = await nextMessages(socket, 1)
    expect(welcome).toEqual({ type: 'welcome', data: { clients: 1 } })

    const answer = nextMessages(socket, 1)
    socket.send({ type: 'say', data: { text: 'hello' } })
    const [said] = await answer
    expect(endpoint.received).toEqual([{ type: 'say', data: { text: 'hello' } }])
    if (said?.type !== 'said') throw new Error(`expected a said message, got ${JSON.stringify(said)}`)
    expect(said.data.text).toBe('hello')

    socket.close()
    await endpoint.close()
    await watch.expectReleased()
  })

  test('an invalid client message closes that peer with 1007 and a reason naming the event type; onMessage never sees it', async () => {
    const endpoint = await startChat()
    const seenErrors: SluiceError[] = []
    // An untyped client (or a cast) gets past the compile-time check.
    const socket = createSocket(endpoint.url, { WebSocket, retry: false, onError: (e) => seenErrors.push(e) })
    await nextMessages(socket, 1) // welcome
    socket.send({ type: 'say', data: { text: '' } })
    await waitForSnapshot(socket, (s) => s.status === 'closed', 'the server closing the socket')
    expect(endpoint.received).toEqual([])
    await expect.poll(() => endpoint.closes.length).toBe(1)
    expect(endpoint.closes[0]?.code).toBe(SocketCloseCode.InvalidPayload)
    expect(endpoint.closes[0]?.reason).toMatch(/Invalid message: Event "say" does not match its schema: text: /)
    expect(seenErrors.some((e) => /1007/.test(e.message))).toBe(true)

    const unknown = createSocket(endpoint.url, { WebSocket, retry: false })
    await nextMessages(unknown, 1)
    unknown.send({ type: 'shout', data: { text: 'x' } })
    await waitForSnapshot(unknown, (s) => s.status === 'closed', 'the server closing the socket')
    await expect.poll(() => endpoint.closes.length).toBe(2)
    expect(endpoint.closes[1]?.reason).toMatch(/Unknown event type "shout"/)
    await endpoint.close()
  })

  test('the server cannot send a payload outside its definition; a client rejects one that slips through', async () => {
    const http = createServer()
    const loose = createSocketServer({
      server: http,
      path: '/chat',
      events: chat,
      heartbeat: false,
      validate: false,
      onConnect: (client) => {
        // Without validation a bad payload goes out (production default); the typed client catches it.
        client.send({ type: 'welcome', data: { clients: 1.5 } })
        client.send({ type: 'welcome', data: { clients: 2 } })
      },
    })
    http.listen(0, '127.0.0.1')
    await once(http, 'listening')
    const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/chat`
    const seenErrors: SluiceError[] = []
    const socket = createSocket(url, { WebSocket, events: chat, retry: false, onError: (e) => seenErrors.push(e) })
    const [first] = await nextMessages(socket, 1)
    expect(first).toEqual({ type: 'welcome', data: { clients: 2 } })
    expect(seenErrors).toHaveLength(1)
    expect((seenErrors[0] as ValidationError).event).toBe('welcome')

    // With validation (the development default), send() and broadcast() throw and write nothing.
    const strict = createSocketServer({ events: chat, heartbeat: false })
    expect(() => strict.broadcast({ type: 'said', data: { from: 1 } } as never)).toThrow(ValidationError)
    expect(() => strict.broadcast({ type: 'shout', data: {} } as never)).toThrow(/Unknown event type "shout"/)
    expect(strict.broadcast({ type: 'welcome', data: { clients: 0 } })).toBe(0)
    await strict.close()

    socket.close()
    await loose.close()
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })
})
