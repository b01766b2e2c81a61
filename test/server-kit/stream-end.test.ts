import type { IncomingMessage, ServerResponse } from 'node:http'
import { type ChannelEvent, createChannel, type EventMessage, sendEventStream } from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { expectNoLeaks, liveResources, rawGet, waitFor } from './helpers.js'

// A stream's context creates ctx.signal only when read, and a channel given the context itself is
// told of the stream's end directly (issue 7: no AbortController per stream). These prove that a
// subscription still ends with its stream in every shape a source takes.

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('the end of a stream reaches its channel subscriptions', () => {
  it('ends a subscription wrapped in a generator that waits in for-await, and runs its finally', async () => {
    const channel = createChannel()
    let finallyRan = false
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      void sendEventStream(req, res, async function* (ctx): AsyncGenerator<EventMessage> {
        try {
          // Blocked in the subscription's next() (nothing is published): only the end notice frees it.
          for await (const message of channel.subscribe(ctx)) yield toEvent(message)
        } finally {
          finallyRan = true
        }
      })
    })
    const baseline = liveResources()
    const response = await rawGet(`${server.url}/`)
    await waitFor('the subscription', () => channel.subscriberCount === 1)
    response.abort()
    await waitFor('the generator to finish', () => finallyRan, 1_000)
    expect(channel.subscriberCount).toBe(0)
    await expectNoLeaks(baseline)
  })

  it('ends two subscriptions made from one context (the second through ctx.signal)', async () => {
    const a = createChannel()
    const b = createChannel()
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      void sendEventStream(req, res, async function* (ctx): AsyncGenerator<EventMessage> {
        const first = a.subscribe(ctx)
        const second = b.subscribe(ctx)
        for await (const message of first) yield toEvent(message)
        for await (const message of second) yield toEvent(message)
      })
    })
    const response = await rawGet(`${server.url}/`)
    await waitFor('both subscriptions', () => a.subscriberCount === 1 && b.subscriberCount === 1)
    response.abort()
    await waitFor('both to end', () => a.subscriberCount === 0 && b.subscriberCount === 0, 1_000)
  })

  it('gives a source that reads ctx.signal (also through a spread copy) a signal that aborts at the end', async () => {
    const seen: { aborted: boolean; copyAborted: boolean }[] = []
    let keep: { signal: AbortSignal } | undefined
    let late: { readonly signal: AbortSignal } | undefined
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      void sendEventStream(req, res, async function* (ctx) {
        const copy = { ...ctx }
        keep = copy
        late = ctx
        seen.push({ aborted: ctx.signal.aborted, copyAborted: copy.signal.aborted })
        yield { data: 'one' }
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))
      })
    })
    const response = await rawGet(`${server.url}/`)
    await response.waitForText('data: one')
    expect(seen).toEqual([{ aborted: false, copyAborted: false }])
    response.abort()
    await waitFor('the signal to abort', () => keep?.signal.aborted === true, 1_000)
    expect(late?.signal.aborted).toBe(true)
    expect(late?.signal.reason).toMatchObject({ name: 'AbortError' })
  })

  it('follows another signal passed in a copy of the context, not the stream', async () => {
    const channel = createChannel()
    const other = new AbortController()
    let subscriptionDone = false
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      void sendEventStream(req, res, async function* (ctx): AsyncGenerator<EventMessage> {
        for await (const message of channel.subscribe({ ...ctx, signal: other.signal })) yield toEvent(message)
        subscriptionDone = true
        yield { data: 'after' }
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))
      })
    })
    const response = await rawGet(`${server.url}/`)
    await waitFor('the subscription', () => channel.subscriberCount === 1)
    other.abort()
    // The copy's own signal ended the subscription while the stream goes on.
    await response.waitForText('data: after')
    expect(subscriptionDone).toBe(true)
    expect(channel.subscriberCount).toBe(0)
    response.abort()
    await response.ended
  })

  it('gives a context read only after the stream ended an already-aborted signal', async () => {
    let context: { readonly signal: AbortSignal } | undefined
    const channel = createChannel()
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      void sendEventStream(req, res, (ctx) => {
        context = ctx
        return channel.subscribe(ctx)
      })
    })
    const response = await rawGet(`${server.url}/`)
    await waitFor('the subscription', () => channel.subscriberCount === 1)
    response.abort()
    await waitFor('the subscription to end', () => channel.subscriberCount === 0, 1_000)
    // Never read while the stream was open: created now, aborted.
    expect(context?.signal.aborted).toBe(true)
  })
})

function toEvent(message: ChannelEvent): EventMessage {
  return message.id === undefined
    ? { event: message.event, data: message.data }
    : { id: message.id, data: message.data }
}
