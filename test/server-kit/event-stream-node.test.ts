import type { IncomingMessage, ServerResponse } from 'node:http'
import { readEventStream } from '@sluice/client'
import type { NodeEventStreamSource, ServeEventStreamOptions, StreamEndReason } from '@sluice/server-kit'
import { DEFAULT_SHUTDOWN_JITTER, DEFAULT_SHUTDOWN_RETRY, OPENING_COMMENT, sendEventStream } from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { EventSource } from 'eventsource'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { deferred, rawGet, waitFor } from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  vi.restoreAllMocks()
})

/** Serves `source` with `sendEventStream` and records how each stream ended. */
async function serve(source: NodeEventStreamSource, options: ServeEventStreamOptions = {}) {
  const ended: StreamEndReason[] = []
  const settled: string[] = []
  server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
    void sendEventStream(req, res, source, {
      ...options,
      onClose: (reason) => ended.push(reason),
    }).then(
      () => settled.push('resolved'),
      (error: unknown) => settled.push(`rejected: ${String(error)}`),
    )
  })
  return { url: server.url, ended, settled }
}

describe('sendEventStream on node:http', () => {
  it('sends status and the default headers at once, before the first event', async () => {
    const gate = deferred()
    const { url } = await serve(async function* () {
      await gate.promise
      yield { data: 'first' }
    })
    const response = await rawGet(`${url}/`)
    // The headers arrived while the source was still blocked before its first event.
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(response.headers['cache-control']).toBe('no-cache, no-transform')
    expect(response.headers['x-accel-buffering']).toBe('no')
    // Only the opening comment, no event, while the source is blocked.
    await response.waitForText(OPENING_COMMENT)
    expect(response.text()).toBe(OPENING_COMMENT)
    gate.resolve()
    expect(await response.ended).toBe(`${OPENING_COMMENT}data: first\n\n`)
  })

  it('writes retry first, then exactly the formatted events, then ends', async () => {
    const { url, ended, settled } = await serve(
      [
        { id: '1', data: 'a\nb' },
        { event: 'tick', data: { n: 1 } },
      ],
      { retry: 2000, keepAlive: false },
    )
    const response = await rawGet(`${url}/`)
    expect(await response.ended).toBe('retry: 2000\n\nid: 1\ndata: a\ndata: b\n\nevent: tick\ndata: {"n":1}\n\n')
    await waitFor('the promise to resolve', () => settled.length === 1)
    expect(settled).toEqual(['resolved'])
    expect(ended).toEqual(['end'])
  })

  it('answers HEAD with the headers only, without pulling an endless source', async () => {
    let pulls = 0
    const { url, ended } = await serve(function* () {
      for (;;) {
        pulls++
        yield { data: 'x' }
      }
    })
    const response = await fetch(`${url}/`, { method: 'HEAD' })
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(await response.text()).toBe('')
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['end'])
    expect(pulls).toBe(0)
  })

  it('merges user headers over the defaults', async () => {
    const { url } = await serve([{ data: 'x' }], {
      status: 201,
      headers: { 'Cache-Control': 'no-store', 'Content-Disposition': 'inline', 'set-cookie': 'a=1' },
    })
    const response = await rawGet(`${url}/`)
    await response.ended
    expect(response.status).toBe(201)
    expect(response.headers['cache-control']).toBe('no-store')
    expect(response.headers['content-disposition']).toBe('inline')
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(response.headers['set-cookie']).toEqual(['a=1'])
  })

  it('sends a keepalive comment when the stream is silent, and ends the source when the client leaves', async () => {
    let finallyRan = false
    const { url, ended } = await serve(
      async function* ({ signal }) {
        try {
          yield { data: 'hello' }
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
        } finally {
          finallyRan = true
        }
      },
      { keepAlive: 20 },
    )
    const response = await rawGet(`${url}/`)
    const body = await response.waitForText(': keepalive\n\n')
    expect(body.startsWith(`${OPENING_COMMENT}data: hello\n\n: keepalive\n\n`)).toBe(true)
    response.abort()
    await waitFor('the source finally to run', () => finallyRan, 1_000)
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['disconnect'])
  })

  it('gives the source lastEventId from the Last-Event-ID header, else the query, and the request', async () => {
    const seen: Array<{ lastEventId: string | undefined; url: string | undefined }> = []
    const { url } = await serve(({ lastEventId, request }) => {
      seen.push({ lastEventId, url: request.url })
      return []
    })
    await (await rawGet(`${url}/a`, { 'Last-Event-ID': '41' })).ended
    await (await rawGet(`${url}/b?lastEventId=7`)).ended
    await (await rawGet(`${url}/c?lastEventId=7`, { 'Last-Event-ID': '9' })).ended
    await (await rawGet(`${url}/d`)).ended
    await (await rawGet(`${url}/e?lastEventId=`, { 'Last-Event-ID': '' })).ended
    expect(seen).toEqual([
      { lastEventId: '41', url: '/a' },
      { lastEventId: '7', url: '/b?lastEventId=7' },
      { lastEventId: '9', url: '/c?lastEventId=7' },
      { lastEventId: undefined, url: '/d' },
      { lastEventId: undefined, url: '/e?lastEventId=' },
    ])
  })

  it("is read by @sluice/client's readEventStream over fetch", async () => {
    const { url } = await serve(function* () {
      for (let n = 1; n <= 50; n++) yield { id: String(n), event: n % 2 ? 'odd' : 'even', data: { n } }
    })
    const response = await fetch(`${url}/`)
    const messages = []
    for await (const message of readEventStream(response)) messages.push(message)
    expect(messages).toHaveLength(50)
    expect(messages[0]).toEqual({ id: '1', event: 'odd', data: '{"n":1}' })
    expect(messages[49]).toEqual({ id: '50', event: 'even', data: '{"n":50}' })
  })

  it('works with the eventsource package: receives, reconnects after the end, sends Last-Event-ID', async () => {
    const requests: Array<string | undefined> = []
    const { url } = await serve(
      function* ({ lastEventId }) {
        requests.push(lastEventId)
        const from = Number(lastEventId ?? 0)
        yield { id: String(from + 1), data: `event ${from + 1}` }
        yield { id: String(from + 2), event: 'named', data: `event ${from + 2}` }
      },
      { retry: 10 },
    )
    const source = new EventSource(`${url}/`)
    const received: string[] = []
    source.onmessage = (event) => received.push(`${event.lastEventId}:${event.data}`)
    source.addEventListener('named', (event) => received.push(`${event.lastEventId}:${event.data}:named`))
    try {
      await waitFor('two connections worth of events', () => received.length >= 4)
    } finally {
      source.close()
    }
    expect(received.slice(0, 4)).toEqual(['1:event 1', '2:event 2:named', '3:event 3', '4:event 4:named'])
    expect(requests.slice(0, 2)).toEqual([undefined, '2'])
  })

  it('turns a source error into the final error event the user chooses, then ends cleanly', async () => {
    const { url, ended } = await serve(
      async function* () {
        yield { data: 'before' }
        throw new Error('database password is hunter2')
      },
      { onError: () => ({ data: { message: 'Something went wrong' } }) },
    )
    const response = await rawGet(`${url}/`)
    expect(await response.ended).toBe(
      `${OPENING_COMMENT}data: before\n\nevent: error\ndata: {"message":"Something went wrong"}\n\n`,
    )
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['error'])
  })

  it('never sends the raw error text by default: it ends the stream and reports the error', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    const { url, ended } = await serve(async function* () {
      yield { data: 'before' }
      throw new Error('database password is hunter2')
    })
    const response = await rawGet(`${url}/`)
    const body = await response.ended
    expect(body).toBe(`${OPENING_COMMENT}data: before\n\n`)
    expect(body).not.toContain('hunter2')
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['error'])
    expect(logged).toHaveBeenCalledWith(
      '[sluice] stream source failed:',
      expect.objectContaining({ message: 'database password is hunter2' }),
    )
  })

  it('treats a message formatEvent rejects (an id with a newline) as a source error, and returns the source', async () => {
    const errors: unknown[] = []
    let finallyRan = false
    const { url } = await serve(
      async function* () {
        try {
          yield { data: 'ok' }
          yield { id: '1\nevent: admin', data: 'x' }
          yield { data: 'never' }
        } finally {
          finallyRan = true
        }
      },
      {
        onError: (error) => {
          errors.push(error)
          return 'invalid message'
        },
      },
    )
    const response = await rawGet(`${url}/`)
    expect(await response.ended).toBe(`${OPENING_COMMENT}data: ok\n\nevent: error\ndata: invalid message\n\n`)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(TypeError)
    await waitFor('the source finally to run', () => finallyRan, 1_000)
  })

  it('ends every stream cleanly on shutdown, with a jittered retry', async () => {
    const shutdown = new AbortController()
    let finallies = 0
    const { url, ended, settled } = await serve(
      async function* ({ signal }) {
        try {
          yield { data: 'live' }
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
        } finally {
          finallies++
        }
      },
      { signal: shutdown.signal },
    )
    const clients = await Promise.all(Array.from({ length: 10 }, () => rawGet(`${url}/`)))
    await Promise.all(clients.map((client) => client.waitForText('data: live\n\n')))
    shutdown.abort()
    const bodies = await Promise.all(clients.map((client) => client.ended))
    const retries = bodies.map((body) => {
      const match = /^: open\n\ndata: live\n\nretry: (\d+)\n\n$/.exec(body)
      expect(match, body).not.toBeNull()
      return Number(match?.[1])
    })
    for (const retry of retries) {
      expect(retry).toBeGreaterThanOrEqual(DEFAULT_SHUTDOWN_RETRY)
      expect(retry).toBeLessThanOrEqual(DEFAULT_SHUTDOWN_RETRY + DEFAULT_SHUTDOWN_JITTER)
    }
    // Ten draws from 5 001 values: all equal only if the jitter were missing.
    expect(new Set(retries).size).toBeGreaterThan(1)
    await waitFor('every stream to end', () => settled.length === 10 && finallies === 10)
    expect(ended).toEqual(Array(10).fill('shutdown'))
  })

  it('uses the retry option as the shutdown base; an already-aborted signal ends at once', async () => {
    const { url, ended } = await serve([{ data: 'never' }], {
      retry: 3000,
      shutdownJitter: 0,
      signal: AbortSignal.abort(),
    })
    const response = await rawGet(`${url}/`)
    expect(await response.ended).toBe('retry: 3000\n\n')
    await waitFor('the stream to end', () => ended.length === 1)
    expect(ended).toEqual(['shutdown'])
  })

  it('rejects misuse with a TypeError naming the option, before sending anything', async () => {
    const outcomes: string[] = []
    server = await createTestServer(async (req: IncomingMessage, res: ServerResponse) => {
      for (const options of [
        { retry: -1 },
        { keepAlive: 0 },
        { status: 99 },
        { sendTimeout: -5 },
        { shutdownJitter: 0.5 },
      ]) {
        await sendEventStream(req, res, [], options).then(
          () => outcomes.push('resolved'),
          (error: unknown) => outcomes.push(error instanceof TypeError ? error.message : 'other'),
        )
      }
      expect(res.headersSent).toBe(false)
      res.end('done')
    })
    const response = await rawGet(`${server.url}/`)
    expect(await response.ended).toBe('done')
    expect(outcomes).toEqual([
      expect.stringContaining('`retry`'),
      expect.stringContaining('`keepAlive`'),
      expect.stringContaining('`status`'),
      expect.stringContaining('`sendTimeout`'),
      expect.stringContaining('`shutdownJitter`'),
    ])
  })
})
