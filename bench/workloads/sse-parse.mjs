// sse-parse: 200,000 small events (`id`, `event`, JSON `data` with non-ASCII) in 16 KiB chunks,
// parsed to typed objects; in memory, and end to end over a loopback server.

import { fileURLToPath } from 'node:url'
import { HASH_SEED, streamOf } from '../lib/data.mjs'
import { gc, now } from '../lib/measure.mjs'
import { fasterThan, ratioAtLeast } from '../lib/report.mjs'
import { startHelper } from '../lib/spawn.mjs'
import { createBaselineSseParser, digestSmall, smallStream } from '../lib/sse.mjs'

export const title = 'sse-parse — small events to typed objects'
export const description =
  'Each event has an `id`, an `event` type (absent for "message") and JSON `data` (~100 bytes with 2-, 3- and 4-byte UTF-8 characters), in 16 KiB chunks (chunk boundaries cut through multi-byte characters). Every contestant yields `{ event, id, data: JSON.parse(data) }`; the checksum covers all three. Each child warms up on a 1/10-size stream first.'

const SERVE = fileURLToPath(new URL('../lib/serve-bytes.mjs', import.meta.url))

export const variants = [
  {
    id: 'memory',
    label: 'In memory: 200,000 events from a ReadableStream of 16 KiB chunks',
    unit: 'events/s',
    params: (scale) => ({ count: Math.round(200_000 * scale), chunkSize: 16 * 1024, seed: 1 }),
    contestants: [
      'baseline',
      'sluice-read',
      'sluice-connection',
      'esp-parser',
      'esp-stream',
      'eventsource',
      'fes-parser',
    ],
    goals: [ratioAtLeast('sluice-read', 0.8)],
    note: (_p, e) =>
      `${e.count} events, ${(e.bytes / 1e6).toFixed(1)} MB, ${e.chunks} chunks, ${e.splitChars} chunk boundaries inside a UTF-8 character.`,
  },
  {
    id: 'e2e',
    label: 'End to end: 200,000 events from a loopback HTTP server (separate process)',
    unit: 'events/s',
    params: (scale) => ({ count: Math.round(200_000 * scale), chunkSize: 16 * 1024, seed: 1 }),
    contestants: ['baseline', 'sluice-connection', 'eventsource', 'fes-fetch'],
    goals: [fasterThan('sluice-connection', 'eventsource', '`eventsource`')],
    note: 'Baseline here: `fetch` + the hand-written parser. The server writes the same bytes (16 KiB writes, honouring `drain`) and a final `event: end`, which ends each client (`done` predicate for Sluice, a listener that closes for `eventsource`, an abort for fetch-event-source).',
  },
]

export function expected(params) {
  const { count, checksum, bytes, chunks, splitChars } = smallStream(params.count, params.chunkSize, params.seed)
  return { count, checksum, bytes, chunks: chunks.length, splitChars }
}

const KINDS = ['message', 'update', 'tick', 'status']

/**
 * Measures `parse(input)` on a 1/10 warm-up input and then on the real one. `input(p)` builds what
 * the contestant reads (an in-memory stream or a URL) from params; `parse` returns `{ count, checksum }`.
 */
async function timed(params, variant, parse) {
  let input
  let server
  if (variant.id === 'e2e') {
    server = await startHelper(SERVE)
    const base = `http://127.0.0.1:${server.ready}/`
    input = (p) => `${base}?kind=small&count=${p.count}&seed=${p.seed}&chunk=${p.chunkSize}`
  } else {
    input = (p) => {
      const { chunks } = smallStream(p.count, p.chunkSize, p.seed)
      return () => streamOf(chunks)
    }
  }
  await parse(input({ ...params, count: Math.max(1, Math.round(params.count / 10)), seed: 99 }))
  const real = input(params)
  gc()
  const t0 = now()
  const r = await parse(real)
  const ms = now() - t0
  await server?.stop()
  return { ...r, ms, units: r.count }
}

/** A `fetch` that serves an in-memory stream, for clients that only take a URL. */
const fakeFetch = (makeStream) => async () =>
  new Response(makeStream(), { status: 200, headers: { 'content-type': 'text/event-stream' } })

