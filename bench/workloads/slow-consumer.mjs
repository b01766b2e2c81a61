// slow-consumer: one client connects, reads the response head and then stops reading (its socket
// is paused, so the kernel buffers fill and `res.write` starts returning false) while the producer
// keeps publishing 16 KiB messages, up to 1 GB. We report how much the producer got out, the server's
// peak memory growth, and whether the server ended the stuck stream on its own.
// Bounded: publishing stops at 1 GB, after 20 s, after 3 s without progress (the producer is
// blocked by backpressure), or when the server has grown by 1.2 GB (the safety cap).

import { createServer } from 'node:http'
import { connect } from 'node:net'
import { setImmediate as tick } from 'node:timers/promises'
import { gc, MemoryTracker, now } from '../lib/measure.mjs'
import { metricAtMost } from '../lib/report.mjs'

export const title = 'slow-consumer — a client that stops reading while the producer publishes 1 GB'
export const description =
  'The stuck client is a raw TCP socket in the server process that sends the request, waits for the response head, then pauses (reads nothing more). The producer publishes 16 KiB messages in a loop, yielding to the event loop after each. Limits: 1 GB published, 20 s, 3 s without progress (= blocked by backpressure), or +1.2 GB server RSS (safety cap, reported as "cap"). Memory is the server process\'s peak RSS and heap+external growth.'

const MESSAGE = 16 * 1024
const CAP = 1.2e9

export const variants = [
  {
    id: 'publish-1gb',
    label: 'Producer publishes up to 1 GB in 16 KiB messages to one stuck client',
    ratio: false,
    params: (scale) => ({ total: Math.round(1e9 * scale), message: MESSAGE }),
    rounds: 2,
    timeoutMs: 60_000,
    columns: [
      { key: 'publishedBytes', label: 'published', kind: 'MB' },
      { key: 'outcome', label: 'producer', kind: 'text', single: true },
      { key: 'rssPeakDelta', label: 'server peak RSS Δ', kind: 'MB' },
      { key: 'heapPeakDelta', label: 'server peak heap+ext Δ', kind: 'MB' },
      {
        key: 'ended',
        label: 'stream ended by the server (within 200 ms of the last publish)',
        kind: 'bool',
        single: true,
      },
    ],
    goals: [
      metricAtMost(
        'sluice-channel',
        'rssPeakDelta',
        () => 150e6,
        'memory bounded (peak RSS Δ < 150 MB while 1 GB is published)',
      ),
      metricAtMost('sluice-generator', 'rssPeakDelta', () => 150e6, 'memory bounded (peak RSS Δ < 150 MB)'),
    ],
    note: "Sluice's channel keeps the last 1,000 messages for replay (16 MB here) and ends a subscriber whose queue passes 500 messages; a generator source is only pulled when the socket drains, so its producer simply waits. A stuck Sluice stream is closed by `sendTimeout` (30 s by default), after this run's window.",
  },
]

/**
 * Runs one contestant: `setup(server)` installs the request listener and returns
 * `{ publish(chunk): Promise|void, ended(): boolean }`.
 */
