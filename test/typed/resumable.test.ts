// Resumable POST streams: the work (an LLM answer) starts once, by POST; a client whose connection
// drops, or whose page reloads, resumes by GET with Last-Event-ID and ends with the complete answer,
// no token missing or repeated, and the work ran exactly once. Real node:http on 127.0.0.1:0.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createEventStream,
  defineEvents,
  type EventStreamMessage,
  HttpError,
  RESUMABLE_ID_HEADER,
  type ResumeStorage,
} from '@sluice/client'
import {
  type ChannelStore,
  createMemoryStore,
  createResumableStreams,
  formatEvent,
  type ResumableStreams,
  type ResumableWork,
  toNodeHandler,
} from '@sluice/server-kit'
import { afterEach, describe, expect, test } from 'vitest'
import { z } from 'zod'
import { ResourceWatch, waitForSnapshot } from '../client/helpers.js'

const ANSWER = Array.from({ length: 30 }, (_, i) => `t${i} `)
const FAST_RETRY = { initialDelay: 20, maxDelay: 50, jitter: false }

/** Lets the work yield only as many tokens as the test released: "mid-answer" is a state, not a time. */
class Gate {
  #permits = 0
  #waiters: Array<() => void> = []

  release(count: number): void {
    this.#permits += count
    const ready = this.#waiters.splice(0, count)
    this.#permits -= ready.length
    for (const resolve of ready) resolve()
  }

  wait(signal: AbortSignal): Promise<void> {
    if (this.#permits > 0) {
      this.#permits--
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      })
    })
  }
}

/** A Map-backed `sessionStorage`, shared by two connections to play a page reload. */
function memoryStorage(): ResumeStorage & { entries: Map<string, string> } {
  const entries = new Map<string, string>()
  return {
    entries,
    getItem: (key) => entries.get(key) ?? null,
    setItem: (key, value) => {
      entries.set(key, value)
    },
    removeItem: (key) => {
      entries.delete(key)
    },
  }
}

interface ChatServer {
  url: string
  streams: ResumableStreams
  gate: Gate
  /** How many times the work started. */
  runs(): number
  /** `METHOD path last-event-id` of every request, in order. */
  requests: string[]
  /** Destroys every open connection (a dropped network), keeps listening. */
  drop(): void
  close(): Promise<void>
}

