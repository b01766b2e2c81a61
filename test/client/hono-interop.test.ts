import { getRequestListener } from '@hono/node-server'
import { createEventStream } from '@sluice/client'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { nextMessages, ResourceWatch, startHttpServer, type TestHttpServer, waitForStatus } from './helpers.js'

// A server no one here wrote: Hono's streamSSE on @hono/node-server.
let cleanup: Array<() => unknown> = []
let watch: ResourceWatch
beforeEach(() => {
  watch = new ResourceWatch()
})
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn()
  cleanup = []
  await watch.expectReleased()
})

async function hono(app: Hono): Promise<TestHttpServer> {
  const s = await startHttpServer(getRequestListener(app.fetch))
  cleanup.push(() => s.close())
  return s
}

describe('createEventStream against Hono streamSSE', () => {
  it('receives events, reconnects when the stream ends and resumes from Last-Event-ID without gap or duplicate', async () => {
    const log = Array.from({ length: 6 }, (_, i) => ({ id: String(i + 1), data: `tick ${i + 1}` }))
    const lastEventIds: Array<string | undefined> = []
    const app = new Hono()
    app.get('/ticks', (c) => {
      const lastEventId = c.req.header('last-event-id')
      lastEventIds.push(lastEventId)
      return streamSSE(c, async (stream) => {
        const from = Number(lastEventId ?? 0)
        // Each response carries at most three events, then ends: the client must come back.
        for (const entry of log.slice(from, from + 3)) {
          await stream.writeSSE({ ...entry, event: 'tick', retry: 20 })
        }
      })
    })
    const s = await hono(app)
    const conn = createEventStream(`${s.url}/ticks`, { retry: { initialDelay: 10_000 } })
    cleanup.push(conn.close)
    const messages = await nextMessages(conn, 6)
    expect(messages).toEqual(log.map(({ id, data }) => ({ event: 'tick', id, data })))
    expect(lastEventIds.slice(0, 2)).toEqual([undefined, '3'])
  })

  it('streams a POST completion and stops on [DONE]', async () => {
    const app = new Hono()
    app.post('/chat', async (c) => {
      const { prompt } = await c.req.json<{ prompt: string }>()
      return streamSSE(c, async (stream) => {
        for (const token of prompt.split(' ')) await stream.writeSSE({ data: JSON.stringify({ token }) })
        await stream.writeSSE({ data: '[DONE]' })
      })
    })
    const s = await hono(app)
    const conn = createEventStream<{ token: string }>(`${s.url}/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello from hono' }),
      parse: JSON.parse,
      done: (message) => message.data === '[DONE]',
    })
    const tokens: string[] = []
    for await (const { data } of conn) tokens.push(data.token)
    expect(tokens).toEqual(['hello', 'from', 'hono'])
    expect((await waitForStatus(conn, 'closed')).error).toBeUndefined()
  })
})
