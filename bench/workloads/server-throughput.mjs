// server-throughput: one loopback client (its own process) reads 200,000 small events as fast as
// it can; the measured process is the server. Baseline: raw `res.write` of pre-formatted frames,
// awaiting `drain` whenever `write` returns false.

import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { gc, MemoryTracker } from '../lib/measure.mjs'
import { ratioAtLeast } from '../lib/report.mjs'
import { startHelper } from '../lib/spawn.mjs'
import { smallEvents, smallFrame, smallStream } from '../lib/sse.mjs'

export const title = 'server-throughput — one client reading 200,000 events over loopback'
export const description =
  'The server process serializes the same 200,000 small events (`id`, `event`, JSON `data`) from an in-memory array; a separate client process reads them with `node:http` and the baseline SSE parser and verifies count and checksum (so a server that drops, reorders or mangles an event is WRONG). Time is measured by the client from request to end of body; each server child warms up with a 1/10-size request first. Server memory is the peak RSS above the start of the timed request.'

const CLIENT = fileURLToPath(new URL('../lib/sse-count-client.mjs', import.meta.url))

export const variants = [
  {
    id: 'small',
    label: '200,000 small events to one loopback client',
    unit: 'events/s',
    params: (scale) => ({ count: Math.round(200_000 * scale) }),
    goals: [ratioAtLeast('sluice-send', 0.9), ratioAtLeast('sluice-response', 0.9)],
    columns: [{ key: 'rssPeakDelta', label: 'server peak RSS Δ', kind: 'MB' }],
    note: "Sluice runs with its defaults (keepalive on, `sendTimeout` on). `eventStreamResponse` is served on Node through Sluice's own `toNodeHandler`. better-sse `push`es every event without waiting for `drain` (its API has no backpressure), Hono awaits each `writeSSE`. Issue 6 reference ratios: better-sse ≈0.85, Hono ≈0.35.",
  },
]

export function expected(params) {
  const { count, checksum } = smallStream(params.count, 16 * 1024)
  return { count, checksum }
}

const cache = new Map()
function eventsFor(count) {
  let evs = cache.get(count)
  if (!evs) {
    evs = [...smallEvents(count)]
    cache.set(count, evs)
  }
  return evs
}

/**
 * Starts a server whose listener is `makeHandler(events)` for the `?count=` of each request, then
 * has the client read a warm-up and the timed stream.
 */
async function serve(params, makeListener) {
  const listener = await makeListener()
  const server = createServer((req, res) => {
    const count = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('count'))
    listener(req, res, eventsFor(count))
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${server.address().port}/`
  const client = await startHelper(CLIENT, [], { readyPrefix: 'READY ' })
  try {
    const warm = Math.max(1, Math.round(params.count / 10))
    eventsFor(warm)
    client.send(`GET ${url}?count=${warm}`)
    const w = JSON.parse(await client.waitLine('RESULT ', 120_000))
    if (w.error) throw new Error(w.error)
    eventsFor(params.count)
    gc()
    const tracker = new MemoryTracker()
    const sampler = setInterval(() => tracker.sample(), 20)
    client.send(`GET ${url}?count=${params.count}`)
    const r = JSON.parse(await client.waitLine('RESULT ', 120_000))
    clearInterval(sampler)
    if (r.error) throw new Error(r.error)
    return { count: r.count, checksum: r.checksum, ms: r.ms, units: r.count, ...tracker.result() }
  } finally {
    await client.stop()
    server.closeAllConnections()
    server.close()
  }
}

const toMessage = (ev) => ({ id: ev.id, event: ev.event, data: ev.data })

/**
 * `BENCH_EXPERIMENT_SERVER_KIT=<path to a built server-kit index.js>` adds a contestant running that
 * copy (to measure a proposed change to server-kit before it lands). Never set in `npm run bench`.
 */
const experiment = process.env.BENCH_EXPERIMENT_SERVER_KIT

export const contestants = [
  {
    id: 'baseline',
    label: 'baseline (raw `res.write`, honouring `drain`)',
    kind: 'baseline',
    run: (params) =>
      serve(params, () => async (_req, res, events) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        for (const ev of events) {
          if (!res.write(smallFrame(ev))) await new Promise((r) => res.once('drain', r))
        }
        res.end()
      }),
  },
  {
    id: 'sluice-send',
    label: '**Sluice `sendEventStream`** (node:http)',
    kind: 'sluice',
    run: async (params) => {
      const { sendEventStream } = await import('@sluice/server-kit')
      return serve(params, () => (req, res, events) => sendEventStream(req, res, events.map(toMessage)))
    },
  },
  {
    id: 'sluice-response',
    label: '**Sluice `eventStreamResponse`** (served with `toNodeHandler`)',
    kind: 'sluice',
    run: async (params) => {
      const { eventStreamResponse, toNodeHandler } = await import('@sluice/server-kit')
      return serve(params, () => {
        let current
        const handler = toNodeHandler((request) => eventStreamResponse(request, current.map(toMessage)))
        return (req, res, events) => {
          current = events
          return handler(req, res)
        }
      })
    },
  },
  {
    id: 'better-sse',
    label: '`better-sse` session `push`',
    kind: 'anchor',
    run: async (params) => {
      const { createSession } = await import('better-sse')
      return serve(params, () => async (req, res, events) => {
        const session = await createSession(req, res)
        for (const ev of events) session.push(ev.data, ev.event, ev.id)
        res.end()
      })
    },
  },
  {
    id: 'hono',
    label: 'Hono `streamSSE` on `@hono/node-server`',
    kind: 'anchor',
    run: async (params) => {
      const { Hono } = await import('hono')
      const { streamSSE } = await import('hono/streaming')
      const { getRequestListener } = await import('@hono/node-server')
      return serve(params, () => {
        let current
        const app = new Hono()
        app.get('/', (c) =>
          streamSSE(c, async (stream) => {
            for (const ev of current) {
              await stream.writeSSE({ id: ev.id, event: ev.event, data: JSON.stringify(ev.data) })
            }
          }),
        )
        const listener = getRequestListener(app.fetch)
        return (req, res, events) => {
          current = events
          return listener(req, res)
        }
      })
    },
  },
  ...(experiment
    ? [
        {
          id: 'sluice-send-experiment',
          label: `Sluice \`sendEventStream\` (EXPERIMENT: ${experiment})`,
          kind: 'sluice',
          run: async (params) => {
            const { sendEventStream } = await import(experiment)
            return serve(params, () => (req, res, events) => sendEventStream(req, res, events.map(toMessage)))
          },
        },
      ]
    : []),
]
