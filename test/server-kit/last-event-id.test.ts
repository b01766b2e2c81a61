import { createEventStream } from '@sluice/client'
import { eventStreamResponse, sendEventStream } from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { afterEach, describe, expect, it } from 'vitest'

// The SSE spec's event id is any string without CR, LF or NUL, and a client sends Last-Event-ID as
// UTF-8 bytes; Node and Fetch headers expose those bytes one character each. server-kit must give
// the source the id it sent, whatever the script.
const ids = ['café-1', '事件-2', '🚀-3']

describe('Last-Event-ID with non-ASCII ids', () => {
  let server: TestServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  async function* source(lastEventId: string | undefined, seen: Array<string | undefined>) {
    seen.push(lastEventId)
    const next = lastEventId === undefined ? 0 : ids.indexOf(lastEventId) + 1
    // One event per response, then the stream ends: the client reconnects with the id it saw.
    if (next < ids.length) yield { id: ids[next], data: String(next) }
  }

  async function resumeThroughAll(seen: Array<string | undefined>) {
    const connection = createEventStream(`${server!.url}/events`, { retry: { initialDelay: 1, jitter: false } })
    const received: string[] = []
    for await (const message of connection) {
      received.push(message.id)
      if (received.length === ids.length) break
    }
    connection.close()
    expect(received).toEqual(ids)
    expect(seen.slice(0, ids.length)).toEqual([undefined, ...ids.slice(0, -1)])
  }

  it('round-trips through sendEventStream on node:http', async () => {
    const seen: Array<string | undefined> = []
    server = await createTestServer((req, res) =>
      sendEventStream(req, res, ({ lastEventId }) => source(lastEventId, seen), { keepAlive: false }),
    )
    await resumeThroughAll(seen)
  })

  it('round-trips through eventStreamResponse on a Fetch handler', async () => {
    const seen: Array<string | undefined> = []
    server = await createTestServer((request: Request) =>
      eventStreamResponse(request, ({ lastEventId }) => source(lastEventId, seen), { keepAlive: false }),
    )
    await resumeThroughAll(seen)
  })
})
