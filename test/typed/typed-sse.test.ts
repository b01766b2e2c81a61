// One definition, both ends, over SSE: the server publishes through it (validated in development),
// the client connects through it (validated on receipt, narrowed by event type). Real node:http
// servers on 127.0.0.1:0 and real fetch; zod and valibot schemas.

import {
  assertEvent,
  createEventStream,
  defineEvents,
  type SluiceError,
  type TypedEventMessage,
  ValidationError,
} from '@sluice/client'
import { createChannel, formatEvent, sendEventStream, typedChannel, typedEvent } from '@sluice/server-kit'
import * as v from 'valibot'
import { afterEach, describe, expect, test } from 'vitest'
import { z } from 'zod'
import {
  nextMessages,
  ResourceWatch,
  startHttpServer,
  type TestHttpServer,
  waitForSnapshot,
} from '../client/helpers.js'

const ticker = defineEvents({
  tick: z.object({ n: z.number() }),
  done: z.object({ total: z.number() }),
})

// valibot, with a transform: the wire carries an ISO string, the client receives a Date.
const clock = defineEvents({
  at: v.pipe(
    v.string(),
    v.isoTimestamp(),
    v.transform((s) => new Date(s)),
  ),
  note: v.object({ text: v.pipe(v.string(), v.minLength(1)) }),
})

let server: TestHttpServer | undefined
const cleanups: Array<() => void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup()
  await server?.close()
  server = undefined
})

/** Serves `channel` over SSE at any path; returns the base URL. */
async function serveChannel(channel: { subscribe: ReturnType<typeof typedChannel>['subscribe'] }): Promise<string> {
  server = await startHttpServer((req, res) => {
    void sendEventStream(req, res, ({ lastEventId, signal }) => channel.subscribe({ lastEventId, signal }))
  })
  return server.url
}

function errors(connection: { subscribe(fn: () => void): () => void; getSnapshot(): { error?: SluiceError } }) {
  const seen: SluiceError[] = []
  connection.subscribe(() => {
    const { error } = connection.getSnapshot()
    if (error && seen[seen.length - 1] !== error) seen.push(error)
  })
  return seen
}

