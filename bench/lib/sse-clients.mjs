// The SSE contestants, shared by sse-parse and sse-large. Each is
// `(input, onEvent, opts) => Promise<void>`: `input` is either a factory of a fresh in-memory
// ReadableStream or the URL of a loopback server; `onEvent(event, data, id)` is called per message
// with `data` already passed through `opts.parse` when given (Sluice's connection does that
// itself, the others call it here), so every contestant does the same work per message.

import { createBaselineSseParser } from './sse.mjs'

const IN_MEMORY_URL = 'http://127.0.0.1:9/in-memory'
const id = (x) => x

/** A `fetch` that answers with an in-memory stream, for clients that only take a URL. */
const fakeFetch = (makeStream) => async () =>
  new Response(makeStream(), { status: 200, headers: { 'content-type': 'text/event-stream' } })

/** Event types the workloads use: EventSource dispatches named events only to their listeners. */
const TYPES = ['message', 'update', 'tick', 'status', 'chunk']

export const sseClients = {
  async baseline(input, onEvent, { parse = id } = {}) {
    const p = createBaselineSseParser((event, data, lastId) => {
      if (event !== 'end') onEvent(event, parse(data), lastId)
    })
    const body = typeof input === 'string' ? (await fetch(input)).body : input()
    const reader = body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      p.feed(value)
    }
    p.end()
  },

  async 'sluice-read'(input, onEvent, { parse = id } = {}) {
    const { readEventStream } = await import('@sluice/client')
    for await (const m of readEventStream(input())) onEvent(m.event, parse(m.data), m.id)
  },

  async 'sluice-connection'(input, onEvent, { parse } = {}) {
    const { createEventStream } = await import('@sluice/client')
    const remote = typeof input === 'string'
    const conn = createEventStream(remote ? input : IN_MEMORY_URL, {
      ...(parse ? { parse } : {}),
      // The loopback server ends with `event: end`; `done` sees each raw message before `parse`.
      done: (m) => m.event === 'end',
      retry: false,
      ...(remote ? {} : { fetch: fakeFetch(input) }),
    })
    for await (const m of conn) onEvent(m.event, m.data, m.id)
    const { error } = conn.getSnapshot()
    if (error) throw error
  },

  async 'esp-parser'(input, onEvent, { parse = id } = {}) {
    const { createParser } = await import('eventsource-parser')
    // eventsource-parser v3 leaves the last-event-ID bookkeeping to the caller.
    let lastId = ''
    const parser = createParser({
      onEvent: (e) => {
        if (e.id !== undefined) lastId = e.id
        onEvent(e.event ?? 'message', parse(e.data), lastId)
      },
    })
    const decoder = new TextDecoder()
    const reader = input().getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      parser.feed(decoder.decode(value, { stream: true }))
    }
  },

  async 'esp-stream'(input, onEvent, { parse = id } = {}) {
    const { EventSourceParserStream } = await import('eventsource-parser/stream')
    let lastId = ''
    const events = input().pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
    for await (const e of events) {
      if (e.id !== undefined) lastId = e.id
      onEvent(e.event ?? 'message', parse(e.data), lastId)
    }
  },

  async eventsource(input, onEvent, { parse = id } = {}) {
    const { EventSource } = await import('eventsource')
    const remote = typeof input === 'string'
    await new Promise((resolve, reject) => {
      const es = new EventSource(remote ? input : IN_MEMORY_URL, remote ? {} : { fetch: fakeFetch(input) })
      const onMessage = (e) => onEvent(e.type, parse(e.data), e.lastEventId)
      for (const t of TYPES) es.addEventListener(t, onMessage)
      const finish = () => {
        es.close()
        resolve()
      }
      es.addEventListener('end', finish)
      es.onerror = (e) => {
        // In memory the stream simply ends (there is no `end` frame); EventSource reports that as
        // an error and would reconnect, so closing here is the end of the data.
        if (!remote) return finish()
        es.close()
        reject(new Error(`eventsource error before the end frame: ${e.message ?? e.type}`))
      }
    })
  },

  async 'fes-parser'(input, onEvent, { parse = id } = {}) {
    const { getBytes, getLines, getMessages } = await import('@microsoft/fetch-event-source/lib/esm/parse.js')
    const onLine = getLines(
      getMessages(
        // The id and retry callbacks feed its reconnect logic; each message carries its id.
        () => undefined,
        () => undefined,
        (m) => onEvent(m.event || 'message', parse(m.data), m.id),
      ),
    )
    await getBytes(input(), onLine)
  },

  async 'fes-fetch'(input, onEvent, { parse = id } = {}) {
    // It calls `window.clearTimeout` and `document.removeEventListener` when it stops; Node has
    // neither, so it gets the smallest stand-ins (this child process runs nothing else).
    globalThis.window ??= globalThis
    globalThis.document ??= { hidden: false, addEventListener: () => undefined, removeEventListener: () => undefined }
    const { fetchEventSource } = await import('@microsoft/fetch-event-source')
    const ac = new AbortController()
    await fetchEventSource(typeof input === 'string' ? input : IN_MEMORY_URL, {
      signal: ac.signal,
      openWhenHidden: true,
      fetch: typeof input === 'string' ? fetch : fakeFetch(input),
      onmessage: (m) => {
        if (m.event === 'end') return ac.abort()
        onEvent(m.event || 'message', parse(m.data), m.id)
      },
      onerror: (e) => {
        throw e
      },
    })
  },
}

/** Table labels of the SSE contestants. */
export const sseLabels = {
  baseline: 'baseline (hand-written parser)',
  'sluice-read': '**Sluice `readEventStream`**',
  'sluice-connection': '**Sluice `createEventStream`** (for await)',
  'esp-parser': 'eventsource-parser `createParser` + TextDecoder',
  'esp-stream': 'eventsource-parser `EventSourceParserStream`',
  eventsource: '`eventsource` package (EventSource, v4)',
  'fes-parser': '@microsoft/fetch-event-source parser (`getBytes`/`getLines`/`getMessages`)',
  'fes-fetch': '@microsoft/fetch-event-source `fetchEventSource`',
}
