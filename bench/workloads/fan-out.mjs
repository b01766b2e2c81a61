// fan-out: 1,000 concurrent SSE clients (in one child process) on one server, 200 broadcasts.
// Throughput is deliveries per second (clients × broadcasts ÷ time from the first publish to the
// last delivery); latency is per message; memory per connection is the server's heap+external
// (and RSS) growth from before the clients connect to when all are subscribed, after a full GC.

import { createServer } from 'node:http'
import { setImmediate as tick } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { HASH_SEED, mix } from '../lib/data.mjs'
import { gc, now, wallNow } from '../lib/measure.mjs'
import { ratioAtLeast } from '../lib/report.mjs'
import { startHelper } from '../lib/spawn.mjs'

export const title = 'fan-out — 1,000 SSE clients, 200 broadcasts'
export const description =
  'The server process accepts 1,000 SSE connections from a client process, waits until all are subscribed, then publishes 200 messages `{ s, t }` (sequence number, send time), yielding to the event loop between broadcasts. Every client checks it got all 200 in order (count and checksum). Latency = client receive time − `t` (one machine clock). Memory per connection = server (heap + external) growth after a full GC, from before the clients connect to when all are subscribed ÷ 1,000.'

const CLIENTS = fileURLToPath(new URL('../lib/fanout-clients.mjs', import.meta.url))

export const variants = [
  {
    id: 'c1000',
    label: '1,000 clients × 200 broadcasts',
    unit: 'deliveries/s',
    params: (scale) => ({ clients: Math.max(10, Math.round(1000 * scale)), messages: 200 }),
    timeoutMs: 120_000,
    columns: [
      { key: 'p50', label: 'p50 latency', kind: 'ms' },
      { key: 'p99', label: 'p99 latency', kind: 'ms' },
      { key: 'heapPerConn', label: 'heap+ext per connection', kind: 'KB' },
      { key: 'rssPerConn', label: 'RSS per connection', kind: 'KB' },
    ],
    goals: [
      ratioAtLeast('sluice', 0.9),
      {
        contestant: 'sluice',
        text: 'heap+ext per connection ≤ 1.5 × raw loop (same round)',
        check: (s) => {
          const c = s.sluice
          const b = s.baseline
          if (!c?.allOk || !b?.allOk) return false
          return c.rounds.every((r, i) => {
            const base = b.rounds[i]
            return base && r.heapPerConn <= 1.5 * base.heapPerConn
          })
        },
      },
    ],
    note: 'Raw loop: `for (const res of clients) res.write(frame)` with the frame formatted once per broadcast. Sluice: `createChannel()` + `sendEventStream(req, res, ({ lastEventId, signal }) => channel.subscribe({ lastEventId, signal }))`, defaults. better-sse: `createChannel()`, `channel.register(await createSession(req, res))`, `channel.broadcast(data)`. Issue 6 reference: better-sse ≈0.76 (p99 65 ms vs 58 ms for the raw loop).',
  },
]

export function expected(params) {
  let h = HASH_SEED
  for (let s = 0; s < params.messages; s++) h = mix(h, s)
  let sum = 0
  for (let c = 0; c < params.clients; c++) sum = (sum + h) >>> 0
  return { count: params.clients * params.messages, checksum: sum }
}

const memNow = () => {
  gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed + m.external, rss: m.rss }
}

/** `setup(server)` installs the listener and returns `{ connected(): number, publish(data) }`. */
async function scenario(params, setup) {
  const server = createServer()
  const contestant = await setup(server)
  await new Promise((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 2048 }, r))
  const url = `http://127.0.0.1:${server.address().port}/`
  const m0 = memNow()
  const fleet = await startHelper(CLIENTS, [url, String(params.clients), String(params.messages)], {
    readyPrefix: 'READY ',
    timeoutMs: 60_000,
  })
  // Every head has arrived at the client; wait (bounded) until the server side has subscribed them.
  const deadline = now() + 10_000
  while (contestant.connected() < params.clients) {
    if (now() > deadline) throw new Error(`only ${contestant.connected()} of ${params.clients} subscribed after 10 s`)
    await new Promise((r) => setTimeout(r, 5))
  }
  const m1 = memNow()
  const t0 = wallNow()
  for (let s = 0; s < params.messages; s++) {
    contestant.publish({ s, t: wallNow() })
    await tick()
  }
  const r = JSON.parse(await fleet.waitLine('RESULT ', 65_000))
  await fleet.stop()
  server.closeAllConnections()
  server.close()
  const ms = r.lastAt - t0
  return {
    count: r.failures ? -r.failures : r.count,
    checksum: r.checksum,
    ms,
    units: r.count,
    p50: r.p50,
    p99: r.p99,
    heapPerConn: (m1.heap - m0.heap) / params.clients,
    rssPerConn: (m1.rss - m0.rss) / params.clients,
  }
}

export const contestants = [
  {
    id: 'baseline',
    label: 'baseline (raw loop over `res.write`)',
    kind: 'baseline',
    run: (params) =>
      scenario(params, (server) => {
        const clients = new Set()
        let id = 0
        server.on('request', (req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
          res.flushHeaders()
          clients.add(res)
          req.on('close', () => clients.delete(res))
        })
        return {
          connected: () => clients.size,
          publish: (data) => {
            const frame = `id: ${++id}\ndata: ${JSON.stringify(data)}\n\n`
            for (const res of clients) res.write(frame)
          },
        }
      }),
  },
  {
    id: 'sluice',
    label: '**Sluice `createChannel` + `sendEventStream`**',
    kind: 'sluice',
    run: async (params) => {
      const { createChannel, sendEventStream } = await import('@sluice/server-kit')
      return scenario(params, (server) => {
        const channel = createChannel()
        server.on('request', (req, res) => {
          sendEventStream(req, res, ({ lastEventId, signal }) => channel.subscribe({ lastEventId, signal }))
        })
        return { connected: () => channel.subscriberCount, publish: (data) => channel.publish(data) }
      })
    },
  },
  {
    id: 'better-sse',
    label: '`better-sse` channel',
    kind: 'anchor',
    run: async (params) => {
      const { createChannel, createSession } = await import('better-sse')
      return scenario(params, (server) => {
        const channel = createChannel()
        server.on('request', async (req, res) => {
          channel.register(await createSession(req, res))
        })
        return { connected: () => channel.sessionCount, publish: (data) => channel.broadcast(data) }
      })
    },
  },
]