async function scenario(params, setup) {
  const server = createServer()
  const contestant = await setup(server)
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  // The stuck client: request, wait for the head, then never read again.
  const sock = connect(port, '127.0.0.1')
  sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`)
  await new Promise((resolve, reject) => {
    sock.once('data', resolve)
    sock.once('error', reject)
  })
  sock.pause()
  gc()
  const tracker = new MemoryTracker()
  const sampler = setInterval(() => tracker.sample(), 10)
  const payload = 'x'.repeat(params.message)
  const t0 = now()
  let published = 0
  let outcome = 'published all'
  let lastProgress = now()
  while (published < params.total) {
    if (now() - t0 > 20_000) {
      outcome = 'time limit'
      break
    }
    if (tracker.peakRss - tracker.startRss > CAP) {
      outcome = `cap (${(CAP / 1e9).toFixed(1)} GB)`
      break
    }
    const pending = contestant.publish(payload)
    if (pending) {
      // A publish that waits (backpressure): give it until 3 s without progress.
      const timer = new Promise((r) => setTimeout(r, Math.max(0, 3000 - (now() - lastProgress)), 'stalled'))
      if ((await Promise.race([pending.then(() => 'ok'), timer])) === 'stalled') {
        outcome = 'blocked by backpressure'
        break
      }
    } else {
      await tick()
    }
    published += params.message
    lastProgress = now()
  }
  // Let the server react to a stall (e.g. end the subscriber) before the last samples.
  await new Promise((r) => setTimeout(r, 200))
  clearInterval(sampler)
  const mem = tracker.result()
  const ended = contestant.ended()
  sock.destroy()
  server.closeAllConnections()
  server.close()
  return { ok: true, publishedBytes: published, outcome, ended, ms: now() - t0, ...mem }
}

export const contestants = [
  {
    id: 'raw-nodrain',
    label: 'raw `res.write` ignoring `drain` (the common mistake)',
    kind: 'anchor',
    run: (params) =>
      scenario(params, (server) => {
        let res
        server.on('request', (_req, r) => {
          res = r
          res.writeHead(200, { 'content-type': 'text/event-stream' })
          // writeHead alone sends nothing until the first write; the client waits for the head.
          res.flushHeaders()
        })
        return { publish: (p) => void res.write(`data: ${p}\n\n`), ended: () => res.writableEnded }
      }),
  },
  {
    id: 'raw-drain',
    label: 'raw `res.write` awaiting `drain`',
    kind: 'anchor',
    run: (params) =>
      scenario(params, (server) => {
        let res
        server.on('request', (_req, r) => {
          res = r
          res.writeHead(200, { 'content-type': 'text/event-stream' })
          // writeHead alone sends nothing until the first write; the client waits for the head.
          res.flushHeaders()
        })
        return {
          publish: (p) => (res.write(`data: ${p}\n\n`) ? undefined : new Promise((r) => res.once('drain', r))),
          ended: () => res.writableEnded,
        }
      }),
  },
  {
    id: 'sluice-channel',
    label: '**Sluice `createChannel` + `sendEventStream`**',
    kind: 'sluice',
    run: async (params) => {
      const { createChannel, sendEventStream } = await import('@sluice/server-kit')
      return scenario(params, (server) => {
        const channel = createChannel()
        let done = false
        server.on('request', (req, res) => {
          sendEventStream(req, res, ({ lastEventId, signal }) => channel.subscribe({ lastEventId, signal })).then(
            () => {
              done = true
            },
          )
        })
        return { publish: (p) => void channel.publish(p, { event: 'chunk' }), ended: () => done }
      })
    },
  },
  {
    id: 'sluice-generator',
    label: '**Sluice `sendEventStream` from an async generator**',
    kind: 'sluice',
    run: async (params) => {
      const { sendEventStream } = await import('@sluice/server-kit')
      return scenario(params, (server) => {
        // A one-slot hand-off: the producer's `publish` resolves once the generator has taken the
        // message, i.e. once the stream pulled for more. The generator is the producer's only
        // outlet, as in a handler that yields from an upstream source.
        let take
        let offer
        let done = false
        const nextMessage = () =>
          new Promise((resolve) => {
            if (offer) {
              const o = offer
              offer = undefined
              o.accepted()
              resolve(o.payload)
            } else take = resolve
          })
        server.on('request', (req, res) => {
          sendEventStream(req, res, async function* () {
            for (;;) yield { event: 'chunk', data: await nextMessage() }
          }).then(() => {
            done = true
          })
        })
        return {
          publish: (payload) =>
            new Promise((accepted) => {
              if (take) {
                const t = take
                take = undefined
                t(payload)
                accepted()
              } else offer = { payload, accepted }
            }),
          ended: () => done,
        }
      })
    },
  },
  {
    id: 'better-sse-channel',
    label: '`better-sse` channel `broadcast`',
    kind: 'anchor',
    run: async (params) => {
      const { createChannel, createSession } = await import('better-sse')
      return scenario(params, (server) => {
        const channel = createChannel()
        let session
        server.on('request', async (req, res) => {
          session = await createSession(req, res)
          channel.register(session)
        })
        return { publish: (p) => void channel.broadcast(p, 'chunk'), ended: () => session?.isConnected === false }
      })
    },
  },
]