async function startChat(options: Parameters<typeof createResumableStreams>[0] = {}): Promise<ChatServer> {
  const streams = createResumableStreams(options)
  const gate = new Gate()
  let runs = 0
  const requests: string[] = []
  const work: ResumableWork = async function* ({ signal }) {
    runs++
    for (const token of ANSWER) {
      await gate.wait(signal)
      yield { event: 'token', data: token }
    }
  }
  const http: Server = createServer(
    toNodeHandler(async (request) => {
      const { pathname } = new URL(request.url)
      requests.push(`${request.method} ${pathname} ${request.headers.get('last-event-id') ?? '-'}`)
      if (request.method === 'POST' && pathname === '/chat') {
        await request.text() // the prompt
        return streams.start(request, work)
      }
      const match = /^\/chat\/([^/]+)$/.exec(pathname)
      if (request.method === 'GET' && match?.[1]) return streams.resume(request, decodeURIComponent(match[1]))
      return new Response('not found', { status: 404 })
    }),
  )
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  return {
    url,
    streams,
    gate,
    runs: () => runs,
    requests,
    drop: () => http.closeAllConnections(),
    async close() {
      streams.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}

/** The events of an SSE body, without comment lines (an opening comment, keepalives). */
function eventsOf(text: string): string {
  return text.replace(/^:[^\n]*\n\n?/gm, '')
}

let chat: ChatServer | undefined
afterEach(async () => {
  await chat?.close()
  chat = undefined
})

/** Collects every delivered message's data. */
function collect<T>(connection: { listen(fn: (m: EventStreamMessage<T>) => void): () => void }): T[] {
  const tokens: T[] = []
  connection.listen((message) => tokens.push(message.data))
  return tokens
}

function chatStream(server: ChatServer, storage?: ResumeStorage, replay?: 'all') {
  return createEventStream(`${server.url}/chat`, {
    method: 'POST',
    body: JSON.stringify({ prompt: 'Tell me a story' }),
    retry: FAST_RETRY,
    resumable: {
      url: (id) => `${server.url}/chat/${id}`,
      key: 'answer',
      ...(storage ? { storage } : {}),
      ...(replay ? { replay } : {}),
    },
  })
}

describe('resumable POST streams', () => {
  test('a connection dropped mid-answer resumes by GET: complete answer, nothing missing or repeated, work ran once', async () => {
    const watch = new ResourceWatch()
    chat = await startChat()
    const storage = memoryStorage()
    const stream = chatStream(chat, storage)
    const tokens = collect(stream)

    chat.gate.release(10)
    await waitForSnapshot(stream, () => tokens.length === 10, '10 tokens')
    const stored = JSON.parse(storage.entries.get('answer') ?? 'null') as { id: string; lastEventId: string }
    expect(chat.streams.status(stored.id)).toBe('running')

    // The network drops mid-answer; the work goes on meanwhile, and the client must get those too.
    chat.drop()
    chat.gate.release(10)
    await waitForSnapshot(stream, (s) => s.status !== 'open', 'the drop')
    await waitForSnapshot(stream, () => tokens.length === 20, '20 tokens after resuming')
    chat.gate.release(ANSWER.length - 20)
    const end = await waitForSnapshot(stream, (s) => s.status === 'closed', 'the end of the answer')

    expect(end.error).toBeUndefined()
    expect(tokens).toEqual(ANSWER)
    expect(chat.runs()).toBe(1)
    expect(chat.requests.filter((r) => r.startsWith('POST'))).toEqual(['POST /chat -'])
    const resumes = chat.requests.filter((r) => r.startsWith('GET'))
    expect(resumes.length).toBeGreaterThanOrEqual(1)
    expect(resumes[0]).toMatch(new RegExp(`^GET /chat/${stored.id} \\d+$`))
    // The answer ended (sluice-end): the position is forgotten, the stream stays resumable until ttl.
    expect(storage.entries.has('answer')).toBe(false)
    expect(chat.streams.status(stored.id)).toBe('finished')

    await chat.close()
    chat = undefined
    await watch.expectReleased()
  })

  test('a page reload mid-answer resumes from storage without POSTing again', async () => {
    chat = await startChat()
    const storage = memoryStorage()
    const before = chatStream(chat, storage)
    const first = collect(before)
    chat.gate.release(7)
    await waitForSnapshot(before, () => first.length === 7, '7 tokens')
    // Unload: the connection is gone, only the storage survives. The answer goes on meanwhile.
    before.close()
    chat.gate.release(8)
    await expect
      .poll(() => chat?.streams.status(String(JSON.parse(storage.getItem('answer') ?? '{}').id)))
      .toBe('running')

    const after = chatStream(chat, storage)
    expect(after.getSnapshot().lastEventId).not.toBe('')
    const second = collect(after)
    await waitForSnapshot(after, () => second.length === 8, 'the 8 tokens sent during the reload')
    // A second reload, this time while the page follows the stream by GET.
    after.close()
    chat.gate.release(5)
    const last = chatStream(chat, storage)
    const third = collect(last)
    await waitForSnapshot(last, () => third.length === 5, 'the 5 tokens sent during the second reload')
    chat.gate.release(ANSWER.length - 20)
    const end = await waitForSnapshot(last, (s) => s.status === 'closed', 'the end of the answer')

    expect(end.error).toBeUndefined()
    expect([...first, ...second, ...third]).toEqual(ANSWER)
    expect(chat.runs()).toBe(1)
    expect(chat.requests.filter((r) => r.startsWith('POST'))).toHaveLength(1)
    expect(chat.requests.filter((r) => r.startsWith('GET'))).toHaveLength(2)
    expect(storage.entries.size).toBe(0)
  })

  test("replay: 'all' after a reload receives the whole answer again, once, and the work still ran once", async () => {
    chat = await startChat()
    const storage = memoryStorage()
    const before = chatStream(chat, storage)
    const first = collect(before)
    chat.gate.release(6)
    await waitForSnapshot(before, () => first.length === 6, '6 tokens')
    before.close()
    chat.gate.release(4)

    const after = chatStream(chat, storage, 'all')
    expect(after.getSnapshot().lastEventId).toBe('')
    const all = collect(after)
    await waitForSnapshot(after, () => all.length === 10, 'the 10 tokens so far, from the start')
    chat.gate.release(ANSWER.length - 10)
    const end = await waitForSnapshot(after, (s) => s.status === 'closed', 'the end of the answer')
    expect(end.error).toBeUndefined()
    expect(first).toEqual(ANSWER.slice(0, 6))
    expect(all).toEqual(ANSWER)
    expect(chat.runs()).toBe(1)
    expect(chat.requests.filter((r) => r.startsWith('GET'))).toEqual([
      expect.stringMatching(/^GET \/chat\/[0-9a-f-]+ -$/),
    ])
  })

  test('a POST dropped after its headers, before any event, still resumes: the id header is enough', async () => {
    const requests: string[] = []
    const http = createServer((req, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers['last-event-id'] ?? '-'}`)
      const headers = { 'content-type': 'text/event-stream', [RESUMABLE_ID_HEADER]: 'abc' }
      if (req.method === 'POST') {
        // The status and headers go out, then the connection dies before the first event.
        res.writeHead(200, headers).flushHeaders()
        setImmediate(() => res.destroy())
        return
      }
      res.writeHead(200, headers)
      res.end(
        formatEvent({ id: '1', event: 'sluice-stream', data: { id: 'abc' } }) +
          formatEvent({ id: '2', event: 'token', data: 'all of it' }) +
          formatEvent({ id: '3', event: 'sluice-end', data: { status: 'complete' } }),
      )
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    try {
      const stream = createEventStream(`${url}/chat`, {
        method: 'POST',
        body: '{}',
        retry: FAST_RETRY,
        resumable: { url: (id) => `${url}/chat/${id}` },
      })
      const tokens = collect(stream)
      const end = await waitForSnapshot(stream, (s) => s.status === 'closed', 'the end of the answer')
      expect(end.error).toBeUndefined()
      expect(tokens).toEqual(['all of it'])
      expect(requests).toEqual(['POST /chat -', 'GET /chat/abc -'])
    } finally {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    }
  })

  test('the POST response carries the id as a header and as its first event; GET without Last-Event-ID replays it all', async () => {
    chat = await startChat()
    chat.gate.release(ANSWER.length)
    const response = await fetch(`${chat.url}/chat`, { method: 'POST', body: '{}' })
    const id = response.headers.get(RESUMABLE_ID_HEADER)
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const text = eventsOf(await response.text())
    expect(text.startsWith(formatEvent({ id: '1', event: 'sluice-stream', data: { id } }))).toBe(true)
    expect(text).toContain(formatEvent({ id: '32', event: 'sluice-end', data: { status: 'complete' } }))

    const replay = eventsOf(await (await fetch(`${chat.url}/chat/${id}`)).text())
    expect(replay).toBe(text)
    const tail = eventsOf(await (await fetch(`${chat.url}/chat/${id}`, { headers: { 'last-event-id': '30' } })).text())
    expect(tail).toBe(
      formatEvent({ id: '31', event: 'token', data: 't29 ' }) +
        formatEvent({ id: '32', event: 'sluice-end', data: { status: 'complete' } }),
    )
    // Already at the end: 204, which tells an SSE client to stop.
    expect((await fetch(`${chat.url}/chat/${id}`, { headers: { 'last-event-id': '32' } })).status).toBe(204)
    expect(chat.runs()).toBe(1)
  })

  test('an unknown id is 404 and an expired one 410, never an empty stream; the client forgets a stream that is gone', async () => {
    chat = await startChat({ ttl: 50 })
    const unknown = await fetch(`${chat.url}/chat/nope`)
    expect(unknown.status).toBe(404)
    expect(await unknown.text()).toMatch(/No stream with id "nope"/)

    chat.gate.release(ANSWER.length)
    const response = await fetch(`${chat.url}/chat`, { method: 'POST', body: '{}' })
    const id = response.headers.get(RESUMABLE_ID_HEADER) ?? ''
    await response.text()
    await expect.poll(() => chat?.streams.status(id), { timeout: 5_000 }).toBe('expired')
    const gone = await fetch(`${chat.url}/chat/${id}`)
    expect(gone.status).toBe(410)
    expect(await gone.text()).toMatch(/has expired/)

    // A stored position of an expired stream: the client closes with the 410 and clears it.
    const storage = memoryStorage()
    storage.setItem('answer', JSON.stringify({ id, lastEventId: '3' }))
    const stream = chatStream(chat, storage)
    const end = await waitForSnapshot(stream, (s) => s.status === 'closed', 'the 410')
    expect(end.error).toBeInstanceOf(HttpError)
    expect((end.error as HttpError).status).toBe(410)
    expect(storage.entries.size).toBe(0)
    expect(chat.requests.filter((r) => r.startsWith('POST'))).toHaveLength(1) // only the fetch above
  })

  test('bounded: maxStreams answers 503 without starting the work; close() aborts running work and releases every timer', async () => {
    const watch = new ResourceWatch()
    chat = await startChat({ maxStreams: 1, ttl: 60_000 })
    const first = await fetch(`${chat.url}/chat`, { method: 'POST', body: '{}' })
    expect(first.status).toBe(200)
    const second = await fetch(`${chat.url}/chat`, { method: 'POST', body: '{}' })
    expect(second.status).toBe(503)
    expect(await second.text()).toMatch(/maxStreams 1/)
    expect(chat.runs()).toBe(1)
    expect(chat.streams.size).toBe(1)

    // close(): the running work's signal aborts (the gate wait rejects), the open response ends.
    chat.streams.close()
    await first.text()
    expect(chat.streams.size).toBe(0)
    expect((await fetch(`${chat.url}/chat/x`)).status).toBe(503)
    await chat.close()
    chat = undefined
    await watch.expectReleased()
  })

  test('behind the channel store interface: an asynchronous store (as a shared one would be) serves the history', async () => {
    const appended: string[] = []
    // Every answer is a promise, after a macrotask: what a network store (Redis) looks like to the channel.
    const later = <T>(value: () => T) => new Promise<T>((resolve) => setImmediate(() => resolve(value())))
    const store = (id: string): ChannelStore => {
      const memory = createMemoryStore({ firstId: 1 })
      return {
        append: (message) =>
          later(() => memory.append(message)).then((assigned) => {
            appended.push(`${id.slice(0, 8)}:${assigned}`)
            return assigned
          }),
        readAfter: (lastEventId, limit) => later(() => memory.readAfter(lastEventId, limit)),
        compare: (a, b) => memory.compare(a, b),
      }
    }
    chat = await startChat({ store })
    chat.gate.release(ANSWER.length)
    const response = await fetch(`${chat.url}/chat`, { method: 'POST', body: '{}' })
    const id = response.headers.get(RESUMABLE_ID_HEADER) ?? ''
    const full = eventsOf(await response.text())
    expect(full).toContain(formatEvent({ id: '32', event: 'sluice-end', data: { status: 'complete' } }))
    // Start event, 30 tokens, end event: all appended to the custom store.
    expect(appended).toHaveLength(32)
    const tail = eventsOf(await (await fetch(`${chat.url}/chat/${id}`, { headers: { 'last-event-id': '29' } })).text())
    expect(tail).toBe(
      formatEvent({ id: '30', event: 'token', data: 't28 ' }) +
        formatEvent({ id: '31', event: 'token', data: 't29 ' }) +
        formatEvent({ id: '32', event: 'sluice-end', data: { status: 'complete' } }),
    )
    expect(chat.runs()).toBe(1)
  })

  test('the work that throws ends the stream with status "error", reported once', async () => {
    const reported: unknown[] = []
    const streams = createResumableStreams({ onError: (error) => reported.push(error) })
    const response = streams.start(new Request('http://127.0.0.1/chat', { method: 'POST' }), async function* () {
      yield { event: 'token', data: 'a' }
      throw new Error('model overloaded')
    })
    const text = await response.text()
    expect(text).toContain(formatEvent({ id: '2', event: 'token', data: 'a' }))
    expect(text).toContain(formatEvent({ id: '3', event: 'sluice-end', data: { status: 'error' } }))
    expect(text).not.toContain('overloaded')
    expect(reported).toHaveLength(1)
    expect(() => streams.start(new Request('http://127.0.0.1/'), 'not a function' as unknown as ResumableWork)).toThrow(
      TypeError,
    )
    streams.close()
  })

  test('typed: a definition types and validates the work, and the client receives the union', async () => {
    const answer = defineEvents({ token: z.string(), usage: z.object({ tokens: z.number() }) })
    const reported: unknown[] = []
    const streams = createResumableStreams({ events: answer, onError: (error) => reported.push(error) })
    const http = createServer(
      toNodeHandler((request) => {
        const id = new URL(request.url).pathname.slice('/chat/'.length)
        if (request.method === 'POST') {
          return streams.start(request, async function* () {
            yield { event: 'token', data: 'Hi' }
            yield { event: 'token', data: ' there' }
            yield { event: 'usage', data: { tokens: 2 } }
          })
        }
        return streams.resume(request, id)
      }),
    )
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    try {
      const stream = createEventStream(`${url}/chat`, {
        method: 'POST',
        events: answer,
        resumable: { url: (id) => `${url}/chat/${id}` },
      })
      let text = ''
      let usage = 0
      stream.listen((message) => {
        if (message.event === 'token') text += message.data
        else usage = message.data.tokens
      })
      const end = await waitForSnapshot(stream, (s) => s.status === 'closed', 'the end')
      expect(end.error).toBeUndefined()
      expect(text).toBe('Hi there')
      expect(usage).toBe(2)

      // A bad event from the work ends it with an error instead of reaching the wire.
      const bad = streams.start(new Request(`${url}/chat`, { method: 'POST' }), async function* () {
        yield { event: 'usage', data: { tokens: 'two' } } as never
      })
      expect(await bad.text()).toContain(formatEvent({ id: '2', event: 'sluice-end', data: { status: 'error' } }))
      expect(String(reported[0])).toMatch(/Event "usage" does not match its schema/)
    } finally {
      streams.close()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    }
  })
})
