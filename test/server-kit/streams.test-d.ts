/** Type tests for the stream helpers' public types, checked by `tsc -p tsconfig.json` (never run). */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { EventMessage, StreamContext, StreamEndReason } from '@sluice/server-kit'
import {
  createChannel,
  eventStreamResponse,
  ndjsonResponse,
  sendEventStream,
  sendNdjson,
  sendStream,
  streamResponse,
} from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { expectTypeOf } from 'vitest'

declare const req: IncomingMessage
declare const res: ServerResponse
declare const request: Request

// A channel subscription is a source as it is, on both sinks.
const channel = createChannel<{ text: string }>()
expectTypeOf(sendEventStream(req, res, (ctx) => channel.subscribe(ctx))).toEqualTypeOf<Promise<void>>()
expectTypeOf(
  eventStreamResponse(request, ({ lastEventId, signal }) => channel.subscribe({ lastEventId, signal })),
).toEqualTypeOf<Response>()

// The context carries the sink's own request type.
void sendEventStream(req, res, (ctx) => {
  expectTypeOf(ctx).toEqualTypeOf<StreamContext<IncomingMessage>>()
  expectTypeOf(ctx.lastEventId).toEqualTypeOf<string | undefined>()
  expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>()
  return []
})
eventStreamResponse(request, (ctx) => {
  expectTypeOf(ctx.request).toEqualTypeOf<Request>()
  return []
})

// SSE sources yield message objects (sync, async, or a promise of one); not bare strings.
void sendEventStream(req, res, async function* () {
  yield { event: 'tick', id: '1', data: { n: 1 } } satisfies EventMessage
})
void sendEventStream(req, res, async () => [{ data: 'from a promise' }])
// @ts-expect-error a string is not a message: yield { data: 'text' }
void sendEventStream(req, res, ['text'])
// @ts-expect-error `id` must be a string
void sendEventStream(req, res, [{ id: 1, data: 'x' }])

// onError returns a string, a message or undefined; onClose gets the reason.
void sendEventStream(req, res, [], {
  onError: () => ({ data: { message: 'failed' } }),
  onClose: (reason) => expectTypeOf(reason).toEqualTypeOf<StreamEndReason>(),
})
// @ts-expect-error onError cannot return a number for SSE
void sendEventStream(req, res, [], { onError: () => 42 })

// NDJSON takes any value; plain streams take strings or bytes only.
void sendNdjson<{ row: number }>(req, res, [{ row: 1 }])
// @ts-expect-error the declared item type is enforced
void sendNdjson<{ row: number }>(req, res, [{ row: 'one' }])
expectTypeOf(ndjsonResponse(request, [1, 'two', null])).toEqualTypeOf<Response>()
void sendStream(req, res, ['text', new Uint8Array(1)])
// @ts-expect-error numbers are not chunks
streamResponse(request, [1, 2])

// The test client: messages and values are typed.
declare const server: TestServer
async function typedClient() {
  for await (const message of server.events('/')) expectTypeOf(message.data).toEqualTypeOf<string>()
  for await (const row of server.ndjson<{ row: number }>('/')) expectTypeOf(row.row).toEqualTypeOf<number>()
  const socket = await server.websocket('/ws')
  expectTypeOf(await socket.receiveJson<{ ok: boolean }>()).toEqualTypeOf<{ ok: boolean }>()
  expectTypeOf(await socket.receive()).toEqualTypeOf<string | Uint8Array>()
}
void typedClient
void createTestServer
