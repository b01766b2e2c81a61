// Type tests (the typed project's typecheck): one definition types both ends. Narrowing on the
// event type, compile errors for a wrong event name or payload, with zod and valibot schemas.

import {
  createEventStream,
  createNdjsonStream,
  createSocket,
  defineEvents,
  type EventDefinition,
  type EventEnvelope,
  type TypedEventMessage,
} from '@sluice/client'
import { useEventStream, useNdjson, useSocket } from '@sluice/react'
import {
  createChannel,
  createResumableStreams,
  createSocketServer,
  type SocketClient,
  typedChannel,
  typedEnvelope,
  typedEvent,
} from '@sluice/server-kit'
import * as v from 'valibot'
import { describe, expectTypeOf, test } from 'vitest'
import { WebSocket } from 'ws'
import { z } from 'zod'

const ticker = defineEvents({
  tick: z.object({ n: z.number() }),
  done: z.object({}),
})

const progress = defineEvents(
  {
    step: v.object({ pct: v.number() }),
    log: v.string(),
    at: v.pipe(
      v.string(),
      v.transform((s) => new Date(s)),
    ),
  },
  { discriminator: 'kind' },
)

const chat = {
  client: defineEvents({ say: z.object({ text: z.string() }) }),
  server: defineEvents({ said: z.object({ from: z.string(), text: z.string() }), joined: z.string() }),
}

describe('defineEvents', () => {
  test('keeps the event names and the discriminator as literal types', () => {
    expectTypeOf(ticker.events).toEqualTypeOf<readonly string[]>()
    expectTypeOf<keyof typeof ticker.schemas>().toEqualTypeOf<'tick' | 'done'>()
    expectTypeOf(ticker.discriminator).toEqualTypeOf<'type'>()
    expectTypeOf(progress.discriminator).toEqualTypeOf<'kind'>()
    expectTypeOf(ticker).toExtend<EventDefinition>()
  })
})

describe('client', () => {
  test('createEventStream with a definition yields a union narrowed by event', () => {
    const stream = createEventStream('http://127.0.0.1/ticks', { events: ticker })
    expectTypeOf(stream.getSnapshot().data).toEqualTypeOf<{ n: number } | Record<string, never> | undefined>()
    stream.listen((message) => {
      expectTypeOf(message).toEqualTypeOf<TypedEventMessage<typeof ticker>>()
      if (message.event === 'tick') expectTypeOf(message.data).toEqualTypeOf<{ n: number }>()
      else {
        expectTypeOf(message.event).toEqualTypeOf<'done'>()
        // @ts-expect-error `done` carries no `n`
        message.data satisfies { n: number }
      }
    })
    // @ts-expect-error `parse` does not apply to a typed stream (the schemas decide)
    createEventStream('http://127.0.0.1/ticks', { events: ticker, parse: (d: string) => d })
  })

  test('output types follow the schema (valibot transform): Date on receipt', () => {
    const stream = createNdjsonStream('http://127.0.0.1/progress', { events: progress })
    stream.listen((message) => {
      expectTypeOf(message).toEqualTypeOf<EventEnvelope<typeof progress>>()
      if (message.kind === 'at') expectTypeOf(message.data).toEqualTypeOf<Date>()
      if (message.kind === 'step') expectTypeOf(message.data.pct).toEqualTypeOf<number>()
      // @ts-expect-error the discriminator is `kind` for this definition
      message.type
    })
  })

  test('createSocket: receives the server definition, sends the client definition', () => {
    const socket = createSocket('ws://127.0.0.1/chat', { WebSocket, events: chat })
    socket.send({ type: 'say', data: { text: 'hi' } })
    // @ts-expect-error `said` is what the server sends, not the client
    socket.send({ type: 'said', data: { from: 'a', text: 'hi' } })
    // @ts-expect-error wrong payload
    socket.send({ type: 'say', data: { text: 1 } })
    socket.listen((message) => {
      if (message.type === 'said') expectTypeOf(message.data).toEqualTypeOf<{ from: string; text: string }>()
      else expectTypeOf(message.data).toEqualTypeOf<string>()
    })
  })
})

