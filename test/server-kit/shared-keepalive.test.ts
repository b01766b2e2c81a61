import type { IncomingMessage, ServerResponse } from 'node:http'
import { createChannel, eventStreamResponse, OPENING_COMMENT, sendEventStream } from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { expectNoLeaks, liveResources, type RawResponse, rawGet, waitFor } from './helpers.js'

// Keepalive is one timer per interval value shared by every stream (issue 7, "One process, many
// streams"), not one per stream. These tests prove it is shared, that it still measures each
// stream's own silence, and that it is gone when the last stream ends.

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const timers = () => liveResources().filter((name) => name === 'Timeout').length

describe('shared keepalive timer', () => {
  it('serves many silent streams on one timer, keeps each alive, and leaves no timer once the last stream ends', async () => {
    const channel = createChannel()
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      // sendTimeout off: its timer exists only while a write waits to drain, never here anyway.
      void sendEventStream(req, res, (ctx) => channel.subscribe(ctx), { keepAlive: 50, sendTimeout: false })
    })
    const baseline = liveResources()
    const before = timers()
    const streams: RawResponse[] = []
    for (let i = 0; i < 20; i++) streams.push(await rawGet(`${server.url}/`))
    await waitFor('every stream to be subscribed', () => channel.subscriberCount === 20)
    // 20 streams, one interval: at most one timer more than before (none while it is being re-armed).
    expect(timers() - before).toBeLessThanOrEqual(1)
    for (const stream of streams) await stream.waitForText(': keepalive\n\n')
    expect(timers() - before).toBeLessThanOrEqual(1)

    for (const stream of streams) stream.abort()
    await waitFor('every subscription to end', () => channel.subscriberCount === 0)
    await expectNoLeaks(baseline)
    expect(timers()).toBeLessThanOrEqual(before)
  })

  it('sends a keepalive only to the stream that was silent for the interval, not to one that writes', async () => {
    const keepAlive = 300
    let busyWrites = 0
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/busy') {
        void sendEventStream(
          req,
          res,
          async function* ({ signal }) {
            // Writes every 10 ms, far more often than the interval, until the client leaves.
            while (!signal.aborted) {
              yield { data: String(busyWrites++) }
              await new Promise((resolve) => setTimeout(resolve, 10))
            }
          },
          { keepAlive },
        )
      } else {
        void sendEventStream(req, res, ({ signal }) => silentUntil(signal), { keepAlive })
      }
    })
    const busy = await rawGet(`${server.url}/busy`)
    const silent = await rawGet(`${server.url}/silent`)
    await silent.waitForText(': keepalive\n\n', 5_000)
    // The busy stream has been writing all along (over twice the interval by now): no keepalive.
    await waitFor('the busy stream to outlast two intervals', () => busyWrites * 10 > 2 * keepAlive)
    expect(busy.text().startsWith(`${OPENING_COMMENT}data: 0\n\n`)).toBe(true)
    expect(busy.text()).not.toContain(': keepalive')
    busy.abort()
    silent.abort()
    await Promise.all([busy.ended, silent.ended])
  })

  it('gives each interval its own timer, and a Fetch body shares it too', async () => {
    const baseline = liveResources()
    const before = timers()
    const controller = new AbortController()
    const responses = [
      eventStreamResponse(
        new Request('http://localhost/a', { signal: controller.signal }),
        silentUntil(controller.signal),
        {
          keepAlive: 20,
        },
      ),
      eventStreamResponse(
        new Request('http://localhost/b', { signal: controller.signal }),
        silentUntil(controller.signal),
        {
          keepAlive: 20,
        },
      ),
      eventStreamResponse(
        new Request('http://localhost/c', { signal: controller.signal }),
        silentUntil(controller.signal),
        {
          keepAlive: 30,
        },
      ),
    ]
    const readers = responses.map((response) => response.body?.getReader())
    const decoder = new TextDecoder()
    for (const reader of readers) {
      expect(decoder.decode((await reader?.read())?.value)).toBe(OPENING_COMMENT)
      expect(decoder.decode((await reader?.read())?.value)).toBe(': keepalive\n\n')
    }
    // Two intervals, two timers at most, for three streams.
    expect(timers() - before).toBeLessThanOrEqual(2)
    controller.abort()
    for (const reader of readers) await reader?.cancel()
    await expectNoLeaks(baseline)
    expect(timers()).toBeLessThanOrEqual(before)
  })
})

/** A source that yields nothing until `signal` aborts. */
async function* silentUntil(signal: AbortSignal): AsyncGenerator<{ data: string }> {
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
}
