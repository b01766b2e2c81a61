// Type-level checks of the connection factories (run by `npm run typecheck`).
import {
  type ConnectionSnapshot,
  createEventStream,
  createNdjsonStream,
  createSocket,
  type EventStreamMessage,
  type SluiceError,
} from '@sluice/client'
import { expectTypeOf } from 'vitest'
import { WebSocket } from 'ws'
import { z } from 'zod'

const price = z.object({ symbol: z.string(), price: z.number() })

// SSE: raw strings by default; `schema` or `parse` type the data.
const raw = createEventStream('/events')
expectTypeOf(raw.getSnapshot()).toEqualTypeOf<ConnectionSnapshot<string>>()
const typed = createEventStream('/prices', { schema: price })
expectTypeOf(typed.getSnapshot().data).toEqualTypeOf<{ symbol: string; price: number } | undefined>()
typed.listen((message) => {
  expectTypeOf(message).toEqualTypeOf<EventStreamMessage<{ symbol: string; price: number }>>()
})
const parsed = createEventStream('/n', { parse: (data) => Number(data) })
expectTypeOf(parsed.getSnapshot().data).toEqualTypeOf<number | undefined>()
createEventStream<{ token: string }>('/chat', { parse: JSON.parse, done: (m) => m.data === '[DONE]' })
createEventStream('/e', {
  onError: (error) => expectTypeOf(error).toEqualTypeOf<SluiceError>(),
  retry: { maxAttempts: 3 },
})
// @ts-expect-error retry options are numbers
createEventStream('/e', { retry: { maxAttempts: '3' } })

// NDJSON: unknown by default; the resume hook gets the typed last item.
expectTypeOf(createNdjsonStream('/x').getSnapshot().data).toEqualTypeOf<unknown>()
createNdjsonStream('/logs', {
  schema: z.object({ seq: z.number() }),
  resume: (last) => {
    expectTypeOf(last).toEqualTypeOf<{ seq: number } | undefined>()
    return `/logs?after=${last?.seq ?? 0}`
  },
})

// WebSocket: receive and send types are separate; send is checked.
const chat = createSocket<{ text: string }, { type: 'say'; text: string }>('ws://x', { WebSocket })
chat.send({ type: 'say', text: 'hi' })
// @ts-expect-error wrong message shape
chat.send({ type: 'shout' })
for await (const message of chat) expectTypeOf(message).toEqualTypeOf<{ text: string }>()