describe('server', () => {
  test('typedChannel: publish is checked by event name and payload', () => {
    const ticks = typedChannel(ticker, createChannel())
    expectTypeOf(ticks.publish('tick', { n: 1 })).toEqualTypeOf<string>()
    ticks.publish('done', {})
    // @ts-expect-error unknown event name
    ticks.publish('tock', { n: 1 })
    // @ts-expect-error wrong payload type
    ticks.publish('tick', { n: 'one' })
    // @ts-expect-error missing field
    ticks.publish('tick', {})
  })

  test('typedEvent and typedEnvelope use the schema input types', () => {
    expectTypeOf(typedEvent(ticker, 'tick', { n: 1 })).toExtend<{ event: 'tick'; data: { n: number } }>()
    // @ts-expect-error wrong payload
    typedEvent(ticker, 'tick', { n: '1' })
    // The input of the transform is a string; the client receives a Date.
    expectTypeOf(typedEnvelope(progress, 'at', '2026-01-01')).toExtend<{ kind: 'at'; data: string }>()
    // @ts-expect-error a Date is the output, not the input
    typedEnvelope(progress, 'at', new Date())
  })

  test('createSocketServer: onMessage gets the client definition, send takes the server one', () => {
    const server = createSocketServer({
      events: chat,
      onMessage: (message, client) => {
        expectTypeOf(message).toEqualTypeOf<EventEnvelope<typeof chat.client>>()
        expectTypeOf(message.data.text).toEqualTypeOf<string>()
        client.send({ type: 'said', data: { from: client.id, text: message.data.text } })
        // @ts-expect-error the server may not send what clients send
        client.send({ type: 'say', data: { text: 'x' } })
      },
    })
    server.broadcast({ type: 'joined', data: 'ada' })
    // @ts-expect-error wrong payload for `joined`
    server.broadcast({ type: 'joined', data: 1 })
    expectTypeOf(server.clients).toExtend<ReadonlySet<SocketClient<never, undefined>> | ReadonlySet<unknown>>()
  })

  test('createResumableStreams with a definition types the work', () => {
    const answer = defineEvents({ token: z.string(), usage: z.object({ tokens: z.number() }) })
    const streams = createResumableStreams({ events: answer })
    const request = new Request('http://127.0.0.1/')
    streams.start(request, async function* () {
      yield { event: 'token', data: 'Hello' }
      yield { event: 'usage', data: { tokens: 1 } }
    })
    // @ts-expect-error wrong payload for `usage`
    streams.start(request, async function* () {
      yield { event: 'usage', data: { tokens: 'one' } }
    })
    // @ts-expect-error an event type the definition does not name
    streams.start(request, () => [{ event: 'tokn', data: 'x' }])
  })
})

// Type-checked, never run (rules of hooks hold: a module-level hook function).
function useTicker() {
  const latest = useEventStream('/ticks', { events: ticker })
  expectTypeOf(latest.data).toEqualTypeOf<{ n: number } | Record<string, never> | undefined>()

  const total = useEventStream('/ticks', {
    events: ticker,
    reduce: (sum: number, message) => (message.event === 'tick' ? sum + message.data.n : sum),
    initialState: 0,
  })
  expectTypeOf(total.data).toEqualTypeOf<number>()
  return total
}

function useTypedNdjsonAndSocket() {
  const items = useNdjson('/progress', { events: progress })
  expectTypeOf(items.data).toEqualTypeOf<readonly EventEnvelope<typeof progress>[]>()
  const percent = useNdjson('/progress', {
    events: progress,
    reduce: (pct: number, item) => (item.kind === 'step' ? item.data.pct : pct),
    initialState: 0,
  })
  expectTypeOf(percent.data).toEqualTypeOf<number>()

  const room = useSocket('ws://127.0.0.1/chat', { WebSocket, events: chat })
  expectTypeOf(room.data).toEqualTypeOf<EventEnvelope<typeof chat.server> | undefined>()
  room.send({ type: 'say', data: { text: 'hi' } })
  // @ts-expect-error the client may only send what the client definition names
  room.send({ type: 'said', data: { from: 'a', text: 'b' } })
  const lines = useSocket('ws://127.0.0.1/chat', {
    WebSocket,
    events: chat,
    reduce: (all: string[], message) => (message.type === 'said' ? [...all, message.data.text] : all),
    initialState: [],
  })
  expectTypeOf(lines.data).toEqualTypeOf<string[]>()
  return [items, percent, room, lines]
}

describe('react', () => {
  test('useEventStream with a definition', () => {
    expectTypeOf(useTicker).returns.toHaveProperty('data')
  })
  test('useNdjson and useSocket with definitions', () => {
    expectTypeOf(useTypedNdjsonAndSocket).returns.toBeArray()
  })
})