describe('typed SSE with zod', () => {
  test('the client receives a discriminated union, validated, from a typed channel', async () => {
    const watch = new ResourceWatch()
    const ticks = typedChannel(ticker, createChannel())
    const url = await serveChannel(ticks)
    const stream = createEventStream(`${url}/ticks`, { events: ticker })
    await waitForSnapshot(stream, (s) => s.status === 'open' && ticks.channel.subscriberCount === 1, 'subscribed')
    const received = nextMessages(stream, 4)
    ticks.publish('tick', { n: 1 })
    ticks.publish('tick', { n: 2 })
    ticks.publish('tick', { n: 3 })
    ticks.publish('done', { total: 6 })
    const messages = await received

    let total = 0
    let reported: number | undefined
    for (const message of messages) {
      if (message.event === 'tick') total += message.data.n
      else reported = message.data.total
    }
    expect(total).toBe(6)
    expect(reported).toBe(6)
    expect(messages.map((m) => m.event)).toEqual(['tick', 'tick', 'tick', 'done'])
    expect(stream.getSnapshot().data).toEqual({ total: 6 })
    stream.close()
    ticks.channel.close()
    await server?.close()
    server = undefined
    await watch.expectReleased()
  })

  test('a bad payload is refused at publish, naming the event type and the issue, and nothing reaches the wire', async () => {
    const ticks = typedChannel(ticker, createChannel(), { validate: true })
    const url = await serveChannel(ticks)
    const stream = createEventStream(`${url}/ticks`, { events: ticker })
    await waitForSnapshot(stream, (s) => s.status === 'open' && ticks.channel.subscriberCount === 1, 'subscribed')
    const received = nextMessages(stream, 2)

    ticks.publish('tick', { n: 1 })
    let thrown: unknown
    try {
      // A plain JS caller (or a cast) gets past the types; the run-time check still holds.
      ticks.publish('tick', { n: 'two' } as unknown as { n: number })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ValidationError)
    const error = thrown as ValidationError
    expect(error.code).toBe('VALIDATION_ERROR')
    expect(error.event).toBe('tick')
    expect(error.message).toMatch(/Event "tick" does not match its schema: n: .*number/)
    expect(error.issues[0]?.path).toEqual(['n'])
    expect(() => ticks.publish('tock' as 'tick', { n: 1 })).toThrow(/Unknown event type "tock".*"tick", "done"/)
    ticks.publish('done', { total: 1 })

    // The refused publishes took no id and sent nothing: the client sees exactly the two good ones.
    const messages = await received
    expect(messages).toEqual([
      { event: 'tick', data: { n: 1 }, id: expect.any(String) },
      { event: 'done', data: { total: 1 }, id: String(Number(messages[0]?.id) + 1) },
    ])
    expect(stream.getSnapshot().error).toBeUndefined()
    stream.close()
    ticks.channel.close()
  })

  test('a message failing validation on receipt surfaces ValidationError with its event type and is not delivered', async () => {
    // validate: false on the server (what production does by default), so a bad payload reaches the client.
    const ticks = typedChannel(ticker, createChannel(), { validate: false })
    const url = await serveChannel(ticks)
    const seenErrors: SluiceError[] = []
    const stream = createEventStream(`${url}/ticks`, { events: ticker, onError: (e) => seenErrors.push(e) })
    await waitForSnapshot(stream, (s) => s.status === 'open' && ticks.channel.subscriberCount === 1, 'subscribed')
    const received = nextMessages(stream, 2)
    ticks.publish('tick', { n: 1 })
    ticks.publish('tick', { n: 'bad' } as unknown as { n: number })
    ticks.publish('tick', { n: 3 })
    const messages = await received

    expect(messages.map((m) => (m.event === 'tick' ? m.data.n : -1))).toEqual([1, 3])
    expect(seenErrors).toHaveLength(1)
    expect(seenErrors[0]).toBeInstanceOf(ValidationError)
    expect((seenErrors[0] as ValidationError).event).toBe('tick')
    expect(seenErrors[0]?.message).toMatch(/event "tick" failed schema validation/)
    expect(stream.getSnapshot().status).toBe('open')
    // Without validation the server still refuses an event type outside the definition.
    expect(() => ticks.publish('nope' as 'tick', { n: 1 })).toThrow(TypeError)
    stream.close()
    ticks.channel.close()
  })

  test('unknown event types are ignored by default and reported with unknownEvents: "report"', async () => {
    // The server is not typed here: it sends an event type the client's definition does not know.
    server = await startHttpServer((req, res) => {
      void sendEventStream(req, res, [
        { event: 'tick', data: { n: 1 } },
        { event: 'surprise', data: { x: 1 } },
        { event: 'tick', data: { n: 2 } },
      ])
    })
    const quiet = createEventStream(`${server.url}/`, { events: ticker, retry: false })
    const quietErrors = errors(quiet)
    const ignored = await nextMessages(quiet, 2)
    expect(ignored.map((m) => m.event)).toEqual(['tick', 'tick'])
    expect(quietErrors).toEqual([])
    quiet.close()

    const strict = createEventStream(`${server.url}/`, { events: ticker, unknownEvents: 'report', retry: false })
    const strictErrors: SluiceError[] = []
    strict.listen(() => undefined)
    const unsubscribe = strict.subscribe(() => {
      const { error } = strict.getSnapshot()
      if (error && !strictErrors.includes(error)) strictErrors.push(error)
    })
    cleanups.push(unsubscribe)
    const reported = await nextMessages(strict, 2)
    expect(reported.map((m) => m.event)).toEqual(['tick', 'tick'])
    expect(strictErrors).toHaveLength(1)
    expect(strictErrors[0]).toBeInstanceOf(ValidationError)
    expect((strictErrors[0] as ValidationError).event).toBe('surprise')
    expect(strictErrors[0]?.message).toMatch(/Unknown event type "surprise"/)
    strict.close()
  })

  test('typedEvent in a generator source: yielded events are typed and validated before they are encoded', async () => {
    let failure: unknown
    server = await startHttpServer((req, res) => {
      void sendEventStream(
        req,
        res,
        async function* () {
          yield typedEvent(ticker, 'tick', { n: 1 }, { id: '1' })
          yield typedEvent(ticker, 'done', { total: 1 }, { id: '2' })
          // Never a malformed frame: the throw ends the stream before anything of this event is written.
          yield typedEvent(ticker, 'tick', { n: Number.NaN } as { n: number }, { validate: true })
        },
        {
          onError: (error) => {
            failure = error
            return undefined
          },
        },
      )
    })
    const response = await fetch(`${server.url}/`)
    const text = await response.text()
    expect(text).toContain(formatEvent({ event: 'tick', data: { n: 1 }, id: '1' }))
    expect(text).toContain(formatEvent({ event: 'done', data: { total: 1 }, id: '2' }))
    expect(text).not.toContain('NaN')
    expect(text).not.toContain('null')
    expect(failure).toBeInstanceOf(ValidationError)
    expect((failure as ValidationError).event).toBe('tick')
  })
})

