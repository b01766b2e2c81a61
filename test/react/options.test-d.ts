// Type tests: every hook accepts the client's options (all of them, by type), so nothing a user can
// pass to createEventStream / createNdjsonStream / createSocket is lost on the way through a hook.

import type {
  EventStreamMessage,
  EventStreamOptions,
  NdjsonStreamOptions,
  RetryOptions,
  SluiceError,
  SocketOptions,
} from '@sluice/client'
import {
  type UseEventStreamOptions,
  type UseNdjsonOptions,
  type UseSocketOptions,
  useEventStream,
  useNdjson,
  useSocket,
} from '@sluice/react'
import { describe, expectTypeOf, test } from 'vitest'
import { WebSocket } from 'ws'
import { z } from 'zod'

const Tick = z.object({ n: z.number() })
type Tick = z.infer<typeof Tick>
const retry: RetryOptions = { initialDelay: 100, maxDelay: 5000, maxAttempts: 10 }

function useEveryEventStreamOption() {
  const result = useEventStream('/chat', {
    method: 'POST',
    headers: { authorization: 'Bearer t' },
    body: JSON.stringify({ prompt: 'hi' }),
    credentials: 'include',
    fetch: globalThis.fetch,
    retry,
    retryNonIdempotent: true,
    idleTimeout: 30_000,
    lastEventId: '41',
    maxMessageSize: 1 << 20,
    parse: (data) => JSON.parse(data) as Tick,
    schema: Tick,
    done: (message) => message.data === '[DONE]',
    onOpen: () => undefined,
    onError: (error) => expectTypeOf(error).toEqualTypeOf<SluiceError>(),
    onMessage: (message) => expectTypeOf(message).toEqualTypeOf<EventStreamMessage<Tick>>(),
  })
  expectTypeOf(result.data).toEqualTypeOf<Tick | undefined>()
  // @ts-expect-error method is a string
  useEventStream('/x', { method: 1 })
  // @ts-expect-error retry is RetryOptions or false
  useEventStream('/x', { retry: 'always' })
}

function useEveryNdjsonOption() {
  const result = useNdjson('/rows', {
    method: 'POST',
    headers: [['x-q', '1']],
    body: new URLSearchParams({ q: 'a' }),
    retry: false,
    parse: (value) => value as Tick,
    schema: Tick,
    maxLineSize: 4096,
    skipInvalidLines: true,
    contentTypes: ['application/x-ndjson'],
    onError: () => undefined,
  })
  expectTypeOf(result.data).toEqualTypeOf<readonly Tick[]>()
  // @ts-expect-error maxLineSize is a number
  useNdjson('/rows', { maxLineSize: '4k' })
}

function useEverySocketOption() {
  const result = useSocket<Tick, { say: string }>('ws://x', {
    WebSocket,
    protocols: ['v1'],
    parse: (raw) => JSON.parse(String(raw)) as Tick,
    schema: Tick,
    serialize: (data) => JSON.stringify(data),
    maxQueueSize: 10,
    heartbeat: { interval: 25_000, timeout: 10_000 },
    connectTimeout: 5000,
    retry,
    onOpen: () => undefined,
  })
  expectTypeOf(result.data).toEqualTypeOf<Tick | undefined>()
  // @ts-expect-error serialize takes TSend
  useSocket<Tick, { say: string }>('ws://x', { serialize: (data: number) => String(data) })
}

describe('client options pass through the hooks by type', () => {
  test('useEventStream accepts every EventStreamOptions member', () => {
    expectTypeOf<Omit<EventStreamOptions<Tick>, 'onMessage'>>().toExtend<UseEventStreamOptions<Tick>>()
    expectTypeOf(useEveryEventStreamOption).toBeFunction()
  })
  test('useNdjson accepts every NdjsonStreamOptions member', () => {
    expectTypeOf<Omit<NdjsonStreamOptions<Tick>, 'onMessage'>>().toExtend<UseNdjsonOptions<Tick>>()
    expectTypeOf(useEveryNdjsonOption).toBeFunction()
  })
  test('useSocket accepts every SocketOptions member (parse narrowed to return the received type)', () => {
    expectTypeOf<Omit<SocketOptions<Tick, string>, 'onMessage' | 'parse'>>().toExtend<UseSocketOptions<Tick, string>>()
    expectTypeOf(useEverySocketOption).toBeFunction()
  })
})
