import type { ServerResponse } from 'node:http'
import {
  ContentTypeError,
  createNdjsonStream,
  HttpError,
  LimitExceededError,
  NdjsonSyntaxError,
  TimeoutError,
  ValidationError,
} from '@sluice/client'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { deferred, nextMessage, nextMessages, ResourceWatch, startRecordingServer, waitForStatus } from './helpers.js'

const fast = { initialDelay: 10, maxDelay: 20 }
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

/** A recording server closed after the test. */
async function server(handler: Parameters<typeof startRecordingServer>[0]) {
  const s = await startRecordingServer(handler)
  cleanup.push(() => s.close())
  return s
}

function head(res: ServerResponse, type = 'application/x-ndjson') {
  res.writeHead(200, { 'content-type': type })
  res.flushHeaders()
}

describe('createNdjsonStream', () => {
  it('yields each line as a value and closes cleanly when the response ends', async () => {
    const s = await server((_req, res) => {
      head(res)
      res.write('{"n":1}\n{"n":2}\r\n\n')
      res.end('{"n":3}') // a last line without newline
    })
    const conn = createNdjsonStream<{ n: number }>(s.url, { retry: fast })
    const seen: number[] = []
    for await (const item of conn) seen.push(item.n)
    expect(seen).toEqual([1, 2, 3])
    expect(conn.getSnapshot()).toMatchObject({ status: 'closed', error: undefined, data: { n: 3 }, lastEventId: '' })
    expect(s.requests.items).toHaveLength(1)
    expect(s.requests.items[0]?.headers.accept).toBe('application/x-ndjson')
  })

  it('accepts the JSON Lines media types and rejects others with ContentTypeError', async () => {
    const s = await server((_req, res, n) => {
      head(res, n === 1 ? 'application/jsonl; charset=utf-8' : 'text/html')
      res.end('1\n')
    })
    const jsonl = createNdjsonStream(s.url)
    expect(await nextMessage(jsonl)).toBe(1)
    await waitForStatus(jsonl, 'closed')
    const html = createNdjsonStream(s.url)
    const closed = await waitForStatus(html, 'closed')
    expect(closed.error).toBeInstanceOf(ContentTypeError)
    expect(closed.error).toMatchObject({ received: 'text/html' })
  })

  it('contentTypes: false skips the check', async () => {
    const s = await server((_req, res) => {
      head(res, 'application/json')
      res.end('[1]\n[2]\n')
    })
    const conn = createNdjsonStream(s.url, { contentTypes: false })
    expect(await nextMessages(conn, 2)).toEqual([[1], [2]])
    await waitForStatus(conn, 'closed')
  })

  it('an invalid line closes with NdjsonSyntaxError after the values before it were delivered', async () => {
    const s = await server((_req, res) => {
      head(res)
      res.end('{"ok":1}\n{"ok":2}\n{oops\n{"ok":4}\n')
    })
    const conn = createNdjsonStream(s.url, { retry: fast })
    const delivered: unknown[] = []
    conn.listen((item) => delivered.push(item))
    const closed = await waitForStatus(conn, 'closed')
    expect(delivered).toEqual([{ ok: 1 }, { ok: 2 }])
    expect(closed.error).toBeInstanceOf(NdjsonSyntaxError)
    expect(closed.error).toMatchObject({ lineNumber: 3, excerpt: '{oops' })
  })

  it('skipInvalidLines reports bad lines as non-fatal errors and goes on', async () => {
    const s = await server((_req, res) => {
      head(res)
      res.end('{"ok":1}\n{oops\n{"ok":3}\n')
    })
    const errors: unknown[] = []
    const conn = createNdjsonStream(s.url, { skipInvalidLines: true, onError: (e) => errors.push(e) })
    expect(await nextMessages(conn, 2)).toEqual([{ ok: 1 }, { ok: 3 }])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'NDJSON_SYNTAX_ERROR', lineNumber: 2 })
    await waitForStatus(conn, 'closed')
  })

  it('a line over maxLineSize closes with LimitExceededError naming the line', async () => {
    const s = await server((_req, res) => {
      head(res)
      res.write('1\n')
      res.write(`"${'x'.repeat(4096)}"\n`)
    })
    const conn = createNdjsonStream(s.url, { maxLineSize: 1000 })
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toBeInstanceOf(LimitExceededError)
    expect(closed.error).toMatchObject({ limit: 'maxLineSize', max: 1000, lineNumber: 2 })
  })

  it('validates items with a schema: invalid ones surface ValidationError and are skipped', async () => {
    const s = await server((_req, res) => {
      head(res)
      res.end('{"id":1}\n{"id":"two"}\n{"id":3}\n')
    })
    const errors: unknown[] = []
    const conn = createNdjsonStream(s.url, { schema: z.object({ id: z.number() }), onError: (e) => errors.push(e) })
    const items = await nextMessages(conn, 2)
    expect(items.map((i) => i.id)).toEqual([1, 3])
    expect(errors[0]).toBeInstanceOf(ValidationError)
  })

  it('retries a failure before any item (503), then streams', async () => {
    const s = await server((_req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      head(res)
      res.end('"ok"\n')
    })
    const conn = createNdjsonStream(s.url, { retry: fast })
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toBeInstanceOf(HttpError)
    expect(await nextMessage(conn)).toBe('ok')
    await waitForStatus(conn, 'closed')
  })

  it('without resume, a failure after items closes with the error instead of re-requesting (no duplicates)', async () => {
    const got2 = deferred()
    const s = await server((req, res) => {
      head(res)
      res.write('1\n2\n')
      void got2.promise.then(() => req.socket.destroy())
    })
    const conn = createNdjsonStream(s.url, { retry: fast })
    expect(await nextMessages(conn, 2)).toEqual([1, 2])
    got2.resolve()
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toMatchObject({ code: 'NETWORK_ERROR' })
    expect(s.requests.items).toHaveLength(1)
  })

  it('resume builds the next request from the last item (a cursor) after a drop and after an end', async () => {
    const items = Array.from({ length: 9 }, (_, i) => ({ seq: i + 1 }))
    const got3 = deferred()
    const s = await server((req, res, n) => {
      const after = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after') ?? 0)
      head(res)
      const batch = items.filter((item) => item.seq > after).slice(0, 3)
      for (const item of batch) res.write(`${JSON.stringify(item)}\n`)
      // Request 1 dies mid-stream; request 2 ends normally; request 3 ends normally with the rest.
      if (n === 1) void got3.promise.then(() => req.socket.destroy())
      else res.end()
    })
    const resumedWith: Array<[number | undefined, string | undefined]> = []
    const conn = createNdjsonStream<{ seq: number }>(`${s.url}/items`, {
      retry: fast,
      resume: (last, { error }) => {
        resumedWith.push([last?.seq, error?.code])
        if (last?.seq === 9) return false
        return `${s.url}/items?after=${last?.seq ?? 0}`
      },
    })
    const all = nextMessages(conn, 9)
    await nextMessages(conn, 3)
    got3.resolve()
    expect((await all).map((i) => i.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toBeUndefined()
    expect(s.requests.items.map((r) => r.url)).toEqual(['/items', '/items?after=3', '/items?after=6'])
    expect(resumedWith).toEqual([
      [3, 'NETWORK_ERROR'],
      [6, undefined],
      [9, undefined],
    ])
  })

  it('sends a POST once; its body, method and headers arrive', async () => {
    const s = await server((_req, res) => res.writeHead(500).end())
    const conn = createNdjsonStream(s.url, {
      method: 'post',
      body: '{"q":1}',
      headers: { 'x-api-key': 'k' },
      retry: fast,
    })
    const closed = await waitForStatus(conn, 'closed')
    expect(closed.error).toMatchObject({ status: 500 })
    expect(s.requests.items).toHaveLength(1)
    expect(s.requests.items[0]).toMatchObject({ method: 'POST', body: '{"q":1}', headers: { 'x-api-key': 'k' } })
  })

  it('idle timeout: a silent response is retried while nothing arrived', async () => {
    const s = await server((_req, res, n) => {
      head(res)
      if (n === 2) res.end('"second"\n')
      // request 1: headers, then silence
    })
    const conn = createNdjsonStream(s.url, { idleTimeout: 200, retry: fast })
    const waiting = await waitForStatus(conn, 'reconnecting')
    expect(waiting.error).toBeInstanceOf(TimeoutError)
    expect(await nextMessage(conn)).toBe('second')
    await waitForStatus(conn, 'closed')
  })

  it('close() while streaming and during a backoff releases everything', async () => {
    const serverSawClose = deferred()
    const s = await server((req, res, n) => {
      if (n === 1) return res.writeHead(503).end()
      head(res)
      res.write('1\n')
      req.on('close', () => serverSawClose.resolve())
    })
    const backingOff = createNdjsonStream(s.url, { retry: { initialDelay: 60_000, jitter: false } })
    await waitForStatus(backingOff, 'reconnecting')
    backingOff.close()
    backingOff.close()
    const streaming = createNdjsonStream(s.url)
    await nextMessage(streaming)
    streaming.close()
    await serverSawClose.promise
    await s.close()
    await watch.expectReleased()
  })
})