describe('typed SSE with valibot', () => {
  test('the schema output (a Date from a transform) is what the client receives; invalid input is reported', async () => {
    const notes = typedChannel(clock, createChannel())
    const url = await serveChannel(notes)
    const seenErrors: SluiceError[] = []
    const stream = createEventStream(`${url}/clock`, { events: clock, onError: (e) => seenErrors.push(e) })
    await waitForSnapshot(stream, (s) => s.status === 'open' && notes.channel.subscriberCount === 1, 'subscribed')
    const received = nextMessages(stream, 2)
    notes.publish('at', '2026-11-22T01:02:03.000Z')
    expect(() => notes.publish('note', { text: '' })).toThrow(ValidationError)
    expect(() => notes.publish('at', 'yesterday')).toThrow(/Event "at" does not match its schema/)
    notes.publish('note', { text: 'hello' })
    const messages: TypedEventMessage<typeof clock>[] = await received

    const [first, second] = messages
    expect(first?.event).toBe('at')
    if (first?.event === 'at') expect(first.data.toISOString()).toBe('2026-11-22T01:02:03.000Z')
    expect(first?.data).toBeInstanceOf(Date)
    expect(second).toEqual({ event: 'note', data: { text: 'hello' }, id: expect.any(String) })
    expect(seenErrors).toEqual([])
    stream.close()
    notes.channel.close()
  })

  test('assertEvent is the same check, usable anywhere', () => {
    expect(assertEvent(clock, 'note', { text: 'x' })).toEqual({ text: 'x' })
    expect(() => assertEvent(clock, 'note', { text: 1 })).toThrow(/Event "note" does not match its schema: text: /)
    expect(() => assertEvent(clock, 'constructor' as 'note', {})).toThrow(TypeError)
  })
})

describe('defineEvents', () => {
  test('refuses what cannot be a definition, with a TypeError that says why', () => {
    expect(() => defineEvents({ tick: { parse: () => 1 } } as never)).toThrow(/not a Standard Schema/)
    expect(() => defineEvents({ 'a\nb': z.string() })).toThrow(/invalid event type/)
    expect(() => defineEvents({ a: z.string() }, { discriminator: 'data' })).toThrow(/discriminator/)
    expect(defineEvents({ a: z.string() }).discriminator).toBe('type')
    expect(Object.isFrozen(defineEvents({ a: z.string() }))).toBe(true)
  })

  test('an async schema is refused at publish (a publish cannot wait), never half-sent', () => {
    const asyncDef = defineEvents({ slow: z.string().refine(async (s) => s.length > 0) })
    const channel = createChannel()
    const typed = typedChannel(asyncDef, channel, { validate: true })
    expect(() => typed.publish('slow', 'x')).toThrow(/validates asynchronously/)
    channel.close()
  })
})
