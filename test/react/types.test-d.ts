// Type tests (run by the react project's typecheck): `data` is typed from `parse`, `schema` and
// `reduce`. The hooks are called inside module-level hook functions so the rules of hooks hold;
// they are type-checked, never run.

import type { EventStreamMessage, SluiceError } from '@sluice/client'
import { type StreamResult, type StreamStatus, useEventStream, useNdjson, useSocket } from '@sluice/react'
import { describe, expectTypeOf, test } from 'vitest'
import { z } from 'zod'

const Tick = z.object({ n: z.number() })
type Tick = z.infer<typeof Tick>

function useEventStreamTypes() {
  const plain = useEventStream('/sse')
  expectTypeOf(plain.data).toEqualTypeOf<string | undefined>()

  const parsed = useEventStream('/sse', { parse: (data) => Number(data) })
  expectTypeOf(parsed.data).toEqualTypeOf<number | undefined>()

  const validated = useEventStream('/sse', { schema: Tick })
  expectTypeOf(validated.data).toEqualTypeOf<Tick | undefined>()

  const reduced = useEventStream('/sse', {
    schema: Tick,
    reduce: (ticks: Tick[], message) => {
      expectTypeOf(message).toEqualTypeOf<EventStreamMessage<Tick>>()
      return [...ticks, message.data]
    },
    initialState: [],
  })
  expectTypeOf(reduced.data).toEqualTypeOf<Tick[]>()

  const tokens = useEventStream('/chat', {
    method: 'POST',
    body: '{}',
    done: (message) => message.data === '[DONE]',
    parse: (data) => (JSON.parse(data) as { token: string }).token,
    reduce: (text: string, message) => text + message.data,
    initialState: '',
  })
  expectTypeOf(tokens.data).toEqualTypeOf<string>()

  // @ts-expect-error reduce needs an initialState
  useEventStream('/sse', { reduce: (n: number) => n + 1 })
  // @ts-expect-error the reducer's state and initialState must agree
  useEventStream('/sse', { reduce: (n: number) => n + 1, initialState: 'zero' })
}

function useNdjsonTypes() {
  const plain = useNdjson('/rows')
  expectTypeOf(plain.data).toEqualTypeOf<readonly unknown[]>()

  const typed = useNdjson<Tick>('/rows', { maxItems: 100 })
  expectTypeOf(typed.data).toEqualTypeOf<readonly Tick[]>()

  const parsed = useNdjson('/rows', { parse: (value) => String(value) })
  expectTypeOf(parsed.data).toEqualTypeOf<readonly string[]>()

  const validated = useNdjson('/rows', { schema: Tick })
  expectTypeOf(validated.data).toEqualTypeOf<readonly Tick[]>()

  const reduced = useNdjson('/rows', {
    schema: Tick,
    reduce: (sum: number, item) => {
      expectTypeOf(item).toEqualTypeOf<Tick>()
      return sum + item.n
    },
    initialState: 0,
  })
  expectTypeOf(reduced.data).toEqualTypeOf<number>()
}

function useSocketTypes() {
  const plain = useSocket('wss://x')
  expectTypeOf(plain.data).toEqualTypeOf<unknown>()

  const typed = useSocket<Tick, { say: string }>('wss://x')
  expectTypeOf(typed.data).toEqualTypeOf<Tick | undefined>()
  expectTypeOf(typed.send).parameter(0).toEqualTypeOf<{ say: string }>()
  // @ts-expect-error send() only takes TSend
  typed.send({ shout: 'x' })

  const parsed = useSocket('wss://x', { parse: (raw) => String(raw).length })
  expectTypeOf(parsed.data).toEqualTypeOf<number | undefined>()

  const validated = useSocket('wss://x', { schema: Tick })
  expectTypeOf(validated.data).toEqualTypeOf<Tick | undefined>()

  const counted = useSocket('wss://x', {
    schema: Tick,
    reduce: (total: number, message) => {
      expectTypeOf(message).toEqualTypeOf<Tick>()
      return total + message.n
    },
    initialState: 0,
  })
  expectTypeOf(counted.data).toEqualTypeOf<number>()
}

describe('data types', () => {
  test('useEventStream: from parse, schema and reduce', () => {
    expectTypeOf(useEventStreamTypes).toBeFunction()
  })
  test('useNdjson: an item array by default, typed from T, parse and schema; reduce replaces it', () => {
    expectTypeOf(useNdjsonTypes).toBeFunction()
  })
  test('useSocket: from TReceive, parse, schema and reduce; send takes TSend', () => {
    expectTypeOf(useSocketTypes).toBeFunction()
  })
  test('the result: status includes idle, error is a SluiceError, close and reconnect take nothing', () => {
    expectTypeOf<StreamResult<number>['status']>().toEqualTypeOf<StreamStatus>()
    expectTypeOf<'idle'>().toExtend<StreamStatus>()
    expectTypeOf<StreamResult<number>['error']>().toEqualTypeOf<SluiceError | undefined>()
    expectTypeOf<StreamResult<number>['close']>().toEqualTypeOf<() => void>()
    expectTypeOf<StreamResult<number>['reconnect']>().toEqualTypeOf<() => void>()
  })
})
