import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { readEventStream } from '@sluice/client'
import type { EventMessage, StreamContext } from '@sluice/server-kit'
import { eventStreamResponse, ndjsonResponse, sendEventStream, sendNdjson } from '@sluice/server-kit'
import { createTestServer } from '@sluice/server-kit/testing'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { rawGet, waitFor } from './helpers.js'

/** A resumable ticker: ids continue from lastEventId; counts finallies so tests see cleanup. */
function ticker(state: { finallies: number }) {
  return async function* ({ lastEventId, signal }: StreamContext<unknown>): AsyncGenerator<EventMessage> {
    try {
      const from = Number(lastEventId ?? 0)
      for (let n = from + 1; n <= from + 3; n++) yield { id: String(n), data: { n } }
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
    } finally {
      state.finallies++
    }
  }
}

/** Reads `count` events from `url`, then leaves. */
async function readThenLeave(url: string, count: number, headers: Record<string, string> = {}) {
  const controller = new AbortController()
  const response = await fetch(url, { headers, signal: controller.signal })
  const events = []
  // The body, not the Response: @hono/node-server's serve() replaces globalThis.Response with its own
  // class, so `fetch`'s Response is no longer `instanceof Response` in this file.
  for await (const event of readEventStream(response.body!)) {
    events.push(event)
    if (events.length === count) break
  }
  controller.abort()
  return { response, events }
}

describe('sendEventStream under frameworks', () => {
  it('Express 5', async () => {
    const state = { finallies: 0 }
    const app = express()
    app.get('/events', (req, res) => sendEventStream(req, res, ticker(state)))
    app.get('/rows', (req, res) => sendNdjson(req, res, [{ row: 1 }, { row: 2 }]))
    const server = await createTestServer(app)
    try {
      const { response, events } = await readThenLeave(`${server.url}/events`, 3, { 'Last-Event-ID': '10' })
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
      expect(events.map((event) => event.id)).toEqual(['11', '12', '13'])
      await waitFor('the source finally to run', () => state.finallies === 1, 1_000)
      const rows = []
      for await (const row of server.ndjson('/rows')) rows.push(row)
      expect(rows).toEqual([{ row: 1 }, { row: 2 }])
    } finally {
      await server.close()
    }
  })

  it('Fastify 5 (reply.hijack() + reply.raw), with shutdown through the signal on close', async () => {
    const state = { finallies: 0 }
    const shutdown = new AbortController()
    // undici (fetch) may open a spare connection that never sends a request; Fastify's default
    // close() waits for such connections, so close them all.
    const app = Fastify({ forceCloseConnections: true })
    app.addHook('preClose', async () => shutdown.abort())
    app.get('/events', (request, reply) => {
      // Fastify must not send its own reply: the stream owns the raw response from here on.
      reply.hijack()
      return sendEventStream(request.raw, reply.raw, ticker(state), { signal: shutdown.signal, shutdownJitter: 0 })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const url = `http://127.0.0.1:${port}/events`

    const { events } = await readThenLeave(`${url}?lastEventId=5`, 2)
    expect(events.map((event) => event.data)).toEqual(['{"n":6}', '{"n":7}'])
    await waitFor('the source finally to run', () => state.finallies === 1, 1_000)

    // A client still connected when the server shuts down gets the shutdown retry and a clean end.
    const live = await rawGet(url)
    await live.waitForText('id: 3\n')
    await app.close()
    expect(await live.ended).toMatch(/id: 3\ndata: \{"n":3\}\n\nretry: 1000\n\n$/)
    expect(state.finallies).toBe(2)
  })

  it('Hono through createTestServer (Request -> Response)', async () => {
    const state = { finallies: 0 }
    const app = new Hono()
    app.get('/events', (c) => eventStreamResponse(c.req.raw, ticker(state)))
    app.get('/rows', (c) => ndjsonResponse(c.req.raw, [1, 2, 3]))
    const server = await createTestServer(app)
    try {
      const { events } = await readThenLeave(`${server.url}/events`, 3)
      expect(events.map((event) => event.id)).toEqual(['1', '2', '3'])
      await waitFor('the source finally to run', () => state.finallies === 1, 1_000)
      const rows = []
      for await (const row of server.ndjson('/rows')) rows.push(row)
      expect(rows).toEqual([1, 2, 3])
    } finally {
      await server.close()
    }
  })

  it('Hono on @hono/node-server: the disconnect reaches the source through request.signal', async () => {
    const state = { finallies: 0 }
    const app = new Hono()
    app.get('/events', (c) => eventStreamResponse(c.req.raw, ticker(state)))
    const server = await new Promise<ServerType>((resolve) => {
      const started: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
    })
    try {
      const { port } = server.address() as AddressInfo
      const { events } = await readThenLeave(`http://127.0.0.1:${port}/events`, 3)
      expect(events).toHaveLength(3)
      await waitFor('the source finally to run', () => state.finallies === 1, 1_000)
    } finally {
      // Keep-alive (and undici's spare) connections would hold close() open.
      ;(server as Server).closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