export const contestants = [
  {
    id: 'baseline',
    label: 'baseline (hand-written parser + JSON.parse)',
    kind: 'baseline',
    run: (params, variant) =>
      timed(params, variant, async (input) => {
        let count = 0
        let checksum = HASH_SEED
        const p = createBaselineSseParser((event, data, id) => {
          if (event === 'end') return
          checksum = digestSmall(checksum, event, id, JSON.parse(data))
          count++
        })
        const body = typeof input === 'string' ? (await fetch(input)).body : input()
        const reader = body.getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          p.feed(value)
        }
        p.end()
        return { count, checksum }
      }),
  },
  {
    id: 'sluice-read',
    label: '**Sluice `readEventStream` + JSON.parse**',
    kind: 'sluice',
    run: async (params, variant) => {
      const { readEventStream } = await import('@sluice/client')
      return timed(params, variant, async (input) => {
        let count = 0
        let checksum = HASH_SEED
        for await (const m of readEventStream(input())) {
          checksum = digestSmall(checksum, m.event, m.id, JSON.parse(m.data))
          count++
        }
        return { count, checksum }
      })
    },
  },
  {
    id: 'sluice-connection',
    label: '**Sluice `createEventStream({ parse: JSON.parse })`** (for await)',
    kind: 'sluice',
    run: async (params, variant) => {
      const { createEventStream } = await import('@sluice/client')
      return timed(params, variant, async (input) => {
        let count = 0
        let checksum = HASH_SEED
        const url = typeof input === 'string' ? input : 'http://127.0.0.1:9/in-memory'
        const conn = createEventStream(url, {
          parse: JSON.parse,
          // The server's final frame; `done` sees the raw message before `parse`.
          done: (m) => m.event === 'end',
          retry: false,
          ...(typeof input === 'string' ? {} : { fetch: fakeFetch(input) }),
        })
        for await (const m of conn) {
          checksum = digestSmall(checksum, m.event, m.id, m.data)
          count++
        }
        const { error } = conn.getSnapshot()
        if (error) throw error
        return { count, checksum }
      })
    },
  },
  {
    id: 'esp-parser',
    label: 'eventsource-parser `createParser` + TextDecoder + JSON.parse',
    kind: 'anchor',
    run: async (params, variant) => {
      const { createParser } = await import('eventsource-parser')
      return timed(params, variant, async (input) => {
        let count = 0
        let checksum = HASH_SEED
        // eventsource-parser v3 does not track the last event ID across events; the caller does.
        let lastId = ''
        const parser = createParser({
          onEvent: (e) => {
            if (e.id !== undefined) lastId = e.id
            checksum = digestSmall(checksum, e.event ?? 'message', lastId, JSON.parse(e.data))
            count++
          },
        })
        const decoder = new TextDecoder()
        const reader = input().getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          parser.feed(decoder.decode(value, { stream: true }))
        }
        return { count, checksum }
      })
    },
  },
  {
    id: 'esp-stream',
    label: 'eventsource-parser `EventSourceParserStream` + JSON.parse',
    kind: 'anchor',
    run: async (params, variant) => {
      const { EventSourceParserStream } = await import('eventsource-parser/stream')
      return timed(params, variant, async (input) => {
        let count = 0
        let checksum = HASH_SEED
        let lastId = ''
        const events = input().pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
        for await (const e of events) {
          if (e.id !== undefined) lastId = e.id
          checksum = digestSmall(checksum, e.event ?? 'message', lastId, JSON.parse(e.data))
          count++
        }
        return { count, checksum }
      })
    },
  },
  {
    id: 'eventsource',
    label: '`eventsource` package (EventSource, v4) + JSON.parse',
    kind: 'anchor',
    run: async (params, variant) => {
      const { EventSource } = await import('eventsource')
      return timed(params, variant, (input) => {
        let count = 0
        let checksum = HASH_SEED
        const url = typeof input === 'string' ? input : 'http://127.0.0.1:9/in-memory'
        return new Promise((resolve, reject) => {
          const es = new EventSource(url, typeof input === 'string' ? {} : { fetch: fakeFetch(input) })
          const onMessage = (e) => {
            checksum = digestSmall(checksum, e.type, e.lastEventId, JSON.parse(e.data))
            count++
          }
          // EventSource dispatches named events only to listeners of that name.
          for (const k of KINDS) es.addEventListener(k, onMessage)
          const finish = () => {
            es.close()
            resolve({ count, checksum })
          }
          es.addEventListener('end', finish)
          es.onerror = () => {
            // In memory the stream just ends (no `end` frame): EventSource reports that as an error
            // and would reconnect; closing here is the end of the data.
            if (typeof input !== 'string') return finish()
            es.close()
            reject(new Error('eventsource error before the end frame'))
          }
        })
      })
    },
  },
  {
    id: 'fes-parser',
    label: '@microsoft/fetch-event-source parser (`getBytes`/`getLines`/`getMessages`) + JSON.parse',
    kind: 'anchor',
    run: async (params, variant) => {
      const { getBytes, getLines, getMessages } = await import('@microsoft/fetch-event-source/lib/esm/parse.js')
      return timed(params, variant, async (input) => {
        let count = 0
        let checksum = HASH_SEED
        const onLine = getLines(
          getMessages(
            // The id and retry callbacks are for its reconnect logic; the message carries the id.
            () => undefined,
            () => undefined,
            (m) => {
              checksum = digestSmall(checksum, m.event || 'message', m.id, JSON.parse(m.data))
              count++
            },
          ),
        )
        await getBytes(input(), onLine)
        return { count, checksum }
      })
    },
  },
  {
    id: 'fes-fetch',
    label: '@microsoft/fetch-event-source `fetchEventSource` + JSON.parse',
    kind: 'anchor',
    run: async (params, variant) => {
      // It calls `window.clearTimeout` and `document.removeEventListener` when it stops; Node has
      // neither, so give it the smallest stand-ins (this child process runs nothing else).
      globalThis.window ??= globalThis
      globalThis.document ??= { hidden: false, addEventListener: () => undefined, removeEventListener: () => undefined }
      const { fetchEventSource } = await import('@microsoft/fetch-event-source')
      return timed(params, variant, async (input) => {
        let count = 0
        let checksum = HASH_SEED
        const ac = new AbortController()
        await fetchEventSource(input, {
          signal: ac.signal,
          openWhenHidden: true,
          fetch,
          onmessage: (m) => {
            if (m.event === 'end') return ac.abort()
            checksum = digestSmall(checksum, m.event || 'message', m.id, JSON.parse(m.data))
            count++
          },
          onerror: (e) => {
            throw e
          },
        })
        return { count, checksum }
      })
    },
  },
]
